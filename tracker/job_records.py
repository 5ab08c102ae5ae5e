"""The rows background jobs keep (tracker/jobs.py): one per message to send, one per scheduled
job, one per batch of printed summaries. Imported by tracker/models.py, so they are the app's
models like the others."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

# Waits after a failed send, then the message is given up (and stays so in the admin).
RETRY_DELAYS = [timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10)]
RETRY_DELAYS += [timedelta(minutes=30), timedelta(hours=2)]
# A send claimed by a worker that died is claimable again after this long.
LEASE = timedelta(minutes=2)


class DeliveryQuerySet(models.QuerySet):
    def due(self, now=None) -> "DeliveryQuerySet":
        """Waiting to be sent (again) now, or claimed by a worker that has not finished in
        time (it died): what the sweep job sends."""
        now = now or timezone.now()
        waiting = Q(state=Delivery.State.PENDING, next_attempt_at__lte=now)
        abandoned = Q(state=Delivery.State.SENDING, claimed_until__lt=now)
        return self.filter(waiting | abandoned)


class Delivery(models.Model):
    """One message to one person by one channel: a red-flag alert to a clinician, or a day's
    reminder to a patient. The unique constraints make it one row however many jobs, workers
    or edits ask for it; a worker sends it only after claiming it (`claim`), so it goes once."""

    class Kind(models.TextChoices):
        ALERT = "alert", "Red-flag alert"
        REMINDER = "reminder", "Daily reminder"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        PUSH = "push", "Web Push"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Given up"
        CANCELLED = "cancelled", "Not needed"  # handled, deleted or logged before it went

    kind = models.CharField(max_length=8, choices=Kind.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deliveries"
    )
    # An alert's red flag: deleting it (or the patient's account) deletes its unsent alerts.
    reaction = models.ForeignKey(
        "tracker.Reaction", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(null=True, blank=True)  # a reminder's day, the patient's own
    state = models.CharField(max_length=9, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)  # never a message's content

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["reaction", "recipient", "channel"],
                condition=Q(kind="alert"),
                name="one_alert_per_red_flag_recipient_channel",
            ),
            models.UniqueConstraint(
                fields=["recipient", "channel", "day"],
                condition=Q(kind="reminder"),
                name="one_reminder_per_day_recipient_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient} by {self.get_channel_display()}"

    def claim(self, now=None) -> bool:
        """Take this message to send it: True for exactly one of any number of workers trying
        at once (a conditional UPDATE, atomic in PostgreSQL and SQLite alike)."""
        now = now or timezone.now()
        taken = (
            Delivery.objects.due(now)
            .filter(pk=self.pk)
            .update(state=self.State.SENDING, claimed_until=now + LEASE, attempts=F("attempts") + 1)
        )
        if taken:
            self.refresh_from_db()
        return bool(taken)

    def sent(self) -> None:
        self.state, self.sent_at, self.last_error = self.State.SENT, timezone.now(), ""
        self.save(update_fields=["state", "sent_at", "last_error"])

    def failed(self, error: str, give_up_after=None) -> None:
        """Sent again after the next of RETRY_DELAYS; given up after the last, or once past
        `give_up_after` (a reminder is no use the next day)."""
        now = timezone.now()
        self.last_error = error[:300]
        if self.attempts > len(RETRY_DELAYS) or (give_up_after and now >= give_up_after):
            self.state = self.State.FAILED
        else:
            self.state = self.State.PENDING
            self.next_attempt_at = now + RETRY_DELAYS[self.attempts - 1]
        self.save(update_fields=["state", "next_attempt_at", "last_error"])


class JobSchedule(models.Model):
    """When a periodic job is next due. `manage.py schedule_jobs` moves `next_run_at` on with a
    conditional UPDATE before queueing the job, so many schedulers queue it once."""

    name = models.CharField(max_length=40, unique=True)
    next_run_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.next_run_at:%Y-%m-%d %H:%M}"


class PrintBatch(models.Model):
    """A clinician's batch of one-page summaries, made into one PDF by a job, for them alone
    to download (tracker/jobs.py `enqueue_batch_pdf`). The PDF is kept in the database, which
    every app server reaches (no shared disk needed), for two days (`purge_expired`)."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="print_batches"
    )
    patient_ids = models.JSONField(default=list)
    state = models.CharField(max_length=8, choices=State.choices, default=State.WAITING)
    pdf = models.BinaryField(blank=True, default=b"", editable=False)
    pages = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "print batches"

    def __str__(self) -> str:
        return f"{len(self.patient_ids)} summaries for {self.clinician}, {self.get_state_display()}"
