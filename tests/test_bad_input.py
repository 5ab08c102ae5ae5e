"""One rule for bad input: a clear 400 (or 413 for a body too large), never a 500, never a
half-saved batch, and an outbox never stuck behind one bad entry."""

import datetime as dt
import json
import uuid

import pytest
from django.urls import reverse

from tests import factories
from tests.conftest import TODAY
from tracker.bad_input import MAX_JSON_DEPTH, MAX_SYNC_ITEMS, depth
from tracker.catalog import MAX_SITES, TOO_MANY_SITES
from tracker.models import DailyLog, Injection

pytestmark = pytest.mark.usefixtures("frozen_now")

SYNC = "/api/v1/sync/"


def log_item(days_ago: int, severity=3) -> dict:
    key = str(TODAY - dt.timedelta(days=days_ago))
    return {"type": "log", "key": key, "base_version": 0, "data": {"severity": severity}}


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "bogus", "key": "x"},
        {"type": "log"},
        "a string, not an item",
        ["a", "list"],
        {"type": "log", "key": "2026-06-01", "base_version": 2**70, "data": {"severity": 3}},
        {"type": "log", "key": "2026-06-01", "base_version": -1, "data": {"severity": 3}},
        {"type": "log", "key": "2026-06-01", "data": "not an object"},
    ],
)
def test_a_malformed_item_is_refused_alone_and_the_rest_of_the_batch_is_saved(patient_client, bad):
    items = [log_item(1), bad, log_item(2)]
    response = patient_client.post(SYNC, {"items": items}, format="json")
    assert response.status_code == 200
    statuses = [result["status"] for result in response.json()["results"]]
    assert statuses == [201, 400, 201]
    assert response.json()["results"][1]["errors"]
    assert DailyLog.objects.count() == 2


def test_a_null_item_refuses_the_whole_batch_as_the_schema_says(patient_client):
    response = patient_client.post(SYNC, {"items": [log_item(1), None]}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"items"}
    assert not DailyLog.objects.exists()


