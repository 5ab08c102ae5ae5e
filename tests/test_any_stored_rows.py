"""No stored row breaks a page: whatever the database accepts (written straight through the ORM,
past every form and serializer, but within the database's own constraints) leaves every page of
the patient and of the clinician answering (docs/clinical-rules.md, "Dates a diary may hold").

Dates are from 1990 (the database's bound) but may lie in the future: a phone's clock, an
import or a change of time zone can leave them there."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories
from tests.conftest import NOW, TODAY
from tracker import catalog
from tracker.dates import EARLIEST_DIARY_DATE
from tracker.models import DailyLog, GlobalImpression, Injection, InjectionSite, Reaction
from tracker.pages.relief import RANGE_LABELS

pytestmark = pytest.mark.usefixtures("frozen_now")

# The database's own limits: DecimalField(max_digits=7, decimal_places=1), above 0.
MAX_UNITS = Decimal("999999.9")
LATEST_DATE = dt.date(9999, 12, 31)

# A few dozen examples at most: each asks for some thirty pages.
ROWS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def days_from_today(low: int, high: int) -> st.SearchStrategy[dt.date]:
    return st.integers(low, high).map(lambda n: TODAY + dt.timedelta(days=n))


# Mostly around today, as real diaries are, with some anywhere from 1990 and the extremes.
any_date = st.one_of(
    days_from_today(-400, 0),
    days_from_today(-400, 0),
    days_from_today(1, 400),
    st.dates(EARLIEST_DIARY_DATE, dt.date(2100, 12, 31)),
    st.sampled_from([EARLIEST_DIARY_DATE, TODAY, TODAY + dt.timedelta(days=1), LATEST_DATE]),
)
units = st.one_of(
    st.decimals(Decimal("0.1"), MAX_UNITS, places=1),
    st.sampled_from([Decimal("0.1"), Decimal(400), MAX_UNITS]),
)
optional_score = st.none() | st.integers(0, 10)

log_rows = st.lists(
    st.tuples(any_date, st.integers(0, 10), optional_score, st.none() | st.integers(0, 4)),
    max_size=40,
    unique_by=lambda row: row[0],
)
injection_rows = st.lists(
    st.tuples(
        st.one_of(any_date, days_from_today(-2, 0)),  # the latter: often on the same day
        st.sampled_from([p.code for p in catalog.PRODUCTS]),
        units,
        st.lists(
            st.tuples(
                st.sampled_from([code for code, _ in catalog.MUSCLE_CHOICES]),
                st.sampled_from([code for code, _ in catalog.SIDE_CHOICES]),
                units,
            ),
            max_size=3,
        ),
        st.booleans(),  # entered by the clinic
    ),
    max_size=6,
)
reaction_rows = st.lists(
    st.tuples(
        st.sampled_from([code for code, _ in catalog.REACTION_CHOICES]),
        st.sampled_from([code for code, _ in catalog.SEVERITY_CHOICES]),
        any_date,
        st.none() | st.integers(0, 400),  # resolved this many days after onset
        st.booleans(),  # after the first injection, if any
        st.booleans(),  # handled by the clinic
    ),
    max_size=6,
)
pgic_rows = st.lists(
    st.tuples(
        st.sampled_from([code for code, _ in catalog.PGIC_TIMEPOINT_CHOICES]),
        any_date,
        st.integers(1, 7),
    ),
    max_size=2,
    unique_by=lambda row: row[0],
)
time_zones = st.sampled_from(["Europe/London", "Pacific/Kiritimati", "America/Adak"])


def later(day: dt.date, days: int | None) -> dt.date | None:
    if days is None:
        return None
    return min(day + dt.timedelta(days=min(days, (LATEST_DATE - day).days)), LATEST_DATE)


def store(patient, clinician, logs, injections, reactions, impressions) -> None:
    DailyLog.objects.bulk_create(
        DailyLog(patient=patient, date=d, severity=s, pain=p, spasm_frequency=f)
        for d, s, p, f in logs
    )
    shots = []
    for day, product, total, sites, by_clinic in injections:
        shot = Injection.objects.create(
            patient=patient,
            date=day,
            product=product,
            total_units=total,
            entered_by=clinician if by_clinic else patient.user,
        )
        InjectionSite.objects.bulk_create(
            InjectionSite(injection=shot, muscle=m, side=s, units=u) for m, s, u in sites
        )
        shots.append(shot)
    for kind, severity, onset, resolved_after, linked, handled in reactions:
        Reaction.objects.create(
            patient=patient,
            kind=kind,
            severity=severity,
            onset_date=onset,
            resolved_date=later(onset, resolved_after),
            injection=shots[0] if linked and shots else None,
            handled_at=NOW if handled else None,
            handled_by=clinician if handled else None,
        )
    if shots:
        GlobalImpression.objects.bulk_create(
            GlobalImpression(patient=patient, injection=shots[0], timepoint=t, date=d, score=s)
            for t, d, s in impressions
        )


def patient_pages(patient) -> list[str]:
    pages = [
        reverse("today"),
        reverse("history"),
        reverse("history") + "?page=1000000",  # the last page
        *(reverse("relief") + f"?range={choice}" for choice in RANGE_LABELS),
        reverse("injection_list"),
        reverse("injection_new"),
        reverse("reaction_list"),
        reverse("sharing"),
        reverse("settings"),
        reverse("export_csv"),
        reverse("export_fhir"),
        reverse("account_data_json"),
        reverse("api:cycle-list"),
        reverse("api:cycle-overlay"),
    ]
    today = patient.today()
    days = {log.date for log in patient.logs.all()} | {s.date for s in patient.injections.all()}
    pages += [reverse("log_day", args=[day.isoformat()]) for day in sorted(days) if day < today][:2]
    pages += [reverse("injection_detail", args=[shot.pk]) for shot in patient.injections.all()]
    pages += [reverse("injection_edit", args=[s.pk]) for s in patient.injections.all()[:1]]
    pages += [reverse("reaction_edit", args=[r.pk]) for r in patient.reactions.all()[:1]]
    return pages


def clinician_pages(patient) -> list[str]:
    report = reverse("clinic_report", args=[patient.pk])
    return [
        reverse("clinic"),
        *(report + f"?range={choice}" for choice in RANGE_LABELS),
        reverse("clinic_summary", args=[patient.pk]),
        reverse("clinic_export_csv", args=[patient.pk]),
        reverse("clinic_export_fhir", args=[patient.pk]),
        reverse("clinic_injection_new", args=[patient.pk]),
    ]


@pytest.fixture
def readers(patient, clinician, logged_in):
    """The patient's browser (who has just typed their password, for the downloads) and the
    clinician's; logged in once, as the examples share them."""
    patient_browser = logged_in(patient.user, password_just_typed=True)
    return patient_browser, logged_in(clinician)


