"""A stranger's first minute and the patient's small frictions, in the browser: the landing
page says what this is in one phone screen, sign-up asks a name, and each page the patient
fixes touch (settings, sharing, history, the verification page) passes axe, with
screenshots at 360 x 640, at 200 % text and at 1,280 x 800."""

import datetime as dt
import re

from allauth.account.models import EmailAddress
from django.core import mail
from playwright.sync_api import BrowserContext, Page, expect

from tests import factories
from tests.e2e.conftest import save_injection
from tests.e2e.screens import PHONE_640, shoot
from tests.e2e.test_accessibility import assert_accessible
from tracker.models import AccessEvent, DailyLog, Share, User


def test_a_stranger_at_the_root_sees_what_it_is_in_one_phone_screen(db, page: Page, live_server):
    page.set_viewport_size(PHONE_640)
    page.goto(f"{live_server.url}/")

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("Your botulinum toxin diary")
    lead = page.locator(".landing-intro .lead")
    expect(lead).to_contain_text("treated with botulinum toxin for muscle spasm")
    expect(lead).to_contain_text("their clinics")
    sign_up = page.get_by_role("link", name="Sign up")
    sign_in = page.get_by_role("main").get_by_role("link", name="Sign in")
    privacy = page.locator(".landing-privacy")
    # All of it in the first screen, without scrolling.
    for part in [heading, lead, sign_up, sign_in, privacy]:
        box = part.bounding_box()
        assert box and box["y"] + box["height"] <= PHONE_640["height"], part
    assert sign_up.bounding_box()["height"] >= 48
    expect(page.get_by_text("Add to Home Screen", exact=True)).to_be_attached()
    expect(page.get_by_text("Install app")).to_be_attached()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_640["width"]
    assert_accessible(page)
    shoot(page, "landing")


def test_a_stranger_signs_up_with_a_name_and_can_have_the_email_sent_again(page: Page, live_server):
    page.set_viewport_size(PHONE_640)
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Sign up").click()

    page.get_by_role("button", name="Sign up").click()  # nothing typed: each field says so
    expect(page.locator("label[for=id_name] .error")).to_contain_text("Enter your name")
    assert_accessible(page)
    shoot(page, "signup-errors")

    page.get_by_label("Your name").fill("Rosa Díaz")
    page.get_by_label("Email").fill("rosa@example.com")
    page.get_by_label("Choose a password").fill("123")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("label[for=id_password1] .error")).to_contain_text("too short")
    expect(page.locator("label[for=id_email] .error")).to_have_count(0)

    page.get_by_label("Choose a password").fill("a long enough secret")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    assert User.objects.get(email="rosa@example.com").get_full_name() == "Rosa Díaz"
    assert "Hello from Relief Tracker" in mail.outbox[-1].body
    expect(page.get_by_label("Your email address")).to_have_value("rosa@example.com")
    expect(page.get_by_role("link", name="help@relief-tracker.example").first).to_be_visible()
    assert_accessible(page)
    shoot(page, "verify-email")
    page.get_by_role("button", name="Send the email again").click()
    expect(page.get_by_text("a link is on its way")).to_be_visible()


def test_the_patients_settings_ask_a_name_and_what_tells_them_apart(
    patient_page: Page, live_server, patient
):
    page = patient_page
    page.goto(f"{live_server.url}/settings/")
    expect(page.get_by_text("Shown only to the clinics you share with").first).to_be_visible()

    page.get_by_role("textbox", name="Your name").fill("Pat Smith")
    page.get_by_label("Date of birth (optional)").fill("1961-04-02")
    page.get_by_label("Your patient number at the clinic (optional)").fill("RT 4471")
    page.locator("#identity").get_by_role("button", name="Save").click()

    expect(page.locator("#identity [role=status]")).to_have_text(
        "✓ Saved: your name and your clinic's details."
    )
    patient.refresh_from_db()
    assert (str(patient.date_of_birth), patient.clinic_number) == ("1961-04-02", "RT 4471")
    channel = page.locator("[data-reminder-channels] input").first
    expect(channel).to_be_disabled()
    page.get_by_label("Remind me every day at").select_option("08:00")
    expect(channel).to_be_enabled()
    page.get_by_role("radio", name="On", exact=True).check()
    page.get_by_role("button", name="Save reminder").click()
    expect(page.locator("#reminders [role=status]")).to_have_text(
        "✓ Saved: a reminder every day at 08:00, by email."
    )
    assert_accessible(page)
    shoot(page, "settings")


