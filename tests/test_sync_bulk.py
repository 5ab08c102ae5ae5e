"""The sync engine writes check-ins many at once (tracker.sync.CheckIns): a few queries for a
batch of hundreds, and the very answers the one-by-one path gives (issue 14)."""

import datetime as dt
import re
import uuid
from collections import Counter

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories
from tests.conftest import TODAY, client_for
from tracker import sync
from tracker.models import DailyLog, Patient, Tombstone

SYNC = "/api/v1/sync/"

pytestmark = pytest.mark.usefixtures("frozen_now")


def day(n: int) -> str:
    return (TODAY - dt.timedelta(days=n)).isoformat()


def log_item(n: int | str, data: dict, base_version: int | None = 0, op: str = "put") -> dict:
    key = day(n) if isinstance(n, int) else n
    return {"type": "log", "op": op, "key": key, "base_version": base_version, "data": data}


def shape(sql: str) -> str:
    verb = sql.split()[0].upper()
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql, re.IGNORECASE)
    return f"{verb} {table.group(1) if table else ''}".strip()


def test_500_new_check_ins_cost_at_most_30_queries(patient):
    client = client_for(patient.user)
    client.post(SYNC, {"items": [log_item(600, {"severity": 1})]}, format="json")  # warm
    items = [log_item(n, {"severity": n % 11, "pain": n % 7}) for n in range(500)]

    with CaptureQueriesContext(connection) as queries:
        response = client.post(SYNC, {"items": items}, format="json")

    assert response.status_code == 200
    assert {r["status"] for r in response.json()["results"]} == {201}
    assert patient.logs.count() == 501
    shapes = Counter(shape(query["sql"]) for query in queries.captured_queries)
    # SQLite takes 999 values a statement: 111 check-ins, or 66 history entries, to an INSERT.
    inserts = 1 if connection.vendor == "postgresql" else 5
    entries = 1 if connection.vendor == "postgresql" else 8
    assert shapes == {
        "SELECT django_session": 1,
        "SELECT tracker_user": 1,  # with their patient record (tracker.backends)
        "UPDATE tracker_patient": 1,  # the diary revision, once: the patient's row locked
        "SELECT tracker_dailylog": 1,  # the days the batch names, read and locked at once
        "SELECT tracker_tombstone": 1,  # the deleted ones among them
        "INSERT tracker_dailylog": inserts,
        "INSERT auditlog_logentry": entries,  # the change history: one entry a check-in
        # The outer transaction's and the bulk write's (the test's own around them).
        **{key: count for key, count in shapes.items() if key in {"SAVEPOINT", "RELEASE"}},
    }
    assert len(queries) <= 30
    assert LogEntry.objects.filter(action=LogEntry.Action.CREATE).count() == 501


def two_same_diaries() -> tuple[Patient, Patient]:
    """Two patients with the same check-ins, one of them deleted, to sync the same batch to."""
    patients = []
    for name in ("bulk", "one-by-one"):
        patient = factories.PatientFactory(user__username=name)
        for n in range(1, 6):
            factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=n))
        patient.logs.get(date=day(5)).delete()  # a tombstone at version 1
        stale = patient.logs.get(date=day(4))
        stale.severity = 8
        stale.save()  # version 2
        patients.append(patient)
    return patients[0], patients[1]


MIXED = [
    log_item(10, {"severity": 3}),  # new
    log_item(11, {"severity": 4, "note": "Stiff"}, base_version=None),  # new, overwriting
    log_item(1, {"severity": 9}),  # already logged elsewhere: a conflict
    log_item(2, {"severity": 6}, base_version=1),  # a change from the stored version
    log_item(3, {"severity": 5}, base_version=0),  # the stored values sent again: a replay
    log_item(4, {"severity": 1}, base_version=1),  # made from an older version: a conflict
    log_item(4, {"severity": 2}, base_version=2),  # ...and from the current one, in the batch
    log_item(5, {"severity": 2}, base_version=0),  # an old create of a deleted day: gone
    log_item(5, {"severity": 3}, base_version=1),  # the deleted day logged again
    log_item(12, {"severity": 4}),  # created, then deleted, in the same batch
    log_item(12, {}, op="delete"),
    log_item(13, {}, op="delete"),  # the deletion of what is not there
    log_item(14, {"severity": 11}),  # out of range
    log_item("2026-02-30", {"severity": 3}),  # not a day
    log_item(-3, {"severity": 3}),  # in the future
    log_item(15, {"severity": 2, "pain": 3, "spasm_frequency": 1}, base_version=7),  # stale new
    log_item(16, {"severity": 2, "pain": 3, "spasm_frequency": 1}),
    {"type": "log", "key": day(17)},  # no data: a 400 of the day's fields
    {"type": "injection", "key": str(uuid.uuid4()), "data": {"date": day(9), "product": "botox"}},
    {"type": "reaction", "key": str(uuid.uuid4()), "base_version": 0, "data": {"kind": "x"}},
]


