import datetime as dt
import uuid
from types import SimpleNamespace

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests import factories
from tests.conftest import TODAY
from tracker.models import DailyLog, Injection, InjectionSite, Reaction

SECRET = "owner-only-note-5b1e"
DAY = TODAY.isoformat()
YESTERDAY = TODAY - dt.timedelta(days=1)
TOMORROW = TODAY + dt.timedelta(days=1)


def log_url(day: dt.date | str) -> str:
    return reverse("api:log-detail", kwargs={"date": str(day)})


def injection_url(pk: uuid.UUID) -> str:
    return reverse("api:injection-detail", kwargs={"pk": pk})


def reaction_url(pk: uuid.UUID) -> str:
    return reverse("api:reaction-detail", kwargs={"pk": pk})


INJECTIONS = reverse("api:injection-list")
REACTIONS = reverse("api:reaction-list")
LOGS = reverse("api:log-list")


def shot_body(**changes) -> dict:
    body = {
        "date": str(TODAY - dt.timedelta(days=2)),
        "product": "botox",
        "sites": [
            {"muscle": "sternocleidomastoid", "side": "left", "units": "60"},
            {"muscle": "trapezius", "side": "right", "units": "40"},
        ],
    }
    return {**body, **changes}


def reaction_body(**changes) -> dict:
    body = {"kind": "site_pain", "severity": "mild", "onset_date": str(YESTERDAY)}
    return {**body, **changes}


def assert_field_error_and_nothing_saved(response, field: str, model) -> None:
    assert response.status_code == 400
    assert field in response.json()
    assert not model.objects.exists()


@pytest.fixture
def diary(patient, injection, frozen_now):
    """One of each record, every one carrying a note only its owner may see."""
    Injection.objects.filter(pk=injection.pk).update(notes=SECRET)  # leaves version 1
    return SimpleNamespace(
        log=factories.DailyLogFactory(patient=patient, date=TODAY, note=SECRET),
        injection=injection,
        reaction=factories.ReactionFactory(
            patient=patient, injection=injection, onset_date=YESTERDAY, note=SECRET
        ),
    )


# Access: every route for the owner, other patient, clinician with a share, anonymous.

LIST_ROUTES = [
    ("get", lambda d: LOGS, None),
    ("get", lambda d: INJECTIONS, None),
    ("get", lambda d: REACTIONS, None),
]
CREATE_ROUTES = [
    ("post", lambda d: INJECTIONS, shot_body),
    ("post", lambda d: REACTIONS, reaction_body),
]
LOG_PUT = ("put", lambda d: log_url(d.log.date), lambda: {"severity": 1})
DETAIL_ROUTES = [
    ("get", lambda d: log_url(d.log.date), None),
    LOG_PUT,
    ("delete", lambda d: log_url(d.log.date), None),
    ("get", lambda d: injection_url(d.injection.pk), None),
    ("put", lambda d: injection_url(d.injection.pk), shot_body),
    ("patch", lambda d: injection_url(d.injection.pk), lambda: {"injector": "Dr X"}),
    ("delete", lambda d: injection_url(d.injection.pk), None),
    ("get", lambda d: reaction_url(d.reaction.pk), None),
    ("put", lambda d: reaction_url(d.reaction.pk), reaction_body),
    ("patch", lambda d: reaction_url(d.reaction.pk), lambda: {"severity": "severe"}),
    ("delete", lambda d: reaction_url(d.reaction.pk), None),
]
ALL_ROUTES = LIST_ROUTES + CREATE_ROUTES + DETAIL_ROUTES


def call(client: APIClient, route, diary):
    method, url, body = route
    return getattr(client, method)(url(diary), body() if body else None, format="json")


def versions(diary) -> list[int]:
    return [
        DailyLog.objects.get(pk=diary.log.pk).version,
        Injection.objects.get(pk=diary.injection.pk).version,
        Reaction.objects.get(pk=diary.reaction.pk).version,
    ]


@pytest.mark.parametrize("route", ALL_ROUTES)
def test_owner_can_use_every_route(patient_client, diary, route):
    response = call(patient_client, route, diary)
    assert response.status_code in {200, 201, 204}
    if route[0] == "get":
        assert SECRET in response.content.decode()


