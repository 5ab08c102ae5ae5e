"""A patient's copy of all their data, and the deletion of their account."""

import csv
import datetime as dt
import io
import json
from types import SimpleNamespace

import pytest
from allauth.account.models import EmailAddress, EmailConfirmation
from allauth.mfa.models import Authenticator
from auditlog.context import set_actor
from auditlog.models import LogEntry as ChangeEntry
from axes.models import AccessAttempt, AccessAttemptExpiration, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib.admin.models import CHANGE
from django.contrib.admin.models import LogEntry as AdminEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import models
from django.db.models.functions import Cast
from django.test import Client
from django.urls import reverse

from tests import factories
from tests.conftest import NOW, TODAY
from tracker.access import open_patient_for_clinician
from tracker.job_records import Delivery
from tracker.models import (
    AccessEvent,
    DailyLog,
    GlobalImpression,
    Invitation,
    Patient,
    PushSubscription,
    Share,
    User,
)

pytestmark = pytest.mark.usefixtures("frozen_now")

# Strings found nowhere else, so that a search of every table finds only what is theirs.
USERNAME = "qz-leaving-patient"
EMAIL = "qz.leaving@example.org"
LAST_NAME = "Quazzlewick"
NOTE = "Xylo-note-7f3a"
ADDRESS = "203.0.113.77"  # the clinician's, as the access history keeps it


@pytest.fixture
def leaving(db, logged_in):
    """A patient with a row in every table that can hold something of theirs."""
    user = factories.UserFactory(
        username=USERNAME, email=EMAIL, first_name="Pat", last_name=LAST_NAME
    )
    patient = factories.PatientFactory(user=user, conditions=["cervical_dystonia"])
    EmailAddress.objects.create(user=user, email=EMAIL, verified=True, primary=True)
    Authenticator.objects.create(user=user, type="totp", data={"secret": "JBSWY3DPEHPK3PXQ"})
    user.groups.add(Group.objects.create(name="trial participants"))
    user.user_permissions.add(Permission.objects.get(codename="view_dailylog"))
    clinician = factories.ClinicianFactory(username="doc", first_name="Ana", last_name="Jones")
    gone = factories.ClinicianFactory(username="gone-doc")
    with set_actor(user):  # the change history, with the patient as the one who changed
        factories.ShareFactory(patient=patient, clinician=gone).revoke()
        log = factories.DailyLogFactory(patient=patient, date=TODAY, note=NOTE)
        log.severity = 4
        log.save()
        reaction = factories.ReactionFactory(patient=patient, note=NOTE)
    with set_actor(clinician):
        Invitation.issue(clinician).accept(patient)
        injection = factories.InjectionFactory(patient=patient, notes=NOTE, entered_by=clinician)
        factories.InjectionSiteFactory(injection=injection, units=injection.total_units)
    reaction.injection = injection
    reaction.save()
    GlobalImpression.objects.create(
        patient=patient, injection=injection, timepoint="peak", date=TODAY, score=2
    )
    factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=1)).delete()
    open_patient_for_clinician(clinician, patient.pk, AccessEvent.What.CSV, "/clinic/x", ADDRESS)
    PushSubscription.objects.create(
        user=user,
        endpoint="https://fcm.googleapis.com/fcm/send/qz",
        p256dh="key",
        auth="secret",
    )
    # A reminder to send again (tracker/jobs.py), as when their mail server was down.
    Delivery.objects.create(kind="reminder", channel="email", recipient=user, day=TODAY)
    admin = factories.UserFactory(username="admin", is_staff=True, is_superuser=True)
    AdminEntry.objects.log_actions(admin.pk, [user], CHANGE, change_message="Fixed the email")
    # django-axes' records of log-ins by name: a wrong password, then the right one.
    login = reverse("account_login")
    Client().post(login, {"login": EMAIL, "password": "wrong"})
    Client().post(login, {"login": USERNAME, "password": "correct horse battery"})
    Client().post(login, {"login": EMAIL, "password": "wrong again"})
    for attempt in AccessAttempt.objects.all():  # as when AXES_USE_ATTEMPT_EXPIRATION is on
        AccessAttemptExpiration.objects.create(access_attempt=attempt, expires_at=NOW)
    AccessFailureLog.objects.create(  # as when AXES_ENABLE_ACCESS_FAILURE_LOG is on
        username=USERNAME, ip_address="192.0.2.8", user_agent="", http_accept="", path_info=login
    )
    EmailConfirmation.create(EmailAddress.objects.get(user=user))  # a link to confirm it
    # Someone else, who must lose nothing.
    other = factories.PatientFactory(user__username="other")
    factories.ShareFactory(patient=other, clinician=clinician)
    other_log = factories.DailyLogFactory(patient=other, date=TODAY, note="other's note")
    return SimpleNamespace(
        user=user,
        patient=patient,
        clinician=clinician,
        injection=injection,
        other=other,
        other_log=other_log,
        phone=logged_in(user, password_just_typed=True),
        laptop=logged_in(user),
    )


