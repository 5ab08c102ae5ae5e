import datetime as dt
import io
import re
import sys
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from tests import factories
from tests.conftest import TODAY
from tests.test_relief_page import table_rows
from tracker import pdf, relief
from tracker.diary import SiteDose
from tracker.models import AccessEvent, DailyLog, InjectionSite, Reaction
from tracker.pages import relief as relief_pages
from tracker.pages import report
from tracker.relief import compute_cycles

pytestmark = pytest.mark.usefixtures("frozen_now")

VIEWS = ["clinic_report", "clinic_summary", "clinic_summary_pdf"]
EVERY = 90  # days between injections in `build_cycles`


def url(name: str, patient) -> str:
    return reverse(name, args=[patient.pk])


def build_cycles(patient, count: int) -> list:
    """`count` Botox injections EVERY days apart, the last 30 days ago, each into both
    sternocleidomastoids and the left splenius capitis, with a score every day from two weeks
    before the first (relief that starts on day 10 and wears off on day 70), a note every 10
    days, a headache and a PGIC answer in each cycle."""
    first = TODAY - dt.timedelta(days=30 + EVERY * (count - 1))
    shots = []
    for n in range(count):
        shot = factories.InjectionFactory(
            patient=patient, date=first + dt.timedelta(days=EVERY * n), total_units=Decimal(200)
        )
        for muscle, side, units in [
            ("sternocleidomastoid", "left", 60),
            ("sternocleidomastoid", "right", 60),
            ("splenius_capitis", "left", 80),
        ]:
            InjectionSite.objects.create(
                injection=shot, muscle=muscle, side=side, units=Decimal(units)
            )
        shots.append(shot)
    logs = []
    day = first - dt.timedelta(days=14)
    while day <= TODAY:
        cycle_day = (day - first).days % EVERY if day >= first else -1
        severity = 3 if 10 <= cycle_day < 70 else 8
        note = f"Note of day {cycle_day}" if day.toordinal() % 10 == 0 else ""
        logs.append(DailyLog(patient=patient, date=day, severity=severity, note=note))
        day += dt.timedelta(days=1)
    DailyLog.objects.bulk_create(logs)
    Reaction.objects.bulk_create(
        Reaction(
            patient=patient,
            kind="headache",
            severity="mild",
            onset_date=shot.date + dt.timedelta(days=2),
        )
        for shot in shots
    )
    factories.peak_impressions(patient, shots, until=TODAY)
    return shots


@pytest.fixture
def diary(patient):
    return build_cycles(patient, 3)


# Who may see it.


@pytest.mark.parametrize("name", VIEWS)
def test_the_patient_gets_404_for_their_own_clinic_report(
    patient, clinician, diary, name, logged_in
):
    assert logged_in(patient.user).get(url(name, patient)).status_code == 404


@pytest.mark.parametrize("name", VIEWS)
def test_a_stranger_clinician_gets_404_and_leaves_no_trace(
    patient, stranger_clinician, diary, name, logged_in
):
    assert logged_in(stranger_clinician).get(url(name, patient)).status_code == 404
    assert not AccessEvent.objects.exists()


@pytest.mark.parametrize("name", VIEWS)
def test_a_clinician_whose_share_was_revoked_gets_404(patient, clinician, diary, name, logged_in):
    patient.shares.get(clinician=clinician).revoke()
    assert logged_in(clinician).get(url(name, patient)).status_code == 404


@pytest.mark.parametrize("name", VIEWS)
def test_anonymous_visitors_are_sent_to_log_in(patient, diary, client, name):
    response = client.get(url(name, patient))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("name", VIEWS)
def test_the_report_is_only_read_never_posted_to(patient, clinician, name, logged_in):
    assert logged_in(clinician).post(url(name, patient)).status_code == 405
    assert not AccessEvent.objects.exists()


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("clinic_report", AccessEvent.What.PAGE),
        ("clinic_summary", AccessEvent.What.PAGE),
        ("clinic_summary_pdf", AccessEvent.What.PDF),
    ],
)
def test_each_open_writes_one_row_of_the_patients_access_history(
    patient, clinician, diary, name, what, logged_in
):
    response = logged_in(clinician).get(url(name, patient))
    assert response.status_code == 200
    event = AccessEvent.objects.get()
    assert (event.patient, event.clinician, event.what) == (patient, clinician, what)
    assert event.path == url(name, patient)


