"""The clinic's list as a clinician meets it: a compact row per patient with a relief line,
new patients called new, who each patient is, never a username, and a plain page for a diary
no longer shared."""

import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from tests import factories
from tests.conftest import NOW, TODAY
from tests.test_dashboard import add_patients, days_ago, log_days
from tests.test_report import build_cycles
from tracker import triage
from tracker.models import Patient, User
from tracker.triage import Attention

pytestmark = pytest.mark.usefixtures("frozen_now")

USERNAME = "zz-username-zz"


def row_of(response, patient) -> triage.TriageRow:
    return next(i["row"] for i in response.context["items"] if i["row"].patient_id == patient.pk)


def joined(patient: Patient, days_ago: int) -> None:
    Patient.objects.filter(pk=patient.pk).update(created_at=NOW - dt.timedelta(days=days_ago))


# The compact list


def test_each_row_draws_this_cycles_relief_as_a_small_line(clinician, patient, logged_in):
    build_cycles(patient, 2)
    response = logged_in(clinician).get(reverse("clinic"))
    row = row_of(response, patient)
    assert len(row.relief_line) == 31  # days 0 to 30 of the current cycle
    html = response.content.decode()
    points = re.search(r'<polyline points="([^"]+)"', html)[1].split()
    assert len(points) >= 20
    assert all(
        0 <= float(x) <= 100 and 0 <= float(y) <= 24 for x, y in (p.split(",") for p in points)
    )
    assert 'class="sparkline"' in html and 'aria-hidden="true"' in html  # the words say it


def test_the_sparkline_puts_no_relief_in_the_middle_and_full_relief_at_the_top():
    row = triage.triage_row(1, "A", TODAY, [], [], [], None)
    assert row.sparkline == ""  # no cycle, no line
    line = triage.TriageRow(**{**row.__dict__, "relief_line": (0.0, None, 100.0, -80.0)})
    assert line.sparkline == "0.0,16.0 66.7,0.0 100.0,24.0"


def test_the_list_takes_the_same_queries_for_5_and_50_patients(clinician, logged_in):
    # session, user, their authenticator app, the patients with their last log date, their
    # conditions, the last two injection dates' sessions, the logs of the last 200 days, the
    # red flags (with who handled them), and the clinic's coordinated patients: the relief
    # lines come from the logs already read (test_dashboard pins the number itself)
    client = logged_in(clinician)
    add_patients(clinician, 5)
    with CaptureQueriesContext(connection) as five:
        html = client.get(reverse("clinic")).content.decode()
    assert html.count("<polyline") == 5  # `patient` has no injection
    User.objects.filter(username__startswith="bulk").delete()
    add_patients(clinician, 50)
    with CaptureQueriesContext(connection) as fifty:
        html = client.get(reverse("clinic")).content.decode()
    assert html.count("<polyline") == 50
    assert len(fifty) == len(five) <= 9


def test_each_row_can_be_ticked_for_the_printed_summaries(clinician, patient, logged_in):
    html = logged_in(clinician).get(reverse("clinic")).content.decode()
    assert (
        f'<form method="post" action="{reverse("clinic_summaries_pdf")}" id="print-summaries"'
        in html
    )
    assert f'name="patient" value="{patient.pk}" form="print-summaries"' in html


# Rows drawn once


@pytest.fixture
def rows_drawn():
    """How many rows of the list each request draws (the rest come from the cache)."""
    from django.test.signals import template_rendered

    from tracker.views.clinic import ROW_TEMPLATE

    drawn = []

    def count(sender, template, **kwargs):
        drawn.extend([1] if template.name == ROW_TEMPLATE else [])

    template_rendered.connect(count)
    yield drawn
    template_rendered.disconnect(count)


