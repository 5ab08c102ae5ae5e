import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.e2e.test_accessibility import assert_accessible
from tests.test_report import build_cycles

pytestmark = pytest.mark.usefixtures("frozen_now")


@pytest.fixture
def clinician_page(page: Page, live_server, clinician, patient) -> Page:
    """The clinician's browser, logged in: a session made on the server (their log-in form,
    with its second factor, is tested elsewhere)."""
    build_cycles(patient, 3)
    client = Client()
    client.force_login(clinician)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return page


@pytest.mark.parametrize("name", ["clinic_report", "clinic_summary"])
def test_the_report_pages_have_no_accessibility_violations_on_a_phone(
    clinician_page: Page, live_server, patient, name
):
    page = clinician_page
    page.goto(live_server.url + reverse(name, args=[patient.pk]))
    expect(page.get_by_role("heading", level=1)).to_contain_text(patient.display_name)
    page.locator("details").evaluate_all("all => all.forEach((d) => { d.open = true; })")

    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways page


def test_the_print_button_opens_the_browsers_print_dialog(
    clinician_page: Page, live_server, patient
):
    page = clinician_page
    page.add_init_script("window.print = () => { window.printed = true; };")
    page.goto(live_server.url + reverse("clinic_summary", args=[patient.pk]))
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.printed") is True
