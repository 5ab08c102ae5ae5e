"""In chromium at 360 px: five years on Relief's range=all, its month table, and chart labels
that grow with the reader's text size (issues 13 and 14)."""

import datetime as dt
import os

from playwright.sync_api import Page, expect

from tracker.models import DailyLog, Injection

SHOTS = os.environ.get("RELIEF_SCREENSHOTS", "")  # a folder to keep screenshots in, if set


def five_years(patient) -> None:
    today = patient.today()
    first = today - dt.timedelta(days=5 * 365)
    DailyLog.objects.bulk_create(
        DailyLog(patient=patient, date=first + dt.timedelta(days=n), severity=(n * 7) % 11)
        for n in range(5 * 365 + 1)
    )
    Injection.objects.bulk_create(
        Injection(
            patient=patient, date=first + dt.timedelta(days=n), product="botox", total_units=200
        )
        for n in range(20, 5 * 365, 91)
    )


def label_height(page: Page) -> float:
    """On the screen, in CSS px."""
    return page.evaluate(
        "document.querySelector('.chart-timeline .chart-tick-labels text')"
        ".getBoundingClientRect().height"
    )


def test_five_years_at_360_px_with_labels_that_follow_the_text_size(
    patient, live_server, patient_page: Page
):
    five_years(patient)
    page = patient_page
    page.goto(f"{live_server.url}/relief/?range=all#timeline")
    page.get_by_text("Show the numbers as a table").first.click()
    expect(page.get_by_text("a month to a row")).to_be_visible()

    assert page.evaluate("document.getElementsByTagName('*').length") <= 1500
    # Nothing but the table's own scroller is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/relief-all-360.png", full_page=False)

    usual = label_height(page)
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    assert label_height(page) > 1.6 * usual  # twice the font, as its glyphs round
    # The page still fits the screen: the chart scrolls sideways within its figure.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    if SHOTS:
        page.locator(".chart-timeline").screenshot(path=f"{SHOTS}/relief-all-360-text-200.png")


def test_five_years_of_cycles_show_the_newest_cards_then_all_on_a_tap(
    patient, live_server, patient_page: Page
):
    five_years(patient)
    page = patient_page
    page.goto(f"{live_server.url}/relief/#cycles")
    expect(page.locator(".cycle-card")).to_have_count(6)
    more = page.get_by_role("link", name="Show the 14 earlier injections")
    expect(more).to_be_visible()
    assert more.bounding_box()["height"] >= 48
    if SHOTS:
        more.scroll_into_view_if_needed()
        page.screenshot(path=f"{SHOTS}/relief-cards-360.png", full_page=False)

    more.click()
    expect(page.locator(".cycle-card")).to_have_count(20)
    expect(page.locator("#cycle-14")).to_be_in_viewport()  # where the newest six ended
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/relief-cards-all-360.png", full_page=False)