@pytest.mark.parametrize("route", [route for route in DETAIL_ROUTES if route is not LOG_PUT])
def test_other_patient_gets_404_for_every_record_of_someone_else(other_client, diary, route):
    response = call(other_client, route, diary)
    assert response.status_code == 404
    assert SECRET not in response.content.decode()
    assert versions(diary) == [1, 1, 1]


def test_other_patient_putting_the_same_date_writes_only_their_own_log(
    other_client, other_patient, diary
):
    response = call(other_client, LOG_PUT, diary)
    assert response.status_code == 201
    assert SECRET not in response.content.decode()
    assert DailyLog.objects.get(patient=other_patient).severity == 1
    assert versions(diary) == [1, 1, 1]


@pytest.mark.parametrize("route", LIST_ROUTES)
def test_other_patient_lists_only_their_own_records(other_client, diary, route):
    response = call(other_client, route, diary)
    assert response.status_code == 200
    assert response.json()["count"] == 0
    assert SECRET not in response.content.decode()


@pytest.mark.parametrize("route", ALL_ROUTES)
def test_clinician_with_a_share_gets_404_from_the_patients_own_diary_api(
    clinician_client, diary, route
):
    response = call(clinician_client, route, diary)
    assert response.status_code == 404
    assert SECRET not in response.content.decode()
    assert versions(diary) == [1, 1, 1]
    assert (Injection.objects.count(), Reaction.objects.count()) == (1, 1)


@pytest.mark.parametrize("route", ALL_ROUTES)
def test_anonymous_is_refused_every_route(anon_client, diary, route):
    response = call(anon_client, route, diary)
    assert response.status_code in {401, 403}
    assert SECRET not in response.content.decode()
    assert versions(diary) == [1, 1, 1]


def test_owner_is_set_from_the_session_not_from_the_body(
    patient_client, patient, other_patient, frozen_now
):
    response = patient_client.post(INJECTIONS, shot_body(patient=other_patient.pk), format="json")
    assert response.status_code == 201
    assert Injection.objects.get().patient == patient


def test_writes_with_a_session_need_a_csrf_token(patient, frozen_now):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(patient.user)
    assert client.put(log_url(TODAY), {"severity": 3}, format="json").status_code == 403
    assert client.post(REACTIONS, reaction_body(), format="json").status_code == 403
    assert not DailyLog.objects.exists() and not Reaction.objects.exists()

    token = "a" * 32
    client.cookies["csrftoken"] = token
    response = client.put(log_url(TODAY), {"severity": 3}, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201


def test_malformed_json_is_a_400(patient_client, frozen_now):
    for method, url in [("put", log_url(TODAY)), ("post", INJECTIONS), ("post", REACTIONS)]:
        response = getattr(patient_client, method)(
            url, '{"severity": 3,', content_type="application/json"
        )
        assert response.status_code == 400
        assert "detail" in response.json()


@pytest.mark.parametrize("body", [None, [], "text", 5])
def test_a_body_that_is_not_an_object_is_a_400(patient_client, frozen_now, body):
    for method, url in [("put", log_url(TODAY)), ("post", INJECTIONS), ("post", REACTIONS)]:
        response = getattr(patient_client, method)(url, body, format="json")
        assert response.status_code == 400


# Daily logs


def test_put_creates_a_days_log_then_replaces_it(patient_client, patient, frozen_now):
    body = {"severity": 6, "spasm_frequency": 2, "pain": 4, "note": "stiff"}
    created = patient_client.put(log_url(TODAY), body, format="json")
    assert created.status_code == 201
    assert created.json() == {
        **body,
        "date": DAY,
        "version": 1,
        "updated_at": created.json()["updated_at"],
    }

    replaced = patient_client.put(log_url(TODAY), {"severity": 3}, format="json")
    assert replaced.status_code == 200
    log = DailyLog.objects.get()
    assert (log.patient, log.severity, log.pain, log.spasm_frequency, log.note) == (
        patient,
        3,
        None,
        None,
        "",
    )
    assert replaced.json()["version"] == log.version == 2
    assert patient_client.patch(log_url(TODAY), {"severity": 1}, format="json").status_code == 405


def test_logs_are_listed_newest_first_and_filtered_by_date(patient_client, patient, frozen_now):
    for days_ago in range(5):
        factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=days_ago))

    everything = patient_client.get(LOGS).json()
    assert [log["date"] for log in everything["results"]] == [
        str(TODAY - dt.timedelta(days=n)) for n in range(5)
    ]
    assert everything["count"] == 5

    start, end = TODAY - dt.timedelta(days=3), TODAY - dt.timedelta(days=1)
    some = patient_client.get(LOGS, {"from": str(start), "to": str(end)}).json()
    assert [log["date"] for log in some["results"]] == [
        str(end),
        str(YESTERDAY - dt.timedelta(1)),
        str(start),
    ]


