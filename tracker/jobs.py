"""The background jobs (django-tasks, queued in the database, run by `manage.py db_worker` on
any number of machines) and their schedule.

- `alert_red_flag`: queued by every saved red flag (tracker/alerts.py).
- `send_reminders`, `send_due_deliveries`, `purge_expired`: periodic, queued by
  `manage.py schedule_jobs` (SCHEDULE); many schedulers queue each one once per period.
- `render_batch_pdf`: a clinician's batch of one-page summaries (`enqueue_batch_pdf`).

Each job is safe to run twice or on two workers at once: what it sends is claimed first
(Delivery.claim, notify.claim), what it deletes is gone either way.
"""

import logging
from datetime import datetime, timedelta

from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from tracker import alerts, notify, pdf
from tracker.job_records import Delivery, JobSchedule, PrintBatch
from tracker.models import AccessEvent, Patient, Share, Tombstone, User

logger = logging.getLogger(__name__)

SWEEP_SIZE = 500  # deliveries a sweep sends at most; the next minute's takes the rest
MAX_BATCH = 100  # summaries in one printed batch
KEEP_FINISHED_JOBS = timedelta(days=7)
KEEP_SENT_DELIVERIES = timedelta(days=90)
KEEP_BATCH_PDFS = timedelta(days=2)


@task()
def alert_red_flag(reaction_id: str) -> int:
    return alerts.alert_clinicians(reaction_id)


@task()
def send_reminders() -> str:
    return str(notify.send_due_reminders())


@task()
def send_due_deliveries() -> int:
    """Retries whose wait is over, sends a dead worker left half done, and alerts for red
    flags whose job never ran. How many were sent."""
    now = timezone.now()
    for reaction_id in alerts.red_flags_never_queued(now):
        alerts.queue_alert_rows(reaction_id)
    due = Delivery.objects.due().order_by("next_attempt_at")[:SWEEP_SIZE]
    return sum(alerts.send(pk) for pk in due.values_list("pk", flat=True))


@task()
def purge_expired() -> dict[str, int]:
    """Sessions past their expiry, tombstones past settings.TOMBSTONE_DAYS (docs/clinical-
    rules.md), finished jobs, sent or given-up messages and downloaded batches past their
    keeping."""
    now = timezone.now()
    old_batches = PrintBatch.objects.filter(created_at__lt=now - KEEP_BATCH_PDFS)
    finished = DBTaskResult.objects.finished().filter(finished_at__lt=now - KEEP_FINISHED_JOBS)
    closed = Q(state__in=[Delivery.State.SENT, Delivery.State.FAILED, Delivery.State.CANCELLED])
    return {
        "sessions": Session.objects.filter(expire_date__lt=now).delete()[0],
        "tombstones": Tombstone.objects.expired(now).delete()[0],
        "jobs": finished.delete()[0],
        "deliveries": Delivery.objects.filter(
            closed, created_at__lt=now - KEEP_SENT_DELIVERIES
        ).delete()[0],
        "print_batches": old_batches.delete()[0],
    }


# name: (job, how often). Reminders are due at whole and half hours of each patient's time
# zone: a minute's lateness is fine.
SCHEDULE = {
    "send_reminders": (send_reminders, timedelta(minutes=1)),
    "send_due_deliveries": (send_due_deliveries, timedelta(minutes=1)),
    "purge_expired": (purge_expired, timedelta(days=1)),
}


def enqueue_scheduled(now: datetime | None = None) -> list[str]:
    """Queues each scheduled job whose time has come, once however many schedulers run: a
    conditional UPDATE moves its time on, and only the scheduler whose UPDATE did queues it."""
    now = now or timezone.now()
    queued = []
    for name, (job, every) in SCHEDULE.items():
        JobSchedule.objects.get_or_create(name=name, defaults={"next_run_at": now})
        with transaction.atomic():
            won = JobSchedule.objects.filter(name=name, next_run_at__lte=now).update(
                next_run_at=now + every
            )
            if won:
                transaction.on_commit(job.enqueue)
                queued.append(name)
    return queued


