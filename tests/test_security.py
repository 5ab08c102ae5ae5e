"""The production headers, scored as the Mozilla HTTP Observatory scores a site; cookies;
log-in lockouts (django-axes); throttles; and the health check."""

import datetime as dt
import re
import runpy
from html.parser import HTMLParser
from http.cookies import Morsel
from pathlib import Path
from unittest import mock
from urllib.parse import urljoin, urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from tests.conftest import TODAY, reauthenticate

HOST = "relief.example.org"
PASSWORD = "correct horse battery"  # tests/factories.py
# What an operator sets (README "Production deployment"); settings.py is run with it.
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "t3st-0nly-5ecret-that-is-long-and-random-enough-XyZ-8e1f0c9a7b2d4",
    "DJANGO_ALLOWED_HOSTS": HOST,
    "DJANGO_CSRF_TRUSTED_ORIGINS": f"https://{HOST}",
    "DJANGO_SECURE": "1",
}
SECURITY_SETTINGS = re.compile(
    r"SECURE_.*|SESSION_COOKIE_.*|CSRF_COOKIE_.*|CONTENT_SECURITY_POLICY|X_FRAME_OPTIONS"
    r"|ALLOWED_HOSTS|CSRF_TRUSTED_ORIGINS|MIDDLEWARE"
)


@pytest.fixture
def production(settings, monkeypatch):
    """This process's settings as settings.py makes them with the production environment."""
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


# The Mozilla HTTP Observatory's tests and score modifiers, as published in "Tests & Scoring"
# (developer.mozilla.org/en-US/observatory/docs/tests_and_scoring): start at 100, take off the
# penalties, then add the bonuses if the score is still 90 or more. A+ is 100 or more.

MODIFIERS = {
    "csp-implemented-with-no-unsafe-default-src-none": 10,
    "csp-implemented-with-no-unsafe": 5,
    "csp-implemented-with-unsafe-inline-in-style-src-only": 0,
    "csp-implemented-with-insecure-scheme-in-passive-content-only": -10,
    "csp-implemented-with-unsafe-eval": -10,
    "csp-implemented-with-insecure-scheme": -20,
    "csp-implemented-with-unsafe-inline": -20,
    "csp-not-implemented": -25,
    "csp-header-invalid": -25,
    "cookies-secure-with-httponly-sessions-and-samesite": 5,
    "cookies-not-found": 0,
    "cookies-secure-with-httponly-sessions": 0,
    "cookies-without-secure-flag-but-protected-by-hsts": -5,
    "cookies-session-without-secure-flag-but-protected-by-hsts": -10,
    "cookies-without-secure-flag": -20,
    "cookies-samesite-flag-invalid": -20,
    "cookies-anticsrf-without-samesite-flag": -20,
    "cookies-session-without-httponly-flag": -30,
    "cookies-session-without-secure-flag": -40,
    "cross-origin-resource-sharing-not-implemented": 0,
    "cross-origin-resource-sharing-implemented-with-public-access": 0,
    "cross-origin-resource-sharing-implemented-with-restricted-access": 0,
    "cross-origin-resource-sharing-implemented-with-universal-access": -50,
    "hsts-implemented-max-age-at-least-six-months": 0,
    "hsts-implemented-max-age-less-than-six-months": -10,
    "hsts-not-implemented": -20,
    "hsts-not-implemented-no-https": -20,
    "hsts-header-invalid": -20,
    "redirection-to-https": 0,
    "redirection-not-needed-no-http": 0,
    "redirection-off-host-from-http": -5,
    "redirection-not-to-https-on-initial-redirection": -10,
    "redirection-missing": -20,
    "referrer-policy-private": 5,
    "referrer-policy-no-referrer-when-downgrade": 0,
    "referrer-policy-not-implemented": 0,
    "referrer-policy-unsafe": -5,
    "referrer-policy-header-invalid": -5,
    "sri-implemented-and-all-scripts-loaded-securely": 5,
    "sri-implemented-and-external-scripts-loaded-securely": 5,
    "sri-not-implemented-but-all-scripts-loaded-from-secure-origin": 0,
    "sri-not-implemented-but-no-scripts-loaded": 0,
    "sri-not-implemented-response-not-html": 0,
    "sri-not-implemented-but-external-scripts-loaded-securely": -5,
    "sri-implemented-but-external-scripts-not-loaded-securely": -20,
    "sri-not-implemented-and-external-scripts-not-loaded-securely": -50,
    "x-content-type-options-nosniff": 0,
    "x-content-type-options-not-implemented": -5,
    "x-content-type-options-header-invalid": -5,
    "x-frame-options-implemented-via-csp": 5,
    "x-frame-options-sameorigin-or-deny": 0,
    "x-frame-options-allow-from-origin": 0,
    "x-frame-options-not-implemented": -20,
    "x-frame-options-header-invalid": -20,
    # As published, leaving CORP out earns 5 and `same-origin` 0; neither changes a grade here.
    "corp-not-implemented": 5,
    "corp-implemented-with-same-origin": 0,
    "corp-implemented-with-same-site": 0,
    "corp-implemented-with-cross-origin": -20,
    "corp-header-invalid": -20,
}
SIX_MONTHS = 15768000
PRIVATE_REFERRERS = {
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
}
UNSAFE_REFERRERS = {"origin", "origin-when-cross-origin", "unsafe-url"}
KNOWN_REFERRERS = PRIVATE_REFERRERS | UNSAFE_REFERRERS | {"no-referrer-when-downgrade"}
BROAD_SOURCES = {"*", "http:", "https:", "data:"}
PASSIVE_DIRECTIVES = {"img-src", "media-src"}


