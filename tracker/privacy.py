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

from tracker.models import Patient, User

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


# ---- The copy as a spreadsheet a person can read ----
# One section per kind of record, each with a title line, a line of column names and a line
# per record; a blank line between sections. Dates and times in the patient's own time zone,
# products, muscles and choices by name, units with their unit, ids and internal names left
# out (the JSON copy keeps them). Every table of the copy is a section: tests/test_frictions.py
# and tests/test_export_complete.py hold it to that.

SECTION_TITLES = {
    "tracker.user": "Your account",
    "tracker.patient": "Your settings",
    "tracker.patientcondition": "Your conditions",
    "tracker.dailylog": "Daily check-ins",
    "tracker.injection": "Injections",
    "tracker.injectionsite": "Muscles injected",
    "tracker.reaction": "Reactions",
    "tracker.globalimpression": "Your answers about each injection",
    "tracker.share": "Whom you share your diary with",
    "tracker.accessevent": "Who opened your diary",
    "tracker.pushsubscription": "Phones that show your reminders",
    "tracker.tombstone": "Entries you deleted",
    "tracker.invitation": "Invitations you used",
}
SECTION_ORDER = list(SECTION_TITLES)
COLUMN_TITLES = {
    ("tracker.dailylog", "severity"): "Spasms (0 to 10)",
    ("tracker.dailylog", "pain"): "Pain (0 to 10)",
    ("tracker.dailylog", "spasm_frequency"): "How often spasms came",
    ("tracker.injection", "total_units"): "Total units",
    ("tracker.injectionsite", "units"): "Units",
    ("tracker.globalimpression", "score"): "Overall since the injection",
    ("tracker.accessevent", "what"): "What they opened",
    ("tracker.accessevent", "at"): "When",
    ("tracker.share", "created_at"): "Since",
    ("tracker.share", "revoked_at"): "Stopped sharing at",
    ("tracker.share", "clinician"): "Clinician",
}
GENERIC_TITLES = {"created_at": "Saved at", "updated_at": "Last changed at"}
# Left out of the readable copy: ids, versions, and what only the app needs.
LEFT_OUT = {
    *{"id", "version", "password", "key", "token", "session_key", "data", "p256dh", "auth"},
    *{"diary_revision", "history_revision", "checkin_more_open", "patient", "user", "path"},
}
# In the change history: the record's own links and stamps, which say nothing to a person.
CHANGES_LEFT_OUT = LEFT_OUT | {
    *{"created_at", "updated_at", "sites", "reactions", "global_impressions"}
}
LAST_COLUMNS = ["created_at", "updated_at"]


def readable_csv_lines(user: User) -> list[list[str]]:
    """The copy, section by section, in words (see above)."""
    keys = exported_keys(user)
    patient = Patient.objects.filter(user=user).first()
    zone = patient.zone if patient else timezone.get_default_timezone()
    lines: list[list[str]] = []
    models_in_order = sorted(
        keys,
        key=lambda m: (
            SECTION_ORDER.index(m._meta.label_lower)
            if m._meta.label_lower in SECTION_ORDER
            else len(SECTION_ORDER),
            m._meta.label_lower,
        ),
    )
    for model in models_in_order:
        label = model._meta.label_lower
        hidden = NOT_EXPORTED.get(label, set())
        fields = sorted(
            (
                f
                for f in model._meta.concrete_fields
                if not f.primary_key and f.name not in LEFT_OUT | hidden
            ),
            key=lambda f: LAST_COLUMNS.index(f.name) + 1 if f.name in LAST_COLUMNS else 0,
        )
        rows = model._base_manager.filter(pk__in=keys[model]).select_related(
            *(f.name for f in fields if f.is_relation)
        )
        title = SECTION_TITLES.get(label, str(model._meta.verbose_name_plural).capitalize())
        lines += [[title], [column_title(label, f) for f in fields]]
        lines += [[readable(row, f, zone) for f in fields] for row in sorted(rows, key=row_order)]
        lines.append([])
    for title, entries in [
        ("Changes to your records", change_history(user, keys)),
        ("Changes made on the admin site", admin_log(keys)),
    ]:
        lines += [[title], ["When", "What happened", "To", "Entry", "Changes", "By"]]
        lines += [change_line(entry, zone) for entry in entries]
        lines.append([])
    return lines


def row_order(row) -> tuple:
    """Oldest first, by the record's own date or time when it has one."""
    for name in ["date", "onset_date", "at", "created_at", "date_joined", "deleted_at"]:
        value = getattr(row, name, None)
        if value is not None:
            return (0, str(value), str(row.pk))
    return (1, "", str(row.pk))


def column_title(label: str, field) -> str:
    return (
        COLUMN_TITLES.get((label, field.name))
        or GENERIC_TITLES.get(field.name)
        or str(field.verbose_name).capitalize()
    )


def readable(row, field, zone) -> str:
    """One value as a person reads it."""
    value = getattr(row, field.name)
    if value is None or value == "":
        return ""
    if field.is_relation:
        return user_name(value) if isinstance(value, User) else str(value)
    if field.choices:
        shown = getattr(row, f"get_{field.name}_display")()
        return f"{value} ({shown})" if isinstance(value, int) else str(shown)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if field.name.endswith("units"):
        return f"{value:f}".rstrip("0").rstrip(".") + " units"
    if row._meta.label_lower == "tracker.dailylog" and field.name in {"severity", "pain"}:
        anchors = {0: " (none)", 10: " (the worst you can imagine)"}
        return f"{value} out of 10{anchors.get(value, '')}"
    if hasattr(value, "astimezone"):
        return f"{value.astimezone(zone):%Y-%m-%d %H:%M}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return csv_value(value)


def change_line(entry, zone) -> list[str]:
    if isinstance(entry, AdminEntry):
        return [
            f"{entry.action_time.astimezone(zone):%Y-%m-%d %H:%M}",
            ADMIN_ACTIONS.get(entry.action_flag, "").capitalize(),
            entry_table(entry.content_type),
            entry.object_repr,
            entry.get_change_message(),
            user_name(entry.user),
        ]
    model = entry.content_type.model_class() if entry.content_type else None
    changes = entry.changes if isinstance(entry.changes, dict) else {}
    said = "; ".join(
        said_change(model, name, values)
        for name, values in changes.items()
        if name not in CHANGES_LEFT_OUT
    )
    return [
        f"{entry.timestamp.astimezone(zone):%Y-%m-%d %H:%M}",
        entry.get_action_display().capitalize(),
        entry_table(entry.content_type),
        entry.object_repr,
        said,
        user_name(entry.actor) or entry.actor_email or "",
    ]


def said_change(model, name: str, values) -> str:
    """ "Spasms: 5 → 4", by the field's name and its choices' words; a link to another record
    only as "changed" (its id means nothing to a person)."""
    try:
        field = model._meta.get_field(name) if model else None
    except LookupError:
        field = None
    title = str(field.verbose_name).capitalize() if field else name.replace("_", " ").capitalize()
    if field is not None and field.is_relation:
        return f"{title}: changed"
    words = {str(code): str(label) for code, label in (field.flatchoices if field else [])}
    shown = [
        "(empty)" if value in (None, "None", "") else words.get(str(value), str(value))
        for value in (values if isinstance(values, list) else [values])
    ]
    return f"{title}: {' → '.join(shown)}"


def entry_table(content_type: ContentType | None) -> str:
    model = content_type.model_class() if content_type else None
    if model is None:
        return ""
    label = model._meta.label_lower
    return SECTION_TITLES.get(label, str(model._meta.verbose_name_plural).capitalize())
