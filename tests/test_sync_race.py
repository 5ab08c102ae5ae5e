"""A batch sent again after a lost answer can reach the server while the first copy is still
being saved (the load benchmark, tracker/loadbench.py, does this 167 times a run). On
PostgreSQL the second copy then waits on the unique index and, once the first commits, must
be answered as a replay, not as a conflict with the phone's own entry."""

import datetime as dt
import threading
import uuid

import pytest
from django.db import connection, transaction

from tracker.models import DailyLog, Injection, Reaction
from tracker.serializers import SyncSerializer
from tracker.sync import StoredRecords, sync_item_in_savepoint, sync_items

pytestmark = pytest.mark.django_db(transaction=True)


def items_of(kind: str, day: dt.date) -> list[dict]:
    """One new entry of this kind, as sync_items receives it from SyncView."""
    key = day.isoformat() if kind == "log" else str(uuid.uuid4())
    data = {
        "log": {"severity": 4},
        "injection": {"date": day.isoformat(), "product": "botox", "total_units": "100"},
        "reaction": {"kind": "headache", "severity": "mild", "onset_date": day.isoformat()},
    }[kind]
    batch = SyncSerializer(
        data={"items": [{"type": kind, "key": key, "base_version": 0, "data": data}]}
    )
    assert batch.is_valid(), batch.errors
    return batch.validated_data["items"]


@pytest.mark.parametrize(
    ("kind", "model"), [("log", DailyLog), ("injection", Injection), ("reaction", Reaction)]
)
def test_a_batch_sent_again_while_the_first_copy_is_saving_is_answered_as_a_replay(
    patient, kind, model
):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: the second copy sees the first saved")
    items = items_of(kind, patient.today() - dt.timedelta(days=1))
    saved, commit = threading.Event(), threading.Event()
    answers: dict[str, list[dict]] = {}

    def first_copy() -> None:
        try:
            with transaction.atomic():
                answers["first"] = sync_items(patient, patient.user, items)
                saved.set()
                commit.wait(10)
        finally:
            connection.close()

    def second_copy() -> None:
        try:
            answers["second"] = sync_items(patient, patient.user, items)
        finally:
            connection.close()

    first = threading.Thread(target=first_copy)
    first.start()
    assert saved.wait(10)
    second = threading.Thread(target=second_copy)
    second.start()
    second.join(1)
    assert second.is_alive(), "the second copy should wait for the first one's transaction"
    commit.set()
    first.join(10)
    second.join(10)

    assert [a["status"] for a in answers["first"]] == [201]
    assert [a["status"] for a in answers["second"]] == [200]
    assert answers["second"][0]["record"]["version"] == 1
    assert model.objects.count() == 1


@pytest.mark.parametrize("kind", ["log", "injection", "reaction"])
def test_an_entry_saved_by_another_request_after_the_batch_looked_is_answered_as_a_replay(
    patient, kind
):
    # The batch reads what the server holds once, up front; the first copy commits after.
    items = items_of(kind, patient.today() - dt.timedelta(days=1))
    with transaction.atomic():
        looked = StoredRecords(patient, items)
    assert [a["status"] for a in sync_items(patient, patient.user, items)] == [201]

    with transaction.atomic():
        answer = sync_item_in_savepoint(patient, patient.user, items[0], looked)

    assert answer["status"] == 200
    assert answer["record"]["version"] == 1


def test_an_id_taken_by_another_patients_entry_is_still_refused(patient, other_patient):
    items = items_of("reaction", patient.today() - dt.timedelta(days=1))
    sync_items(other_patient, other_patient.user, items)

    answers = sync_items(patient, patient.user, items)

    assert answers[0]["status"] == 400
    assert answers[0]["errors"] == {"id": ["This id is already in use."]}


@pytest.mark.parametrize("kind", ["injection", "reaction"])
def test_an_id_another_patient_takes_after_the_batch_looked_is_refused_as_in_use(
    patient, other_patient, kind
):
    # The batch reads the ids it names once, up front (StoredRecords.ids_taken); another
    # patient's entry takes one before it writes: its insert fails, it looks again.
    items = items_of(kind, patient.today() - dt.timedelta(days=1))
    with transaction.atomic():
        looked = StoredRecords(patient, items)
    sync_items(other_patient, other_patient.user, items)

    with transaction.atomic():
        answer = sync_item_in_savepoint(patient, patient.user, items[0], looked)

    assert answer["status"] == 400
    assert answer["errors"] == {"id": ["This id is already in use."]}
