"""Sending the daily check-in reminders: finding who is due, claiming each reminder once, and
sending it by email and Web Push; and Web Push itself, for the red-flag alerts too. A job runs
it every minute (tracker/jobs.py); a reminder that fails is sent again later by a job."""

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache

import pywebpush
import requests
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from py_vapid import Vapid

from tracker import relief
from tracker.emergency import emergency_number_for
from tracker.job_records import RETRY_DELAYS, Delivery
from tracker.models import (
    PRODUCT_LABELS,
    DailyLog,
    Injection,
    Patient,
    PushSubscription,
    relief_settings,
)
from tracker.push_services import is_push_service
from tracker.reminders import WARNING_SIGNS_DAYS, Reminder, compose, reminder_due

logger = logging.getLogger(__name__)

PUSH_TIMEOUT_SECONDS = 10
PUSH_TTL_SECONDS = 12 * 60 * 60  # undelivered by then (phone off), it is no longer today's
# A subscription that failed on a week of daily reminders in a row is dropped; 404 and 410
# (the browser unsubscribed) drop it at once.
MAX_PUSH_FAILURES = 7
GONE = {404, 410}


def push_enabled() -> bool:
    return bool(
        settings.WEBPUSH_VAPID_PRIVATE_KEY
        and settings.WEBPUSH_VAPID_PUBLIC_KEY
        and settings.WEBPUSH_VAPID_SUBJECT
    )


def push_public_key() -> str:
    """The key a browser subscribes with, for the pages' switch; empty while push is off."""
    return settings.WEBPUSH_VAPID_PUBLIC_KEY if push_enabled() else ""


@cache
def vapid_key(private_key: str) -> Vapid:
    return Vapid.from_string(private_key)


@dataclass
class Outcome:
    reminded: int = 0
    emails: int = 0
    pushes: int = 0
    failures: int = 0
    subscriptions_removed: int = 0

    def __str__(self) -> str:
        return (
            f"{self.reminded} reminded: {self.emails} emails, {self.pushes} notifications, "
            f"{self.failures} failed, {self.subscriptions_removed} subscriptions removed"
        )


def send_due_reminders(now: datetime | None = None) -> Outcome:
    """Remind every patient who is due, at most once per patient per local day. Safe to run
    as often as wanted, and from two places at once: a reminder is claimed (its day written)
    before it is sent. The number of queries does not grow with the number of patients."""
    now = now or timezone.now()
    claimed = claim(due_patients(now))
    if not claimed:
        return Outcome()
    reminders = compose_reminders(claimed)
    outcome = Outcome(reminded=len(claimed))
    send_emails(claimed, reminders, outcome)
    if push_enabled():
        send_pushes(claimed, reminders, outcome)
    return outcome


def due_patients(now: datetime) -> dict[Patient, date]:
    """Each patient due a reminder now, with their local date (two queries)."""
    # Every time zone's date is within a day of UTC's: a reminder recorded for a later day
    # than tomorrow in UTC cannot be today's anywhere, so the database can skip those.
    tomorrow_utc = now.astimezone(UTC).date() + timedelta(days=1)
    reachable = Q(reminder_email=True) & ~Q(user__email="")
    if push_enabled():
        reachable |= Exists(PushSubscription.objects.filter(user=OuterRef("user")))
    last_log = DailyLog.objects.filter(patient=OuterRef("pk")).order_by("-date")
    candidates = (
        Patient.objects.filter(reminder_time__isnull=False, user__is_active=True)
        .filter(Q(last_reminded_on__isnull=True) | Q(last_reminded_on__lt=tomorrow_utc))
        .filter(reachable)
        .select_related("user")
        .annotate(last_log_date=Subquery(last_log.values("date")[:1]))
    )
    due = {}
    for patient in candidates:
        local_now = now.astimezone(patient.zone)
        today = local_now.date()
        logged_today = patient.last_log_date == today
        if reminder_due(local_now, patient.reminder_time, patient.last_reminded_on, logged_today):
            due[patient] = today
    return due


