"""A deleted record stays deleted on every write path: an old create sent again (an offline
phone's outbox, a retried request, a form kept on the phone) is answered 410 Gone and saves
nothing; deleting what is deleted is done; a tombstone tells nothing about another patient."""

import datetime as dt
import uuid

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from tests import factories
from tests.conftest import NOW, TODAY
from tracker.models import DailyLog, Injection, Reaction, Tombstone

pytestmark = pytest.mark.usefixtures("frozen_now")

SYNC = "/api/v1/sync/"
YESTERDAY = TODAY - dt.timedelta(days=1)


def injection_body(pk) -> dict:
    return {
        "id": str(pk),
        "date": str(TODAY - dt.timedelta(days=2)),
        "product": "botox",
        "sites": [{"muscle": "trapezius", "side": "left", "units": "100"}],
    }


def reaction_body(pk) -> dict:
    return {"id": str(pk), "kind": "headache", "severity": "mild", "onset_date": str(TODAY)}


BODIES = {"injections": injection_body, "reactions": reaction_body}
MODELS = {"injections": Injection, "reactions": Reaction}


def put(kind: str, key, data: dict) -> dict:
    """A sync item made as new (base_version 0)."""
    return {"type": kind, "key": str(key), "base_version": 0, "data": data}


def created_then_deleted(client, kind: str) -> uuid.UUID:
    pk = uuid.uuid4()
    assert client.post(f"/api/v1/{kind}/", BODIES[kind](pk), format="json").status_code == 201
    assert client.delete(f"/api/v1/{kind}/{pk}/").status_code == 204
    return pk


@pytest.mark.parametrize("kind", ["injections", "reactions"])
def test_an_old_create_sent_again_after_a_delete_is_gone(patient_client, kind):
    pk = created_then_deleted(patient_client, kind)
    response = patient_client.post(f"/api/v1/{kind}/", BODIES[kind](pk), format="json")
    assert response.status_code == 410
    assert "deleted" in response.json()["detail"]
    assert not MODELS[kind].objects.exists()


@pytest.mark.parametrize("kind", ["injections", "reactions"])
def test_a_put_to_a_deleted_record_is_gone(patient_client, kind):
    pk = created_then_deleted(patient_client, kind)
    body = BODIES[kind](pk) | {"base_version": 1}
    assert patient_client.put(f"/api/v1/{kind}/{pk}/", body, format="json").status_code == 410
    assert not MODELS[kind].objects.exists()


@pytest.mark.parametrize("kind", ["injections", "reactions"])
def test_deleting_a_deleted_record_is_done(patient_client, kind):
    pk = created_then_deleted(patient_client, kind)
    assert patient_client.delete(f"/api/v1/{kind}/{pk}/").status_code == 204


def test_a_check_in_put_with_base_version_0_after_a_delete_is_gone(patient_client, patient):
    url = f"/api/v1/logs/{YESTERDAY}/"
    assert patient_client.put(url, {"severity": 6}, format="json").status_code == 201
    assert patient_client.delete(url).status_code == 204
    response = patient_client.put(url, {"severity": 6, "base_version": 0}, format="json")
    assert response.status_code == 410
    assert not DailyLog.objects.exists()
    assert patient_client.delete(url).status_code == 204  # deleting it again is done


def test_a_day_is_logged_again_from_the_deleted_version_and_versions_go_on(patient_client):
    url = f"/api/v1/logs/{YESTERDAY}/"
    patient_client.put(url, {"severity": 6}, format="json")
    patient_client.put(url, {"severity": 5, "base_version": 1}, format="json")
    patient_client.delete(url)
    again = patient_client.put(url, {"severity": 3, "base_version": 2}, format="json")
    assert again.status_code == 201
    assert again.json()["version"] == 3
    assert not Tombstone.objects.exists()
    # An edit made from before the deletion is now a conflict, not an overwrite.
    stale = patient_client.put(url, {"severity": 9, "base_version": 1}, format="json")
    assert stale.status_code == 409
    assert DailyLog.objects.get().severity == 3


def test_sync_answers_410_for_each_kind_and_saves_nothing(patient_client):
    injection = created_then_deleted(patient_client, "injections")
    reaction = created_then_deleted(patient_client, "reactions")
    patient_client.put(f"/api/v1/logs/{YESTERDAY}/", {"severity": 6}, format="json")
    patient_client.delete(f"/api/v1/logs/{YESTERDAY}/")
    items = [
        put("injection", injection, injection_body(injection)),
        put("reaction", reaction, reaction_body(reaction)),
        put("log", YESTERDAY, {"severity": 2}),
        {"type": "injection", "key": str(injection), "op": "delete"},
    ]
    results = patient_client.post(SYNC, {"items": items}, format="json").json()["results"]
    assert [r["status"] for r in results] == [410, 410, 410, 200]
    assert not (
        Injection.objects.exists() or Reaction.objects.exists() or DailyLog.objects.exists()
    )


def test_a_record_deleted_earlier_in_the_same_batch_is_not_put_back(patient_client, patient):
    shot = factories.InjectionFactory(patient=patient)
    items = [
        {"type": "injection", "key": str(shot.pk), "op": "delete"},
        put("injection", shot.pk, injection_body(shot.pk)),
    ]
    results = patient_client.post(SYNC, {"items": items}, format="json").json()["results"]
    assert [r["status"] for r in results] == [200, 410]
    assert not Injection.objects.exists()


def test_a_form_kept_on_the_phone_does_not_bring_an_injection_back(logged_in, patient):
    shot = factories.InjectionFactory(patient=patient)
    key = shot.pk
    shot.delete()
    data = {"date": str(TODAY), "product": "botox", "total_units": "100", "_outbox_key": key}
    data |= {"sites-TOTAL_FORMS": "0", "sites-INITIAL_FORMS": "0"}
    response = logged_in(patient.user).post(reverse("injection_new"), data)
    assert response.status_code == 302
    assert not Injection.objects.exists()


def test_a_reaction_form_sent_again_after_its_reactions_were_deleted_saves_none(logged_in, patient):
    client, key = logged_in(patient.user), uuid.uuid4()
    data = {"kinds": ["headache"], "severity": "mild", "onset_date": str(TODAY)}
    data |= {"_outbox_key": str(key), "injection": ""}
    client.post(reverse("reaction_new"), data)
    Reaction.objects.get().delete()
    client.post(reverse("reaction_new"), data)
    assert not Reaction.objects.exists()


def test_a_tombstone_tells_nothing_about_another_patients_ids(patient_client, other_client):
    pk = created_then_deleted(patient_client, "injections")
    theirs = other_client.post("/api/v1/injections/", injection_body(pk), format="json")
    fresh = other_client.post("/api/v1/injections/", injection_body(uuid.uuid4()), format="json")
    assert theirs.status_code == fresh.status_code == 201
    assert other_client.delete(f"/api/v1/injections/{uuid.uuid4()}/").status_code == 404


def test_tombstones_are_purged_after_the_kept_time(patient, settings):
    settings.TOMBSTONE_DAYS = 365
    factories.InjectionFactory(patient=patient).delete()
    with time_machine.travel(NOW + dt.timedelta(days=364)):
        call_command("purge_tombstones")
    assert Tombstone.objects.count() == 1
    with time_machine.travel(NOW + dt.timedelta(days=366)):
        call_command("purge_tombstones")
    assert not Tombstone.objects.exists()