def test_a_body_too_large_is_answered_413_in_json_with_the_limits(patient_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    items = [log_item(n % 30) | {"data": {"severity": 3, "note": "x" * 500}} for n in range(40)]
    response = patient_client.post(
        SYNC, json.dumps({"items": items}), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request is too large: send fewer items in each request.",
        "max_bytes": 10_000,
        "max_items": MAX_SYNC_ITEMS,
    }
    assert not DailyLog.objects.exists()


def test_every_page_publishes_the_batch_limits_for_the_outbox(web):
    html = web.get(reverse("today")).content.decode()
    assert f'data-sync-max-items="{MAX_SYNC_ITEMS}"' in html
    assert 'data-sync-max-bytes="2621440"' in html


@pytest.mark.parametrize("url", [SYNC, "/api/v1/injections/", "/api/v1/reactions/"])
def test_json_nested_too_deep_is_a_400_not_a_crash(patient_client, url):
    for levels in [MAX_JSON_DEPTH + 1, 1000, 100_000]:
        body = "[" * levels + "]" * levels
        response = patient_client.post(url, body, content_type="application/json")
        assert response.status_code == 400
        assert "nests too deep" in response.json()["detail"]


def test_depth_is_counted_without_recursion():
    deep = []
    for _ in range(50_000):
        deep = [deep]
    assert depth(deep) == 50_001
    assert depth({"a": [1, {"b": 2}]}) == 3
    assert depth(7) == 0


@pytest.mark.parametrize(
    "url",
    [
        "/clinic/?q=a%00b",
        "/history/?page=%00",
        "/share/accept/abc%00def/",
        "/day/2026-06-01%00/",
        "/api/v1/logs/?from=2026-01-01%00",
        "/api/v1/push-subscriptions/?endpoint=https://fcm.googleapis.com/x%00",
        "/relief/?range=%1b[31m",
        "/injections/?x%00y=1",
    ],
)
def test_a_control_character_in_the_address_is_a_400(logged_in, patient, clinician, url):
    for user in [patient.user, clinician]:
        client = logged_in(user)
        method = client.delete if "push-subscriptions" in url else client.get
        assert method(url).status_code == 400


@pytest.mark.parametrize(
    ("query", "ok"),
    [
        ("limit=1000", True),
        ("limit=1001", False),
        ("limit=1000000000000", False),
        ("limit=0", False),
        ("limit=-1", False),
        ("limit=ten", False),
        ("offset=5", True),
        ("offset=-5", False),
        ("offset=99999999999999999999", False),
        ("limit=%C2%B2", False),  # "²", a digit to str.isdigit() but not to int()
        ("offset=%C2%B9", False),  # "¹"
        ("limit=%D9%A1", False),  # an Arabic-Indic 1: ASCII digits only
    ],
)
def test_limit_and_offset_are_whole_numbers_within_bounds(patient_client, query, ok):
    response = patient_client.get(f"/api/v1/logs/?{query}")
    assert response.status_code == (200 if ok else 400)
    if not ok:
        assert set(response.json()) <= {"limit", "offset"}


def test_the_schema_states_the_bounds_the_server_keeps(patient_client, client):
    schema = client.get("/api/schema/?format=json").json()
    parameters = schema["paths"]["/api/v1/logs/"]["get"]["parameters"]
    for parameter in (p for p in parameters if p["name"] in {"limit", "offset"}):
        name, low, high = (
            parameter["name"],
            parameter["schema"]["minimum"],
            parameter["schema"]["maximum"],
        )
        for value, answer in [(low, 200), (high, 200), (low - 1, 400), (high + 1, 400)]:
            assert patient_client.get(f"/api/v1/logs/?{name}={value}").status_code == answer


def test_the_injections_list_honours_from_and_to(patient_client, patient):
    for days in [1, 20, 40]:
        factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=days))
    since, until = TODAY - dt.timedelta(days=30), TODAY - dt.timedelta(days=10)
    response = patient_client.get(f"/api/v1/injections/?from={since}&to={until}")
    assert [row["date"] for row in response.json()["results"]] == [
        str(TODAY - dt.timedelta(days=20))
    ]
    assert patient_client.get("/api/v1/injections/?to=yesterday").status_code == 400


def api_injection(count: int) -> dict:
    site = {"muscle": "trapezius", "side": "left", "units": "1"}
    return {
        "id": str(uuid.uuid4()),
        "date": str(TODAY),
        "product": "botox",
        "sites": [site] * count,
    }


def form_injection(count: int) -> dict:
    data = {
        "date": str(TODAY),
        "product": "botox",
        "sites-TOTAL_FORMS": str(count),
        "sites-INITIAL_FORMS": "0",
        "sites-MIN_NUM_FORMS": "0",
        "sites-MAX_NUM_FORMS": str(MAX_SITES),
    }
    for n in range(count):
        data |= {
            f"sites-{n}-muscle": "trapezius",
            f"sites-{n}-side": "left",
            f"sites-{n}-units": "1",
        }
    return data


def test_an_injection_takes_at_most_50_sites_through_the_api(patient_client):
    assert MAX_SITES == 50
    url = "/api/v1/injections/"
    assert patient_client.post(url, api_injection(MAX_SITES), format="json").status_code == 201
    response = patient_client.post(url, api_injection(MAX_SITES + 1), format="json")
    assert response.status_code == 400
    assert response.json() == {"sites": {"non_field_errors": [TOO_MANY_SITES]}}
    assert Injection.objects.get().sites.count() == MAX_SITES


def test_an_injection_takes_at_most_50_sites_on_its_page(web):
    url = reverse("injection_new")
    assert web.post(url, form_injection(MAX_SITES)).status_code == 302
    refused = web.post(url, form_injection(MAX_SITES + 1))
    assert refused.status_code == 200  # the form, shown again with why
    assert refused.context["sites"].non_form_errors() == [TOO_MANY_SITES]
    assert TOO_MANY_SITES in refused.content.decode()
    assert Injection.objects.get().sites.count() == MAX_SITES