def parse_csp(value: str) -> dict[str, list[str]] | None:
    directives: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if not words:
            continue
        name = words[0].lower()
        if name in directives or not re.fullmatch(r"[a-z-]+", name):
            return None  # a repeated or malformed directive: the header cannot be parsed
        directives[name] = [word.lower() for word in words[1:]]
    return directives or None


def csp_result(headers, https: bool) -> str:
    value = headers.get("Content-Security-Policy")
    if not value:
        return "csp-not-implemented"
    csp = parse_csp(value)
    if csp is None:
        return "csp-header-invalid"
    default = csp.get("default-src")
    script, objects = csp.get("script-src", default), csp.get("object-src", default)
    if script is None or objects is None:
        return "csp-implemented-with-unsafe-inline"  # scripts or plugins unrestricted
    nonce_or_hash = any(s.startswith(("'nonce-", "'sha")) for s in script)
    if ("'unsafe-inline'" in script and not nonce_or_hash) or BROAD_SOURCES & {*script, *objects}:
        return "csp-implemented-with-unsafe-inline"
    insecure = {
        name for name, sources in csp.items() if any(s.startswith("http:") for s in sources)
    }
    if https and insecure - PASSIVE_DIRECTIVES:
        return "csp-implemented-with-insecure-scheme"
    if "'unsafe-eval'" in script:
        return "csp-implemented-with-unsafe-eval"
    if https and insecure:
        return "csp-implemented-with-insecure-scheme-in-passive-content-only"
    style = csp.get("style-src", default) or []
    if "'unsafe-inline'" in style or BROAD_SOURCES & set(style):
        return "csp-implemented-with-unsafe-inline-in-style-src-only"
    if default == ["'none'"]:
        return "csp-implemented-with-no-unsafe-default-src-none"
    return "csp-implemented-with-no-unsafe"


def is_session_cookie(cookie: Morsel) -> bool:
    return any(word in cookie.key.lower() for word in ("sess", "login"))


def cookies_result(cookies: list[Morsel], hsts: bool) -> str:
    if not cookies:
        return "cookies-not-found"
    for cookie in cookies:  # the worst finding wins
        if is_session_cookie(cookie) and not cookie["secure"] and not hsts:
            return "cookies-session-without-secure-flag"
    if any(is_session_cookie(c) and not c["httponly"] for c in cookies):
        return "cookies-session-without-httponly-flag"
    if any(c["samesite"] and c["samesite"].lower() not in {"strict", "lax"} for c in cookies):
        return "cookies-samesite-flag-invalid"
    if any("csrf" in c.key.lower() and not c["samesite"] for c in cookies):
        return "cookies-anticsrf-without-samesite-flag"
    if any(not c["secure"] for c in cookies) and not hsts:
        return "cookies-without-secure-flag"
    if any(is_session_cookie(c) and not c["secure"] for c in cookies):
        return "cookies-session-without-secure-flag-but-protected-by-hsts"
    if any(not c["secure"] for c in cookies):
        return "cookies-without-secure-flag-but-protected-by-hsts"
    if all(c["samesite"] for c in cookies):
        return "cookies-secure-with-httponly-sessions-and-samesite"
    return "cookies-secure-with-httponly-sessions"


