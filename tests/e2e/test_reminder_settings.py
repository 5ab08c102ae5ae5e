import json

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.e2e.conftest import wait_until
from tests.e2e.test_accessibility import assert_accessible


def test_the_reminder_settings_are_accessible_and_save_with_one_tap_each(
    patient_page: Page, live_server, settings, patient
):
    settings.WEBPUSH_VAPID_PRIVATE_KEY = "private"
    settings.WEBPUSH_VAPID_PUBLIC_KEY = "BPublic-key"
    settings.WEBPUSH_VAPID_SUBJECT = "mailto:clinic@example.com"
    page = patient_page
    page.goto(f"{live_server.url}/settings/")
    expect(page.get_by_role("heading", name="Notifications on this phone")).to_be_visible()

    assert_accessible(page)

    page.get_by_label("Remind me every day at").select_option("07:30")
    page.get_by_role("radio", name="Off").check()
    page.get_by_role("button", name="Save reminder").click()

    expect(page.get_by_text("Saved: a reminder every day at 07:30, not by email.")).to_be_visible()
    patient.refresh_from_db()
    assert (f"{patient.reminder_time:%H:%M}", patient.reminder_email) == ("07:30", False)


def deliver_push(page: Page, live_server, message: dict) -> list[dict]:
    """`message` pushed to the page's service worker, as a push service delivers it; the
    notifications it then shows."""
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    session = page.context.new_cdp_session(page)
    registrations = []
    session.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    session.send("ServiceWorker.enable")
    page.wait_for_timeout(500)  # the registrations are reported as enabling finishes
    [registration] = [r for r in registrations if not r["isDeleted"]]
    session.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": live_server.url,
            "registrationId": registration["registrationId"],
            "data": json.dumps(message),
        },
    )
    body = json.dumps(message["body"])
    shown = "(await (await navigator.serviceWorker.ready).getNotifications())"
    wait_until(page, f"{shown}.some((notification) => notification.body === {body})")
    return page.evaluate(
        """navigator.serviceWorker.ready
            .then((registration) => registration.getNotifications())
            .then((all) => all.map((n) => ({
                title: n.title, body: n.body, url: n.data.url, tag: n.tag, renotify: n.renotify,
            })))"""
    )


def test_the_service_worker_shows_a_pushed_reminder(patient_page: Page, live_server):
    message = {"title": "Relief Tracker: today's check-in", "body": "Day 3", "url": "/today/"}
    shown = deliver_push(patient_page, live_server, message)
    assert shown == [
        {
            "title": message["title"],
            "body": "Day 3",
            "url": "/today/",
            "tag": "check-in",
            "renotify": True,
        }
    ]


@pytest.fixture
def clinician_page(page: Page, live_server, clinician) -> Page:
    """The clinician's list of patients, logged in by their session's cookie."""
    client = Client()
    client.force_login(clinician)
    cookie = {"name": "sessionid", "value": client.cookies["sessionid"].value}
    page.context.add_cookies([{**cookie, "url": live_server.url}])
    page.goto(live_server.url + reverse("clinic"))
    page.wait_for_load_state()  # app.js, which registers the service worker, is deferred
    return page


def test_the_service_worker_shows_a_clinicians_red_flag_alert(clinician_page: Page, live_server):
    message = {
        "title": "Relief Tracker: a patient you follow logged a warning sign",
        "body": "Open your clinic list to see who.",
        "url": "/clinic/",
        "tag": "red-flag",
    }
    assert deliver_push(clinician_page, live_server, message) == [{**message, "renotify": True}]
    # A second alert replaces the first, and sounds again (renotify).
    second = {**message, "body": "A second one."}
    assert deliver_push(clinician_page, live_server, second) == [{**second, "renotify": True}]