@pytest.mark.parametrize("param", ["from", "to"])
def test_a_malformed_date_filter_is_a_field_error(patient_client, frozen_now, param):
    response = patient_client.get(LOGS, {param: "15/06/2026"})
    assert response.status_code == 400
    assert param in response.json()


def test_a_log_is_read_and_deleted_by_its_date(patient_client, patient, frozen_now):
    factories.DailyLogFactory(patient=patient, date=YESTERDAY, severity=7)
    assert patient_client.get(log_url(YESTERDAY)).json()["severity"] == 7
    assert patient_client.delete(log_url(YESTERDAY)).status_code == 204
    assert not DailyLog.objects.exists()
    assert patient_client.get(log_url(YESTERDAY)).status_code == 404


@pytest.mark.parametrize("day", ["2026-02-30", "2026-13-01", "15-06-2026", "2026-6-1", "today"])
def test_a_malformed_or_impossible_date_is_a_400_on_every_method(patient_client, frozen_now, day):
    for method in ["get", "put", "delete"]:
        response = getattr(patient_client, method)(log_url(day), {"severity": 2}, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["date"]
    assert not DailyLog.objects.exists()


def test_a_log_for_tomorrow_is_refused(patient_client, frozen_now):
    response = patient_client.put(log_url(TOMORROW), {"severity": 2}, format="json")
    assert response.status_code == 400
    assert response.json() == {"date": ["Enter a date from 1 January 1990 to today."]}


def test_today_is_the_patients_day_in_their_own_time_zone(patient_client, patient, frozen_now):
    # Noon UTC is already tomorrow in Auckland.
    patient.time_zone = "Pacific/Auckland"
    patient.save()
    assert patient_client.put(log_url(TOMORROW), {"severity": 2}, format="json").status_code == 201


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "severity"),
        ({"severity": 11}, "severity"),
        ({"severity": -1}, "severity"),
        ({"severity": "bad"}, "severity"),
        ({"severity": 4.5}, "severity"),
        ({"severity": None}, "severity"),
        ({"severity": 4, "pain": 11}, "pain"),
        ({"severity": 4, "spasm_frequency": 5}, "spasm_frequency"),
        ({"severity": 4, "note": "x" * 2001}, "note"),
        ({"severity": 4, "note": ["x"]}, "note"),
        ({"severity": 4, "base_version": "old"}, "base_version"),
    ],
)
def test_a_bad_log_is_a_field_error(patient_client, frozen_now, body, field):
    response = patient_client.put(log_url(TODAY), body, format="json")
    assert_field_error_and_nothing_saved(response, field, DailyLog)


def test_a_log_edit_from_a_stale_version_is_a_409_with_the_server_copy(
    patient_client, patient, frozen_now
):
    log = factories.DailyLogFactory(patient=patient, date=TODAY, severity=5, note="phone")
    log.save()  # now version 2

    response = patient_client.put(log_url(TODAY), {"severity": 9, "base_version": 1}, format="json")
    assert response.status_code == 409
    assert response.json()["current"]["severity"] == 5
    assert response.json()["current"]["version"] == 2
    log.refresh_from_db()
    assert (log.severity, log.version) == (5, 2)


