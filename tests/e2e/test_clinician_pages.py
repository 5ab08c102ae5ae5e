"""The Relief page, the clinician's report (with its dose per muscle) and the clinic's list,
looked at as people see them: on a 360 x 640 phone, at 200 % text on that phone, and on a
1,280 x 800 screen. Each state is kept as a screenshot under SCREENSHOT_DIR (default
/tmp/screenshots; CI keeps them as artifacts, git does not), has no sideways scroll on the
phone, no word broken mid-word that would fit its line, and no axe violation."""

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from playwright.sync_api import BrowserContext, Page, expect

from tests import factories
from tests.conftest import TODAY
from tests.e2e.conftest import CHROMIUM_ARGS, TIMEOUT_MS
from tests.e2e.test_accessibility import RULE_TAGS, SMALL_TARGETS
from tests.test_report import build_cycles
from tracker.models import Patient

pytestmark = pytest.mark.usefixtures("frozen_now")

SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/screenshots"))
SIZES = {
    "phone": {"width": 360, "height": 640},
    "text200": {"width": 360, "height": 640},  # the reader's default text at 32 px, not 16
    "desktop": {"width": 1280, "height": 800},
}

# Words that wrap mid-word though they would fit their line (a word wider than its box may
# wrap: "Sternocleidomastoid" at 200 % text on a phone cannot be helped). Text in a box of 1 or
# 2 px (visually hidden words for screen readers) is left out.
BROKEN_WORDS = """() => {
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!element || !element.checkVisibility()) continue;
    let tiny = false;
    for (let a = element; a; a = a.parentElement) {
      if (a.getBoundingClientRect().width <= 2) { tiny = true; break; }
    }
    if (tiny) continue;
    for (const match of node.data.matchAll(/\\p{L}{2,}/gu)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const rects = [...range.getClientRects()].filter((r) => r.width > 0);
      if (new Set(rects.map((r) => Math.round(r.top))).size < 2) continue;
      const width = rects.reduce((sum, r) => sum + r.width, 0);
      let box = element;
      while (box && getComputedStyle(box).display === "inline") box = box.parentElement;
      const style = getComputedStyle(box);
      let room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      // A flex box's ::before (a choice's tick box) sits beside the words, on their line.
      const before = getComputedStyle(box, "::before");
      if (style.display.endsWith("flex") && !["none", "normal"].includes(before.content)) {
        room -= parseFloat(before.width) + parseFloat(before.marginLeft)
          + parseFloat(before.marginRight) + (parseFloat(style.columnGap) || 0);
      }
      if (width <= room) broken.push(match[0]);
    }
  }
  return broken;
}"""


@pytest.fixture
def diary(patient, clinician):
    """Three cycles of a patient with a name, a date of birth and a clinic number, a red flag
    not yet handled, and a newcomer who shares with the same clinician."""
    get_user_model().objects.filter(pk=patient.user.pk).update(
        first_name="Alex", last_name="Moreno"
    )
    Patient.objects.filter(pk=patient.pk).update(
        date_of_birth=dt.date(1961, 3, 4), clinic_number="RT-4471"
    )
    build_cycles(patient, 3)
    factories.ReactionFactory(
        patient=patient, kind="breathing", severity="moderate", onset_date=TODAY
    )
    newcomer = factories.PatientFactory(user__first_name="Nia", user__last_name="Newman")
    factories.ShareFactory(patient=newcomer, clinician=clinician)
    factories.DailyLogFactory(patient=newcomer, date=TODAY, severity=5)
    return patient


@pytest.fixture
def contexts(playwright, browser: object, live_server, tmp_path):
    """A browser context per size, logged in by `session_of(user)`'s cookie. The 200 % text
    is Chromium's own default font size, set in a profile, as a reader sets it (a page zoom
    would not grow the text alone)."""
    made: list[BrowserContext] = []

    def open_context(size: str, user) -> BrowserContext:
        if size == "text200":
            profile = tmp_path / f"profile-{len(made)}"
            (profile / "Default").mkdir(parents=True)
            prefs = {
                "webkit": {"webprefs": {"default_font_size": 32, "default_fixed_font_size": 26}}
            }
            (profile / "Default" / "Preferences").write_text(json.dumps(prefs))
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path="/usr/bin/chromium",
                args=CHROMIUM_ARGS,
                viewport=SIZES[size],
            )
        else:
            context = browser.new_context(viewport=SIZES[size])
        context.set_default_timeout(TIMEOUT_MS)
        client = Client()
        client.force_login(user)
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        made.append(context)
        return context

    yield open_context
    for context in made:
        context.close()