def outcome(patient: Patient, response) -> tuple:
    logs = list(patient.logs.order_by("date").values_list("date", "severity", "note", "version"))
    stones = list(patient.tombstones.order_by("key").values_list("kind", "key", "version"))
    history = sorted(
        (entry.action, entry.object_repr, str(entry.changes_dict))
        for entry in LogEntry.objects.filter(
            content_type__model="dailylog", object_pk__in=[str(pk) for pk in patient.logs.all()]
        )
    )
    return response.json()["results"], logs, stones, history


def test_a_mixed_batch_gets_the_answers_of_the_one_by_one_path(db, monkeypatch):
    bulk, one_by_one = two_same_diaries()
    revision = Patient.objects.get(pk=bulk.pk).diary_revision

    in_bulk = client_for(bulk.user).post(SYNC, {"items": MIXED}, format="json")
    with monkeypatch.context() as patch:
        patch.setattr(sync.CheckIns, "takes", lambda self, item, days: False)
        by_one = client_for(one_by_one.user).post(SYNC, {"items": MIXED}, format="json")

    assert in_bulk.status_code == by_one.status_code == 200
    results, logs, stones, history = outcome(bulk, in_bulk)
    expected_results, expected_logs, expected_stones, expected_history = outcome(one_by_one, by_one)
    statuses = [result["status"] for result in results]
    assert statuses == [
        *(201, 201, 409, 200, 200, 409, 200, 410, 201, 201, 200, 200),
        *(400, 400, 400, 409, 201, 400, 400, 400),
    ]
    for result, expected in zip(results, expected_results, strict=True):
        if result["type"] == "log":
            assert result == expected
    assert logs == expected_logs
    assert stones == expected_stones
    assert Counter(history) == Counter(expected_history)
    assert Patient.objects.get(pk=bulk.pk).diary_revision == revision + 1  # once a batch


def test_the_same_batch_sent_again_changes_nothing_and_writes_no_history(patient):
    client = client_for(patient.user)
    items = [log_item(n, {"severity": 4}) for n in range(1, 40)]
    client.post(SYNC, {"items": items}, format="json")
    entries = LogEntry.objects.count()

    response = client.post(SYNC, {"items": items}, format="json")

    assert {r["status"] for r in response.json()["results"]} == {200}
    assert set(DailyLog.objects.values_list("version", flat=True)) == {1}
    assert LogEntry.objects.count() == entries


def test_every_new_check_in_of_a_batch_has_its_entry_naming_who_and_from_where(patient):
    client = client_for(patient.user)
    items = [log_item(n, {"severity": n}) for n in range(1, 4)]

    client.post(SYNC, {"items": items}, format="json", REMOTE_ADDR="203.0.113.9")

    entries = LogEntry.objects.filter(action=LogEntry.Action.CREATE, content_type__model="dailylog")
    assert entries.count() == 3
    assert {(entry.actor, entry.remote_addr) for entry in entries} == {
        (patient.user, "203.0.113.9")
    }
    assert sorted(entry.changes_dict["severity"][1] for entry in entries) == ["1", "2", "3"]


def test_a_changed_check_in_keeps_its_history_entry_with_who_changed_it(patient):
    factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=2), severity=3)
    client = client_for(patient.user)

    response = client.post(
        SYNC, {"items": [log_item(2, {"severity": 7}, base_version=1)]}, format="json"
    )

    record = response.json()["results"][0]["record"]
    assert (record["severity"], record["version"]) == (7, 2)
    log = DailyLog.objects.get(patient=patient)
    entry = LogEntry.objects.get_for_object(log).get(action=LogEntry.Action.UPDATE)
    assert entry.changes_dict == {"severity": ["3", "7"]}
    assert entry.actor == patient.user
    assert log.updated_at == record_time(record)
    assert not Tombstone.objects.exists()


