"""The hostile sweep: every route of the app and every operation of the API, filled with what an
attacker or a clumsy phone might send (huge and negative numbers, absurd dates, NUL and other
control characters, 100 KB strings, JSON nested deep or grown huge, the wrong types, unknown
fields, repeated parameters) as someone anonymous, a patient, a clinician (with a second factor)
and a newcomer who has not onboarded yet. Bad input gets a clear 4xx; nothing may answer a
server error (5xx), on SQLite or on PostgreSQL.

The routes come from the URL patterns, the pages' fields from their own forms and the API's from
its OpenAPI schema, so that a new route, form field or API field is swept without editing this
file. Deterministic and bounded: the values come from tables, each form is sent with every bad
value in every field at once, then with one field at a time given the values that could pass
that field's own check and reach the code that saves. The number of requests is printed (`-s`)
and held to a budget, as the whole suite must stay fast on two busy cores.
"""

import datetime as dt
import functools
import json
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, urlencode, urlsplit

import pytest
from django.db import DatabaseError, transaction
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, resolve
from django.urls.converters import IntConverter, UUIDConverter
from drf_spectacular.generators import SchemaGenerator

from tests import factories
from tests.conftest import TODAY, reauthenticate
from tracker import urls
from tracker.models import Clinic, Invitation, MemberInvitation, Membership, PushSubscription

pytestmark = pytest.mark.usefixtures("frozen_now", "quiet_refusals")

PERSONAS = ("anonymous", "patient", "clinician", "newcomer")
LONG = "x" * 100_000
FORM = "application/x-www-form-urlencoded"
PUSH_ENDPOINT = "https://fcm.googleapis.com/fcm/send/sweep-phone"

# Text as it arrives in an address, a query string or a form field.
HOSTILE_TEXT = [
    "",
    "-1",
    str(10**20),
    str(2**63),
    "1e400",
    "NaN",
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "yesterday",
    "²",  # a digit to str.isdigit(), not to int()
    "\x00\x1f\x7f",
    "\u202e\ufeff💉",
    LONG,
]
# A form is sent with each of these in every field at once: enough to be no choice, no number
# and no date, and text no field should take. Then one field at a time, by the kind of input
# the page shows, the values that could pass that field's own check and so reach the rest of
# the form's checks and the save.
FORM_TEXT = ["", "-1", str(10**20), "\x00\x1f\x7f", "\u202e\ufeff💉", LONG]
FIELD_TEXT = {
    "number": [str(10**20), str(2**63), "-1", "1e400", "NaN"],
    "date": ["0001-01-01", "9999-12-31", "2026-02-30", "yesterday"],
    "text": [LONG, "\u202e\ufeff💉"],
    "textarea": [LONG, "\u202e\ufeff💉"],
}
# JSON values by the type the API's schema gives a field; every field also gets the wrong types.
WRONG_TYPES = [None, [], {}, True]
HOSTILE_JSON = {
    "integer": [10**20, 2**63, -(2**63) - 1, -1, 1e308, 0.5, "1e400", "NaN", ""],
    # "\ud800": half of a character, which json.dumps sends as its escape.
    "string": ["", "\x00", "a\x00b\x1f\x7f", "\u202e\ufeff💉", "a\ud800b", LONG, 12],
    "date": ["0001-01-01", "9999-12-31", "2026-02-30", "yesterday", "", 20260615],
    "uuid": ["nope", "", str(uuid.UUID(int=0)), 12],
    "boolean": ["yes", 2, ""],
    "array": ["x", [None], [[]], ["x"] * 10_000],
    "object": ["x", {"zzz": LONG}],
}
HOSTILE_JSON["number"] = HOSTILE_JSON["integer"]
# Bodies wrong as a whole: not an object, not JSON, nested past any reason, or far too many.
DEEP = "[" * 1000 + "]" * 1000
HUGE = json.dumps(list(range(200_000)))  # 1.3 MB: under the size limit, yet absurd
WRONG_BODIES = ["null", "[]", '"text"', "12", "{", DEEP, HUGE, '{"\\u0000": "\\u0000"}']
OVERSIZE = json.dumps({"items": ["x" * 1000] * 3000})  # over the 2.5 MB a request may carry

