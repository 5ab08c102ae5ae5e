"""Today in the browser: the check-in and the PGIC answer saved together, with and without
JavaScript, and the days after an injection (aftercare, warning signs, booking) usable on a
phone."""

import datetime as dt

from playwright.sync_api import Browser, Page, expect

from tests import factories
from tests.cycles import wearing_off_diary
from tests.e2e.conftest import PHONE
from tests.e2e.test_accessibility import assert_accessible
from tracker.models import DailyLog, GlobalImpression

SAVED_BOTH = "Saved: 4 out of 10, and your answer about this cycle."


def choose_and_save(page: Page) -> None:
    """The answer first, then one tap on the number saves both."""
    question = page.get_by_role("group", name="how is your condition overall?")
    question.get_by_role("radio", name="Much improved", exact=True).check()
    severity = page.get_by_role("group", name="How bad were your spasms today?")
    severity.get_by_role("button", name="4", exact=True).click()


def test_choosing_a_severity_and_a_pgic_answer_then_saving_stores_both(
    patient_page: Page, live_server, patient
):
    factories.InjectionFactory(patient=patient, date=patient.today() - dt.timedelta(days=30))
    page = patient_page
    page.goto(f"{live_server.url}/today/")

    choose_and_save(page)

    expect(
        page.get_by_text("Saved: 4 out of 10, and your answer about this cycle.")
    ).to_be_visible()
    assert DailyLog.objects.get(patient=patient).severity == 4
    assert GlobalImpression.objects.get(patient=patient).score == 2  # "Much improved"
    expect(page.get_by_text("A question for this cycle")).to_have_count(0)


def test_without_javascript_the_same_one_save_stores_both(browser: Browser, log_in, patient):
    factories.InjectionFactory(patient=patient, date=patient.today() - dt.timedelta(days=30))
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    log_in(page)

    choose_and_save(page)

    expect(
        page.get_by_text("Saved: 4 out of 10, and your answer about this cycle.")
    ).to_be_visible()
    assert DailyLog.objects.get(patient=patient).severity == 4
    assert GlobalImpression.objects.get(patient=patient).score == 2
    context.close()


def today_after_injections(page: Page, live_server, patient, days_ago: tuple[int, ...]) -> None:
    """Today, for a patient injected `days_ago`, whose cycles wore off on days 70 and 71."""
    today = patient.today()
    injected = [today - dt.timedelta(days=n) for n in days_ago]
    wearing_off_diary(patient, injected, worse_from=[69, 70], today=today)
    page.goto(f"{live_server.url}/today/")


def test_the_days_after_an_injection_are_accessible_on_a_phone(
    patient_page: Page, live_server, patient
):
    # An injection today: the aftercare, the warning signs and (with the forecast 71 days
    # away) no booking yet.
    page = patient_page
    today_after_injections(page, live_server, patient, (180, 90, 0))
    expect(page.get_by_role("heading", name="Aftercare for today")).to_be_visible()
    page.get_by_text("Warning signs to watch for").click()
    expect(page.get_by_role("heading", name="Get help now")).to_be_visible()
    expect(page.get_by_role("heading", name="Contact your clinic today")).to_be_visible()

    assert_accessible(page)


def test_the_booking_suggestion_is_accessible_and_offers_the_calendar_file(
    patient_page: Page, live_server, patient
):
    page = patient_page
    today_after_injections(page, live_server, patient, (240, 150, 60))
    expect(page.get_by_role("heading", name="Time to book your next appointment")).to_be_visible()

    assert_accessible(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="to your calendar").click()
    assert download.value.suggested_filename == "next-appointment.ics"
    body = download.value.path().read_text(encoding="utf-8")
    assert "BEGIN:VEVENT" in body
    assert f"DTSTART;VALUE=DATE:{patient.today() + dt.timedelta(days=11):%Y%m%d}" in body
