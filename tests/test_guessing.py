"""Guessing: wrong share codes are limited per person and per address; and every "not yours" is
answered exactly as "not there", on pages and in the API, so that no answer tells whether a
record, a patient or an invitation exists."""

import datetime as dt
import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tests.conftest import client_for
from tracker.models import Invitation

CODE = "ABCD-EFGH"


@pytest.fixture
def coded_clinician(db):
    clinician = factories.ClinicianFactory(username="dr-code", first_name="Ana", last_name="Jones")
    clinician.share_code = CODE.replace("-", "")
    clinician.save(update_fields=["share_code"])
    return clinician


def look_up(client, code: str, address: str = "192.0.2.1", method: str = "get"):
    send = client.post if method == "post" else client.get
    return send(reverse("share_code"), {"code": code}, REMOTE_ADDR=address)


# Wrong share codes: at most the rate per person and per address.


def test_wrong_share_codes_beyond_the_rate_are_refused_with_when_to_try_again(
    rates, patient, coded_clinician, logged_in, frozen_now
):
    rates(share_code="3/hour")
    client = logged_in(patient.user)
    for guess in ["AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC"]:
        answer = look_up(client, guess)
        assert answer.status_code == 200
        assert "No clinician has this code" in answer.content.decode()
    refused = look_up(client, CODE)  # even the right one, until the hour is over
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    assert "Too many wrong codes. Try again in 60 minutes." in refused.content.decode()
    assert look_up(client, CODE, method="post").status_code == 429
    assert not patient.shares.exists()
    frozen_now.shift(dt.timedelta(hours=1, seconds=1))
    answer = look_up(client, CODE)
    assert answer.status_code == 200
    assert "Ana Jones" in answer.content.decode()


def test_right_codes_and_empty_ones_are_not_counted(
    rates, patient, coded_clinician, logged_in, frozen_now
):
    rates(share_code="2/hour")
    client = logged_in(patient.user)
    for _ in range(5):
        assert look_up(client, CODE).status_code == 200
        assert look_up(client, "").status_code == 200
    assert look_up(client, CODE, method="post").status_code == 302


def test_a_wrong_code_sent_to_share_counts_too(rates, patient, coded_clinician, logged_in):
    rates(share_code="1/hour")
    client = logged_in(patient.user)
    assert look_up(client, "AAAA-AAAA", method="post").status_code == 200
    assert look_up(client, CODE, method="post").status_code == 429


def test_the_limit_is_per_person(rates, patient, other_patient, coded_clinician, logged_in):
    rates(share_code="2/hour")
    guesser = logged_in(patient.user)
    for guess in ["AAAA-AAAA", "BBBB-BBBB"]:
        look_up(guesser, guess, address="192.0.2.1")
    assert look_up(guesser, CODE, address="198.51.100.9").status_code == 429  # wherever from
    assert look_up(logged_in(other_patient.user), CODE).status_code == 200


def test_the_limit_is_per_address_too(rates, coded_clinician, logged_in):
    rates(share_code_address="3/hour")
    shared = "203.0.113.50"  # a clinic's waiting room
    people = [factories.PatientFactory(user__username=f"p{n}").user for n in range(4)]
    for person in people[:3]:
        assert look_up(logged_in(person), "AAAA-AAAA", address=shared).status_code == 200
    assert look_up(logged_in(people[3]), CODE, address=shared).status_code == 429
    assert look_up(logged_in(people[3]), CODE, address="198.51.100.9").status_code == 200


# "Not yours" answers exactly as "not there".


def same(first, second, *, mine: str, nothing: str) -> None:
    """The two answers are one: status, content type and body (with the two ids, which the
    asker sent, made alike)."""
    assert first.status_code == second.status_code
    assert first.get("Content-Type") == second.get("Content-Type")
    assert first.get("Location") == second.get("Location")
    assert without_tokens(first, mine) == without_tokens(second, nothing)


