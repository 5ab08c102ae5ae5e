"""The diary's revision: Patient.diary_revision rises in the same transaction as every write to a
patient's diary, so that what is computed from a diary (tracker/relief_cache.py) can be kept
under the revision it was computed from, and is never served once the diary has changed.

One place raises it: `diary_changed`. Saving or deleting any record of a diary calls it (the
receivers below: check-ins, injections and their sites, reactions, PGIC answers, conditions);
writes that go around model saves (bulk_create, QuerySet.update) call it themselves: the sync
engine (tracker/sync.py), the conditions form (tracker/forms.py). tests/test_speed_revision.py
checks every write path.

Patient.history_revision rises with it, but for one kind of write: a check-in of the last few
weeks, old date and new (RECENT_CHECK_IN_DAYS). The Relief page keeps the diary's older part
under it (tracker/diary_kept.py, read_diary_kept) and reads afresh only the recent check-ins,
so that the page made again after the day's check-in need not read five years of them. Every other
write raises both, and so does any write whose dates are not all known (a bulk write, a record
not read from the database): a rise too many costs one full read, a rise missed would show an
old score, so where in doubt this raises. tests/test_history_revision.py checks each path.
"""

from datetime import date, timedelta

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.db.models.signals import pre_delete, pre_save
from django.dispatch import receiver
from django.utils import timezone

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

# A check-in dated within this many days before the patient's today is recent: writing it
# leaves the history revision as it is. The reader counts from the patient's today; a writer
# here counts from the server's date (UTC), two days less, so that neither a time zone (a day
# at most either way) nor a small difference between the servers' clocks can make a writer
# call recent a day that a reader keeps as history.
RECENT_CHECK_IN_DAYS = 30
_WRITER_MARGIN_DAYS = 2


def is_recent(day: object) -> bool:
    """Whether a check-in of this day may be written without raising the history revision."""
    first = timezone.now().date() - timedelta(days=RECENT_CHECK_IN_DAYS - _WRITER_MARGIN_DAYS)
    return isinstance(day, date) and day >= first


def touches_history(record) -> bool:
    """Whether writing or deleting `record` may change the diary's older part: always, but for
    a check-in whose every date is recent, the one it is written with and, if it is stored
    already, the one it was read or last saved with (DailyLog.remember_stored keeps it). A
    check-in said to be stored (it has an id) but not read from the database has an unknown
    old date: history."""
    if not isinstance(record, DailyLog):
        return True
    if record.pk is not None and not is_recent(getattr(record, "stored_date", None)):
        return True
    return not is_recent(record.date)


class _Raised:
    """Left in the transaction's on-commit list: this patient's revision has risen in it (and
    their history revision too, when `history`). Called at commit, it does nothing; a
    rolled-back savepoint takes it away with the rise."""

    def __init__(self, patient_id: int, history: bool) -> None:
        self.patient_id = patient_id
        self.history = history

    def __call__(self) -> None:
        pass


def _raised_already(patient_id: int, history: bool = False) -> bool:
    """Whether this transaction has raised the revision already (and the history revision,
    when `history`), in a block still open: once is enough for a whole transaction, however
    many records it writes. (A rise in a savepoint since released counts as not known: the
    next write raises it again, one query more, never one less.)"""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return False
    open_savepoints = set(connection.savepoint_ids)
    return any(
        isinstance(call, _Raised)
        and call.patient_id == patient_id
        and (call.history or not history)
        and savepoints <= open_savepoints
        for savepoints, call, _ in connection.run_on_commit
    )


def _remember_raised(patient_id: int, history: bool) -> None:
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_Raised(patient_id, history))


def _rises(patient_id: int, history: bool) -> dict:
    """The revisions to raise for a write: the diary's unless raised already in this
    transaction, and the history's when the write touches it."""
    rises = {"history_revision": F("history_revision") + 1} if history else {}
    if not _raised_already(patient_id):
        rises["diary_revision"] = F("diary_revision") + 1
    return rises


def diary_changed(patient_id: int, history: bool = True) -> None:
    """Raise the patient's diary revision, once per transaction, and their history revision
    unless `history` is False (a recent check-in, touches_history). The UPDATE also locks the
    patient's row until the transaction ends (PostgreSQL), so writes to one diary queue here."""
    if _raised_already(patient_id, history):
        return
    Patient.objects.filter(pk=patient_id).update(**_rises(patient_id, history))
    _remember_raised(patient_id, history)


def diary_changed_unless_deleted(
    patient_id: int, kind: str, key: str, history: bool = True
) -> bool:
    """diary_changed, in the same query as asking whether the record `kind` `key` was deleted
    (a tombstone): True when raised, False when there is a tombstone (then nothing is raised).
    The check-in PUT's hot path: one query for both."""
    if _raised_already(patient_id):
        deleted = Tombstone.objects.filter(patient_id=patient_id, kind=kind, key=key).exists()
        if not deleted:
            diary_changed(patient_id, history)
        return not deleted
    tombstone = Tombstone.objects.filter(patient_id=OuterRef("pk"), kind=kind, key=key)
    raised = (
        Patient.objects.filter(pk=patient_id)
        .exclude(Exists(tombstone))
        .update(**_rises(patient_id, history))
    )
    if raised:
        _remember_raised(patient_id, history)
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
    diary_changed(instance.patient_id, touches_history(instance))
    stored = getattr(instance, "stored_patient_id", None)
    if stored is not None and stored != instance.patient_id:
        diary_changed(stored)  # given to another patient (the admin site): it left this diary


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
