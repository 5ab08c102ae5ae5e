import datetime as dt
import io
import json
from unittest import mock

import pytest
import pywebpush
import requests
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories
from tests.conftest import NOW, TODAY
from tracker import jobs, notify, relief
from tracker.models import Patient, PushSubscription, relief_settings

pytestmark = pytest.mark.usefixtures("frozen_now")

# NOW is 12:00 UTC on 15 June 2026: 13:00 in London (summer time).
ONE_PM, HALF_PAST_ONE = dt.time(13, 0), dt.time(13, 30)


def reminded_patient(reminder_time=ONE_PM, time_zone="Europe/London", **fields) -> Patient:
    user = fields.pop("user", None) or factories.UserFactory(first_name="Pat")
    return factories.PatientFactory(
        user=user, time_zone=time_zone, reminder_time=reminder_time, **fields
    )


def subscribe(patient: Patient, name: str = "phone") -> PushSubscription:
    return PushSubscription.objects.create(
        user=patient.user,
        endpoint=f"https://fcm.googleapis.com/fcm/send/{patient.pk}-{name}",
        p256dh="BPhone-key",
        auth="phone-secret",
    )


@pytest.fixture
def vapid(settings):
    """Real VAPID keys, as make_vapid_keys prints them, so the signing code runs for real."""
    out = io.StringIO()
    call_command("make_vapid_keys", stdout=out)
    for line in out.getvalue().splitlines():
        name, _, value = line.partition("=")
        if name.startswith("WEBPUSH_"):
            setattr(settings, name, value)
    return settings


@pytest.fixture
def push_service():
    """pywebpush.webpush, answering as the push service would: 201 unless told otherwise."""
    with mock.patch("pywebpush.webpush") as webpush:
        yield webpush


def push_error(status: int) -> pywebpush.WebPushException:
    return pywebpush.WebPushException("Push failed", response=mock.Mock(status_code=status))


def sent_to(webpush: mock.Mock) -> list[str]:
    return [call.args[0]["endpoint"] for call in webpush.call_args_list]


def test_a_patient_is_emailed_once_their_reminder_time_has_passed(db, settings):
    settings.SITE_URL = "https://relief.example"
    patient = reminded_patient(ONE_PM)

    outcome = notify.send_due_reminders()

    assert (outcome.reminded, outcome.emails) == (1, 1)
    [email] = mail.outbox
    assert email.to == [patient.user.email]
    assert email.subject == "Relief Tracker: today's check-in"
    assert email.body.startswith("Hello Pat,\n\nHow are your spasms today? One tap logs it.")
    assert "https://relief.example/today/" in email.body
    assert "https://relief.example/settings/" in email.body
    patient.refresh_from_db()
    assert patient.last_reminded_on == TODAY


def test_no_reminder_comes_before_the_chosen_time(db):
    patient = reminded_patient(HALF_PAST_ONE)
    assert notify.send_due_reminders().reminded == 0
    assert mail.outbox == []
    patient.refresh_from_db()
    assert patient.last_reminded_on is None


@pytest.mark.parametrize(
    ("time_zone", "reminder_time", "local_day", "due"),
    [
        ("America/New_York", dt.time(8, 0), TODAY, True),  # 08:00 there
        ("America/New_York", dt.time(8, 30), TODAY, False),
        ("Asia/Tokyo", dt.time(21, 0), TODAY, True),  # 21:00 there
        ("Asia/Tokyo", dt.time(21, 30), TODAY, False),
        ("Pacific/Kiritimati", dt.time(1, 30), TODAY + dt.timedelta(days=1), True),  # 02:00
        ("Pacific/Pago_Pago", dt.time(0, 30), TODAY, True),  # 01:00
        ("Pacific/Pago_Pago", dt.time(23, 0), TODAY, False),
    ],
)
def test_the_reminder_time_is_the_patients_own_in_their_time_zone(
    db, time_zone, reminder_time, local_day, due
):
    patient = reminded_patient(reminder_time, time_zone)
    notify.send_due_reminders()
    patient.refresh_from_db()
    assert len(mail.outbox) == int(due)
    assert patient.last_reminded_on == (local_day if due else None)