def test_a_row_is_drawn_once_and_again_only_when_what_it_shows_changes(
    clinician, patient, logged_in, rows_drawn
):
    from tracker.models import PatientCondition, Reaction

    build_cycles(patient, 2)
    add_patients(clinician, 3)
    client = logged_in(clinician)

    def shown() -> str:
        rows_drawn.clear()
        html = client.get(reverse("clinic")).content.decode()
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)  # masked anew

    first = shown()
    assert len(rows_drawn) == 4
    assert shown() == first and rows_drawn == []  # the same page, no row drawn

    # No change to the diary (its revision stays): the row's own digest sees these.
    Patient.objects.filter(pk=patient.pk).update(clinic_number="RT-9")
    html = shown()
    assert len(rows_drawn) == 1 and "Clinic no. RT-9" in html
    Patient.objects.filter(pk=patient.pk).update(spasticity_cause="stroke")
    PatientCondition.objects.create(patient=patient, condition="limb_spasticity")
    html = shown()
    assert len(rows_drawn) == 1 and "Limb spasticity (stroke)" in html

    flag = factories.ReactionFactory(patient=patient, kind="breathing", severity="severe")
    to_handle = f'<span class="visually-hidden">: {patient.display_name}, {flag.get_kind_display()}'
    html = shown()
    assert len(rows_drawn) == 1 and to_handle in html
    Reaction.objects.filter(pk=flag.pk).update(handled_at=NOW, handled_by=clinician)
    html = shown()
    assert len(rows_drawn) == 1
    assert to_handle not in html and f"Handled by {clinician.get_full_name()}" in html


def test_a_row_drawn_for_one_time_zone_is_not_shown_in_another(
    clinician, patient, logged_in, rows_drawn
):
    factories.ReactionFactory(patient=patient, kind="breathing", severity="severe")
    client = logged_in(clinician)
    client.get(reverse("clinic"))
    with timezone.override("America/New_York"):
        rows_drawn.clear()
        client.get(reverse("clinic"))
    assert len(rows_drawn) == 1  # its times are written in the zone of the request


# New patients


def test_a_patient_who_joined_today_is_new_not_missing_data(clinician, patient, logged_in):
    log_days(patient, [0], lambda n: 6)
    response = logged_in(clinician).get(reverse("clinic"))
    row = row_of(response, patient)
    assert row.new and row.attention == Attention.NONE
    html = response.content.decode()
    assert '<span class="badge badge-new">New</span>' in html
    assert "New: 1 so far" in html
    assert "Only 1 of the last 14 days logged" not in html


def test_a_patient_stays_new_for_14_days(clinician, patient, logged_in):
    log_days(patient, [0, 3], lambda n: 6)
    joined(patient, 13)
    assert row_of(logged_in(clinician).get(reverse("clinic")), patient).new
    joined(patient, 14)
    row = row_of(logged_in(clinician).get(reverse("clinic")), patient)
    assert not row.new and row.attention == Attention.MISSING_DATA
    assert "Only 2 of the last 14 days logged" in row.reasons


def test_a_diary_logged_from_before_sign_up_is_no_newcomers(clinician, patient, logged_in):
    log_days(patient, [0, 20], lambda n: 6)  # a check-in dated 20 days back, made today
    row = row_of(logged_in(clinician).get(reverse("clinic")), patient)
    assert not row.new and row.attention == Attention.MISSING_DATA


@pytest.mark.parametrize(
    ("joined_days_ago", "first_log_days_ago", "new"),
    [(0, None, True), (13, 13, True), (13, 14, False), (14, None, False)],
)
def test_newness(joined_days_ago, first_log_days_ago, new):
    first = None if first_log_days_ago is None else days_ago(first_log_days_ago)
    assert triage.is_new(days_ago(joined_days_ago), TODAY, first) == new
    assert triage.is_new(None, TODAY, None) is False


# Who the patient is


@pytest.fixture
def identified(patient):
    Patient.objects.filter(pk=patient.pk).update(
        date_of_birth=dt.date(1961, 3, 4), clinic_number="RT-4471"
    )
    patient.refresh_from_db()
    build_cycles(patient, 2)
    return patient


@pytest.mark.parametrize("name", ["clinic", "clinic_report", "clinic_summary"])
def test_the_date_of_birth_and_clinic_number_identify_the_patient(
    name, identified, clinician, logged_in
):
    args = [] if name == "clinic" else [identified.pk]
    html = logged_in(clinician).get(reverse(name, args=args)).content.decode()
    assert "Born 4 Mar 1961" in html and "Clinic no. RT-4471" in html


