"""The in-process benchmark, the first half of `make bench`. In a throw-away database: each
figure of issue 14 beside its goal and the same run's floor (a minimal view behind the same
middleware), with their ratio: the Relief page and /api/v1/cycles/ warm (computed before, kept
in the cache) and cold, for 1 and 5 years of data; range=all's elements and bytes; the
check-ins' list API in bytes; check-in PUTs; one offline sync of 500 new check-ins, and of a
mixed batch with its replay; the clinic list of 500 patients; the summary PDF. It prints
whether each goal is met.

    python -m bench.run_bench            # the full sizes (make bench)
    python -m bench.run_bench --quick    # tiny data, for CI: that it runs, not what it finds
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import gzip
import itertools
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

import django
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.loadbench import new_item
from tracker import catalog, triage

if TYPE_CHECKING:
    from rest_framework.test import APIClient

    from tracker.models import Injection, Patient, User

# The models, the demo data and DRF's test client need the app registry: they are imported
# where they are used, once main() has called django.setup().


@dataclasses.dataclass(frozen=True)
class Sizes:
    requests: int = 60  # timed, each figure, after `warm_up` more
    warm_up: int = 5
    cold_requests: int = 15  # with the cache emptied before each
    year: int = 365
    five_years: int = 5 * 365 + 1
    reactions: int = 100
    clinic_patients: int = 500
    clinic_days: int = 120
    check_ins: int = 300
    sync_runs: int = 15  # each with a fresh patient, so every item of the batch is new
    sync_check_ins: int = 500  # the batch of new check-ins alone
    sync_logs: int = 400  # the mixed batch: 500 items in all
    sync_injections: int = 40
    sync_reactions: int = 60
    # A PDF takes WeasyPrint seconds, and the summary's downloads are throttled (30 an hour): a
    # few runs after one to warm up (its fonts load on the first). None: not measured.
    pdf_runs: int | None = 5


FULL = Sizes()
# For CI (bench/tests/test_bench_quick.py): every measurement on tiny data, so that the
# benchmark never rots; its figures mean nothing.
QUICK = Sizes(
    requests=3,
    warm_up=1,
    cold_requests=3,
    year=30,
    five_years=90,
    reactions=5,
    clinic_patients=5,
    clinic_days=30,
    check_ins=5,
    sync_runs=3,
    sync_check_ins=20,
    sync_logs=10,
    sync_injections=2,
    sync_reactions=3,
    pdf_runs=None,
)
SIZES = FULL  # what the helpers below use; run() sets it
# A browser's request: pages and JSON come back compressed, as they do to a phone.
BROWSER = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("DJANGO_SECURE", "0")  # the test client asks over plain HTTP
    django.setup()
    parser = argparse.ArgumentParser(
        prog="python -m bench.run_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="tiny data: that it runs (CI)")
    arguments = parser.parse_args(argv)
    run(QUICK if arguments.quick else FULL)
    return 0


def run(sizes: Sizes = FULL) -> None:
    """Every measurement, in a test database made for the run and destroyed after it, with
    the app's URLs and the minimal view (bench/urls.py). Not Django's test environment: it
    makes every template report its context as it renders, which no server does."""
    with tempfile.TemporaryDirectory() as folder:
        test_db = settings.DATABASES["default"].setdefault("TEST", {})
        if connection.vendor == "sqlite":
            test_db["NAME"] = str(Path(folder) / "bench.sqlite3")
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            with bench_settings():
                gc.freeze()  # as project/wsgi.py does in each app server, once it is loaded
                run_all(sizes)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)


def bench_settings() -> override_settings:
    """The app's URLs and the minimal view; sessions read through the cache as with Redis
    (project/settings.py: one process here, so process memory is as safe as Redis); no rate
    limit reached by the benchmark's own requests."""
    rates = dict.fromkeys(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "1000000/min")
    return override_settings(
        ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],  # the test client's host
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        ROOT_URLCONF="bench.urls",
        SESSION_ENGINE="django.contrib.sessions.backends.cached_db",
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates},
    )


