import datetime as dt
import uuid

import pytest

from tests import factories
from tests.conftest import TODAY
from tracker.models import DailyLog, Injection, Reaction

SYNC = "/api/v1/sync/"

pytestmark = pytest.mark.usefixtures("frozen_now")


def day(n: int) -> str:
    return (TODAY - dt.timedelta(days=n)).isoformat()


def log_item(n: int, severity: int = 4, base_version: int | None = 0) -> dict:
    return {
        "type": "log",
        "key": day(n),
        "base_version": base_version,
        "data": {"severity": severity},
    }


def injection_item(key: uuid.UUID, units: str = "200") -> dict:
    data = {
        "date": day(10),
        "product": "botox",
        "sites": [{"muscle": "trapezius", "side": "left", "units": units}],
    }
    return {"type": "injection", "key": str(key), "base_version": 0, "data": data}


def reaction_item(key: uuid.UUID, injection: uuid.UUID | None = None) -> dict:
    data = {
        "kind": "headache",
        "severity": "mild",
        "onset_date": day(9),
        "injection": str(injection) if injection else None,
    }
    return {"type": "reaction", "key": str(key), "base_version": 0, "data": data}


def test_a_batch_of_new_items_is_saved_with_an_answer_for_each(patient_client, patient):
    shot, reaction = uuid.uuid4(), uuid.uuid4()
    items = [log_item(1), log_item(2, 6), injection_item(shot), reaction_item(reaction, shot)]
    response = patient_client.post(SYNC, {"items": items}, format="json")
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == [201, 201, 201, 201]
    assert patient.logs.count() == 2
    assert Injection.objects.get(pk=shot).total_units == 200
    assert Reaction.objects.get(pk=reaction).injection_id == shot


def test_sending_the_same_batch_twice_changes_nothing(patient_client, patient):
    shot = uuid.uuid4()
    items = [log_item(1), injection_item(shot), reaction_item(uuid.uuid4(), shot)]
    patient_client.post(SYNC, {"items": items}, format="json")
    versions = sorted(
        [log.version for log in DailyLog.objects.all()]
        + [i.version for i in Injection.objects.all()]
        + [r.version for r in Reaction.objects.all()]
    )
    response = patient_client.post(SYNC, {"items": items}, format="json")
    assert [r["status"] for r in response.json()["results"]] == [200, 200, 200]
    assert (DailyLog.objects.count(), Injection.objects.count(), Reaction.objects.count()) == (
        1,
        1,
        1,
    )
    assert versions == [1, 1, 1]
    assert [log.version for log in DailyLog.objects.all()] == [1]


def test_an_edit_from_an_older_version_is_refused_with_the_servers_copy(patient_client, patient):
    log = factories.DailyLogFactory(patient=patient, date=TODAY, severity=3)
    log.severity = 5
    log.save()  # now version 2, edited on another phone
    item = {"type": "log", "key": TODAY.isoformat(), "base_version": 1, "data": {"severity": 8}}
    (result,) = patient_client.post(SYNC, {"items": [item]}, format="json").json()["results"]
    assert result["status"] == 409
    assert result["current"]["severity"] == 5
    assert result["current"]["version"] == 2
    log.refresh_from_db()
    assert log.severity == 5


def test_a_new_day_already_logged_on_another_phone_is_a_conflict(patient_client, patient):
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=3)
    item = {"type": "log", "key": TODAY.isoformat(), "base_version": 0, "data": {"severity": 8}}
    (result,) = patient_client.post(SYNC, {"items": [item]}, format="json").json()["results"]
    assert result["status"] == 409
    assert patient.logs.get().severity == 3


def test_an_edit_from_the_current_version_is_saved(patient_client, patient):
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=3)
    item = {"type": "log", "key": TODAY.isoformat(), "base_version": 1, "data": {"severity": 8}}
    (result,) = patient_client.post(SYNC, {"items": [item]}, format="json").json()["results"]
    assert (result["status"], result["record"]["severity"], result["record"]["version"]) == (
        200,
        8,
        2,
    )


def test_a_bad_item_is_answered_400_and_the_others_are_saved(patient_client, patient):
    items = [
        log_item(1),
        log_item(2, severity=11),
        {**log_item(3), "key": "2026-02-30"},
        log_item(4),
    ]
    results = patient_client.post(SYNC, {"items": items}, format="json").json()["results"]
    assert [r["status"] for r in results] == [201, 400, 400, 201]
    assert "severity" in results[1]["errors"]
    assert "key" in results[2]["errors"]
    assert patient.logs.count() == 2


def test_a_future_day_or_a_malformed_id_is_a_400_item(patient_client):
    future = {**log_item(0), "key": (TODAY + dt.timedelta(days=1)).isoformat()}
    bad_id = {**injection_item(uuid.uuid4()), "key": "not-a-uuid"}
    results = patient_client.post(SYNC, {"items": [future, bad_id]}, format="json").json()
    assert [r["status"] for r in results["results"]] == [400, 400]


def test_another_patients_record_cannot_be_reached_through_sync(patient_client, other_patient):
    theirs = factories.InjectionFactory(patient=other_patient)
    item = injection_item(theirs.pk, units="1")
    (result,) = patient_client.post(SYNC, {"items": [item]}, format="json").json()["results"]
    assert result["status"] == 400
    assert result["errors"] == {"id": ["This id is already in use."]}
    assert Injection.objects.get(pk=theirs.pk).total_units == 200


def test_delete_is_idempotent(patient_client, patient):
    shot = factories.InjectionFactory(patient=patient)
    item = {"type": "injection", "op": "delete", "key": str(shot.pk)}
    for _ in range(2):
        (result,) = patient_client.post(SYNC, {"items": [item]}, format="json").json()["results"]
        assert result["status"] == 200
    assert not Injection.objects.exists()


@pytest.mark.parametrize("body", [{}, {"items": []}, {"items": "x"}, [1, 2]])
def test_a_malformed_batch_is_a_400(patient_client, body):
    assert patient_client.post(SYNC, body, format="json").status_code == 400


def test_a_malformed_item_is_a_400_of_its_own(patient_client):
    # Whole-batch 400s stuck the outbox behind one bad entry: now the item alone is refused
    # (more cases in tests/test_bad_input.py).
    body = {"items": [{"type": "pill", "key": "1"}]}
    response = patient_client.post(SYNC, body, format="json")
    assert response.status_code == 200
    assert response.json()["results"][0]["status"] == 400


def test_more_than_500_items_is_a_400(patient_client, patient):
    items = [log_item(n % 400) for n in range(501)]
    assert patient_client.post(SYNC, {"items": items}, format="json").status_code == 400
    assert not patient.logs.exists()


def test_sync_answers_404_to_a_clinician_and_403_to_anonymous(clinician_client, anon_client):
    body = {"items": [log_item(1)]}
    assert clinician_client.post(SYNC, body, format="json").status_code == 404
    assert anon_client.post(SYNC, body, format="json").status_code in {401, 403}
    assert not DailyLog.objects.exists()