# Query parameters the pages read (the API's come from its schema); a test below checks this
# table against the views' source, so that a parameter a view starts reading joins the sweep.
PAGE_QUERY = {
    "today": ["saved"],
    "log_day": ["saved"],
    "history": ["page", "month"],
    "relief": ["range", "cycles"],
    "sharing": ["page"],
    "share_code": ["code"],
    "onboarding": ["next"],
    "clinic": ["q", "condition", "page"],
    "clinic_report": ["range"],
}
VIEWS = Path(__file__).resolve().parents[1] / "tracker" / "views"


def test_the_sweep_knows_every_query_parameter_a_page_reads():
    source = "\n".join(path.read_text() for path in VIEWS.glob("*.py"))
    read = set(re.findall(r"request\.GET\.get\(\s*\"(\w+)\"", source))
    assert read <= {name for names in PAGE_QUERY.values() for name in names}


@pytest.fixture
def quiet_refusals():
    """Thousands of 4xx are the point here: Django's log of each (with 100 KB addresses) would
    be most of the sweep's time and output. Server errors are still logged."""
    loggers = [logging.getLogger(name) for name in ("django.request", "django.security")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL if logger.name == "django.security" else logging.ERROR)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture
def world(db):
    patient = factories.PatientFactory(user__username="pat")
    clinician = factories.ClinicianFactory(username="doc")
    share = factories.ShareFactory(patient=patient, clinician=clinician)
    injection = factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=30))
    factories.InjectionSiteFactory(injection=injection, units=injection.total_units)
    other = factories.PatientFactory(user__username="other")
    clinic = Clinic.objects.create(name="Sweep clinic")
    Membership.objects.create(clinic=clinic, user=clinician, role="clinician", is_admin=True)
    nurse = factories.ClinicianFactory(username="nurse")
    return SimpleNamespace(
        clinic=clinic,
        member=Membership.objects.create(clinic=clinic, user=nurse, role="nurse"),
        member_invitation=MemberInvitation.issue(clinic, "new@clinic.example", "nurse", clinician),
        patient=patient,
        share=share,
        injection=injection,
        log=factories.DailyLogFactory(patient=patient, date=TODAY),
        reaction=factories.ReactionFactory(patient=patient, injection=injection),
        red_flag=factories.ReactionFactory(patient=patient, kind="vision", severity="moderate"),
        invitation=Invitation.issue(clinician),
        share_code=clinician.ensure_share_code(),
        others_injection=factories.InjectionFactory(patient=other),
        push=PushSubscription.objects.create(
            user=patient.user, endpoint=PUSH_ENDPOINT, p256dh="phone-key", auth="phone-secret"
        ),
        users={
            "anonymous": None,
            "patient": patient.user,
            "clinician": clinician,
            "newcomer": factories.UserFactory(username="new"),
        },
    )


# -- Sending -----------------------------------------------------------------------------------


@dataclass
class Sweep:
    world: SimpleNamespace
    tried: int = 0
    server_errors: list = field(default_factory=list)
    clients: dict = field(default_factory=dict)

    def client(self, persona: str) -> Client:
        """The persona's browser, logged in afresh. One client each: a new one would load the
        middleware again, and WhiteNoise's reads every static file's name (a third of a second)."""
        if persona not in self.clients:
            self.clients[persona] = Client(raise_request_exception=False)
        client = self.clients[persona]
        client.cookies.clear()
        user = self.world.users[persona]
        if user is not None:
            client.force_login(user)
            reauthenticate(client, user)  # as downloads and deleting the account ask
        return client

    def send(self, client: Client, method: str, url: str, body=None, content_type=None):
        """One request, in a savepoint: on PostgreSQL a failed query would otherwise leave the
        test's transaction unusable for every request after it."""
        self.tried += 1
        kwargs = {"content_type": content_type} if content_type else {}
        response = None
        try:
            with transaction.atomic():
                response = getattr(client, method)(url, body, **kwargs)
        except DatabaseError:
            pass  # the savepoint was broken by a failed query: the answer says what failed
        if response is None or response.status_code >= 500:
            exc = getattr(response, "exc_info", None)
            shown = body if len(str(body)) < 300 else f"{str(body)[:300]}…"
            self.server_errors.append(
                f"{response.status_code if response else 'no answer'} {method.upper()} "
                f"{url[:200]} {shown!r} {repr(exc[1])[:300] if exc else ''}"
            )
        return response

    def run(self, persona: str, requests: Iterator[tuple]) -> None:
        """Requests as one persona, rolled back after: what one route changes (a deleted
        account, a revoked share) is back for the next route."""
        with transaction.atomic():
            client = self.client(persona)
            for method, url, body, content_type in requests:
                self.send(client, method, url, body, content_type)
            transaction.set_rollback(True)

    def assert_no_server_error(self, what: str, budget: int) -> None:
        print(f"\n{what}: {self.tried} requests, {len(self.server_errors)} server errors")
        assert not self.server_errors, "\n".join(self.server_errors)
        assert self.tried <= budget, "the sweep has grown past its budget: make it cheaper"


