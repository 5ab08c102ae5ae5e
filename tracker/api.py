import dataclasses
import datetime as dt
import re
import uuid
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import path, re_path
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.serializers import BaseSerializer, as_serializer_error
from rest_framework.views import APIView

from tracker import relief
from tracker.models import (
    DailyLog,
    DiaryRecord,
    Injection,
    Patient,
    Reaction,
    get_patient_for_user,
    relief_settings,
    validate_not_future,
)
from tracker.reminder_views import PushSubscriptionView
from tracker.serializers import (
    ID_IN_USE,
    CycleSerializer,
    DailyLogSerializer,
    InjectionSerializer,
    OverlaySerializer,
    ReactionSerializer,
    SyncResponseSerializer,
    SyncSerializer,
)

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(value: str) -> dt.date:
    try:
        if ISO_DATE.fullmatch(value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise ValidationError({"date": ["Enter a real date as YYYY-MM-DD."]})


def date_range_filterset(model: type[DiaryRecord], field: str) -> type[filters.FilterSet]:
    """`?from=` and `?to=` (inclusive) on a date field; built with type() as `from` is a keyword."""

    def bound(lookup: str) -> filters.DateFilter:
        return filters.DateFilter(field_name=field, lookup_expr=lookup, input_formats=["%Y-%m-%d"])

    meta = type("Meta", (), {"model": model, "fields": []})
    name = f"{model.__name__}Filter"
    return type(
        name, (filters.FilterSet,), {"from": bound("gte"), "to": bound("lte"), "Meta": meta}
    )


class ReactionFilter(date_range_filterset(Reaction, "onset_date")):
    open = filters.BooleanFilter(method="filter_open")

    def filter_open(self, queryset: QuerySet[Reaction], name: str, value: bool) -> QuerySet:
        return queryset.open() if value else queryset.filter(resolved_date__isnull=False)


class DiaryViewSet(viewsets.GenericViewSet):
    @cached_property
    def patient(self) -> Patient:
        # The patient's own diary: anyone without a Patient record (a clinician) gets 404.
        return get_patient_for_user(self.request.user)

    def own(self, records: QuerySet) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # the schema is made with no user
            return records.none()
        return records.filter(patient=self.patient)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):  # schema generation has no patient
            context["patient"] = self.patient
        return context

    def conflict(self, serializer: BaseSerializer, current: DiaryRecord | None) -> Response | None:
        """409 when the edit was made from a version other than the stored one, or the record
        it was made from is gone."""
        base_version = serializer.validated_data.get("base_version")
        if not base_version or (current is not None and current.version == base_version):
            return None
        if current is None:
            body = {"detail": "This record no longer exists.", "current": None}
        else:
            detail = (
                f"Changed elsewhere since version {base_version}: now version {current.version}."
            )
            body = {"detail": detail, "current": self.get_serializer(current).data}
        return Response(body, status=status.HTTP_409_CONFLICT)


class ClientIdViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    DiaryViewSet,
):
    lookup_value_regex = "[^/]+"  # a malformed id is answered 404 in JSON, not by the URL resolver

    """Records whose id the client may choose. A create retried with the same id (a lost
    response, an offline outbox) answers 200 with the stored record and changes nothing."""

    def retried_create(self, data: Any) -> DiaryRecord | None:
        try:
            pk = uuid.UUID(str(data["id"]))
        except (KeyError, TypeError, ValueError):
            return None
        return self.get_queryset().filter(pk=pk).first()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if (stored := self.retried_create(request.data)) is not None:
            return Response(self.get_serializer(stored).data)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if conflict := self.conflict(serializer, None):
            return conflict
        try:
            with transaction.atomic():
                self.perform_create(serializer)
        except IntegrityError:
            # A retry that raced the original: the id is the only unique field left to clash.
            if (stored := self.retried_create(request.data)) is None:
                raise ValidationError({"id": [ID_IN_USE]}) from None
            return Response(self.get_serializer(stored).data)
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        if self.request.method in {"PUT", "PATCH"}:
            # Locked from read to save, so two edits from the same version can't both pass.
            queryset = queryset.select_for_update(of=("self",))
        return queryset

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            instance = self.get_object()
            serializer = self.get_serializer(
                instance, data=request.data, partial=kwargs.get("partial", False)
            )
            serializer.is_valid(raise_exception=True)
            if conflict := self.conflict(serializer, instance):
                return conflict
            serializer.save()
        return Response(serializer.data)


class LogViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, DiaryViewSet
):
    serializer_class = DailyLogSerializer
    filterset_class = date_range_filterset(DailyLog, "date")
    lookup_field = "date"
    lookup_value_regex = "[^/]+"  # anything, so a bad date is answered 400 rather than 404

    def get_queryset(self) -> QuerySet[DailyLog]:
        return self.own(DailyLog.objects.all())

    def get_object(self) -> DailyLog:
        log = get_object_or_404(self.get_queryset(), date=parse_day(self.kwargs["date"]))
        self.check_object_permissions(self.request, log)
        return log

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        day = parse_day(self.kwargs["date"])
        try:
            validate_not_future(self.patient, day)
        except DjangoValidationError as exc:
            raise ValidationError(as_serializer_error(exc)) from None
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            return self.write_day(serializer, day)
        except IntegrityError:
            # Another request created this day's log after we looked: now it is a replace.
            return self.write_day(serializer, day)

    @transaction.atomic
    def write_day(self, serializer: DailyLogSerializer, day: dt.date) -> Response:
        log = self.get_queryset().select_for_update().filter(date=day).first()
        if conflict := self.conflict(serializer, log):
            return conflict
        serializer.instance = log
        serializer.save(patient=self.patient, date=day)
        return Response(
            serializer.data, status=status.HTTP_200_OK if log else status.HTTP_201_CREATED
        )


class InjectionViewSet(ClientIdViewSet):
    serializer_class = InjectionSerializer
    queryset = Injection.objects.none()  # for the schema: ids are UUIDs

    def get_queryset(self) -> QuerySet[Injection]:
        return self.own(Injection.objects.select_related("entered_by").prefetch_related("sites"))

    def perform_create(self, serializer: InjectionSerializer) -> None:
        serializer.save(patient=self.patient, entered_by=self.request.user)


class ReactionViewSet(ClientIdViewSet):
    serializer_class = ReactionSerializer
    queryset = Reaction.objects.none()
    filterset_class = ReactionFilter

    def get_queryset(self) -> QuerySet[Reaction]:
        return self.own(Reaction.objects.all())

    def perform_create(self, serializer: ReactionSerializer) -> None:
        serializer.save(patient=self.patient)


class CycleViewSet(viewsets.ViewSet):
    """The patient's injection cycles with their relief figures, computed on request."""

    pagination_class = None

    def cycles(self) -> tuple[list[relief.Cycle], dict]:
        patient = get_patient_for_user(self.request.user)
        injections = {
            row["id"]: row
            for row in patient.injections.values("id", "date", "product", "total_units")
        }
        points = [relief.InjectionPoint(id=pk, date=row["date"]) for pk, row in injections.items()]
        logs = patient.logs.values_list("date", "severity")
        cycles = relief.compute_cycles(points, logs, patient.today(), relief_settings())
        return cycles, injections

    @extend_schema(responses=CycleSerializer(many=True))
    def list(self, request: Request) -> Response:
        cycles, injections = self.cycles()
        rows = [
            {
                **dataclasses.asdict(cycle),
                "product": injections[cycle.injection_id]["product"],
                "total_units": injections[cycle.injection_id]["total_units"],
                "baseline": rounded(cycle.baseline, 2),
                "peak_relief": rounded(cycle.peak_relief, 1),
            }
            for cycle in cycles
        ]
        return Response(CycleSerializer(rows, many=True).data)

    @extend_schema(responses=OverlaySerializer)
    @action(detail=False)
    def overlay(self, request: Request) -> Response:
        cycles, _ = self.cycles()
        settings = relief_settings()
        body = {
            "threshold": settings.threshold,
            "forecast_wearing_off_day": relief.forecast_wearing_off_day(cycles, settings),
            "days": [
                {
                    **dataclasses.asdict(day),
                    "median": round(day.median, 1),
                    "p25": round(day.p25, 1),
                    "p75": round(day.p75, 1),
                }
                for day in relief.overlay(cycles)
            ],
            "cycles": [
                {
                    "injection_id": cycle.injection_id,
                    "injection_date": cycle.injection_date,
                    "ongoing": cycle.ongoing,
                    "points": [[d, round(v, 1)] for d, v in sorted(cycle.smoothed.items())],
                }
                for cycle in cycles
            ],
        }
        return Response(OverlaySerializer(body).data)


def rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


SYNC_SERIALIZERS = {
    "log": DailyLogSerializer,
    "injection": InjectionSerializer,
    "reaction": ReactionSerializer,
}


