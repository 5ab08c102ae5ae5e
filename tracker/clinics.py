"""Clinics as teams: a clinic, its members and their roles, and the invitations that bring a new
member in. Imported by tracker/models.py, so they are the app's models like the others.

A patient shares with a clinic (or, as before, with one clinician). Members whose role reads
diaries (clinicians and nurses) see everything shared with the clinic; coordinators see the
list of patients, their names, identifiers, red-flag status and contact details, never a diary.
Removing a member cuts their access at once: every rule reads only members not removed
(tracker/access.py).
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

MEMBER_INVITATION_LIFETIME = timedelta(days=7)


class Clinic(models.Model):
    name = models.CharField(max_length=120)
    # Shown on the urgent card of the clinic's patients, to call with one tap.
    phone = models.CharField(max_length=30, blank=True)
    address = models.CharField("address line", max_length=200, blank=True)
    time_zone = models.CharField(max_length=64, default="Europe/London")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    def active_members(self) -> "models.QuerySet[Membership]":
        return self.memberships.filter(removed_at=None).select_related("user")


class MembershipQuerySet(models.QuerySet):
    def active(self) -> "MembershipQuerySet":
        return self.filter(removed_at=None)

    def reading_diaries(self) -> "MembershipQuerySet":
        """The members who read the diaries shared with their clinic."""
        return self.active().filter(role__in=Membership.DIARY_ROLES)


class Membership(models.Model):
    class Role(models.TextChoices):
        CLINICIAN = "clinician", "Clinician"
        NURSE = "nurse", "Nurse"
        COORDINATOR = "coordinator", "Coordinator"

    DIARY_ROLES = (Role.CLINICIAN, Role.NURSE)

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=12, choices=Role.choices)
    is_admin = models.BooleanField("adds and removes members", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "user"],
                condition=Q(removed_at__isnull=True),
                name="one_active_membership_per_person",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.clinic})"

    @property
    def reads_diaries(self) -> bool:
        return self.role in self.DIARY_ROLES

    def remove(self) -> None:
        self.removed_at = timezone.now()
        self.save(update_fields=["removed_at"])


class MemberInvitationUnusable(Exception):
    """The invitation has expired, has been used or has been withdrawn."""


class MemberInvitationQuerySet(models.QuerySet):
    def usable(self) -> "MemberInvitationQuerySet":
        return self.filter(used_at=None, withdrawn_at=None, expires_at__gt=timezone.now())


class MemberInvitation(models.Model):
    """A clinic admin's invitation, by email, for one person to join in one role: used once,
    within a week."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=12, choices=Membership.Role.choices)
    token = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    objects = MemberInvitationQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.email} to {self.clinic} as {self.get_role_display()}"

    @property
    def is_open(self) -> bool:
        return (
            self.used_at is None and self.withdrawn_at is None and self.expires_at > timezone.now()
        )

    @classmethod
    def issue(cls, clinic: Clinic, email: str, role: str, invited_by) -> "MemberInvitation":
        return cls.objects.create(
            clinic=clinic,
            email=email,
            role=role,
            invited_by=invited_by,
            token=secrets.token_urlsafe(24),
            expires_at=timezone.now() + MEMBER_INVITATION_LIFETIME,
        )

    @transaction.atomic
    def accept(self, user) -> Membership:
        """Use the invitation up, once, and make `user` a member in its role."""
        now = timezone.now()
        if not MemberInvitation.objects.usable().filter(pk=self.pk).update(used_at=now):
            raise MemberInvitationUnusable
        self.used_at = now
        membership = Membership.objects.active().filter(clinic=self.clinic, user=user).first()
        if membership is None:
            return Membership.objects.create(clinic=self.clinic, user=user, role=self.role)
        membership.role = self.role  # invited again in another role: the new one
        membership.save(update_fields=["role"])
        return membership
