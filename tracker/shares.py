"""Sharing: a patient's consent for a clinic or one clinician to read their diary (Share), the
one-time link a clinician shows to ask for it (Invitation), and the patient's history of who
looked (AccessEvent). Imported by tracker/models.py, so they are the app's models like the
others; who may read what is decided in tracker/access.py."""

import secrets
from datetime import timedelta

from django.db import IntegrityError, models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from tracker.clinics import Membership
from tracker.models import Patient, User


class ShareQuerySet(models.QuerySet):
    def active(self) -> "ShareQuerySet":
        return self.filter(revoked_at__isnull=True)

    def readable_by(self, user) -> "ShareQuerySet":
        """The shares that let this user read the diary: with them, or with a clinic where
        they are a clinician or a nurse (and not removed)."""
        clinics = Membership.objects.reading_diaries().filter(user=user).values("clinic")
        return self.filter(Q(clinician=user) | Q(clinic__in=clinics))

    def listed_for(self, user) -> "ShareQuerySet":
        """The shares that put the patient on this user's clinic list, whatever their role."""
        clinics = Membership.objects.active().filter(user=user).values("clinic")
        return self.filter(Q(clinician=user) | Q(clinic__in=clinics))


class Share(models.Model):
    """A patient's consent for one clinic (its clinicians and nurses read, its coordinators
    list) or one clinician to read their diary, until revoked."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="shares")
    clinician = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="shares"
    )
    clinic = models.ForeignKey(
        "tracker.Clinic", null=True, blank=True, on_delete=models.CASCADE, related_name="shares"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ShareQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "clinician"],
                condition=Q(revoked_at__isnull=True),
                name="one_active_share_per_pair",
            ),
            models.UniqueConstraint(
                fields=["patient", "clinic"],
                condition=Q(revoked_at__isnull=True),
                name="one_active_share_per_clinic",
            ),
            models.CheckConstraint(
                condition=Q(clinician__isnull=True) ^ Q(clinic__isnull=True),
                name="share_with_a_clinician_or_a_clinic",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} → {self.recipient}"

    @property
    def recipient(self):
        """Whom the patient shares with: the clinic, or the one clinician."""
        return self.clinic or self.clinician

    @property
    def recipient_name(self) -> str:
        if self.clinic:
            return self.clinic.name
        return self.clinician.get_full_name() or "A clinician without a name"

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])


def share_diary(patient: Patient, clinician: User | None = None, clinic=None) -> Share:
    """The patient's active share with this clinic or this clinician, made unless there is one
    already."""
    if clinic is None and (clinician is None or not clinician.is_clinician):
        raise ValueError("A diary is shared with a clinic or a clinician only.")
    recipient = {"clinic": clinic} if clinic is not None else {"clinician": clinician}
    try:
        with transaction.atomic():
            share, _ = Share.objects.active().get_or_create(patient=patient, **recipient)
    except IntegrityError:  # made by a request running at the same time
        share = Share.objects.active().get(patient=patient, **recipient)
    return share


INVITATION_LIFETIME = timedelta(days=14)


class InvitationUnusable(Exception):
    """The invitation has expired, has been used, or names a clinic its clinician has left."""


def inviter_still_a_member() -> Q:
    """An invitation to share with a clinic works only while the member who made it is still
    one: a removed member's links, printed or kept, no longer bring patients to the clinic."""
    membership = Membership.objects.active().filter(
        clinic_id=OuterRef("clinic_id"), user_id=OuterRef("clinician_id")
    )
    return Q(clinic__isnull=True) | Q(Exists(membership))


class InvitationQuerySet(models.QuerySet):
    def usable(self) -> "InvitationQuerySet":
        return self.filter(
            inviter_still_a_member(), used_at__isnull=True, expires_at__gt=timezone.now()
        )


class Invitation(models.Model):
    """A one-time link a clinician shows a patient (as a QR code) to ask for a share: with their
    clinic when it names one, else with them alone."""

    token = models.CharField(max_length=64, unique=True)
    clinician = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    clinic = models.ForeignKey(
        "tracker.Clinic", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = InvitationQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Invitation from {self.clinician} ({self.created_at:%Y-%m-%d})"

    @property
    def is_open(self) -> bool:
        return Invitation.objects.usable().filter(pk=self.pk).exists()

    @classmethod
    def issue(cls, clinician: User, clinic=None) -> "Invitation":
        return cls.objects.create(
            token=secrets.token_urlsafe(24),
            clinician=clinician,
            clinic=clinic,
            expires_at=timezone.now() + INVITATION_LIFETIME,
        )

    @transaction.atomic
    def accept(self, patient: Patient) -> Share:
        """Use the invitation up, once, and share the patient's diary with its clinician."""
        now = timezone.now()
        claimed = (
            Invitation.objects.usable().filter(pk=self.pk).update(used_at=now, used_by=patient)
        )
        if not claimed:
            raise InvitationUnusable
        self.used_at, self.used_by = now, patient
        if self.clinic_id:
            return share_diary(patient, clinic=self.clinic)
        return share_diary(patient, self.clinician)


class AccessEvent(models.Model):
    """Who opened which patient's data, what and when: the patient can read this history."""

    class What(models.TextChoices):
        PAGE = "page", "Report page"
        API = "api", "Data through the API"
        PDF = "pdf", "PDF summary"
        CSV = "csv", "CSV export"
        FHIR = "fhir", "FHIR export"
        ENTRY = "entry", "Recording an injection"
        ADMIN = "admin", "The admin site"
        HANDLED = "handled", "Marking a warning sign as seen"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="access_events")
    clinician = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="access_events"
    )
    # The clinic whose share let them in (none: the patient shares with them alone).
    clinic = models.ForeignKey(
        "tracker.Clinic", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    what = models.CharField(max_length=8, choices=What.choices)
    path = models.CharField(max_length=300)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Where the request came from (the client's address, as tracker.lockout reads it): the
    # patient's copy of their data says who looked, when and from where.
    address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.clinician} {self.what} {self.patient}"
