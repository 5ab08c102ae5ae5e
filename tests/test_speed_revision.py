"""Every write to a diary raises the patient's diary_revision in the same transaction
(tracker/revisions.py), which keys the cache of what is computed from it (issue 14)."""

import datetime as dt
import uuid

import pytest
from django.db import transaction
from django.urls import reverse

from tests import factories
from tests.conftest import TODAY, client_for, forget_diary_rises
from tracker.forms import ConditionsForm
from tracker.models import GlobalImpression, Patient, PatientCondition

pytestmark = pytest.mark.usefixtures("frozen_now")


def revision(patient: Patient) -> int:
    return Patient.objects.values_list("diary_revision", flat=True).get(pk=patient.pk)


def raises(patient: Patient, write) -> bool:
    """Whether `write()` raised the revision, as a request of its own would (each request starts
    with no rise known: tests/conftest.py, forget_diary_rises)."""
    forget_diary_rises()
    before = revision(patient)
    write()
    return revision(patient) > before


@pytest.fixture
def api(patient):
    return client_for(patient.user)


@pytest.fixture
def shot(patient):
    injection = factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=20))
    factories.InjectionSiteFactory(injection=injection, units=100)
    return injection


def day(n: int) -> str:
    return (TODAY - dt.timedelta(days=n)).isoformat()


def test_saving_or_deleting_any_record_of_a_diary_raises_it(patient, shot):
    log = factories.DailyLogFactory(patient=patient, date=TODAY)
    reaction = factories.ReactionFactory(patient=patient, injection=shot)
    site = shot.sites.get()
    answer = GlobalImpression(
        patient=patient, injection=shot, timepoint="peak", date=TODAY, score=2
    )

    for write in [
        lambda: factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=1)),
        lambda: setattr(log, "severity", 2) or log.save(),
        log.delete,
        lambda: factories.InjectionFactory(patient=patient),
        lambda: setattr(shot, "notes", "left side") or shot.save(),
        lambda: setattr(site, "units", 90) or site.save(),
        site.delete,
        lambda: factories.InjectionSiteFactory(injection=shot),
        lambda: setattr(reaction, "severity", "severe") or reaction.save(),
        reaction.delete,
        answer.save,
        answer.delete,
        lambda: PatientCondition.objects.create(patient=patient, condition="blepharospasm"),
        lambda: patient.conditions.filter(condition="blepharospasm").delete(),
        shot.delete,
    ]:
        assert raises(patient, write)


def test_a_transaction_raises_it_once_however_many_records_it_writes(patient):
    forget_diary_rises()
    before = revision(patient)

    with transaction.atomic():
        for n in range(5):
            factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=n))

    assert revision(patient) == before + 1


def test_a_rise_in_a_rolled_back_savepoint_is_raised_again(patient):
    forget_diary_rises()
    before = revision(patient)

    with transaction.atomic():
        try:
            with transaction.atomic():
                factories.DailyLogFactory(patient=patient, date=TODAY)
                raise RuntimeError
        except RuntimeError:
            pass
        assert revision(patient) == before  # rolled back with the savepoint
        factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=1))

    assert revision(patient) == before + 1


def test_marking_a_red_flag_handled_leaves_the_diary_as_it_is(patient, clinician):
    from tracker.views.clinic import mark_handled

    flag = factories.ReactionFactory(patient=patient, kind="breathing", severity="severe")

    assert not raises(patient, lambda: mark_handled(flag.pk, clinician, ""))


def test_a_save_of_an_older_copy_of_the_patient_never_lowers_it(patient):
    old_copy = Patient.objects.get(pk=patient.pk)
    factories.DailyLogFactory(patient=patient, date=TODAY)
    raised = revision(patient)

    old_copy.clinic_phone = "01234 567890"
    old_copy.save()

    assert revision(patient) == raised


def test_the_conditions_form_raises_it(patient):
    form = ConditionsForm(
        {"conditions": ["cervical_dystonia", "blepharospasm"], "time_zone": "Europe/London"},
        instance=patient,
    )
    assert form.is_valid(), form.errors

    assert raises(patient, form.save)


def test_every_write_through_the_api_raises_it(patient, api, shot):
    reaction_id = uuid.uuid4()
    injection_id = uuid.uuid4()
    new_injection = {"id": str(injection_id), "date": day(3), "product": "botox"}
    new_injection["total_units"] = "100"
    for write in [
        lambda: api.put(f"/api/v1/logs/{day(1)}/", {"severity": 3}, format="json"),
        lambda: api.put(f"/api/v1/logs/{day(1)}/", {"severity": 4}, format="json"),
        lambda: api.delete(f"/api/v1/logs/{day(1)}/"),
        lambda: api.post("/api/v1/injections/", new_injection, format="json"),
        lambda: api.patch(f"/api/v1/injections/{injection_id}/", {"notes": "x"}, format="json"),
        lambda: api.delete(f"/api/v1/injections/{injection_id}/"),
        lambda: api.post(
            "/api/v1/reactions/",
            {"id": str(reaction_id), "kind": "headache", "severity": "mild", "onset_date": day(2)},
            format="json",
        ),
        lambda: api.patch(
            f"/api/v1/reactions/{reaction_id}/", {"resolved_date": day(1)}, format="json"
        ),
        lambda: api.delete(f"/api/v1/reactions/{reaction_id}/"),
        lambda: api.post(
            "/api/v1/sync/",
            {"items": [{"type": "log", "key": day(5), "data": {"severity": 2}}]},
            format="json",
        ),
        lambda: api.post(
            "/api/v1/sync/",
            {"items": [{"type": "log", "op": "delete", "key": day(5)}]},
            format="json",
        ),
    ]:
        assert raises(patient, lambda write=write: write().status_code < 300)


def test_the_pages_writes_raise_it(patient, web, shot):
    checkin = {"_outbox_type": "log", "_outbox_key": TODAY.isoformat(), "severity": "4"}

    assert raises(patient, lambda: web.post(reverse("today"), checkin))
    assert raises(
        patient, lambda: web.post(reverse("injection_delete", args=[shot.pk]), follow=False)
    )
