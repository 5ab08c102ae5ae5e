import datetime as dt
import json
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests import factories
from tests.conftest import TODAY
from tracker.models import DailyLog, GlobalImpression, Injection, Reaction

pytestmark = pytest.mark.usefixtures("frozen_now")

URL = reverse("relief")


class CellTexts(HTMLParser):
    """The text of each cell of each body row of the table with the given class."""

    def __init__(self, table_class: str):
        super().__init__()
        self.table_class = table_class
        self.in_table = self.in_body = False
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and self.table_class in (dict(attrs).get("class") or ""):
            self.in_table = True
        elif self.in_table and tag == "tbody":
            self.in_body = True
        elif self.in_body and tag == "tr":
            self.rows.append([])
        elif self.in_body and tag in ("td", "th"):
            self.cell = []
        elif self.cell is not None and tag in ("br", "span"):
            self.cell.append(" ")

    def handle_endtag(self, tag):
        if tag == "table":
            self.in_table = self.in_body = False
        elif self.cell is not None and tag in ("td", "th"):
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table_rows(html: str, table_class: str = "cycle-table") -> list[list[str]]:
    parser = CellTexts(table_class)
    parser.feed(html)
    return parser.rows


def cards(html: str) -> list[dict[str, str]]:
    """The patient's cycle cards, newest first: each heading and figure by its words."""
    found = []
    for card in re.findall(r'<li class="cycle-card.*?</li>\n', html, flags=re.S):
        text = lambda fragment: " ".join(re.sub(r"<[^>]+>", " ", fragment).split())  # noqa: E731
        facts = {text(dt): text(dd) for dt, dd in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", card)}
        facts["heading"] = text(re.search(r"<h3[^>]*>(.*?)</h3>", card, flags=re.S)[1])
        reason = re.search(r'<p class="cycle-reason">(.*?)</p>', card, flags=re.S)
        facts["why"] = text(reason[1]) if reason else ""
        found.append(facts)
    return found


def svgs(html: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", html, flags=re.S)


# A cervical dystonia cycle checked by hand in tests/test_relief.py
# (test_a_realistic_cycle_shows_onset_peak_wearing_off_and_gap), moved to end 95 days ago.
INJECTED = TODAY - dt.timedelta(days=95)
BASELINE = [8, 9, 7, 8, None, 8, 9, 7, 8, 8, None, 8, 9, 7]  # days -14..-1, mean 8
PHASES = [(0, 8, 8), (9, 14, 6), (15, 28, 5), (29, 35, 2), (36, 59, 4), (60, 73, 5)]
PHASES += [(74, 89, 7), (90, 95, 7)]
MISSED = {3, 20, 21, 45, 50, 51, 52, 85}


def on(day: int) -> dt.date:
    return INJECTED + dt.timedelta(days=day)


@pytest.fixture
def hand_built_cycle(patient):
    """Two Botox injections 90 days apart: the first cycle has onset on day 12, a peak of
    75 % on day 32, wears off on day 74 (62 days of benefit) and leaves a gap of 16 days."""
    scores = {on(-14 + n): score for n, score in enumerate(BASELINE) if score is not None}
    for first, last, score in PHASES:
        scores |= {on(day): score for day in range(first, last + 1) if day not in MISSED}
    DailyLog.objects.bulk_create(
        DailyLog(
            patient=patient, date=day, severity=score, note="Neck stiff" if day == on(32) else ""
        )
        for day, score in scores.items()
    )
    first = factories.InjectionFactory(patient=patient, date=on(0), total_units=Decimal(200))
    second = factories.InjectionFactory(
        patient=patient, date=on(90), product="dysport", total_units=Decimal(500)
    )
    factories.ReactionFactory(patient=patient, onset_date=on(2), kind="headache")
    factories.ReactionFactory(patient=patient, onset_date=on(3), kind="neck_weakness")
    factories.ReactionFactory(
        patient=patient, onset_date=on(91), kind="breathing", severity="severe"
    )
    GlobalImpression.objects.create(
        patient=patient, injection=first, timepoint="peak", date=on(35), score=2
    )
    GlobalImpression.objects.create(
        patient=patient, injection=first, timepoint="before_next", date=on(86), score=4
    )
    return first, second


# Who may see it.


def test_the_owner_sees_the_timeline_the_overlay_and_the_cycle_table(web, hand_built_cycle):
    response = web.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="timeline"' in html and 'aria-labelledby="timeline-title timeline-desc"' in html
    assert 'id="overlay"' in html and 'aria-labelledby="overlay-title overlay-desc"' in html
    assert html.count('<li class="cycle-card') == 2  # a card per cycle, not a wide table
    assert "cycle-table" not in html
    assert html.count("Show the numbers as a table") == 2


def test_the_cycle_card_shows_the_figures_of_the_hand_built_cycle(web, hand_built_cycle):
    _, finished = cards(web.get(URL).content.decode())
    assert finished == {
        "heading": f"Injection of {on(0):%-d %b %Y} Botox 200 U",
        "Before the injection": "8.0 out of 10, on average",
        "When relief began": "Day 12",
        "Best relief": "75 % better than before, day 32",
        "When it wore off": "Day 74",
        "How long it helped": "62 days",
        "Days without relief before the next injection": "16",
        "Reactions": "2",
        "Your own rating of change": (
            "Weeks 4 to 6: Much improved Before the next injection: No change"
        ),
        "why": "",
    }


def test_missing_figures_show_a_dash_and_say_why_in_plain_words(web, hand_built_cycle):
    ongoing, _ = cards(web.get(URL).content.decode())
    assert ongoing["heading"] == f"Injection of {on(90):%-d %b %Y} Dysport 500 U now"
    assert ongoing["Before the injection"] == "7.0 out of 10, on average"
    assert (ongoing["When relief began"], ongoing["Reactions"]) == ("—", "1")
    assert ongoing["Your own rating of change"] == "—"
    assert "Days without relief before the next injection" not in ongoing  # not over yet
    assert ongoing["why"] == (
        "Not yet 25 % better than before the injection, the level that counts as real relief."
    )


def test_each_word_on_the_cards_has_a_disclosure_saying_what_it_means(web, hand_built_cycle):
    html = web.get(URL).content.decode()
    for term in ["better", "onset", "peak", "wearing-off", "duration", "gap", "rating"]:
        assert f'<details class="term" id="term-{term}">' in html
    assert "<summary>How much better than before the injection</summary>" in html


def test_another_patient_sees_their_own_empty_page_never_the_owners(
    other_patient, hand_built_cycle, logged_in
):
    response = logged_in(other_patient.user).get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Nothing to show yet" in html
    assert "Botox" not in html and "Dysport" not in html and "Neck stiff" not in html
    assert response.context["page"].cycle_count == 0


@pytest.mark.parametrize("persona", ["clinician", "stranger_clinician"])
def test_clinicians_get_404_for_the_patients_relief_page(
    request, persona, hand_built_cycle, logged_in
):
    response = logged_in(request.getfixturevalue(persona)).get(URL)
    assert response.status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


# What it shows.


def test_a_patient_without_data_is_told_what_to_log(web):
    html = web.get(URL).content.decode()
    assert "Nothing to show yet" in html
    assert "Your score every day" in html and "Each injection" in html
    assert reverse("injection_new") in html and reverse("today") in html
    assert "<svg" not in html


def test_scores_without_injections_draw_the_timeline_and_ask_for_injections(web, patient):
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=6)
    factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=1), severity=7)
    html = web.get(URL).content.decode()
    assert 'aria-labelledby="timeline-title timeline-desc"' in html
    assert "Log a check-in each day, and add each injection." in html
    assert "2 days logged so far. Log a check-in each day" in html
    assert "No injection logged yet." in html


