from collections.abc import Iterable

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.utils import timezone

from tracker import catalog, models
from tracker.lockout import client_address

PATIENT_SEARCH = [
    "patient__user__username",
    "patient__user__first_name",
    "patient__user__last_name",
]


def record_admin_access(request: HttpRequest, patient_ids: Iterable[int]) -> None:
    """An administrator's look at patients' data, written to each one's access history as a
    clinician's is (tracker/access.py): who, when, which page and from where."""
    models.AccessEvent.objects.bulk_create(
        models.AccessEvent(
            patient_id=patient_id,
            clinician=request.user,
            what=models.AccessEvent.What.ADMIN,
            path=request.get_full_path()[:300],
            address=client_address(request),
        )
        for patient_id in sorted(set(patient_ids))
    )


class PatientDataAdmin(admin.ModelAdmin):
    """The admin of records that are patients' data: each record opened (to read, change,
    delete or see its history) and each list shown is in the access history of the patients
    it shows. The admin site itself asks staff for a second factor first
    (tracker/security.py)."""

    def patient_id_of(self, record) -> int:
        return record.patient_id

    def get_object(self, request, object_id, from_field=None):
        record = super().get_object(request, object_id, from_field)
        if record is not None:
            record_admin_access(request, [self.patient_id_of(record)])
        return record

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        shown = getattr(response, "context_data", {}).get("cl")
        if shown is not None:  # not a redirect, nor the page of an action
            record_admin_access(request, map(self.patient_id_of, shown.result_list))
        return response


@admin.register(models.User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "role", "is_staff"]
    list_filter = ["role", *DjangoUserAdmin.list_filter]
    fieldsets = [
        (None, {"fields": ["username", "password", "role"]}),
        *DjangoUserAdmin.fieldsets[1:],
    ]
    # Sign-up only ever makes patients: this form is how an administrator makes a clinician.
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "username",
                    "role",
                    "email",
                    "first_name",
                    "last_name",
                    "usable_password",
                    "password1",
                    "password2",
                ],
            },
        )
    ]


class PatientConditionInline(admin.TabularInline):
    model = models.PatientCondition
    extra = 0


@admin.register(models.Patient)
class PatientAdmin(PatientDataAdmin):
    list_display = ["display_name", "user", "time_zone", "created_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    autocomplete_fields = ["user"]
    inlines = [PatientConditionInline]

    def patient_id_of(self, record: models.Patient) -> int:
        return record.pk


@admin.register(models.DailyLog)
class DailyLogAdmin(PatientDataAdmin):
    list_display = ["date", "patient", "severity", "pain", "spasm_frequency", "note"]
    list_select_related = ["patient__user"]
    list_filter = ["severity"]
    date_hierarchy = "date"
    search_fields = [*PATIENT_SEARCH, "note"]
    autocomplete_fields = ["patient"]
    readonly_fields = ["version", "created_at", "updated_at"]


class InjectionSiteInline(admin.TabularInline):
    model = models.InjectionSite
    extra = 0


@admin.register(models.Injection)
class InjectionAdmin(PatientDataAdmin):
    list_display = ["date", "patient", "product", "total_units", "guidance", "injector"]
    list_select_related = ["patient__user"]
    list_filter = ["product", "guidance"]
    date_hierarchy = "date"
    search_fields = [*PATIENT_SEARCH, "injector"]
    autocomplete_fields = ["patient"]
    raw_id_fields = ["entered_by"]
    readonly_fields = ["version", "created_at", "updated_at"]
    inlines = [InjectionSiteInline]


class RedFlagFilter(admin.SimpleListFilter):
    title = "red flag"
    parameter_name = "red_flag"

    def lookups(self, request, model_admin):
        return [("yes", "Red flags"), ("no", "Other reactions")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.red_flags()
        if self.value() == "no":
            return queryset.exclude(kind__in=catalog.RED_FLAG_CODES)
        return queryset


@admin.register(models.Reaction)
class ReactionAdmin(PatientDataAdmin):
    list_display = ["onset_date", "patient", "kind", "severity", "red_flag", "resolved_date"]
    list_select_related = ["patient__user"]
    list_filter = [RedFlagFilter, "severity", "kind"]
    date_hierarchy = "onset_date"
    search_fields = [*PATIENT_SEARCH, "note"]
    autocomplete_fields = ["patient", "injection"]
    readonly_fields = ["version", "created_at", "updated_at"]

    @admin.display(boolean=True, description="Red flag")
    def red_flag(self, reaction: models.Reaction) -> bool:
        return reaction.is_red_flag


@admin.register(models.Share)
class ShareAdmin(PatientDataAdmin):
    list_display = ["patient", "clinic", "clinician", "created_at", "revoked_at"]
    list_select_related = ["patient__user", "clinic", "clinician"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = [
        *PATIENT_SEARCH,
        "clinic__name",
        "clinician__username",
        "clinician__last_name",
    ]
    autocomplete_fields = ["patient", "clinic", "clinician"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "clinician":
            kwargs["queryset"] = models.User.objects.filter(role=models.User.Role.CLINICIAN)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(models.Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Red-flag alerts and reminders that were tried: their state, how many tries, when the
    next is due and the last error. The message itself is not kept (it holds no health data
    anyway), and the red flag shows only as its id, so no patient's data is opened here."""

    list_display = [
        "created_at",
        "kind",
        "channel",
        "recipient",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["state", "kind", "channel"]
    list_select_related = ["recipient"]
    search_fields = ["recipient__username", "recipient__email"]
    date_hierarchy = "created_at"
    fields = [*list_display, "reaction_id", "day", "claimed_until"]
    readonly_fields = fields
    actions = ["send_again"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Send again now (those given up or waiting)")
    def send_again(self, request, queryset) -> None:
        state = models.Delivery.State
        waiting = queryset.filter(state__in=[state.FAILED, state.PENDING])
        count = waiting.update(state=state.PENDING, next_attempt_at=timezone.now())
        self.message_user(request, f"{count} will be sent by the next sweep, within a minute.")


@admin.register(models.PrintBatch)
class PrintBatchAdmin(admin.ModelAdmin):
    list_display = ["created_at", "clinician", "state", "pages", "finished_at", "error"]
    list_filter = ["state"]
    list_select_related = ["clinician"]
    fields = list_display
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = models.Membership
    fields = ["user", "role", "is_admin", "created_at", "removed_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["user"]
    extra = 0


@admin.register(models.Clinic)
class ClinicAdmin(admin.ModelAdmin):
    """Clinics and their members: a member is removed (removed_at), not deleted, so that the
    access history still names them."""

    list_display = ["name", "phone", "time_zone", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(models.MemberInvitation)
class MemberInvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "clinic", "role", "created_at", "expires_at", "used_at"]
    list_select_related = ["clinic"]
    search_fields = ["email", "clinic__name"]
    exclude = ["token"]  # the link's secret: only its email carries it
    readonly_fields = ["clinic", "email", "role", "invited_by", "expires_at", "used_at"]
