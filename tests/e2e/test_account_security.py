"""In a phone's browser: a clinician sets up their authenticator app, and a patient deletes
their account; each page passes axe and has big enough targets."""

import re

from allauth.account.models import EmailAddress
from django.core.cache import cache
from playwright.sync_api import Page, expect

from tests import factories
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_accessibility import assert_accessible
from tracker.models import User


def test_a_clinician_sets_up_an_authenticator_app_before_the_clinic_opens(page: Page, live_server):
    cache.clear()
    doc = factories.ClinicianFactory(username="new-doc", two_factor=False)
    EmailAddress.objects.create(user=doc, email=doc.email, primary=True, verified=True)
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=login]").fill("new-doc")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password]").press("Enter")
    # The clinic sends them to the set-up, which first asks for the password again.
    expect(page.get_by_text("Set up two-factor authentication")).to_be_visible()
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password]").press("Enter")
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    assert_accessible(page)

    secret = page.locator(".totp-secret code").inner_text().strip()
    page.get_by_label("Authenticator code").fill(factories.totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    assert page.locator(".recovery-codes li").count() == 10
    assert_accessible(page)
    page.get_by_role("link", name="Done").click()
    expect(page).to_have_url(f"{live_server.url}/clinic/")


def test_a_patient_deletes_their_account(patient_page: Page, live_server, patient):
    page = patient_page
    page.goto(f"{live_server.url}/settings/")
    page.get_by_role("link", name="Delete your account and all your data").click()
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password]").press("Enter")
    expect(page.get_by_role("heading", name="Delete your account?")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_text("Tick the box to confirm")).to_be_visible()
    page.get_by_label(re.compile("I understand")).check()
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_text("Your account and all your data have been deleted.")).to_be_visible()
    assert not User.objects.filter(pk=patient.user.pk).exists()
