"""The offline sync engine: many changes made on a phone, saved in one transaction with an
answer per item (tracker.api.SyncView is its door).

Sending the same batch twice changes nothing: an item whose content the server already holds
answers 200 with the stored record, whatever version it was made from. A change made from an
older version than the stored one is refused with 409 and the server's copy.
"""

import copy
import uuid
from collections import Counter

from auditlog.models import LogEntry
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.serializers import Serializer

from tracker.audit_bulk import (
    UPDATE,
    change_entry,
    creation_entries,
    save_audited,
    write_entries,
)
from tracker.dates import DIARY_DATE_ERROR, NOT_A_DAY, NotADay, api_day, parse_day
from tracker.models import (
    DailyLog,
    DiaryRecord,
    Patient,
    Tombstone,
    validate_diary_date,
)
from tracker.revisions import diary_changed
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
    """Each item checked on its own: a malformed one is answered 400 and the others saved.

    New and changed check-ins, the bulk of any batch, are decided in Python and written many
    at once (CheckIns); the rest (injections, reactions, deletions, a day deleted before, a
    day named twice in the batch) one by one, in the batch's order, each in a savepoint. The
    two sets name different records, so their order between them changes no answer."""
    item_serializer = SyncItemSerializer()
    checked = [validated(item_serializer, item) for item in items]
    valid = [data for data, errors in checked if errors is None]
    diary_changed(patient.pk)  # the patient's row first, locked, as by every diary writer
    stored = StoredRecords(patient, valid)
    results: list[dict | None] = [None] * len(items)
    days = Counter(item_key("log", data["key"]) for data in valid if data["type"] == "log")
    check_ins = CheckIns(patient, stored)
    for index, (data, errors) in enumerate(checked):
        if errors is None and check_ins.takes(data, days):
            results[index] = check_ins.put(data)
    try:
        with transaction.atomic():
            check_ins.write()
    except IntegrityError:  # a day saved meanwhile by a writer that did not lock the patient
        results = [None] * len(items)
    for index, ((data, errors), raw) in enumerate(zip(checked, items, strict=True)):
        said = raw if isinstance(raw, dict) else {}
        answer = {
            "index": index,
            "type": str(said.get("type", "")),
            "key": str(said.get("key", "")),
        }
        if errors is not None:
            results[index] = answer | {"status": 400, "errors": errors}
        elif results[index] is None:
            results[index] = answer | sync_item_in_savepoint(patient, user, data, stored)
        else:
            results[index] = answer | check_ins.answer(results[index])
    write_entries(stored.history)  # in one query, not one a record (audit_bulk.save_audited)
    return results


def validated(serializer: Serializer, data: object) -> tuple[dict | None, dict | None]:
    """(validated data, None) or (None, errors), as serializer.is_valid() gives them, for one
    item of a batch: DRF makes a serializer's fields afresh for each new serializer, which was
    most of a batch's time, so one serializer checks every item of its kind."""
    try:
        return serializer.run_validation(data), None
    except ValidationError as error:
        return None, error.detail


