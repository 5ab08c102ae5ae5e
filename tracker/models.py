import re
import secrets
import uuid
import zoneinfo
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, models, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from tracker import catalog, relief
from tracker.catalog import format_units, unit_errors
from tracker.dates import DIARY_DATE_ERROR, EARLIEST_DIARY_DATE
from tracker.severities import SeveritiesAsText, parse_severities


class User(AbstractUser):
    class Role(models.TextChoices):
        PATIENT = "patient", "Patient"
        CLINICIAN = "clinician", "Clinician"

    role = models.CharField(max_length=10, choices=Role.choices, default=Role.PATIENT)
    # A clinician's short code, which a patient can enter to share with them.
    share_code = models.CharField(max_length=8, unique=True, null=True, blank=True)

    @property
    def is_clinician(self) -> bool:
        return self.role == self.Role.CLINICIAN

    def ensure_share_code(self) -> str:
        """The clinician's share code, made the first time it is needed."""
        while not self.share_code:
            code = new_share_code()
            try:
                with transaction.atomic():
                    unset = User.objects.filter(pk=self.pk, share_code=None)
                    if unset.update(share_code=code):
                        self.share_code = code
                        break
            except IntegrityError:
                continue  # another clinician has this code: draw again
            self.refresh_from_db(fields=["share_code"])  # another request gave one first
        return self.share_code

    @property
    def display_share_code(self) -> str:
        """ABCD-EFGH: easier to read out than eight letters in a row."""
        code = self.share_code or ""
        return f"{code[:4]}-{code[4:]}" if len(code) == SHARE_CODE_LENGTH else code


# No 0/O, 1/I/L: a code is read off a screen or out loud, then typed on a phone.
SHARE_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
SHARE_CODE_LENGTH = 8


def new_share_code() -> str:
    return "".join(secrets.choice(SHARE_CODE_ALPHABET) for _ in range(SHARE_CODE_LENGTH))


def normalise_share_code(text: str) -> str:
    """What a patient typed, as stored: "abcd efgh" and "ABCD-EFGH" are the same code."""
    return re.sub(r"[\s-]", "", text).upper()


PRODUCT_LABELS = dict(catalog.PRODUCT_CHOICES)


def relief_settings() -> relief.ReliefSettings:
    return relief.ReliefSettings(threshold=settings.RELIEF_THRESHOLD_PERCENT)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a time zone we know.")


class PatientQuerySet(models.QuerySet):
    def visible_to(self, user) -> "PatientQuerySet":
        """The patients whose diary this user may read: their own; or, for clinic staff, those
        sharing with them or with a clinic where their role reads diaries."""
        if not user.is_authenticated:
            return self.none()
        if user.is_clinician:
            return self.filter(pk__in=Share.objects.active().readable_by(user).values("patient"))
        return self.filter(user=user)

    def listed_for(self, user) -> "PatientQuerySet":
        """The patients on this user's clinic list: those whose diary they read, and those
        sharing with a clinic where they coordinate (names and red flags, no diary)."""
        if not user.is_authenticated or not user.is_clinician:
            return self.none()
        return self.filter(pk__in=Share.objects.active().listed_for(user).values("patient"))

    def for_dashboard(self) -> "PatientQuerySet":
        """What the clinic's list reads of every patient it sorts, as tuples: the id, when they
        joined, time zone, diary revision, first and last name, date of birth, clinic number,
        cause of spasticity and their last check-in's date (tracker/diary_clinic.py,
        clinic_order)."""
        last_log = DailyLog.objects.filter(patient=OuterRef("pk")).order_by("-date")
        return self.annotate(last_log_date=Subquery(last_log.values("date")[:1])).values_list(
            "pk",
            "created_at",
            "time_zone",
            "diary_revision",
            "user__first_name",
            "user__last_name",
            "date_of_birth",
            "clinic_number",
            "spasticity_cause",
            "last_log_date",
        )

    def with_condition(self, condition: str) -> "PatientQuerySet":
        return self.filter(conditions__condition=condition) if condition else self

    def matching(self, search: str) -> "PatientQuerySet":
        """Every word of `search` in the first name, last name or username."""
        patients = self
        for word in search.split():
            patients = patients.filter(
                Q(user__first_name__icontains=word)
                | Q(user__last_name__icontains=word)
                | Q(user__username__icontains=word)
            )
        return patients