def fields_pointing_at(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if f.is_relation and f.related_model]


def rows_of(user: User) -> dict[type[models.Model], set]:
    """Every row that is the user's: that points at them, or (in turn) at such a row, by a
    foreign key that deletes with it. Found by walking every model, not from a list."""
    theirs = {User: {user.pk}}
    while True:
        found = {model: set(pks) for model, pks in theirs.items()}
        for model in apps.get_models(include_auto_created=True):
            for field in fields_pointing_at(model):
                targets = theirs.get(field.related_model)
                if targets and field.remote_field.on_delete is models.CASCADE:
                    pks = model._base_manager.filter(**{f"{field.attname}__in": targets})
                    found.setdefault(model, set()).update(pks.values_list("pk", flat=True))
        found = {model: pks for model, pks in found.items() if pks}
        if found == theirs:
            return theirs
        theirs = found


TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.GenericIPAddressField)


def text_mentions(model: type[models.Model], needle: str) -> list:
    hits = []
    for field in model._meta.concrete_fields:
        if isinstance(field, TEXT_FIELDS):
            as_text = model._base_manager.annotate(_text=Cast(field.name, models.TextField()))
            hits += as_text.filter(_text__icontains=needle).values_list("pk", flat=True)
    return hits


# Deleting the account


# Tables that point at users in a way no patient's account can be pointed at.
NOT_A_PATIENTS = {
    "admin.LogEntry": "its user is a member of staff (entries about a patient's records, by "
    "content type and id, are in the fixture)",
    "tracker.Membership": "its user is a clinic's member, a member of staff",
    "tracker.MemberInvitation": "it was sent by a clinic's admin, a member of staff",
    "tracker.PrintBatch": "its user is the clinician who printed it (the patients it holds are "
    "ids in a list, purged after 2 days)",
}


def test_every_model_that_points_at_a_user_or_patient_has_a_row_in_the_fixture(leaving):
    # So that the leftovers test below covers every table: a model added later without a row
    # here fails this test until the fixture makes one.
    ids = {User: leaving.user.pk, Patient: leaving.patient.pk}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.label in NOT_A_PATIENTS:
            continue
        pointers = [f for f in fields_pointing_at(model) if f.related_model in ids]
        if pointers:
            rows = model._base_manager.none()
            for field in pointers:
                rows |= model._base_manager.filter(**{field.attname: ids[field.related_model]})
            assert rows.exists(), f"give the patient a {model._meta.label} row in `leaving`"


def test_deleting_the_account_leaves_nothing_of_theirs_in_any_table(leaving):
    theirs = rows_of(leaving.user)
    types = ContentType.objects.get_for_models(*theirs)
    response = leaving.phone.post(reverse("account_delete"), {"confirm": "on"})
    assert response.status_code == 302

    for model in apps.get_models(include_auto_created=True):
        name = model._meta.label
        # No row of theirs is left, and no row points at one.
        assert not model._base_manager.filter(pk__in=theirs.get(model, ())).exists(), name
        for field in fields_pointing_at(model):
            gone = theirs.get(field.related_model, ())
            assert not model._base_manager.filter(**{f"{field.attname}__in": gone}), name
        # No text names them: not their username, email, last name or notes.
        for needle in [USERNAME, EMAIL, LAST_NAME, NOTE]:
            assert not text_mentions(model, needle), f"{name} still mentions {needle}"
    # Nor do the logs that point at a record by content type and id.
    for model, pks in theirs.items():
        keys = [str(pk) for pk in pks]
        assert not ChangeEntry.objects.filter(content_type=types[model], object_pk__in=keys)
        assert not AdminEntry.objects.filter(content_type=types[model], object_id__in=keys)