def test_a_log_edit_from_the_current_version_is_saved(patient_client, patient, frozen_now):
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=5)
    response = patient_client.put(log_url(TODAY), {"severity": 9, "base_version": 1}, format="json")
    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert "base_version" not in response.json()


def test_base_version_zero_overwrites_and_a_base_for_a_deleted_log_is_a_409(
    patient_client, patient, frozen_now
):
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=5, version=4)
    overwrite = patient_client.put(
        log_url(TODAY), {"severity": 1, "base_version": 0}, format="json"
    )
    assert overwrite.status_code == 200

    gone = patient_client.put(log_url(YESTERDAY), {"severity": 1, "base_version": 3}, format="json")
    assert gone.status_code == 409
    assert gone.json()["current"] is None
    assert not DailyLog.objects.filter(date=YESTERDAY).exists()


# Injections


def test_an_injection_is_created_with_its_sites_and_a_total_from_them(
    patient_client, patient, frozen_now
):
    chosen = uuid.uuid4()
    response = patient_client.post(INJECTIONS, shot_body(id=str(chosen)), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == str(chosen)
    assert body["total_units"] == "100.0"
    assert [site["muscle"] for site in body["sites"]] == ["sternocleidomastoid", "trapezius"]
    assert (body["version"], body["entered_by_clinic"]) == (1, False)
    shot = Injection.objects.get(pk=chosen)
    assert (shot.patient, shot.sites.count(), shot.entered_by) == (patient, 2, patient.user)


def test_an_injection_without_sites_needs_a_total(patient_client, frozen_now):
    response = patient_client.post(INJECTIONS, shot_body(sites=[]), format="json")
    assert response.status_code == 400
    assert "total_units" in response.json()
    assert (
        patient_client.post(
            INJECTIONS, shot_body(sites=[], total_units="50"), format="json"
        ).status_code
        == 201
    )


def test_a_retried_create_answers_200_with_the_stored_injection(patient_client, frozen_now):
    body = shot_body(id=str(uuid.uuid4()), notes="first")
    first = patient_client.post(INJECTIONS, body, format="json")
    again = patient_client.post(INJECTIONS, {**body, "notes": "second"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Injection.objects.get().notes == "first"
    assert InjectionSite.objects.count() == 2


def test_an_id_of_another_patients_injection_is_refused_without_detail(
    patient_client, other_patient, frozen_now
):
    theirs = factories.InjectionFactory(patient=other_patient, notes=SECRET, date=YESTERDAY)
    response = patient_client.post(INJECTIONS, shot_body(id=str(theirs.pk)), format="json")
    assert response.status_code == 400
    assert response.json() == {"id": ["This id is already in use."]}
    theirs.refresh_from_db()
    assert (theirs.patient, theirs.version, theirs.sites.count()) == (other_patient, 1, 0)


@pytest.mark.parametrize(
    "product, total, confirmed, ok",
    [
        ("botox", "0", False, False),
        ("botox", "-5", False, False),
        ("botox", "400", False, True),  # the label's maximum for one session
        ("botox", "400.1", False, False),  # above it: saved only when confirmed
        ("botox", "400.1", True, True),
        ("botox", "1200", True, True),  # the hard stop, three times the label's maximum
        ("botox", "1200.1", True, False),  # above it: refused as a likely typo
        ("botox", "2000", True, False),  # a 10x slip of a 200 U dose
        ("xeomin", "401", False, False),
        ("daxxify", "250", False, True),
        ("daxxify", "251", False, False),
        ("daxxify", "751", True, False),
        ("dysport", "1500", False, True),
        ("dysport", "1501", False, False),
        ("dysport", "4500", True, True),
        ("dysport", "4501", True, False),
        ("myobloc", "5000", False, True),
        ("myobloc", "5001", False, False),
        ("myobloc", "15000", True, True),
        ("myobloc", "15001", True, False),
    ],
)
def test_total_units_must_be_positive_and_within_the_products_stops(
    patient_client, frozen_now, product, total, confirmed, ok
):
    body = shot_body(product=product, total_units=total, sites=[])
    body["dose_confirmed"] = confirmed
    response = patient_client.post(INJECTIONS, body, format="json")
    assert response.status_code == (201 if ok else 400)
    if not ok:
        assert list(response.json()) == ["total_units"]
        assert not Injection.objects.exists()


@pytest.mark.parametrize("units", ["0", "-5", "2001"])
def test_each_sites_units_must_be_positive_and_within_the_maximum(
    patient_client, frozen_now, units
):
    sites = [
        {"muscle": "trapezius", "side": "left", "units": "10"},
        {"muscle": "scalenes", "side": "left", "units": units},
    ]
    response = patient_client.post(INJECTIONS, shot_body(sites=sites), format="json")
    assert response.status_code == 400
    assert response.json()["sites"][0] == {}
    assert "units" in response.json()["sites"][1]
    assert not Injection.objects.exists()


def test_sites_that_do_not_add_up_to_the_total_are_refused(patient_client, frozen_now):
    response = patient_client.post(INJECTIONS, shot_body(total_units="150"), format="json")
    assert response.status_code == 400
    assert response.json() == {
        "total_units": ["The sites add up to 100 units but the total says 150."]
    }


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"product": "snake-oil"}, "product"),
        ({"date": str(TOMORROW)}, "date"),
        ({"date": "2026-02-30"}, "date"),
        ({"date": 12345}, "date"),
        ({"total_units": "lots"}, "total_units"),
        ({"total_units": "1.25"}, "total_units"),
        ({"sites": "everywhere"}, "sites"),
        ({"sites": [{"muscle": "heart", "side": "left", "units": "10"}]}, "sites"),
        ({"sites": [{"muscle": "trapezius", "side": "up", "units": "10"}]}, "sites"),
        ({"sites": [{"muscle": "trapezius", "side": "left"}]}, "sites"),
        ({"guidance": "psychic"}, "guidance"),
        ({"id": "not-a-uuid"}, "id"),
    ],
)
def test_a_bad_injection_is_a_field_error(patient_client, frozen_now, changes, field):
    response = patient_client.post(INJECTIONS, shot_body(**changes), format="json")
    assert_field_error_and_nothing_saved(response, field, Injection)


