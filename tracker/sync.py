"""The offline sync engine: many changes made on a phone, saved in one transaction with an
answer per item (tracker.api.SyncView is its door).

Sending the same batch twice changes nothing: an item whose content the server already holds
answers 200 with the stored record, whatever version it was made from. A change made from an
older version than the stored one is refused with 409 and the server's copy.
"""

import uuid

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError

from tracker.dates import DIARY_DATE_ERROR, NOT_A_DAY, NotADay, api_day, parse_day
from tracker.models import (
    DailyLog,
    DiaryRecord,
    Patient,
    Tombstone,
    validate_diary_date,
)
from tracker.serializers import (
    ID_IN_USE,
    DailyLogSerializer,
    InjectionSerializer,
    ReactionSerializer,
    SyncItemSerializer,
)

SYNC_SERIALIZERS = {
    "log": DailyLogSerializer,
    "injection": InjectionSerializer,
    "reaction": ReactionSerializer,
}


@transaction.atomic
def sync_items(patient: Patient, user, items: list) -> list[dict]:
    """Each item checked on its own: a malformed one is answered 400 and the others saved."""
    checked = [SyncItemSerializer(data=item) for item in items]
    valid = [item.validated_data for item in checked if item.is_valid()]
    stored = StoredRecords(patient, valid)
    results = []
    for index, (item, raw) in enumerate(zip(checked, items, strict=True)):
        said = raw if isinstance(raw, dict) else {}
        answer = {
            "index": index,
            "type": str(said.get("type", "")),
            "key": str(said.get("key", "")),
        }
        if item.errors:
            results.append(answer | {"status": 400, "errors": item.errors})
        else:
            data = item.validated_data
            results.append(answer | sync_item_in_savepoint(patient, user, data, stored))
    return results


def may_recreate(kind: str, tombstone: Tombstone | None, base_version: int | None) -> bool:
    """Whether a put may create a record that was deleted. A record named by its id never comes
    back; a day may be logged again, by a change made from the deleted check-in's version (or
    sent to overwrite whatever is there), not by an old create made before the deletion."""
    if tombstone is None:
        return True
    return kind == Tombstone.Kind.LOG and base_version in {None, tombstone.version}


def follow_tombstone(record: DiaryRecord, tombstone: Tombstone | None) -> None:
    """A day logged again after its check-in was deleted: its versions go on from the deleted
    one's, so that an edit made from before the deletion is refused; the tombstone goes."""
    if tombstone is not None:
        record.version = tombstone.version + 1
        tombstone.delete()


GONE = "This record was deleted, on this or another device: it is not saved again."


class StoredRecords:
    """The records a batch names that the server holds already, read and locked in one query
    per kind instead of one per item, and the batch's deleted records (tombstones) in one
    more; kept current as the batch saves and deletes."""

    def __init__(self, patient: Patient, items: list[dict]) -> None:
        self.patient = patient
        self.records: dict[tuple[str, str], DiaryRecord] = {}
        self.tombstones: dict[tuple[str, str], Tombstone] = {}
        named = set()
        for kind in SYNC_SERIALIZERS:
            keys = {item_key(kind, item["key"]) for item in items if item["type"] == kind}
            keys.discard(None)
            named |= keys
            if keys:
                for record in self.locked(kind).filter(**{f"{KEY_FIELDS[kind]}__in": keys}):
                    self.records[kind, record_key(kind, record)] = record
        if named:
            for tombstone in patient.tombstones.filter(key__in=named):
                self.tombstones[tombstone.kind, tombstone.key] = tombstone

    def locked(self, kind: str) -> QuerySet:
        records = SYNC_SERIALIZERS[kind].Meta.model.objects.filter(patient=self.patient)
        if kind == "injection":
            records = records.prefetch_related("sites")
        return records.select_for_update()

    def get(self, kind: str, key: str) -> DiaryRecord | None:
        return self.records.get((kind, key))

    def look_again(self, kind: str, key: str) -> None:
        """After another request saved the same record meanwhile: read it afresh."""
        record = self.locked(kind).filter(**{KEY_FIELDS[kind]: key}).first()
        self.keep(kind, key, record)

    def tombstone(self, kind: str, key: str) -> Tombstone | None:
        return self.tombstones.get((kind, key))

    def keep(self, kind: str, key: str, record: DiaryRecord | None) -> None:
        if record is None:
            self.records.pop((kind, key), None)
        else:
            self.records[kind, key] = record


KEY_FIELDS = {"log": "date", "injection": "pk", "reaction": "pk"}