@dataclasses.dataclass
class Goal:
    label: str
    value: str
    goal: str
    met: bool | None  # None: no goal to meet here (a figure to compare, or not measured)
    ratio: float | None = None  # to the same run's floor


def run_all(sizes: Sizes = FULL) -> list[Goal]:
    global SIZES
    SIZES = sizes
    try:
        return measure_all(sizes)
    finally:
        SIZES = FULL


def measure_all(sizes: Sizes) -> list[Goal]:
    cache.clear()
    one_year = make_patient("bench-1y", sizes.year)
    five_years = make_patient("bench-5y", sizes.five_years)
    print(f"Relief Tracker benchmark on {connection.vendor}, DEBUG={settings.DEBUG}")
    print(
        f"median of {sizes.requests} requests after {sizes.warm_up} to warm up (cold: "
        f"{sizes.cold_requests}, the cache emptied before each), in-process client, asking "
        f"for compressed answers as a browser does\n"
    )
    header = (
        f"{'what':44} {'median ms':>9} {'p95 ms':>7} {'queries':>7} {'floor ms':>8} "
        f"{'× floor':>7} {'KB sent':>7}"
    )
    print(header)
    print(
        f"{'':44} (queries: but BEGIN, COMMIT, savepoints; floor: the minimal view, timed "
        "between the requests)"
    )

    client = logged_in(five_years.user)
    floor = measure(client, "/bench/minimal/")
    row("minimal view, same middleware (the floor)", floor, floor)
    rows: dict[str, Result] = {}
    for label, patient in [("1 year", one_year), ("5 years", five_years)]:
        client = logged_in(patient.user)
        relief_url = reverse("relief")
        rows[f"relief {label}"] = page = measure(client, relief_url, with_assets=True)
        row(f"Relief page, {label}, warm", page, floor)
        rows[f"relief cold {label}"] = cold = measure_cold(client, relief_url)
        row(f"Relief page, {label}, cold", cold, floor)
        after = measure_after_check_in(client, relief_url, patient)
        rows[f"relief check-in {label}"] = after
        row(f"Relief page, {label}, after a check-in", after, floor)
        rows[f"cycles {label}"] = api = measure(client, "/api/v1/cycles/")
        row(f"GET /api/v1/cycles/, {label}, warm", api, floor)
        rows[f"cycles cold {label}"] = api_cold = measure_cold(client, "/api/v1/cycles/")
        row(f"GET /api/v1/cycles/, {label}, cold", api_cold, floor)
    client = logged_in(five_years.user)
    rows["all"] = every_day = measure(client, reverse("relief") + "?range=all")
    row("Relief page, range=all, 5 years, warm", every_day, floor)
    listing, list_bytes = list_timing(client, five_years)
    row(f"GET /api/v1/logs/, all {five_years.logs.count():,} check-ins", listing, floor)
    shape = page_shape(client, reverse("relief") + "?range=all")

    pdf = summary_pdf_timing(five_years, sizes.pdf_runs) if sizes.pdf_runs else None
    if pdf:
        row("Summary PDF, 5 years", pdf, floor)
    clinician = make_clinic(sizes.clinic_patients, sizes.clinic_days)
    client = logged_in(clinician)
    cache.clear()  # the first load computes every patient's figures
    triage.cycle_figures.cache_clear()
    first = timed(lambda: client.get(reverse("clinic"), **BROWSER))
    rows["clinic"] = clinic = measure(client, reverse("clinic"))
    row(f"Clinic list, {sizes.clinic_patients} patients, warm", clinic, floor)
    print(f"{'  its first load (no figure in the cache)':44} {first * 1000:9.2f}")

    put = check_in_timing(make_patient("bench-put", 0))
    row("PUT /api/v1/logs/<date>/, a new day", put, floor)
    check_ins = check_in_sync_timings(sizes.sync_runs)
    row(f"POST /api/v1/sync/, {sizes.sync_check_ins} new check-ins", check_ins, floor)
    sync, replay, sync_rows = sync_timings(sizes.sync_runs)
    row(f"POST /api/v1/sync/, {sync_size()} new mixed items", sync, floor)
    row("  the same batch again (a lost answer)", replay, floor)
    after_sync, after_replay = sync_rows
    print(f"  rows after the mixed sync: {after_sync}; after its replay: {after_replay}\n")

    page = rows["relief 5 years"]
    cold = rows["relief cold 5 years"]
    checked_in = rows["relief check-in 5 years"]
    goals = [
        Goal(
            "Relief page, 5 years, warm: ≤ 3× the floor",
            ms(page),
            "≤ 3×",
            page.ratio <= 3,
            page.ratio,
        ),
        Goal("Relief page, cold: ≤ 8 queries", f"{cold.queries} queries", "≤ 8", cold.queries <= 8),
        Goal(
            "Relief page, warm: read_diary's queries left out",
            f"{page.queries} queries",
            f"< {cold.queries}",
            page.queries < cold.queries,
        ),
        Goal(
            "Relief page: same queries for 1 and 5 years",
            f"{rows['relief cold 1 year'].queries} and {cold.queries}",
            "equal",
            rows["relief cold 1 year"].queries == cold.queries,
        ),
        Goal(
            "Relief page, cold: ≤ ½ wger's all-entries API",
            ms(cold),
            "bench.wger, below",
            None,
            cold.ratio,
        ),
        Goal(
            "  the same, against our own all-entries API",
            f"{cold.median_ms / listing.median_ms:.2f}×",
            "≤ 0.5× (ours)",
            cold.median_ms <= 0.5 * listing.median_ms,
        ),
        Goal(
            "Relief page, after a check-in: ≤ ½ wger's API",
            ms(checked_in),
            "bench.wger, below",
            None,
            checked_in.ratio,
        ),
        Goal(
            "  the same, against our own all-entries API",
            f"{checked_in.median_ms / listing.median_ms:.2f}×",
            "≤ 0.5× (ours)",
            checked_in.median_ms <= 0.5 * listing.median_ms,
        ),
        Goal(
            "GET /api/v1/cycles/, 5 years, warm: ≤ 3× the floor",
            ms(rows["cycles 5 years"]),
            "≤ 3× (ours)",
            rows["cycles 5 years"].ratio <= 3,
            rows["cycles 5 years"].ratio,
        ),
        Goal(
            "first load, page + CSS + JS: ≤ 100 KB gzip",
            f"{page.gzip_bytes / 1000:.1f} KB",
            "≤ 100 KB",
            page.gzip_bytes <= 100_000,
        ),
        Goal(
            "range=all, 5 years: ≤ 1,500 elements",
            f"{shape.elements:,}",
            "≤ 1,500",
            shape.elements <= 1500,
        ),
        Goal(
            "range=all: the timeline's HTML ≤ 60 KB gzip",
            f"{shape.timeline_gzip / 1000:.1f} KB",
            "≤ 60 KB",
            shape.timeline_gzip <= 60_000,
        ),
        Goal(
            "  the whole page as sent (Brotli)",
            f"{shape.sent / 1000:.1f} KB",
            f"of {shape.raw / 1000:.0f} KB",
            None,
        ),
        Goal(
            "list API, all check-ins, gzip: ≤ wger's",
            f"{list_bytes.gzip / 1000:.1f} KB",
            "bench.wger, below",
            None,
        ),
        Goal(
            "  the same in Brotli, and before compression",
            f"{list_bytes.brotli / 1000:.1f} KB",
            f"of {list_bytes.raw / 1000:.0f} KB",
            None,
        ),
        Goal("check-in PUT: ≤ 6 queries", f"{put.queries} queries", "≤ 6", put.queries <= 6),
        Goal(
            "check-in PUTs one after another",
            f"{1000 / put.median_ms:.0f}/s",
            "bench.wger, below",
            None,
            put.ratio,
        ),
        Goal(
            f"sync of {sizes.sync_check_ins} new check-ins: ≤ 30 queries",
            f"{check_ins.queries} queries",
            "≤ 30",
            check_ins.queries <= 30,
        ),
        Goal(
            f"sync of {sizes.sync_check_ins} new check-ins: ≤ 300 ms",
            ms(check_ins),
            "≤ 300 ms",
            check_ins.median_ms <= 300,
            check_ins.ratio,
        ),
        Goal(
            f"sync of {sync_size()} mixed items: ≤ 300 ms",
            ms(sync),
            "≤ 300 ms (ours)",
            sync.median_ms <= 300,
            sync.ratio,
        ),
        Goal(
            "the mixed batch's replay adds no rows",
            f"{after_replay.total} rows",
            f"{after_sync.total}",
            after_sync == after_replay,
        ),
        Goal(
            f"clinic list, {sizes.clinic_patients} patients, warm: ≤ 100 ms",
            ms(clinic),
            "≤ 100 ms",
            clinic.median_ms <= 100,
            clinic.ratio,
        ),
        Goal(
            "summary PDF, 5 years: < 5 s",
            ms(pdf) if pdf else "not measured",
            "< 5 s",
            pdf.median_ms < 5000 if pdf else None,
        ),
    ]
    print_goals(goals, floor)
    if sizes is QUICK:
        print("Quick mode: tiny data, so the figures say only that every measurement runs.")
    print(
        f"Benchmark done: Relief page {page.median_ms:.1f} ms warm "
        f"({page.ratio:.1f}× the floor), {cold.median_ms:.1f} ms cold; "
        f"range=all {shape.elements:,} elements; {1000 / put.median_ms:.0f} check-ins/s in "
        f"{put.queries} queries each; sync of {sizes.sync_check_ins} check-ins "
        f"{check_ins.median_ms:.0f} ms in {check_ins.queries} queries; clinic list "
        f"{clinic.median_ms:.1f} ms, {clinic.queries} queries."
    )
    return goals