def hsts_max_age(headers) -> int | None:
    match = re.search(
        r"(?:^|;)\s*max-age=\"?(\d+)\"?\s*(?:;|$)",
        headers.get("Strict-Transport-Security", ""),
        re.I,
    )
    return int(match[1]) if match else None


def hsts_result(headers, https: bool) -> str:
    if not https:
        return "hsts-not-implemented-no-https"
    if "Strict-Transport-Security" not in headers:
        return "hsts-not-implemented"
    max_age = hsts_max_age(headers)
    if max_age is None:
        return "hsts-header-invalid"
    if max_age < SIX_MONTHS:
        return "hsts-implemented-max-age-less-than-six-months"
    return "hsts-implemented-max-age-at-least-six-months"


def redirection_result(over_http, host: str) -> str:
    if over_http is None:
        return "redirection-not-needed-no-http"
    if over_http.status_code not in {301, 302, 303, 307, 308}:
        return "redirection-missing"
    target = urlsplit(urljoin(f"http://{host}/", over_http["Location"]))
    if target.scheme != "https":
        return "redirection-not-to-https-on-initial-redirection"
    if target.hostname != host:
        return "redirection-off-host-from-http"
    return "redirection-to-https"


def referrer_result(headers) -> str:
    if "Referrer-Policy" not in headers:
        return "referrer-policy-not-implemented"
    # Browsers use the last value they understand.
    known = [v.strip().lower() for v in headers["Referrer-Policy"].split(",")]
    known = [v for v in known if v in KNOWN_REFERRERS]
    if not known:
        return "referrer-policy-header-invalid"
    if known[-1] in PRIVATE_REFERRERS:
        return "referrer-policy-private"
    if known[-1] in UNSAFE_REFERRERS:
        return "referrer-policy-unsafe"
    return "referrer-policy-no-referrer-when-downgrade"


class ScriptTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))


def sri_result(response, host: str) -> str:
    if "html" not in response.get("Content-Type", ""):
        return "sri-not-implemented-response-not-html"
    parser = ScriptTags()
    parser.feed(response.content.decode())
    sources = [s for s in parser.scripts if s.get("src")]
    if not parser.scripts:
        return "sri-not-implemented-but-no-scripts-loaded"
    external = [
        s for s in sources if urlsplit(urljoin(f"https://{host}/", s["src"])).hostname != host
    ]
    insecure = [s for s in external if urljoin(f"https://{host}/", s["src"]).startswith("http:")]
    all_integrity = all(s.get("integrity") for s in sources)
    if insecure:
        return (
            "sri-implemented-but-external-scripts-not-loaded-securely"
            if all_integrity
            else "sri-not-implemented-and-external-scripts-not-loaded-securely"
        )
    if external:
        return (
            "sri-implemented-and-external-scripts-loaded-securely"
            if all_integrity
            else "sri-not-implemented-but-external-scripts-loaded-securely"
        )
    if sources and all_integrity:
        return "sri-implemented-and-all-scripts-loaded-securely"
    return "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"


def nosniff_result(headers) -> str:
    if "X-Content-Type-Options" not in headers:
        return "x-content-type-options-not-implemented"
    if headers["X-Content-Type-Options"].strip().lower() == "nosniff":
        return "x-content-type-options-nosniff"
    return "x-content-type-options-header-invalid"


def frame_result(headers) -> str:
    csp = parse_csp(headers.get("Content-Security-Policy", "")) or {}
    if "frame-ancestors" in csp:
        return "x-frame-options-implemented-via-csp"
    value = headers.get("X-Frame-Options", "").strip().lower()
    if not value:
        return "x-frame-options-not-implemented"
    if value in {"deny", "sameorigin"}:
        return "x-frame-options-sameorigin-or-deny"
    if value.startswith("allow-from "):
        return "x-frame-options-allow-from-origin"
    return "x-frame-options-header-invalid"


