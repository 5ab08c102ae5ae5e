"""A patient's copy of their data (/account/data.json and .csv) holds everything stored about
them: every row that refers to them, found here by walking every model, so that a model added
later without its place in the copy fails the first test (issue 12, "A complete export")."""

import json

import pytest
from auditlog.models import LogEntry as ChangeEntry
from django.apps import apps
from django.contrib.admin.models import LogEntry as AdminEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse

from tests import test_privacy
from tests.test_privacy import ADDRESS, EMAIL, USERNAME, fields_pointing_at
from tracker.models import AccessEvent, Tombstone, User

pytestmark = pytest.mark.usefixtures("frozen_now")

# A patient with a row in every table that can hold something of theirs (tests/test_privacy.py).
leaving = test_privacy.leaving

# What the copy leaves out: secrets that would log someone in or confirm something if the file
# leaked (tracker/privacy.py NOT_EXPORTED). A field hidden from the copy must be named here.
SECRET_FIELDS = [
    *["tracker.user.password", "mfa.authenticator.data", "usersessions.usersession.session_key"],
    *["axes.accesslog.session_hash", "account.emailconfirmation.key", "tracker.invitation.token"],
]
SECRETS: dict[str, set[str]] = {}
for name in SECRET_FIELDS:
    SECRETS.setdefault(name.rpartition(".")[0], set()).add(name.rpartition(".")[2])

# The logs that name a record by content type and id, and the copy's section for each.
RECORD_LOGS = {ChangeEntry: ("object_pk", "change_history"), AdminEntry: ("object_id", "admin_log")}


def login_history(user: User) -> dict[type[models.Model], set]:
    """django-axes' rows under their username or email address: found by name, not by key."""
    found = {}
    for model in apps.get_app_config("axes").get_models():
        if any(field.name == "username" for field in model._meta.concrete_fields):
            named = model.objects.filter(username__iexact=user.username) | model.objects.filter(
                username__iexact=user.email
            )
            found[model] = set(named.values_list("pk", flat=True))
    return found


def rows_about(user: User) -> dict[type[models.Model], set]:
    """Every row that refers to the user, or (in turn) to such a row: by a foreign key whatever
    it does on delete, by content type and id, or by name for the log-in history."""
    found = {User: {user.pk}} | login_history(user)
    while True:
        grown = {model: set(pks) for model, pks in found.items()}
        for model in apps.get_models(include_auto_created=True):
            for field in fields_pointing_at(model):
                if found.get(field.related_model):
                    rows = model._base_manager.filter(
                        **{f"{field.attname}__in": found[field.related_model]}
                    )
                    grown.setdefault(model, set()).update(rows.values_list("pk", flat=True))
        for log, (pk_field, _) in RECORD_LOGS.items():
            for model, pks in found.items():
                if model._meta.auto_created or not pks:
                    continue
                rows = log.objects.filter(
                    content_type=ContentType.objects.get_for_model(model),
                    **{f"{pk_field}__in": [str(pk) for pk in pks]},
                )
                grown.setdefault(log, set()).update(rows.values_list("pk", flat=True))
        grown = {model: pks for model, pks in grown.items() if pks}
        if grown == found:
            return found
        found = grown


def the_copy(client) -> dict:
    response = client.get(reverse("account_data_json"))
    assert response.status_code == 200
    return json.loads(response.content)


def assert_in_the_copy(data: dict, model: type[models.Model], pk) -> None:
    label = model._meta.label_lower
    if model in RECORD_LOGS:
        section = RECORD_LOGS[model][1]
        assert pk in {entry["id"] for entry in data[section]}, f"{label} {pk} not in {section}"
    elif model._meta.auto_created:
        # A many-to-many table (their groups, their permissions): the names, on the owner's row.
        through = model._base_manager.get(pk=pk)
        field = next(
            field
            for owner_model in apps.get_models()
            for field in owner_model._meta.many_to_many
            if field.remote_field.through is model
        )
        owner = getattr(through, field.m2m_field_name())
        held = getattr(through, field.m2m_reverse_field_name())
        table = data["tables"][owner._meta.label_lower]
        row = next(row for row in table if row["id"] == owner.pk)
        assert str(held) in row[field.name], f"{label} {pk}: {held} not on their row"
    else:
        rows = data["tables"].get(label, [])
        pk_name = model._meta.pk.attname
        row = next((row for row in rows if str(row[pk_name]) == str(pk)), None)
        assert row is not None, f"{label} {pk} is not in the copy"
        hidden = SECRETS.get(label, set())
        stored = {field.attname for field in model._meta.concrete_fields}
        assert set(row) >= stored - hidden, f"{label}: {stored - hidden - set(row)} left out"
        assert not set(row) & hidden, f"{label}: a secret in the copy"


