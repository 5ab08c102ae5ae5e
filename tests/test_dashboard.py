import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tests.conftest import TODAY
from tracker import triage
from tracker.models import DailyLog, Injection, Patient, PatientCondition, Reaction, Share, User
from tracker.triage import Attention, CycleSummary

pytestmark = pytest.mark.usefixtures("frozen_now")


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def log_days(patient: Patient, days, severity) -> None:
    DailyLog.objects.bulk_create(
        DailyLog(patient=patient, date=days_ago(n), severity=severity(n)) for n in days
    )


def shared_patient(clinician: User, username: str, first_name: str, **kwargs) -> Patient:
    patient = factories.PatientFactory(
        user__username=username, user__first_name=first_name, **kwargs
    )
    factories.ShareFactory(patient=patient, clinician=clinician)
    return patient


@pytest.fixture
def clinic(clinician, patient):
    """Four patients of one clinician, one per kind of attention, all with the app for months.
    `patient` (Pat) logs every day and feels better since an injection 30 days ago: nothing to
    flag."""
    User.objects.filter(pk=patient.user.pk).update(first_name="Pat")
    patient.refresh_from_db()
    factories.InjectionFactory(patient=patient, date=days_ago(30), total_units=Decimal(200))
    log_days(patient, range(0, 50), lambda n: 8 if n > 30 else 4)

    flagged = shared_patient(clinician, "zed", "Zed", conditions=["spasmodic_dysphonia"])
    factories.ReactionFactory(patient=flagged, kind="breathing", onset_date=days_ago(2))
    log_days(flagged, range(14), lambda n: 5)

    # Relief from day 1 that wore off on day ~40 of a cycle that started 60 days ago.
    worn = shared_patient(clinician, "wendy", "Wendy", conditions=["blepharospasm"])
    factories.InjectionFactory(patient=worn, date=days_ago(60), product="xeomin")
    log_days(worn, range(0, 75), lambda n: 8 if n > 60 or n < 20 else 2)

    quiet = shared_patient(clinician, "quinn", "Quinn", conditions=["limb_spasticity"])
    log_days(quiet, [0, 5, 9], lambda n: 6)
    Patient.objects.update(created_at=timezone.now() - dt.timedelta(days=200))  # not new
    return {"ok": patient, "flagged": flagged, "worn": worn, "quiet": quiet}


def dashboard(client: Client, **params):
    response = client.get(reverse("clinic"), params)
    assert response.status_code == 200
    return response


def names(response) -> list[str]:
    return [item["row"].name for item in response.context["items"]]


def test_patients_are_sorted_by_attention_then_name(clinician, clinic, logged_in):
    response = dashboard(logged_in(clinician))
    assert names(response) == ["Zed", "Wendy", "Quinn", "Pat"]
    attention = [item["row"].attention for item in response.context["items"]]
    assert attention == [
        Attention.RED_FLAG,
        Attention.RELIEF,
        Attention.MISSING_DATA,
        Attention.NONE,
    ]


def test_a_row_shows_the_last_injection_day_of_cycle_severity_and_relief(
    clinician, clinic, logged_in
):
    row = next(
        i["row"] for i in dashboard(logged_in(clinician)).context["items"] if i["row"].name == "Pat"
    )
    assert [(shot.date, shot.product, shot.total_units) for shot in row.last_injections] == [
        (days_ago(30), "botox", 200)
    ]
    assert row.cycle_day == 30
    assert (row.latest_severity, row.latest_severity_date) == (4, TODAY)
    assert row.relief == pytest.approx(50)
    assert row.days_logged == 14
    assert row.last_log_date == TODAY
    assert row.red_flags == ()


def test_the_page_shows_each_rows_figures_and_actions(clinician, clinic, logged_in):
    html = dashboard(logged_in(clinician)).content.decode()
    assert "<table" in html
    assert "Difficulty breathing" in html
    assert "50 % better" in html
    assert "Only 3 of the last 14 days logged" in html
    assert "This cycle wore off early, on day" in html
    for name in ["clinic_export_csv", "clinic_export_fhir", "clinic_injection_new"]:
        assert reverse(name, args=[clinic["ok"].pk]) in html


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"condition": "blepharospasm"}, ["Wendy"]),
        ({"condition": "cervical_dystonia"}, ["Pat"]),
        ({"condition": "not-a-condition"}, ["Zed", "Wendy", "Quinn", "Pat"]),
        ({"q": "wen"}, ["Wendy"]),
        ({"q": "PAT"}, ["Pat"]),
        ({"q": "zed nobody"}, []),
        ({"q": "z", "condition": "blepharospasm"}, []),
    ],
)
def test_the_list_filters_by_condition_and_searches_names(
    clinician, clinic, params, expected, logged_in
):
    assert names(dashboard(logged_in(clinician), **params)) == expected


def test_a_clinician_sees_only_active_shares(clinician, clinic, stranger_clinician, logged_in):
    Share.objects.filter(patient=clinic["worn"]).update(revoked_at=dt.datetime.now(dt.UTC))
    assert "Wendy" not in names(dashboard(logged_in(clinician)))
    assert names(dashboard(logged_in(stranger_clinician))) == []


