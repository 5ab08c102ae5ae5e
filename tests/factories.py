import datetime as dt
import time
from decimal import Decimal

import factory

from tracker import models


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery")
    role = models.User.Role.PATIENT


TOTP_SECRET = "JBSWY3DPEHPK3PXP"  # factory clinicians' authenticator app


def totp_code(secret: str = TOTP_SECRET) -> str:
    """The code the authenticator app with this secret shows now."""
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


class ClinicianFactory(UserFactory):
    """A clinician with an authenticator app, as the clinic requires; two_factor=False for
    one who has not set it up yet."""

    class Meta:
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"clinician{n}")
    role = models.User.Role.CLINICIAN

    @factory.post_generation
    def two_factor(user, create, extracted, **kwargs):
        if create and extracted is not False:
            from allauth.mfa.models import Authenticator

            Authenticator.objects.create(
                user=user, type=Authenticator.Type.TOTP, data={"secret": TOTP_SECRET}
            )


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Patient
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    time_zone = "Europe/London"

    @factory.post_generation
    def conditions(patient, create, extracted, **kwargs):
        if create:
            for condition in extracted or ["cervical_dystonia"]:
                patient.conditions.create(condition=condition)


class DailyLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.DailyLog

    patient = factory.SubFactory(PatientFactory)
    date = factory.LazyFunction(dt.date.today)
    severity = 5


class InjectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Injection

    patient = factory.SubFactory(PatientFactory)
    date = factory.LazyFunction(dt.date.today)
    product = "botox"
    total_units = Decimal(200)


class InjectionSiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.InjectionSite

    injection = factory.SubFactory(InjectionFactory)
    muscle = "sternocleidomastoid"
    side = "left"
    units = Decimal(100)


class ReactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Reaction

    patient = factory.SubFactory(PatientFactory)
    kind = "site_pain"
    severity = "mild"
    onset_date = factory.LazyFunction(dt.date.today)


class ShareFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Share

    patient = factory.SubFactory(PatientFactory)
    clinician = factory.SubFactory(ClinicianFactory)


def peak_impressions(patient, shots, until: dt.date, score: int = 2) -> None:
    """The patient's answer to the PGIC at the peak of each injection, 30 days after it, up to
    `until`."""
    models.GlobalImpression.objects.bulk_create(
        models.GlobalImpression(
            patient=patient,
            injection=shot,
            timepoint="peak",
            date=shot.date + dt.timedelta(days=30),
            score=score,
        )
        for shot in shots
        if shot.date + dt.timedelta(days=30) <= until
    )