# The report page.


def test_a_clinician_with_a_share_sees_the_charts_the_tables_and_the_doses(
    patient, clinician, diary, logged_in
):
    response = logged_in(clinician).get(url("clinic_report", patient))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('role="img"') == 2  # the timeline and the overlay
    assert 'class="table cycle-table"' in html
    doses = table_rows(html, "dose-table")
    assert doses[:3] == [
        ["Sternocleidomastoid, left", "60 U", "60 U", "60 U"],
        ["Sternocleidomastoid, right", "60 U", "60 U", "60 U"],
        ["Splenius capitis, left", "80 U", "80 U", "80 U"],
    ]
    peak, benefit = doses[3:]
    assert peak[0] == "Peak relief" and benefit[0] == "Benefit, days"
    assert peak[2] == "63 % day 13"  # from 8 before to 3: 62.5 %
    assert benefit[2] == "62"  # onset on day 9, worn off on day 71


def test_the_cycle_tables_terms_are_explained_to_the_clinician_not_to_the_patient(
    patient, clinician, diary, logged_in
):
    clinic = logged_in(clinician).get(url("clinic_report", patient)).content.decode()
    own = logged_in(patient.user).get("/relief/").content.decode()
    assert "Patient Global Impression of Change (1 very much improved" in clinic
    assert "your symptoms" not in clinic and "Your impression" not in clinic
    assert "Your score" not in clinic and "Your daily score" not in clinic
    assert "The patient's daily score" in clinic
    assert "how much better you were" not in clinic
    assert "<summary>How much better than before the injection</summary>" in own
    assert "<summary>How much better than before the injection</summary>" not in clinic
    words = re.sub(r"<[^>]+>", " ", own)  # what the patient reads, not the markup
    for jargon in ["Baseline", "Onset", "Median", "median", "middle half", "PGIC"]:
        assert jargon not in words


def test_the_report_groups_reactions_notes_and_answers_by_cycle(
    patient, clinician, diary, logged_in
):
    factories.ReactionFactory(
        patient=patient,
        kind="breathing",
        severity="severe",
        onset_date=TODAY - dt.timedelta(days=3),
        note="Short of breath",
    )
    factories.ReactionFactory(
        patient=patient, kind="site_pain", onset_date=diary[0].date - dt.timedelta(days=1)
    )
    html = logged_in(clinician).get(url("clinic_report", patient)).content.decode()
    reactions = html[html.index('id="reactions-heading"') : html.index('id="notes-heading"')]
    headings = re.findall(r"<h3>(.*?)</h3>", reactions)
    assert headings == [
        f"Cycle 3, from {diary[2].date.day} {diary[2].date:%b %Y}: Botox 200 U",
        f"Cycle 2, from {diary[1].date.day} {diary[1].date:%b %Y}: Botox 200 U",
        f"Cycle 1, from {diary[0].date.day} {diary[0].date:%b %Y}: Botox 200 U",
        "Before the first injection",
    ]
    assert "Get help now</span> <strong>Difficulty breathing</strong> (severe)" in reactions
    assert "Not yet handled." in reactions
    assert "(day 27), not over" in reactions and "Short of breath" in reactions
    notes = html[html.index('id="notes-heading"') : html.index('id="impressions-heading"')]
    assert notes.count("<li>") == DailyLog.objects.exclude(note="").count()
    answers = html[html.index('id="impressions-heading"') :]
    assert (
        answers.count("Weeks 4 to 6 (") == 3 and "day 30):</span> <strong>Much improved" in answers
    )


def test_the_dashboard_links_each_patient_to_their_report(patient, clinician, logged_in):
    html = logged_in(clinician).get(reverse("clinic")).content.decode()
    assert f'href="{url("clinic_report", patient)}"' in html


@pytest.mark.parametrize("cycles", [2, 6])
def test_the_report_takes_the_same_queries_however_many_cycles(
    patient, clinician, django_assert_num_queries, cycles, logged_in
):
    build_cycles(patient, cycles)
    client = logged_in(clinician)
    # session, user, the clinician's second factor, the patient (the access check), the access
    # event, conditions, injections with their sites (one joined query since tracker/diary.py;
    # eleven before), their PGIC answers, logs, reactions
    with django_assert_num_queries(10):
        response = client.get(url("clinic_report", patient))
    assert response.context["report"].page.cycle_count == cycles