@pytest.mark.parametrize(
    ("query", "chosen", "start"),
    [
        ("", "90", TODAY - dt.timedelta(days=89)),
        ("?range=30", "30", TODAY - dt.timedelta(days=29)),
        ("?range=365", "365", TODAY - dt.timedelta(days=364)),
        ("?range=all", "all", INJECTED - dt.timedelta(days=14)),
        ("?range=forever", "90", TODAY - dt.timedelta(days=89)),
    ],
)
def test_the_timeline_range_ends_today_and_is_marked_as_chosen(
    web, hand_built_cycle, query, chosen, start
):
    response = web.get(URL + query)
    html = response.content.decode()
    timeline = response.context["page"].timeline
    assert (timeline.start, timeline.end) == (start, TODAY)
    assert f'href="?range={chosen}#timeline" aria-current="true"' in html
    assert html.count('aria-current="true"') == 1
    assert f"Daily severity, {start:%-d %b %Y} to {TODAY:%-d %b %Y}" in html


def test_the_timeline_marks_injections_and_red_flags(web, hand_built_cycle):
    response = web.get(URL + "?range=all")
    html = response.content.decode()
    labels = [mark.lines for mark in response.context["page"].timeline.injections]
    assert [" ".join(lines) for lines in labels] == ["Botox 200 U", "Dysport 500 U"]
    assert 'class="chart-red-flag"' in html
    assert "Get help now: Difficulty breathing (severe)" in html  # the urgent card's words
    assert "Urgent" not in html