def ms(result: Result) -> str:
    return f"{result.median_ms:.1f} ms"


def print_goals(goals: list[Goal], floor: Result) -> None:
    print(
        f'Goals (issue 14; "(ours)": a goal of our own); × floor: to the minimal view timed '
        f"between the figure's own requests (at the start: {floor.median_ms:.2f} ms):"
    )
    print(f"{'':9}{'what':52} {'measured':>14} {'× floor':>7}  goal")
    for goal in goals:
        verdict = "" if goal.met is None else ("met" if goal.met else "MISSED")
        ratio = f"{goal.ratio:6.1f}×" if goal.ratio is not None else f"{'':7}"
        print(f"  {verdict:7}{goal.label:52} {goal.value:>14} {ratio}  {goal.goal}")


def row(label: str, result: Result, floor: Result) -> None:
    size = f"{result.sent_bytes / 1000:7.1f}" if result.sent_bytes else f"{'':7}"
    floor_ms = result.floor_ms or floor.median_ms
    print(
        f"{label:44} {result.median_ms:9.2f} {result.p95_ms:7.2f} {result.queries:7} "
        f"{floor_ms:8.2f} {result.median_ms / floor_ms:6.1f}× {size}"
    )


class Result:
    def __init__(
        self,
        times: list[float],
        queries: int,
        gzip_bytes: int = 0,
        sent: int = 0,
        floors: list[float] | None = None,
    ):
        self.median_ms = statistics.median(times) * 1000
        # The floor timed between this figure's requests, under the same load: the machine's
        # speed changes within a run (other work on it), the ratio much less.
        self.floor_ms = statistics.median(floors) * 1000 if floors else None
        self.p95_ms = (
            statistics.quantiles(times, n=20)[-1] * 1000 if len(times) > 1 else self.median_ms
        )
        self.queries = queries
        self.gzip_bytes = gzip_bytes  # the page with its CSS and JS, gzip -9: a first load
        self.sent_bytes = sent  # the answer as sent, compressed

    @property
    def ratio(self) -> float | None:
        return self.median_ms / self.floor_ms if self.floor_ms else None


