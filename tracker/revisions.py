"""The diary's revision: Patient.diary_revision rises in the same transaction as every write to a
patient's diary, so that what is computed from a diary (tracker/relief_cache.py) can be kept
under the revision it was computed from, and is never served once the diary has changed.

One place raises it: `diary_changed`. Saving or deleting any record of a diary calls it (the
receivers below: check-ins, injections and their sites, reactions, PGIC answers, conditions);
writes that go around model saves (bulk_create, QuerySet.update) call it themselves: the sync
engine (tracker/sync.py), the conditions form (tracker/forms.py). tests/test_speed_revision.py
checks every write path.
"""

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.db.models.signals import pre_delete, pre_save
from django.dispatch import receiver

from tracker.models import (
    DailyLog,
    GlobalImpression,
    Injection,
    InjectionSite,
    Patient,
    PatientCondition,
    Reaction,
    Tombstone,
)


class _Raised:
    """Left in the transaction's on-commit list: this patient's revision has risen in it.
    Called at commit, it does nothing; a rolled-back savepoint takes it away with the rise."""

    def __init__(self, patient_id: int) -> None:
        self.patient_id = patient_id

    def __call__(self) -> None:
        pass


def _raised_already(patient_id: int) -> bool:
    """Whether this transaction has raised the revision already, in a block still open: once is
    enough for a whole transaction, however many records it writes. (A rise in a savepoint
    since released counts as not known: the next write raises it again, one query more,
    never one less.)"""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return False
    open_savepoints = set(connection.savepoint_ids)
    return any(
        isinstance(call, _Raised)
        and call.patient_id == patient_id
        and savepoints <= open_savepoints
        for savepoints, call, _ in connection.run_on_commit
    )


def _remember_raised(patient_id: int) -> None:
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_Raised(patient_id))


def diary_changed(patient_id: int) -> None:
    """Raise the patient's diary revision, once per transaction. The UPDATE also locks the
    patient's row until the transaction ends (PostgreSQL), so writes to one diary queue here."""
    if _raised_already(patient_id):
        return
    Patient.objects.filter(pk=patient_id).update(diary_revision=F("diary_revision") + 1)
    _remember_raised(patient_id)


def diary_changed_unless_deleted(patient_id: int, kind: str, key: str) -> bool:
    """diary_changed, in the same query as asking whether the record `kind` `key` was deleted
    (a tombstone): True when raised, False when there is a tombstone (then nothing is raised).
    The check-in PUT's hot path: one query for both."""
    if _raised_already(patient_id):
        return not Tombstone.objects.filter(patient_id=patient_id, kind=kind, key=key).exists()
    tombstone = Tombstone.objects.filter(patient_id=OuterRef("pk"), kind=kind, key=key)
    raised = (
        Patient.objects.filter(pk=patient_id)
        .exclude(Exists(tombstone))
        .update(diary_revision=F("diary_revision") + 1)
    )
    if raised:
        _remember_raised(patient_id)
    return bool(raised)


# Before the write, so that every writer locks the patient's row first and the record's second:
# two writers of one diary then queue rather than deadlock.
@receiver(pre_save, sender=DailyLog)
@receiver(pre_save, sender=Injection)
@receiver(pre_save, sender=Reaction)
@receiver(pre_save, sender=GlobalImpression)
@receiver(pre_save, sender=PatientCondition)
@receiver(pre_delete, sender=DailyLog)
@receiver(pre_delete, sender=Injection)
@receiver(pre_delete, sender=Reaction)
@receiver(pre_delete, sender=GlobalImpression)
@receiver(pre_delete, sender=PatientCondition)
def record_written(sender, instance, update_fields=None, **kwargs) -> None:
    if update_fields is not None and set(update_fields) <= CLINIC_FIELDS:
        return  # a red flag marked handled: the clinic's fact, no change to the diary
    diary_changed(instance.patient_id)


CLINIC_FIELDS = {"handled_at", "handled_by", "handled_note"}


@receiver(pre_save, sender=InjectionSite)
@receiver(pre_delete, sender=InjectionSite)
def site_written(sender, instance: InjectionSite, **kwargs) -> None:
    injection = instance._state.fields_cache.get("injection")
    patient_id = (
        injection.patient_id
        if injection is not None
        else Injection.objects.filter(pk=instance.injection_id)
        .values_list("patient_id", flat=True)
        .first()
    )
    if patient_id is not None:
        diary_changed(patient_id)