REVISIONS = ("diary_revision", "history_revision")


class Patient(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="patient")
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    created_at = models.DateTimeField(auto_now_add=True)
    # The daily check-in reminder, at this local time (none: no reminder), by email and to
    # every PushSubscription; last_reminded_on (a local date) keeps it to one a day.
    reminder_time = models.TimeField(null=True, blank=True)
    reminder_email = models.BooleanField(default=True)
    last_reminded_on = models.DateField(null=True, blank=True)
    # The numbers on the urgent card: the emergency number of the patient's country unless
    # they chose another, and their clinic's phone (docs/clinical-rules.md, "Red flags").
    emergency_number = models.CharField(max_length=20, blank=True)
    clinic_phone = models.CharField(max_length=30, blank=True)
    spasticity_cause = models.CharField(
        max_length=24, blank=True, choices=catalog.SPASTICITY_CAUSE_CHOICES
    )
    # What identifies the patient to the clinics they share with (list, report, PDF); shown
    # to no one else.
    date_of_birth = models.DateField(null=True, blank=True)
    clinic_number = models.CharField("clinic's patient number", max_length=40, blank=True)
    # The Today page's extra measures stay folded unless the patient opened them last time.
    checkin_more_open = models.BooleanField(default=False)
    # Bumped in the same transaction as any write to the diary (check-ins, injections,
    # reactions, answers, conditions): it keys the cache of the computed cycles and pages.
    diary_revision = models.PositiveBigIntegerField(default=0)
    # Bumped with it by every write but a check-in of the last few weeks (RECENT_CHECK_IN_DAYS,
    # tracker/revisions.py): it keys the diary's older part, kept for the Relief page, which
    # then reads afresh only the recent check-ins (tracker/diary_kept.py, read_diary_kept).
    history_revision = models.PositiveBigIntegerField(default=0)

    objects = PatientQuerySet.as_manager()

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs) -> None:
        # The revisions only rise, by tracker/revisions.py's UPDATE: a copy read before a
        # rise, saved whole, would write the older number back and bring back cached pages.
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in REVISIONS
            ]
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        """The name the patient gave, else "Patient #12": clinicians never see a username."""
        return self.user.get_full_name() or f"Patient #{self.pk}"

    @property
    def phone_of_clinic(self) -> str:
        """The clinic's number on the urgent card: the one the patient gave, else the phone of
        the clinic they share with (the earliest share)."""
        if self.clinic_phone:
            return self.clinic_phone
        phones = self.shares.active().filter(clinic__isnull=False).exclude(clinic__phone="")
        phones = phones.order_by("created_at")
        return phones.values_list("clinic__phone", flat=True).first() or ""

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def today(self) -> date:
        """The patient's calendar day, in their own time zone."""
        return timezone.now().astimezone(self.zone).date()

    @property
    def conditions_label(self) -> str:
        """ "Cervical dystonia, Limb spasticity (stroke)" """
        return ", ".join(self.condition_labels)

    @property
    def condition_labels(self) -> list[str]:
        return catalog.condition_labels(self.condition_codes, self.spasticity_cause)

    @property
    def condition_codes(self) -> list[str]:
        return [c.condition for c in self.conditions.all()]

    def relief_cycles(self, today: date | None = None) -> list[relief.Cycle]:
        """The patient's injection cycles with their relief figures (two queries)."""
        return self.relief_cycles_and_products(today)[0]

    def relief_cycles_and_products(
        self, today: date | None = None
    ) -> tuple[list[relief.Cycle], dict[object, str]]:
        """The cycles, and each injection's product label by id, for the wearing-off forecast
        (two queries)."""
        rows = self.injections.values_list("pk", "date", "product")
        injections = [relief.InjectionPoint(id=pk, date=day) for pk, day, _ in rows]
        products = {pk: PRODUCT_LABELS.get(code, code) for pk, _, code in rows}
        logs = self.logs.values_list("date", "severity")
        today = today or self.today()
        return relief.compute_cycles(injections, logs, today, relief_settings()), products

    def last_injection(self, on_or_before: date | None = None) -> "Injection | None":
        day = on_or_before or self.today()
        return self.injections.filter(date__lte=day).order_by("-date", "-created_at").first()