def record_time(record: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(record["updated_at"].replace("Z", "+00:00"))


def test_new_injections_and_reactions_cost_their_own_rows_and_no_lookups_one_by_one(patient):
    client = client_for(patient.user)
    sites = [
        {"muscle": "sternocleidomastoid", "side": "left", "units": "60"},
        {"muscle": "splenius_capitis", "side": "right", "units": "40"},
    ]
    injections = [
        {"type": "injection", "key": str(uuid.uuid4()), "base_version": 0,
         "data": {"date": day(10 + 20 * n), "product": "botox", "sites": sites}}
        for n in range(6)
    ]  # fmt: skip
    reactions = [
        {"type": "reaction", "key": str(uuid.uuid4()), "base_version": 0,
         "data": {"kind": "headache", "severity": "mild", "onset_date": day(n)}}
        for n in range(6)
    ]  # fmt: skip
    warm = [injections.pop(), reactions.pop()]  # and the change history's content types known
    client.post(SYNC, {"items": warm}, format="json")

    with CaptureQueriesContext(connection) as queries:
        response = client.post(SYNC, {"items": injections + reactions}, format="json")

    answers = response.json()["results"]
    assert [answer["status"] for answer in answers] == [201] * 10
    assert [len(answer["record"]["sites"]) for answer in answers[:5]] == [2] * 5
    shapes = Counter(shape(query["sql"]) for query in queries.captured_queries)
    assert {key: count for key, count in shapes.items() if key.split()[0] not in TX} == {
        "SELECT django_session": 1,
        "SELECT tracker_user": 1,
        "UPDATE tracker_patient": 1,  # the diary revision, once
        # The records the batch names, locked, then whether another patient's holds an id.
        "SELECT tracker_injection": 2,
        "SELECT tracker_reaction": 2,
        "SELECT tracker_tombstone": 1,
        "INSERT tracker_injection": 5,
        "INSERT tracker_injectionsite": 5,  # each injection's sites at once, not read again
        "INSERT tracker_reaction": 5,
        "INSERT auditlog_logentry": 1,  # their history entries at once, at the batch's end
    }


TX = {"SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"}


def test_a_batchs_new_records_have_the_entries_auditlog_writes_made_as_they_were_created(patient):
    """Written together at the batch's end (tracker/audit_bulk.py, save_audited), each new
    injection's and reaction's entry is the one auditlog writes for a record posted alone, and
    holds what was created, even when a later item of the batch changed it."""
    client = client_for(patient.user)
    reaction = {"kind": "headache", "severity": "mild", "onset_date": day(3)}
    injection = {"date": day(20), "product": "botox", "total_units": "100"}
    key, shot = str(uuid.uuid4()), str(uuid.uuid4())
    items = [
        {"type": "reaction", "op": "put", "key": key, "base_version": 0, "data": reaction},
        {"type": "injection", "op": "put", "key": shot, "base_version": 0, "data": injection},
        {"type": "reaction", "op": "put", "key": key, "base_version": 1,
         "data": reaction | {"severity": "moderate"}},
    ]  # fmt: skip

    answers = client.post(SYNC, {"items": items}, format="json", REMOTE_ADDR="203.0.113.9")
    alone = {
        "reaction": client.post("/api/v1/reactions/", reaction, format="json").json()["id"],
        "injection": client.post("/api/v1/injections/", injection, format="json").json()["id"],
    }

    assert [answer["status"] for answer in answers.json()["results"]] == [201, 201, 200]

    def created(model: str, pk: str) -> LogEntry:
        return LogEntry.objects.get(
            action=LogEntry.Action.CREATE, content_type__model=model, object_pk=pk
        )

    for model, pk in (("reaction", key), ("injection", shot)):
        entry, expected = created(model, pk), created(model, alone[model])
        assert (entry.actor, entry.remote_addr) == (patient.user, "203.0.113.9")
        assert entry.object_repr == expected.object_repr
        changes = {name: change for name, change in entry.changes_dict.items() if name != "id"}
        assert changes == {
            name: change for name, change in expected.changes_dict.items() if name != "id"
        }
    assert created("reaction", key).changes_dict["severity"] == ["None", "mild"]
    changed = LogEntry.objects.get(action=LogEntry.Action.UPDATE, object_pk=key)
    assert changed.changes_dict["severity"] == ["mild", "moderate"]
