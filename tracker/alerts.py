"""Red-flag alerts to the clinic (docs/clinical-rules.md, "Red flags": every clinician with
access hears of each one, within minutes) and sending any one delivery: an alert, or a
reminder tried again.

A saved red flag (by any path: page, API, sync, admin) queues a job once its transaction
commits. The job writes one Delivery row per clinician and channel (unique, so a second job,
an edit or a retry adds none) and sends each row it can claim: one worker of any number sends
each. The message holds no health data: only that a patient they follow logged a warning sign,
and a link to the clinic's list.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.urls import reverse

from tracker import notify
from tracker.access import diary_readers
from tracker.job_records import Delivery
from tracker.models import DailyLog, Patient, PushSubscription, Reaction, User

logger = logging.getLogger(__name__)

# A reminder not sent by then is no longer today's.
REMINDER_GIVE_UP = timedelta(hours=6)
# How far back the sweep looks for red flags whose alert job never ran.
CATCH_UP = timedelta(days=1)
# The fields a clinician's "handled" writes: saving them is no new red flag.
HANDLING_FIELDS = {"handled_at", "handled_by", "handled_note", "version", "updated_at"}


@receiver(post_save, sender=Reaction)
def alert_on_red_flag(sender, instance: Reaction, raw: bool = False, **kwargs) -> None:
    """Queue the alert job for a red flag once the save is committed (never for a rolled-back
    one). An edit queues it again; the job's rows make sure it is still sent once."""
    update_fields = kwargs.get("update_fields")
    if raw or instance.red_flag_tier is None or instance.handled_at is not None:
        return
    if update_fields is not None and set(update_fields) <= HANDLING_FIELDS:
        return
    reaction_id = str(instance.pk)

    def enqueue() -> None:
        from tracker.jobs import alert_red_flag

        alert_red_flag.enqueue(reaction_id)

    # robust: the patient's save stands whatever happens here; should the job not be queued
    # (the database gone that instant), the sweep job finds the red flag without alerts.
    transaction.on_commit(enqueue, robust=True)


def queue_alert_rows(reaction_id: str) -> list[int]:
    """One Delivery per clinician with access now and channel (email when they have an
    address, push when they have a subscription), unless already there; the ids of this red
    flag's alerts still waiting. None for a red flag deleted, handled or no longer one."""
    try:
        reaction = Reaction.objects.filter(pk=reaction_id, handled_at__isnull=True).first()
    except ValidationError:  # not an id at all
        return []
    if reaction is None or reaction.red_flag_tier is None:
        return []
    # Who may read the diary now: the clinicians it is shared with alone, and the clinicians
    # and nurses of the clinics it is shared with; a clinic's coordinators get no alert.
    clinicians = diary_readers(reaction.patient)
    with_push = set(
        PushSubscription.objects.filter(user__in=clinicians).values_list("user_id", flat=True)
    )
    rows = []
    for clinician in clinicians:
        channels = [Delivery.Channel.EMAIL] if clinician.email else []
        if clinician.pk in with_push and notify.push_enabled():
            channels.append(Delivery.Channel.PUSH)
        rows += [
            Delivery(
                kind=Delivery.Kind.ALERT, channel=channel, recipient=clinician, reaction=reaction
            )
            for channel in channels
        ]
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    waiting = Delivery.objects.filter(reaction=reaction, state=Delivery.State.PENDING)
    return list(waiting.values_list("pk", flat=True))


def red_flags_never_queued(now: datetime) -> list[str]:
    """Red flags of the last day, not yet handled, with no alert rows: their job was never
    queued or died before writing them (or a bulk write saved them without a signal)."""
    queued = Delivery.objects.filter(reaction__isnull=False).values("reaction_id")
    recent = Reaction.objects.red_flags().unhandled().filter(created_at__gte=now - CATCH_UP)
    return [str(pk) for pk in recent.exclude(pk__in=queued).values_list("pk", flat=True)]


def alert_clinicians(reaction_id: str) -> int:
    """The alert job: the rows, then each one this worker claims is sent. How many sent."""
    return sum(send(pk) for pk in queue_alert_rows(reaction_id))