class PushSubscription(models.Model):
    """One browser's Web Push subscription (a phone that asked for notifications): a patient's
    for their daily reminder, a clinician's or nurse's for the red-flag alerts."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveSmallIntegerField(default=0)  # in a row, since the last success

    def __str__(self) -> str:
        return f"{self.user}: {self.endpoint[:60]}"

    @property
    def info(self) -> dict:
        """As pywebpush wants it."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class PatientCondition(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="conditions")
    condition = models.CharField(max_length=32, choices=catalog.CONDITION_CHOICES)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "condition"], name="unique_patient_condition"
            )
        ]

    def __str__(self) -> str:
        return self.get_condition_display()


def validate_diary_date(patient: Patient, day: date, field: str = "date") -> None:
    """Every date a diary holds lies from EARLIEST_DIARY_DATE to the patient's today
    (docs/clinical-rules.md, "Dates a diary may hold")."""
    if day and not EARLIEST_DIARY_DATE <= day <= patient.today():
        raise ValidationError({field: DIARY_DATE_ERROR})


def on_or_after_earliest(field: str) -> Q:
    return Q(**{f"{field}__gte": EARLIEST_DIARY_DATE})


class DiaryRecord(models.Model):
    """Fields every diary entry shares. `version` rises by one on every change, so that an
    edit made from an out-of-date copy (another phone, an offline outbox) can be refused."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            self.version += 1
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "version", "updated_at"}
        # The revisions' rise (a pre_save receiver) and the write in one transaction: a page
        # made between the two would keep the old record under the new revision.
        with transaction.atomic(savepoint=False):
            super().save(*args, **kwargs)
        self.remember_stored()

    @classmethod
    def from_db(cls, db, field_names, values):
        record = super().from_db(db, field_names, values)
        record.remember_stored()
        return record

    def remember_stored(self) -> None:
        """What the row holds now, for the revisions (tracker/revisions.py): whose record it
        is, so that a save giving it to another patient changes their diary too."""
        self.stored_patient_id = self.__dict__.get("patient_id")

    def refresh_from_db(self, *args, **kwargs) -> None:
        super().refresh_from_db(*args, **kwargs)
        self.remember_stored()

    @property
    def tombstone_key(self) -> str:
        """How the record is named once deleted: its id (a log: its date)."""
        return str(self.pk)

    @transaction.atomic
    def delete(self, *args, **kwargs):
        """Deleted, and remembered as deleted: a create of the same record sent again later (an
        offline phone's outbox, a retried request) is then answered 410 Gone, not saved anew."""
        Tombstone.objects.update_or_create(
            patient_id=self.patient_id,
            kind=TOMBSTONE_KINDS[type(self).__name__],
            key=self.tombstone_key,
            defaults={"version": self.version, "deleted_at": timezone.now()},
        )
        return super().delete(*args, **kwargs)


# The diary records a tombstone can name, by model.
TOMBSTONE_KINDS = {
    "DailyLog": "log",
    "Injection": "injection",
    "Reaction": "reaction",
    "GlobalImpression": "impression",
}


class TombstoneQuerySet(models.QuerySet):
    def expired(self, now=None) -> "TombstoneQuerySet":
        """Kept longer than any phone stays offline (settings.TOMBSTONE_DAYS), then purged."""
        now = now or timezone.now()
        return self.filter(deleted_at__lt=now - timedelta(days=settings.TOMBSTONE_DAYS))


class Tombstone(models.Model):
    """A deleted diary record: which (kind and id, or a log's date), whose, when, and the
    version it had. Never shown to anyone but its patient."""

    class Kind(models.TextChoices):
        LOG = "log", "Check-in"
        INJECTION = "injection", "Injection"
        REACTION = "reaction", "Reaction"
        IMPRESSION = "impression", "PGIC answer"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="tombstones")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    key = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    deleted_at = models.DateTimeField(db_index=True)

    objects = TombstoneQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "kind", "key"], name="one_tombstone_each")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.key}, deleted {self.deleted_at:%Y-%m-%d}"


class DailyLogQuerySet(models.QuerySet):
    def between(self, start: date | None, end: date | None) -> "DailyLogQuerySet":
        logs = self
        if start:
            logs = logs.filter(date__gte=start)
        if end:
            logs = logs.filter(date__lte=end)
        return logs

    def severities_by_patient(self) -> dict[int, tuple[tuple[date, int], ...]]:
        """Each patient's (date, severity) pairs, oldest first. Fetched as one string per
        patient: for a clinic of hundreds, one row per log was most of the list's time."""
        rows = self.order_by().values("patient_id").annotate(logs=SeveritiesAsText())
        return {row["patient_id"]: parse_severities(row["logs"]) for row in rows}