def cors_result(headers) -> str:
    origin = headers.get("Access-Control-Allow-Origin")
    if origin is None:
        return "cross-origin-resource-sharing-not-implemented"
    if origin.strip() == "*":
        return "cross-origin-resource-sharing-implemented-with-public-access"
    if origin.strip() == EVIL_ORIGIN and headers.get("Access-Control-Allow-Credentials"):
        return "cross-origin-resource-sharing-implemented-with-universal-access"
    return "cross-origin-resource-sharing-implemented-with-restricted-access"


def corp_result(headers) -> str:
    value = headers.get("Cross-Origin-Resource-Policy")
    if value is None:
        return "corp-not-implemented"
    return {
        "same-origin": "corp-implemented-with-same-origin",
        "same-site": "corp-implemented-with-same-site",
        "cross-origin": "corp-implemented-with-cross-origin",
    }.get(value.strip().lower(), "corp-header-invalid")


EVIL_ORIGIN = "https://attacker.example"


def observatory(final, cookies: list[Morsel], over_http, host: str = HOST) -> tuple[int, dict]:
    """The score and each test's result for a visit: the answer to the plain-HTTP request,
    the cookies set along the way, and the final answer over HTTPS."""
    headers = final.headers
    hsts = hsts_max_age(headers) is not None
    results = [
        csp_result(headers, https=True),
        cookies_result(cookies, hsts),
        cors_result(headers),
        hsts_result(headers, https=True),
        redirection_result(over_http, host),
        referrer_result(headers),
        sri_result(final, host),
        nosniff_result(headers),
        frame_result(headers),
        corp_result(headers),
    ]
    modifiers = {result: MODIFIERS[result] for result in results}
    score = 100 + sum(m for m in modifiers.values() if m < 0)
    if score >= 90:
        score += sum(m for m in modifiers.values() if m > 0)
    return max(score, 0), modifiers


def visit(client: Client, path: str, method: str = "get", data=None, **extra):
    """Like a browser over HTTPS behind the load balancer: follows redirects, keeps cookies."""
    headers = {"HTTP_HOST": HOST, "HTTP_X_FORWARDED_PROTO": "https", "HTTP_ORIGIN": EVIL_ORIGIN}
    jar: dict[str, Morsel] = {}  # what the browser keeps: the last of each name, unexpired
    response = getattr(client, method)(path, data, secure=True, **headers, **extra)
    for _ in range(5):
        for name, cookie in response.cookies.items():
            jar.pop(name, None)
            if cookie["max-age"] != 0:
                jar[name] = cookie
        if response.status_code not in {301, 302}:
            break
        response = client.get(response["Location"], secure=True, **headers)
    return response, list(jar.values())


def test_the_log_in_page_scores_a_plus_on_the_observatory(production, db):
    client = Client()
    over_http = client.get("/", HTTP_HOST=HOST)
    final, cookies = visit(client, "/")
    score, modifiers = observatory(final, cookies, over_http)
    assert final.request["PATH_INFO"] == reverse("account_login")
    assert modifiers["redirection-to-https"] == 0
    assert "cookies-secure-with-httponly-sessions-and-samesite" in modifiers
    assert score >= 100, modifiers


def test_logging_in_and_the_patients_day_score_a_plus_on_the_observatory(production, patient):
    verified(patient.user)
    client = Client()
    over_http = client.get(reverse("today"), HTTP_HOST=HOST)
    login = {"login": "pat", "password": PASSWORD}
    final, cookies = visit(client, reverse("account_login"), "post", login)
    score, modifiers = observatory(final, cookies, over_http)
    assert final.request["PATH_INFO"] == reverse("today")
    assert {c.key for c in cookies} >= {"sessionid", "csrftoken"}
    assert "cookies-secure-with-httponly-sessions-and-samesite" in modifiers
    assert score >= 100, modifiers


def test_an_api_answer_scores_a_plus_on_the_observatory(production, patient):
    client = Client()
    client.force_login(patient.user)
    over_http = client.get(reverse("api:log-list"), HTTP_HOST=HOST)
    final, cookies = visit(client, reverse("api:log-list"))
    score, modifiers = observatory(final, cookies, over_http)
    assert final.status_code == 200
    assert "sri-not-implemented-response-not-html" in modifiers
    assert score >= 100, modifiers