def test_an_injection_and_its_sites_are_saved_together_or_not_at_all(
    patient_client, frozen_now, monkeypatch
):
    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(InjectionSite.objects, "bulk_create", fail)
    with pytest.raises(RuntimeError):
        patient_client.post(INJECTIONS, shot_body(), format="json")
    assert not Injection.objects.exists()


def test_put_replaces_the_sites_and_raises_the_version_once(patient_client, injection, frozen_now):
    sites = [{"muscle": "levator_scapulae", "side": "both", "units": "150"}]
    response = patient_client.put(
        injection_url(injection.pk), shot_body(sites=sites, base_version=1), format="json"
    )
    assert response.status_code == 200
    assert response.json()["sites"] == [
        {"muscle": "levator_scapulae", "side": "both", "units": "150.0"}
    ]
    assert response.json()["total_units"] == "150.0"
    injection.refresh_from_db()
    assert injection.version == response.json()["version"] == 2
    assert [site.muscle for site in injection.sites.all()] == ["levator_scapulae"]


def test_patch_of_the_sites_alone_recomputes_the_total(patient_client, injection, frozen_now):
    sites = [{"muscle": "trapezius", "side": "left", "units": "30"}]
    response = patient_client.patch(injection_url(injection.pk), {"sites": sites}, format="json")
    assert response.status_code == 200
    assert (response.json()["total_units"], response.json()["version"]) == ("30.0", 2)


def test_patch_keeps_the_sites_and_checks_a_new_total_against_them(
    patient_client, injection, frozen_now
):
    response = patient_client.patch(
        injection_url(injection.pk), {"total_units": "210"}, format="json"
    )
    assert response.status_code == 400
    assert "total_units" in response.json()
    kept = patient_client.patch(injection_url(injection.pk), {"injector": "Dr Y"}, format="json")
    assert kept.status_code == 200
    assert len(kept.json()["sites"]) == 2