class DailyLog(DiaryRecord):
    """A day's check-in. One per patient per day, addressed by its date."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="logs")
    date = models.DateField()
    severity = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    spasm_frequency = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=catalog.PENN_SPASM_FREQUENCY_CHOICES
    )
    pain = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    note = models.TextField(blank=True, max_length=2000)

    objects = DailyLogQuerySet.as_manager()

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "date"], name="one_log_per_patient_day"),
            models.CheckConstraint(
                condition=Q(severity__gte=0, severity__lte=10), name="severity_0_to_10"
            ),
            models.CheckConstraint(condition=on_or_after_earliest("date"), name="log_date_bound"),
            models.CheckConstraint(
                condition=Q(pain__isnull=True) | Q(pain__gte=0, pain__lte=10), name="pain_0_to_10"
            ),
            models.CheckConstraint(
                condition=Q(spasm_frequency__isnull=True)
                | Q(spasm_frequency__gte=0, spasm_frequency__lte=4),
                name="penn_0_to_4",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date}: {self.severity}/10"

    def remember_stored(self) -> None:
        """And its date: a save or a delete then knows every date it touches
        (tracker/revisions.py, touches_history)."""
        super().remember_stored()
        self.stored_date = self.__dict__.get("date")

    @property
    def tombstone_key(self) -> str:
        return self.date.isoformat()

    def clean(self) -> None:
        validate_diary_date(self.patient, self.date)


class Injection(DiaryRecord):
    """One injection session. The id may be chosen by the client, so a retried create is
    recognised instead of duplicated."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="injections")
    date = models.DateField()
    product = models.CharField(max_length=16, choices=catalog.PRODUCT_CHOICES)
    total_units = models.DecimalField(max_digits=7, decimal_places=1)
    guidance = models.CharField(max_length=16, blank=True, choices=catalog.GUIDANCE_CHOICES)
    injector = models.CharField(max_length=120, blank=True)
    notes = models.TextField(blank=True, max_length=2000)
    entered_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Above the product's label maximum, the person who entered the dose confirmed it.
    dose_confirmed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-date", "-created_at"]
        indexes = [models.Index(fields=["patient", "date"])]
        constraints = [
            models.CheckConstraint(condition=Q(total_units__gt=0), name="total_units_positive"),
            models.CheckConstraint(
                condition=on_or_after_earliest("date"), name="injection_date_bound"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.get_product_display()} {format_units(self.total_units)} units"

    @property
    def entered_by_clinic(self) -> bool:
        return self.entered_by is not None and self.entered_by.is_clinician

    @property
    def product_info(self) -> catalog.Product:
        return catalog.PRODUCT_BY_CODE[self.product]

    def clean(self) -> None:
        validate_diary_date(self.patient, self.date)
        errors = unit_errors(self.product, self.total_units, self.dose_confirmed)
        if errors:
            raise ValidationError({"total_units": errors})


class InjectionSite(models.Model):
    injection = models.ForeignKey(Injection, on_delete=models.CASCADE, related_name="sites")
    muscle = models.CharField(max_length=40, choices=catalog.MUSCLE_CHOICES)
    side = models.CharField(max_length=8, choices=catalog.SIDE_CHOICES)
    units = models.DecimalField(max_digits=7, decimal_places=1)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(units__gt=0), name="site_units_positive")]

    def __str__(self) -> str:
        units = format_units(self.units)
        return f"{self.get_muscle_display()} ({self.get_side_display()}) {units} units"

    def save(self, *args, **kwargs) -> None:
        with transaction.atomic(savepoint=False):  # as DiaryRecord.save: the rise and the write
            super().save(*args, **kwargs)


RED_FLAG = Q(kind__in=catalog.RED_FLAG_CODES) | Q(
    kind__in=catalog.RED_FLAG_WHEN_SEVERE_CODES, severity="severe"
)


