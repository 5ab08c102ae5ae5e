"""The Relief page speaks to the patient in plain words, each with a "What does this mean?";
the clinic keeps its terms, with each figure labelled on a phone's card."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from tests import factories
from tests.conftest import TODAY
from tests.test_report import build_cycles
from tracker import relief
from tracker.pages import relief as relief_pages
from tracker.pages import report

pytestmark = pytest.mark.usefixtures("frozen_now")

SETTINGS = relief.DEFAULT_SETTINGS
JARGON = ["Baseline", "baseline", "Onset", "onset", "Median", "median", "middle half", "PGIC"]


def words(html: str) -> str:
    """What a reader reads: the text, without the markup (whose class names may be terms)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def diary(patient):
    return build_cycles(patient, 3)


def test_the_patients_relief_page_has_no_jargon(web, diary):
    page = words(web.get(reverse("relief")).content.decode())
    for term in JARGON:
        assert term not in page, term
    for plain in [
        "How much better than before the injection",
        "When relief began",
        "Best relief",
        "When it wore off",
        "Days without relief before the next injection",
        "Your own rating of change",
    ]:
        assert plain in page, plain


def test_each_plain_word_has_a_disclosure_that_works_without_javascript(web, diary):
    html = web.get(reverse("relief")).content.decode()
    disclosures = re.findall(
        r'<details class="term" id="term-[a-z-]+">\s*<summary>(.*?)</summary>', html
    )
    assert disclosures == [
        "How much better than before the injection",
        "When relief began",
        "Best relief",
        "When it wore off",
        "How long it helped",
        "Days without relief before the next injection",
        "Your own rating of change",
    ]
    assert 'href="#terms"' in html


def test_each_injection_is_a_card_not_a_wide_table(web, diary):
    html = web.get(reverse("relief")).content.decode()
    assert html.count('<li class="cycle-card') == 3
    assert "table-scroll" not in html.split('id="cycles"')[1]  # nothing to swipe sideways
    assert "Injection of " in html and "cycle-current" in html


def test_the_status_keeps_the_number_and_its_percent_sign_together(web, diary):
    html = web.get(reverse("relief")).content.decode()
    assert re.search(r"\d+&nbsp;% (better|worse) than before it", html)


def test_a_red_flag_on_the_chart_uses_the_urgent_cards_words(web, patient, diary):
    factories.ReactionFactory(
        patient=patient, kind="breathing", severity="severe", onset_date=TODAY
    )
    html = web.get(reverse("relief")).content.decode()
    assert "Get help now: Difficulty breathing (severe)" in html
    assert "Warning sign: get help now or contact your clinic today" in html
    assert "Urgent" not in words(html)


def test_the_clinic_keeps_its_terms_with_each_figure_labelled_for_a_phone(
    patient, clinician, diary, logged_in
):
    html = logged_in(clinician).get(reverse("clinic_report", args=[patient.pk])).content.decode()
    assert 'class="table cycle-table"' in html
    for label in ["Onset, day", "Wore off, day", "Gap, days", "PGIC"]:
        assert f'<span class="cell-label">{label} </span>' in html
    assert '<details class="term"' not in html  # the clinic's glossary is its own


def test_the_dose_per_muscle_is_a_card_per_cycle_too(patient, clinician, diary, logged_in):
    html = logged_in(clinician).get(reverse("clinic_report", args=[patient.pk])).content.decode()
    assert html.count('<li class="dose-card">') == 3
    card = html.split('<li class="dose-card">')[1].split("</li>")[0]
    assert "<dt>Sternocleidomastoid, left</dt><dd>60 U</dd>" in card
    assert "<dt>Peak relief</dt>" in card


def test_dose_cards_list_only_the_muscles_injected_in_their_cycle():
    rows = [
        report.MuscleRow("Trapezius, left", ("40 U", "")),
        report.MuscleRow("Splenius capitis, right", ("", "80 U")),
    ]
    columns = tuple(
        report.DoseColumn(None, day, "Botox 40 U", "—", "", "—", True) for day in ("1 Mar", "1 Jan")
    )
    cards = report.DoseHistory(columns, tuple(rows)).cards
    assert [card.muscles for card in cards] == [
        (("Trapezius, left", "40 U"),),
        (("Splenius capitis, right", "80 U"),),
    ]


# A newcomer: what the charts will show, and when.


def test_a_newcomer_is_told_what_the_charts_will_show_and_when(web, patient):
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=6)
    html = web.get(reverse("relief")).content.decode()
    assert "1 day logged so far. Log a check-in each day" in html
    assert "After 2 weeks of check-ins it shows your usual level" in html
    assert (
        "Log a check-in each day, and add each injection. After an injection that had 2 weeks"
        in html
    )


def test_an_injection_without_scores_before_it_says_why_the_chart_waits(web, patient):
    factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=5))
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=6)
    html = web.get(reverse("relief")).content.decode()
    shot = (TODAY - dt.timedelta(days=5)).strftime("%-d %b %Y")
    assert f"Your injection of {shot} had scores on only 0 of the 14 days before it" in html


def test_a_newcomers_status_says_why_in_their_words_and_the_clinics_in_its_own(
    web, patient, clinician, logged_in
):
    factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=5))
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=6)
    plain = "so there is nothing to compare with"
    for page in (reverse("relief"), reverse("today")):
        said = words(web.get(page).content.decode())
        assert plain in said and "baseline" not in said, page
    report_page = words(
        logged_in(clinician).get(reverse("clinic_report", args=[patient.pk])).content.decode()
    )
    assert "no baseline to measure relief against" in report_page


@pytest.mark.parametrize(
    ("shown", "logged", "says"),
    [(0, 0, True), (6, 6, True), (7, 7, False), (2, 30, False)],
)
def test_the_timeline_note_goes_once_a_week_is_logged(shown, logged, says):
    assert bool(relief_pages.timeline_note(shown, logged, SETTINGS)) == says


def test_the_overlay_note_goes_once_a_cycle_shows():
    assert relief_pages.overlay_note([], SETTINGS).startswith("Log a check-in each day")
    points = [relief.InjectionPoint(id=1, date=TODAY - dt.timedelta(days=40))]
    logs = [(TODAY - dt.timedelta(days=n), 8 if n > 40 else 3) for n in range(55)]
    cycles = relief.compute_cycles(points, logs, TODAY, SETTINGS)
    assert relief_pages.overlay_note(cycles, SETTINGS) == ""


@pytest.mark.parametrize("code", list(relief.REASONS))
def test_every_reason_has_plain_words(code):
    assert code in relief_pages.PLAIN_REASONS
    text = relief_pages.PLAIN_REASONS[code].format(s=SETTINGS)
    assert "baseline" not in text.lower() and "onset" not in text.lower()
