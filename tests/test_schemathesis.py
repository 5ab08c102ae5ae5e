"""The whole API held to its own OpenAPI schema by schemathesis, as a logged-in patient, with
all of schemathesis's checks: no 500, every status code, content type and body as documented,
bad input refused, good input accepted, the session enforced; and statefully, following the
schema's links from each record made to its reading, replacing, deleting, and sending again."""

import collections
import datetime as dt

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from tests import factories
from tracker.dates import EARLIEST_DIARY_DATE

# What schemathesis takes as a refusal of a request the schema does not allow: its own list,
# and 410 (a deleted record is not saved again, whatever is sent) and 413 (too large).
REFUSED = [
    "400",
    "401",
    "403",
    "404",
    "405",
    "406",
    "409",
    "410",
    "413",
    "415",
    "422",
    "428",
    "429",
]
# A create sent again with an id the patient already used answers 200 with the stored record,
# whatever else it holds, and changes nothing (the schema says so).
CREATES = ["v1_injections_create", "v1_reactions_create"]
# Writes whose rules no schema states: dates from 1990 to the patient's today, each product's
# dose limits, sites adding up to the total, the patient's own injections, the push services'
# hosts. A request the schema allows may break one of them, and is refused with 400 and why.
# Everything else the schema allows must be accepted (schemathesis's positive_data_acceptance).
BEYOND_THE_SCHEMA = [
    f"v1_{kind}_{action}"
    for kind in ("injections", "reactions")
    for action in ("update", "partial_update")
] + ["v1_logs_update", "v1_push_subscriptions_create"]
ACCEPTED = ["2xx", "400", "401", "403", "404", "409", "410", "429"]
config = SchemathesisConfig.from_dict(
    {
        "checks": {"negative_data_rejection": {"expected-statuses": REFUSED}},
        "operations": [
            {
                "include-operation-id": CREATES,
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": ACCEPTED},
                    "negative_data_rejection": {"expected-statuses": [*REFUSED, "200"]},
                },
            },
            {
                "include-operation-id": BEYOND_THE_SCHEMA,
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": ACCEPTED},
                    "negative_data_rejection": {"expected-statuses": REFUSED},
                },
            },
        ],
    }
)
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json", get_wsgi_application(), config=config
)

# The patient of the test running now, and their session (set by the fixture `as_patient`).
NOW: dict = {}


@schema.auth(refresh_interval=None)
class PatientSession:
    """The session cookie, given to schemathesis as the schema's auth (cookieAuth), so that its
    auth checks know it and try the API without it too. As a cookie, not a Cookie header: the
    WSGI transport's client (werkzeug's) replaces that header with its own cookies."""

    def get(self, case, context) -> str | None:
        return NOW.get("session")

    def set(self, case, session: str | None, context) -> None:
        if session is not None:  # None while collecting the tests, before any fixture
            case.cookies = {**(case.cookies or {}), "sessionid": session}


def with_every_request() -> dict:
    """Django's CSRF token, as cookie and header: sent with every request but no part of the
    case, which the schema judges (an undeclared cookie would make every case "invalid"). And
    answers left uncompressed: the WSGI transport hands schemathesis the body as the app sent
    it, without undoing the gzip or Brotli a browser undoes (tracker/compression.py)."""
    token = NOW["csrftoken"]
    return {
        "cookies": {"csrftoken": token},
        "headers": {"X-CSRFToken": token, "Accept-Encoding": "identity"},
    }


@pytest.fixture
def as_patient(db):
    patient = factories.PatientFactory()
    factories.InjectionSiteFactory(injection__patient=patient)
    factories.DailyLogFactory(patient=patient)
    factories.ReactionFactory(patient=patient)
    client = Client()
    client.force_login(patient.user)
    client.get("/today/")  # sets the CSRF cookie
    NOW["patient"] = patient
    NOW["session"] = client.cookies["sessionid"].value
    NOW["csrftoken"] = client.cookies["csrftoken"].value
    # The WSGI app closes "old" connections around each request, as a server should; inside
    # the test's transaction that would close the one connection the test holds (PostgreSQL).
    # Django's test client switches this off during each of its own requests (and switches it
    # back on after, which is why this comes after the log-in above).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield patient
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)
    NOW.clear()


# Ordinary entries. Random dates fall in the diary's window (1990 to today) about once in
# 250 draws, and random doses rarely add up: so half the valid requests are mended into an
# ordinary diary entry, and the API's saving, reading and deleting are reached, not only its
# refusals. The other half, and every invalid request, go as schemathesis made them.

ORDINARY = st.fixed_dictionaries(
    {
        "mend": st.booleans(),
        # The day before the server's today: the patient's today in any time zone.
        "day": st.dates(EARLIEST_DIARY_DATE, dt.date.today() - dt.timedelta(days=1)).map(str),
        "units": st.lists(st.integers(1, 60).map(str), min_size=3, max_size=3),
        "token": st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=40),
    }
)


def in_diary(day: object) -> bool:
    try:
        return EARLIEST_DIARY_DATE <= dt.date.fromisoformat(str(day)) <= dt.date.today()
    except ValueError:
        return False


