"""A patient's rights over their data: a copy of all of it (JSON or CSV), and the end of their
account with every row that is theirs.

"Theirs" is one definition for both: the user and every row that deleting the user deletes
with them (Django's deletion collector follows the CASCADE foreign keys), so a model added
later joins the download and the deletion without a change here. Rows that hold their data
without a foreign key are found apart: the change history, the admin's log, the log-in
attempts; the sessions are found by allauth's record of each log-in (usersessions).
"""

import json
from collections import defaultdict

from allauth.usersessions.models import UserSession
from auditlog.context import disable_auditlog
from auditlog.models import LogEntry as ChangeEntry
from django.apps import apps
from django.contrib.admin.models import LogEntry as AdminEntry
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, router, transaction
from django.db.models import Q
from django.db.models.deletion import Collector
from django.utils import timezone

from tracker.models import User

# Secrets are not part of the copy: the password's hash, the authenticator app's key, the keys
# of their sessions (a file that leaks must not log anyone in).
NOT_EXPORTED = {
    "tracker.user": {"password"},
    "mfa.authenticator": {"data"},
    "usersessions.usersession": {"session_key"},
}

Keys = dict[type[models.Model], list]


def owned_keys(user: User) -> Keys:
    """The primary keys of every row that is the user's, by model, the user included."""
    collector = Collector(using=router.db_for_write(User), origin=user)
    collector.collect([user])
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


def as_row(instance: models.Model) -> dict:
    """The stored fields of a row, foreign keys as ids (`patient_id`)."""
    hidden = NOT_EXPORTED.get(instance._meta.label_lower, set())
    return {
        field.attname: field.value_from_object(instance)
        for field in instance._meta.concrete_fields
        if field.name not in hidden
    }


def user_name(user: User | None) -> str:
    return (user.get_full_name() or user.username) if user else ""


def their_data(user: User) -> dict:
    """Everything the app holds about the user, as plain values (see JSONEncoder for dates)."""
    keys = owned_keys(user)
    tables = {
        model._meta.label_lower: [
            as_row(row) for row in model._base_manager.filter(pk__in=pks).order_by("pk")
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
            "at": entry.timestamp,
            "action": entry.get_action_display(),
            "table": entry.content_type.model_class()._meta.label_lower
            if entry.content_type.model_class()
            else entry.content_type.model,
            "record": entry.object_pk,
            "what": entry.object_repr,
            "changes": entry.changes,
            "by": user_name(entry.actor),
        }
        for entry in change_history(user, keys)
    ]
    return {
        "exported_at": timezone.now(),
        "username": user.username,
        "tables": tables,
        "people": {
            str(other.pk): user_name(other) for other in User.objects.filter(pk__in=other_ids)
        },
        "change_history": history,
    }


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
    for number, entry in enumerate(data["change_history"], start=1):
        lines += [["change_history", str(number), f, csv_value(v)] for f, v in entry.items()]
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
    if apps.is_installed("axes"):
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog

        names = Q(username__iexact=user.username)
        if user.email:
            names |= Q(username__iexact=user.email)
        for model in [AccessAttempt, AccessFailureLog, AccessLog]:
            model.objects.filter(names).delete()