def test_the_script_gets_each_day_with_its_note(web, hand_built_cycle):
    html = web.get(URL + "?range=all").content.decode()
    data = json.loads(
        re.search(r'id="timeline-data" type="application/json">(.*?)</script>', html)[1]
    )
    day_32 = (on(32) - dt.date.fromisoformat(data["start"])).days
    assert [day_32, 2, "Neck stiff", ""] in data["days"]


def test_the_charts_need_no_inline_style_or_script(web, hand_built_cycle):
    html = web.get(URL).content.decode()
    charts = svgs(html)
    assert len(charts) >= 2
    for svg in charts:
        assert "style=" not in svg
        assert "<script" not in svg
        assert 'role="img"' in svg or 'aria-hidden="true"' in svg
    # Every script on the page is a file of our own or inert JSON data.
    for tag in re.findall(r"<script[^>]*>", html):
        assert " src=" in tag or 'type="application/json"' in tag
    assert 'src="/static/js/relief.js" defer' in html


def test_the_relief_tab_is_current(web):
    html = web.get(URL).content.decode()
    assert f'<a href="{URL}" aria-current="page">Relief</a>' in html


# The query count does not grow with the diary.


def build_diary(patient, years: int, injections: int, reactions: int) -> None:
    first_day = TODAY - dt.timedelta(days=365 * years)
    every = (TODAY - first_day).days // injections
    days = [first_day + dt.timedelta(days=n) for n in range((TODAY - first_day).days + 1)]
    DailyLog.objects.bulk_create(
        DailyLog(patient=patient, date=day, severity=(day.toordinal() % every) // 10)
        for day in days
    )
    shots = Injection.objects.bulk_create(
        Injection(
            patient=patient,
            date=first_day + dt.timedelta(days=14 + n * every),
            product="botox",
            total_units=200,
        )
        for n in range(injections)
    )
    factories.peak_impressions(patient, shots, until=TODAY)
    Reaction.objects.bulk_create(
        Reaction(
            patient=patient, kind="headache", severity="mild", onset_date=shots[n % injections].date
        )
        for n in range(reactions)
    )


@pytest.mark.parametrize(
    ("years", "injections", "reactions"), [(1, 4, 5), (5, 20, 100)], ids=["1 year", "5 years"]
)
def test_the_page_takes_six_queries_however_long_the_diary(
    web, patient, django_assert_num_queries, years, injections, reactions
):
    build_diary(patient, years, injections, reactions)
    # session, user with their patient record, injections, their PGIC answers, logs, reactions
    # (each with those dated ahead: tracker/diary.py, read_shown)
    with django_assert_num_queries(6):
        response = web.get(URL + "?range=all")
    assert response.status_code == 200
    assert response.context["page"].cycle_count == injections
    assert response.context["page"].timeline.logged_days == 365 * years + 1


# Five years of cycles: the newest cards, and a link to every one.


def test_the_newest_six_cycle_cards_show_with_a_link_to_the_earlier_ones(web, patient):
    build_diary(patient, 5, 20, 0)

    html = web.get(URL).content.decode()

    assert html.count('<li class="cycle-card') == 6
    assert 'id="cycle-20"' in html and 'id="cycle-15"' in html and 'id="cycle-14"' not in html
    assert 'href="?range=90&amp;cycles=all#cycle-14">Show the 14 earlier injections</a>' in html
    assert html.count('<path class="chart-median"') == 1  # the overlay still compares all 20

    every = web.get(URL + "?range=90&cycles=all").content.decode()
    assert every.count('<li class="cycle-card') == 20
    assert 'id="cycle-1"' in every and "earlier injections" not in every
    assert web.get(URL + "?cycles=nonsense").content.decode().count('<li class="cycle-card') == 6


def test_six_cycles_or_fewer_show_every_card_and_no_link(web, patient):
    build_diary(patient, 1, 6, 0)

    html = web.get(URL).content.decode()

    assert html.count('<li class="cycle-card') == 6
    assert "earlier injection" not in html