def test_a_patient_is_reminded_at_most_once_a_day(db, frozen_now):
    patient = reminded_patient(ONE_PM)
    assert notify.send_due_reminders().reminded == 1
    frozen_now.shift(dt.timedelta(minutes=5))
    assert notify.send_due_reminders().reminded == 0
    frozen_now.shift(dt.timedelta(hours=10))  # 23:05 in London, still the same day
    assert notify.send_due_reminders().reminded == 0
    assert len(mail.outbox) == 1

    frozen_now.shift(dt.timedelta(hours=14))  # 13:05 in London the next day
    assert notify.send_due_reminders().reminded == 1
    patient.refresh_from_db()
    assert patient.last_reminded_on == TODAY + dt.timedelta(days=1)


def test_the_day_a_reminder_was_sent_is_the_patients_own(db):
    # In Kiritimati it is already 16 June: a reminder sent on their 15 June was yesterday's.
    patient = reminded_patient(dt.time(1, 30), "Pacific/Kiritimati", last_reminded_on=TODAY)
    assert notify.send_due_reminders().reminded == 1
    patient.refresh_from_db()
    assert patient.last_reminded_on == TODAY + dt.timedelta(days=1)


def test_two_runs_at_the_same_moment_claim_each_reminder_once(db):
    reminded_patient(ONE_PM)
    due = notify.due_patients(NOW)
    assert len(notify.claim(due)) == 1
    assert notify.claim(due) == {}  # the second run read the patient before the first wrote


def test_no_reminder_once_the_day_is_logged(db):
    patient = reminded_patient(ONE_PM)
    factories.DailyLogFactory(patient=patient, date=TODAY)
    assert notify.send_due_reminders().reminded == 0
    assert mail.outbox == []


def test_yesterdays_log_does_not_count_for_today(db):
    patient = reminded_patient(dt.time(1, 30), "Pacific/Kiritimati")  # their 16 June
    factories.DailyLogFactory(patient=patient, date=TODAY)
    assert notify.send_due_reminders().reminded == 1


def test_a_day_logged_after_the_list_was_read_is_not_reminded(db):
    patient = reminded_patient(ONE_PM)
    due = notify.due_patients(NOW)
    factories.DailyLogFactory(patient=patient, date=TODAY)
    assert notify.claim(due) == {}


@pytest.mark.parametrize(
    "change", ["reminders off", "email off and no phone", "no email address", "account closed"]
)
def test_no_reminder_for_a_patient_who_cannot_or_does_not_want_one(db, change):
    patient = reminded_patient(ONE_PM)
    user = patient.user
    if change == "reminders off":
        patient.reminder_time = None
    elif change == "email off and no phone":
        patient.reminder_email = False
    elif change == "no email address":
        user.email = ""
    else:
        user.is_active = False
    patient.save()
    user.save()

    assert notify.send_due_reminders().reminded == 0
    patient.refresh_from_db()
    assert patient.last_reminded_on is None


def test_the_first_four_weeks_after_an_injection_ask_about_reactions_and_warning_signs(db):
    patient = reminded_patient(ONE_PM)
    factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=28))
    notify.send_due_reminders()
    body = mail.outbox[0].body
    assert "Day 28 after your injection: note any reactions" in body
    # The emergency number of the patient's country, from their time zone.
    assert "Get help now (call 999) if you have difficulty breathing" in body


def test_the_patients_own_emergency_number_is_the_one_named(db):
    patient = reminded_patient(ONE_PM, emergency_number="112")
    factories.InjectionFactory(patient=patient, date=TODAY)
    notify.send_due_reminders()
    assert "Injection day: note any reactions" in mail.outbox[0].body
    assert "Get help now (call 112)" in mail.outbox[0].body


def test_after_four_weeks_the_warning_signs_are_no_longer_named(db):
    patient = reminded_patient(ONE_PM)
    factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=29))
    notify.send_due_reminders()
    assert "Get help now" not in mail.outbox[0].body


def make_cycles(patient: Patient, injected: list[dt.date], wears_off_on_day: int) -> None:
    """Logs of 8 before each injection, 2 from day 7, and 8 again from `wears_off_on_day`,
    up to yesterday."""
    for day in injected:
        factories.InjectionFactory(patient=patient, date=day)
    for day in (injected[0] + dt.timedelta(days=n) for n in range(-14, 0)):
        factories.DailyLogFactory(patient=patient, date=day, severity=8)
    for start, end in zip(injected, [*injected[1:], TODAY], strict=True):  # today not logged
        day = start
        while day < end:
            since = (day - start).days
            severity = 2 if 7 <= since < wears_off_on_day else 8
            factories.DailyLogFactory(patient=patient, date=day, severity=severity)
            day += dt.timedelta(days=1)


