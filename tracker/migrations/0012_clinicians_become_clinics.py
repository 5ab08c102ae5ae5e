"""Each clinician becomes the one member (a clinician, and its admin) of a clinic of their own,
and what was shared with them is shared with that clinic: the same people read the same
diaries, no access lost or widened. Their open invitations name the clinic too."""

from django.conf import settings
from django.db import migrations


def clinicians_become_clinics(apps, schema_editor):
    User = apps.get_model("tracker", "User")
    Clinic = apps.get_model("tracker", "Clinic")
    Membership = apps.get_model("tracker", "Membership")
    Share = apps.get_model("tracker", "Share")
    Invitation = apps.get_model("tracker", "Invitation")
    AccessEvent = apps.get_model("tracker", "AccessEvent")
    for clinician in User.objects.filter(role="clinician").order_by("pk"):
        name = f"{clinician.first_name} {clinician.last_name}".strip() or clinician.username
        clinic = Clinic.objects.create(name=f"{name}'s clinic", time_zone=settings.TIME_ZONE)
        Membership.objects.create(clinic=clinic, user=clinician, role="clinician", is_admin=True)
        Share.objects.filter(clinician=clinician).update(clinic=clinic, clinician=None)
        Invitation.objects.filter(clinician=clinician).update(clinic=clinic)
        AccessEvent.objects.filter(clinician=clinician).update(clinic=clinic)


def clinics_become_clinicians(apps, schema_editor):
    """Back: each one-member clinic's shares go to its member again."""
    Membership = apps.get_model("tracker", "Membership")
    Share = apps.get_model("tracker", "Share")
    for membership in Membership.objects.filter(removed_at=None, role="clinician"):
        if membership.clinic.memberships.count() == 1:
            shares = Share.objects.filter(clinic=membership.clinic)
            shares.update(clinician=membership.user, clinic=None)


class Migration(migrations.Migration):
    dependencies = [("tracker", "0011_clinics")]

    operations = [migrations.RunPython(clinicians_become_clinics, clinics_become_clinicians)]
