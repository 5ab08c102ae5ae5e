"""Red-flag alerts (tracker/alerts.py): every clinician with access hears of each red flag once,
by whatever path it was saved, with no health data; never a stranger, never twice."""

import datetime as dt
import json
import uuid
from unittest import mock

import pytest
import requests
from django.core import mail
from django.urls import reverse

from tests import factories
from tests.conftest import TODAY
from tracker import alerts, jobs
from tracker.job_records import Delivery
from tracker.models import Clinic, Membership, PushSubscription, Reaction, share_diary

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def jobs_run_at_once(settings):
    settings.TASKS = IMMEDIATE
    settings.SITE_URL = "https://relief.example"


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Runs what waits for the transaction's commit (the alert job is queued then)."""

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


def red_flag(patient, kind="breathing", severity="mild", **fields) -> Reaction:
    return factories.ReactionFactory(
        patient=patient, kind=kind, severity=severity, onset_date=TODAY, **fields
    )


def alerted(user) -> list:
    return [message for message in mail.outbox if message.to == [user.email]]


def test_a_red_flag_emails_the_clinician_with_access_and_not_a_stranger(
    patient, clinician, stranger_clinician, committed
):
    committed(lambda: red_flag(patient))
    assert len(alerted(clinician)) == 1
    assert alerted(stranger_clinician) == []
    assert alerted(patient.user) == []  # the patient is told on the page, not by this
    delivery = Delivery.objects.get()
    assert (delivery.kind, delivery.channel, delivery.state) == ("alert", "email", "sent")
    assert delivery.attempts == 1


def test_the_alert_holds_no_health_data_only_a_link_to_the_clinic_list(
    patient, clinician, committed
):
    patient.user.first_name, patient.user.last_name = "Alex", "Morgan"
    patient.user.save()
    committed(lambda: red_flag(patient, note="my throat is closing"))
    [message] = alerted(clinician)
    text = message.subject + message.body
    assert "https://relief.example/clinic/" in message.body
    for health_data in ("Alex", "Morgan", "breathing", "Breathing", "throat", "Get help now"):
        assert health_data not in text


def test_every_clinician_sharing_is_alerted_and_one_whose_share_ended_is_not(
    patient, clinician, committed
):
    second = factories.ClinicianFactory()
    factories.ShareFactory(patient=patient, clinician=second)
    former = factories.ClinicianFactory()
    factories.ShareFactory(patient=patient, clinician=former).revoke()
    committed(lambda: red_flag(patient))
    assert len(alerted(clinician)) == len(alerted(second)) == 1
    assert alerted(former) == []


def test_a_reaction_that_is_not_a_red_flag_alerts_no_one(patient, clinician, committed):
    committed(lambda: red_flag(patient, kind="site_pain"))
    committed(lambda: red_flag(patient, kind="voice_change", severity="moderate"))
    assert mail.outbox == []
    assert not Delivery.objects.exists()


def test_a_reaction_that_becomes_severe_enough_alerts_once(patient, clinician, committed):
    reaction = committed(lambda: red_flag(patient, kind="voice_change", severity="moderate"))
    reaction.severity = "severe"  # now a red flag: Contact your clinic today
    committed(reaction.save)
    assert len(alerted(clinician)) == 1


def test_the_patient_editing_the_red_flag_does_not_alert_again(patient, clinician, committed):
    reaction = committed(lambda: red_flag(patient))
    for note in ("worse in the evening", "a little better"):
        reaction.note = note
        committed(reaction.save)
    reaction.resolved_date = TODAY
    committed(reaction.save)
    assert len(alerted(clinician)) == 1
    assert Delivery.objects.count() == 1