def assert_every_page_answers(client, urls: list[str]) -> None:
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        if response.streaming:  # the CSV is written as it is sent: read it to the end
            b"".join(response.streaming_content)


@ROWS
@given(log_rows, injection_rows, reaction_rows, pgic_rows, time_zones)
def test_any_stored_rows_leave_every_page_answering(
    patient, clinician, readers, logs, injections, reactions, impressions, zone
):
    patient_browser, clinic_browser = readers
    with transaction.atomic():
        patient.time_zone = zone
        patient.save(update_fields=["time_zone"])
        store(patient, clinician, logs, injections, reactions, impressions)
        assert_every_page_answers(patient_browser, patient_pages(patient))
        assert_every_page_answers(clinic_browser, clinician_pages(patient))
        for reaction in patient.reactions.filter(resolved_date=None)[:1]:  # "It's over"
            url = reverse("reaction_resolve", args=[reaction.pk])
            assert patient_browser.post(url).status_code == 302
        transaction.set_rollback(True)  # the next example starts from an empty diary


@settings(ROWS, max_examples=5)  # WeasyPrint takes about half a second a page
@given(log_rows, injection_rows, reaction_rows)
def test_any_stored_rows_leave_the_summary_pdf_answering(
    patient, clinician, readers, logs, injections, reactions
):
    _, clinic_browser = readers
    with transaction.atomic():
        store(patient, clinician, logs, injections, reactions, [])
        response = clinic_browser.get(reverse("clinic_summary_pdf", args=[patient.pk]))
        assert response.status_code in {200, 503}  # 503: WeasyPrint is not installed here
        transaction.set_rollback(True)


# The cases issue 11 names.


def test_an_injection_dated_0001_can_no_longer_be_stored(patient):
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.InjectionFactory(patient=patient, date=dt.date(1, 1, 1))


def future_rows(patient) -> None:
    factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=100))
    factories.InjectionFactory(patient=patient, date=TODAY + dt.timedelta(days=30))
    for n in range(-120, 0, 3):
        factories.DailyLogFactory(patient=patient, date=TODAY + dt.timedelta(days=n), severity=6)
    factories.DailyLogFactory(patient=patient, date=TODAY + dt.timedelta(days=3), severity=2)
    factories.DailyLogFactory(patient=patient, date=LATEST_DATE, severity=9)


@pytest.mark.parametrize(
    "page",
    [
        "today",
        "relief",
        "clinic_report",
        "clinic_summary",
        "history",
        "export_csv",
        "clinic_export_csv",
    ],
)
def test_future_dated_logs_and_injections_do_not_break_a_page(patient, clinician, readers, page):
    future_rows(patient)
    patient_browser, clinic_browser = readers
    if page.startswith("clinic"):
        response = clinic_browser.get(reverse(page, args=[patient.pk]))
    else:
        response = patient_browser.get(reverse(page))
    assert response.status_code == 200


def test_a_1990_injection_with_logs_in_2026_does_not_break_a_page(patient, clinician, readers):
    factories.InjectionFactory(patient=patient, date=EARLIEST_DIARY_DATE)
    for n in range(1, 60):
        factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=n), severity=5)
    patient_browser, clinic_browser = readers
    assert_every_page_answers(patient_browser, patient_pages(patient))
    assert_every_page_answers(clinic_browser, clinician_pages(patient))


def test_a_log_dated_9999_does_not_make_the_csv_a_row_for_every_day_until_then(patient, readers):
    factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=2), severity=4)
    factories.DailyLogFactory(patient=patient, date=LATEST_DATE, severity=9)
    patient_browser, _ = readers
    response = patient_browser.get(reverse("export_csv"))
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[1].startswith((TODAY - dt.timedelta(days=2)).isoformat())
    assert len(lines) < 10


def test_marking_over_a_reaction_stored_as_starting_after_today_asks_to_correct_it(
    patient, readers
):
    reaction = factories.ReactionFactory(patient=patient, onset_date=TODAY + dt.timedelta(days=3))
    patient_browser, _ = readers
    response = patient_browser.post(reverse("reaction_resolve", args=[reaction.pk]), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("reaction_edit", args=[reaction.pk])
    assert "after today" in response.content.decode()
    reaction.refresh_from_db()
    assert reaction.resolved_date is None
