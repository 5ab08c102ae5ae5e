"""Proof that nothing leaks: every patient-scoped page and API route, every method it accepts,
asked by six people. Only the patient (on their own diary's routes) or a clinician with an
active share (on the clinic's routes) gets the data; everyone else gets 404 (or their own,
empty, version of a page that is about "my diary"), the log-in page or 403 when anonymous,
and never a byte of the patient's data, nor a change to it.

A route added to the app fails `test_every_route_is_in_the_matrix_or_carries_no_patient_data`
until it joins MATRIX below or NO_PATIENT_DATA with the reason why.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from tests import factories
from tests.conftest import TODAY, injection_form, reauthenticate
from tests.cycles import wearing_off_diary
from tracker.models import (
    Clinic,
    DailyLog,
    GlobalImpression,
    Injection,
    Membership,
    Patient,
    PushSubscription,
    Reaction,
    Share,
    share_diary,
)

pytestmark = pytest.mark.usefixtures("frozen_now")

SECRET = "Zyxwvut-secret-4c1e"  # the patient's last name and every note: unique in any page
PUSH_ENDPOINT = "https://fcm.googleapis.com/fcm/send/pat-phone"

# Who asks: the patient; a clinician they share with alone; a clinician, a nurse and a coordinator
# of the clinic they share with; a removed member of that clinic; a member of another clinic; a
# member of a clinic the patient stopped sharing with; a clinician whose share was revoked; a
# clinician and a patient with nothing to do with them; nobody logged in.
PERSONAS = [
    "patient",
    "clinician",
    "member",
    "nurse",
    "coordinator",
    "removed",
    "other_clinic",
    "left_clinic",
    "stranger",
    "revoked",
    "other",
    "anonymous",
]
# Who owns a route: the patient their diary's; whoever reads the diary the clinic's.
OWNERS = {"patient": {"patient"}, "clinician": {"clinician", "member", "nurse"}}
CLINIC_STAFF_WITHOUT_ACCESS = {"removed", "other_clinic", "left_clinic", "stranger", "revoked"}


def member(clinic: Clinic, username: str, role: str) -> Membership:
    user = factories.ClinicianFactory(username=username)
    return Membership.objects.create(clinic=clinic, user=user, role=role)


@pytest.fixture
def world(db):
    patient = factories.PatientFactory(
        user__username="pat", user__first_name="Pat", user__last_name=SECRET
    )
    clinician = factories.ClinicianFactory(username="doc")
    factories.ShareFactory(patient=patient, clinician=clinician)
    revoked = factories.ClinicianFactory(username="gone-doc")
    factories.ShareFactory(patient=patient, clinician=revoked).revoke()
    clinic = Clinic.objects.create(name="Shared clinic")
    share_diary(patient, clinic=clinic)
    team = {role: member(clinic, f"{role}-user", role) for role in Membership.Role.values}
    removed = member(clinic, "removed-user", "clinician")
    removed.remove()
    other_clinic = member(Clinic.objects.create(name="Other clinic"), "elsewhere", "clinician")
    left = Clinic.objects.create(name="Left clinic")
    share_diary(patient, clinic=left).revoke()
    left_member = member(left, "left-user", "nurse")
    injection = factories.InjectionFactory(
        patient=patient, date=TODAY - dt.timedelta(days=30), notes=SECRET, injector=SECRET
    )
    factories.InjectionSiteFactory(injection=injection, units=injection.total_units)
    users = {
        "patient": patient.user,
        "clinician": clinician,
        "member": team["clinician"].user,
        "nurse": team["nurse"].user,
        "coordinator": team["coordinator"].user,
        "removed": removed.user,
        "other_clinic": other_clinic.user,
        "left_clinic": left_member.user,
        "stranger": factories.ClinicianFactory(username="stranger-doc"),
        "revoked": revoked,
        "other": factories.PatientFactory(user__username="other").user,
        "anonymous": None,
    }
    return SimpleNamespace(
        patient=patient,
        users=users,
        share=Share.objects.active().get(patient=patient, clinician=clinician),
        injection=injection,
        log=factories.DailyLogFactory(patient=patient, date=TODAY, note=SECRET),
        reaction=factories.ReactionFactory(patient=patient, injection=injection, note=SECRET),
        red_flag=factories.ReactionFactory(
            patient=patient, kind="breathing", severity="severe", note=SECRET
        ),
        stranger_code=users["stranger"].ensure_share_code(),
        push=PushSubscription.objects.create(
            user=patient.user, endpoint=PUSH_ENDPOINT, p256dh="phone-key", auth="phone-secret"
        ),
    )


def fingerprint(world) -> dict:
    """Everything of the patient's that a request could change."""
    patient = world.patient
    return {
        "logs": list(DailyLog.objects.filter(patient=patient).values_list("date", "version")),
        "injections": list(
            Injection.objects.filter(patient=patient).values_list("id", "version", "notes")
        ),
        "reactions": list(
            Reaction.objects.filter(patient=patient).values_list(
                "id", "version", "resolved_date", "handled_at", "handled_note"
            )
        ),
        "impressions": GlobalImpression.objects.filter(patient=patient).count(),
        "shares": list(Share.objects.filter(patient=patient).values_list("id", "revoked_at")),
        "conditions": patient.condition_codes,
        "reminder": Patient.objects.values_list("reminder_time", "reminder_email").get(
            pk=patient.pk
        ),
        "numbers": Patient.objects.values_list("emergency_number", "clinic_phone").get(
            pk=patient.pk
        ),
        "push": list(patient.user.push_subscriptions.values_list("endpoint", "p256dh")),
    }