def test_an_injection_edit_from_a_stale_version_is_a_409_and_changes_nothing(
    patient_client, injection, frozen_now
):
    injection.save()  # version 2
    response = patient_client.put(
        injection_url(injection.pk), shot_body(base_version=1, notes="stale"), format="json"
    )
    assert response.status_code == 409
    assert response.json()["current"]["id"] == str(injection.pk)
    assert response.json()["current"]["version"] == 2
    assert len(response.json()["current"]["sites"]) == 2
    injection.refresh_from_db()
    assert (injection.version, injection.notes, injection.sites.count()) == (2, "", 2)


def test_base_version_zero_overwrites_an_injection(patient_client, injection, frozen_now):
    injection.save()  # version 2
    response = patient_client.put(
        injection_url(injection.pk), shot_body(base_version=0, notes="mine"), format="json"
    )
    assert response.status_code == 200
    assert (response.json()["notes"], response.json()["version"]) == ("mine", 3)


def test_a_create_claiming_a_base_version_is_a_409_as_that_version_is_gone(
    patient_client, frozen_now
):
    response = patient_client.post(INJECTIONS, shot_body(base_version=2), format="json")
    assert response.status_code == 409
    assert response.json()["current"] is None
    assert not Injection.objects.exists()


def test_the_id_of_an_injection_cannot_be_changed(patient_client, injection, frozen_now):
    response = patient_client.patch(
        injection_url(injection.pk), {"id": str(uuid.uuid4())}, format="json"
    )
    assert response.status_code == 200
    assert list(Injection.objects.values_list("pk", flat=True)) == [injection.pk]


def test_deleting_an_injection_deletes_its_sites(patient_client, injection, frozen_now):
    assert patient_client.delete(injection_url(injection.pk)).status_code == 204
    assert not Injection.objects.exists() and not InjectionSite.objects.exists()


def test_a_malformed_injection_id_in_the_url_is_a_404(patient_client, frozen_now):
    assert patient_client.get(injection_url("not-a-uuid")).status_code == 404


# Reactions


def test_a_reaction_is_created_linked_to_ones_own_injection(
    patient_client, patient, injection, frozen_now
):
    body = reaction_body(kind="breathing", injection=str(injection.pk), id=str(uuid.uuid4()))
    response = patient_client.post(REACTIONS, body, format="json")
    assert response.status_code == 201
    assert response.json()["injection"] == str(injection.pk)
    assert response.json()["is_red_flag"] is True
    assert Reaction.objects.get().patient == patient


def test_another_patients_injection_is_refused_like_one_that_does_not_exist(
    patient_client, other_patient, frozen_now
):
    theirs = factories.InjectionFactory(patient=other_patient, date=YESTERDAY)
    foreign = patient_client.post(REACTIONS, reaction_body(injection=str(theirs.pk)), format="json")
    missing = patient_client.post(
        REACTIONS, reaction_body(injection=str(uuid.uuid4())), format="json"
    )
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == missing.json() == {"injection": ["Choose one of your own injections."]}
    assert not Reaction.objects.exists()


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"injection": "not-a-uuid"}, "injection"),
        ({"injection": 7}, "injection"),
        ({"kind": "hiccups"}, "kind"),
        ({"severity": "unbearable"}, "severity"),
        ({"onset_date": str(TOMORROW)}, "onset_date"),
        ({"resolved_date": str(TOMORROW)}, "resolved_date"),
        ({"resolved_date": str(YESTERDAY - dt.timedelta(days=1))}, "resolved_date"),
        ({"onset_date": None}, "onset_date"),
        ({"note": "x" * 2001}, "note"),
    ],
)
def test_a_bad_reaction_is_a_field_error(patient_client, frozen_now, changes, field):
    response = patient_client.post(REACTIONS, reaction_body(**changes), format="json")
    assert_field_error_and_nothing_saved(response, field, Reaction)


