"""The patient's own pages looked at as they see them: on a 360 x 640 phone and at 200 % text
on that phone (Chromium's default font size at 32 px, as a reader sets it, so that the CSS's
em widths follow as they do on the phone). No page scrolls sideways, no word breaks mid-word
that would fit its line, axe finds no violation; a screenshot of each under SCREENSHOT_DIR."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse

from tests.e2e import test_clinician_pages as clinician_pages
from tests.e2e.screens import screenshot_dir
from tests.e2e.test_accessibility import RULE_TAGS

pytestmark = pytest.mark.usefixtures("frozen_now")

# The clinician side's diary (three cycles of injections into long-named muscles, a red flag)
# and its browser contexts, the 200 % text one made as a reader sets it.
diary = clinician_pages.diary
contexts = clinician_pages.contexts

PAGES = [
    "today",
    "history",
    "relief",
    "injection_list",
    "injection_new",
    "reaction_new",
    "sharing",
    "settings",
]


@pytest.mark.parametrize("size", ["phone", "text200"])
def test_no_page_of_the_patient_scrolls_sideways(size, diary, contexts, live_server):
    page = contexts(size, diary.user).new_page()
    injection = diary.injections.order_by("-date").first()
    paths = [(name, reverse(name)) for name in PAGES]
    paths.append(("injection", reverse("injection_detail", args=[injection.pk])))
    wide, broken = {}, {}
    for name, path in paths:
        page.goto(live_server.url + path)
        page.screenshot(path=screenshot_dir() / f"patient-{name}-{size}.png", full_page=True)
        width = page.evaluate("document.scrollingElement.scrollWidth")
        if width > 360:
            wide[name] = width
        if words := page.evaluate(clinician_pages.BROKEN_WORDS):
            broken[name] = words
        results = Axe().run(page, options={"runOnly": {"type": "tag", "values": RULE_TAGS}})
        assert results.violations_count == 0, results.generate_report()
    assert wide == {}
    assert broken == {}