def test_every_row_that_refers_to_them_is_in_the_json_copy(leaving):
    about = rows_about(leaving.user)
    # The walk reaches the rows that deletion alone would miss (the fixture has them all).
    labels = {model._meta.label_lower for model in about}
    assert {
        "tracker.invitation",  # used by them: SET_NULL
        "tracker.tombstone",
        "tracker.accessevent",
        "auditlog.logentry",
        "admin.logentry",
        "axes.accessattempt",
        "axes.accessattemptexpiration",
        "axes.accessfailurelog",
        "axes.accesslog",
        "account.emailconfirmation",
        "tracker.user_groups",
    } <= labels
    data = the_copy(leaving.phone)
    for model, pks in about.items():
        for pk in pks:
            assert_in_the_copy(data, model, pk)


def test_the_copy_has_no_row_of_anyone_elses_diary(leaving):
    data = the_copy(leaving.phone)
    for table in ["tracker.dailylog", "tracker.share", "tracker.accessevent", "tracker.patient"]:
        assert {row.get("patient_id", row["id"]) for row in data["tables"][table]} == {
            leaving.patient.pk
        }


def test_the_copy_says_who_opened_their_diary_when_and_from_where(leaving):
    data = the_copy(leaving.phone)
    [event] = data["tables"]["tracker.accessevent"]
    assert (event["what"], event["address"], event["at"]) == ("csv", ADDRESS, event["at"])
    assert data["people"][str(event["clinician_id"])] == "Ana Jones"


def test_the_copy_has_their_log_in_history_by_username_and_email(leaving):
    tables = the_copy(leaving.phone)["tables"]
    log_ins = tables["axes.accesslog"]
    assert log_ins and {row["username"] for row in log_ins} == {USERNAME}
    [failure] = tables["axes.accessfailurelog"]
    assert failure["ip_address"] == "192.0.2.8"
    [attempt] = tables["axes.accessattempt"]
    assert attempt["failures_since_start"] == 2
    assert "wrong" not in attempt["post_data"]  # axes keeps no password typed
    assert EMAIL in attempt["post_data"]
    assert "session_hash" not in tables["axes.accesslog"][0]


def test_the_copy_has_the_invitation_they_used_when_and_from_whom(leaving):
    data = the_copy(leaving.phone)
    [invitation] = data["tables"]["tracker.invitation"]
    assert invitation["used_by_id"] == leaving.patient.pk
    assert invitation["used_at"]
    assert data["people"][str(invitation["clinician_id"])] == "Ana Jones"
    assert "token" not in invitation
    assert leaving.clinician.invitations.get().token not in json.dumps(data)


def test_the_copy_has_what_they_deleted(leaving):
    tables = the_copy(leaving.phone)["tables"]
    [tombstone] = tables["tracker.tombstone"]
    assert tombstone["kind"] == Tombstone.Kind.LOG
    assert tombstone["patient_id"] == leaving.patient.pk


def test_the_copy_has_what_the_admin_changed_and_their_groups(leaving):
    data = the_copy(leaving.phone)
    [entry] = data["admin_log"]
    assert (entry["table"], entry["record"], entry["by"]) == (
        "tracker.user",
        str(leaving.user.pk),
        "admin",
    )
    assert entry["changes"] == "Fixed the email"
    [user] = data["tables"]["tracker.user"]
    assert user["groups"] == ["trial participants"]
    assert user["user_permissions"] == ["Relief Tracker | daily log | Can view daily log"]


def test_the_csv_copy_has_the_same_rows(leaving):
    from django.apps import apps

    from tests.test_privacy import csv_sections
    from tracker.privacy import SECTION_TITLES

    response = leaving.phone.get(reverse("account_data_csv"))
    sections = csv_sections(response.content.decode())
    data = the_copy(leaving.phone)
    for table, rows in data["tables"].items():
        model = apps.get_model(table)
        title = SECTION_TITLES.get(table, str(model._meta.verbose_name_plural).capitalize())
        assert len(sections[title]) == len(rows), table
    assert any(row.get("Address") == ADDRESS for row in sections["Who opened your diary"])
    admin = sections["Changes made on the admin site"]
    assert any(row["Changes"] == "Fixed the email" for row in admin)


# Each look is kept with the address it came from.


@pytest.fixture
def clinic_browser(clinician, logged_in):
    return logged_in(clinician)


def test_a_clinicians_look_is_kept_with_the_address_it_came_from(patient, clinic_browser):
    url = reverse("clinic_report", args=[patient.pk])
    response = clinic_browser.get(url, REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 200
    event = AccessEvent.objects.get(patient=patient)
    assert (event.what, event.path, event.address) == ("page", url, "198.51.100.4")


def test_behind_a_proxy_the_address_is_the_one_it_saw(patient, clinic_browser, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    clinic_browser.get(
        reverse("clinic_summary", args=[patient.pk]),
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.1, 198.51.100.9",
    )
    assert AccessEvent.objects.get(patient=patient).address == "198.51.100.9"


def test_a_stranger_leaves_no_access_event(patient, stranger_clinician, logged_in):
    browser = logged_in(stranger_clinician)
    response = browser.get(reverse("clinic_report", args=[patient.pk]), REMOTE_ADDR="192.0.2.5")
    assert response.status_code == 404
    assert not AccessEvent.objects.exists()
