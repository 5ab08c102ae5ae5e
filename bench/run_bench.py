"""The in-process benchmark, the first half of `make bench`. In a throw-away database: the
median server time, SQL queries and gzip bytes of the Relief page and /api/v1/cycles/ for 1 and
5 years of data, beside a minimal view; the clinician's summary PDF of 5 years of data; the
clinic list of 500 patients; the rate of check-ins saved through PUT /api/v1/logs/; one offline
sync of 500 new items and its replay. It prints whether each target is met.

    python -m bench.run_bench
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import django
from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext, setup_test_environment
from django.urls import reverse

from bench.loadbench import new_item
from tracker import catalog, triage

if TYPE_CHECKING:
    from rest_framework.test import APIClient

    from tracker.models import Injection, Patient, User

# The models, the demo data and DRF's test client need the app registry: they are imported
# where they are used, once main() has called django.setup().

REQUESTS = 60
WARM_UP = 5
YEAR, FIVE_YEARS = 365, 5 * 365 + 1
REACTIONS = 100
CLINIC_PATIENTS = 500
CLINIC_DAYS = 120
CHECK_INS = 300
SYNC_RUNS = 15  # each with a fresh patient, so every item of the batch is new
SYNC_LOGS, SYNC_INJECTIONS, SYNC_REACTIONS = 400, 40, 60  # 500 items in one batch
# A PDF takes WeasyPrint seconds, and the summary's downloads are throttled (30 an hour): a few
# runs after one to warm up (its fonts load on the first).
PDF_RUNS = 5


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("DJANGO_SECURE", "0")  # the test client asks over plain HTTP
    django.setup()
    parser = argparse.ArgumentParser(
        prog="python -m bench.run_bench", description=__doc__.split("\n\n")[0]
    )
    parser.parse_args(argv)
    run()
    return 0


def run() -> None:
    """Every measurement, in a test database made for the run and destroyed after it, with
    the app's URLs and the minimal view (bench/urls.py)."""
    setup_test_environment()
    with tempfile.TemporaryDirectory() as folder:
        test_db = settings.DATABASES["default"].setdefault("TEST", {})
        if connection.vendor == "sqlite":
            test_db["NAME"] = str(Path(folder) / "bench.sqlite3")
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            with override_settings(ROOT_URLCONF="bench.urls"):
                run_all()
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)


def run_all() -> None:
    one_year = make_patient("bench-1y", YEAR)
    five_years = make_patient("bench-5y", FIVE_YEARS)
    print(f"Relief Tracker benchmark on {connection.vendor}, DEBUG={settings.DEBUG}")
    print(f"median of {REQUESTS} requests after {WARM_UP} to warm up, in-process client\n")
    print(f"{'what':38} {'median ms':>9} {'p95 ms':>7} {'queries':>7} {'KB gzip':>8}")

    client = logged_in(five_years.user)
    base = measure(client, "/bench/minimal/")
    row("minimal view (same middleware)", base)
    rows = {}
    for label, patient in [("1 year", one_year), ("5 years", five_years)]:
        client = logged_in(patient.user)
        rows[f"relief {label}"] = page = measure(client, reverse("relief"), with_assets=True)
        row(f"Relief page, {label} (page + CSS + JS)", page)
        rows[f"cycles {label}"] = api = measure(client, "/api/v1/cycles/")
        row(f"GET /api/v1/cycles/, {label}", api)
    rows["pdf"] = summary = summary_pdf_timing(five_years)
    if summary:
        row("Summary PDF, 5 years", summary)
    else:
        print(f"{'Summary PDF, 5 years':38} not measured: WeasyPrint is not installed here")
    clinician = make_clinic(CLINIC_PATIENTS, CLINIC_DAYS)
    client = logged_in(clinician)
    triage.cycle_figures.cache_clear()  # the first load computes every patient's cycles
    first = timed(lambda: client.get(reverse("clinic")))
    rows["clinic"] = clinic = measure(client, reverse("clinic"))
    row(f"Clinic list, {CLINIC_PATIENTS} patients", clinic)
    print(f"{'  its first load (cycles not yet known)':38} {first * 1000:9.2f}")

    rate = check_in_rate(make_patient("bench-put", 0))
    print(f"\nPUT /api/v1/logs/<date>/, one after another: {rate:.0f} check-ins/s\n")

    sync, replay, sync_rows = sync_timings(SYNC_RUNS)
    print(f"POST /api/v1/sync/, median of {SYNC_RUNS} batches")
    print(f"{'what':38} {'median ms':>9} {'p95 ms':>7} {'queries':>7}")
    row(f"sync {sync_size()} new items", sync)
    row("replay of the same batch", replay)
    after_sync, after_replay = sync_rows
    print(f"  rows after the sync: {after_sync}; after the replay: {after_replay}\n")

    page = rows["relief 5 years"]
    print("Targets (5 years of data):")
    target("Relief page ≤ 30 ms median", page.median_ms <= 30)
    ratio = page.median_ms / base.median_ms
    target(f"Relief page ≤ 5× the minimal view ({ratio:.1f}×)", ratio <= 5)
    target("Relief page ≤ 8 queries", page.queries <= 8)
    same = rows["relief 1 year"].queries == page.queries
    target("same query count for 1 and 5 years", same)
    target("first load ≤ 100 KB gzip", page.gzip_bytes <= 100_000)
    target("summary PDF < 5 s median", bool(summary) and summary.median_ms < 5000)
    print(f"Targets (clinic of {CLINIC_PATIENTS} patients):")
    target("Clinic list ≤ 150 ms median", clinic.median_ms <= 150)
    print(f"Targets (offline sync of {sync_size()} items):")
    target("sync ≤ 300 ms median", sync.median_ms <= 300)
    target(
        f"the replay adds no rows ({after_replay.total} before and after)",
        after_sync == after_replay,
    )
    print(
        f"Benchmark done: Relief page {page.median_ms:.1f} ms, {page.queries} queries, "
        f"{page.gzip_bytes / 1000:.1f} KB gzip; summary PDF "
        f"{f'{summary.median_ms / 1000:.1f} s' if summary else 'not measured'}; "
        f"{rate:.0f} check-ins/s; clinic list "
        f"{clinic.median_ms:.1f} ms, {clinic.queries} queries; sync of {sync_size()} new "
        f"items {sync.median_ms:.0f} ms, its replay {replay.median_ms:.0f} ms."
    )