def floor_time(client: APIClient) -> float:
    """One request of the minimal view, as this client (the same session, middleware)."""
    return timed(lambda: client.get("/bench/minimal/", **BROWSER))


def measure(client: APIClient, url: str, with_assets: bool = False) -> Result:
    response = client.get(url, **BROWSER)
    assert response.status_code == 200, (url, response.status_code)
    for _ in range(SIZES.warm_up):
        client.get(url, **BROWSER)
    times, floors = [], []
    for _ in range(SIZES.requests):
        times.append(timed(lambda: client.get(url, **BROWSER)))
        floors.append(floor_time(client))
    with counting() as queries:
        client.get(url, **BROWSER)
    size = 0
    if with_assets:
        body = client.get(url).content  # not compressed
        size = len(gzip.compress(body, 9))
        size += sum(len(gzip.compress(asset, 9)) for asset in page_assets(body.decode()))
    return Result(times, statements(queries), size, len(response.content), floors)


def measure_cold(client: APIClient, url: str) -> Result:
    """Each request after the cache is emptied: computed afresh, as after a change."""
    times, floors = [], []
    for _ in range(SIZES.cold_requests):
        cache.clear()
        times.append(timed(lambda: client.get(url, **BROWSER)))
        floors.append(floor_time(client))
    cache.clear()
    with counting() as queries:
        client.get(url, **BROWSER)
    return Result(times, statements(queries), floors=floors)