def test_a_red_flag_deleted_before_its_alert_is_sent_is_not_sent(
    patient, clinician, django_capture_on_commit_callbacks, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        reaction = red_flag(patient)
    reaction_id = str(reaction.pk)
    alerts.queue_alert_rows(reaction_id)  # the job began: its row is written
    [delivery] = Delivery.objects.all()
    reaction.delete()
    assert not alerts.send(delivery.pk)
    assert alerts.alert_clinicians(reaction_id) == 0
    assert mail.outbox == []


def test_a_red_flag_handled_before_its_alert_is_sent_is_closed_unsent(patient, clinician):
    reaction = red_flag(patient)
    [pk] = alerts.queue_alert_rows(str(reaction.pk))
    Reaction.objects.filter(pk=reaction.pk).update(handled_at=dt.datetime.now(dt.UTC))
    assert not alerts.send(pk)
    assert Delivery.objects.get().state == Delivery.State.CANCELLED
    assert mail.outbox == []


def test_clinicians_handling_a_red_flag_does_not_queue_an_alert(patient, clinician, committed):
    reaction = committed(lambda: red_flag(patient))
    with mock.patch("tracker.jobs.alert_red_flag") as job:
        reaction.handled_at, reaction.handled_by = dt.datetime.now(dt.UTC), clinician
        committed(lambda: reaction.save(update_fields=["handled_at", "handled_by"]))
    job.enqueue.assert_not_called()


def test_a_red_flag_saved_through_the_page_form_alerts(web, patient, clinician, committed):
    data = {"kinds": ["breathing"], "severity": "severe", "onset_date": TODAY.isoformat()}
    response = committed(lambda: web.post(reverse("reaction_new"), data))
    assert response.status_code == 302
    assert len(alerted(clinician)) == 1


def test_a_red_flag_saved_through_the_api_alerts_once_however_often_it_is_sent(
    patient_client, patient, clinician, committed
):
    body = {"id": str(uuid.uuid4()), "kind": "allergic", "severity": "severe"}
    body["onset_date"] = TODAY.isoformat()
    for _ in range(2):  # a retried POST with the same id
        response = committed(lambda: patient_client.post("/api/v1/reactions/", body, "json"))
        assert response.status_code in (200, 201)
    assert len(alerted(clinician)) == 1


def test_a_red_flag_saved_through_sync_alerts_once_however_often_the_batch_is_sent(
    patient_client, patient, clinician, committed
):
    data = {"kind": "cannot_swallow", "severity": "severe", "onset_date": TODAY.isoformat()}
    item = {"type": "reaction", "key": str(uuid.uuid4()), "base_version": 0, "data": data}
    for _ in range(2):
        response = committed(
            lambda: patient_client.post("/api/v1/sync/", {"items": [item]}, format="json")
        )
        assert response.status_code == 200
    assert len(alerted(clinician)) == 1


def test_two_workers_running_the_same_alert_send_it_once(patient, clinician):
    reaction = red_flag(patient)
    # Both jobs write their rows before either sends: the unique rows and the claim decide.
    first, second = (alerts.queue_alert_rows(str(reaction.pk)) for _ in range(2))
    assert first == second
    assert sum(alerts.send(pk) for pk in first + second) == 1
    assert len(alerted(clinician)) == 1


def test_a_failed_email_is_tried_again_after_a_wait_then_given_up(patient, clinician, time_machine):
    time_machine.move_to(dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC), tick=False)
    reaction = red_flag(patient)
    with mock.patch("tracker.alerts.mail.send_mail", side_effect=OSError("mail server down")):
        assert alerts.alert_clinicians(str(reaction.pk)) == 0
        delivery = Delivery.objects.get()
        assert (delivery.state, delivery.attempts) == ("pending", 1)
        assert "mail server down" in delivery.last_error
        assert jobs.send_due_deliveries.call() == 0  # not before its wait is over
        for _ in range(6):
            time_machine.shift(dt.timedelta(hours=3))
            jobs.send_due_deliveries.call()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("failed", 6)
    assert mail.outbox == []


def test_a_failed_email_is_sent_by_the_sweep_once_the_mail_server_is_back(
    patient, clinician, time_machine
):
    time_machine.move_to(dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC), tick=False)
    reaction = red_flag(patient)
    with mock.patch("tracker.alerts.mail.send_mail", side_effect=OSError("down")):
        alerts.alert_clinicians(str(reaction.pk))
    time_machine.shift(dt.timedelta(seconds=31))
    assert jobs.send_due_deliveries.call() == 1
    assert len(alerted(clinician)) == 1
    assert Delivery.objects.get().state == "sent"


def test_the_sweep_alerts_for_a_red_flag_whose_job_was_never_queued(patient, clinician):
    Reaction.objects.bulk_create(
        [Reaction(patient=patient, kind="breathing", severity="mild", onset_date=TODAY)]
    )  # no signal
    assert jobs.send_due_deliveries.call() == 1
    assert len(alerted(clinician)) == 1
    assert jobs.send_due_deliveries.call() == 0