def test_the_pdf_names_the_patient_with_their_identifiers(identified, clinician, logged_in):
    response = logged_in(clinician).get(reverse("clinic_summary_pdf", args=[identified.pk]))
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "Born 4 Mar 1961" in text and "Clinic no. RT-4471" in text


def test_a_stranger_sees_no_identifier(identified, stranger_clinician, logged_in):
    client = logged_in(stranger_clinician)
    assert "RT-4471" not in client.get(reverse("clinic")).content.decode()
    response = client.get(reverse("clinic_report", args=[identified.pk]))
    assert response.status_code == 404 and "RT-4471" not in response.content.decode()


# Never a username


@pytest.fixture
def nameless(db, clinician):
    patient = factories.PatientFactory(user__username=USERNAME, user__email="nameless@example.com")
    factories.ShareFactory(patient=patient, clinician=clinician)
    build_cycles(patient, 2)
    factories.ReactionFactory(
        patient=patient, kind="breathing", severity="severe", onset_date=TODAY
    )
    return patient


CLINICIAN_PAGES = [
    ("clinic", False),
    ("clinic_invite", False),
    ("clinic_report", True),
    ("clinic_summary", True),
    ("clinic_injection_new", True),
]


@pytest.mark.parametrize(("name", "of_patient"), CLINICIAN_PAGES)
def test_no_clinician_page_shows_a_username(name, of_patient, nameless, clinician, logged_in):
    response = logged_in(clinician).get(reverse(name, args=[nameless.pk] if of_patient else []))
    html = response.content.decode()
    assert response.status_code == 200
    assert USERNAME not in html
    if name != "clinic_invite":
        assert f"Patient #{nameless.pk}" in html


def test_the_pdfs_show_no_username(nameless, clinician, logged_in):
    client = logged_in(clinician)
    one = client.get(reverse("clinic_summary_pdf", args=[nameless.pk]))
    many = client.post(reverse("clinic_summaries_pdf"), {"patient": [nameless.pk]})
    assert USERNAME not in one["Content-Disposition"]
    for response in (one, many):
        text = " ".join(
            page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages
        )
        assert f"Patient #{nameless.pk}" in text
        assert USERNAME not in text


def test_marking_a_red_flag_handled_says_the_name_not_the_username(nameless, clinician, logged_in):
    flag = nameless.reactions.get(kind="breathing")
    client = logged_in(clinician)
    response = client.post(
        reverse("clinic_reaction_handled", args=[nameless.pk, flag.pk]), follow=True
    )
    assert USERNAME not in response.content.decode()
    assert f"Patient #{nameless.pk} sees that you saw it" in response.content.decode()


# A diary no longer shared


def test_a_clinician_whose_share_ended_is_told_when_still_with_404(patient, clinician, logged_in):
    User.objects.filter(pk=patient.user.pk).update(first_name="Qwerty-Name")
    share = patient.shares.get(clinician=clinician)
    share.revoke()
    response = logged_in(clinician).get(reverse("clinic_report", args=[patient.pk]))
    html = response.content.decode()
    assert response.status_code == 404
    assert f"stopped sharing their diary with you on {timezone.localdate():%-d %B %Y}" in html
    assert f'href="{reverse("clinic")}"' in html
    assert "Qwerty-Name" not in html  # the name is the patient's data too


@pytest.mark.parametrize("pk", ["patient", 999_999])
def test_a_stranger_is_told_only_that_the_diary_is_not_shared(
    pk, patient, stranger_clinician, logged_in
):
    patient_id = patient.pk if pk == "patient" else pk
    response = logged_in(stranger_clinician).get(reverse("clinic_report", args=[patient_id]))
    html = response.content.decode()
    assert response.status_code == 404
    assert "This patient’s diary is not shared with you" in html
    assert "stopped sharing" not in html


def test_the_clinician_with_access_and_the_patient_are_not_shown_that_page(
    patient, clinician, logged_in
):
    assert logged_in(clinician).get(reverse("clinic_report", args=[patient.pk])).status_code == 200
    response = logged_in(patient.user).get(reverse("clinic_report", args=[patient.pk]))
    assert response.status_code == 404
    assert "not shared with you" not in response.content.decode()