def send(delivery_id: int) -> bool:
    """Claims and sends one delivery; True when this call sent it. A failure is tried again
    after a wait (Delivery.failed), a message no longer needed is closed unsent."""
    delivery = Delivery.objects.filter(pk=delivery_id).select_related("recipient").first()
    if delivery is None or not delivery.claim():
        return False  # deleted with its red flag, or another worker has it
    give_up_after = None
    try:
        if delivery.kind == Delivery.Kind.ALERT:
            needed = send_alert(delivery)
        else:
            give_up_after = delivery.created_at + REMINDER_GIVE_UP
            needed = retry_reminder(delivery)
    except Exception as error:
        logger.warning("Delivery %s failed: %r", delivery.pk, error)
        delivery.failed(type(error).__name__ + ": " + str(error), give_up_after)
        return False
    if not needed:
        delivery.state = Delivery.State.CANCELLED
        delivery.last_error = "Not sent: handled, no longer a red flag or shared, or logged"
        delivery.save(update_fields=["state", "last_error"])
        return False
    delivery.sent()
    return True


class PushFailed(Exception):
    pass


def send_alert(delivery: Delivery) -> bool:
    reaction = Reaction.objects.filter(pk=delivery.reaction_id).first()
    if reaction is None or reaction.red_flag_tier is None or reaction.handled_at is not None:
        return False
    if not diary_readers(reaction.patient).filter(pk=delivery.recipient_id).exists():
        return False  # the patient stopped sharing with them since
    title = alert_title()
    if delivery.channel == Delivery.Channel.EMAIL:
        clinic = f"{settings.SITE_URL}{reverse('clinic')}"
        mail.send_mail(
            title, alert_body(delivery.recipient, clinic), None, [delivery.recipient.email]
        )
        return True
    # The page by its path: the service worker opens it on the app's own origin, whatever
    # SITE_URL says. One notification stands for every alert not yet opened (their tag).
    payload = {
        "title": title,
        "body": "Open your clinic list to see who.",
        "url": reverse("clinic"),
        "tag": "red-flag",
    }
    subscriptions = PushSubscription.objects.filter(user_id=delivery.recipient_id)
    return pushed(notify.push(subscriptions, lambda subscription: payload))


def alert_title() -> str:
    """The product named as the settings name it (SITE_NAME), as in every email."""
    return f"{settings.SITE_NAME}: a patient you follow logged a warning sign"


def alert_body(clinician: User, clinic_url: str) -> str:
    name = clinician.get_full_name() or clinician.username
    return (
        f"Hello {name},\n\n"
        f"A patient who shares their {settings.SITE_NAME} diary with you has logged a warning "
        "sign (a red flag) that may need your attention today.\n\n"
        f"See who, and what, on your clinic list: {clinic_url}\n\n"
        "This email carries no health details on purpose: they are shown only once you log "
        "in. You get it because the patient shares their diary with you.\n\n"
        f"{settings.SITE_NAME}. Questions? Write to {settings.RELIEF_CONTACT_EMAIL}.\n"
    )


def retry_reminder(delivery: Delivery) -> bool:
    """A reminder that failed, sent again if the patient has still not logged the day."""
    patient = Patient.objects.filter(user=delivery.recipient).select_related("user").first()
    if patient is None or DailyLog.objects.filter(patient=patient, date=delivery.day).exists():
        return False
    reminder = notify.compose_reminders({patient: delivery.day})[patient.pk]
    if delivery.channel == Delivery.Channel.EMAIL:
        if not (patient.reminder_email and patient.user.email):
            return False
        notify.email_for(patient, reminder).send()
        return True
    # Only the phones that have not had it since it was first tried.
    subscriptions = patient.user.push_subscriptions.exclude(
        last_success_at__gte=delivery.created_at
    )
    payload = {"title": reminder.title, "body": reminder.body, "url": reverse("today")}
    return pushed(notify.push(subscriptions, lambda subscription: payload))


def pushed(result: notify.PushResult) -> bool:
    """Raises for a send to try again (a push service failed); False when no phone was left."""
    if result.failed:
        raise PushFailed(f"{len(result.failed)} push services refused or did not answer")
    return bool(result.delivered)
