import datetime as dt
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from tests import factories
from tests.conftest import client_for
from tracker.api import MAX_SUBSCRIPTIONS_PER_ACCOUNT
from tracker.models import PushSubscription

URL = "/api/v1/push-subscriptions/"
ENDPOINT = "https://fcm.googleapis.com/fcm/send/pat-phone-1"


def subscription(endpoint: str = ENDPOINT, p256dh: str = "BPhone-key") -> dict:
    return {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": "phone-secret"}}


def delete_url(endpoint: str = ENDPOINT) -> str:
    return f"{URL}?{urlencode({'endpoint': endpoint})}"


@pytest.fixture
def push_keys(settings):
    settings.WEBPUSH_VAPID_PRIVATE_KEY = "private"
    settings.WEBPUSH_VAPID_PUBLIC_KEY = "BPublic-key"
    settings.WEBPUSH_VAPID_SUBJECT = "mailto:clinic@example.com"


# The settings page


def test_the_settings_page_offers_a_reminder_time_from_a_list_and_email_on_or_off(web):
    html = web.get(reverse("settings")).content.decode()
    assert 'action="/settings/reminders/"' in html
    assert '<option value="" selected>No reminder</option>' in html
    assert '<option value="19:30">19:30</option>' in html
    assert html.count("<option value=") >= 49
    assert 'name="reminder_email" value="True"' in html
    assert "To pat@example.com." in html


def test_without_vapid_keys_the_page_does_not_offer_notifications(web):
    html = web.get(reverse("settings")).content.decode()
    assert "data-push" not in html
    assert "push.js" not in html


def test_with_vapid_keys_the_page_offers_notifications_on_this_phone(web, push_keys):
    html = web.get(reverse("settings")).content.decode()
    assert 'data-vapid-key="BPublic-key"' in html
    assert f'data-push-url="{URL}"' in html
    assert 'src="/static/js/push.js"' in html
    assert "Notifications on this phone" in html
    assert 'data-push-on="On: this phone shows the daily reminder."' in html


def test_the_patient_chooses_a_time_and_turns_email_off(web, patient):
    response = web.post(
        reverse("reminder_settings"), {"reminder_time": "19:30", "reminder_email": "False"}
    )
    assert response.status_code == 302
    assert response.url == "/settings/#reminders"
    patient.refresh_from_db()
    assert (patient.reminder_time, patient.reminder_email) == (dt.time(19, 30), False)
    html = web.get(response.url).content.decode()
    assert "Saved: a reminder every day at 19:30, not by email." in html
    assert '<option value="19:30" selected>19:30</option>' in html


def test_no_reminder_turns_it_off(web, patient):
    patient.reminder_time = dt.time(8, 0)
    patient.save()
    web.post(reverse("reminder_settings"), {"reminder_time": "", "reminder_email": "True"})
    patient.refresh_from_db()
    assert patient.reminder_time is None


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"reminder_time": "19:15", "reminder_email": "True"}, "Choose a time from the list."),
        ({"reminder_time": "25:00", "reminder_email": "True"}, "Choose a time from the list."),
        ({"reminder_time": "19:00", "reminder_email": "maybe"}, "Choose On or Off."),
        ({"reminder_time": "19:00"}, "Choose On or Off."),
    ],
)
def test_bad_input_is_shown_as_a_form_error_and_nothing_changes(web, patient, data, error):
    response = web.post(reverse("reminder_settings"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Please check the fields marked below." in html
    assert error in html
    patient.refresh_from_db()
    assert (patient.reminder_time, patient.reminder_email) == (None, True)


def test_a_clinician_has_no_reminder_settings(clinician, patient):
    response = client_for(clinician).post(
        reverse("reminder_settings"), {"reminder_time": "19:00", "reminder_email": "True"}
    )
    assert response.status_code == 404


def test_anonymous_is_sent_to_log_in(anon_client):
    response = anon_client.post(reverse("reminder_settings"), {"reminder_time": "19:00"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


# The push subscription API


def test_the_patient_subscribes_this_phone(patient_client, patient):
    response = patient_client.post(URL, subscription(), format="json")
    assert response.status_code == 201
    assert response.json()["endpoint"] == ENDPOINT
    assert "keys" not in response.json()
    stored = PushSubscription.objects.get()
    assert (stored.user, stored.p256dh, stored.auth) == (patient.user, "BPhone-key", "phone-secret")


def test_subscribing_again_updates_the_keys_without_a_duplicate(patient_client):
    patient_client.post(URL, subscription(), format="json")
    PushSubscription.objects.update(failures=3)
    response = patient_client.post(URL, subscription(p256dh="BNew-key"), format="json")
    assert response.status_code == 200
    stored = PushSubscription.objects.get()
    assert (stored.p256dh, stored.failures) == ("BNew-key", 0)


def test_another_accounts_subscription_is_not_taken_over(patient_client, other_client, patient):
    patient_client.post(URL, subscription(), format="json")
    response = other_client.post(URL, subscription(p256dh="BOther"), format="json")
    assert response.status_code == 400
    assert "endpoint" in response.json()
    stored = PushSubscription.objects.get()
    assert (stored.user, stored.p256dh) == (patient.user, "BPhone-key")


def test_a_clinician_subscribes_their_own_phone_for_the_alerts(clinician_client, clinician):
    response = clinician_client.post(URL, subscription(), format="json")
    assert response.status_code == 201
    assert PushSubscription.objects.get().user == clinician


def test_a_clinician_cannot_take_over_the_patients_phone(patient_client, clinician_client, patient):
    patient_client.post(URL, subscription(), format="json")
    response = clinician_client.post(URL, subscription(p256dh="BDoctor"), format="json")
    assert response.status_code == 400
    stored = PushSubscription.objects.get()
    assert (stored.user, stored.p256dh) == (patient.user, "BPhone-key")


def test_a_clinician_turns_notifications_off_on_their_phone(clinician_client):
    clinician_client.post(URL, subscription(), format="json")
    assert clinician_client.delete(delete_url()).status_code == 204
    assert not PushSubscription.objects.exists()


def test_anonymous_gets_403(anon_client):
    assert anon_client.post(URL, subscription(), format="json").status_code == 403
    assert anon_client.delete(delete_url()).status_code == 403


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://push.example.com/send/1",  # not https
        "https://127.0.0.1/send/1",
        "https://[::1]/send/1",
        "https://localhost/send/1",
        "https://intranet/send/1",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://push.example.com/send/1",  # on the web, but no browser's push service
        "https://fcm.googleapis.com.evil.example/send/1",
        "https://evil.example/fcm.googleapis.com/send/1",
        "https://fcm.googleapis.com:8443/send/1",
        "https://user:pass@fcm.googleapis.com/send/1",
        "not a url",
        "",
    ],
)
def test_only_a_push_service_on_the_web_is_accepted(patient_client, endpoint):
    response = patient_client.post(URL, subscription(endpoint), format="json")
    assert response.status_code == 400
    assert "endpoint" in response.json()
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://web.push.apple.com/QGn-abc",
        "https://wns2-par02p.notify.windows.com/w/?token=abc",
    ],
)
def test_the_browsers_push_services_are_accepted(patient_client, endpoint):
    assert patient_client.post(URL, subscription(endpoint), format="json").status_code == 201


