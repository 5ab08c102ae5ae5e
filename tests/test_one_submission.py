"""One reaction submission is one set of records: the checklist's client id makes sending it
again, or twice at once, or by the offline outbox and the form both, save each tick once."""

import contextlib
import threading
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.conftest import TODAY
from tracker.forms import reaction_id
from tracker.models import Reaction

pytestmark = pytest.mark.usefixtures("frozen_now")


def checklist(client_id: uuid.UUID, kinds: list[str]) -> dict:
    return {
        "_outbox_type": "reactions",
        "_outbox_key": str(client_id),
        "kinds": kinds,
        "severity": "mild",
        "onset_date": TODAY.isoformat(),
    }


def outbox_items(client_id: uuid.UUID, kinds: list[str]) -> list[dict]:
    """What static/js/outbox.js sends for the same form kept offline."""
    return [
        {
            "type": "reaction",
            "op": "put",
            "key": str(reaction_id(client_id, index)),
            "base_version": 0,
            "data": {
                "kind": kind,
                "severity": "mild",
                "onset_date": TODAY.isoformat(),
                "resolved_date": None,
                "injection": None,
                "pain_reliever": "",
                "pain_reliever_dose": "",
                "note": "",
            },
        }
        for index, kind in enumerate(kinds)
    ]


@pytest.mark.parametrize("form_first", [True, False], ids=["form-then-outbox", "outbox-then-form"])
def test_the_form_and_the_outbox_sending_the_same_ticks_save_them_once(web, form_first):
    client_id, kinds = uuid.uuid4(), ["headache", "tiredness"]

    def send_form():
        assert web.post(reverse("reaction_new"), checklist(client_id, kinds)).status_code == 302

    def send_outbox():
        body = {"items": outbox_items(client_id, kinds)}
        response = web.post(reverse("api:sync"), body, content_type="application/json")
        assert {r["status"] for r in response.json()["results"]} <= {200, 201}

    for send in [send_form, send_outbox] if form_first else [send_outbox, send_form]:
        send()
    assert sorted(Reaction.objects.values_list("kind", flat=True)) == kinds


def test_the_same_form_sent_again_with_other_ticks_loses_neither(web):
    client_id = uuid.uuid4()
    web.post(reverse("reaction_new"), checklist(client_id, ["tiredness"]))
    web.post(reverse("reaction_new"), checklist(client_id, ["headache"]))
    assert sorted(Reaction.objects.values_list("kind", flat=True)) == ["headache", "tiredness"]


@pytest.mark.django_db(transaction=True)
def test_a_double_tap_sending_the_form_twice_at_once_saves_one_set(patient, monkeypatch):
    """Before: on PostgreSQL the second copy waited for the first on the primary key, then
    failed with an IntegrityError, a 500 page, after which the patient filled in the form
    again: two reaction cards."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: the second copy sees the first saved")
    both_looked = threading.Barrier(2, timeout=5)
    save = Reaction.save

    def save_once_both_have_looked(self, *args, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            both_looked.wait()  # each copy found no reaction with its id, then inserts
        return save(self, *args, **kwargs)

    monkeypatch.setattr(Reaction, "save", save_once_both_have_looked)
    form = checklist(uuid.uuid4(), ["headache"])
    statuses = []

    def send() -> None:
        browser = Client(raise_request_exception=False)
        browser.force_login(patient.user)
        try:
            statuses.append(browser.post(reverse("reaction_new"), form).status_code)
        finally:
            connection.close()

    copies = [threading.Thread(target=send) for _ in range(2)]
    for copy in copies:
        copy.start()
    for copy in copies:
        copy.join(20)

    assert statuses == [302, 302]
    assert list(Reaction.objects.values_list("kind", flat=True)) == ["headache"]