def uuid_key(value: object) -> str | None:
    """A UUID as the server writes it (lower case, with dashes), or None if it is not one."""
    try:
        return str(uuid.UUID(str(value)))
    except (TypeError, ValueError, AttributeError):
        return None


def item_key(kind: str, key: str) -> str | None:
    """An item's key as the server writes it (ISO date, or lower-case UUID); None if it is
    not one."""
    try:
        return api_day(key).isoformat() if kind == "log" else str(uuid.UUID(key))
    except (ValueError, ValidationError):
        return None


def record_key(kind: str, record: DiaryRecord) -> str:
    return record.date.isoformat() if kind == "log" else str(record.pk)


def sync_item_in_savepoint(patient: Patient, user, item: dict, stored: StoredRecords) -> dict:
    """sync_item in a savepoint, so that a failed item leaves the others saved.

    Another request may save the same record after this batch looked (on PostgreSQL,
    typically the same batch sent again after a lost answer, while the first copy was still
    saving): its unique index then refuses ours, or its id shows as taken. Looked at again,
    the item is a replay (200) or a conflict (409), not an error."""
    answer = None
    for _ in range(2):
        try:
            with transaction.atomic():
                answer = sync_item(patient, user, item, stored)
        except IntegrityError:
            answer = None
        if answer is not None and not id_taken(answer):
            return answer
        if key := item_key(item["type"], item["key"]):
            stored.look_again(item["type"], key)
    return answer or {"status": 409, "current": None}


def id_taken(answer: dict) -> bool:
    return answer["status"] == 400 and ID_IN_USE in answer["errors"].get("id", [])


def sync_item(patient: Patient, user, item: dict, records: StoredRecords) -> dict:
    kind, base_version = item["type"], item.get("base_version")
    serializer_class = SYNC_SERIALIZERS[kind]
    key = item_key(kind, item["key"])
    if kind == "log":
        try:
            day = parse_day(item["key"])
            validate_diary_date(patient, day)
        except NotADay:
            return {"status": 400, "errors": {"key": [NOT_A_DAY]}}
        except DjangoValidationError:
            return {"status": 400, "errors": {"key": [DIARY_DATE_ERROR]}}
        data = item["data"]
    else:
        if key is None:
            return {"status": 400, "errors": {"key": ["Enter a valid UUID."]}}
        data = {**item["data"], "id": key}
    stored = records.get(kind, key)

    def current() -> dict | None:
        return serializer_class(stored).data if stored else None

    if item["op"] == "delete":
        if stored is not None:
            if base_version and stored.version != base_version:
                return {"status": 409, "current": current()}
            stored.delete()  # and remembered: models.DiaryRecord.delete
            records.keep(kind, key, None)
            records.tombstones[kind, key] = Tombstone(kind=kind, key=key, version=stored.version)
        return {"status": 200}

    tombstone = None if stored else records.tombstone(kind, key)
    if not may_recreate(kind, tombstone, base_version):
        return {"status": 410, "detail": GONE}  # the outbox drops it: deleted elsewhere

    serializer = serializer_class(stored, data=data, context={"patient": patient})
    if not serializer.is_valid():
        return {"status": 400, "errors": serializer.errors}
    if stored is not None and holds(stored, serializer.validated_data):
        return {"status": 200, "record": serializer.to_representation(stored)}
    # Made from another version than the stored one, or from a record deleted since.
    stale = base_version not in {None, stored.version} if stored else bool(base_version)
    if stale and tombstone is None:
        return {"status": 409, "current": current()}
    extra = {"patient": patient}
    if kind == "log":
        extra["date"] = day
        if tombstone is not None:  # the day logged again, after a deletion
            serializer.instance = DailyLog(patient=patient, date=day)
            stone = patient.tombstones.filter(kind=kind, key=key).first()
            follow_tombstone(serializer.instance, stone)
            records.tombstones.pop((kind, key), None)
    elif kind == "injection" and stored is None:
        extra["entered_by"] = user
    records.keep(kind, key, serializer.save(**extra))
    return {"status": 201 if stored is None else 200, "record": serializer.data}


def holds(stored: DiaryRecord, validated: dict) -> bool:
    """Whether the stored record already has every value of this change."""
    for name, value in validated.items():
        if name in {"id", "base_version"}:
            continue
        if name == "sites":
            saved = sorted((s.muscle, s.side, s.units) for s in stored.sites.all())
            if saved != sorted((s["muscle"], s["side"], s["units"]) for s in value):
                return False
        elif getattr(stored, name) != value:
            return False
    return True