def measure_after_check_in(client: APIClient, url: str, patient: Patient) -> Result:
    """Each request after a new score for today (the check-in not timed): the page is made
    afresh, the diary's older part read from the cache (tracker/diary_kept.py), as when a
    patient checks in and then looks at Relief."""
    scores = itertools.cycle(range(11))
    check_in_url = f"/api/v1/logs/{patient.today().isoformat()}/"

    def check_in() -> None:
        response = client.put(check_in_url, {"severity": next(scores)}, format="json")
        assert response.status_code in (200, 201), response.content

    times, floors = [], []
    for _ in range(SIZES.cold_requests):
        check_in()
        times.append(timed(lambda: client.get(url, **BROWSER)))
        floors.append(floor_time(client))
    check_in()
    with counting() as queries:
        client.get(url, **BROWSER)
    return Result(times, statements(queries), floors=floors)


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.count += 1


@dataclasses.dataclass(frozen=True)
class PageShape:
    elements: int  # in the whole page, as a browser's DOM holds them
    timeline_gzip: int  # the timeline section's HTML, gzip -6
    raw: int
    sent: int  # the page as sent to a browser that takes Brotli


def page_shape(client: APIClient, url: str) -> PageShape:
    html = client.get(url).content.decode()
    parser = Elements()
    parser.feed(html)
    start = html.index('<section id="timeline"')
    timeline = html[start : html.index("</section>", start)]
    sent = len(client.get(url, **BROWSER).content)
    return PageShape(parser.count, len(gzip.compress(timeline.encode())), len(html), sent)


@dataclasses.dataclass(frozen=True)
class Bytes:
    raw: int
    gzip: int  # as sent to a client that asks for gzip
    brotli: int


