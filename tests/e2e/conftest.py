import itertools
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.cache import cache
from playwright.sync_api import BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 780}
PASSWORD = "correct horse battery"  # what tests/factories.py gives every user
HERE = Path(__file__).parent
TIMEOUT_MS = 10_000  # generous for a busy CI machine; passing steps take a fraction of it

expect.set_options(timeout=TIMEOUT_MS)


def pytest_itemcollected(item: pytest.Item) -> None:
    # Marked as each is collected, before `-m` chooses: marked in the hook below, which runs
    # last, they were all kept by -m "not e2e" and none by -m e2e.
    if HERE in item.path.parents:
        item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(trylast=True)  # after pytest-django has sorted the tests by database use
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Browser tests run last: once Playwright has started, its event loop counts as running in
    # the main thread for the rest of the session, and Django then refuses database access.
    browser_tests = [item for item in items if HERE in item.path.parents]
    items[:] = [item for item in items if item not in browser_tests] + browser_tests


@pytest.fixture(scope="session", autouse=True)
def chromium():
    if not CHROMIUM.exists():
        reason = f"the browser tests need Debian's chromium at {CHROMIUM} (apt-get install it)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; under CI they must run, not skip", pytrace=False)
        pytest.skip(reason)
    # Tests read the database while Playwright's sync API keeps its event loop "running" in
    # this thread; nothing here is concurrent, so Django's async guard may stand down.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield CHROMIUM


class OneRequestAtATime(StaticFilesHandler):
    """The live server answers each request in a thread of its own, and with SQLite in memory
    every thread shares the test's one connection: a service worker's prefetches, sent at once,
    used it together and could hang inside SQLite for good. Here requests take turns."""

    turn = threading.Lock()

    def __call__(self, environ, start_response):
        with self.turn:
            return super().__call__(environ, start_response)


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """pytest-django's live server, answering one request at a time (OneRequestAtATime)."""
    addr = request.config.getvalue("liveserver") or os.getenv(
        "DJANGO_LIVE_TEST_SERVER_ADDRESS", "localhost"
    )
    server = LiveServer(addr, start=False)
    server.thread.static_handler = OneRequestAtATime
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict, chromium: Path) -> dict:
    return {**browser_type_launch_args, "executable_path": str(chromium), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": PHONE}


@pytest.fixture
def context(context: BrowserContext) -> BrowserContext:
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def patient(patient):
    # allauth lets nobody in before their address is verified.
    EmailAddress.objects.create(
        user=patient.user, email=patient.user.email, primary=True, verified=True
    )
    return patient


@pytest.fixture
def log_in(live_server, patient) -> Callable[[Page], Page]:
    """Logs the patient in through the real log-in form; the page ends on Today."""
    # allauth counts log-ins per IP address in the cache, and every test comes from 127.0.0.1.
    cache.clear()

    def log_in(page: Page) -> Page:
        page.goto(f"{live_server.url}/accounts/login/")
        page.locator("input[name=login]").fill(patient.user.username)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("input[name=password]").press("Enter")
        expect(page).to_have_url(f"{live_server.url}/today/")
        page.wait_for_load_state()  # app.js is deferred: its handlers come with "load"
        return page

    return log_in


@pytest.fixture
def patient_page(page: Page, log_in) -> Page:
    return log_in(page)


def wait_for_worker(page: Page) -> None:
    """Waits until the service worker is active and controls the page: the first page of a
    visit is loaded before the worker exists, and only `clients.claim()` adopts it."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("!!navigator.serviceWorker.controller"):
        page.reload()
    page.wait_for_function("!!navigator.serviceWorker.controller")


_checks = itertools.count()


def wait_until(page: Page, condition: str) -> None:
    """Waits until `condition`, a JavaScript expression that may use `await`, is true.

    page.wait_for_function takes a returned promise for a true value, so each poll starts the
    check and reads the answer of the previous one."""
    slot = f"check{next(_checks)}"
    page.wait_for_function(
        f"""() => {{
            const answers = (window.__e2e ??= {{}});
            if (answers.{slot} === true) return true;
            if (answers.{slot} !== "asking") {{
                answers.{slot} = "asking";
                (async () => {condition})().then(
                    (value) => {{ answers.{slot} = Boolean(value); }},
                    () => {{ answers.{slot} = false; }},
                );
            }}
            return false;
        }}""",
        polling=50,
    )


def outbox(page: Page) -> list[dict]:
    return page.evaluate("ReliefOutbox.all()")


def check_in(page: Page, severity: int) -> None:
    """One tap on the number: it saves (through the outbox with JavaScript)."""
    question = page.get_by_role("group", name="How bad were your spasms today?")
    question.get_by_role("button", name=str(severity), exact=True).click()


def save_injection(page: Page, product: str, units: str) -> None:
    """The injection form filled in for one muscle (the left sternocleidomastoid) and saved."""
    page.get_by_role("radio", name=product).check()
    site = page.get_by_role("group", name="Muscle 1")
    site.get_by_label("Muscle", exact=True).select_option("sternocleidomastoid")
    site.get_by_role("radio", name="Left").check()
    site.get_by_label("Units", exact=True).fill(units)
    page.get_by_role("button", name="Save injection").click()
