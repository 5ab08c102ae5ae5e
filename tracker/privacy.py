"""A patient's rights over their data: a copy of all of it (JSON or CSV), and the end of their
account with every row that is theirs.

"Theirs" is one definition for both: the user and every row that deleting the user deletes
with them (Django's deletion collector follows the CASCADE foreign keys), so a model added
later joins the download and the deletion without a change here. The copy also holds the rows
that name one of theirs by a foreign key that outlives them (the invitations they used, whose
link is set to null when they go), found by walking every model. Rows that hold their data
without a foreign key are found apart: the change history and the admin's log (by record), the
log-in history (django-axes', by username or email address); the sessions are found by
allauth's record of each log-in (usersessions). tests/test_export_complete.py holds the copy to
every row that refers to them.
"""

import json
from collections import defaultdict

from allauth.usersessions.models import UserSession
from auditlog.context import disable_auditlog
from auditlog.models import LogEntry as ChangeEntry
from django.apps import apps
from django.contrib.admin.models import ADDITION, CHANGE, DELETION
from django.contrib.admin.models import LogEntry as AdminEntry
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, router, transaction
from django.db.models import Q
from django.db.models.deletion import Collector
from django.utils import timezone

from tracker.models import User

# Secrets are not part of the copy: the password's hash, the authenticator app's key, the keys
# of their sessions and their hashes, the key of an email confirmation, the token of the
# clinician's invitation link (a file that leaks must not log anyone in or confirm anything).
NOT_EXPORTED = {
    "tracker.user": {"password"},
    "mfa.authenticator": {"data"},
    "usersessions.usersession": {"session_key"},
    "axes.accesslog": {"session_hash"},
    "account.emailconfirmation": {"key"},
    "tracker.invitation": {"token"},
}
# The logs that name a row by content type and id: in the copy as their own sections.
RECORD_LOGS = {ChangeEntry, AdminEntry}

Keys = dict[type[models.Model], list]


def owned_keys(user: User) -> Keys:
    """The primary keys of every row that is the user's, by model, the user included."""
    return deleted_with([user])


def deleted_with(rows: list[models.Model]) -> Keys:
    """The primary keys of these rows and of every row that deleting them deletes, by model."""
    if not rows:
        return {}
    collector = Collector(using=router.db_for_write(type(rows[0])), origin=rows[0])
    collector.collect(rows)
    keys = defaultdict(set)
    for model, instances in collector.data.items():
        keys[model].update(instance.pk for instance in instances)
    for queryset in collector.fast_deletes:
        keys[queryset.model].update(queryset.values_list("pk", flat=True))
    return {
        model: sorted(pks, key=str)
        for model, pks in keys.items()
        if pks and not model._meta.auto_created  # the many-to-many tables: groups
    }


def exported_keys(user: User) -> Keys:
    """The rows in the user's copy: theirs, those that name one of theirs by a foreign key that
    outlives them, and their log-in history."""
    keys = owned_keys(user)
    for more in [naming_their_rows(keys), *(deleted_with(list(rows)) for rows in logins(user))]:
        for model, pks in more.items():
            keys[model] = sorted({*keys.get(model, []), *pks}, key=str)
    return keys


def naming_their_rows(keys: Keys) -> Keys:
    """Rows that point at one of these by a foreign key that does not delete with it (an
    invitation they used: SET_NULL), by model."""
    found = defaultdict(set)
    for model in apps.get_models():
        if model in RECORD_LOGS:
            continue
        for field in model._meta.concrete_fields:
            targets = keys.get(field.related_model) if field.is_relation else None
            if targets and field.remote_field.on_delete is not models.CASCADE:
                rows = model._base_manager.filter(**{f"{field.attname}__in": targets})
                found[model].update(rows.values_list("pk", flat=True))
    return {model: sorted(pks, key=str) for model, pks in found.items() if pks}


def logins(user: User) -> list[models.QuerySet]:
    """django-axes' records of log-ins, successful or not, under their username or email
    address (the name typed; tracker.lockout records the account's username for either)."""
    if not apps.is_installed("axes"):
        return []
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    names = Q(username__iexact=user.username)
    if user.email:
        names |= Q(username__iexact=user.email)
    return [model.objects.filter(names) for model in [AccessAttempt, AccessFailureLog, AccessLog]]


def about_their_rows(keys: Keys, pk_field: str) -> Q:
    """Rows of a generic log (auditlog's, the admin's) that are about one of these rows."""
    condition = Q(pk__in=[])
    types = ContentType.objects.get_for_models(*keys)
    for model, pks in keys.items():
        condition |= Q(content_type=types[model], **{f"{pk_field}__in": [str(pk) for pk in pks]})
    return condition