def without_tokens(response, sent: str) -> str:
    body = response.content.decode()
    if len(sent) >= 8:  # a uuid, a token or an endpoint; not a short number found anywhere
        body = body.replace(sent, "<sent>")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)


@pytest.fixture
def others(other_patient, clinician, stranger_clinician):
    """Another patient's records, share and subscription, and another clinician's invitation."""
    injection = factories.InjectionFactory(patient=other_patient)
    factories.InjectionSiteFactory(injection=injection, muscle="splenius_capitis", units=50)
    return {
        "injection": injection,
        "reaction": factories.ReactionFactory(patient=other_patient),
        "share": factories.ShareFactory(patient=other_patient, clinician=clinician),
        "endpoint": other_patient.user.push_subscriptions.create(
            endpoint="https://fcm.googleapis.com/fcm/send/theirs", p256dh="key", auth="secret"
        ).endpoint,
        "invitation": Invitation.issue(clinician),
        "patient": other_patient,
    }


INJECTION = {
    "date": "2026-06-01",
    "product": "botox",
    "total_units": "100",
    "sites": [{"muscle": "splenius_capitis", "side": "left", "units": "100"}],
}
API = [
    ("get", "api:injection-detail", None),
    ("put", "api:injection-detail", INJECTION),
    ("patch", "api:injection-detail", {"injector": "Dr Who"}),
    ("delete", "api:injection-detail", None),
    ("get", "api:reaction-detail", None),
    ("put", "api:reaction-detail", {"kind": "site_pain", "onset_date": "2026-06-01"}),
    ("patch", "api:reaction-detail", {"severity": "severe"}),
    ("delete", "api:reaction-detail", None),
]


@pytest.mark.parametrize(("method", "name", "body"), API, ids=[f"{m} {n}" for m, n, _ in API])
def test_the_api_answers_another_patients_record_as_one_that_does_not_exist(
    patient, others, frozen_now, method, name, body
):
    theirs = others[name.split(":")[1].split("-")[0]].pk
    nobody = uuid.uuid4()
    client = client_for(patient.user)
    ask = getattr(client, method)
    first = ask(reverse(name, args=[theirs]), body, format="json")
    second = ask(reverse(name, args=[nobody]), body, format="json")
    assert first.status_code == 404
    same(first, second, mine=str(theirs), nothing=str(nobody))


def test_deleting_another_patients_push_subscription_answers_as_one_that_does_not_exist(
    patient, others
):
    client = client_for(patient.user)
    url = reverse("api:push-subscriptions")
    unknown = "https://fcm.googleapis.com/fcm/send/nobodys"
    first = client.delete(f"{url}?endpoint={others['endpoint']}")
    second = client.delete(f"{url}?endpoint={unknown}")
    assert first.status_code == 404
    same(first, second, mine=others["endpoint"], nothing=unknown)
    assert others["patient"].user.push_subscriptions.exists()


def test_sync_deletes_another_patients_record_as_one_that_does_not_exist(patient, others):
    client = client_for(patient.user)
    theirs, nobody = str(others["injection"].pk), str(uuid.uuid4())
    items = [{"type": "injection", "op": "delete", "key": key} for key in (theirs, nobody)]
    answer = client.post(reverse("api:sync"), {"items": items}, format="json").json()
    first, second = answer["results"]
    assert first | {"index": 0, "key": ""} == second | {"index": 0, "key": ""}
    assert others["patient"].injections.exists()


PAGES = [
    ("get", "injection_detail", "injection"),
    ("get", "injection_edit", "injection"),
    ("post", "injection_edit", "injection"),
    ("get", "injection_delete", "injection"),
    ("post", "injection_delete", "injection"),
    ("get", "reaction_edit", "reaction"),
    ("post", "reaction_edit", "reaction"),
    ("post", "reaction_resolve", "reaction"),
    ("get", "reaction_delete", "reaction"),
    ("post", "reaction_delete", "reaction"),
]