@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_injection_is_refused_not_stored_as_none(
    patient_client, patient, injection, frozen_now, empty
):
    response = patient_client.post(REACTIONS, reaction_body(injection=empty), format="json")
    assert response.status_code == 400
    assert response.json() == {
        "injection": ["Send null for no injection, or the id of one of your own injections."]
    }
    assert not Reaction.objects.exists()
    reaction = factories.ReactionFactory(patient=patient, injection=injection, onset_date=YESTERDAY)
    response = patient_client.patch(reaction_url(reaction.pk), {"injection": empty}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["injection"])
    reaction.refresh_from_db()
    assert (reaction.injection, reaction.version) == (injection, 1)
    unlinked = patient_client.patch(reaction_url(reaction.pk), {"injection": None}, format="json")
    assert (unlinked.status_code, unlinked.json()["injection"]) == (200, None)


def test_reactions_are_filtered_by_onset_date_and_by_being_open(
    patient_client, patient, frozen_now
):
    old = factories.ReactionFactory(
        patient=patient, onset_date=TODAY - dt.timedelta(days=20), resolved_date=YESTERDAY
    )
    new = factories.ReactionFactory(patient=patient, onset_date=YESTERDAY)

    def ids(params: dict) -> list[str]:
        return [r["id"] for r in patient_client.get(REACTIONS, params).json()["results"]]

    assert ids({}) == [str(new.pk), str(old.pk)]
    assert ids({"from": str(TODAY - dt.timedelta(days=5))}) == [str(new.pk)]
    assert ids({"to": str(TODAY - dt.timedelta(days=5))}) == [str(old.pk)]
    assert ids({"open": "true"}) == [str(new.pk)]
    assert ids({"open": "false"}) == [str(old.pk)]
    assert patient_client.get(REACTIONS, {"from": "yesterday"}).status_code == 400


def test_a_retried_reaction_create_answers_200_and_changes_nothing(patient_client, frozen_now):
    body = reaction_body(id=str(uuid.uuid4()))
    assert patient_client.post(REACTIONS, body, format="json").status_code == 201
    again = patient_client.post(REACTIONS, {**body, "severity": "severe"}, format="json")
    assert again.status_code == 200
    assert Reaction.objects.get().severity == "mild"


def test_resolving_a_reaction_raises_its_version(patient_client, patient, frozen_now):
    reaction = factories.ReactionFactory(patient=patient, onset_date=YESTERDAY)
    response = patient_client.patch(
        reaction_url(reaction.pk), {"resolved_date": DAY, "base_version": 1}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["resolved_date"], response.json()["version"]) == (DAY, 2)


def test_a_reaction_edit_from_a_stale_version_is_a_409_and_changes_nothing(
    patient_client, patient, frozen_now
):
    reaction = factories.ReactionFactory(patient=patient, onset_date=YESTERDAY, note="mine")
    reaction.save()
    response = patient_client.patch(
        reaction_url(reaction.pk), {"note": "stale", "base_version": 1}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["current"]["note"] == "mine"
    reaction.refresh_from_db()
    assert (reaction.note, reaction.version) == ("mine", 2)


# Query counts: the same for 1 row and for 30.


@pytest.mark.parametrize("rows", [1, 30])
def test_listing_logs_takes_a_fixed_number_of_queries(
    patient_client, patient, frozen_now, django_assert_num_queries, rows
):
    for days_ago in range(rows):
        factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=days_ago))
    # session, user with their patient record, count, page of logs
    with django_assert_num_queries(4):
        assert len(patient_client.get(LOGS).json()["results"]) == rows


@pytest.mark.parametrize("rows", [1, 30])
def test_listing_injections_takes_a_fixed_number_of_queries(
    patient_client, patient, frozen_now, django_assert_num_queries, rows
):
    for days_ago in range(rows):
        shot = factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=days_ago))
        factories.InjectionSiteFactory.create_batch(2, injection=shot)
    # session, user with their patient record, count, page of injections (+ who entered
    # them), sites
    with django_assert_num_queries(5):
        assert len(patient_client.get(INJECTIONS).json()["results"]) == rows


