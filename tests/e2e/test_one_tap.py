"""Today's one-tap check-in in the browser: the whole scale above the fold of a 360 x 640
phone with the install banner showing, a tap that saves without a page load, Undo, the
remembered fold, offline, without JavaScript, and a past day in its own words."""

import datetime as dt

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests import factories
from tests.e2e.conftest import outbox, wait_until
from tests.e2e.screens import INSTALL_BANNER_PX, PHONE_640, shoot
from tests.e2e.test_accessibility import assert_accessible
from tracker.models import DailyLog, Patient

OUTBOX_EMPTY = "(await ReliefOutbox.all()).length === 0"
LAST_BUTTON_BOTTOM = """() => {
  const buttons = [...document.querySelectorAll("button[data-tap]")];
  return Math.max(...buttons.map((b) => b.getBoundingClientRect().bottom));
}"""


@pytest.fixture
def returning(patient):
    """A patient a month after an injection, with a fortnight of check-ins: what most
    mornings look like (the cycle's status and the forecast on Today)."""
    today = patient.today()
    shot = factories.InjectionFactory(patient=patient, date=today - dt.timedelta(days=45))
    factories.InjectionSiteFactory(injection=shot, units=shot.total_units)
    DailyLog.objects.bulk_create(
        DailyLog(patient=patient, date=today - dt.timedelta(days=n), severity=7 if n > 45 else 3)
        for n in range(1, 61)
    )
    return patient


def scale(page: Page):
    return page.get_by_role("group", name="How bad were your spasms today?")


def stored(patient: Patient):
    log = DailyLog.objects.filter(patient=patient, date=patient.today()).first()
    return log.severity if log else None


def test_the_whole_scale_is_above_the_fold_of_a_phone_with_the_install_banner(
    returning, patient_page: Page, live_server
):
    page = patient_page
    page.set_viewport_size(PHONE_640)
    page.goto(f"{live_server.url}/today/")

    shoot(page, "today")
    assert page.evaluate("window.scrollY") == 0
    assert page.evaluate(LAST_BUTTON_BOTTOM) <= PHONE_640["height"] - INSTALL_BANNER_PX
    expect(page.locator("details[data-more]")).not_to_have_attribute("open", "")
    assert_accessible(page)


