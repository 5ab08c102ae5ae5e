"""The production headers at the values the Mozilla HTTP Observatory grades A+; cookies;
throttles; and the health check. Failed log-ins: tests/test_lockout.py."""

import datetime as dt
import re
import runpy
from html.parser import HTMLParser
from http.cookies import Morsel
from pathlib import Path
from typing import NamedTuple
from unittest import mock
from urllib.parse import urljoin

import pytest
from allauth.account.models import EmailAddress
from django.db import OperationalError
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from tests.conftest import TODAY, client_for

HOST = "relief.example.org"
PASSWORD = "correct horse battery"  # tests/factories.py
# What an operator sets (README "Production deployment"); settings.py is run with it. HTTPS
# only is the default, not set here.
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "t3st-0nly-5ecret-that-is-long-and-random-enough-XyZ-8e1f0c9a7b2d4",
    "DJANGO_ALLOWED_HOSTS": HOST,
    "DJANGO_CSRF_TRUSTED_ORIGINS": f"https://{HOST}",
    "DJANGO_TRUSTED_PROXY_COUNT": "1",
}
# What the test suite sets that an operator does not (pyproject.toml).
TESTS_ONLY_ENV = ["DJANGO_DEBUG", "DJANGO_SECURE"]
SECURITY_SETTINGS = re.compile(
    r"SECURE_.*|SESSION_COOKIE_.*|CSRF_COOKIE_.*|CONTENT_SECURITY_POLICY|X_FRAME_OPTIONS"
    r"|ALLOWED_HOSTS|CSRF_TRUSTED_ORIGINS|MIDDLEWARE|TRUSTED_PROXY_COUNT"
)


@pytest.fixture
def production(settings, monkeypatch):
    """This process's settings as settings.py makes them with the production environment."""
    for name in TESTS_ONLY_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    made = runpy.run_path(str(Path(settings.BASE_DIR) / "project" / "settings.py"))
    for name, value in made.items():
        if SECURITY_SETTINGS.fullmatch(name):
            setattr(settings, name, value)
    return settings


def verified(user):
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    return user


# What the Mozilla HTTP Observatory grades (developer.mozilla.org/en-US/observatory/docs/
# tests_and_scoring), each at a value that takes nothing off and earns what it can: A+ for a
# page, for logging in and for the API. Pages that load scripts load them from the site alone.

CSP = [
    "default-src 'self'",
    "script-src 'self'",  # no inline script, no eval, no script from elsewhere
    "style-src 'self'",  # no inline style
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",  # no other site frames a page
    "form-action 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "worker-src 'self'",
]
HEADERS = {  # None: not sent
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",  # a year
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Access-Control-Allow-Origin": None,  # even when another site asks, as below
}
COOKIES = {  # the flags each cookie is set with; a new cookie needs its row
    "sessionid": {"secure": True, "httponly": True, "samesite": "Lax"},
    "csrftoken": {"secure": True, "samesite": "Lax"},
}
EVIL_ORIGIN = "https://attacker.example"


class Way(NamedTuple):
    first: str  # asked for first, over plain HTTP
    path: str  # then over HTTPS
    ends: str  # the path of the last answer, redirects followed
    form: dict | None = None  # posted to `path`, if any
    logged_in: bool = False  # as the patient
    content_type: str = "text/html; charset=utf-8"
    cookies: frozenset[str] = frozenset()  # that the browser then keeps, at least


VISITS = {
    "log-in page": Way(
        first="/accounts/login/",
        path="/accounts/login/",
        ends="/accounts/login/",
        cookies={"csrftoken"},
    ),
    "landing page": Way(first="/", path="/", ends="/"),
    "logging in": Way(
        first="/today/",
        path="/accounts/login/",
        form={"login": "pat", "password": PASSWORD},
        ends="/today/",
        cookies={"sessionid", "csrftoken"},
    ),
    "API answer": Way(
        first="/api/v1/logs/",
        path="/api/v1/logs/",
        logged_in=True,
        ends="/api/v1/logs/",
        content_type="application/json",
    ),
}


class Visit(NamedTuple):
    way: Way
    over_http: HttpResponse  # the answer to the first request
    final: HttpResponse  # the last answer over HTTPS
    cookies: list[Morsel]  # what the browser keeps: the last of each name, unexpired


@pytest.fixture(params=VISITS.values(), ids=VISITS.keys())
def visit(request, production, patient) -> Visit:
    """Like a browser over HTTPS behind the load balancer, from a page of another site: follows
    redirects, keeps cookies."""
    way = request.param
    verified(patient.user)
    client = client_for(patient.user if way.logged_in else None, Client)
    over_http = client.get(way.first, HTTP_HOST=HOST)
    headers = {"HTTP_HOST": HOST, "HTTP_X_FORWARDED_PROTO": "https", "HTTP_ORIGIN": EVIL_ORIGIN}
    if way.form is None:
        response = client.get(way.path, secure=True, **headers)
    else:
        response = client.post(way.path, way.form, secure=True, **headers)
    jar: dict[str, Morsel] = {}
    for _ in range(5):
        for name, cookie in response.cookies.items():
            jar.pop(name, None)
            if cookie["max-age"] != 0:
                jar[name] = cookie
        if response.status_code not in {301, 302}:
            break
        response = client.get(response["Location"], secure=True, **headers)
    return Visit(way, over_http, response, list(jar.values()))