def row(label: str, result: Result) -> None:
    size = f"{result.gzip_bytes / 1000:8.1f}" if result.gzip_bytes else f"{'':8}"
    print(f"{label:38} {result.median_ms:9.2f} {result.p95_ms:7.2f} {result.queries:7} {size}")


def target(label: str, ok: bool) -> None:
    print(f"  {'met ' if ok else 'MISSED'}  {label}")


class Result:
    def __init__(self, times: list[float], queries: int, gzip_bytes: int):
        self.median_ms = statistics.median(times) * 1000
        self.p95_ms = statistics.quantiles(times, n=20)[-1] * 1000
        self.queries = queries
        self.gzip_bytes = gzip_bytes


def measure(client: APIClient, url: str, with_assets: bool = False) -> Result:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    for _ in range(WARM_UP):
        client.get(url)
    times = [timed(lambda: client.get(url)) for _ in range(REQUESTS)]
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    body = response.content
    size = len(gzip.compress(body, 9))
    if with_assets:
        size += sum(len(gzip.compress(asset, 9)) for asset in page_assets(body.decode()))
    return Result(times, len(queries), size if with_assets else 0)


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
    return client


def make_patient(username: str, days: int) -> Patient:
    from tracker.management.commands.seed_demo import generate_diary
    from tracker.models import Patient, PatientCondition, User

    user = User.objects.create_user(username, f"{username}@example.com", "bench-password")
    patient = Patient.objects.create(user=user, time_zone="Europe/London")
    PatientCondition.objects.create(patient=patient, condition="cervical_dystonia")
    if days:
        injections = generate_diary(patient, days)
        add_reactions(patient, injections, REACTIONS - patient.reactions.count())
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


def summary_pdf_timing(patient: Patient) -> Result | None:
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
    times = [timed(lambda: client.get(url)) for _ in range(PDF_RUNS)]
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return Result(times, len(queries), 0)


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


def check_in_rate(patient: Patient) -> float:
    client = logged_in(patient.user)
    today = patient.today()
    days = [today - timedelta(days=n) for n in range(CHECK_INS)]
    started = time.perf_counter()
    for n, day in enumerate(days):
        response = client.put(f"/api/v1/logs/{day.isoformat()}/", {"severity": n % 11}, "json")
        assert response.status_code == 201, response.content
    return CHECK_INS / (time.perf_counter() - started)


def sync_size() -> int:
    return SYNC_LOGS + SYNC_INJECTIONS + SYNC_REACTIONS


def sync_batch(today: date) -> list[dict]:
    """What a phone kept offline for a long while: a check-in for each of 400 days and 40
    injections and 60 reactions, each new (version 0) with an id the phone chose."""
    sites = [
        {"muscle": "sternocleidomastoid", "side": "left", "units": "60"},
        {"muscle": "splenius_capitis", "side": "right", "units": "40"},
    ]
    days = [today - timedelta(days=n) for n in range(max(SYNC_LOGS, 10 * SYNC_INJECTIONS))]
    return [
        *(
            new_item("log", days[n].isoformat(), {"severity": n % 11, "pain": n % 7})
            for n in range(SYNC_LOGS)
        ),
        *(
            new_item(
                "injection",
                str(uuid.uuid4()),
                {"date": days[10 * n].isoformat(), "product": "botox", "sites": sites},
            )
            for n in range(SYNC_INJECTIONS)
        ),
        *(
            new_item(
                "reaction",
                str(uuid.uuid4()),
                {"kind": "headache", "severity": "mild", "onset_date": days[n].isoformat()},
            )
            for n in range(SYNC_REACTIONS)
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
    sync_times, replay_times = [], []
    for run in range(runs):
        client, batch, _ = new_sync(f"bench-sync-{run}")
        sync_times.append(timed_sync(client, batch, expected=201))
        replay_times.append(timed_sync(client, batch, expected=200))
    client, batch, patient = new_sync("bench-sync-counted")
    queries, rows = [], []
    for expected in (201, 200):
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            timed_sync(client, batch, expected)
        queries.append(len(captured))
        rows.append(RowCounts.of(patient))
    return Result(sync_times, queries[0], 0), Result(replay_times, queries[1], 0), tuple(rows)


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
