import copy
import uuid
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers

from tracker import catalog
from tracker.bad_input import MAX_SYNC_ITEMS
from tracker.catalog import site_total_errors, unit_errors
from tracker.models import (
    DailyLog,
    DiaryRecord,
    Injection,
    InjectionSite,
    Reaction,
)
from tracker.push_services import is_push_service

ID_IN_USE = "This id is already in use."
# A version is a PositiveIntegerField: anything larger is not a version this server made.
MAX_VERSION = 2**31 - 1


class FieldsOnceSerializer(serializers.ModelSerializer):
    """A ModelSerializer works its fields out of the model afresh for every instance, and a
    sync batch makes hundreds of instances: the fields are worked out once per class, then
    copied, as DRF copies declared fields. They depend only on the class and its Meta."""

    def get_fields(self) -> dict[str, serializers.Field]:
        cls = type(self)
        if "_fields_once" not in cls.__dict__:
            cls._fields_once = super().get_fields()
        return copy.deepcopy(cls._fields_once)


class DiaryRecordSerializer(FieldsOnceSerializer):
    """Adds `base_version`: the version the client's edit started from (0 or absent: none)."""

    base_version = serializers.IntegerField(
        write_only=True, required=False, min_value=0, max_value=MAX_VERSION
    )

    def current(self, attrs: dict[str, Any], name: str) -> Any:
        """The value a field will have once saved: the new one, or for a PATCH the stored one."""
        return attrs[name] if name in attrs else getattr(self.instance, name)

    def model_errors(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The errors of the model's own clean(), run on the record as it would be saved."""
        record = copy.copy(self.instance) if self.instance else self.Meta.model()
        record.patient = self.context["patient"]
        model_fields = {field.name for field in self.Meta.model._meta.concrete_fields}
        for name, value in attrs.items():
            if name in model_fields:
                setattr(record, name, value)
        try:
            record.clean()
        except DjangoValidationError as exc:
            return serializers.as_serializer_error(exc)
        return {}

    def create(self, validated_data: dict[str, Any]) -> DiaryRecord:
        validated_data.pop("base_version", None)
        return super().create(validated_data)

    def update(self, instance: DiaryRecord, validated_data: dict[str, Any]) -> DiaryRecord:
        validated_data.pop("base_version", None)
        validated_data.pop("id", None)  # an id is chosen once, at creation
        return super().update(instance, validated_data)


# What every record with a client-chosen id answers besides its own fields.
RECORD_FIELDS = ["version", "created_at", "updated_at", "base_version"]
RECORD_READ_ONLY = ["version", "created_at", "updated_at"]


class ClientIdSerializer(DiaryRecordSerializer):
    """The client may choose the id of a new record, so that a retried create is recognised."""

    id = serializers.UUIDField(required=False)

    def validate_id(self, value: uuid.UUID) -> uuid.UUID:
        # Says nothing about whose record it is; the owner's own retries never get here.
        if self.instance is None and self.id_taken(value):
            raise serializers.ValidationError(ID_IN_USE)
        return value

    def id_taken(self, value: uuid.UUID) -> bool:
        # A sync batch looks up all the ids it names at once (tracker/sync.py, StoredRecords).
        taken = self.context.get("ids_taken")
        if taken is not None:
            return str(value) in taken
        return self.Meta.model.objects.filter(pk=value).exists()


class DailyLogSerializer(DiaryRecordSerializer):
    class Meta:
        model = DailyLog
        fields = [
            "date",
            "severity",
            "spasm_frequency",
            "pain",
            "note",
            "version",
            "updated_at",
            "base_version",
        ]
        read_only_fields = ["date", "version", "updated_at"]
        # A PUT replaces the whole log: what it leaves out is cleared.
        extra_kwargs = {
            "spasm_frequency": {"default": None},
            "pain": {"default": None},
            "note": {"default": ""},
        }


class InjectionSiteSerializer(FieldsOnceSerializer):
    class Meta:
        model = InjectionSite
        fields = ["muscle", "side", "units"]


class InjectionSerializer(ClientIdSerializer):
    sites = InjectionSiteSerializer(
        many=True,
        default=list,
        max_length=catalog.MAX_SITES,
        error_messages={"max_length": catalog.TOO_MANY_SITES},
    )
    entered_by_clinic = serializers.BooleanField(read_only=True)

    class Meta:
        model = Injection
        fields = [
            "id",
            "date",
            "product",
            "total_units",
            "sites",
            "guidance",
            "injector",
            "notes",
            "dose_confirmed",
            "entered_by_clinic",
            *RECORD_FIELDS,
        ]
        read_only_fields = RECORD_READ_ONLY
        extra_kwargs = {
            "total_units": {"required": False},
            "dose_confirmed": {
                "default": False,
                "help_text": "true when a dose above the product's label maximum was checked "
                "on the treatment record (docs/clinical-rules.md, Dose limits)",
            },
            "guidance": {"default": ""},
            "injector": {"default": ""},
            "notes": {"default": ""},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        sites = attrs.get("sites")
        # A PATCH that leaves the sites out keeps the saved ones, and must still agree with them.
        site_units = (
            [site["units"] for site in sites]
            if sites is not None
            else [site.units for site in self.instance.sites.all()]
        )
        if "total_units" not in attrs:
            if sites:
                attrs["total_units"] = sum(site_units, Decimal(0))
            elif not self.partial:
                raise serializers.ValidationError(
                    {"total_units": [self.fields["total_units"].error_messages["required"]]}
                )
        product = self.current(attrs, "product")
        if "dose_confirmed" not in attrs:
            # A confirmation holds for the dose it was given with: a PATCH that changes the dose
            # confirms again, one that leaves it alone keeps the stored answer.
            changes_dose = "total_units" in attrs or sites is not None
            kept = self.instance is not None and not changes_dose
            attrs["dose_confirmed"] = kept and self.instance.dose_confirmed
        confirmed = attrs["dose_confirmed"]
        errors = self.model_errors(attrs)
        site_errors = [
            {"units": unit_errors(product, site["units"], confirmed)} for site in sites or []
        ]
        if any(error["units"] for error in site_errors):
            errors["sites"] = [error if error["units"] else {} for error in site_errors]
        elif "total_units" not in errors:
            total = self.current(attrs, "total_units")
            if mismatch := site_total_errors(total, site_units):
                errors["total_units"] = mismatch
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    @transaction.atomic
    def create(self, validated_data: dict[str, Any]) -> Injection:
        sites = validated_data.pop("sites")
        injection = super().create(validated_data)
        made = InjectionSite.objects.bulk_create(
            InjectionSite(injection=injection, **site) for site in sites
        )
        # The answer shows them: kept as prefetch_related keeps what it read, not read again.
        kept = injection.sites.all()
        kept._result_cache, kept._prefetch_done = made, True
        injection._prefetched_objects_cache = {"sites": kept}
        return injection

    @transaction.atomic
    def update(self, instance: Injection, validated_data: dict[str, Any]) -> Injection:
        sites = validated_data.pop("sites", None)
        # Saved even when only the sites change, so that its version rises once per edit.
        injection = super().update(instance, validated_data)
        if sites is not None:
            injection.sites.all().delete()
            InjectionSite.objects.bulk_create(
                InjectionSite(injection=injection, **site) for site in sites
            )
            getattr(injection, "_prefetched_objects_cache", {}).pop("sites", None)  # now stale
        return injection


class OwnInjectionField(serializers.PrimaryKeyRelatedField):
    # The same answer for another patient's injection and for none at all, so ids don't leak.
    default_error_messages = {
        "does_not_exist": "Choose one of your own injections.",
        "blank": "Send null for no injection, or the id of one of your own injections.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(pk_field=serializers.UUIDField(), **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        # DRF reads "" as null for a relation: a value left empty by mistake, refused instead.
        if isinstance(data, str) and not data.strip():
            self.fail("blank")
        return super().run_validation(data)

    def get_queryset(self):
        return Injection.objects.filter(patient=self.context.get("patient"))


class ReactionSerializer(ClientIdSerializer):
    injection = OwnInjectionField(allow_null=True, default=None)
    is_red_flag = serializers.BooleanField(read_only=True)
    red_flag_tier = serializers.ChoiceField(
        choices=list(catalog.RED_FLAG_TIER_LABELS.items()),
        read_only=True,
        allow_null=True,
        help_text='"now": get help now; "today": contact your clinic today; null: not a red '
        "flag (docs/clinical-rules.md, Red flags)",
    )

    class Meta:
        model = Reaction
        fields = [
            "id",
            "injection",
            "kind",
            "is_red_flag",
            "red_flag_tier",
            "severity",
            "onset_date",
            "resolved_date",
            "pain_reliever",
            "pain_reliever_dose",
            "note",
            *RECORD_FIELDS,
        ]
        read_only_fields = RECORD_READ_ONLY
        extra_kwargs = {
            "resolved_date": {"default": None},
            "pain_reliever": {"default": ""},
            "pain_reliever_dose": {"default": ""},
            "note": {"default": ""},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if errors := self.model_errors(attrs):
            raise serializers.ValidationError(errors)
        return attrs


class CycleSerializer(serializers.Serializer):
    """One injection cycle and its relief figures (docs/clinical-rules.md); read-only."""

    index = serializers.IntegerField()
    injection_id = serializers.UUIDField()
    injection_ids = serializers.ListField(child=serializers.UUIDField())
    injection_date = serializers.DateField()
    end_date = serializers.DateField()
    ongoing = serializers.BooleanField()
    product = serializers.CharField()
    total_units = serializers.DecimalField(max_digits=7, decimal_places=1)
    length_days = serializers.IntegerField(allow_null=True)
    baseline = serializers.FloatField(allow_null=True)
    baseline_log_count = serializers.IntegerField()
    onset_day = serializers.IntegerField(allow_null=True)
    peak_day = serializers.IntegerField(allow_null=True)
    peak_relief = serializers.FloatField(allow_null=True, help_text="percent")
    wearing_off_day = serializers.IntegerField(allow_null=True)
    duration_days = serializers.IntegerField(allow_null=True)
    gap_days = serializers.IntegerField(allow_null=True)
    reason_code = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_null=True)


class OverlayDaySerializer(serializers.Serializer):
    day = serializers.IntegerField()
    median = serializers.FloatField()
    p25 = serializers.FloatField()
    p75 = serializers.FloatField()
    cycle_count = serializers.IntegerField()


class CycleLineSerializer(serializers.Serializer):
    injection_id = serializers.UUIDField()
    injection_date = serializers.DateField()
    ongoing = serializers.BooleanField()
    points = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        help_text="[day since injection, smoothed relief %] pairs",
    )


class OverlaySerializer(serializers.Serializer):
    threshold = serializers.FloatField(help_text="meaningful relief, percent")
    # docs/clinical-rules.md, "Wearing-off forecast": the same figures as every page shows.
    forecast_wearing_off_day = serializers.IntegerField(
        allow_null=True,
        help_text="day of the current cycle when relief usually wears off, rounded once",
    )
    forecast_date = serializers.DateField(allow_null=True)
    forecast_earliest_day = serializers.IntegerField(
        allow_null=True, help_text="the earliest wearing-off day of the cycles used"
    )
    forecast_latest_day = serializers.IntegerField(
        allow_null=True, help_text="the latest wearing-off day of the cycles used"
    )
    forecast_reason = serializers.CharField(
        allow_null=True, help_text="why there is no forecast; null when there is one"
    )
    days = OverlayDaySerializer(many=True)
    cycles = CycleLineSerializer(many=True)


class SyncItemSerializer(serializers.Serializer):
    """One change made on the phone: a day's check-in (key: its date) or an injection or
    reaction (key: its client-made UUID), to save (`put`) or to `delete`."""

    type = serializers.ChoiceField(choices=["log", "injection", "reaction"])
    op = serializers.ChoiceField(choices=["put", "delete"], default="put")
    key = serializers.CharField(max_length=64)
    base_version = serializers.IntegerField(
        min_value=0,
        max_value=MAX_VERSION,
        required=False,
        allow_null=True,
        help_text="the version the change was made from: 0 for a new record, absent to overwrite",
    )
    data = serializers.DictField(required=False, default=dict)


class SyncSerializer(serializers.Serializer):
    items = SyncItemSerializer(many=True, allow_empty=False, max_length=MAX_SYNC_ITEMS)


class SyncBatchSerializer(serializers.Serializer):
    """What the sync view reads: a list of items, each checked on its own (SyncItemSerializer)
    so that one malformed item is answered 400 by itself and the rest of the batch goes on."""

    # Items as the JSON parser made them: each is checked by SyncItemSerializer, and a JSONField
    # child would only write each one out again to see that it is JSON.
    items = serializers.ListField(allow_empty=False, max_length=MAX_SYNC_ITEMS)

    def validate_items(self, items: list) -> list:
        # A null is no change a phone made (the outbox never sends one): the whole batch is
        # refused, as the schema says (tracker/api_schema.py) and as the JSONField child did.
        if None in items:
            raise serializers.ValidationError("An item is null: send each change as an object.")
        return items


class SyncResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    type = serializers.CharField()
    key = serializers.CharField()
    status = serializers.IntegerField(
        help_text="200 saved or unchanged (a delete of what is deleted too), 201 created, 400, "
        "409 changed elsewhere, 410 deleted since: drop the change"
    )
    record = serializers.DictField(required=False, help_text="the saved record")
    errors = serializers.DictField(required=False, help_text="field errors, with 400")
    current = serializers.DictField(
        required=False, allow_null=True, help_text="the server's copy, with 409"
    )
    detail = serializers.CharField(required=False, help_text="why, with 410")


class SyncResponseSerializer(serializers.Serializer):
    results = SyncResultSerializer(many=True)


def validate_push_service(url: str) -> str:
    if not is_push_service(url):
        raise serializers.ValidationError(
            "Enter the https address of a browser's push service (Google, Mozilla, Apple or "
            "Microsoft)."
        )
    return url


class PushKeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(max_length=200)
    auth = serializers.CharField(max_length=100)


class PushSubscriptionSerializer(serializers.Serializer):
    """What the browser's PushSubscription.toJSON() gives, less `expirationTime`."""

    endpoint = serializers.URLField(max_length=1000, validators=[validate_push_service])
    keys = PushKeysSerializer(write_only=True)
    created_at = serializers.DateTimeField(read_only=True)
