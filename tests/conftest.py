import datetime as dt

import pytest
import time_machine
from allauth.usersessions.models import UserSession
from django.core.cache import cache
from django.core.signals import request_started
from django.db import connection
from django.dispatch import receiver
from django.test import Client
from rest_framework.test import APIClient

from tests import factories
from tracker.revisions import _Raised

# Frozen at noon in London: the patient's day and the server's day agree.
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@receiver(request_started)
def forget_diary_rises(**kwargs) -> None:
    """Each request of a test starts with no diary revision raised, as in production, where a
    request is a transaction of its own (tracker/revisions.py); a test runs all its requests
    in one."""
    connection.run_on_commit = [
        waiting for waiting in connection.run_on_commit if not isinstance(waiting[1], _Raised)
    ]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def cache_per_test(settings):
    """Throttles and log-in limits count in the cache: an empty one for each test, in memory so
    that pinned query counts leave it out, with rates no test reaches by accident
    (tests/test_security.py lowers them to see them work); as large as production's, so that
    a list of 500 patients stays in it."""
    locmem = "django.core.cache.backends.locmem.LocMemCache"
    settings.CACHES = {"default": {"BACKEND": locmem, "OPTIONS": {"MAX_ENTRIES": 5000}}}
    rates = dict.fromkeys(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    cache.clear()


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


def client_for(user, client_class: type[Client] = APIClient) -> Client:
    """A client logged in as `user` (or no one): DRF's APIClient, which encodes data in the
    `format` asked for, for the API; Django's Client for pages."""
    client = client_class()
    if user is not None:
        client.force_login(user)
        # As allauth's log-in records each session (tracker/privacy.py ends them by it).
        UserSession.objects.create(user=user, session_key=client.session.session_key, ip="::1")
    return client


def reauthenticate(client, user) -> None:
    """As if the user had just typed their password again, as downloads and deleting the
    account ask (allauth's record of it in the session)."""
    from allauth.account.internal.flows.login import record_authentication
    from django.http import HttpRequest

    request = HttpRequest()
    request.session = client.session
    record_authentication(request, user, method="password", reauthenticated=True)
    request.session.save()


@pytest.fixture
def logged_in(db):
    """`logged_in(user)`: a browser (Django's test client) with `user` logged in; with
    `password_just_typed=True`, as if they had also just typed their password again."""

    def log_in(user, *, password_just_typed: bool = False) -> Client:
        client = client_for(user, Client)
        if password_just_typed:
            reauthenticate(client, user)
        return client

    return log_in


@pytest.fixture
def web(logged_in, patient) -> Client:
    """The patient's browser, logged in."""
    return logged_in(patient.user)


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


@pytest.fixture
def rates(settings):
    """`rates(write="2/min")`: lower throttle rates for one test, to see them work."""

    def set_rates(**rates):
        current = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": current | rates,
        }

    return set_rates


def injection_form(**changes) -> dict:
    """The injection form's fields as a browser posts them: one muscle, 100 units of Botox
    yesterday; `changes` replace any of them."""
    data = {
        "date": (TODAY - dt.timedelta(days=1)).isoformat(),
        "product": "botox",
        "total_units": "100",
        "sites-TOTAL_FORMS": "1",
        "sites-INITIAL_FORMS": "0",
        "sites-MIN_NUM_FORMS": "0",
        "sites-MAX_NUM_FORMS": "30",
        "sites-0-muscle": "trapezius",
        "sites-0-side": "left",
        "sites-0-units": "100",
    }
    return data | changes