def test_deleting_the_account_deletes_their_log_in_history(leaving):
    names = [USERNAME, EMAIL]
    assert AccessAttempt.objects.filter(username__in=names).exists()
    assert AccessLog.objects.filter(username__in=names).exists()
    assert AccessFailureLog.objects.filter(username__in=names).exists()
    leaving.phone.post(reverse("account_delete"), {"confirm": "on"})
    for model in [AccessAttempt, AccessFailureLog, AccessLog]:
        assert not model.objects.filter(username__in=names).exists(), model
    assert not AccessAttemptExpiration.objects.exists()


def test_the_invitation_they_used_stays_the_clinicians_without_a_link_to_them(leaving):
    invitation = leaving.clinician.invitations.get()
    assert invitation.used_by == leaving.patient
    leaving.phone.post(reverse("account_delete"), {"confirm": "on"})
    invitation.refresh_from_db()
    assert (invitation.used_by, invitation.used_at) == (None, NOW)  # used, by nobody now


def test_deleting_the_account_ends_every_session_and_share(leaving):
    leaving.phone.post(reverse("account_delete"), {"confirm": "on"})
    sessions = [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()]
    assert str(leaving.user.pk) not in sessions
    response = leaving.laptop.get(reverse("today"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert list(Patient.objects.visible_to(leaving.clinician)) == [leaving.other]
    assert not Share.objects.exclude(patient=leaving.other).exists()


def test_deleting_the_account_leaves_others_alone(leaving):
    leaving.phone.post(reverse("account_delete"), {"confirm": "on"})
    assert User.objects.filter(username__in=["doc", "gone-doc", "admin", "other"]).count() == 4
    assert leaving.other.logs.get() == leaving.other_log
    assert leaving.clinician.invitations.count() == 1  # theirs: used, by nobody now
    assert Authenticator.objects.filter(user=leaving.clinician).exists()


def test_the_patient_is_told_and_logged_out(leaving):
    response = leaving.phone.post(reverse("account_delete"), {"confirm": "on"}, follow=True)
    assert "Your account and all your data have been deleted." in response.content.decode()
    assert "_auth_user_id" not in leaving.phone.session


def test_nothing_is_deleted_without_the_box_ticked(leaving):
    response = leaving.phone.post(reverse("account_delete"), {})
    assert response.status_code == 200
    assert "Tick the box to confirm" in response.content.decode()
    assert User.objects.filter(pk=leaving.user.pk).exists()


def test_deleting_asks_for_the_password_first(leaving):
    response = leaving.laptop.get(reverse("account_delete"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))
    response = leaving.laptop.post(reverse("account_delete"), {"confirm": "on"})
    assert response.url.startswith(reverse("account_reauthenticate"))
    assert User.objects.filter(pk=leaving.user.pk).exists()


def test_the_confirm_page_says_what_goes_and_offers_a_copy(leaving):
    page = leaving.phone.get(reverse("account_delete")).content.decode()
    assert "every clinician you share with loses access" in page
    assert reverse("account_data_json") in page
    assert reverse("account_data_csv") in page


def test_clinicians_cannot_use_the_patients_account_pages(leaving, logged_in):
    client = logged_in(leaving.clinician, password_just_typed=True)
    for name in ["account_delete", "account_data_json", "account_data_csv"]:
        assert client.get(reverse(name)).status_code == 404
    assert client.post(reverse("account_delete"), {"confirm": "on"}).status_code == 404
    assert User.objects.filter(pk=leaving.clinician.pk).exists()


def test_the_settings_page_links_to_the_copy_and_the_deletion(leaving):
    page = leaving.laptop.get(reverse("settings")).content.decode()
    for name in ["account_data_json", "account_data_csv", "account_delete"]:
        assert reverse(name) in page


# The copy of their data


def test_the_json_copy_has_every_table_of_theirs_and_their_change_history(leaving):
    response = leaving.phone.get(reverse("account_data_json"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"] == (
        f'attachment; filename="relief-tracker-all-data-{USERNAME}-{TODAY.isoformat()}.json"'
    )
    data = json.loads(response.content)
    tables = data["tables"]
    expected = {model._meta.label_lower for model in rows_of(leaving.user)}
    # Less the many-to-many tables of groups and permissions, which only name them.
    expected -= {"tracker.user_groups", "tracker.user_user_permissions"}
    assert expected <= set(tables)
    assert tables["tracker.user"][0]["username"] == USERNAME
    assert {row["note"] for row in tables["tracker.dailylog"]} == {NOTE}
    assert tables["tracker.injectionsite"][0]["injection_id"] == str(leaving.injection.pk)
    assert data["people"][str(leaving.clinician.pk)] == "Ana Jones"
    assert tables["tracker.accessevent"][0]["what"] == "csv"
    changes = {(entry["table"], entry["action"]) for entry in data["change_history"]}
    assert ("tracker.dailylog", "update") in changes
    assert ("tracker.injection", "create") in changes
    by = {entry["by"] for entry in data["change_history"] if entry["table"] == "tracker.injection"}
    assert by == {"Ana Jones"}


def test_the_copy_leaves_out_secrets_and_other_patients(leaving):
    text = leaving.phone.get(reverse("account_data_json")).content.decode()
    assert leaving.user.password not in text
    assert "JBSWY3DPEHPK3PXQ" not in text
    assert "other's note" not in text
    assert '"password"' not in text


def test_the_copy_lists_their_sessions_without_their_keys(leaving):
    data = json.loads(leaving.phone.get(reverse("account_data_json")).content)
    sessions = data["tables"]["usersessions.usersession"]
    assert len(sessions) == 2  # the phone and the laptop
    assert all("session_key" not in row and row["ip"] for row in sessions)
    for key in [leaving.phone.session.session_key, leaving.laptop.session.session_key]:
        assert key not in json.dumps(data)


def csv_sections(text: str) -> dict[str, list[dict]]:
    """The readable copy's sections: title -> its records, by column name."""
    sections, lines = {}, list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    index = 0
    while index < len(lines):
        if not lines[index]:
            index += 1
            continue
        title, columns = lines[index][0], lines[index + 1]
        index += 2
        rows = []
        while index < len(lines) and lines[index]:
            rows.append(dict(zip(columns, lines[index], strict=True)))
            index += 1
        sections[title] = rows
    return sections


def test_the_csv_copy_is_a_spreadsheet_a_person_reads(leaving):
    response = leaving.phone.get(reverse("account_data_csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode()
    assert text.startswith("\ufeff")
    sections = csv_sections(text)
    [log] = sections["Daily check-ins"]
    assert (log["Date"], log["Spasms (0 to 10)"], log["Note"]) == (str(TODAY), "4 out of 10", NOTE)
    assert any(row["What happened"] == "Update" for row in sections["Changes to your records"])
    assert any(
        row["Clinician"] == "Ana Jones" for row in sections["Whom you share your diary with"]
    )


def test_the_csv_copy_neutralises_what_a_spreadsheet_would_run(leaving):
    DailyLog.objects.filter(patient=leaving.patient).update(note="=HYPERLINK(1)")
    text = leaving.phone.get(reverse("account_data_csv")).content.decode()
    [log] = csv_sections(text)["Daily check-ins"]
    assert log["Note"] == "'=HYPERLINK(1)"


def test_a_patient_without_a_diary_yet_gets_their_account(db, logged_in):
    user = factories.UserFactory(username="new")
    client = logged_in(user, password_just_typed=True)
    data = json.loads(client.get(reverse("account_data_json")).content)
    assert [row["username"] for row in data["tables"]["tracker.user"]] == ["new"]
    assert "tracker.patient" not in data["tables"]