class Answer:
    """A bare response for scoring header sets the app would never send."""

    def __init__(self, headers: dict, content: bytes = b"<p>hi</p>") -> None:
        self.headers = {"Content-Type": "text/html", **headers}
        self.content = content

    def get(self, name, default=None):
        return self.headers.get(name, default)


GOOD = {
    "Content-Security-Policy": "default-src 'self'; object-src 'none'; frame-ancestors 'none'",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class Redirect:
    status_code = 301

    def __init__(self, location: str) -> None:
        self.location = location

    def __getitem__(self, name: str) -> str:
        return self.location


@pytest.mark.parametrize(
    ("change", "expected", "score"),
    [
        ({}, "csp-implemented-with-no-unsafe", 120),
        ({"Content-Security-Policy": None}, "csp-not-implemented", 75 - 20),
        (
            {
                "Content-Security-Policy": "default-src 'self' 'unsafe-inline'; "
                "frame-ancestors 'none'"
            },
            "csp-implemented-with-unsafe-inline",
            80,
        ),
        (
            {"Content-Security-Policy": "script-src 'self'"},
            "csp-implemented-with-unsafe-inline",
            60,
        ),
        (
            {
                "Content-Security-Policy": "default-src 'none'; script-src 'self'; "
                "frame-ancestors 'none'"
            },
            "csp-implemented-with-no-unsafe-default-src-none",
            125,
        ),
        ({"Strict-Transport-Security": None}, "hsts-not-implemented", 80),
        (
            {"Strict-Transport-Security": "max-age=86400"},
            "hsts-implemented-max-age-less-than-six-months",
            110,
        ),
        ({"X-Content-Type-Options": None}, "x-content-type-options-not-implemented", 115),
        ({"Referrer-Policy": "unsafe-url"}, "referrer-policy-unsafe", 110),
        ({"Referrer-Policy": "no-referrer, nonsense"}, "referrer-policy-private", 120),
        (
            {
                "Access-Control-Allow-Origin": EVIL_ORIGIN,
                "Access-Control-Allow-Credentials": "true",
            },
            "cross-origin-resource-sharing-implemented-with-universal-access",
            50,
        ),
    ],
)
def test_the_observatory_scoring_takes_off_and_adds_as_published(change, expected, score):
    headers = {name: value for name, value in (GOOD | change).items() if value is not None}
    total, modifiers = observatory(Answer(headers), [], Redirect(f"https://{HOST}/"))
    assert expected in modifiers
    assert total == score, modifiers


def morsel(name: str, **flags) -> Morsel:
    cookie = Morsel()
    cookie.set(name, "x", "x")
    for flag, value in flags.items():
        cookie[flag] = value
    return cookie


@pytest.mark.parametrize(
    ("cookies", "hsts", "expected"),
    [
        (
            [morsel("sessionid", secure=True, httponly=True, samesite="Lax")],
            True,
            "cookies-secure-with-httponly-sessions-and-samesite",
        ),
        (
            [morsel("sessionid", secure=True, httponly=True)],
            True,
            "cookies-secure-with-httponly-sessions",
        ),
        (
            [morsel("sessionid", httponly=True, samesite="Lax")],
            False,
            "cookies-session-without-secure-flag",
        ),
        (
            [morsel("sessionid", httponly=True, samesite="Lax")],
            True,
            "cookies-session-without-secure-flag-but-protected-by-hsts",
        ),
        (
            [morsel("sessionid", secure=True, samesite="Lax")],
            True,
            "cookies-session-without-httponly-flag",
        ),
        ([morsel("csrftoken", secure=True)], True, "cookies-anticsrf-without-samesite-flag"),
        (
            [morsel("csrftoken", secure=True, samesite="None")],
            True,
            "cookies-samesite-flag-invalid",
        ),
        ([morsel("theme", samesite="Lax")], False, "cookies-without-secure-flag"),
    ],
)
def test_the_observatory_judges_cookies_as_published(cookies, hsts, expected):
    assert cookies_result(cookies, hsts) == expected


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
    client = Client()
    if persona == "patient":
        client.force_login(patient.user)
    return client


@pytest.mark.parametrize(("kind", "persona", "path", "status"), EVERY_KIND)
def test_every_answer_carries_the_security_headers(patient, kind, persona, path, status):
    response = client_as(persona, patient).get(path)
    assert response.status_code == status
    csp = parse_csp(response["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["object-src"] == csp["base-uri"] == csp["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in source for sources in csp.values() for source in sources)
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


# Failed log-ins: 5 for one username lock that username for 15 minutes.


def log_in(client: Client, login: str, password: str, address: str = "10.0.0.1"):
    return client.post(
        reverse("account_login"), {"login": login, "password": password}, REMOTE_ADDR=address
    )


def without_tokens(response, login: str) -> str:
    page = response.content.decode()
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
    return page.replace(f'value="{login}"', "")


@pytest.fixture
def owner(patient):
    return verified(patient.user)


def test_five_wrong_passwords_lock_the_username_for_fifteen_minutes(owner, frozen_now):
    client = Client()
    answers = [log_in(client, "pat", "wrong") for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    locked = answers[-1]
    assert locked["Retry-After"] == "900"
    page = locked.content.decode()
    assert "Log-in paused for 15 minutes" in page
    assert '<main id="main"' in page  # a page of the app
    # The right password does not help while locked, and each try restarts the pause.
    frozen_now.shift(dt.timedelta(minutes=10))
    assert log_in(client, "pat", PASSWORD).status_code == 429
    frozen_now.shift(dt.timedelta(minutes=14))
    assert log_in(client, "pat", PASSWORD).status_code == 429
    frozen_now.shift(dt.timedelta(minutes=15, seconds=1))
    response = log_in(client, "pat", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_a_lockout_answers_the_same_whether_or_not_the_account_exists(owner, frozen_now):
    known = [log_in(Client(), "pat", "wrong") for _ in range(5)]
    unknown = [log_in(Client(), "nobody-here", "wrong") for _ in range(5)]
    for mine, theirs in zip(known[:4], unknown[:4], strict=True):
        assert mine.status_code == theirs.status_code == 200
        assert without_tokens(mine, "pat") == without_tokens(theirs, "nobody-here")
    assert known[4].status_code == unknown[4].status_code == 429
    assert known[4].content == unknown[4].content
    assert known[4]["Retry-After"] == unknown[4]["Retry-After"]
    assert log_in(Client(), "nobody-here", "anything").status_code == 429


def test_the_lock_follows_the_username_not_the_address(owner, other_patient, frozen_now):
    verified(other_patient.user)
    for n in range(5):
        log_in(Client(), "pat", "wrong", address=f"10.0.0.{n}")  # a new address each time
    assert log_in(Client(), "PAT ", PASSWORD, address="192.0.2.7").status_code == 429
    assert log_in(Client(), owner.email.upper(), PASSWORD).status_code == 429  # same account
    # The clinic's shared address is not locked for everyone else.
    assert log_in(Client(), "other", PASSWORD, address="10.0.0.4").status_code == 302


def test_a_good_log_in_clears_earlier_failures(owner, frozen_now):
    for _ in range(4):
        log_in(Client(), "pat", "wrong")
    assert log_in(Client(), "pat", PASSWORD).status_code == 302
    for _ in range(4):
        assert log_in(Client(), "pat", "wrong").status_code == 200


# Throttles: writes and sync through the API, and whole-diary downloads, per person.


@pytest.fixture
def rates(settings):
    def set_rates(**rates):
        current = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": current | rates,
        }

    return set_rates


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
    rates, clinician, patient, frozen_now
):
    rates(export="2/hour")
    client = Client()
    client.force_login(clinician)
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


def test_the_pdf_summary_counts_as_a_download(rates, clinician, patient, frozen_now):
    rates(export="1/hour")
    client = Client()
    client.force_login(clinician)
    assert client.get(reverse("clinic_export_csv", args=[patient.pk])).status_code == 200
    assert client.get(reverse("clinic_summary_pdf", args=[patient.pk])).status_code == 429


def test_a_patients_own_downloads_are_limited_too(rates, patient, frozen_now):
    rates(export="1/hour")
    client = Client()
    client.force_login(patient.user)
    reauthenticate(client, patient.user)
    assert client.get(reverse("export_csv")).status_code == 200
    assert client.get(reverse("export_fhir")).status_code == 429


def test_a_stranger_asking_for_a_download_gets_404_not_429(rates, patient, stranger_clinician):
    rates(export="1/hour")
    client = Client()
    client.force_login(stranger_clinician)
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