def shot_body(w) -> dict:
    return {
        "date": (TODAY - dt.timedelta(days=2)).isoformat(),
        "product": "botox",
        "total_units": "50",
        "sites": [{"muscle": "trapezius", "side": "left", "units": "50"}],
    }


def reaction_body(w) -> dict:
    return {"kind": "headache", "severity": "mild", "onset_date": TODAY.isoformat()}


@dataclass(frozen=True)
class Route:
    url: Callable  # world -> path
    methods: dict  # method -> body factory (world -> dict) or None
    owner: str  # "patient" (their own diary) or "clinician" (a clinic route)
    # Who, besides the owner, is answered with their own version of the page (their own
    # diary, their own clinic list): allowed, but with nothing of the patient's in it.
    own_version_for: frozenset = frozenset()
    shows_secret: frozenset = frozenset()  # methods whose answer to the owner has the secret
    api: bool = False
    prepare: Callable | None = None  # world -> None: adds what the route needs to answer
    # Who else sees the patient here, as the owner does (the coordinator, on the clinic list).
    also_owned_by: frozenset = frozenset()


GET = {"get": None}
GET_POST = {"get": None, "post": None}
MINE = frozenset({"other"})


def page(url, methods=GET_POST, shows=frozenset(), own=MINE, owner="patient"):
    return Route(url, methods, owner, own, frozenset(shows))


def api(url, methods, own=MINE, shows=frozenset()):
    return Route(url, methods, "patient", own, frozenset(shows), api=True)


def clinic_page(url, methods=GET_POST, shows=("get",)):
    return Route(url, methods, "clinician", frozenset(), frozenset(shows))


def api_record(kind: str, body, patch: dict) -> Route:
    """One of the patient's records of `kind` through the API, by its id (the world's record of
    that kind): read, replaced with `body`, changed with `patch` and deleted."""
    return api(
        lambda w: reverse(f"api:{kind}-detail", args=[getattr(w, kind).pk]),
        {"get": None, "put": body, "patch": lambda w: patch, "delete": None},
        own=(),
        shows={"get"},
    )


