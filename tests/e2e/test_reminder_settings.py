import json

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


def test_the_service_worker_shows_a_pushed_reminder(patient_page: Page, live_server):
    page = patient_page
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
    message = {"title": "Relief Tracker: today's check-in", "body": "Day 3", "url": "/today/"}
    session.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": live_server.url,
            "registrationId": registration["registrationId"],
            "data": json.dumps(message),
        },
    )
    wait_until(page, "(await (await navigator.serviceWorker.ready).getNotifications()).length")
    shown = page.evaluate(
        """navigator.serviceWorker.ready
            .then((registration) => registration.getNotifications())
            .then((all) => all.map((n) => ({ title: n.title, body: n.body, url: n.data.url })))"""
    )
    assert shown == [{"title": message["title"], "body": "Day 3", "url": "/today/"}]