def percent(value: object) -> str:
    return quote(str(value), safe="")


def with_query(url: str, params: dict) -> str:
    return f"{url}?{urlencode(params, doseq=True)}"


# In an address: for a converter that matches only digits or a UUID, what it matches and so
# reaches the database (anything else is not this route's address: a few of those suffice);
# for text, the whole table; and another patient's record.
def path_values(converter, w) -> list[str]:
    matching = {
        IntConverter: ["0", str(2**31), str(2**63), str(10**20), "9" * 400],
        UUIDConverter: [str(uuid.UUID(int=0)), str(uuid.UUID(int=2**128 - 1))],
    }.get(type(converter))
    text = [value for value in HOSTILE_TEXT if value]  # an empty segment is another address
    if matching:
        text = HOSTILE_TEXT[-3:]
    return [*(matching or []), *text, str(w.others_injection.pk)]


def query_variants(url: str, names: list[str]) -> Iterator[str]:
    """The parameters, all at once, with each bad value (each is read on its own), repeated,
    not UTF-8; and one parameter nobody reads."""
    if names:
        for value in HOSTILE_TEXT:
            yield with_query(url, dict.fromkeys(names, value))
        yield with_query(url, {name: ["1", "2", ""] for name in names})
        yield url + "?" + "&".join(f"{name}=%FF%FE" for name in names)
    yield with_query(url, {"zzz": "\u202e💉"})


# -- Pages -------------------------------------------------------------------------------------


@dataclass
class Route:
    name: str
    parts: list  # literal text, and (parameter name, converter) for each parameter

    def url(self, values: dict[str, str]) -> str:
        return "/" + "".join(
            part if isinstance(part, str) else percent(values[part[0]]) for part in self.parts
        )

    @property
    def parameters(self) -> list[tuple[str, object]]:
        return [part for part in self.parts if not isinstance(part, str)]


def page_routes() -> list[Route]:
    """Every route of tracker/urls.py but the API's (swept from its schema, below)."""
    found = []
    for entry in urls.urlpatterns:
        if isinstance(entry, URLResolver):
            continue
        assert isinstance(entry, URLPattern)
        pieces = re.split(r"<(?:\w+:)?(\w+)>", entry.pattern._route)
        converters = entry.pattern.converters
        parts = [
            (piece, converters[piece]) if index % 2 else piece
            for index, piece in enumerate(pieces)
            if piece
        ]
        found.append(Route(entry.name, parts))
    return found


PAGES = page_routes()


def valid_values(route: Route, w) -> dict[str, str]:
    """A real value for each of the route's parameters: the world's own records."""
    records = {
        "injection": w.injection.pk,
        "reaction": w.red_flag.pk if "handled" in route.name else w.reaction.pk,
        "share": w.share.pk,
        "invitation": w.member_invitation.pk if "team" in route.name else w.invitation.pk,
        "member": w.member.pk,
        "clinic": w.clinic.pk,
    }
    values = {}
    for name, _ in route.parameters:
        if name == "pk":
            values[name] = next(pk for kind, pk in records.items() if kind in route.name)
        else:
            values[name] = {
                "patient_id": w.patient.pk,
                "day": w.log.date.isoformat(),
                "token": (
                    w.member_invitation.token if route.name == "team_join" else w.invitation.token
                ),
            }[name]
    return {name: str(value) for name, value in values.items()}


OPEN_TO_ANYONE = {"share_accept", "team_join", "healthz", "service_worker", "manifest", "offline"}


def owns(persona: str, route: Route) -> bool:
    """Who may use the page, and so is sent every bad value its forms and address can hold;
    everyone else is refused before any of it is read, and is sent each route once."""
    if route.name == "onboarding":
        return persona == "newcomer"
    if route.name.startswith(("clinic", "team")) and route.name != "team_join":
        return persona == "clinician"
    if route.name in OPEN_TO_ANYONE:
        return True  # open to anyone
    return persona == "patient"