MATRIX = {
    # The patient's own diary: their record is found from the session, never from the URL.
    "settings": page(
        lambda w: reverse("settings"),
        {"get": None, "post": lambda w: {"conditions": ["other"], "time_zone": "UTC"}},
    ),
    "onboarding": page(
        lambda w: reverse("onboarding"),
        {"get": None, "post": lambda w: {"conditions": ["other"], "time_zone": "UTC"}},
    ),
    "today": page(
        lambda w: reverse("today"), {"get": None, "post": lambda w: {"severity": "3"}}, {"get"}
    ),
    "log_day": page(
        lambda w: reverse("log_day", args=[w.log.date.isoformat()]),
        {"get": None, "post": lambda w: {"severity": "3"}},
        {"get"},
    ),
    # A calendar file only once there is a wearing-off forecast: two earlier cycles wore off.
    "next_appointment_ics": Route(
        lambda w: reverse("next_appointment_ics"),
        GET,
        "patient",
        MINE,
        prepare=lambda w: wearing_off_diary(
            w.patient, [TODAY - dt.timedelta(days=n) for n in (210, 120, 30)], [69, 70]
        ),
    ),
    "global_impression": page(
        lambda w: reverse("global_impression"),
        {
            "post": lambda w: {
                "injection": str(w.injection.pk),
                "timepoint": "peak",
                "score": "2",
            }
        },
    ),
    "relief": page(lambda w: reverse("relief")),
    "history": page(lambda w: reverse("history"), shows={"get"}),
    "injection_list": page(lambda w: reverse("injection_list")),
    "injection_new": page(
        lambda w: reverse("injection_new"), {"get": None, "post": lambda w: injection_form()}
    ),
    "injection_detail": page(
        lambda w: reverse("injection_detail", args=[w.injection.pk]), shows={"get"}, own=()
    ),
    "injection_edit": page(
        lambda w: reverse("injection_edit", args=[w.injection.pk]),
        {"get": None, "post": lambda w: injection_form(notes="changed")},
        {"get"},
        own=(),
    ),
    "injection_delete": page(lambda w: reverse("injection_delete", args=[w.injection.pk]), own=()),
    "reaction_list": page(lambda w: reverse("reaction_list"), shows={"get"}),
    "reaction_new": page(
        lambda w: reverse("reaction_new"),
        {"get": None, "post": lambda w: {**reaction_body(w), "kinds": ["headache"]}},
    ),
    "reaction_edit": page(
        lambda w: reverse("reaction_edit", args=[w.reaction.pk]),
        {"get": None, "post": reaction_body},
        {"get"},
        own=(),
    ),
    "reaction_resolve": page(
        lambda w: reverse("reaction_resolve", args=[w.reaction.pk]), {"post": None}, own=()
    ),
    "reaction_delete": page(lambda w: reverse("reaction_delete", args=[w.reaction.pk]), own=()),
    "sharing": page(lambda w: reverse("sharing")),
    "share_code": page(
        lambda w: reverse("share_code") + f"?code={w.stranger_code}",
        {"get": None, "post": lambda w: {"code": w.stranger_code}},
    ),
    "share_revoke": page(
        lambda w: reverse("share_revoke", args=[w.share.pk]), {"get": None, "post": None}, own=()
    ),
    "export_csv": page(lambda w: reverse("export_csv"), shows={"get", "post"}),
    "export_fhir": page(lambda w: reverse("export_fhir"), shows={"get", "post"}),
    "account_data_json": page(lambda w: reverse("account_data_json"), GET, shows={"get"}),
    "account_data_csv": page(lambda w: reverse("account_data_csv"), GET, shows={"get"}),
    "account_delete": page(
        lambda w: reverse("account_delete"), {"get": None, "post": lambda w: {"confirm": "on"}}
    ),
    "reminder_settings": page(
        lambda w: reverse("reminder_settings"),
        {"post": lambda w: {"reminder_time": "07:30", "reminder_email": "False"}},
    ),
    "numbers_settings": page(
        lambda w: reverse("numbers_settings"),
        {"post": lambda w: {"emergency_number": "112", "clinic_phone": "020 7946 0000"}},
    ),
    "identity_settings": page(
        lambda w: reverse("identity_settings"),
        {"post": lambda w: {"name": "Pat", "date_of_birth": "1960-03-21", "clinic_number": "X1"}},
    ),
    # The clinic: a patient's data by their id, for a clinician with an active share.
    # The list: a coordinator sees the patient on it (tests/test_clinic_teams.py: no diary);
    # other clinic staff see their own list, without this patient.
    "clinic": Route(
        lambda w: reverse("clinic"),
        GET_POST,
        "clinician",
        frozenset(CLINIC_STAFF_WITHOUT_ACCESS),
        frozenset({"get"}),
        also_owned_by=frozenset({"coordinator"}),
    ),
    "clinic_injection_new": clinic_page(
        lambda w: reverse("clinic_injection_new", args=[w.patient.pk]),
        {"get": None, "post": lambda w: injection_form()},
    ),
    "clinic_export_csv": clinic_page(
        lambda w: reverse("clinic_export_csv", args=[w.patient.pk]), shows=("get", "post")
    ),
    "clinic_export_fhir": clinic_page(
        lambda w: reverse("clinic_export_fhir", args=[w.patient.pk]), shows=("get", "post")
    ),
    "clinic_report": clinic_page(lambda w: reverse("clinic_report", args=[w.patient.pk]), GET),
    "clinic_reaction_handled": clinic_page(
        lambda w: reverse("clinic_reaction_handled", args=[w.patient.pk, w.red_flag.pk]),
        {"post": lambda w: {"note": "Called the patient"}},
        shows=(),
    ),
    "clinic_summary": clinic_page(lambda w: reverse("clinic_summary", args=[w.patient.pk]), GET),
    # The PDF's text is compressed: that it holds the data is tested in tests/test_report.py.
    "clinic_summary_pdf": clinic_page(
        lambda w: reverse("clinic_summary_pdf", args=[w.patient.pk]), GET, shows=()
    ),
    # Several summaries as one PDF: tests/test_batch_pdf.py reads what it holds.
    "clinic_summaries_pdf": clinic_page(
        lambda w: reverse("clinic_summaries_pdf"),
        {"post": lambda w: {"patient": [w.patient.pk]}},
        shows=(),
    ),
    # The API: the patient's own diary only.
    "api:log-list": api(lambda w: reverse("api:log-list"), GET, shows={"get"}),
    "api:log-detail": api(
        lambda w: reverse("api:log-detail", args=[w.log.date.isoformat()]),
        {"get": None, "put": lambda w: {"severity": 1}, "delete": None},
        shows={"get"},
    ),
    "api:injection-list": api(
        lambda w: reverse("api:injection-list"), {"get": None, "post": shot_body}, shows={"get"}
    ),
    "api:injection-detail": api_record("injection", shot_body, {"injector": "Dr X"}),
    "api:reaction-list": api(
        lambda w: reverse("api:reaction-list"), {"get": None, "post": reaction_body}, shows={"get"}
    ),
    "api:reaction-detail": api_record("reaction", reaction_body, {"severity": "severe"}),
    "api:cycle-list": api(lambda w: reverse("api:cycle-list"), GET),
    "api:cycle-overlay": api(lambda w: reverse("api:cycle-overlay"), GET),
    "api:sync": api(
        lambda w: reverse("api:sync"),
        {
            "post": lambda w: {
                "items": [
                    {"type": "injection", "op": "delete", "key": str(w.injection.pk)},
                    {
                        "type": "log",
                        "op": "put",
                        "key": w.log.date.isoformat(),
                        "data": {"severity": 9},
                    },
                ]
            }
        },
    ),
    # Anyone logged in keeps their own phones here (a clinician's get the red-flag alerts):
    # the patient's phone is neither taken over (400) nor removed (404) by anyone else.
    "api:push-subscriptions": api(
        lambda w: reverse("api:push-subscriptions") + f"?endpoint={PUSH_ENDPOINT}",
        {
            "post": lambda w: {
                "endpoint": PUSH_ENDPOINT,
                "keys": {"p256dh": "new-phone-key", "auth": "new-phone-secret"},
            },
            "delete": None,
        },
        own=frozenset(PERSONAS) - {"patient", "anonymous"},
    ),
}