# The summary, on screen and as a PDF.


def test_the_summary_shows_the_current_and_the_previous_cycle(patient, clinician, diary, logged_in):
    response = logged_in(clinician).get(url("clinic_summary", patient))
    html = response.content.decode()
    summary = response.context["summary"]
    assert [row.cycle.index for row in summary.rows] == [3, 2]
    assert summary.timeline.start == diary[1].date - dt.timedelta(days=14)
    assert html.count('role="img"') == 2
    assert [row[0] for row in table_rows(html, "figures-table")][:3] == [
        "Dose",
        "Baseline 0–10",
        "Onset day",
    ]
    assert table_rows(html, "dose-table")[0] == ["Sternocleidomastoid, left", "60 U", "60 U"]


def test_the_summary_page_prints_with_a_button_or_the_browsers_own_print(
    patient, clinician, diary, logged_in
):
    html = logged_in(clinician).get(url("clinic_summary", patient)).content.decode()
    assert '<button type="button" class="button primary" data-print hidden>Print</button>' in html
    assert re.search(r'<script src="/static/js/print\.js" defer>', html)
    assert re.search(r'<link rel="stylesheet" href="/static/css/print\.css" media="print">', html)
    assert "Print command" in html
    assert f'href="{url("clinic_summary_pdf", patient)}" download' in html


def test_the_summary_keeps_to_one_page_by_naming_what_it_leaves_out(
    patient, clinician, diary, logged_in
):
    Reaction.objects.bulk_create(
        Reaction(
            patient=patient, kind="neck_pain", severity="mild", onset_date=TODAY - dt.timedelta(n)
        )
        for n in range(10)
    )
    factories.ReactionFactory(
        patient=patient, kind="breathing", onset_date=TODAY - dt.timedelta(days=29)
    )
    response = logged_in(clinician).get(url("clinic_summary", patient))
    summary = response.context["summary"]
    # Cycles 2 and 3: their headaches, the ten neck pains and the red flag, which comes first.
    assert len(summary.reactions) == report.SUMMARY_REACTIONS
    assert summary.more_reactions == 13 - report.SUMMARY_REACTIONS
    assert summary.reactions[0].urgent
    assert "And 7 more: the full report lists them all." in response.content.decode()
    assert len(summary.notes) == report.SUMMARY_NOTES and summary.more_notes > 0


def pdf_of(response):
    return PdfReader(io.BytesIO(response.content))


def test_the_pdf_is_a_one_page_private_download(patient, clinician, diary, logged_in):
    response = logged_in(clinician).get(url("clinic_summary_pdf", patient))
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    name = f"relief-tracker-summary-patient-{patient.pk}-2026-06-15.pdf"  # no username
    assert f'filename="{name}"' in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    pdf = pdf_of(response)
    assert len(pdf.pages) == 1
    text = pdf.pages[0].extract_text()
    assert f"Pre-visit summary: {patient.display_name}" in text  # "Patient #1": no username
    assert "Sternocleidomastoid, left" in text
    assert "Your patients" not in text and "Log out" not in text  # the app's navigation


def test_the_pdf_of_a_long_diary_with_many_muscles_still_fits_one_page(
    patient, clinician, logged_in
):
    shots = build_cycles(patient, 6)
    for shot in shots[-2:]:
        for muscle in ["trapezius", "levator_scapulae", "scalenes", "semispinalis_capitis"]:
            for side in ["left", "right"]:
                InjectionSite.objects.create(
                    injection=shot, muscle=muscle, side=side, units=Decimal(10)
                )
    Reaction.objects.bulk_create(
        Reaction(
            patient=patient,
            kind="swallowing_mild",
            severity="moderate",
            onset_date=TODAY - dt.timedelta(n),
            note="A long note about what happened, written on a phone, " * 3,
        )
        for n in range(12)
    )
    DailyLog.objects.filter(patient=patient).update(note="Stiff neck, worse in the evening. " * 5)
    response = logged_in(clinician).get(url("clinic_summary_pdf", patient))
    assert len(pdf_of(response).pages) == 1


def test_without_weasyprint_the_pdf_answers_503_and_points_to_print(
    patient, clinician, diary, monkeypatch, logged_in
):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint: ImportError
    response = logged_in(clinician).get(url("clinic_summary_pdf", patient))
    assert response.status_code == 503
    assert f'href="{url("clinic_summary", patient)}"' in response.content.decode()