def claim(due: dict[Patient, date]) -> dict[Patient, date]:
    """The reminders this run may send: each patient's day is written first, in one
    transaction, so a second run (or one still going) finds it taken. One or two queries per
    distinct local date, and there are at most three."""
    by_day = defaultdict(list)
    for patient, day in due.items():
        by_day[day].append(patient.pk)
    claimed_ids = set()
    with transaction.atomic():
        for day, ids in by_day.items():
            logged = DailyLog.objects.filter(patient=OuterRef("pk"), date=day)
            free = (
                Patient.objects.select_for_update(skip_locked=True)
                .filter(pk__in=ids)
                .exclude(last_reminded_on=day)
                .filter(~Exists(logged))
            )
            ids_for_day = list(free.values_list("pk", flat=True))
            if ids_for_day:
                Patient.objects.filter(pk__in=ids_for_day).update(last_reminded_on=day)
                claimed_ids.update(ids_for_day)
    return {patient: day for patient, day in due.items() if patient.pk in claimed_ids}


def compose_reminders(claimed: dict[Patient, date]) -> dict[int, Reminder]:
    """Each patient's message, with its extra prompt for their day of the injection cycle
    (one query for the injections, one more for the logs of patients past the first four
    weeks, for the wearing-off forecast)."""
    injections, products = defaultdict(list), defaultdict(dict)
    rows = Injection.objects.filter(patient__in=claimed).values_list(
        "patient_id", "pk", "date", "product"
    )
    for patient_id, pk, day, product in rows:
        injections[patient_id].append(relief.InjectionPoint(id=pk, date=day))
        products[patient_id][pk] = PRODUCT_LABELS.get(product, product)
    cycle_days = {
        patient.pk: relief.day_of_cycle((point.date for point in injections[patient.pk]), day)
        for patient, day in claimed.items()
    }
    # The forecast only matters once the warning signs are no longer named.
    later = [pk for pk, n in cycle_days.items() if n is not None and n > WARNING_SIGNS_DAYS]
    logs = DailyLog.objects.filter(patient__in=later).severities_by_patient() if later else {}
    reminders, settings_ = {}, relief_settings()
    for patient, day in claimed.items():
        forecast = None
        if patient.pk in logs:
            cycles = relief.compute_cycles(injections[patient.pk], logs[patient.pk], day, settings_)
            forecast = relief.wearing_off_forecast(cycles, products[patient.pk], settings_)
        emergency = patient.emergency_number or emergency_number_for(patient.time_zone)
        reminders[patient.pk] = compose(
            cycle_days[patient.pk],
            forecast.day if forecast else None,
            emergency,
            settings.SITE_NAME,
        )
    return reminders


def email_for(patient: Patient, reminder: Reminder) -> mail.EmailMessage:
    greeting = f"Hello {patient.user.first_name},\n\n" if patient.user.first_name else ""
    body = (
        f"{greeting}{reminder.body}\n\n"
        f"Today's check-in: {settings.SITE_URL}{reverse('today')}\n\n"
        "You get this email because you asked for a daily reminder. To change its time or "
        f"stop it: {settings.SITE_URL}{reverse('settings')}\n\n"
        f"{settings.SITE_NAME}. Questions? Write to {settings.RELIEF_CONTACT_EMAIL}.\n"
    )
    return mail.EmailMessage(reminder.title, body, to=[patient.user.email])


def send_emails(claimed: dict[Patient, date], reminders: dict[int, Reminder], outcome) -> None:
    messages = {
        patient: email_for(patient, reminders[patient.pk])
        for patient in claimed
        if patient.reminder_email and patient.user.email
    }
    if not messages:
        return
    failed, tried = {}, set()
    try:
        with mail.get_connection() as connection:
            for patient, message in messages.items():
                tried.add(patient)
                try:
                    connection.send_messages([message])
                except Exception:  # one bad address or a dropped connection: carry on
                    logger.exception("Reminder email to patient %s failed", patient.pk)
                    failed[patient] = claimed[patient]
                else:
                    outcome.emails += 1
    except Exception:  # the mail server could not be reached at all
        logger.exception("Reminder emails: no connection to the mail server")
        failed |= {patient: claimed[patient] for patient in messages if patient not in tried}
    outcome.failures += len(failed)
    if failed:  # tried again by a job (tracker/alerts.py), visible in the admin
        record_reminder_failures(failed, Delivery.Channel.EMAIL, "the mail server refused it")