def test_patients_and_visitors_have_no_dashboard(patient, clinic, logged_in):
    assert logged_in(patient.user).get(reverse("clinic")).status_code == 404
    response = Client().get(reverse("clinic"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_an_empty_clinic_invites_a_first_patient(stranger_clinician, logged_in):
    html = dashboard(logged_in(stranger_clinician)).content.decode()
    assert "No patient shares their diary with you yet." in html
    assert reverse("clinic_invite") in html


def add_patients(clinician: User, count: int) -> None:
    """`count` shared patients, each with two injections, 30 days of logs and a red flag."""
    users = User.objects.bulk_create(
        User(username=f"bulk{n}", first_name=f"Bulk {n}") for n in range(count)
    )
    patients = Patient.objects.bulk_create(
        Patient(user=user, time_zone="Europe/London") for user in users
    )
    PatientCondition.objects.bulk_create(
        PatientCondition(patient=p, condition="cervical_dystonia") for p in patients
    )
    Share.objects.bulk_create(Share(patient=p, clinician=clinician) for p in patients)
    Injection.objects.bulk_create(
        Injection(patient=p, date=days_ago(n), product="botox", total_units=200)
        for p in patients
        for n in [100, 10]
    )
    DailyLog.objects.bulk_create(
        DailyLog(patient=p, date=days_ago(n), severity=n % 10) for p in patients for n in range(30)
    )
    Reaction.objects.bulk_create(
        Reaction(patient=p, kind="vision", severity="mild", onset_date=TODAY) for p in patients
    )


def test_the_dashboard_takes_the_same_queries_for_5_and_500_patients(
    clinician, django_assert_num_queries, logged_in
):
    client = logged_in(clinician)
    # session, user, their authenticator app, the patients with their last log date, their
    # conditions, the last two injection dates' sessions, the logs of the last 200 days, the
    # red flags not yet handled or handled lately (with who handled them, joined), the patients
    # of clinics they coordinate (none here)
    add_patients(clinician, 5)
    with django_assert_num_queries(9):
        response = dashboard(client)
    assert len(response.context["items"]) == 5 + 1
    User.objects.filter(username__startswith="bulk").delete()
    add_patients(clinician, 500)
    with django_assert_num_queries(9):
        response = dashboard(client)
    assert response.context["page"].paginator.count == 500 + 1
    assert len(response.context["items"]) == 100
    assert response.context["items"][0]["row"].attention == Attention.RED_FLAG


def test_a_long_list_comes_a_hundred_at_a_time_keeping_the_filters(clinician, patient, logged_in):
    add_patients(clinician, 150)
    client = logged_in(clinician)
    first = dashboard(client, condition="cervical_dystonia")
    assert len(first.context["items"]) == 100
    assert "?page=2&amp;condition=cervical_dystonia" in first.content.decode()
    second = dashboard(client, condition="cervical_dystonia", page=2)
    assert len(second.context["items"]) == 51
    shown = {item["row"].patient_id for item in first.context["items"]}
    assert not shown & {item["row"].patient_id for item in second.context["items"]}


# The triage rules, without a database


def cycle(wearing_off_day=None, gap_days=None, started=60) -> CycleSummary:
    return CycleSummary(
        injection_date=days_ago(started),
        wearing_off_day=wearing_off_day,
        gap_days=gap_days,
        complete=True,
    )


@pytest.mark.parametrize(
    ("red_flags", "current", "previous", "days_logged", "expected"),
    [
        (["breathing"], cycle(), None, 2, Attention.RED_FLAG),
        ([], cycle(wearing_off_day=50), None, 14, Attention.RELIEF),
        ([], cycle(wearing_off_day=70, started=75), None, 14, Attention.NONE),
        ([], cycle(wearing_off_day=75, started=96), None, 14, Attention.RELIEF),  # 21 days
        ([], cycle(), cycle(wearing_off_day=80, gap_days=21), 14, Attention.RELIEF),
        ([], cycle(), cycle(wearing_off_day=80, gap_days=20), 14, Attention.NONE),
        ([], cycle(), cycle(wearing_off_day=69, gap_days=5), 14, Attention.RELIEF),
        ([], cycle(), None, 6, Attention.MISSING_DATA),
        ([], cycle(), None, 7, Attention.NONE),
        ([], None, None, 7, Attention.NONE),
    ],
)
def test_attention_rules(red_flags, current, previous, days_logged, expected):
    attention, reasons = triage.assess(red_flags, current, previous, TODAY, days_logged)
    assert attention == expected
    assert bool(reasons) == (expected != Attention.NONE)


def test_relief_is_not_guessed_for_a_cycle_older_than_the_logs_fetched():
    injection = triage.InjectionInfo(id=1, date=days_ago(190), product="botox", total_units=200)
    logs = [(days_ago(n), 5) for n in range(199, -1, -1)]  # oldest first
    row = triage.triage_row(1, "Old", TODAY, [injection], logs, [], TODAY)
    assert row.cycle_day == 190
    assert row.relief is None
    assert row.current.complete is False
    assert row.relief_note.startswith("Injected more than")


def test_a_row_without_injections_or_logs_needs_data():
    row = triage.triage_row(1, "New", TODAY, [], [], [], None)
    assert (row.cycle_day, row.current, row.latest_severity, row.days_logged) == (
        None,
        None,
        None,
        0,
    )
    assert row.attention == Attention.MISSING_DATA


def test_severities_come_back_per_patient_oldest_first(patient, other_patient):
    log_days(patient, [0, 2, 1, 10], lambda n: n)
    assert DailyLog.objects.filter(date__gte=days_ago(5)).severities_by_patient() == {
        patient.pk: ((days_ago(2), 2), (days_ago(1), 1), (TODAY, 0))
    }