def test_stopping_a_share_asks_first_and_can_be_undone(patient_page: Page, live_server, patient):
    doctor = factories.ClinicianFactory(first_name="Ana", last_name="Jones")
    factories.ShareFactory(patient=patient, clinician=doctor)
    for _ in range(3):
        AccessEvent.objects.create(patient=patient, clinician=doctor, what="page", path="/x")
    page = patient_page
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Sharing").click()
    expect(page.get_by_text("Ana Jones viewed your report 3 times")).to_be_visible()
    assert_accessible(page)
    shoot(page, "sharing")

    page.get_by_role("link", name="Stop sharing with Ana Jones").click()
    expect(page.get_by_role("heading", name="Stop sharing with Ana Jones?")).to_be_visible()
    assert Share.objects.active().filter(patient=patient).exists()
    assert_accessible(page)
    shoot(page, "sharing-stop-confirm")
    page.get_by_role("button", name="Stop sharing").click()

    expect(page.get_by_text("You stopped sharing with Ana Jones.")).to_be_visible()
    assert not Share.objects.active().filter(patient=patient).exists()
    assert_accessible(page)
    shoot(page, "sharing-stopped-undo")
    page.get_by_role("button", name="Undo: share with Ana Jones again").click()
    expect(page.get_by_text("Ana Jones can see your diary again.")).to_be_visible()
    assert Share.objects.active().get(patient=patient).clinician == doctor


def test_history_goes_to_any_month_and_badges_show_their_number(
    patient_page: Page, live_server, patient
):
    today = patient.today()
    DailyLog.objects.bulk_create(
        DailyLog(patient=patient, date=today - dt.timedelta(days=n), severity=n % 11)
        for n in range(0, 120)
    )
    page = patient_page
    page.goto(f"{live_server.url}/history/")
    badge = page.locator(".score").first
    expect(badge).to_contain_text("0")
    assert_accessible(page)
    shoot(page, "history")

    older = (today.replace(day=1) - dt.timedelta(days=40)).replace(day=1)
    page.get_by_label("Show a month").select_option(f"{older:%Y-%m}")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"History: {older:%B %Y}")
    assert re.search(rf"month={older:%Y-%m}", page.url)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    assert_accessible(page)


def test_the_offline_line_follows_the_network_at_once(context: BrowserContext, patient_page: Page):
    page = patient_page
    summary = page.locator("[data-outbox-summary]")

    context.set_offline(True)
    expect(summary).to_have_text("You're offline. What you save stays on this phone.")
    shoot(page, "offline-line")
    context.set_offline(False)
    expect(summary).to_have_text("")
    expect(page.locator("[data-outbox]")).to_be_hidden()


def test_an_unverified_address_is_not_let_in(db, page: Page, live_server):
    user = factories.UserFactory(email="wait@example.com")
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=login]").fill(user.username)
    page.locator("input[name=password]").fill("correct horse battery")
    page.locator("input[name=password]").press("Enter")
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()


def test_a_muscles_units_error_is_shown_on_that_muscle(patient_page: Page, live_server):
    page = patient_page
    page.goto(f"{live_server.url}/injections/new/")
    save_injection(page, "Botox", "5000")

    error = page.locator("label[for='id_sites-0-units'] .error")
    expect(error).to_contain_text("looks like a typo")
    expect(page.get_by_text("Please check the fields marked below.")).to_be_visible()
    assert_accessible(page)
    shoot(page, "injection-units-error")