def send_pushes(claimed: dict[Patient, date], reminders: dict[int, Reminder], outcome) -> None:
    """Each reminder to every phone of the patient's account."""
    by_user = {patient.user_id: patient for patient in claimed}
    subscriptions = PushSubscription.objects.filter(user__in=list(by_user))
    today = reverse("today")

    def payload(subscription: PushSubscription) -> dict:
        reminder = reminders[by_user[subscription.user_id].pk]
        return {"title": reminder.title, "body": reminder.body, "url": today}

    result = push(subscriptions, payload)
    outcome.pushes += len(result.delivered)
    outcome.failures += len(result.failed)
    outcome.subscriptions_removed += result.removed
    if result.failed:  # tried again by a job (tracker/alerts.py), visible in the admin
        failed = {by_user[s.user_id] for s in subscriptions if s.pk in result.failed}
        record_reminder_failures(
            {patient: claimed[patient] for patient in failed},
            Delivery.Channel.PUSH,
            "the push service refused or did not answer",
        )


@dataclass
class PushResult:
    delivered: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    removed: int = 0


def push(subscriptions, payload_for) -> PushResult:
    """Sends `payload_for(subscription)` to each subscription, then writes down what happened:
    a success clears the failures in a row, a failure adds one, and a subscription the browser
    gave up (404, 410), or failing MAX_PUSH_FAILURES times in a row, is removed."""
    result, gone = PushResult(), []
    key = vapid_key(settings.WEBPUSH_VAPID_PRIVATE_KEY)
    with requests.Session() as session:
        session.max_redirects = 0  # a push service answers; it never sends us elsewhere
        for subscription in subscriptions:
            if not is_push_service(subscription.endpoint):  # saved before the allow-list
                gone.append(subscription.pk)
                continue
            try:
                pywebpush.webpush(
                    subscription.info,
                    json.dumps(payload_for(subscription)),
                    vapid_private_key=key,
                    # A new dict each time: webpush adds the push service's origin to it.
                    vapid_claims={"sub": settings.WEBPUSH_VAPID_SUBJECT},
                    ttl=PUSH_TTL_SECONDS,
                    timeout=PUSH_TIMEOUT_SECONDS,
                    requests_session=session,
                )
            except (pywebpush.WebPushException, requests.RequestException) as error:
                if getattr(error, "status_code", None) in GONE:  # the phone unsubscribed
                    gone.append(subscription.pk)
                else:
                    result.failed.append(subscription.pk)
                    logger.warning("Push to subscription %s failed: %s", subscription.pk, error)
            else:
                result.delivered.append(subscription.pk)
    if result.delivered:
        PushSubscription.objects.filter(pk__in=result.delivered).update(
            last_success_at=timezone.now(), failures=0
        )
    if result.failed:
        PushSubscription.objects.filter(pk__in=result.failed).update(failures=F("failures") + 1)
        gone += PushSubscription.objects.filter(
            pk__in=result.failed, failures__gte=MAX_PUSH_FAILURES
        ).values_list("pk", flat=True)
    if gone:
        result.removed = PushSubscription.objects.filter(pk__in=gone).delete()[0]
    return result


def record_reminder_failures(failed: dict[Patient, date], channel: str, error: str) -> None:
    """A reminder that could not be sent, kept as a delivery that the jobs send again after a
    wait (tracker/alerts.py `retry_reminder`); one row per patient, channel and day."""
    now = timezone.now()
    Delivery.objects.bulk_create(
        [
            Delivery(
                kind=Delivery.Kind.REMINDER,
                channel=channel,
                recipient_id=patient.user_id,
                day=day,
                attempts=1,
                next_attempt_at=now + RETRY_DELAYS[0],
                last_error=error,
            )
            for patient, day in failed.items()
        ],
        ignore_conflicts=True,
    )