def test_around_the_forecast_wearing_off_day_the_reminder_says_so(db):
    patient = reminded_patient(ONE_PM)
    injected = [TODAY - dt.timedelta(days=d) for d in (246, 156, 66)]
    make_cycles(patient, injected, wears_off_on_day=70)
    cycles, products = patient.relief_cycles_and_products()
    forecast = relief.wearing_off_forecast(cycles, products, relief_settings())
    assert forecast.day is not None and abs(66 - forecast.day) <= 7

    notify.send_due_reminders()

    body = mail.outbox[0].body
    assert f"Your relief usually wears off around day {forecast.day}:" in body


def test_earlier_cycles_of_another_product_give_the_reminder_no_forecast(db):
    patient = reminded_patient(ONE_PM)
    injected = [TODAY - dt.timedelta(days=d) for d in (246, 156, 66)]
    make_cycles(patient, injected, wears_off_on_day=70)
    patient.injections.filter(date=injected[-1]).update(product="dysport")

    notify.send_due_reminders()

    assert "\n" not in mail.outbox[0].body.split("\n\n")[1]  # the prompt alone


def test_push_goes_to_every_phone_of_the_patient(db, vapid, push_service):
    patient = reminded_patient(ONE_PM, reminder_email=False)
    phones = [subscribe(patient, "phone"), subscribe(patient, "tablet")]
    subscribe(reminded_patient(HALF_PAST_ONE), "not-due")

    outcome = notify.send_due_reminders()

    assert (outcome.reminded, outcome.emails, outcome.pushes) == (1, 0, 2)
    assert mail.outbox == []
    assert sorted(sent_to(push_service)) == sorted(phone.endpoint for phone in phones)
    call = push_service.call_args_list[0]
    assert call.args[0]["keys"] == {"p256dh": "BPhone-key", "auth": "phone-secret"}
    message = json.loads(call.args[1])
    assert message["title"] == "Relief Tracker: today's check-in"
    assert message["body"].startswith("How are your spasms today?")
    assert message["url"] == "/today/"
    assert call.kwargs["vapid_claims"] == {"sub": vapid.WEBPUSH_VAPID_SUBJECT}
    assert call.kwargs["ttl"] > 0
    assert PushSubscription.objects.filter(last_success_at=NOW).count() == 2


def test_a_reminder_goes_to_the_patients_phones_never_to_their_clinicians(db, vapid, push_service):
    patient = reminded_patient(ONE_PM, reminder_email=False)
    phone = subscribe(patient)
    clinician = factories.ClinicianFactory()
    factories.ShareFactory(patient=patient, clinician=clinician)
    PushSubscription.objects.create(
        user=clinician, endpoint="https://fcm.googleapis.com/fcm/send/doc", p256dh="k", auth="a"
    )

    assert notify.send_due_reminders().pushes == 1
    assert sent_to(push_service) == [phone.endpoint]


def test_a_reminder_push_that_failed_is_sent_again_to_the_patients_phone(
    db, vapid, push_service, frozen_now
):
    patient = reminded_patient(ONE_PM, reminder_email=False)
    phone = subscribe(patient)
    push_service.side_effect = push_error(500)
    assert notify.send_due_reminders().failures == 1
    push_service.reset_mock(side_effect=True)
    frozen_now.shift(dt.timedelta(minutes=1))

    assert jobs.send_due_deliveries.call() == 1
    assert sent_to(push_service) == [phone.endpoint]
    assert json.loads(push_service.call_args.args[1])["url"] == "/today/"


@pytest.mark.parametrize("status", [404, 410])
def test_a_phone_that_unsubscribed_is_forgotten(db, vapid, push_service, status):
    patient = reminded_patient(ONE_PM)
    gone, kept = subscribe(patient, "old-phone"), subscribe(patient, "new-phone")

    def answer(info, *args, **kwargs):
        if info["endpoint"] == gone.endpoint:
            raise push_error(status)

    push_service.side_effect = answer

    outcome = notify.send_due_reminders()

    assert (outcome.pushes, outcome.subscriptions_removed, outcome.emails) == (1, 1, 1)
    assert list(PushSubscription.objects.values_list("pk", flat=True)) == [kept.pk]


def test_a_subscription_outside_the_push_services_is_never_sent_to(db, vapid, push_service):
    # Saved before the allow-list (or by hand): checked again before each send, and dropped.
    patient = reminded_patient(ONE_PM)
    kept = subscribe(patient, "phone")
    PushSubscription.objects.create(
        user=patient.user,
        endpoint="https://metadata.google.internal/computeMetadata/v1/",
        p256dh="k",
        auth="a",
    )

    outcome = notify.send_due_reminders()

    assert sent_to(push_service) == [kept.endpoint]
    assert (outcome.pushes, outcome.subscriptions_removed) == (1, 1)
    assert list(PushSubscription.objects.values_list("pk", flat=True)) == [kept.pk]


