import uuid

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Request, Route, expect

from tests.e2e.conftest import check_in, outbox, save_injection, wait_for_worker, wait_until
from tracker.models import DailyLog, Injection

SYNC = "**/api/v1/sync/"
OUTBOX_EMPTY = "(await ReliefOutbox.all()).length === 0"


def outbox_message(page: Page) -> Locator:
    return page.locator("[data-outbox-message]")


def waiting_summary(page: Page) -> Locator:
    return page.locator("[data-outbox-summary]")


def test_a_check_in_made_offline_reaches_the_server_once_after_a_reload(
    context: BrowserContext, patient_page: Page, patient
):
    page = patient_page
    wait_for_worker(page)
    wait_until(page, "!!(await caches.match('/today/'))")

    context.set_offline(True)
    check_in(page, 7)
    expect(outbox_message(page)).to_have_text(
        "Saved on this phone. It will be sent when you're back online."
    )

    worker_failures = []

    def note_worker_failure(request: Request) -> None:
        if request.service_worker:
            worker_failures.append(request.url)

    context.on("requestfailed", note_worker_failure)
    reloaded = page.reload()
    # The worker tried the network, found none, and answered from its cache.
    assert reloaded.from_service_worker
    assert page.url in worker_failures
    expect(waiting_summary(page)).to_have_text(
        "You're offline. What you save stays on this phone. 1 saved entry is waiting to be sent."
    )
    assert DailyLog.objects.count() == 0

    context.set_offline(False)
    wait_until(page, OUTBOX_EMPTY)
    log = DailyLog.objects.get()
    assert (log.patient, log.date, log.severity) == (patient, patient.today(), 7)
    expect(outbox_message(page)).to_have_text("Sent 1 saved entry to the server.")


def test_a_check_in_the_network_drops_on_the_way_is_kept_by_the_worker_and_sent(
    context: BrowserContext, patient_page: Page, live_server
):
    # The phone believes it is online, so the page posts the form (More's Save: a tap on a
    # number goes through the outbox itself); the worker catches the failure, keeps the
    # check-in and sends it through the outbox.
    page = patient_page
    wait_for_worker(page)
    check_in(page, 4)
    expect(page.locator("[data-checkin-said]")).to_have_text("Saved: 4 — change")
    wait_until(page, OUTBOX_EMPTY)
    page.get_by_text("More: spasm frequency, pain, note").click()
    page.get_by_role("group", name="How much pain?").get_by_role("radio", name="3").check()

    def cut_posts(route: Route) -> None:
        if route.request.method == "POST":
            route.abort()
        else:
            route.fallback()

    context.route("**/today/", cut_posts)  # the context's routes see the worker's requests too

    page.get_by_role("button", name="Save", exact=True).click()

    # The worker's answer: Today again, from the network, saying one entry was kept.
    expect(page).to_have_url(f"{live_server.url}/today/?kept=1")
    wait_until(page, OUTBOX_EMPTY)
    assert (DailyLog.objects.get().severity, DailyLog.objects.get().pain) == (4, 3)
    expect(outbox_message(page)).to_have_text("Sent 1 saved entry to the server.")


@pytest.mark.browser_context_args(service_workers="block")
def test_a_sync_cut_off_after_the_server_saved_is_retried_without_a_duplicate(
    context: BrowserContext, patient_page: Page
):
    page = patient_page
    context.set_offline(True)
    check_in(page, 6)
    expect(outbox_message(page)).to_contain_text("Saved on this phone.")

    answers = []

    def save_then_hang_up(route: Route) -> None:
        if answers:
            answers.append("passed on")
            route.continue_()
            return
        answers.append(route.fetch().status)  # the server saves the check-in...
        route.abort("connectionreset")  # ...and the phone never hears back

    page.route(SYNC, save_then_hang_up)
    context.set_offline(False)  # going online sends the outbox
    for _ in range(100):  # the entry stays waiting throughout: wait for the attempt itself
        if answers:
            break
        page.wait_for_timeout(100)
    expect(waiting_summary(page)).to_have_text("1 saved entry is waiting to be sent.")
    assert answers == [200]
    assert DailyLog.objects.count() == 1
    assert [entry["state"] for entry in outbox(page)] == ["pending"]

    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(page, OUTBOX_EMPTY)

    assert answers == [200, "passed on"]
    assert DailyLog.objects.get().severity == 6


def test_logging_out_clears_the_outbox_and_the_cached_pages(
    context: BrowserContext, patient_page: Page, live_server
):
    page = patient_page
    wait_for_worker(page)
    wait_until(page, "!!(await caches.match('/today/'))")
    page.route(SYNC, lambda route: route.abort())
    context.set_offline(True)
    check_in(page, 5)
    context.set_offline(False)
    expect(waiting_summary(page)).to_have_text("1 saved entry is waiting to be sent.")

    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Log out").click()

    expect(page).to_have_url(f"{live_server.url}/")  # the landing page, for anyone signed out
    page.wait_for_load_state()
    assert questions == [
        "1 saved entry has not been sent yet. Log out and delete it from this phone?"
    ]
    assert outbox(page) == []
    cache_names = page.evaluate("caches.keys()")
    assert not [name for name in cache_names if name.startswith("relief-pages")]
    assert DailyLog.objects.count() == 0


def test_an_injection_made_offline_is_saved_once_under_its_client_id(
    context: BrowserContext, patient_page: Page, live_server
):
    page = patient_page
    page.goto(f"{live_server.url}/injections/new/")
    client_id = uuid.UUID(page.locator("input[name=_outbox_key]").input_value())

    context.set_offline(True)
    save_injection(page, "Xeomin", "120")
    expect(outbox_message(page)).to_contain_text("Saved on this phone.")
    assert [entry["id"] for entry in outbox(page)] == [f"injection:{client_id}"]

    context.set_offline(False)
    wait_until(page, OUTBOX_EMPTY)
    # The same form sent again, online: its client id says it is already saved.
    page.get_by_role("button", name="Save injection").click()

    expect(page).to_have_url(f"{live_server.url}/injections/{client_id}/")
    injection = Injection.objects.get()
    assert (injection.pk, injection.product, injection.total_units) == (client_id, "xeomin", 120)
    assert [(s.muscle, s.side, s.units) for s in injection.sites.all()] == [
        ("sternocleidomastoid", "left", 120)
    ]


def test_a_rejected_entry_stays_in_the_outbox_for_the_patient_to_fix(patient_page: Page, patient):
    page = patient_page
    day = patient.today().isoformat()
    page.evaluate(
        """(day) => ReliefOutbox.add([{
            id: `log:${day}`, type: "log", key: day, op: "put", state: "pending",
            user: document.body.dataset.user, base_version: 0, savedAt: Date.now(),
            formUrl: "/today/", fields: [["severity", "11"]],
            data: {severity: 11, spasm_frequency: null, pain: null, note: ""},
            label: `Check-in for ${day}: 11 out of 10`,
        }])""",
        day,
    )

    page.reload()  # the app sends the outbox when it opens

    problem = page.locator("[data-outbox-problems] li")
    expect(problem).to_contain_text(f"Check-in for {day}: 11 out of 10 was not accepted.")
    expect(problem).to_contain_text("severity:")  # the reason, to know what to fix
    expect(problem.get_by_role("link", name="Fix it")).to_have_attribute(
        "href", f"/today/#outbox=log%3A{day}"
    )
    assert [(entry["id"], entry["state"]) for entry in outbox(page)] == [(f"log:{day}", "rejected")]
    assert DailyLog.objects.count() == 0
