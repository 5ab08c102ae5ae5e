"""The background jobs (tracker/jobs.py): the schedule queues each job once however many
schedulers run, reminders go once per patient per day however many workers run, failed
reminders are tried again, old rows are purged, a clinician's batch of summaries is printed,
and the real database queue runs them through `manage.py db_worker`."""

import datetime as dt
from unittest import mock

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from tests import factories
from tests.conftest import NOW, TODAY
from tracker import alerts, jobs, notify
from tracker.job_records import Delivery, JobSchedule, PrintBatch
from tracker.models import AccessEvent, Tombstone

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
ONE_PM = dt.time(13, 0)  # NOW is 13:00 in London


def reminded_patient(**fields):
    return factories.PatientFactory(reminder_time=ONE_PM, time_zone="Europe/London", **fields)


def test_each_scheduled_job_is_queued_once_however_many_schedulers_run(
    db, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        first = jobs.enqueue_scheduled(NOW)
        second = jobs.enqueue_scheduled(NOW)  # another machine's scheduler, the same minute
    assert first == ["send_reminders", "send_due_deliveries", "purge_expired"]
    assert second == []
    later = jobs.enqueue_scheduled(NOW + dt.timedelta(minutes=1))
    assert later == ["send_reminders", "send_due_deliveries"]  # purging is daily
    assert JobSchedule.objects.get(name="purge_expired").next_run_at == NOW + dt.timedelta(days=1)


def test_the_schedule_command_queues_the_due_jobs_into_the_database(
    db, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = DATABASE
    with django_capture_on_commit_callbacks(execute=True):
        call_command("schedule_jobs", stdout=mock.Mock())
    queued = set(DBTaskResult.objects.values_list("task_path", flat=True))
    assert queued == {f"tracker.jobs.{name}" for name in jobs.SCHEDULE}


def test_two_workers_sending_reminders_at_once_remind_each_patient_once(db, frozen_now):
    patients = [reminded_patient() for _ in range(3)]
    due = notify.due_patients(NOW)  # both workers read the list before either claims
    assert set(notify.claim(due)) == set(patients)
    assert notify.claim(due) == {}
    assert jobs.send_reminders.call().startswith("0 reminded")  # a later run finds none due
    assert mail.outbox == []


def test_the_reminder_job_sends_each_due_reminder(db, frozen_now):
    patient = reminded_patient()
    assert jobs.send_reminders.call().startswith("1 reminded: 1 emails")
    assert jobs.send_reminders.call().startswith("0 reminded")
    assert [m.to for m in mail.outbox] == [[patient.user.email]]


def test_a_reminder_email_that_fails_is_sent_again_by_the_sweep_and_shows_in_the_admin(
    db, time_machine, admin_client
):
    time_machine.move_to(NOW, tick=False)
    patient = reminded_patient()
    with mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages") as send:
        send.side_effect = OSError("mail server down")
        outcome = notify.send_due_reminders()
    assert (outcome.reminded, outcome.emails, outcome.failures) == (1, 0, 1)
    retry = Delivery.objects.get()
    assert (retry.kind, retry.channel, retry.day, retry.state) == (
        "reminder",
        "email",
        TODAY,
        "pending",
    )
    assert jobs.send_due_deliveries.call() == 0  # its wait is not over
    time_machine.shift(dt.timedelta(minutes=1))
    assert jobs.send_due_deliveries.call() == 1
    assert [m.to for m in mail.outbox] == [[patient.user.email]]
    retry.refresh_from_db()
    assert (retry.state, retry.attempts) == ("sent", 2)


def test_a_reminder_retry_is_not_sent_once_the_day_is_logged(db, time_machine):
    time_machine.move_to(NOW, tick=False)
    patient = reminded_patient()
    notify.record_reminder_failures({patient: TODAY}, Delivery.Channel.EMAIL, "down")
    factories.DailyLogFactory(patient=patient, date=TODAY)
    time_machine.shift(dt.timedelta(minutes=1))
    assert jobs.send_due_deliveries.call() == 0
    assert mail.outbox == []


def test_a_reminder_retry_is_given_up_the_next_day(db, time_machine):
    time_machine.move_to(NOW, tick=False)
    patient = reminded_patient()
    notify.record_reminder_failures({patient: TODAY}, Delivery.Channel.EMAIL, "down")
    time_machine.shift(dt.timedelta(hours=7))
    with mock.patch("tracker.notify.email_for", side_effect=OSError("still down")):
        jobs.send_due_deliveries.call()
    assert Delivery.objects.get().state == Delivery.State.FAILED


def test_purging_forgets_expired_sessions_old_tombstones_and_finished_jobs(
    db, time_machine, settings, patient
):
    time_machine.move_to(NOW, tick=False)
    settings.TOMBSTONE_DAYS = 365
    expired, current = SessionStore(), SessionStore()
    expired.set_expiry(1)
    expired.create()
    current.create()
    tombstone = {"patient": patient, "kind": "log", "version": 1}
    Tombstone.objects.create(key="old", deleted_at=NOW - dt.timedelta(days=366), **tombstone)
    Tombstone.objects.create(key="new", deleted_at=NOW - dt.timedelta(days=364), **tombstone)
    time_machine.shift(dt.timedelta(seconds=5))
    purged = jobs.purge_expired.call()
    assert purged["sessions"] == 1 and purged["tombstones"] == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [current.session_key]
    assert list(Tombstone.objects.values_list("key", flat=True)) == ["new"]


def test_the_database_queue_runs_an_alert_through_db_worker(
    transactional_db, settings, patient, clinician
):
    """The real path: the save queues a row in the database, a worker process's loop (run
    here in batch mode) claims it and sends the alert."""
    settings.TASKS = DATABASE
    factories.ReactionFactory(patient=patient, kind="breathing", onset_date=TODAY)
    [queued] = DBTaskResult.objects.all()
    assert queued.task_path == "tracker.jobs.alert_red_flag"
    assert mail.outbox == []  # nothing is sent inside the patient's request
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    queued.refresh_from_db()
    assert queued.status == "SUCCESSFUL" and queued.return_value == 1
    assert [m.to for m in mail.outbox] == [[clinician.email]]


# Batch printing.


def test_a_clinician_prints_a_batch_of_their_patients_summaries(
    db, settings, patient, clinician, django_capture_on_commit_callbacks
):
    pytest.importorskip("weasyprint")
    settings.TASKS = IMMEDIATE
    second = factories.PatientFactory(conditions=["blepharospasm"])
    factories.ShareFactory(patient=second, clinician=clinician)
    with django_capture_on_commit_callbacks(execute=True):
        batch = jobs.enqueue_batch_pdf(clinician, [patient.pk, second.pk])
    batch.refresh_from_db()
    assert (batch.state, batch.pages) == (PrintBatch.State.READY, 2)
    assert bytes(batch.pdf).startswith(b"%PDF")
    looked = AccessEvent.objects.filter(clinician=clinician, what=AccessEvent.What.PDF)
    assert set(looked.values_list("patient_id", flat=True)) == {patient.pk, second.pk}
    assert jobs.batch_for(clinician, batch.pk) == batch


def test_a_batch_may_not_hold_a_patient_who_does_not_share(
    db, patient, clinician, stranger_clinician, other_patient
):
    with pytest.raises(PermissionDenied):
        jobs.enqueue_batch_pdf(clinician, [patient.pk, other_patient.pk])
    with pytest.raises(PermissionDenied):
        jobs.enqueue_batch_pdf(stranger_clinician, [patient.pk])
    with pytest.raises(PermissionDenied):
        jobs.enqueue_batch_pdf(patient.user, [patient.pk])  # the owner is no clinician
    assert not PrintBatch.objects.exists()


def test_only_its_clinician_sees_a_batch(db, patient, clinician, stranger_clinician, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    batch = jobs.enqueue_batch_pdf(clinician, [patient.pk])
    assert jobs.batch_for(clinician, batch.pk) == batch
    assert jobs.batch_for(stranger_clinician, batch.pk) is None
    assert jobs.batch_for(patient.user, batch.pk) is None


def test_a_patient_who_stops_sharing_before_printing_is_left_out(db, settings, patient, clinician):
    pytest.importorskip("weasyprint")
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    batch = jobs.enqueue_batch_pdf(clinician, [patient.pk])
    patient.shares.get().revoke()
    assert jobs.render_batch_pdf.call(batch.pk) == 0
    batch.refresh_from_db()
    assert batch.state == PrintBatch.State.FAILED and not batch.pdf
    assert not AccessEvent.objects.filter(clinician=clinician).exists()


def test_alerts_module_sends_nothing_for_an_unknown_id(db):
    assert alerts.alert_clinicians("not-an-id") == 0
