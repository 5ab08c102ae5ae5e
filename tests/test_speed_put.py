"""A check-in PUT's queries, each listed: no counter in the database, one lock, one write, one
change-history entry (issue 14). Sessions are read through the cache as with Redis
(project/settings.py, SESSION_ENGINE); transactional tests, so that the statements are the ones
production runs (no test savepoints around them)."""

import re

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import TODAY, client_for
from tracker.models import DailyLog, Patient, Tombstone

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def sessions_through_the_cache(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"


def shape(sql: str) -> str:
    """ "SELECT tracker_user", "UPDATE tracker_patient", "INSERT auditlog_logentry"..."""
    verb = sql.split()[0].upper()
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql, re.IGNORECASE)
    return f"{verb} {table.group(1) if table else ''}".strip()


# Transaction control, logged beside the queries (SQLite's BEGIN IMMEDIATE, every backend's
# COMMIT): not queries of this request's own.
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"}


def put(client, day: str, body: dict):
    with CaptureQueriesContext(connection) as queries:
        response = client.put(f"/api/v1/logs/{day}/", body, format="json")
    shapes = [shape(query["sql"]) for query in queries.captured_queries]
    return response, [query for query in shapes if query not in TRANSACTION_CONTROL]


@pytest.fixture
def phone(patient, frozen_now):
    client = client_for(patient.user)
    client.put(f"/api/v1/logs/{TODAY.replace(day=1)}/", {"severity": 2}, format="json")  # warm
    return client


def test_a_new_check_in_costs_five_queries(phone, patient):
    response, queries = put(phone, "2026-06-10", {"severity": 4})

    assert response.status_code == 201
    assert queries == [
        # The session's user with their patient record (tracker.backends; the session itself
        # comes from the cache).
        "SELECT tracker_user",
        # The diary revision's rise, which asks in the same statement whether the day's
        # check-in was deleted (a tombstone) and locks the patient's row until commit.
        "UPDATE tracker_patient",
        "SELECT tracker_dailylog",  # the day's log, locked (FOR UPDATE on PostgreSQL)
        "INSERT tracker_dailylog",
        "INSERT auditlog_logentry",  # the change history
    ]


def test_replacing_a_check_in_costs_five_queries_and_keeps_its_history(phone, patient):
    put(phone, "2026-06-10", {"severity": 4})

    response, queries = put(phone, "2026-06-10", {"severity": 6, "base_version": 1})

    assert response.status_code == 200 and response.json()["version"] == 2
    assert queries == [
        "SELECT tracker_user",
        "UPDATE tracker_patient",
        "SELECT tracker_dailylog",  # locked, and the copy the history compares with
        "UPDATE tracker_dailylog",
        "INSERT auditlog_logentry",
    ]
    log = DailyLog.objects.get(date="2026-06-10")
    entry = LogEntry.objects.get_for_object(log).get(action=LogEntry.Action.UPDATE)
    assert entry.changes_dict == {"severity": ["4", "6"]}
    assert entry.actor == patient.user


def test_a_stale_replace_is_refused_and_changes_nothing(phone, patient):
    put(phone, "2026-06-10", {"severity": 4})
    put(phone, "2026-06-10", {"severity": 5, "base_version": 1})

    response, _ = put(phone, "2026-06-10", {"severity": 9, "base_version": 1})

    assert response.status_code == 409
    assert DailyLog.objects.get(date="2026-06-10").severity == 5


def test_each_put_raises_the_diary_revision_once(phone, patient):
    before = Patient.objects.get(pk=patient.pk).diary_revision

    put(phone, "2026-06-10", {"severity": 4})
    put(phone, "2026-06-10", {"severity": 5})

    assert Patient.objects.get(pk=patient.pk).diary_revision == before + 2


def test_a_deleted_day_logged_again_goes_on_from_its_version(phone, patient):
    put(phone, "2026-06-10", {"severity": 4})
    phone.delete("/api/v1/logs/2026-06-10/")
    assert Tombstone.objects.filter(patient=patient, key="2026-06-10").exists()
    revision = Patient.objects.get(pk=patient.pk).diary_revision

    old_create, _ = put(phone, "2026-06-10", {"severity": 7, "base_version": 0})
    again, _ = put(phone, "2026-06-10", {"severity": 7, "base_version": 1})

    assert old_create.status_code == 410
    assert again.status_code == 201 and again.json()["version"] == 2
    assert not Tombstone.objects.filter(patient=patient, key="2026-06-10").exists()
    assert Patient.objects.get(pk=patient.pk).diary_revision == revision + 1