def enqueue_batch_pdf(clinician: User, patient_ids: list[int]) -> PrintBatch:
    """A batch of one-page summaries of the clinician's patients, made into one PDF by a job.
    Ids of patients who do not share with them are refused (PermissionDenied) rather than
    left out, as are more than MAX_BATCH. The caller shows the batch, whose `state` turns
    `ready` (then `pdf` holds the PDF's bytes) or `failed` (then `error` says why)."""
    if not clinician.is_authenticated or not clinician.is_clinician:
        raise PermissionDenied("Only a clinician prints summaries.")
    wanted = list(dict.fromkeys(int(pk) for pk in patient_ids))
    if not wanted or len(wanted) > MAX_BATCH:
        raise PermissionDenied(f"Choose from 1 to {MAX_BATCH} patients.")
    visible = set(
        Patient.objects.visible_to(clinician).filter(pk__in=wanted).values_list("pk", flat=True)
    )
    if visible != set(wanted):
        raise PermissionDenied("Not every patient chosen shares their diary with you.")
    batch = PrintBatch.objects.create(clinician=clinician, patient_ids=wanted)
    transaction.on_commit(lambda: render_batch_pdf.enqueue(batch.pk))
    return batch


def batch_for(clinician: User, batch_id: int) -> PrintBatch | None:
    """A batch its own clinician may see or download; None for anyone else's."""
    return PrintBatch.objects.filter(pk=batch_id, clinician=clinician).first()


@task()
def render_batch_pdf(batch_id: int) -> int:
    """Renders each patient's one-page summary (tracker/pdf.py, as the clinic's "Print
    summaries" does while the clinician waits), as one file. Each patient still sharing is
    written to their access history; one who has stopped sharing since is left out. How many
    pages."""
    batch = PrintBatch.objects.select_related("clinician").get(pk=batch_id)
    clinician = batch.clinician
    readable = Patient.objects.visible_to(clinician).filter(pk__in=batch.patient_ids)
    by_id = {patient.pk: patient for patient in readable.select_related("user")}
    patients = [by_id[pk] for pk in batch.patient_ids if pk in by_id]
    if not patients:
        return finish(batch, PrintBatch.State.FAILED, "No patient of the batch shares now")
    clinic_of = letting_in(clinician, [patient.pk for patient in patients])
    AccessEvent.objects.bulk_create(
        AccessEvent(
            patient=patient,
            clinician=clinician,
            clinic_id=clinic_of.get(patient.pk),
            what=AccessEvent.What.PDF,
            path=f"print batch {batch.pk}",
        )
        for patient in patients
    )
    try:
        batch.pdf = pdf.render_batch_summaries(clinician, patients)
    except pdf.Unavailable:
        return finish(batch, PrintBatch.State.FAILED, "PDFs cannot be made on this server")
    batch.pages = len(patients)  # one page each (pdf.one_page_document)
    return finish(batch, PrintBatch.State.READY)


def letting_in(clinician: User, patient_ids: list[int]) -> dict[int, int | None]:
    """For each patient, the clinic whose share lets the clinician read the diary, as
    access.open_patient_for_clinician names it in the access history: none when the patient
    shares with them alone, else the clinic's (the first, should several let them in)."""
    shares = (
        Share.objects.active()
        .readable_by(clinician)
        .filter(patient_id__in=patient_ids)
        .order_by(F("clinic_id").asc(nulls_first=True))  # a share with them alone first
    )
    clinic_of: dict[int, int | None] = {}
    for patient_id, clinic_id in shares.values_list("patient_id", "clinic_id"):
        clinic_of.setdefault(patient_id, clinic_id)
    return clinic_of


def finish(batch: PrintBatch, state: str, error: str = "") -> int:
    batch.state, batch.error, batch.finished_at = state, error, timezone.now()
    batch.save(update_fields=["pdf", "pages", "state", "error", "finished_at"])
    return batch.pages