class SyncView(APIView):
    """Many offline changes in one request, in one transaction, with an answer per item.

    Sending the same batch twice changes nothing: an item whose content the server already
    holds answers 200 with the stored record, whatever version it was made from. A change
    made from an older version than the stored one is refused with 409 and the server's copy.
    """

    throttle_scope = "sync"  # tracker/throttles.py

    @extend_schema(request=SyncSerializer, responses=SyncResponseSerializer)
    def post(self, request: Request) -> Response:
        patient = get_patient_for_user(request.user)
        batch = SyncSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        results = sync_items(patient, request.user, batch.validated_data["items"])
        return Response({"results": results})


@transaction.atomic
def sync_items(patient: Patient, user, items: list[dict]) -> list[dict]:
    stored = StoredRecords(patient, items)
    results = []
    for index, item in enumerate(items):
        answer = {"index": index, "type": item["type"], "key": item["key"]}
        results.append(answer | sync_item_in_savepoint(patient, user, item, stored))
    return results


class StoredRecords:
    """The records a batch names that the server holds already, read and locked in one query
    per kind instead of one per item, and kept current as the batch saves and deletes."""

    def __init__(self, patient: Patient, items: list[dict]) -> None:
        self.patient = patient
        self.records: dict[tuple[str, str], DiaryRecord] = {}
        for kind in SYNC_SERIALIZERS:
            keys = {item_key(kind, item["key"]) for item in items if item["type"] == kind}
            keys.discard(None)
            if keys:
                for record in self.locked(kind).filter(**{f"{KEY_FIELDS[kind]}__in": keys}):
                    self.records[kind, record_key(kind, record)] = record

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

    def keep(self, kind: str, key: str, record: DiaryRecord | None) -> None:
        if record is None:
            self.records.pop((kind, key), None)
        else:
            self.records[kind, key] = record


KEY_FIELDS = {"log": "date", "injection": "pk", "reaction": "pk"}


def item_key(kind: str, key: str) -> str | None:
    """An item's key as the server writes it (ISO date, or lower-case UUID); None if it is
    not one."""
    try:
        return parse_day(key).isoformat() if kind == "log" else str(uuid.UUID(key))
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
            validate_not_future(patient, day)
        except (ValidationError, DjangoValidationError):
            return {
                "status": 400,
                "errors": {"key": ["Enter a past or present date as YYYY-MM-DD."]},
            }
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
            stored.delete()
            records.keep(kind, key, None)
        return {"status": 200}

    serializer = serializer_class(stored, data=data, context={"patient": patient})
    if not serializer.is_valid():
        return {"status": 400, "errors": serializer.errors}
    if stored is not None and holds(stored, serializer.validated_data):
        return {"status": 200, "record": serializer.to_representation(stored)}
    # Made from another version than the stored one, or from a record deleted since.
    stale = base_version not in {None, stored.version} if stored else bool(base_version)
    if stale:
        return {"status": 409, "current": current()}
    extra = {"patient": patient}
    if kind == "log":
        extra["date"] = day
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


router = SimpleRouter()
router.register("logs", LogViewSet, basename="log")
router.register("injections", InjectionViewSet, basename="injection")
router.register("reactions", ReactionViewSet, basename="reaction")
router.register("cycles", CycleViewSet, basename="cycle")


@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@permission_classes([AllowAny])
def not_found(request: Request, unknown: str) -> Response:
    return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)


urlpatterns = [
    *router.urls,
    path("sync/", SyncView.as_view(), name="sync"),
    path("push-subscriptions/", PushSubscriptionView.as_view(), name="push-subscriptions"),
    re_path(r"^(?P<unknown>.*)$", extend_schema(exclude=True)(not_found)),
]


DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "field name (or non_field_errors) -> list of messages",
    "additionalProperties": True,
}
CONFLICT = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "current": {"type": "object", "nullable": True, "additionalProperties": True},
    },
    "required": ["detail", "current"],
}


def document_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular hook: the answers every route may give besides success, so that the
    schema documents them (and schemathesis can hold the API to it)."""
    for route, operations in result["paths"].items():
        if not route.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            errors = {
                "400": ("Bad input, with the reason for each field", FIELD_ERRORS),
                "403": ("Not logged in, or no CSRF token", DETAIL),
                "404": ("No such record among this patient's", DETAIL),
            }
            if method in {"put", "patch", "post"} and not route.startswith("/api/v1/sync/"):
                errors["409"] = ("Changed elsewhere since `base_version`", CONFLICT)
            if method in {"put", "patch", "post", "delete"}:
                errors["429"] = ("Too many writes: try again after `Retry-After` seconds", DETAIL)
            responses = operation.setdefault("responses", {})
            for status_code, (description, body) in errors.items():
                responses.setdefault(
                    status_code,
                    {"description": description, "content": {"application/json": {"schema": body}}},
                )
    return result