def test_one_tap_saves_at_once_without_a_page_load_then_offers_undo(
    returning, patient_page: Page, live_server
):
    page = patient_page
    page.set_viewport_size(PHONE_640)
    page.goto(f"{live_server.url}/today/")
    page.evaluate("window.__samePage = true")

    scale(page).get_by_role("button", name="6", exact=True).click()

    status = page.locator("[data-checkin-said]")
    expect(status).to_have_text("Saved: 6 — change")
    expect(page.get_by_role("button", name="Undo")).to_be_visible()
    expect(scale(page).get_by_role("button", name="6", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    wait_until(page, OUTBOX_EMPTY)
    assert stored(returning) == 6
    assert page.evaluate("window.__samePage") is True  # no page load
    assert page.evaluate("window.scrollY") == 0
    assert_accessible(page)
    shoot(page, "today-saved")

    # A second tap changes the same check-in (the version followed the first save).
    scale(page).get_by_role("button", name="2", exact=True).click()
    expect(status).to_have_text("Saved: 2 — change")
    wait_until(page, OUTBOX_EMPTY)
    assert stored(returning) == 2
    assert DailyLog.objects.filter(patient=returning, date=returning.today()).count() == 1


def test_undo_takes_a_first_check_in_back_to_none(returning, patient_page: Page, live_server):
    page = patient_page
    page.goto(f"{live_server.url}/today/")

    scale(page).get_by_role("button", name="8", exact=True).click()
    expect(page.locator("[data-checkin-said]")).to_have_text("Saved: 8 — change")
    wait_until(page, OUTBOX_EMPTY)
    page.get_by_role("button", name="Undo").click()

    expect(page.locator("[data-checkin-said]")).to_have_text("Undone: this day is not logged.")
    wait_until(page, OUTBOX_EMPTY)
    assert stored(returning) is None
    # Logged again after the undo: the day's check-in comes back.
    scale(page).get_by_role("button", name="5", exact=True).click()
    expect(page.locator("[data-checkin-said]")).to_have_text("Saved: 5 — change")
    wait_until(page, OUTBOX_EMPTY)
    assert stored(returning) == 5


def test_undo_takes_a_changed_check_in_back_to_its_earlier_number(
    returning, patient_page: Page, live_server
):
    factories.DailyLogFactory(patient=returning, date=returning.today(), severity=4, pain=2)
    page = patient_page
    page.goto(f"{live_server.url}/today/")
    expect(page.locator("[data-checkin-said]")).to_have_text("✓ Logged: 4 out of 10.")

    scale(page).get_by_role("button", name="9", exact=True).click()
    expect(page.locator("[data-checkin-said]")).to_have_text("Saved: 9 — change")
    wait_until(page, OUTBOX_EMPTY)
    assert stored(returning) == 9
    page.get_by_role("button", name="Undo").click()

    expect(page.locator("[data-checkin-said]")).to_have_text("Undone: back to 4 out of 10.")
    wait_until(page, OUTBOX_EMPTY)
    log = DailyLog.objects.get(patient=returning, date=returning.today())
    assert (log.severity, log.pain) == (4, 2)


def test_the_undo_goes_after_ten_seconds(returning, patient_page: Page, live_server):
    page = patient_page
    page.clock.install()
    page.goto(f"{live_server.url}/today/")

    scale(page).get_by_role("button", name="3", exact=True).click()
    expect(page.get_by_role("button", name="Undo")).to_be_visible()
    page.clock.run_for(11_000)

    expect(page.get_by_role("button", name="Undo")).to_have_count(0)
    expect(page.locator("[data-checkin-said]")).to_have_text("✓ Logged: 3 out of 10.")


def test_the_extra_measures_stay_as_the_patient_left_them(
    returning, patient_page: Page, live_server
):
    page = patient_page
    page.goto(f"{live_server.url}/today/")
    more = page.locator("details[data-more]")
    expect(more).not_to_have_attribute("open", "")

    page.get_by_text("More: spasm frequency, pain, note").click()
    for _ in range(50):
        returning.refresh_from_db()
        if returning.checkin_more_open:
            break
        page.wait_for_timeout(100)
    assert returning.checkin_more_open
    page.reload()
    expect(more).to_have_attribute("open", "")
    assert_accessible(page)
    shoot(page, "today-more-open")


def test_a_tap_offline_waits_on_the_phone_then_syncs(
    context: BrowserContext, returning, patient_page: Page, live_server
):
    page = patient_page
    page.goto(f"{live_server.url}/today/")

    context.set_offline(True)
    scale(page).get_by_role("button", name="7", exact=True).click()

    expect(page.locator("[data-checkin-said]")).to_have_text("Saved on this phone: 7 — change")
    expect(page.locator("[data-outbox-summary]")).to_contain_text("You're offline.")
    assert [entry["id"] for entry in outbox(page)] == [f"log:{returning.today().isoformat()}"]
    assert stored(returning) is None
    assert_accessible(page)
    shoot(page, "today-offline")

    context.set_offline(False)
    wait_until(page, OUTBOX_EMPTY)
    assert stored(returning) == 7
    expect(page.locator("[data-outbox-message]")).to_have_text("Sent 1 saved entry to the server.")
    expect(page.locator("[data-outbox-summary]")).to_have_text("")


def test_without_javascript_each_number_is_its_own_submit_and_undo_works(
    browser: Browser, live_server, returning, log_in
):
    context = browser.new_context(java_script_enabled=False, viewport=PHONE_640)
    page = context.new_page()
    log_in(page)
    assert page.evaluate(LAST_BUTTON_BOTTOM) <= PHONE_640["height"] - INSTALL_BANNER_PX

    scale(page).get_by_role("button", name="6", exact=True).click()

    expect(page.locator("[data-checkin-said]")).to_have_text("Saved: 6 — change")
    assert stored(returning) == 6
    shoot(page, "today-saved-nojs")
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_text("Undone: this day is not logged.")).to_be_visible()
    assert stored(returning) is None
    context.close()


def test_a_past_day_says_that_day_never_today_nor_yet(returning, patient_page: Page, live_server):
    page = patient_page
    day = returning.today() - dt.timedelta(days=100)
    page.goto(f"{live_server.url}/day/{day.isoformat()}/")

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(f"How was {day:%A} {day.day} {day:%B}")
    expect(page.locator("[data-checkin-said]")).to_have_text("Not logged.")
    text = page.locator("main").inner_text()
    assert "today" not in text.split("Day before")[0].lower().replace("back to today", "")
    assert " yet" not in text.split("Day before")[0]
    assert_accessible(page)
    shoot(page, "past-day")