class CheckIns:
    """The batch's check-ins that create or change a day no other item of the batch names, and
    that was not deleted before: answered as sync_item answers them, then written in a few
    queries (bulk_create, bulk_update), with their change-history entries.
    tests/test_sync_bulk.py pins the queries and compares each answer with sync_item's."""

    def __init__(self, patient: Patient, stored: "StoredRecords") -> None:
        self.patient, self.stored = patient, stored
        self.serializer = DailyLogSerializer(context={"patient": patient})
        self.created: list[DailyLog] = []
        self.changed: list[tuple[DailyLog, DailyLog]] = []  # (as stored, as changed)

    def takes(self, item: dict, days: Counter) -> bool:
        key = item_key("log", item["key"]) if item["type"] == "log" else None
        return (
            key is not None
            and item["op"] == "put"
            and days[key] == 1
            and self.stored.tombstone("log", key) is None
        )

    def put(self, item: dict) -> dict:
        """The answer, or what to answer once written: {"saved": the log, "status": …}."""
        try:
            day = parse_day(item["key"])
            validate_diary_date(self.patient, day)
        except NotADay:
            return {"status": 400, "errors": {"key": [NOT_A_DAY]}}
        except DjangoValidationError:
            return {"status": 400, "errors": {"key": [DIARY_DATE_ERROR]}}
        stored = self.stored.get("log", day.isoformat())
        self.serializer.instance = stored  # what model_errors() checks the change against
        data, errors = validated(self.serializer, item["data"])
        if errors is not None:
            return {"status": 400, "errors": errors}
        values = {k: v for k, v in data.items() if k != "base_version"}
        if stored is not None and holds(stored, values):
            return {"status": 200, "record": self.serializer.to_representation(stored)}
        base_version = item.get("base_version")
        stale = base_version not in {None, stored.version} if stored else bool(base_version)
        if stale:
            current = self.serializer.to_representation(stored) if stored else None
            return {"status": 409, "current": current}
        if stored is None:
            log = DailyLog(patient=self.patient, date=day, **values)
            self.created.append(log)
            return {"status": 201, "saved": log}
        log = copy.copy(stored)
        for name, value in values.items():
            setattr(log, name, value)
        log.version += 1
        self.changed.append((stored, log))
        return {"status": 200, "saved": log}

    def write(self) -> None:
        now = timezone.now()
        for _, log in self.changed:
            log.updated_at = now  # bulk_update, unlike save, leaves auto_now fields alone
        DailyLog.objects.bulk_create(self.created)
        if self.created and self.created[0].pk is None:  # a database that returns no ids
            ids = dict(self.patient.logs.filter(date__in=[log.date for log in self.created]))
            for log in self.created:
                log.pk = ids[log.date]
        fields = [*CHECK_IN_FIELDS, "version", "updated_at"]
        DailyLog.objects.bulk_update([log for _, log in self.changed], fields)
        write_entries(
            creation_entries(self.created)
            + [change_entry(UPDATE, before, after) for before, after in self.changed]
        )
        for log in self.created + [log for _, log in self.changed]:
            self.stored.keep("log", log.date.isoformat(), log)

    def answer(self, result: dict) -> dict:
        if "saved" not in result:
            return result
        return {
            "status": result["status"],
            "record": self.serializer.to_representation(result["saved"]),
        }


CHECK_IN_FIELDS = ["severity", "spasm_frequency", "pain", "note"]


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
        self.ids_taken: set[str] = set()  # ids the batch names of another patient's records
        # The change-history entries of the records saved one by one, written at the end.
        self.history: list[LogEntry | None] = []
        named = set()
        for kind in SYNC_SERIALIZERS:
            keys = {item_key(kind, item["key"]) for item in items if item["type"] == kind}
            keys.discard(None)
            named |= keys
            if keys:
                for record in self.locked(kind).filter(**{f"{KEY_FIELDS[kind]}__in": keys}):
                    self.records[kind, record_key(kind, record)] = record
            # A new record's id is the client's choice: another patient's record may hold it.
            new = [key for key in keys if (kind, key) not in self.records]
            if kind != "log" and new:
                self.ids_taken |= self.taken(kind, new)
        if named:
            for tombstone in patient.tombstones.filter(key__in=named):
                self.tombstones[tombstone.kind, tombstone.key] = tombstone

    @staticmethod
    def model(kind: str) -> type[DiaryRecord]:
        return SYNC_SERIALIZERS[kind].Meta.model

    def locked(self, kind: str) -> QuerySet:
        records = self.model(kind).objects.filter(patient=self.patient)
        if kind == "injection":
            records = records.prefetch_related("sites")
        return records.select_for_update()

    def get(self, kind: str, key: str) -> DiaryRecord | None:
        return self.records.get((kind, key))

    def look_again(self, kind: str, key: str) -> None:
        """After another request saved the same record meanwhile: read it afresh."""
        record = self.locked(kind).filter(**{KEY_FIELDS[kind]: key}).first()
        self.keep(kind, key, record)
        if record is None and kind != "log":
            self.ids_taken |= self.taken(kind, [key])

    def taken(self, kind: str, ids: list[str]) -> set[str]:
        """Which of these ids, none of them this patient's records, a record holds: another
        patient's."""
        held = self.model(kind).objects.filter(pk__in=ids).values_list("pk", flat=True)
        return {str(pk) for pk in held}

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

    context = {"patient": patient, "ids_taken": records.ids_taken}
    serializer = serializer_class(stored, data=data, context=context)
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
    records.keep(kind, key, save_audited(serializer, records.history, **extra))
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
