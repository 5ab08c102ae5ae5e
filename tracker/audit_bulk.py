"""Change-history entries (django-auditlog's LogEntry) made as auditlog's own receivers make
them, for the writes that go around them: a sync batch's records saved many at once
(bulk_create and bulk_update send no signals), and an update whose stored copy the caller has
read and locked already (auditlog's receiver would read the row once more to compare).
tests/test_speed_put.py and tests/test_sync_bulk.py compare these entries with auditlog's."""

import copy
from collections.abc import Iterable

from auditlog.cid import get_cid
from auditlog.context import disable_auditlog
from auditlog.diff import get_field_value, get_fields_in_model, is_primitive, model_instance_diff
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.signals import pre_save
from django.utils.encoding import smart_str
from rest_framework.serializers import BaseSerializer

CREATE, UPDATE, DELETE = LogEntry.Action.CREATE, LogEntry.Action.UPDATE, LogEntry.Action.DELETE


def change_entry(
    action: int, before: models.Model | None, after: models.Model | None
) -> LogEntry | None:
    """The entry auditlog would write for this change (None when nothing it tracks changed),
    not yet saved. `before` is None for a creation, `after` None for a deletion."""
    changes = model_instance_diff(
        before, after, use_json_for_changes=settings.AUDITLOG_STORE_JSON_CHANGES
    )
    if not changes and action != DELETE:
        return None
    return log_entry(action, after if after is not None else before, changes)


def creation_entries(records: list[models.Model]) -> list[LogEntry | None]:
    """change_entry(CREATE, None, record) for each of many new records of one model: the
    fields auditlog compares are found once, not for each record, and compared with nothing,
    as auditlog's diff does for a creation (most of a large sync batch's time went there)."""
    if not records:
        return []
    fields = created_fields(type(records[0]))
    if fields is None:  # masked fields: auditlog's own diff
        return [change_entry(CREATE, None, record) for record in records]
    as_json = settings.AUDITLOG_STORE_JSON_CHANGES
    nothing = None if as_json else "None"  # a field's value before a creation, to auditlog
    entries, stamp = [], None
    for record in records:
        changes = {}
        for field in fields:
            value = get_field_value(record, field, as_json)
            if value != nothing:
                if not as_json:
                    changes[field.name] = (nothing, smart_str(value))
                else:
                    changes[field.name] = (
                        nothing,
                        value if is_primitive(value) else smart_str(value),
                    )
        if not changes:
            entries.append(None)
            continue
        entry = unsigned_entry(CREATE, record, changes)
        if stamp is None:
            stamp = signed(entry)
        else:  # the same request: the same person and address
            entry.__dict__.update(stamp)
        entries.append(entry)
    return entries


def created_fields(model: type[models.Model]) -> list | None:
    """The fields model_instance_diff compares for a new record of `model`, in its order; None
    when some are masked."""
    from auditlog.registry import auditlog

    options = auditlog.get_model_fields(model)
    if options and options["mask_fields"]:
        return None
    fields = set(get_fields_in_model(model()))
    if options and options["include_fields"]:
        fields = [field for field in fields if field.name in options["include_fields"]]
    if options and options["exclude_fields"]:
        fields = [field for field in fields if field.name not in options["exclude_fields"]]
    return list(fields)


def log_entry(action: int, record: models.Model, changes: dict) -> LogEntry:
    entry = unsigned_entry(action, record, changes)
    signed(entry)
    return entry


def unsigned_entry(action: int, record: models.Model, changes: dict) -> LogEntry:
    return LogEntry(
        content_type=ContentType.objects.get_for_model(record),
        object_pk=str(record.pk),
        object_id=record.pk if isinstance(record.pk, int) else None,
        object_repr=smart_str(record),
        serialized_data=LogEntry.objects._get_serialized_data_or_none(record),
        action=action,
        changes=changes,
        cid=get_cid(),
    )


def signed(entry: LogEntry) -> dict:
    """Who made the change and from where: auditlog's middleware fills these in as an entry is
    saved (pre_save), which bulk_create does not announce; so it is announced here. What its
    receivers set, for the other entries of the same request."""
    before = dict(entry.__dict__)
    pre_save.send(sender=LogEntry, instance=entry, raw=False, using="default", update_fields=None)
    return {
        name: value
        for name, value in entry.__dict__.items()
        if name not in before or before[name] != value
    }


def write_entries(entries: Iterable[LogEntry | None]) -> None:
    """In one query."""
    LogEntry.objects.bulk_create([entry for entry in entries if entry is not None])


def save_audited(
    serializer: BaseSerializer, history: list[LogEntry | None] | None = None, **extra
) -> models.Model:
    """serializer.save(**extra), its change-history entry made as auditlog's receivers make
    it, but from the stored copy the caller read (and locked) as serializer.instance, rather
    than from the row read once more; for a new record, from what was saved. Written at once,
    or added to `history` for the caller to write with others in one query (a sync batch,
    tracker/sync.py)."""
    stored = serializer.instance
    before = None if stored is None or stored._state.adding else copy.copy(stored)
    with disable_auditlog():
        saved = serializer.save(**extra)
    entries = creation_entries([saved]) if before is None else [change_entry(UPDATE, before, saved)]
    if history is None:
        write_entries(entries)
    else:
        history += entries
    return saved