# Routes of the app that carry no patient data, and why.
NO_PATIENT_DATA = {
    "home": "the landing page for strangers; redirects to Today or to the clinic list",
    "verify_email": "sends the verification email again; the same answer for any address",
    "healthz": "the load balancer's health check: ok or unavailable",
    "readyz": "readiness: database, Redis and job queue, in words",
    "service_worker": "the offline app shell's script, the same for everyone",
    "manifest": "the web app manifest, the same for everyone",
    "offline": "the offline page, the same for everyone",
    "clinic_invite": "the clinician's own share code and invitations",
    "clinic_invitation": "one of the clinician's own invitations (its QR code)",
    "clinic_settings": "a clinic member's own alerts and account links, no patient",
    "share_accept": "an invitation: names the clinician who made it, not any patient",
    "team": "the clinic's members and invitations, no patient (tests/test_clinic_teams.py)",
    "team_member_remove": "removes a member of the admin's own clinic",
    "team_clinic_details": "changes the name, phone or address of the admin's own clinic",
    "team_invitation_withdraw": "withdraws an invitation of the admin's own clinic",
    "team_join": "a member's invitation: names the clinic and the role, not any patient",
    # A batch is a clinician's own, not a patient's: its patients were checked as it was
    # asked for and again as it was made (tests/test_batch_pdf.py asks as every kind of user).
    "clinic_print_batch": "a clinician's own printed batch: how many, made yet; others 404",
    "clinic_print_batch_pdf": "that batch's PDF, to its clinician alone; others 404",
    "schema": "the API's OpenAPI description",
    "api_docs": "the API's documentation page",
    "api/v1/^(?P<unknown>.*)$": "the JSON 404 for unknown API paths",
}
THIRD_PARTY = ("admin/", "accounts/")  # Django's admin (staff only) and allauth