def mended(case, drawn: dict):
    body = dict(case.body) if isinstance(case.body, dict) else None
    path = case.operation.path
    if path.startswith("/api/v1/injections/") and body is not None:
        if "date" in body and not in_diary(body["date"]):
            body["date"] = drawn["day"]
        if body.get("sites"):
            sites = body["sites"][:3]
            body["sites"] = [
                {**site, "units": units} for site, units in zip(sites, drawn["units"], strict=False)
            ]
            body.pop("total_units", None)  # the server adds the sites up
        elif "total_units" in body:
            body["total_units"] = drawn["units"][0]
    elif path.startswith("/api/v1/reactions/") and body is not None:
        if "onset_date" in body and not in_diary(body["onset_date"]):
            body["onset_date"] = drawn["day"]
        if body.get("resolved_date") is not None:
            body["resolved_date"] = body.get("onset_date", drawn["day"])
        own = NOW["patient"].injections.all()
        if body.get("injection") and not own.filter(pk=str(body["injection"])).exists():
            body["injection"] = None
    elif path == "/api/v1/logs/{date}/" and not in_diary(case.path_parameters.get("date")):
        case.path_parameters = {**case.path_parameters, "date": drawn["day"]}
    elif path == "/api/v1/push-subscriptions/" and body is not None:
        body["endpoint"] = f"https://fcm.googleapis.com/fcm/send/{drawn['token']}"
    if body is not None:
        case.body = body
    return case


@schema.hook
def flatmap_case(context, case):
    meta = case._meta  # as generated: `case.meta` would judge it before the session is added
    if not NOW or meta is None or not meta.generation.mode.is_positive:
        return st.just(case)
    return ORDINARY.map(lambda drawn: mended(case, drawn) if drawn["mend"] else case)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_schema(case, as_patient):
    case.call_and_validate(**with_every_request())


def test_the_api_keeps_to_its_schema_through_linked_requests(as_patient):
    """Stateful: each scenario makes records and follows the schema's links with the ids the
    answers gave (read, replace, change, delete; the same create sent again; a deleted record
    read, replaced or created again), every answer checked as above (and, by schemathesis, a
    deleted record never read back, a created one never missing)."""
    scenarios, calls = [], []

    class Scenario(schema.as_state_machine()):
        """Each scenario starts from the same diary (what it wrote is rolled back after it), so
        that Hypothesis can replay and shrink a failing one."""

        def setup(self):
            scenarios.append(transaction.savepoint())

        def teardown(self):
            transaction.savepoint_rollback(scenarios[-1])

        def get_call_kwargs(self, case):
            return with_every_request()

        def after_call(self, response, case):
            super().after_call(response, case)
            calls.append((case.operation.label, response.status_code))

    # About a minute on SQLite or PostgreSQL: some 1,600 requests.
    Scenario.run(
        settings=settings(
            max_examples=80,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    answered = collections.Counter(calls)
    print(
        f"{len(scenarios)} scenarios, {len(calls)} requests, "
        f"{len({label for label, _ in calls})} operations: {sorted(answered.items())}"
    )
    assert not [call for call in calls if call[1] >= 500]
    # The links were followed: records named by an earlier answer read, changed or deleted,
    # and a deleted one kept deleted.
    by_link = {label for label, status in calls if "{" in label and 200 <= status < 300}
    assert len(by_link) >= 4, by_link
    assert any(status == 410 for _, status in calls)


@pytest.fixture
def openapi(client) -> dict:
    return client.get("/api/schema/?format=json").json()


def test_the_schema_says_a_create_sent_again_answers_200(openapi):
    for route in ("/api/v1/injections/", "/api/v1/reactions/"):
        responses = openapi["paths"][route]["post"]["responses"]
        assert responses["200"]["content"] == responses["201"]["content"]
        assert responses["200"]["description"] == (
            "Sent before with this `id`: the stored record, unchanged"
        )
    check_in = openapi["paths"]["/api/v1/logs/{date}/"]["put"]["responses"]
    assert check_in["201"]["content"] == check_in["200"]["content"]


def test_the_schema_lists_204_for_every_delete_and_413_for_every_body(openapi):
    for route, operations in openapi["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if method == "delete":
                assert "content" not in responses["204"], route
            too_large = responses.get("413", {}).get("content", {}).get("application/json")
            if "requestBody" in operation:
                assert set(too_large["schema"]["required"]) == {"detail", "max_bytes", "max_items"}
            else:
                assert too_large is None, (method, route)


def test_the_schema_links_each_record_to_what_may_follow_it(openapi):
    def links(route: str, method: str, status: str) -> dict[str, str]:
        answer = openapi["paths"][route][method]["responses"][status]
        return {name: link["operationId"] for name, link in answer["links"].items()}

    made = links("/api/v1/injections/", "post", "201")
    assert made == {
        "Read": "v1_injections_retrieve",
        "Replace": "v1_injections_update",
        "Change": "v1_injections_partial_update",
        "Delete": "v1_injections_destroy",
        "SendAgain": "v1_injections_create",
        "React": "v1_reactions_create",
    }
    assert links("/api/v1/injections/", "post", "200") == made
    assert set(links("/api/v1/reactions/{id}/", "delete", "204")) == {
        "ReadDeleted",
        "ReplaceDeleted",
        "CreateDeleted",
    }
    assert set(links("/api/v1/logs/{date}/", "put", "201")) == {"Read", "Replace", "Delete"}
    every_operation = {
        operation["operationId"]
        for operations in openapi["paths"].values()
        for operation in operations.values()
    }
    for route, operations in openapi["paths"].items():
        for operation in operations.values():
            for answer in operation["responses"].values():
                for link in answer.get("links", {}).values():
                    assert link["operationId"] in every_operation, route