def look(page: Page, name: str, size: str) -> None:
    """The checks every page state gets, and its screenshot."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-{size}.png", full_page=True)
    if size != "desktop":
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, name
        assert page.evaluate(BROKEN_WORDS) == [], name
    page.locator("details").evaluate_all("all => all.forEach((d) => { d.open = true; })")
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": RULE_TAGS}})
    assert results.violations_count == 0, results.generate_report()
    if size == "phone":
        assert page.evaluate(SMALL_TARGETS) == [], name


@pytest.mark.parametrize("size", list(SIZES))
def test_the_relief_page(size, diary, contexts, live_server):
    page = contexts(size, diary.user).new_page()
    page.goto(live_server.url + reverse("relief"))
    expect(page.get_by_role("heading", name="Each injection")).to_be_visible()
    expect(page.locator(".cycle-card").first).to_contain_text("When relief began")
    if size == "text200":  # the header and the tabs take less than half the screen
        nav_bottom = page.evaluate("document.querySelector('main').getBoundingClientRect().top")
        assert nav_bottom < 640 / 2
    look(page, "relief", size)


@pytest.mark.parametrize("size", list(SIZES))
def test_the_clinic_list(size, diary, clinician, contexts, live_server):
    page = contexts(size, clinician).new_page()
    page.goto(live_server.url + reverse("clinic"))
    row = page.locator("tr", has_text="Alex Moreno")
    expect(row).to_contain_text("Born 4 Mar 1961")
    expect(row).to_contain_text("Clinic no. RT-4471")
    expect(row.locator("svg.sparkline")).to_be_visible()
    expect(page.locator("tr", has_text="Nia Newman")).to_contain_text("New")
    if size == "desktop":  # one compact row per patient: both fit in the first screen
        box = page.locator("tr", has_text="Nia Newman").bounding_box()
        assert box["y"] + box["height"] <= 800
        page.set_viewport_size({"width": 1024, "height": 768})  # the compact list from 1,024 px
        assert page.evaluate("document.documentElement.scrollWidth") <= 1024
        page.set_viewport_size(SIZES[size])
    look(page, "clinic-list", size)


@pytest.mark.parametrize("size", list(SIZES))
def test_the_report_and_its_dose_per_muscle(size, diary, clinician, contexts, live_server):
    page = contexts(size, clinician).new_page()
    page.goto(live_server.url + reverse("clinic_report", args=[diary.pk]))
    expect(page.get_by_role("heading", level=1)).to_have_text("Alex Moreno")
    expect(page.locator(".report-identifiers")).to_contain_text("Clinic no. RT-4471")
    if size == "desktop":
        expect(page.locator("table.dose-table")).to_be_visible()
        expect(page.locator(".dose-card").first).to_be_hidden()
    else:
        expect(page.locator(".dose-card").first).to_be_visible()
        expect(page.locator("table.dose-table")).to_be_hidden()
    page.locator("#doses").screenshot(path=_mkdir(SCREENSHOTS) / f"dose-table-{size}.png")
    look(page, "report", size)


def test_the_print_summaries_button_downloads_one_pdf(diary, clinician, contexts, live_server):
    page = contexts("desktop", clinician).new_page()
    page.goto(live_server.url + reverse("clinic"))
    for name in ["Alex Moreno", "Nia Newman"]:
        page.get_by_label(f"Print the summary of {name}").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Print summaries").click()
    path = download.value.path()
    assert Path(path).read_bytes().startswith(b"%PDF")


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_a_clinician_whose_share_ended_gets_a_plain_page(diary, clinician, contexts, live_server):
    diary.shares.get(clinician=clinician).revoke()
    page = contexts("phone", clinician).new_page()
    response = page.goto(live_server.url + reverse("clinic_report", args=[diary.pk]))
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "This patient stopped sharing with you"
    )
    page.get_by_role("link", name="Back to your patients").click()
    expect(page).to_have_url(live_server.url + reverse("clinic"))
    page.go_back()
    look(page, "share-ended", "phone")


@pytest.mark.parametrize("size", list(SIZES))
def test_the_clinicians_settings_offer_warning_signs_on_this_phone(
    size, clinician, contexts, live_server, settings
):
    settings.WEBPUSH_VAPID_PRIVATE_KEY = "private"
    settings.WEBPUSH_VAPID_PUBLIC_KEY = "BPublic-key"
    settings.WEBPUSH_VAPID_SUBJECT = "mailto:clinic@example.com"
    page = contexts(size, clinician).new_page()
    page.goto(live_server.url + reverse("clinic_settings"))
    switch = page.get_by_role("button", name="Turn on notifications on this phone")
    expect(switch).to_be_visible()  # push.js shows it where the browser takes push messages
    expect(page.locator("[data-push-status]")).to_have_text("Off on this phone.")
    look(page, "clinic-settings", size)