def change_history(user: User, keys: Keys):
    return (
        ChangeEntry.objects.filter(about_their_rows(keys, "object_pk") | Q(actor=user))
        .select_related("content_type", "actor")
        .order_by("timestamp", "pk")
    )


def admin_log(keys: Keys):
    return (
        AdminEntry.objects.filter(about_their_rows(keys, "object_id"))
        .select_related("content_type", "user")
        .order_by("action_time", "pk")
    )


def as_row(instance: models.Model) -> dict:
    """The stored fields of a row, foreign keys as ids (`patient_id`), many-to-many fields as
    the names of what they hold (the user's groups and permissions)."""
    hidden = NOT_EXPORTED.get(instance._meta.label_lower, set())
    row = {
        field.attname: field.value_from_object(instance)
        for field in instance._meta.concrete_fields
        if field.name not in hidden
    }
    for field in instance._meta.many_to_many:
        row[field.name] = [str(item) for item in getattr(instance, field.name).all()]
    return row


def table_label(content_type: ContentType) -> str:
    model = content_type.model_class()
    return model._meta.label_lower if model else content_type.model


def user_name(user: User | None) -> str:
    return (user.get_full_name() or user.username) if user else ""


def their_data(user: User) -> dict:
    """Everything the app holds about the user, as plain values (see JSONEncoder for dates)."""
    keys = exported_keys(user)
    tables = {
        model._meta.label_lower: [
            as_row(row)
            for row in model._base_manager.filter(pk__in=pks)
            .prefetch_related(*(field.name for field in model._meta.many_to_many))
            .order_by("pk")
        ]
        for model, pks in sorted(keys.items(), key=lambda item: item[0]._meta.label_lower)
    }
    # Others named in their rows: the clinicians they share with, who opened their diary.
    other_ids = {
        row[field.attname]
        for model in keys
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is User
        for row in tables[model._meta.label_lower]
        if row[field.attname] not in {None, user.pk}
    }
    history = [
        {
            "id": entry.pk,
            "at": entry.timestamp,
            "action": entry.get_action_display(),
            "table": table_label(entry.content_type),
            "record": entry.object_pk,
            "what": entry.object_repr,
            "changes": entry.changes,
            "by": user_name(entry.actor) or entry.actor_email or "",
            "from": entry.remote_addr,
        }
        for entry in change_history(user, keys)
    ]
    admin = [
        {
            "id": entry.pk,
            "at": entry.action_time,
            "action": ADMIN_ACTIONS.get(entry.action_flag, str(entry.action_flag)),
            "table": table_label(entry.content_type) if entry.content_type else "",
            "record": entry.object_id,
            "what": entry.object_repr,
            "changes": entry.get_change_message(),
            "by": user_name(entry.user),
        }
        for entry in admin_log(keys)
    ]
    return {
        "exported_at": timezone.now(),
        "username": user.username,
        "tables": tables,
        "people": {
            str(other.pk): user_name(other) for other in User.objects.filter(pk__in=other_ids)
        },
        "change_history": history,
        "admin_log": admin,
    }


ADMIN_ACTIONS = {ADDITION: "addition", CHANGE: "change", DELETION: "deletion"}


def csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def as_csv_lines(data: dict) -> list[list[str]]:
    """One line per stored value: table, record, field, value; every table in one file."""
    lines = [["table", "record", "field", "value"]]
    for table, rows in data["tables"].items():
        for row in rows:
            record = csv_value(row.get("id", ""))
            lines += [[table, record, field, csv_value(v)] for field, v in row.items()]
    for pk, name in data["people"].items():
        lines.append(["people", pk, "name", name])
    for section in ["change_history", "admin_log"]:
        for entry in data[section]:
            record = csv_value(entry["id"])
            lines += [[section, record, f, csv_value(v)] for f, v in entry.items() if f != "id"]
    return lines


@transaction.atomic
def delete_account(user: User) -> None:
    """The user and every row that is theirs, gone: their diary, shares (which end), access
    history, change history, log-in attempts and sessions."""
    keys = owned_keys(user)
    by_them = Q(actor=user) | (Q(actor_email__iexact=user.email) if user.email else Q(pk__in=[]))
    ChangeEntry.objects.filter(about_their_rows(keys, "object_pk") | by_them).delete()
    AdminEntry.objects.filter(about_their_rows(keys, "object_id")).delete()
    for session in UserSession.objects.filter(user=user):  # every device's, as allauth records
        session.end()  # them at each log-in; the records themselves go with the user
    with disable_auditlog():  # no new history of the deletion: it would name them
        user.delete()
    for rows in logins(user):
        rows.delete()