@pytest.mark.parametrize("rows", [1, 30])
def test_listing_reactions_takes_a_fixed_number_of_queries(
    patient_client, patient, injection, frozen_now, django_assert_num_queries, rows
):
    factories.ReactionFactory.create_batch(
        rows, patient=patient, injection=injection, onset_date=YESTERDAY
    )
    # session, user with their patient record, count, page of reactions
    with django_assert_num_queries(4):
        assert len(patient_client.get(REACTIONS).json()["results"]) == rows


# Cycles: the relief figures, computed from the same diary


CYCLES = "/api/v1/cycles/"
OVERLAY = "/api/v1/cycles/overlay/"


@pytest.fixture
def cycle_diary(patient, frozen_now):
    """Two cycles by hand: baseline 8, then 4 (50 % relief) from day 10 of the first."""
    first = factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=100))
    second = factories.InjectionFactory(
        patient=patient, date=TODAY - dt.timedelta(days=10), product="dysport", total_units=500
    )
    for n in range(1, 15):
        factories.DailyLogFactory(
            patient=patient, date=first.date - dt.timedelta(days=n), severity=8
        )
    for n in range(0, 100):
        severity = 4 if 10 <= n < 60 else 8
        factories.DailyLogFactory(
            patient=patient, date=first.date + dt.timedelta(days=n), severity=severity
        )
    return SimpleNamespace(first=first, second=second)


def test_cycles_list_the_figures_of_each_cycle(patient_client, cycle_diary):
    response = patient_client.get(CYCLES)
    assert response.status_code == 200
    first, second = response.json()
    assert first["injection_id"] == str(cycle_diary.first.pk)
    # Smoothed over days d-3..d+3: 4 of 7 days at 50 % first reach 25 % on day 10; the
    # window of day 60 holds 3 such days of 7 (21 %), the first below after the peak.
    assert (first["baseline"], first["onset_day"], first["peak_relief"]) == (8.0, 10, 50.0)
    assert (first["wearing_off_day"], first["duration_days"]) == (60, 50)
    assert first["gap_days"] == 90 - 60
    assert first["ongoing"] is False
    assert (second["product"], second["total_units"]) == ("dysport", "500.0")
    assert second["ongoing"] is True
    assert second["onset_day"] is None
    assert second["reason_code"] == "no_onset" or second["reason"]


def test_overlay_gives_the_median_band_and_each_cycles_line(patient_client, cycle_diary):
    body = patient_client.get(OVERLAY).json()
    assert body["threshold"] == 25.0
    assert body["forecast_wearing_off_day"] is None  # needs two finished cycles that wore off
    day_20 = next(day for day in body["days"] if day["day"] == 20)
    assert day_20 == {"day": 20, "median": 50.0, "p25": 50.0, "p75": 50.0, "cycle_count": 1}
    assert [cycle["ongoing"] for cycle in body["cycles"]] == [False, True]


@pytest.mark.parametrize("url", [CYCLES, OVERLAY])
def test_cycles_answer_404_to_a_clinician_and_only_own_data_to_another_patient(
    url, cycle_diary, clinician_client, other_client, anon_client
):
    assert clinician_client.get(url).status_code == 404
    theirs = other_client.get(url).json()
    assert str(cycle_diary.first.pk) not in str(theirs)
    assert anon_client.get(url).status_code in {401, 403}


@pytest.mark.parametrize("url", [CYCLES, OVERLAY])
def test_cycles_query_count_does_not_grow_with_the_data(
    url, patient, patient_client, frozen_now, django_assert_num_queries
):
    factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=5))
    # session, user with their patient record, injections, logs
    with django_assert_num_queries(4):
        patient_client.get(url)
    for n in range(1, 40):
        factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=n))
        factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=n * 9))
    with django_assert_num_queries(4):
        patient_client.get(url)


# The documented API


def test_the_openapi_schema_describes_every_route(anon_client):
    response = anon_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for route in [
        "/api/v1/logs/{date}/",
        "/api/v1/injections/",
        "/api/v1/sync/",
        "/api/v1/cycles/",
    ]:
        assert route in paths


def test_the_api_docs_load_their_assets_from_this_site(patient_client):
    html = patient_client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "<style" not in html and "<script>" not in html
    script = patient_client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "/api/schema/" in script.content.decode()
