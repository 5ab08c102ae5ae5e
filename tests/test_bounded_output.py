"""Reports, PDFs and CSVs cover only the dates a diary may hold: from 1990-01-01 to the
patient's today (docs/clinical-rules.md, "Dates a diary may hold"). The database refuses the
earlier dates; a later one can still be stored by a direct write, and read_diary leaves it out
(issue 12, "Bounded output")."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from tests import factories
from tests.conftest import TODAY
from tracker import pdf
from tracker.dates import EARLIEST_DIARY_DATE
from tracker.diary import read_diary
from tracker.models import GlobalImpression

pytestmark = pytest.mark.usefixtures("frozen_now")

FAR_FUTURE = dt.date(9999, 12, 31)
TOMORROW = TODAY + dt.timedelta(days=1)


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


@pytest.fixture
def stray(patient):
    """A diary with rows on the first and last day it may hold, and rows after the patient's
    today: tomorrow and in the year 9999, as a direct write can store them."""
    first = factories.InjectionFactory(patient=patient, date=EARLIEST_DIARY_DATE)
    recent = factories.InjectionFactory(patient=patient, date=days_ago(40))
    future = factories.InjectionFactory(patient=patient, date=FAR_FUTURE)
    factories.InjectionSiteFactory(injection=future)
    for day in [EARLIEST_DIARY_DATE, days_ago(41), days_ago(1), TODAY, TOMORROW, FAR_FUTURE]:
        factories.DailyLogFactory(patient=patient, date=day, severity=5, note=f"on {day}")
    for day in [days_ago(30), TOMORROW, FAR_FUTURE]:
        factories.ReactionFactory(patient=patient, injection=recent, onset_date=day)
    GlobalImpression.objects.create(
        patient=patient, injection=recent, timepoint="peak", date=days_ago(10), score=2
    )
    GlobalImpression.objects.create(  # about the cycle of the year 9999, answered today
        patient=patient, injection=future, timepoint="peak", date=TODAY, score=3
    )
    GlobalImpression.objects.create(
        patient=patient, injection=first, timepoint="pre_next", date=FAR_FUTURE, score=4
    )
    return patient


def test_read_diary_reads_only_from_1990_to_the_patients_today(stray, django_assert_num_queries):
    with django_assert_num_queries(4):  # injections with their sites, answers, logs, reactions
        diary = read_diary(stray, logs=True)
    assert [log.date for log in diary.logs] == [
        EARLIEST_DIARY_DATE,
        days_ago(41),
        days_ago(1),
        TODAY,
    ]
    # Without every field of the logs (the pages): the same scores, and no logs to misread.
    with django_assert_num_queries(4):
        scores_only = read_diary(stray)
    assert scores_only.scores == diary.scores
    assert [day for day, _, _ in diary.scores] == [log.date for log in diary.logs]
    assert scores_only.logs is None
    assert [shot.date for shot in diary.injections] == [EARLIEST_DIARY_DATE, days_ago(40)]
    assert [reaction.onset for reaction in diary.reactions] == [days_ago(30)]
    assert [answer.date for answer in diary.answers] == [days_ago(10)]


def test_read_diary_keeps_to_the_patients_own_today(stray):
    # Kiritimati is 14 hours ahead: at noon in London it is already tomorrow there.
    stray.time_zone = "Pacific/Kiritimati"
    stray.save(update_fields=["time_zone"])
    assert read_diary(stray).scores[-1][0] == TOMORROW


def test_read_diary_narrows_to_the_days_asked_and_never_beyond_the_bounds(stray):
    diary = read_diary(stray, since=days_ago(41), until=days_ago(1))
    assert [day for day, _, _ in diary.scores] == [days_ago(41), days_ago(1)]
    wide = read_diary(stray, since=dt.date(1900, 1, 1), until=FAR_FUTURE)
    assert wide == read_diary(stray)


def csv_dates(response) -> list[str]:
    text = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
    return [row["date"] for row in csv.DictReader(io.StringIO(text))]


def test_the_csv_runs_from_the_first_record_to_today_and_no_further(stray, logged_in):
    client = logged_in(stray.user, password_just_typed=True)
    dates = csv_dates(client.get(reverse("export_csv")))
    assert dates[0] == EARLIEST_DIARY_DATE.isoformat()
    assert dates[-1] == TODAY.isoformat()
    assert len(dates) == (TODAY - EARLIEST_DIARY_DATE).days + 1


def test_the_report_and_summary_leave_out_rows_after_today(stray, clinician, logged_in):
    browser = logged_in(clinician)
    for name in ["clinic_report", "clinic_summary"]:
        response = browser.get(reverse(name, args=[stray.pk]))
        assert response.status_code == 200
        page = response.content.decode()
        assert "9999" not in page, name
        assert f"on {TOMORROW}" not in page, name


def test_the_csv_of_a_diary_with_only_stray_rows_is_its_header(patient, logged_in):
    factories.DailyLogFactory(patient=patient, date=FAR_FUTURE)
    client = logged_in(patient.user, password_just_typed=True)
    assert csv_dates(client.get(reverse("export_csv"))) == []


def test_the_pdf_leaves_out_the_tables_of_numbers_that_print_hides(
    stray, clinician, logged_in, monkeypatch
):
    # Over half the page's elements: WeasyPrint styles each one, shown or not (bench/README.md).
    made = []
    monkeypatch.setattr(pdf, "one_page_pdf", lambda html, base_url: made.append(html) or b"%PDF")
    browser = logged_in(clinician)
    response = browser.get(reverse("clinic_summary_pdf", args=[stray.pk]))
    assert response.status_code == 200
    assert 'class="chart-svg' in made[0]
    assert "Show the numbers as a table" not in made[0]
    page = browser.get(reverse("clinic_summary", args=[stray.pk])).content.decode()
    assert "Show the numbers as a table" in page  # on screen, they stay