def test_keys_are_required(patient_client):
    response = patient_client.post(URL, {"endpoint": ENDPOINT}, format="json")
    assert response.status_code == 400
    assert "keys" in response.json()


def test_only_the_newest_phones_are_kept(patient_client, patient):
    for n in range(MAX_SUBSCRIPTIONS_PER_ACCOUNT + 2):
        patient_client.post(URL, subscription(f"{ENDPOINT}/{n}"), format="json")
    endpoints = set(patient.user.push_subscriptions.values_list("endpoint", flat=True))
    assert len(endpoints) == MAX_SUBSCRIPTIONS_PER_ACCOUNT
    assert f"{ENDPOINT}/0" not in endpoints
    assert f"{ENDPOINT}/{MAX_SUBSCRIPTIONS_PER_ACCOUNT + 1}" in endpoints


def test_the_patient_turns_notifications_off_on_this_phone(patient_client):
    patient_client.post(URL, subscription(), format="json")
    assert patient_client.delete(delete_url()).status_code == 204
    assert not PushSubscription.objects.exists()
    assert patient_client.delete(delete_url()).status_code == 404


def test_nobody_else_can_remove_the_patients_phone(
    patient_client, other_client, clinician_client, stranger_clinician
):
    patient_client.post(URL, subscription(), format="json")
    assert other_client.delete(delete_url()).status_code == 404
    assert clinician_client.delete(delete_url()).status_code == 404
    assert client_for(stranger_clinician).delete(delete_url()).status_code == 404
    assert PushSubscription.objects.count() == 1