WRITES_WITH_A_BODY = [
    ("post", "/api/v1/sync/"),
    ("post", "/api/v1/injections/"),
    ("post", "/api/v1/reactions/"),
    ("put", "/api/v1/injections/{injection}/"),
    ("patch", "/api/v1/injections/{injection}/"),
    ("put", "/api/v1/reactions/{reaction}/"),
    ("patch", "/api/v1/reactions/{reaction}/"),
    ("put", f"/api/v1/logs/{TODAY}/"),
    ("post", "/api/v1/push-subscriptions/"),
]


@pytest.mark.parametrize(("method", "route"), WRITES_WITH_A_BODY)
def test_every_write_with_a_body_answers_413_in_json_past_the_size_limit(
    patient_client, patient, settings, method, route
):
    records = {
        "injection": factories.InjectionFactory(patient=patient).pk,
        "reaction": factories.ReactionFactory(patient=patient).pk,
    }
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    body = json.dumps({"note": "x" * 2_000})
    send = getattr(patient_client, method)
    response = send(route.format(**records), body, content_type="application/json")
    assert response.status_code == 413
    assert set(response.json()) == {"detail", "max_bytes", "max_items"}


def test_the_schema_lists_413_for_exactly_the_writes_above(client):
    schema = client.get("/api/schema/?format=json").json()
    with_body = {
        (method, route)
        for route, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }
    documented = {
        (method, route)
        for route, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "413" in operation["responses"]
    }
    assert with_body == documented
    assert len(with_body) == len(WRITES_WITH_A_BODY)


@pytest.mark.parametrize(
    "query",
    ["from=", "to=", "from=&to=2026-01-01", "open=", "open=yes", "open=1", "open=True"],
)
def test_a_filter_given_empty_or_unreadable_is_a_400_not_ignored(patient_client, query):
    response = patient_client.get(f"/api/v1/reactions/?{query}")
    assert response.status_code == 400
    assert set(response.json()) <= {"from", "to", "open"}


def test_a_base_version_past_any_version_is_a_400_not_a_409(patient_client):
    url = f"/api/v1/logs/{TODAY}/"
    response = patient_client.put(url, {"severity": 3, "base_version": 2**70}, format="json")
    assert response.status_code == 400
    assert "base_version" in response.json()


# JSON may escape half of a character (\ud800 to \udfff) without its other half: text no UTF-8
# holds. An answer that says it back (an unknown choice, a sync item's key) could not be sent.
HALF = "a\\ud800b"  # as it stands in the body: a backslash escape, not a character


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/reactions/", '{"kind": "' + HALF + '", "severity": "mild"}', "kind"),
        ("/api/v1/injections/", '{"product": "' + HALF + '", "date": "2026-06-01"}', "product"),
    ],
)
def test_half_a_character_in_a_field_is_a_400_for_that_field(patient_client, url, body, field):
    response = patient_client.post(url, body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    assert "\\ud800" in response.content.decode()  # said back as JSON's escape


@pytest.mark.parametrize(
    "item",
    [
        '{"type": "' + HALF + '", "key": "k"}',
        '{"type": "log", "key": "' + HALF + '", "data": {}}',
        '{"type": "log", "key": "2026-06-01", "data": {"severity": 3, "note": "' + HALF + '"}}',
    ],
)
def test_half_a_character_in_a_sync_item_refuses_that_item_alone(patient_client, item):
    body = '{"items": [' + ", ".join([json.dumps(log_item(1)), item, json.dumps(log_item(2))])
    response = patient_client.post(SYNC, body + "]}", content_type="application/json")
    assert response.status_code == 200
    assert [result["status"] for result in response.json()["results"]] == [201, 400, 201]
    assert DailyLog.objects.count() == 2


def test_a_character_escaped_as_both_its_halves_is_saved(patient_client):
    body = '{"severity": 3, "note": "\\ud83d\\udc89 and \\\\ud800 as text"}'
    response = patient_client.put(f"/api/v1/logs/{TODAY}/", body, content_type="application/json")
    assert response.status_code == 201
    assert DailyLog.objects.get().note == "\U0001f489 and \\ud800 as text"
