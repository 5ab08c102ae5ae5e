import uuid

import pytest
from django.urls import reverse

from tests.conftest import TODAY
from tracker.forms import reaction_id
from tracker.models import Injection, Reaction

pytestmark = pytest.mark.usefixtures("frozen_now")


def test_the_manifest_makes_the_app_installable(client):
    response = client.get("/manifest.webmanifest")
    manifest = response.json()
    assert response["Content-Type"] == "application/manifest+json"
    assert manifest["display"] == "standalone"
    assert manifest["start_url"].startswith("/today/")
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes


def test_the_service_worker_is_served_from_the_root_for_the_whole_app(client):
    response = client.get("/sw.js")
    body = response.content.decode()
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    assert 'importScripts("/static/js/outbox.js")' in body
    patient_pages = '"patient": ["/today/", "/injections/new/", "/reactions/new/", "/offline/"]'
    assert patient_pages in body
    assert '"clinician": ["/offline/"]' in body  # no patient page prefetched for a clinician


def test_the_offline_page_needs_no_log_in(client):
    assert client.get("/offline/").status_code == 200


def test_every_page_links_the_manifest_and_the_outbox(patient_client):
    html = patient_client.get(reverse("today")).content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert 'src="/static/js/outbox.js"' in html
    assert 'name="_outbox_type" value="log"' in html


def injection_form(client_id: uuid.UUID) -> dict:
    return {
        "_outbox_key": str(client_id),
        "date": TODAY.isoformat(),
        "product": "botox",
        "total_units": "100",
        "sites-TOTAL_FORMS": "0",
        "sites-INITIAL_FORMS": "0",
    }


def test_an_injection_form_sent_twice_saves_one_injection_with_the_forms_id(web):
    client_id = uuid.uuid4()
    first = web.post(reverse("injection_new"), injection_form(client_id))
    second = web.post(reverse("injection_new"), injection_form(client_id))
    assert first.status_code == second.status_code == 302
    assert list(Injection.objects.values_list("pk", flat=True)) == [client_id]


def test_a_reaction_checklist_sent_twice_saves_each_tick_once(web):
    client_id = uuid.uuid4()
    form = {
        "_outbox_key": str(client_id),
        "kinds": ["headache", "tiredness"],
        "severity": "mild",
        "onset_date": TODAY.isoformat(),
    }
    web.post(reverse("reaction_new"), form)
    web.post(reverse("reaction_new"), form)
    ids = set(Reaction.objects.values_list("pk", flat=True))
    assert ids == {reaction_id(client_id, 0), reaction_id(client_id, 1)}


def test_reaction_ids_follow_the_outbox_rule():
    # static/js/outbox.js: base.slice(0, -2) + index as two hex digits
    base = uuid.UUID("12345678-1234-4234-8234-1234567890ab")
    assert str(reaction_id(base, 0)) == "12345678-1234-4234-8234-123456789000"
    assert str(reaction_id(base, 17)) == "12345678-1234-4234-8234-123456789011"


def test_a_form_carrying_another_patients_id_saves_under_a_new_id(web, other_patient):
    from tests import factories

    theirs = factories.InjectionFactory(patient=other_patient)
    response = web.post(reverse("injection_new"), injection_form(theirs.pk))
    assert response.status_code == 302
    assert Injection.objects.count() == 2
    assert Injection.objects.get(pk=theirs.pk).patient == other_patient