@pytest.fixture
def push_service(settings):
    """Web Push on, and pywebpush.webpush answering as the push service would (201)."""
    for name in ("PRIVATE_KEY", "PUBLIC_KEY", "SUBJECT"):
        setattr(settings, f"WEBPUSH_VAPID_{name}", "x")
    with mock.patch("tracker.notify.vapid_key"), mock.patch("pywebpush.webpush") as webpush:
        yield webpush


def phone_of(user) -> PushSubscription:
    endpoint = f"https://fcm.googleapis.com/fcm/send/{user.username}-phone"
    return PushSubscription.objects.create(user=user, endpoint=endpoint, p256dh="k", auth="a")


def pushed_to(webpush: mock.Mock) -> list[str]:
    return [call.args[0]["endpoint"] for call in webpush.call_args_list]


def test_a_red_flag_is_emailed_and_pushed_to_the_clinicians_phone_not_a_strangers(
    patient, clinician, stranger_clinician, push_service, committed
):
    phone = phone_of(clinician)
    phone_of(stranger_clinician)
    committed(lambda: red_flag(patient, note="my throat is closing"))
    rows = Delivery.objects.values_list("recipient", "channel", "state")
    assert sorted(rows) == [(clinician.pk, "email", "sent"), (clinician.pk, "push", "sent")]
    assert pushed_to(push_service) == [phone.endpoint]
    assert json.loads(push_service.call_args.args[1]) == {
        "title": "Relief Tracker: a patient you follow logged a warning sign",
        "body": "Open your clinic list to see who.",
        "url": "/clinic/",  # opened by the service worker on the app's own origin
        "tag": "red-flag",
    }
    assert len(alerted(clinician)) == 1
    assert alerted(stranger_clinician) == []


def test_two_workers_sending_the_same_alert_push_it_once(patient, clinician, push_service):
    phone_of(clinician)
    reaction = red_flag(patient)
    first, second = (alerts.queue_alert_rows(str(reaction.pk)) for _ in range(2))
    assert first == second and len(first) == 2  # the email and the push
    # Each worker tries to send each row: two sends of the push attempted, one made.
    assert sum(alerts.send(pk) for pk in first + second) == 2
    assert push_service.call_count == 1
    assert len(alerted(clinician)) == 1


def test_a_clinics_nurse_is_pushed_and_its_coordinator_is_not(patient, push_service, committed):
    clinic = Clinic.objects.create(name="Clinic")
    share_diary(patient, clinic=clinic)
    nurse, coordinator = factories.ClinicianFactory(), factories.ClinicianFactory()
    Membership.objects.create(clinic=clinic, user=nurse, role="nurse")
    Membership.objects.create(clinic=clinic, user=coordinator, role="coordinator")
    phones = {user: phone_of(user).endpoint for user in (nurse, coordinator)}
    committed(lambda: red_flag(patient))
    assert pushed_to(push_service) == [phones[nurse]]


def test_without_vapid_keys_the_clinician_is_emailed_only(
    patient, clinician, push_service, settings, committed
):
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    phone_of(clinician)
    committed(lambda: red_flag(patient))
    assert list(Delivery.objects.values_list("channel", flat=True)) == ["email"]
    push_service.assert_not_called()


def test_a_push_the_service_refused_is_tried_again_after_a_wait(
    patient, clinician, push_service, time_machine
):
    time_machine.move_to(dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC), tick=False)
    phone = phone_of(clinician)
    reaction = red_flag(patient)
    push_service.side_effect = requests.ConnectionError("push service down")
    assert alerts.alert_clinicians(str(reaction.pk)) == 1  # the email went
    push = Delivery.objects.get(channel="push")
    assert (push.state, push.attempts) == ("pending", 1)
    push_service.side_effect = None
    time_machine.shift(dt.timedelta(seconds=31))
    assert jobs.send_due_deliveries.call() == 1
    assert pushed_to(push_service)[-1] == phone.endpoint
    push.refresh_from_db()
    assert push.state == "sent"


def test_the_alert_names_the_product_from_settings_and_where_to_write(
    patient, clinician, committed, settings
):
    settings.SITE_NAME, settings.RELIEF_CONTACT_EMAIL = "Spasm Diary", "care@clinic.example"
    committed(lambda: red_flag(patient))
    [message] = alerted(clinician)
    assert message.subject == "Spasm Diary: a patient you follow logged a warning sign"
    assert "shares their Spasm Diary diary" in message.body
    assert "Relief Tracker" not in message.subject + message.body
    assert "care@clinic.example" in message.body
