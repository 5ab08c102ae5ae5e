"""A push subscription belongs to an account, not to a patient's record: clinicians and nurses
subscribe too, for the red-flag alerts. Each patient's phones stay theirs, now by their user."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def to_users(apps, schema_editor):
    PushSubscription = apps.get_model("tracker", "PushSubscription")
    Patient = apps.get_model("tracker", "Patient")
    user = Patient.objects.filter(pk=OuterRef("patient_id")).values("user_id")[:1]
    PushSubscription.objects.update(user_id=Subquery(user))


def to_patients(apps, schema_editor):
    """Back: a patient's phones to their record again; a clinician's, which had no place
    before, are dropped."""
    PushSubscription = apps.get_model("tracker", "PushSubscription")
    Patient = apps.get_model("tracker", "Patient")
    PushSubscription.objects.filter(user__patient__isnull=True).delete()
    patient = Patient.objects.filter(user_id=OuterRef("user_id")).values("pk")[:1]
    PushSubscription.objects.update(patient_id=Subquery(patient))


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0012_clinicians_become_clinics"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # Each field may be empty while the rows move, in either direction.
    operations = [
        migrations.AddField(
            model_name="pushsubscription",
            name="user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="push_subscriptions",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="pushsubscription",
            name="patient",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="push_subscriptions",
                to="tracker.patient",
            ),
        ),
        migrations.RunPython(to_users, to_patients),
        migrations.AlterField(
            model_name="pushsubscription",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="push_subscriptions",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RemoveField(model_name="pushsubscription", name="patient"),
    ]
