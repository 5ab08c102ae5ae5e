import datetime as dt

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests import factories
from tracker.models import DailyLog

# WCAG 2.2 at levels A and AA, and axe's best practices (headings, landmarks) on top.
RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
PAGES = ["/today/", "/injections/new/", "/reactions/new/", "/history/", "/relief/"]

# Every control a finger has to hit, with the box it offers, when it is under 48 by 48 CSS px.
# Two things are not counted as small (WCAG 2.5.8's exceptions, and our reading of them):
# - a link inside running text (shown inline among other words): the line of text sizes it;
# - a label and its control are one target, so it is enough that either of them is big.
SMALL_TARGETS = """() => {
  const big = (element) => {
    const box = element.getBoundingClientRect();
    return box.width >= 48 && box.height >= 48;
  };
  const shown = (element) => element.checkVisibility({ visibilityProperty: true });
  const inRunningText = (element) => element.matches("a")
    && getComputedStyle(element).display === "inline"
    && element.parentElement.textContent.trim() !== element.textContent.trim();
  const partner = (element) => (element.matches("label") ? element.control : element.labels?.[0]);
  const bigTogether = (element) => {
    const other = partner(element);
    return Boolean(other) && shown(other) && big(other);
  };
  return [...document.querySelectorAll("a, button, input, select, textarea, summary, label")]
    .filter((element) => shown(element) && !inRunningText(element))
    .filter((element) => !big(element) && !bigTogether(element))
    .map((element) => {
      const box = element.getBoundingClientRect();
      return `${element.outerHTML.slice(0, 100)}: ${box.width.toFixed(0)}×${box.height.toFixed(0)}`;
    });
}"""


def assert_accessible(page: Page) -> None:
    """axe finds no violation of RULE_TAGS, and every control is a big enough target."""
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": RULE_TAGS}})
    assert results.violations_count == 0, results.generate_report()
    assert page.evaluate(SMALL_TARGETS) == []


@pytest.fixture
def diary(patient):
    """Two injections and five months of daily scores, so every page has all its parts."""
    today = patient.today()
    injection_days = [today - dt.timedelta(days=130), today - dt.timedelta(days=40)]
    for day in injection_days:
        shot = factories.InjectionFactory(patient=patient, date=day, total_units=200)
        factories.InjectionSiteFactory(injection=shot, units=200)
    logs = []
    for back in range(160, 0, -1):
        day = today - dt.timedelta(days=back)
        since = [(day - shot).days for shot in injection_days if shot <= day]
        cycle_day = since[-1] if since else None
        severity = 7 if cycle_day is None or cycle_day < 7 else 3 if cycle_day < 70 else 6
        logs.append(DailyLog(patient=patient, date=day, severity=severity))
    DailyLog.objects.bulk_create(logs)
    factories.ReactionFactory(patient=patient, onset_date=today - dt.timedelta(days=38))
    return patient


@pytest.mark.parametrize("path", PAGES)
def test_the_page_has_no_accessibility_violations_on_a_phone(
    diary, patient_page: Page, live_server, path
):
    page = patient_page
    page.goto(f"{live_server.url}{path}")
    page.locator("details").evaluate_all("all => all.forEach((d) => { d.open = true; })")

    assert_accessible(page)