@pytest.mark.parametrize(
    ("address", "found"),
    [
        ("http://testserver/static/css/print.css", "print.css"),
        ("/static/css/app.css", "app.css"),
        ("http://elsewhere.example/static/js/print.js", "print.js"),
        ("http://testserver/static/css/none.css", None),
        ("http://testserver/static/../manage.py", None),
        ("http://testserver/static/%2e%2e/manage.py", None),
        ("http://testserver/manifest.webmanifest", None),
        ("file:///etc/passwd", None),
    ],
)
def test_the_pdf_reads_our_static_files_from_disk_and_nothing_else(address, found):
    path = pdf.static_file(address)
    assert (path.name if path else None) == found


# The assembly, from plain records.


def rows_of(dates_and_doses) -> list[relief_pages.CycleRow]:
    points = [relief.InjectionPoint(id=pk, date=day) for pk, day, _ in dates_and_doses]
    cycles = compute_cycles(points, [], TODAY)
    doses = [
        relief_pages.Dose(pk, product, Decimal(units))
        for pk, _, (product, units) in dates_and_doses
    ]
    labels = {
        c.index: relief_pages.dose_label(d for d in doses if d.injection_id in c.injection_ids)
        for c in cycles
    }
    return relief_pages.cycle_rows(cycles, labels, {}, [])


def test_units_are_added_per_muscle_and_product_and_never_across_products():
    old, new = TODAY - dt.timedelta(days=100), TODAY - dt.timedelta(days=10)
    rows = rows_of([(1, old, ("Botox", 100)), (2, new, ("Botox", 50)), (3, new, ("Dysport", 250))])
    history = report.dose_history(
        rows,
        [
            SiteDose(1, "Trapezius, left", "Botox", Decimal(60)),
            SiteDose(1, "Trapezius, left", "Botox", Decimal(40)),
            SiteDose(2, "Sternocleidomastoid, right", "Botox", Decimal(50)),
            SiteDose(3, "Sternocleidomastoid, right", "Dysport", Decimal(250)),
        ],
    )
    assert [c.dose for c in history.columns] == ["Botox 50 U + Dysport 250 U", "Botox 100 U"]
    assert [(r.muscle, r.cells) for r in history.rows] == [
        ("Sternocleidomastoid, right", ("Botox 50 U + Dysport 250 U", "")),
        ("Trapezius, left", ("", "100 U")),
    ]


def test_a_session_saved_without_sites_shows_its_units_as_muscles_not_recorded(
    patient, clinician, logged_in
):
    factories.InjectionFactory(
        patient=patient, date=TODAY - dt.timedelta(days=5), total_units=Decimal("12.5")
    )
    html = logged_in(clinician).get(url("clinic_report", patient)).content.decode()
    assert table_rows(html, "dose-table")[0] == ["Muscles not recorded", "12.5 U"]


def test_a_patient_with_scores_only_gets_a_report_and_a_one_page_summary_that_say_so(
    patient, clinician, logged_in
):
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=6, note="First day")
    client = logged_in(clinician)
    html = client.get(url("clinic_report", patient) + "?range=bogus").content.decode()
    assert html.count('role="img"') == 1  # the timeline; no cycle to overlay
    assert html.count("No injection recorded yet.") == 3
    assert "Before the first injection" in html and "First day" in html
    summary = client.get(url("clinic_summary", patient)).content.decode()
    assert "No injection recorded yet." in summary
    assert len(pdf_of(client.get(url("clinic_summary_pdf", patient))).pages) == 1


@pytest.mark.parametrize(
    ("text", "limit", "shortened"),
    [
        ("Slept well", 10, "Slept well"),
        ("Slept well, then woke at four", 20, "Slept well, then…"),
        ("Slept well; woke", 12, "Slept well…"),
        ("Unbrokenwordwithoutspaces", 10, "Unbrokenw…"),
    ],
)
def test_long_notes_are_cut_at_a_word_and_marked(text, limit, shortened):
    assert report.shorten(text, limit) == shortened
    assert len(report.shorten(text, limit)) <= limit


def test_in_production_the_pdf_reads_collectstatics_hashed_copies(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "print.0123abcd.css").write_text("h1 { color: red }")
    path = pdf.static_file("http://clinic.example/static/css/print.0123abcd.css")
    assert path == tmp_path / "css" / "print.0123abcd.css"
