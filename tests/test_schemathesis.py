"""The whole API held to its own OpenAPI schema by schemathesis, as a logged-in patient:
no 500, every status code, content type and body as documented, and bad input refused."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings

from tests import factories

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture
def patient_headers(db) -> dict[str, str]:
    patient = factories.PatientFactory()
    factories.InjectionSiteFactory(injection__patient=patient)
    factories.DailyLogFactory(patient=patient)
    client = Client()
    client.force_login(patient.user)
    client.get("/today/")  # sets the CSRF cookie
    session, csrf = client.cookies["sessionid"].value, client.cookies["csrftoken"].value
    return {"Cookie": f"sessionid={session}; csrftoken={csrf}", "X-CSRFToken": csrf}


@pytest.fixture
def api_headers(patient_headers):
    """The WSGI app closes "old" connections around each request, as a server should; inside
    the test's transaction that would close the one connection the test holds (PostgreSQL).
    Django's test client switches this off during each of its own requests (and switches it
    back on after, which is why this runs after the log-in above)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield patient_headers
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_schema(case, api_headers):
    case.call_and_validate(headers=api_headers)