def csp(response) -> list[str]:
    """The directives of the answer's Content-Security-Policy, sorted, each as sent."""
    directives = response["Content-Security-Policy"].split(";")
    return sorted(" ".join(directive.split()) for directive in directives if directive.strip())


class ScriptSources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "script" and dict(attrs).get("src"):
            self.sources.append(dict(attrs)["src"])


def test_a_visit_over_plain_http_is_sent_to_https_on_the_same_host(visit):
    assert visit.over_http.status_code == 301
    assert visit.over_http["Location"] == f"https://{HOST}{visit.way.first}"


def test_a_visit_ends_where_it_should_with_the_cookies_it_needs(visit):
    assert visit.final.status_code == 200
    assert visit.final.request["PATH_INFO"] == visit.way.ends
    assert visit.final["Content-Type"] == visit.way.content_type
    assert {cookie.key for cookie in visit.cookies} >= visit.way.cookies


def test_a_visit_is_answered_with_the_content_security_policy_of_the_table(visit):
    assert csp(visit.final) == sorted(CSP)


@pytest.mark.parametrize(("name", "value"), HEADERS.items(), ids=HEADERS.keys())
def test_a_visit_is_answered_with_each_header_of_the_table(visit, name, value):
    assert visit.final.get(name) == value


def test_every_cookie_of_a_visit_has_the_flags_of_the_table(visit):
    for cookie in visit.cookies:
        flags = COOKIES[cookie.key]
        assert {flag: cookie[flag] for flag in flags} == flags, cookie.key


def test_a_page_loads_scripts_from_the_site_alone(visit):
    page = ScriptSources()
    page.feed(visit.final.content.decode())
    for source in page.sources:
        assert urljoin(f"https://{HOST}/", source).startswith(f"https://{HOST}/"), source


def test_plain_http_is_sent_to_https_on_the_same_host(production, db):
    response = Client().get("/accounts/login/?next=/today/", HTTP_HOST=HOST)
    assert response.status_code == 301
    assert response["Location"] == f"https://{HOST}/accounts/login/?next=/today/"


def test_the_health_check_answers_over_plain_http(production, db):
    response = Client().get(reverse("healthz"), HTTP_HOST=HOST)
    assert response.status_code == 200


def test_hsts_is_sent_for_a_year_with_subdomains_and_preload(production, db):
    response = Client().get(reverse("account_login"), HTTP_HOST=HOST, secure=True)
    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")