def app_routes() -> dict[str, tuple]:
    """Every route outside the third-party prefixes: its name (or pattern) -> (pattern, the
    HTTP methods the API view implements, or None for a Django view)."""
    found = {}

    def walk(patterns, prefix="", namespace=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry.url_patterns, prefix + str(entry.pattern), inner or namespace)
                continue
            assert isinstance(entry, URLPattern)
            route = prefix + str(entry.pattern)
            if route.startswith(THIRD_PARTY):
                continue
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            found[name or route] = (route, api_methods(entry.callback))

    walk(get_resolver().url_patterns)
    return found


def api_methods(callback) -> set[str] | None:
    if getattr(callback, "actions", None):  # a viewset's route; HEAD is answered as GET
        return set(callback.actions) - {"head"}
    view_class = getattr(callback, "cls", None)
    if view_class is None:
        return None
    return {
        method
        for method in view_class.http_method_names
        if method not in {"options", "head"} and hasattr(view_class, method)
    }


def test_every_route_is_in_the_matrix_or_carries_no_patient_data():
    routes = app_routes()
    missing = set(routes) - set(MATRIX) - set(NO_PATIENT_DATA)
    assert not missing, f"add these routes to MATRIX or to NO_PATIENT_DATA: {sorted(missing)}"
    assert not set(MATRIX) & set(NO_PATIENT_DATA)
    stale = (set(MATRIX) | set(NO_PATIENT_DATA)) - set(routes)
    assert not stale, f"these routes no longer exist: {sorted(stale)}"


def test_the_matrix_tries_every_method_each_api_route_accepts():
    for name, (_, methods) in app_routes().items():
        if name in MATRIX and MATRIX[name].api:
            assert set(MATRIX[name].methods) == methods, name


CASES = [(name, method) for name, route in MATRIX.items() for method in route.methods]


def ask(world, route: Route, method: str, persona: str):
    user = world.users[persona]
    client = APIClient()
    if user is not None:
        client.force_login(user)
        reauthenticate(client, user)  # as downloads and deleting the account ask
    body_factory = route.methods[method]
    body = body_factory(world) if body_factory else None
    if route.api:
        response = getattr(client, method)(route.url(world), body, format="json")
    else:
        response = getattr(client, method)(route.url(world), body or {})
    content = (
        b"".join(response.streaming_content) if response.streaming else response.content
    ).decode(errors="replace")  # a PDF is not text
    return response, content


@pytest.mark.parametrize(("name", "method"), CASES)
def test_only_the_patient_or_a_clinician_with_access_gets_the_data(world, name, method):
    route = MATRIX[name]
    if route.prepare:
        route.prepare(world)
    before = fingerprint(world)
    owners = OWNERS[route.owner] | route.also_owned_by
    # The owners go last: only their requests may change anything.
    for persona in sorted(PERSONAS, key=lambda p: p in owners):
        response, content = ask(world, route, method, persona)
        status = response.status_code
        who = f"{persona} {method.upper()} {name}"
        if persona in owners:
            assert status < 400, f"{who}: {status}"
            if method in route.shows_secret:
                assert SECRET in content, who
            continue
        assert SECRET not in content, who
        assert fingerprint(world) == before, who
        if persona == "anonymous":
            if route.api:
                assert status == 403, f"{who}: {status}"
            else:
                assert status == 302, f"{who}: {status}"
                assert response.url.startswith(reverse("account_login")), who
        elif persona in route.own_version_for:
            assert status < 500 and status not in {403, 405}, f"{who}: {status}"
        else:
            assert status == 404, f"{who}: {status}"


def test_a_clinicians_access_ends_with_the_share(world):
    route = MATRIX["clinic_export_csv"]
    assert ask(world, route, "get", "clinician")[0].status_code == 200
    world.share.revoke()
    response, content = ask(world, route, "get", "clinician")
    assert response.status_code == 404
    assert SECRET not in content