class Forms(HTMLParser):
    """The forms of a page that post: where each posts, its fields as a browser would send them
    (a select its chosen or first option, radio buttons and boxes only when checked), and each
    field's kind of input."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self.fields: dict[str, list[str]] | None = None
        self.kinds: dict[str, str] = {}
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "form" and (attributes.get("method") or "").lower() == "post":
            self.fields, self.kinds = {}, {}
            self.forms.append((attributes.get("action") or "", self.fields, self.kinds))
        elif self.fields is None:
            return
        elif tag == "option" and self.select:
            chosen = self.fields[self.select]
            if "selected" in attributes or not chosen:
                chosen[:] = [attributes.get("value") or ""]
        elif tag == "select" and name:
            self.select = name
            self.fields[name], self.kinds[name] = [], "select"
        elif tag == "textarea" and name:
            self.fields[name], self.kinds[name] = [""], "textarea"
            if "maxlength" in attributes:
                self.kinds[name] = f"textarea {attributes['maxlength']}"
        elif tag == "input" and name:
            kind = attributes.get("type", "text")
            value = attributes.get("value") or ("on" if kind == "checkbox" else "")
            chosen = self.fields.setdefault(name, [])
            self.kinds[name] = kind
            if "maxlength" in attributes:
                self.kinds[name] = f"{kind} {attributes['maxlength']}"
            if kind not in {"radio", "checkbox", "submit"} or "checked" in attributes:
                chosen.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.fields = None
        elif tag == "select":
            self.select = None


FIRST_SITE = {"sites-0-muscle": "trapezius", "sites-0-side": "left", "sites-0-units": "100"}
# What a page's form would not show in this world (a question asked only on some days, a box
# to tick): merged over the fields found, so that each body is valid but for its bad values.
GOOD_FIELDS = {
    "global_impression": lambda w: {
        "injection": str(w.injection.pk),
        "timepoint": "peak",
        "score": "2",
    },
    "injection_new": lambda w: FIRST_SITE,
    "clinic_injection_new": lambda w: FIRST_SITE,
    "reaction_new": lambda w: {"kinds": ["site_pain"], "severity": "mild"},
    "share_code": lambda w: {"code": w.share_code, "to": f"clinic-{w.clinic.pk}"},
    "team": lambda w: {"clinic": str(w.clinic.pk), "email": "x@clinic.example", "role": "nurse"},
    "team_join": lambda w: {
        "name": "New Member",
        "username": "new-member",
        "password": "a long enough passphrase",
    },
    "account_delete": lambda w: {"confirm": "on"},
    "onboarding": lambda w: {"conditions": ["other"], "time_zone": "UTC"},
}


# A member's invitation: the sweep's newcomer signs up there, every logged-in patient is refused.
ANSWERED_403 = {"team_join"}
# Pages that answer an accepted form with the page itself, saying "Saved" where it was saved.
SAVED_IN_PLACE = {"today", "log_day", "verify_email", "identity_settings"}


def find_forms(sweep: Sweep, persona: str) -> dict[str, list[tuple]]:
    """Each page route that a form on the persona's pages posts to -> [(address, fields,
    kinds)], found by opening every page the persona may use."""
    w = sweep.world
    found: dict[str, list[tuple]] = {}
    client = sweep.client(persona)
    for route in PAGES:
        if not owns(persona, route):
            continue
        url = route.url(valid_values(route, w))
        response = sweep.send(client, "get", url)
        if response is None or "html" not in response.get("Content-Type", ""):
            continue
        parser = Forms()
        parser.feed(response.content.decode())
        for action, fields, kinds in parser.forms:
            target = urlsplit(action).path or url
            try:
                name = resolve(target).url_name
            except Resolver404:
                continue
            if all(known != target for known, _, _ in found.get(name, [])):
                found.setdefault(name, []).append((target, fields, kinds))
    for route in PAGES:  # a form this world's pages do not show
        if route.name in GOOD_FIELDS and route.name not in found and owns(persona, route):
            found[route.name] = [(route.url(valid_values(route, w)), {}, {})]
    extra = {name: fields(w) for name, fields in GOOD_FIELDS.items()}
    return {
        name: [(target, fields | extra.get(name, {}), kinds) for target, fields, kinds in forms]
        for name, forms in found.items()
    }


def form_bodies(fields: dict, kinds: dict, one_at_a_time: bool) -> Iterator[dict]:
    """Every bad value in every field at once, every field missing, every value repeated; then
    one field at a time (of a formset, the first row's), with the values that may pass it."""
    names = [*fields, "zzz"]
    for value in FORM_TEXT:
        yield fields | dict.fromkeys(names, value)
    yield {}
    yield {name: ["1", "2"] for name in names}
    if not one_at_a_time:
        return
    for name, kind in kinds.items():
        if re.search(r"-[1-9][0-9]*-", name):
            continue
        kind, _, length = kind.partition(" ")
        # At the field's maxlength (the database must hold it) and one past (a browser would
        # stop there; a script need not).
        limits = ["é" * int(length), "é" * (int(length) + 1)] if length else []
        for value in [*FIELD_TEXT.get(kind, []), *limits]:
            yield fields | {name: value}


def page_requests(route: Route, w, forms: list, owner: bool, swept: set) -> Iterator[tuple]:
    """As the page's owner (who has opened it to find its forms), its address with each bad
    parameter, then each of its forms with bad fields (one at a time once per view: /today/
    and /day/<day>/ share one); as anyone else, the page and its form once."""
    valid = valid_values(route, w)
    url = route.url(valid)
    if not owner:
        yield "get", url, None, None
        yield "post", url, urlencode(forms[0][1] if forms else {}, doseq=True), FORM
        return
    for name, converter in route.parameters:
        for value in path_values(converter, w):
            yield "get", route.url(valid | {name: value}), None, None
    for address in query_variants(url, PAGE_QUERY.get(route.name, [])):
        yield "get", address, None, None
    # Every unsafe method, in both encodings: the forms' own fields, or nothing.
    yield "delete", url, "", FORM
    yield "patch", url, "{}", "application/json"
    if not forms:
        yield "post", url, "", FORM
        yield "put", url, "[]", "application/json"
    for target, fields, kinds in forms:
        yield "put", target, urlencode(fields, doseq=True), FORM
        yield "post", target, DEEP, "application/json"  # pages read forms, never JSON
        view = resolve(target).func
        for body in form_bodies(fields, kinds, view not in swept):
            yield "post", target, urlencode(body, doseq=True), FORM
        swept.add(view)


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_page_answers_a_server_error(world, persona):
    sweep = Sweep(world)
    forms = find_forms(sweep, persona)
    # Each form's fields as found are accepted, so that each bad value is the one thing wrong.
    refused = []
    for target, fields, _ in [form for found in forms.values() for form in found]:
        with transaction.atomic():
            client = sweep.client(persona)
            response = sweep.send(client, "post", target, urlencode(fields, doseq=True), FORM)
            transaction.set_rollback(True)
        name = resolve(target).url_name
        saved = 200 if name in SAVED_IN_PLACE else 403 if name in ANSWERED_403 else 302
        if response is not None and response.status_code not in {302, saved}:
            refused.append(f"{target}: {response.status_code}")
    assert not refused, "add what these forms need to GOOD_FIELDS"
    swept: set = set()
    for route in PAGES:
        found = forms.get(route.name, [])
        sweep.run(persona, page_requests(route, world, found, owns(persona, route), swept))
    sweep.assert_no_server_error(f"{len(PAGES)} page routes as {persona}", budget=800)


# -- The API -----------------------------------------------------------------------------------


@functools.cache
def api_schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def resolved(node: dict) -> dict:
    """A schema node with its $ref, or its one non-null choice of several, followed."""
    while True:
        if "$ref" in node:
            node = api_schema()["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        elif choices := node.get("allOf") or node.get("oneOf") or node.get("anyOf"):
            node = next(choice for choice in choices if choice.get("type") != "null")
        else:
            return node


def hostile_json(node: dict) -> list:
    """The bad values of the field's type, the wrong types, and its documented limits: at the
    limit (valid: the database must hold it) and one past it."""
    node = resolved(node)
    kind = node.get("format") if node.get("format") in {"date", "uuid"} else node.get("type")
    limits = []
    if "maxLength" in node:
        limits += ["é" * node["maxLength"], "é" * (node["maxLength"] + 1)]
    for bound, step in [("maximum", 1), ("minimum", -1)]:
        if bound in node:
            limits += [node[bound], node[bound] + step]
    return [*HOSTILE_JSON.get(kind, HOSTILE_JSON["string"]), *limits, *WRONG_TYPES]


def writable(node: dict) -> dict[str, dict]:
    properties = resolved(node).get("properties", {})
    return {name: prop for name, prop in properties.items() if not prop.get("readOnly")}


def json_bodies(node: dict, valid: dict) -> Iterator[dict]:
    """The valid body with each field left out, then with each field given each bad value,
    and for a list of objects or an object, each of their fields in turn."""
    for name, prop in writable(node).items():
        if name in valid:
            yield {key: value for key, value in valid.items() if key != name}
        for value in hostile_json(prop):
            yield valid | {name: value}
        inner, good = resolved(prop), valid.get(name)
        if inner.get("type") == "array" and isinstance(good, list) and good:
            for item in json_bodies(inner["items"], good[0]):
                yield valid | {name: [item]}
            yield valid | {name: good * 51}  # one more than an injection may have
        elif inner.get("type") == "object" and isinstance(good, dict):
            for item in json_bodies(inner, good):
                yield valid | {name: item}
    # What the client may not choose: the owner, the version, a field nobody reads.
    yield valid | {"patient": 1, "version": 2**63, "created_at": "0001-01-01", "zzz": LONG}


@dataclass
class Operation:
    path: str  # as the schema writes it: /api/v1/logs/{date}/
    method: str
    parameters: list[dict]
    body: dict | None  # the request body's schema

    def url(self, values: dict[str, str]) -> str:
        return re.sub(r"\{(\w+)\}", lambda match: percent(values[match[1]]), self.path)


def api_operations() -> list[Operation]:
    operations = []
    for path, methods in api_schema()["paths"].items():
        for method, operation in methods.items():
            content = operation.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema")
            operations.append(Operation(path, method, operation.get("parameters", []), body))
    return operations


def record_bodies(w) -> dict[str, dict]:
    """A valid body of each kind of record, as the API and the sync take them."""
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    return {
        "log": {"severity": 3, "pain": 2, "note": "ok"},
        "injection": {
            "date": yesterday,
            "product": "botox",
            "total_units": "50",
            "sites": [{"muscle": "trapezius", "side": "left", "units": "50"}],
            "notes": "ok",
        },
        "reaction": {
            "kind": "headache",
            "severity": "mild",
            "onset_date": yesterday,
            "injection": str(w.injection.pk),
        },
    }


def valid_request(operation: Operation, w) -> tuple[dict[str, str], dict | None]:
    """The operation's path parameters and body for the world's own records."""
    kind = next(
        (kind for kind in ("log", "injection", "reaction") if f"/{kind}s/" in operation.path), ""
    )
    values = {
        "date": w.log.date.isoformat(),
        "id": str(w.injection.pk if kind == "injection" else w.reaction.pk),
    }
    body = record_bodies(w).get(kind)
    if "/sync/" in operation.path:
        item = {"type": "log", "op": "put", "key": TODAY.isoformat(), "data": {"severity": 3}}
        body = {"items": [item]}
    elif "/push-subscriptions/" in operation.path:
        body = {"endpoint": PUSH_ENDPOINT, "keys": {"p256dh": "phone-key", "auth": "secret"}}
    return values, body if operation.body else None


QUERY_TEXT = {
    "date": ["", "0001-01-01", "9999-12-31", "2026-02-30", "yesterday"],
    "integer": ["", "-1", str(10**20), str(2**63), "1e400", "NaN", "²"],
    "boolean": ["", "yes", "2"],
}


def query_values(parameter: dict) -> list[str]:
    """The bad texts of the parameter's kind, and the ones bad for any kind."""
    node = resolved(parameter["schema"])
    texts = QUERY_TEXT.get(node.get("format") or node.get("type"), HOSTILE_TEXT[:-3])
    return [*texts, *HOSTILE_TEXT[-3:]]


def rotation(node: dict, valid: dict, turn: int) -> dict:
    """Every field bad at once, each with another of the bad values of its type (the turn
    picks which); a list of objects or an object has its own fields made bad every other
    turn. DRF checks every field of a body, so one request tries a value in each."""
    body = dict(valid)
    for offset, (name, prop) in enumerate(writable(node).items()):
        inner, good = resolved(prop), valid.get(name)
        if turn % 2 and inner.get("type") == "array" and isinstance(good, list) and good:
            body[name] = [rotation(inner["items"], good[0], turn // 2 + offset)]
        elif turn % 2 and inner.get("type") == "object" and isinstance(good, dict):
            body[name] = rotation(inner, good, turn // 2 + offset)
        else:
            values = hostile_json(prop)
            body[name] = values[(turn + offset) % len(values)]
    return body


# Enough turns for each top-level field to take each of its values (nested fields, every other
# turn, take about half of theirs here: the sync batches give them all).
ROTATIONS = max(len(values) + len(WRONG_TYPES) for values in HOSTILE_JSON.values())


def api_requests(operation: Operation, w, owner: bool) -> Iterator[tuple]:
    """As the patient, the operation with each path and query parameter made bad (every path
    value once, by GET where there is one), then its body wrong as a whole, sent as a form,
    and with every field bad at once (each field alone is swept through the sync, below);
    as anyone else, the operation once."""
    values, body = valid_request(operation, w)
    method = operation.method
    query = [p for p in operation.parameters if p["in"] == "query"]
    # A required query parameter (DELETE push-subscriptions' endpoint) with a real value.
    params = {p["name"]: PUSH_ENDPOINT for p in query if p.get("required")}
    url = with_query(operation.url(values), params) if params else operation.url(values)
    as_json = json.dumps(body) if body else None
    yield method, url, as_json, "application/json"
    if not owner:
        return
    bad_paths = path_values(None, w) if method == "get" else HOSTILE_TEXT[-3:]
    for name in re.findall(r"\{(\w+)\}", operation.path):
        for value in bad_paths:
            changed = operation.url(values | {name: value})
            yield (
                method,
                with_query(changed, params) if params else changed,
                as_json,
                ("application/json"),
            )
    for parameter in query:
        for value in [*query_values(parameter), ["1", "2"]]:
            yield method, with_query(url, params | {parameter["name"]: value}), None, None
    yield method, with_query(url, params | {"zzz": "\u202e💉"}), None, None
    if body is None:
        return
    yield method, url, urlencode(body, doseq=True), FORM  # the API speaks only JSON
    for wrong in [*WRONG_BODIES, OVERSIZE]:
        yield method, url, wrong, "application/json"
    yield method, url, "{}", "application/json"
    # What the client may not choose: the owner, the version, a field nobody reads.
    unknown = {"patient": 1, "version": 2**63, "created_at": "0001-01-01", "zzz": LONG}
    yield method, url, json.dumps(body | unknown), "application/json"
    for turn in range(ROTATIONS):
        yield method, url, json.dumps(rotation(operation.body, body, turn)), "application/json"


def sync_batches(w) -> Iterator[tuple]:
    """The sync engine with each kind of record given each bad field, as new records and as
    changes to the stored ones: one batch per kind (a batch answers item by item)."""
    schemas = api_schema()["components"]["schemas"]
    components = {"log": "DailyLogRequest", "injection": "InjectionRequest"}
    components["reaction"] = "ReactionRequest"
    stored = {"log": TODAY.isoformat(), "injection": w.injection.pk, "reaction": w.reaction.pk}
    for kind, valid in record_bodies(w).items():
        bodies = list(json_bodies(schemas[components[kind]], valid))
        for existing in (False, True):
            items = [
                {
                    "type": kind,
                    "op": "put",
                    "key": str(stored[kind] if existing else uuid.UUID(int=n + 1)),
                    "data": data,
                }
                for n, data in enumerate(bodies)
            ]
            if kind == "log" and not existing:
                for n, item in enumerate(items):
                    item["key"] = (TODAY - dt.timedelta(days=n % 365 + 1)).isoformat()
            yield "post", "/api/v1/sync/", json.dumps({"items": items}), "application/json"


def test_no_api_operation_answers_a_server_error(world):
    sweep = Sweep(world)
    operations = api_operations()
    for persona in PERSONAS:
        owner = persona == "patient"
        for operation in operations:
            sweep.run(persona, api_requests(operation, world, owner))
    sweep.run("patient", sync_batches(world))
    # Unknown API addresses answer JSON 404s.
    unknown = [("get", "/api/v1/" + percent(value), None, None) for value in HOSTILE_TEXT if value]
    sweep.run("patient", iter(unknown))
    sweep.assert_no_server_error(f"{len(operations)} API operations", budget=2500)