def test_cookies_are_secure_and_same_site_and_the_session_is_out_of_reach_of_scripts(
    production, patient
):
    verified(patient.user)
    client = Client()
    client.get(reverse("account_login"), HTTP_HOST=HOST, secure=True)
    response = client.post(
        reverse("account_login"),
        {"login": "pat", "password": PASSWORD},
        HTTP_HOST=HOST,
        secure=True,
        HTTP_REFERER=f"https://{HOST}/accounts/login/",
    )
    session, csrf = response.cookies["sessionid"], response.cookies["csrftoken"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    assert csrf["secure"] and csrf["samesite"] == "Lax"
    assert not csrf["httponly"]  # static/js/app.js sends it back in X-CSRFToken


# Headers on every answer, pages and API alike, errors included.

EVERY_KIND = [
    ("log-in page", None, "/accounts/login/", 200),
    ("patient's page", "patient", "/today/", 200),
    ("missing page", "patient", "/no-such-page/", 404),
    ("API list", "patient", "/api/v1/logs/", 200),
    ("API, logged out", None, "/api/v1/logs/", 403),
    ("API, unknown path", "patient", "/api/v1/nothing/", 404),
    ("service worker", "patient", "/sw.js", 200),
]


def client_as(persona, patient) -> Client:
    return client_for(patient.user if persona == "patient" else None, Client)


@pytest.mark.parametrize(("kind", "persona", "path", "status"), EVERY_KIND)
def test_every_answer_carries_the_security_headers(patient, kind, persona, path, status):
    response = client_as(persona, patient).get(path)
    assert response.status_code == status
    assert csp(response) == sorted(CSP)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.parametrize(
    ("kind", "persona", "path", "status"),
    [row for row in EVERY_KIND if row[1] == "patient" or row[2].startswith("/api/")],
)
def test_no_answer_to_a_logged_in_user_or_from_the_api_is_stored_in_any_cache(
    patient, kind, persona, path, status
):
    response = client_as(persona, patient).get(path)
    if path == "/sw.js":
        assert response["Cache-Control"] == "no-cache"  # its own: the browser checks each time
    else:
        assert "no-store" in response["Cache-Control"], kind


def test_a_form_sent_without_its_csrf_token_is_refused_with_a_page_of_the_app(patient):
    client = Client(enforce_csrf_checks=True)
    client.force_login(patient.user)
    response = client.post(reverse("today"), {"severity": "3"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "This page has expired" in page
    assert "<style" not in page and "style=" not in page  # nothing the CSP would block
    assert not patient.logs.exists()


# Failed log-ins: tests/test_lockout.py.


# Throttles: writes and sync through the API, and whole-diary downloads, per person.


def put_log(client, days_ago: int):
    day = (TODAY - dt.timedelta(days=days_ago)).isoformat()
    return client.put(reverse("api:log-detail", args=[day]), {"severity": 4}, format="json")


def test_api_writes_beyond_the_rate_answer_429_with_retry_after(
    rates, patient_client, other_client, frozen_now
):
    rates(write="3/min")
    assert [put_log(patient_client, n).status_code for n in range(4)] == [201, 201, 201, 429]
    refused = put_log(patient_client, 5)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "detail" in refused.json()
    # Reading is not limited, nor is anyone else.
    assert patient_client.get(reverse("api:log-list")).status_code == 200
    assert put_log(other_client, 1).status_code == 201
    frozen_now.shift(dt.timedelta(seconds=61))
    assert put_log(patient_client, 6).status_code == 201


def test_sync_has_its_own_rate(rates, patient_client, frozen_now):
    rates(sync="2/min", write="100/min")
    batch = {
        "items": [{"type": "log", "op": "put", "key": TODAY.isoformat(), "data": {"severity": 3}}]
    }
    sync = reverse("api:sync")
    answers = [patient_client.post(sync, batch, format="json").status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    assert put_log(patient_client, 1).status_code == 201


def test_the_schema_documents_429_for_writes(patient_client):
    schema = patient_client.get("/api/schema/?format=json").json()
    assert "429" in schema["paths"]["/api/v1/sync/"]["post"]["responses"]
    assert "429" in schema["paths"]["/api/v1/logs/{date}/"]["put"]["responses"]
    assert "429" not in schema["paths"]["/api/v1/logs/"]["get"]["responses"]


def test_downloads_beyond_the_rate_answer_429_with_a_page_that_says_when(
    rates, clinician, patient, frozen_now, logged_in
):
    rates(export="2/hour")
    client = logged_in(clinician)
    csv = reverse("clinic_export_csv", args=[patient.pk])
    fhir = reverse("clinic_export_fhir", args=[patient.pk])
    assert [client.get(url).status_code for url in (csv, fhir, csv)] == [200, 200, 429]
    refused = client.get(fhir)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    assert "next download can start in 60 minutes" in refused.content.decode()
    frozen_now.shift(dt.timedelta(hours=1, seconds=1))
    client.force_login(clinician)  # idle for an hour: logged out meanwhile
    assert client.get(csv).status_code == 200


def test_the_pdf_summary_counts_as_a_download(rates, clinician, patient, frozen_now, logged_in):
    rates(export="1/hour")
    client = logged_in(clinician)
    assert client.get(reverse("clinic_export_csv", args=[patient.pk])).status_code == 200
    assert client.get(reverse("clinic_summary_pdf", args=[patient.pk])).status_code == 429


def test_a_patients_own_downloads_are_limited_too(rates, patient, frozen_now, logged_in):
    rates(export="1/hour")
    client = logged_in(patient.user, password_just_typed=True)
    assert client.get(reverse("export_csv")).status_code == 200
    assert client.get(reverse("export_fhir")).status_code == 429


def test_a_stranger_asking_for_a_download_gets_404_not_429(
    rates, patient, stranger_clinician, logged_in
):
    rates(export="1/hour")
    client = logged_in(stranger_clinician)
    url = reverse("clinic_export_csv", args=[patient.pk])
    assert [client.get(url).status_code for _ in range(3)] == [404, 404, 404]


# The health check.


def test_the_health_check_says_ok_to_anyone_and_is_never_cached(db):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert response["Content-Type"] == "text/plain"
    assert response["Cache-Control"] == "no-store"


def test_the_health_check_answers_503_without_the_database(db):
    with mock.patch("tracker.health.connection.cursor", side_effect=OperationalError("down")):
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response["Cache-Control"] == "no-store"


def test_the_health_check_answers_503_without_the_cache(db):
    with mock.patch("tracker.health.cache.get", side_effect=ConnectionError("no redis")):
        assert Client().get("/healthz").status_code == 503


def test_the_health_check_only_answers_get(db):
    assert Client().post("/healthz").status_code == 405