def list_timing(client: APIClient, patient: Patient) -> tuple[Result, Bytes]:
    """Every check-in of the patient through GET /api/v1/logs/, a page of 1,000 at a time."""
    pages = range(0, max(patient.logs.count(), 1), 1000)

    def get_all(encoding: str) -> list:
        return [
            client.get(f"/api/v1/logs/?limit=1000&offset={offset}", HTTP_ACCEPT_ENCODING=encoding)
            for offset in pages
        ]

    raw = sum(len(response.content) for response in get_all(""))
    gzipped = sum(len(response.content) for response in get_all("gzip"))
    brotli = sum(len(response.content) for response in get_all("br"))
    times, floors = [], []
    for _ in range(max(SIZES.requests // 4, 1)):
        times.append(timed(lambda: get_all("gzip")))
        floors.append(floor_time(client))
    with counting() as queries:
        get_all("gzip")
    return Result(times, statements(queries), floors=floors), Bytes(raw, gzipped, brotli)


@contextlib.contextmanager
def counting() -> Iterator[list[dict]]:
    """The queries run in the block, kept as it ends: the connection keeps only its last 9,000
    and forgets them at the next request, so they are read at once."""
    connection.queries_log.clear()
    found: list[dict] = []
    with CaptureQueriesContext(connection) as queries:
        yield found
    found.extend(queries.captured_queries)


# Logged beside the queries (SQLite's BEGIN, every backend's COMMIT, the test suite's
# savepoints): transaction control, not a request's own queries, and not counted.
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")


def statements(queries: list[dict]) -> int:
    return sum(
        not query["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL) for query in queries
    )


def timed(call: Callable) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def page_assets(html: str) -> list[bytes]:
    """The CSS and JS files a first visit to the page downloads."""
    urls = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js|svg))"', html)
    assets = []
    for url in urls:
        name = url.removeprefix(settings.STATIC_URL)
        found = finders.find(name) or Path(settings.STATIC_ROOT) / name
        assets.append(Path(found).read_bytes())
    return assets


def logged_in(user: User) -> APIClient:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(user)
    # A test client loads the middleware on its first request (WhiteNoise then lists every
    # static file: tens of ms), which a running server does once at start: not timed here.
    client.get("/bench/minimal/")
    return client


def make_patient(username: str, days: int) -> Patient:
    from tracker.management.commands.seed_demo import generate_diary
    from tracker.models import Patient, PatientCondition, User

    user = User.objects.create_user(username, f"{username}@example.com", "bench-password")
    patient = Patient.objects.create(user=user, time_zone="Europe/London")
    PatientCondition.objects.create(patient=patient, condition="cervical_dystonia")
    if days:
        injections = generate_diary(patient, days)
        add_reactions(patient, injections, SIZES.reactions - patient.reactions.count())
    return patient


def add_reactions(patient: Patient, injections: list[Injection], count: int) -> None:
    from tracker.models import Reaction

    rng = random.Random(count)
    kinds = [code for code, _ in catalog.COMMON_REACTIONS + catalog.RED_FLAG_REACTIONS[:1]]
    reactions = []
    for n in range(count):
        injection = injections[n % len(injections)]
        onset = injection.date + timedelta(days=rng.randint(0, 6))
        reactions.append(
            Reaction(
                patient=patient,
                injection=injection,
                kind=rng.choice(kinds),
                severity=rng.choice(["mild", "moderate"]),
                onset_date=min(onset, patient.today()),
                resolved_date=min(onset + timedelta(days=3), patient.today()),
            )
        )
    Reaction.objects.bulk_create(reactions)


def summary_pdf_timing(patient: Patient, runs: int | None = None) -> Result | None:
    """The clinician's one-page summary PDF of the patient, as a clinician they share with
    downloads it (None where WeasyPrint is not installed: the view answers 503)."""
    from tracker.management.commands.seed_demo import give_demo_authenticator
    from tracker.models import Share, User

    clinician = User.objects.create_user(
        "bench-pdf-clinician", "bench-pdf@example.com", "bench-password", role="clinician"
    )
    give_demo_authenticator(clinician)
    Share.objects.create(patient=patient, clinician=clinician)
    client = logged_in(clinician)
    url = reverse("clinic_summary_pdf", args=[patient.pk])
    response = client.get(url)
    if response.status_code == 503:
        return None
    assert response["Content-Type"] == "application/pdf", (url, response.status_code)
    times, floors = [], []
    for _ in range(runs or FULL.pdf_runs):
        times.append(timed(lambda: client.get(url)))
        floors.append(floor_time(client))
    with counting() as queries:
        client.get(url)
    return Result(times, statements(queries), floors=floors)


def make_clinic(count: int, days: int) -> User:
    """A clinician whom `count` patients share with, each with `days` days of logs (about
    one in eight missed), an injection every 12-14 weeks, and an open red flag for 1 in 50."""
    from tracker.management.commands.seed_demo import give_demo_authenticator
    from tracker.models import DailyLog, Injection, Patient, PatientCondition, Reaction, Share, User

    rng = random.Random(count)
    clinician = User.objects.create_user(
        "bench-clinician", "bench-clinician@example.com", "bench-password", role="clinician"
    )
    give_demo_authenticator(clinician)  # the clinic list asks clinicians for a second factor
    users = User.objects.bulk_create(
        User(username=f"bench-clinic-{n}", first_name="Patient", last_name=f"{n:04}")
        for n in range(count)
    )
    patients = Patient.objects.bulk_create(
        Patient(user=user, time_zone="Europe/London") for user in users
    )
    conditions = [code for code, _ in catalog.CONDITION_CHOICES]
    PatientCondition.objects.bulk_create(
        PatientCondition(patient=patient, condition=conditions[n % len(conditions)])
        for n, patient in enumerate(patients)
    )
    Share.objects.bulk_create(Share(patient=patient, clinician=clinician) for patient in patients)
    today = patients[0].today()
    injections, logs, reactions = [], [], []
    for patient in patients:
        injected = [today - timedelta(days=rng.randint(0, 90))]
        while (today - injected[-1]).days + 90 < days:
            injected.append(injected[-1] - timedelta(days=rng.randint(84, 98)))
        injections += [
            Injection(patient=patient, date=day, product="botox", total_units=200)
            for day in injected
        ]
        for offset in range(days):
            day = today - timedelta(days=offset)
            if rng.random() < 0.12:
                continue
            earlier = [shot for shot in injected if shot <= day]
            since = (day - max(earlier)).days if earlier else None
            severity = 3 if since is not None and 7 <= since <= 75 else 7
            logs.append(DailyLog(patient=patient, date=day, severity=severity))
        if rng.random() < 0.02:
            reactions.append(
                Reaction(patient=patient, kind="breathing", severity="severe", onset_date=today)
            )
    Injection.objects.bulk_create(injections)
    DailyLog.objects.bulk_create(logs, batch_size=5000)
    Reaction.objects.bulk_create(reactions)
    return clinician


def check_in_timing(patient: Patient) -> Result:
    """Check-ins of new days saved one after another through PUT /api/v1/logs/<date>/, and the
    queries of one more."""
    client = logged_in(patient.user)
    today = patient.today()
    days = iter(today - timedelta(days=n) for n in range(SIZES.check_ins + 2))

    def put() -> None:
        response = client.put(f"/api/v1/logs/{next(days)}/", {"severity": 4}, "json", **BROWSER)
        assert response.status_code == 201, response.content

    put()  # warm
    times, floors = [], []
    for _ in range(SIZES.check_ins):
        times.append(timed(put))
        floors.append(floor_time(client))
    with counting() as queries:
        put()
    return Result(times, statements(queries), floors=floors)


def check_in_sync_timings(runs: int) -> Result:
    """A phone's batch of new check-ins alone (the hot path of sync), each run for a new
    patient; queries counted on one more."""
    times, floors = [], []
    for run in range(runs + 1):
        patient = make_patient(f"bench-check-ins-{run}", 0)
        client = logged_in(patient.user)
        today = patient.today()
        items = [
            new_item("log", (today - timedelta(days=n)).isoformat(), {"severity": n % 11})
            for n in range(SIZES.sync_check_ins)
        ]
        if run == runs:
            with counting() as queries:
                timed_sync(client, {"items": items}, expected=201)
        else:
            times.append(timed_sync(client, {"items": items}, expected=201))
            floors.append(floor_time(client))
    return Result(times, statements(queries), floors=floors)


def sync_size() -> int:
    return SIZES.sync_logs + SIZES.sync_injections + SIZES.sync_reactions


def sync_batch(today: date) -> list[dict]:
    """What a phone kept offline for a long while: a check-in for each of 400 days and 40
    injections and 60 reactions (at the full sizes), each new (version 0) with an id the
    phone chose."""
    sites = [
        {"muscle": "sternocleidomastoid", "side": "left", "units": "60"},
        {"muscle": "splenius_capitis", "side": "right", "units": "40"},
    ]
    days = [
        today - timedelta(days=n)
        for n in range(max(SIZES.sync_logs, 10 * SIZES.sync_injections, SIZES.sync_reactions))
    ]
    return [
        *(
            new_item("log", days[n].isoformat(), {"severity": n % 11, "pain": n % 7})
            for n in range(SIZES.sync_logs)
        ),
        *(
            new_item(
                "injection",
                str(uuid.uuid4()),
                {"date": days[10 * n].isoformat(), "product": "botox", "sites": sites},
            )
            for n in range(SIZES.sync_injections)
        ),
        *(
            new_item(
                "reaction",
                str(uuid.uuid4()),
                {"kind": "headache", "severity": "mild", "onset_date": days[n].isoformat()},
            )
            for n in range(SIZES.sync_reactions)
        ),
    ]


@dataclasses.dataclass(frozen=True)
class RowCounts:
    logs: int
    injections: int
    sites: int
    reactions: int

    @classmethod
    def of(cls, patient: Patient) -> RowCounts:
        from tracker.models import InjectionSite

        sites = InjectionSite.objects.filter(injection__patient=patient)
        return cls(
            patient.logs.count(),
            patient.injections.count(),
            sites.count(),
            patient.reactions.count(),
        )

    @property
    def total(self) -> int:
        return self.logs + self.injections + self.sites + self.reactions

    def __str__(self) -> str:
        return (
            f"{self.logs} logs, {self.injections} injections ({self.sites} sites), "
            f"{self.reactions} reactions"
        )


def sync_timings(runs: int) -> tuple[Result, Result, tuple[RowCounts, RowCounts]]:
    """The same batch of new items synced, then sent again (a response lost on the way), each
    time for a new patient. Queries and rows are counted on one more run, untimed, as counting
    slows each one down."""
    sync_times, replay_times, floors = [], [], []
    for run in range(runs):
        client, batch, _ = new_sync(f"bench-sync-{run}")
        sync_times.append(timed_sync(client, batch, expected=201))
        replay_times.append(timed_sync(client, batch, expected=200))
        floors.append(floor_time(client))
    client, batch, patient = new_sync("bench-sync-counted")
    queries, rows = [], []
    for expected in (201, 200):
        with counting() as captured:
            timed_sync(client, batch, expected)
        queries.append(statements(captured))
        rows.append(RowCounts.of(patient))
    return (
        Result(sync_times, queries[0], floors=floors),
        Result(replay_times, queries[1], floors=floors),
        tuple(rows),
    )


def new_sync(username: str) -> tuple[APIClient, dict, Patient]:
    patient = make_patient(username, 0)
    return logged_in(patient.user), {"items": sync_batch(patient.today())}, patient


def timed_sync(client: APIClient, batch: dict, expected: int) -> float:
    started = time.perf_counter()
    response = client.post("/api/v1/sync/", batch, format="json")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.content[:500]
    statuses = {item["status"] for item in response.json()["results"]}
    assert statuses == {expected}, [
        r for r in response.json()["results"] if r["status"] != expected
    ][:3]
    return elapsed


if __name__ == "__main__":
    sys.exit(main())