@pytest.mark.parametrize(("method", "name", "kind"), PAGES, ids=[f"{m} {n}" for m, n, _ in PAGES])
def test_a_page_answers_another_patients_record_as_one_that_does_not_exist(
    patient, others, logged_in, method, name, kind
):
    theirs, nobody = others[kind].pk, uuid.uuid4()
    client = logged_in(patient.user)
    ask = getattr(client, method)
    first, second = ask(reverse(name, args=[theirs])), ask(reverse(name, args=[nobody]))
    assert first.status_code == 404
    same(first, second, mine=str(theirs), nothing=str(nobody))


def test_stopping_another_patients_share_answers_as_one_that_does_not_exist(
    patient, others, logged_in
):
    client = logged_in(patient.user)
    theirs, nobody = others["share"].pk, others["share"].pk + 1000
    first = client.post(reverse("share_revoke", args=[theirs]))
    second = client.post(reverse("share_revoke", args=[nobody]))
    assert first.status_code == 404
    same(first, second, mine=str(theirs), nothing=str(nobody))
    assert others["share"].revoked_at is None


CLINIC = [
    "clinic_report",
    "clinic_summary",
    "clinic_summary_pdf",
    "clinic_export_csv",
    "clinic_export_fhir",
    "clinic_injection_new",
]


@pytest.mark.parametrize("name", CLINIC)
def test_the_clinic_answers_a_patient_not_shared_as_one_that_does_not_exist(
    others, stranger_clinician, logged_in, name
):
    client = logged_in(stranger_clinician)
    theirs, nobody = others["patient"].pk, others["patient"].pk + 1000
    first, second = (
        client.get(reverse(name, args=[theirs])),
        client.get(reverse(name, args=[nobody])),
    )
    assert first.status_code == 404
    same(first, second, mine=str(theirs), nothing=str(nobody))


def test_another_clinicians_invitation_answers_as_one_that_does_not_exist(
    others, stranger_clinician, logged_in
):
    client = logged_in(stranger_clinician)
    theirs, nobody = others["invitation"].pk, others["invitation"].pk + 1000
    first = client.get(reverse("clinic_invitation", args=[theirs]))
    second = client.get(reverse("clinic_invitation", args=[nobody]))
    assert first.status_code == 404
    same(first, second, mine=str(theirs), nothing=str(nobody))


@pytest.fixture
def unusable_tokens(clinician, other_patient, frozen_now) -> dict[str, str]:
    """An invitation link's token: never issued, used up, expired, and still open."""
    used = Invitation.issue(clinician)
    used.accept(other_patient)
    expired = Invitation.issue(clinician)
    expired.expires_at = timezone.now() - dt.timedelta(days=1)
    expired.save(update_fields=["expires_at"])
    return {
        "unknown": "x" * len(used.token),
        "used": used.token,
        "expired": expired.token,
    }


@pytest.mark.parametrize("persona", ["anonymous", "patient", "clinician"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_invitation_link_unknown_used_or_expired_answers_the_same(
    unusable_tokens, patient, stranger_clinician, logged_in, persona, method
):
    user = {"anonymous": None, "patient": patient.user, "clinician": stranger_clinician}[persona]
    client = logged_in(user) if user else Client()
    answers = {
        name: getattr(client, method)(reverse("share_accept", args=[token]))
        for name, token in unusable_tokens.items()
    }
    unknown = answers.pop("unknown")
    assert unknown.status_code == 404
    for name, answer in answers.items():
        same(answer, unknown, mine=unusable_tokens[name], nothing=unusable_tokens["unknown"])


def test_to_a_clinician_an_open_invitation_link_answers_as_an_unknown_one(
    clinician, stranger_clinician, logged_in
):
    client = logged_in(stranger_clinician)
    open_token = Invitation.issue(clinician).token
    unknown = "x" * len(open_token)
    first = client.get(reverse("share_accept", args=[open_token]))
    second = client.get(reverse("share_accept", args=[unknown]))
    assert first.status_code == 404
    same(first, second, mine=open_token, nothing=unknown)
