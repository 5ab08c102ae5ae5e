import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from tests import factories

# Frozen at noon in London: the patient's day and the server's day agree.
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def static_without_manifest(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def patient(db):
    return factories.PatientFactory(user__username="pat", conditions=["cervical_dystonia"])


@pytest.fixture
def other_patient(db):
    return factories.PatientFactory(user__username="other", conditions=["blepharospasm"])


@pytest.fixture
def clinician(db, patient):
    """A clinician with whom `patient` shares their diary."""
    user = factories.ClinicianFactory(username="doc")
    factories.ShareFactory(patient=patient, clinician=user)
    return user


@pytest.fixture
def stranger_clinician(db):
    return factories.ClinicianFactory(username="stranger-doc")


@pytest.fixture
def injection(patient):
    shot = factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=30))
    factories.InjectionSiteFactory(injection=shot, muscle="sternocleidomastoid", units=120)
    factories.InjectionSiteFactory(injection=shot, muscle="splenius_capitis", units=80)
    return shot


def client_for(user):
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def patient_client(patient):
    return client_for(patient.user)


@pytest.fixture
def other_client(other_patient):
    return client_for(other_patient.user)


@pytest.fixture
def clinician_client(clinician):
    return client_for(clinician)


@pytest.fixture
def anon_client():
    return APIClient()