def test_push_requests_follow_no_redirects(db, vapid, push_service):
    subscribe(reminded_patient(ONE_PM))
    notify.send_due_reminders()
    assert push_service.call_args.kwargs["requests_session"].max_redirects == 0


def test_a_push_service_failing_for_a_week_loses_the_subscription(db, vapid, push_service):
    patient = reminded_patient(ONE_PM, reminder_email=False)
    phone = subscribe(patient)
    push_service.side_effect = push_error(500)

    notify.send_due_reminders()
    phone.refresh_from_db()
    assert phone.failures == 1

    PushSubscription.objects.update(failures=notify.MAX_PUSH_FAILURES - 1)
    Patient.objects.update(last_reminded_on=None)
    outcome = notify.send_due_reminders()
    assert outcome.subscriptions_removed == 1
    assert not PushSubscription.objects.exists()


def test_a_network_error_is_counted_and_the_next_phone_still_gets_its_push(db, vapid, push_service):
    first, second = reminded_patient(ONE_PM), reminded_patient(ONE_PM)
    subscribe(first), subscribe(second)
    push_service.side_effect = [requests.ConnectionError("down"), None]

    outcome = notify.send_due_reminders()

    assert (outcome.pushes, outcome.failures, outcome.emails) == (1, 1, 2)


def test_without_vapid_keys_push_is_off_and_a_push_only_patient_is_not_reminded(
    db, settings, push_service
):
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    push_only = reminded_patient(ONE_PM, reminder_email=False)
    subscribe(push_only)
    both = reminded_patient(ONE_PM)
    subscribe(both)

    outcome = notify.send_due_reminders()

    assert (outcome.reminded, outcome.emails, outcome.pushes) == (1, 1, 0)
    push_service.assert_not_called()
    push_only.refresh_from_db()
    assert push_only.last_reminded_on is None


class OneAddressFailsBackend(EmailBackend):
    def send_messages(self, messages):
        if any(address.startswith("bounce") for m in messages for address in m.to):
            raise OSError("550 no such mailbox")
        return super().send_messages(messages)


def test_an_email_that_fails_does_not_stop_the_others(db, settings):
    settings.EMAIL_BACKEND = f"{__name__}.OneAddressFailsBackend"
    reminded_patient(ONE_PM, user=factories.UserFactory(email="bounce@example.com"))
    reminded_patient(ONE_PM)

    outcome = notify.send_due_reminders()

    assert (outcome.reminded, outcome.emails, outcome.failures) == (2, 1, 1)


@pytest.mark.parametrize("count", [3, 30])
def test_the_query_count_does_not_grow_with_the_number_of_patients(db, vapid, push_service, count):
    for n in range(count):
        patient = reminded_patient(ONE_PM)
        factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=40 + n))
        factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=1))
        subscribe(patient)

    with CaptureQueriesContext(connection) as queries:
        outcome = notify.send_due_reminders()

    assert (outcome.reminded, outcome.emails, outcome.pushes) == (count, count, count)
    # 1 the patients who may be due, with their user, last log and whether they have a phone;
    # 2-5 the claim: savepoint, the free ones locked, their day written, release;
    # 6 the injections; 7 the logs of those past four weeks (for the forecast);
    # 8 the push subscriptions; 9 their last success written.
    assert len(queries) == 9, [query["sql"] for query in queries]


def test_the_command_says_what_it_sent(db):
    reminded_patient(ONE_PM)
    out = io.StringIO()
    call_command("send_reminders", stdout=out)
    assert out.getvalue() == (
        "Reminders: 1 reminded: 1 emails, 0 notifications, 0 failed, "
        "0 subscriptions removed (Web Push is off: no VAPID keys set).\n"
    )


def test_the_vapid_keys_made_sign_a_push_request(db, vapid):
    key = notify.vapid_key(vapid.WEBPUSH_VAPID_PRIVATE_KEY)
    headers = key.sign({"sub": vapid.WEBPUSH_VAPID_SUBJECT, "aud": "https://push.example.com"})
    assert headers["Authorization"].startswith("vapid t=")
    assert vapid.WEBPUSH_VAPID_PUBLIC_KEY in headers["Authorization"]