def test_nobody_else_can_remove_the_clinicians_phone(
    clinician_client, patient_client, stranger_clinician, anon_client
):
    clinician_client.post(URL, subscription(), format="json")
    assert patient_client.delete(delete_url()).status_code == 404
    assert client_for(stranger_clinician).delete(delete_url()).status_code == 404
    assert anon_client.delete(delete_url()).status_code == 403
    assert PushSubscription.objects.count() == 1


def test_removing_needs_the_endpoint(patient_client):
    response = patient_client.delete(URL)
    assert response.status_code == 400
    assert "endpoint" in response.json()


def test_the_service_worker_shows_the_reminder_and_opens_today(client):
    body = client.get("/sw.js").content.decode()
    assert 'addEventListener("push"' in body
    assert "showNotification" in body
    assert 'addEventListener("notificationclick"' in body
    assert '"today": "/today/"' in body


def test_the_push_subscription_route_is_in_the_api_schema(client, patient):
    client.force_login(patient.user)
    schema = client.get("/api/schema/?format=json").json()
    operations = schema["paths"]["/api/v1/push-subscriptions/"]
    assert {"post", "delete"} <= set(operations)
    assert operations["delete"]["parameters"][0]["name"] == "endpoint"


def test_an_account_needs_no_patient_record_to_keep_its_phone(db):
    user = factories.UserFactory()  # not onboarded yet
    assert client_for(user).post(URL, subscription(), format="json").status_code == 201
    assert PushSubscription.objects.get().user == user


# The migration that gave each subscription to an account


BEFORE = [("tracker", "0012_clinicians_become_clinics")]


def migrate(to=None):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(to or executor.loader.graph.leaf_nodes())
    return executor.loader.project_state(to).apps if to else None


@pytest.mark.django_db(transaction=True)
def test_each_patients_phones_become_their_accounts_and_back():
    old = migrate(BEFORE)
    OldUser, OldPatient = old.get_model("tracker", "User"), old.get_model("tracker", "Patient")
    OldSubscription = old.get_model("tracker", "PushSubscription")
    for name in ("pat", "sam"):
        patient = OldPatient.objects.create(
            user=OldUser.objects.create(username=name), time_zone="Europe/London"
        )
        for phone in ("phone", "tablet"):
            OldSubscription.objects.create(
                patient=patient, endpoint=f"{ENDPOINT}/{name}-{phone}", p256dh="k", auth="a"
            )

    migrate()
    owners = PushSubscription.objects.values_list("endpoint", "user__username")
    assert sorted(owners) == [
        (f"{ENDPOINT}/pat-phone", "pat"),
        (f"{ENDPOINT}/pat-tablet", "pat"),
        (f"{ENDPOINT}/sam-phone", "sam"),
        (f"{ENDPOINT}/sam-tablet", "sam"),
    ]

    # Back again, a clinician's phone, which had no place before, goes; the patients' stay.
    clinician = factories.ClinicianFactory(username="doc", two_factor=False)
    PushSubscription.objects.create(
        user=clinician, endpoint=f"{ENDPOINT}/doc", p256dh="k", auth="a"
    )
    old = migrate(BEFORE)
    owners = old.get_model("tracker", "PushSubscription").objects.values_list(
        "endpoint", "patient__user__username"
    )
    assert sorted(owners)[0] == (f"{ENDPOINT}/pat-phone", "pat")
    assert len(owners) == 4
    migrate()
