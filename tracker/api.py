import dataclasses
import datetime as dt
import uuid
from functools import cached_property
from typing import Any

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.urls import path, re_path
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.serializers import BaseSerializer, as_serializer_error
from rest_framework.views import APIView

from tracker import relief
from tracker.access import get_patient_for_user
from tracker.audit_bulk import save_audited
from tracker.dates import api_day
from tracker.diary import read_cycles
from tracker.models import (
    PRODUCT_LABELS,
    DailyLog,
    DiaryRecord,
    Injection,
    Patient,
    PushSubscription,
    Reaction,
    Tombstone,
    User,
    relief_settings,
    validate_diary_date,
)
from tracker.relief_cache import remembered
from tracker.revisions import diary_changed, diary_changed_unless_deleted, is_recent
from tracker.serializers import (
    ID_IN_USE,
    CycleSerializer,
    DailyLogSerializer,
    InjectionSerializer,
    OverlaySerializer,
    PushSubscriptionSerializer,
    ReactionSerializer,
    SyncBatchSerializer,
    SyncResponseSerializer,
    SyncSerializer,
)
from tracker.sync import GONE, follow_tombstone, may_recreate, sync_items, uuid_key


class StrictFilterSet(filters.FilterSet):
    """Every filter given is honoured or refused with 400: an empty value is refused too, where
    django-filter would read it as "no filter" and answer as if it were not there."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name in self.filters:
            if name in self.data and not self.data[name].strip() and name not in self.form.errors:
                self.form.add_error(name, "Give a value, or leave this parameter out.")
        return valid and not self.form.errors


class TrueOrFalseField(forms.TypedChoiceField):
    """`true` or `false`, as the schema says (django-filter's BooleanFilter reads anything else
    as "not given", so `?open=yes` would list every reaction)."""

    def __init__(self, **kwargs: Any) -> None:
        choices = [("true", "true"), ("false", "false")]
        super().__init__(choices=choices, coerce="true".__eq__, empty_value=None, **kwargs)
        self.error_messages["invalid_choice"] = "Enter true or false."


class TrueOrFalseFilter(filters.Filter):
    field_class = TrueOrFalseField


def date_range_filterset(model: type[DiaryRecord], field: str) -> type[filters.FilterSet]:
    """`?from=` and `?to=` (inclusive) on a date field; built with type() as `from` is a keyword."""

    def bound(lookup: str) -> filters.DateFilter:
        return filters.DateFilter(field_name=field, lookup_expr=lookup, input_formats=["%Y-%m-%d"])

    meta = type("Meta", (), {"model": model, "fields": []})
    name = f"{model.__name__}Filter"
    return type(name, (StrictFilterSet,), {"from": bound("gte"), "to": bound("lte"), "Meta": meta})


class ReactionFilter(date_range_filterset(Reaction, "onset_date")):
    open = TrueOrFalseFilter(method="filter_open")

    def filter_open(self, queryset: QuerySet[Reaction], name: str, value: bool) -> QuerySet:
        return queryset.open() if value else queryset.filter(resolved_date__isnull=False)


class DiaryViewSet(viewsets.GenericViewSet):
    @cached_property
    def patient(self) -> Patient:
        # The patient's own diary: anyone without a Patient record (a clinician) gets 404.
        return get_patient_for_user(self.request.user)

    tombstone_kind = ""  # how a deleted record of this viewset's kind is remembered

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

    def tombstone(self, key: str | None) -> Tombstone | None:
        """This patient's record of having deleted `key`: never another patient's."""
        if key is None:
            return None
        return self.patient.tombstones.filter(kind=self.tombstone_kind, key=key).first()

    def lookup_key(self) -> str | None:
        """The record named by the URL, as a tombstone names it; None if it names none."""
        raise NotImplementedError


class DestroyMixin(mixins.DestroyModelMixin):
    """Deleting what is already deleted (by another phone, or a retry) is done: 204."""

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().destroy(request, *args, **kwargs)
        except Http404:
            if self.tombstone(self.lookup_key()) is None:
                raise
            return Response(status=status.HTTP_204_NO_CONTENT)


def gone() -> Response:
    return Response({"detail": GONE}, status=status.HTTP_410_GONE)


class ClientIdViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    DestroyMixin,
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

    def lookup_key(self) -> str | None:
        return uuid_key(self.kwargs.get("pk"))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if (stored := self.retried_create(request.data)) is not None:
            return Response(self.get_serializer(stored).data)
        if isinstance(request.data, dict) and self.tombstone(uuid_key(request.data.get("id"))):
            return gone()  # an old create sent again after the record was deleted
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
            # The patient's row is locked first, then the record, as by every diary writer.
            diary_changed(self.patient.pk)
            try:
                instance = self.get_object()
            except Http404:
                if self.tombstone(self.lookup_key()) is None:
                    raise
                return gone()
            serializer = self.get_serializer(
                instance, data=request.data, partial=kwargs.get("partial", False)
            )
            serializer.is_valid(raise_exception=True)
            if conflict := self.conflict(serializer, instance):
                return conflict
            serializer.save()
        return Response(serializer.data)


class WholeSecondDateTimeField(serializers.DateTimeField):
    """A time to the second: the microseconds of a list's times were a third of its compressed
    bytes, and no client reads them (tests/test_speed_json.py)."""

    def to_representation(self, value: dt.datetime | None) -> str | None:
        return super().to_representation(value.replace(microsecond=0) if value else value)


class DailyLogListSerializer(DailyLogSerializer):
    """A check-in as the list gives it: its fields, its time of change to the second."""

    updated_at = WholeSecondDateTimeField(read_only=True)


class LogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DestroyMixin, DiaryViewSet):
    serializer_class = DailyLogSerializer
    filterset_class = date_range_filterset(DailyLog, "date")
    lookup_field = "date"
    lookup_value_regex = "[^/]+"  # anything, so a bad date is answered 400 rather than 404
    tombstone_kind = Tombstone.Kind.LOG

    def get_queryset(self) -> QuerySet[DailyLog]:
        return self.own(DailyLog.objects.all())

    def get_serializer_class(self) -> type[DailyLogSerializer]:
        return DailyLogListSerializer if self.action == "list" else DailyLogSerializer

    def lookup_key(self) -> str | None:
        return api_day(self.kwargs["date"]).isoformat()

    def get_object(self) -> DailyLog:
        log = get_object_or_404(self.get_queryset(), date=api_day(self.kwargs["date"]))
        self.check_object_permissions(self.request, log)
        return log

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        day = api_day(self.kwargs["date"])
        try:
            validate_diary_date(self.patient, day)
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
        # Four queries besides the log-in's (tests/test_speed_put.py lists them): the diary
        # revision's rise, which also asks whether the day's check-in was deleted, and locks
        # the patient's row; the day's log, locked; its insert or update; its change history.
        key = day.isoformat()
        history = not is_recent(day)  # a recent check-in leaves the kept older part as it is
        deleted = not diary_changed_unless_deleted(
            self.patient.pk, Tombstone.Kind.LOG, key, history
        )
        log = self.get_queryset().select_for_update().filter(date=day).first()
        base_version = serializer.validated_data.get("base_version")
        tombstone = self.tombstone(key) if deleted and log is None else None
        if not may_recreate(Tombstone.Kind.LOG, tombstone, base_version):
            return gone()
        if tombstone is None and (conflict := self.conflict(serializer, log)):
            return conflict
        serializer.instance = log
        if log is None and tombstone is not None:  # the day logged again, after a deletion
            serializer.instance = DailyLog(patient=self.patient, date=day)
            follow_tombstone(serializer.instance, tombstone)
        save_audited(serializer, patient=self.patient, date=day)
        return Response(
            serializer.data, status=status.HTTP_200_OK if log else status.HTTP_201_CREATED
        )


class InjectionViewSet(ClientIdViewSet):
    serializer_class = InjectionSerializer
    filterset_class = date_range_filterset(Injection, "date")
    queryset = Injection.objects.none()  # for the schema: ids are UUIDs
    tombstone_kind = Tombstone.Kind.INJECTION

    def get_queryset(self) -> QuerySet[Injection]:
        return self.own(Injection.objects.select_related("entered_by").prefetch_related("sites"))

    def perform_create(self, serializer: InjectionSerializer) -> None:
        serializer.save(patient=self.patient, entered_by=self.request.user)


class ReactionViewSet(ClientIdViewSet):
    serializer_class = ReactionSerializer
    queryset = Reaction.objects.none()
    tombstone_kind = Tombstone.Kind.REACTION
    filterset_class = ReactionFilter

    def get_queryset(self) -> QuerySet[Reaction]:
        return self.own(Reaction.objects.all())

    def perform_create(self, serializer: ReactionSerializer) -> None:
        serializer.save(patient=self.patient)


# What the answer gives of a relief.Cycle (the rest, its daily figures, it leaves out).
CYCLE_FIELDS = [
    field.name
    for field in dataclasses.fields(relief.Cycle)
    if field.name in CycleSerializer().fields
]


class CycleViewSet(viewsets.ViewSet):
    """The patient's injection cycles with their relief figures, computed on request."""

    pagination_class = None

    def cycles(self) -> tuple[list[relief.Cycle], dict]:
        return read_cycles(get_patient_for_user(self.request.user))  # cached by revision

    @extend_schema(responses=CycleSerializer(many=True))
    def list(self, request: Request) -> Response:
        patient = get_patient_for_user(self.request.user)
        # The answer itself is kept, under the diary's revision: made again, it copied every
        # cycle's daily figures (dataclasses.asdict) only to leave them out.
        return Response(remembered("cycles-api", patient, (), lambda: self.rows(patient)))

    @staticmethod
    def rows(patient: Patient) -> "list[dict]":  # quoted: `list` is the method above
        cycles, injections = read_cycles(patient)
        rows = [
            {
                **{field: getattr(cycle, field) for field in CYCLE_FIELDS},
                "product": injections[cycle.injection_id]["product"],
                "total_units": injections[cycle.injection_id]["total_units"],
                "baseline": rounded(cycle.baseline, 2),
                "peak_relief": rounded(cycle.peak_relief, 1),
            }
            for cycle in cycles
        ]
        return [dict(row) for row in CycleSerializer(rows, many=True).data]

    @extend_schema(responses=OverlaySerializer)
    @action(detail=False)
    def overlay(self, request: Request) -> Response:
        cycles, injections = self.cycles()
        settings = relief_settings()
        products = {pk: PRODUCT_LABELS.get(row["product"], "") for pk, row in injections.items()}
        forecast = relief.wearing_off_forecast(cycles, products, settings)
        body = {
            "threshold": settings.threshold,
            "forecast_wearing_off_day": forecast.day if forecast else None,
            "forecast_date": forecast.date if forecast else None,
            "forecast_earliest_day": forecast.earliest if forecast else None,
            "forecast_latest_day": forecast.latest if forecast else None,
            "forecast_reason": forecast.reason if forecast else "No injection logged yet.",
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
        batch = SyncBatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        results = sync_items(patient, request.user, batch.validated_data["items"])
        return Response({"results": results})


# Each phone or browser has its own subscription; beyond this many, the oldest goes.
MAX_SUBSCRIPTIONS_PER_ACCOUNT = 10


ENDPOINT_PARAMETER = OpenApiParameter(
    "endpoint", str, OpenApiParameter.QUERY, required=True, description="the subscription's URL"
)


class PushSubscriptionView(APIView):
    """This phone's Web Push subscription, for whoever is logged in: a patient's daily
    reminder, or a clinician's or nurse's red-flag alerts."""

    @extend_schema(
        request=PushSubscriptionSerializer,
        responses={200: PushSubscriptionSerializer, 201: PushSubscriptionSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = PushSubscriptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            subscription, created = save_subscription(request.user, serializer.validated_data)
        except IntegrityError:  # the same phone's request, sent twice at once
            subscription, created = save_subscription(request.user, serializer.validated_data)
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(PushSubscriptionSerializer(subscription).data, status=answer)

    @extend_schema(parameters=[ENDPOINT_PARAMETER], responses={204: None})
    def delete(self, request: Request) -> Response:
        endpoint = request.query_params.get("endpoint", "")
        if not endpoint:
            raise ValidationError({"endpoint": ["This parameter is required."]})
        deleted, _ = request.user.push_subscriptions.filter(endpoint=endpoint).delete()
        if not deleted:
            raise NotFound("No such subscription among yours.")
        return Response(status=status.HTTP_204_NO_CONTENT)


@transaction.atomic
def save_subscription(user: User, data: dict[str, Any]) -> tuple[PushSubscription, bool]:
    stored = PushSubscription.objects.select_for_update().filter(endpoint=data["endpoint"]).first()
    if stored is not None and stored.user_id != user.pk:
        # Another account's, on a shared phone: that account must let go of it first (the
        # page makes this phone a new subscription instead).
        raise ValidationError({"endpoint": ["This subscription belongs to another account."]})
    keys = data["keys"]
    if stored is not None:
        stored.p256dh, stored.auth, stored.failures = keys["p256dh"], keys["auth"], 0
        stored.save(update_fields=["p256dh", "auth", "failures"])
        return stored, False
    created = PushSubscription.objects.create(
        user=user, endpoint=data["endpoint"], p256dh=keys["p256dh"], auth=keys["auth"]
    )
    newest_first = user.push_subscriptions.order_by("-created_at", "-pk")
    surplus = newest_first.values_list("pk", flat=True)[MAX_SUBSCRIPTIONS_PER_ACCOUNT:]
    PushSubscription.objects.filter(pk__in=list(surplus)).delete()
    return created, True


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