class ReactionQuerySet(models.QuerySet):
    def red_flags(self) -> "ReactionQuerySet":
        """As catalog.red_flag_tier says, in one query."""
        return self.filter(RED_FLAG)

    def not_red_flags(self) -> "ReactionQuerySet":
        return self.exclude(RED_FLAG)

    def open(self) -> "ReactionQuerySet":
        return self.filter(resolved_date__isnull=True)

    def unhandled(self) -> "ReactionQuerySet":
        """Not yet marked handled by a clinician: a red flag stays on top of the clinic's list
        until then, whether or not the patient has said it is over."""
        return self.filter(handled_at__isnull=True)


class Reaction(DiaryRecord):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="reactions")
    injection = models.ForeignKey(
        Injection, null=True, blank=True, on_delete=models.SET_NULL, related_name="reactions"
    )
    kind = models.CharField(max_length=40, choices=catalog.REACTION_CHOICES)
    severity = models.CharField(max_length=10, choices=catalog.SEVERITY_CHOICES)
    onset_date = models.DateField()
    resolved_date = models.DateField(null=True, blank=True)
    pain_reliever = models.CharField(max_length=120, blank=True)
    pain_reliever_dose = models.CharField(max_length=60, blank=True)
    note = models.TextField(blank=True, max_length=2000)
    # A clinician's "we have seen this" on a red flag: who, when, and an optional note. The
    # patient's resolved date is theirs; handled is the clinic's; neither replaces the other.
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_note = models.CharField(max_length=500, blank=True)

    objects = ReactionQuerySet.as_manager()

    class Meta:
        ordering = ["-onset_date", "-created_at"]
        indexes = [models.Index(fields=["patient", "onset_date"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved_date__isnull=True)
                | Q(resolved_date__gte=models.F("onset_date")),
                name="resolved_not_before_onset",
            ),
            models.CheckConstraint(
                condition=on_or_after_earliest("onset_date"), name="reaction_onset_bound"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.onset_date} {self.get_kind_display()}"

    @property
    def red_flag_tier(self) -> str | None:
        return catalog.red_flag_tier(self.kind, self.severity)

    @property
    def is_red_flag(self) -> bool:
        return self.red_flag_tier is not None

    @property
    def red_flag_tier_label(self) -> str:
        return catalog.RED_FLAG_TIER_LABELS.get(self.red_flag_tier, "")

    def clean(self) -> None:
        validate_diary_date(self.patient, self.onset_date, "onset_date")
        if self.resolved_date:
            validate_diary_date(self.patient, self.resolved_date, "resolved_date")
            if self.onset_date and self.resolved_date < self.onset_date:
                raise ValidationError({"resolved_date": "It can't end before it started."})
        if self.injection_id and self.injection.patient_id != self.patient_id:
            raise ValidationError({"injection": "Choose one of your own injections."})


class GlobalImpression(DiaryRecord):
    """The patient's answer to the PGIC question for one injection cycle, at one time point."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="global_impressions"
    )
    injection = models.ForeignKey(
        Injection, on_delete=models.CASCADE, related_name="global_impressions"
    )
    timepoint = models.CharField(max_length=12, choices=catalog.PGIC_TIMEPOINT_CHOICES)
    date = models.DateField()
    score = models.PositiveSmallIntegerField(choices=catalog.PGIC_CHOICES)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(
                fields=["injection", "timepoint"], name="one_pgic_per_cycle_timepoint"
            ),
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=7), name="pgic_1_to_7"),
            models.CheckConstraint(condition=on_or_after_earliest("date"), name="pgic_date_bound"),
        ]

    def __str__(self) -> str:
        return f"{self.date} PGIC {self.score}"

    def clean(self) -> None:
        validate_diary_date(self.patient, self.date)
        if self.injection_id and self.injection.patient_id != self.patient_id:
            raise ValidationError({"injection": "Choose one of your own injections."})


# Clinics and their members (tracker/clinics.py), sharing (tracker/shares.py) and the rows
# background jobs keep (tracker/jobs.py): models of this app like the ones above.
from tracker.clinics import (  # noqa: E402, F401
    Clinic,
    MemberInvitation,
    MemberInvitationUnusable,
    Membership,
)
from tracker.job_records import Delivery, JobSchedule, PrintBatch  # noqa: E402, F401
from tracker.shares import (  # noqa: E402, F401
    INVITATION_LIFETIME,
    AccessEvent,
    Invitation,
    InvitationUnusable,
    Share,
    share_diary,
)
