"""wger beside us, in the same run, as issue 14 asks: wger (wger-project/wger, Django + DRF, its
users log their body weight daily) and Relief Tracker each behind one sync gunicorn worker on
loopback, each with a throw-away SQLite database of one person's 1,800 daily entries, and the
requests alternated between them (ours, wger's, ours, ...) so that both see the same machine.

Goals (issue 14): our Relief page computed afresh (cold) takes at most half the time of wger's
API answering all the entries; our list API's entries, gzipped, are no larger than wger's. Cold
is measured twice: after a new check-in (the patient's everyday case, the first view of a day
included: the page is computed again from the recent check-ins, read afresh, and the diary's
older part, which comes from the cache: tracker/diary_kept.py, read_diary_kept), and with nothing
of the diary in the cache (the first view after a release, after a write to the older part,
or after the cache was lost).
Also printed: our all-entries API beside wger's, warm Relief, and check-in writes per second.

    python -m bench.wger                  # 1,800 entries, 30 requests each after 5 to warm up
    python -m bench.wger --quick          # 60 entries, 3 requests: that it runs
    python -m bench.wger --json out.json  # the results, for bench/run_bench.py or the Makefile

wger is installed from PyPI once, in its own virtualenv (.bench/wger-venv, git-ignored). If it
will not install or start, this prints "wger not measured: <why>" and exits 0. bench/WGER.md
tells how it is set up and what it found.
"""

import argparse
import contextlib
import dataclasses
import datetime as dt
import gzip
import http.client
import itertools
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie
from pathlib import Path

from bench.loadbench import CSRF_TOKEN, fmt_ms, percentile_ms
from bench.two_servers import Process, app_environment, free_port

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
WGER_VERSION = "2.1"  # the newest on PyPI; issue 14 measured 2.4, which PyPI does not hold
WGER_VENV = BASE_DIR / ".bench" / "wger-venv"
# A Redis database number of its own (two_servers and the tests use 12 to 15).
REDIS_URL = os.environ.get("RELIEF_BENCH_WGER_REDIS", "redis://127.0.0.1:6379/11")
BROWSER_ENCODING = "gzip, deflate, br"
GZIP_LEVEL = 6  # both apps' bodies gzipped by us at this level: wger 2.1 compresses nothing
OUR_PAGE = 1000  # entries per page of GET /api/v1/logs/, as run_bench.list_timing asks
COLD_SHARE = 0.5  # goal 1: cold Relief at most this share of wger's all-entries time
KEPT = ("diary", "drawn")  # the cache's kinds of keys computed from diaries


@dataclasses.dataclass(frozen=True)
class Sizes:
    entries: int = 1800  # daily entries of the one person in each app
    requests: int = 30  # timed, each app, each figure
    warm_up: int = 5  # each app, each figure, before the timed ones


FULL = Sizes()
QUICK = Sizes(entries=60, requests=3, warm_up=1)


class NotMeasured(Exception):
    """wger could not be installed or started: the benchmark says why and goes on."""


# ---- The verdict (pure: bench/tests/test_wger.py) ----


@dataclasses.dataclass
class Row:
    """One figure: our times beside wger's (seconds), and the goal on their ratio, if any."""

    label: str
    ours: list[float]
    wger: list[float]
    max_ratio: float | None = None  # goal: ours' median / wger's median at most this

    @property
    def ratio(self) -> float:
        return percentile_ms(self.ours, 50) / percentile_ms(self.wger, 50)

    @property
    def met(self) -> bool | None:
        return None if self.max_ratio is None else self.ratio <= self.max_ratio

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "ours_median_ms": percentile_ms(self.ours, 50),
            "ours_p95_ms": percentile_ms(self.ours, 95),
            "wger_median_ms": percentile_ms(self.wger, 50),
            "wger_p95_ms": percentile_ms(self.wger, 95),
            "ratio": self.ratio,
            "max_ratio": self.max_ratio,
            "met": self.met,
        }


def verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: ""}[met]


def rows_table(rows: list[Row]) -> str:
    """The times, ms: ours and wger's median and p95, their ratio, the goal and its verdict."""
    lines = [
        f"{'what':40} {'ours p50':>8} {'p95':>7} {'wger p50':>8} {'p95':>7} {'ratio':>6}  "
        f"{'goal':10} verdict"
    ]
    for row in rows:
        data = row.as_dict()
        goal = "–" if row.max_ratio is None else f"≤ {row.max_ratio:g}×"
        lines.append(
            f"{row.label:40} {fmt_ms(data['ours_median_ms']):>8} {fmt_ms(data['ours_p95_ms']):>7} "
            f"{fmt_ms(data['wger_median_ms']):>8} {fmt_ms(data['wger_p95_ms']):>7} "
            f"{row.ratio:6.2f}  {goal:10} {verdict(row.met)}".rstrip()
        )
    return "\n".join(lines)


@dataclasses.dataclass
class EntryBytes:
    """All the entries' bodies: gzipped by us at GZIP_LEVEL, and as each server sent them to a
    browser (Accept-Encoding: gzip, deflate, br)."""

    ours_gzip: int
    wger_gzip: int
    ours_sent: int
    wger_sent: int

    @property
    def met(self) -> bool:
        return self.ours_gzip <= self.wger_gzip

    def text(self) -> str:
        return (
            f"all entries, gzip -{GZIP_LEVEL}: ours {self.ours_gzip:,} B, wger {self.wger_gzip:,}"
            f" B, ratio {self.ours_gzip / self.wger_gzip:.2f}, goal ours ≤ wger: "
            f"{verdict(self.met)}\n"
            f"as sent to a browser: ours {self.ours_sent:,} B, wger {self.wger_sent:,} B"
        )


def writes_per_second(seconds: list[float]) -> float:
    """Sequential writes: how many one client gets done in a second, one after another."""
    return len(seconds) / sum(seconds)


def report(rows: list[Row], sizes: EntryBytes, writes: Row, about: dict) -> dict:
    """Everything measured, for --json and for the printed summary."""
    goals = [row.met for row in rows if row.met is not None] + [sizes.met]
    return {
        "measured": True,
        **about,
        "rows": [row.as_dict() for row in [*rows, writes]],
        "bytes": dataclasses.asdict(sizes) | {"met": sizes.met, "gzip_level": GZIP_LEVEL},
        "writes_per_second": {
            "ours": writes_per_second(writes.ours),
            "wger": writes_per_second(writes.wger),
        },
        "goals_met": all(goals),
    }


def summary_text(result: dict, rows: list[Row], sizes: EntryBytes, writes: Row) -> str:
    per_second = result["writes_per_second"]
    met = "every goal met" if result["goals_met"] else "a goal MISSED"
    return "\n".join(
        [
            f"wger {result['wger_version']} beside Relief Tracker: {result['entries']:,} daily "
            f"entries each (ours: {result['our_check_ins']:,} check-ins, "
            f"{result['our_injections']} injections), one sync gunicorn worker each, SQLite, "
            f"{result['requests']} alternated requests each after {result['warm_up']} to warm "
            f"up; cold: {result['cold_by']}; wger's all entries: GET {result['wger_all_entries']}"
            "; times in ms",
            rows_table([*rows, writes]),
            sizes.text(),
            f"writes/s, one after another: ours {per_second['ours']:.0f}, "
            f"wger {per_second['wger']:.0f}",
            f"issue 14's goals against wger: {met}",
        ]
    )


# ---- HTTP ----


@dataclasses.dataclass
class Answer:
    status: int
    body: bytes  # as sent: compressed if the server compressed it
    encoding: str
    seconds: float


class Client:
    """One person's browser or app on one server: a new connection for each request (a sync
    gunicorn worker closes each one), and the cookies the server sets sent back as a browser
    does (wger writes a new session for every request that comes without its cookie)."""

    def __init__(self, name: str, port: int, headers: dict[str, str], cookies: dict[str, str]):
        self.name, self.port, self.headers, self.cookies = name, port, headers, dict(cookies)

    def request(
        self, method: str, path: str, body: dict | None = None, encoding: str = BROWSER_ENCODING
    ) -> Answer:
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        headers = self.headers | {"Accept-Encoding": encoding, "Cookie": cookie}
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        connection = http.client.HTTPConnection(HOST, self.port, timeout=120)
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        seconds = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies |= {name: morsel.value for name, morsel in SimpleCookie(header).items()}
        encoding = response.headers.get("Content-Encoding", "")
        return Answer(response.status, content, encoding, seconds)

    def ok(self, method: str, path: str, body: dict | None = None, **kwargs) -> Answer:
        answer = self.request(method, path, body, **kwargs)
        if answer.status not in (200, 201):
            problem = (
                f"{self.name}: {method} {path} answered {answer.status}: {answer.body[:300]!r}"
            )
            raise NotMeasured(problem) if self.name == "wger" else RuntimeError(problem)
        return answer


def wait_ready(server: "Server", client: Client, path: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise NotMeasured(f"{server.log.stem}'s server exited:\n{server.tail()}")
        with contextlib.suppress(OSError):
            if client.request("GET", path).status == 200:
                return
        time.sleep(0.2)
    raise NotMeasured(f"{server.log.stem}: GET {path} never answered 200:\n{server.tail()}")


class Server(Process):
    """ONE sync gunicorn worker on a free loopback port, its log in `folder`."""

    def __init__(self, python: Path | str, app: str, env: dict, folder: Path, name: str):
        self.port = free_port()
        command = [
            *(str(python), "-m", "gunicorn", app, "--bind", f"{HOST}:{self.port}"),
            *("--workers", "1", "--worker-class", "sync", "--timeout", "120"),
            *("--chdir", str(folder if name == "wger" else BASE_DIR)),
        ]
        super().__init__(command, env, folder / f"{name}.log")


# ---- wger: its virtualenv, its database, its server ----


def wger_python() -> Path:
    """wger's interpreter, installing wger (and the gunicorn we run) from PyPI the first time."""
    python = WGER_VENV / "bin" / "python"
    check = [str(python), "-c", "import wger, gunicorn"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    from importlib.metadata import version

    gunicorn = f"gunicorn=={version('gunicorn')}"  # the same as ours
    print(f"Installing wger {WGER_VERSION} in {WGER_VENV} (once) ...", flush=True)
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(WGER_VENV)],
        [str(python), "-m", "pip", "install", "-q", f"wger=={WGER_VERSION}", gunicorn],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=900)
        if done.returncode:
            lines = [line for line in done.stderr.splitlines() if "ignored" not in line]
            raise NotMeasured(f"{' '.join(step[:4])} failed: {' '.join(lines[-3:])}")
    return python


WGER_SETTINGS = """\
from wger.settings_global import *  # noqa: F403

DEBUG = False
SECRET_KEY = {secret!r}
ALLOWED_HOSTS = [{host!r}]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {database!r}}}}}
MEDIA_ROOT = {media!r}
SITE_URL = "http://{host}"
# Google's test reCAPTCHA keys, never used here: the check refuses to start without DEBUG.
SILENCED_SYSTEM_CHECKS = ["captcha.recaptcha_test_key_error"]
"""

# What `wger bootstrap` loads before the first user: a profile needs a gym and a language.
WGER_FIXTURES = [
    *("gym", "languages", "groups", "users", "licenses", "days_of_week"),
    *("setting_repetition_units", "setting_weight_units", "language_config", "gym_config"),
]

WGER_PERSON = """
import datetime as dt, json, os
from decimal import Decimal
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from wger.weight.models import WeightEntry

days = int(os.environ["RELIEF_BENCH_DAYS"])
user = User.objects.create_user("bench", "bench@example.com", "wger bench")
first = dt.date.today() - dt.timedelta(days=days - 1)
WeightEntry.objects.bulk_create(
    WeightEntry(user=user, date=first + dt.timedelta(days=n), weight=Decimal(700 + n % 97) / 10)
    for n in range(days)
)
print(json.dumps({"token": Token.objects.create(user=user).key, "first_day": str(first)}))
"""


def wger_site(python: Path, folder: Path, days: int) -> tuple[dict, dict]:
    """wger's environment (its settings in `folder`) and its person: an API token and the day
    of the first entry."""
    (folder / "wger_bench_settings.py").write_text(
        WGER_SETTINGS.format(
            secret=secrets.token_urlsafe(50),
            host=HOST,
            database=str(folder / "wger.sqlite3"),
            media=str(folder / "media"),
        )
    )
    env = os.environ | {
        "PYTHONPATH": str(folder),
        "DJANGO_SETTINGS_MODULE": "wger_bench_settings",
        "RELIEF_BENCH_DAYS": str(days),
    }
    admin = [str(python), "-m", "django"]
    run([*admin, "migrate", "--verbosity", "0"], env, folder, "wger migrate")
    run([*admin, "loaddata", *WGER_FIXTURES, "--verbosity", "0"], env, folder, "wger fixtures")
    person = run([*admin, "shell", "-c", WGER_PERSON], env, folder, "wger's person")
    return env, json.loads(person.strip().splitlines()[-1])


def run(command: list[str], env: dict, folder: Path, what: str) -> str:
    done = subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True)
    if done.returncode:
        raise NotMeasured(f"{what} failed: {done.stderr.strip()[-1500:]}")
    return done.stdout


# ---- Ours: the database, the person, the cache ----

OUR_PERSON = """
import json, os
from datetime import timedelta
from django.conf import settings
from django.db.models import F
from bench.loadbench import open_session
from bench.run_bench import make_patient
from tracker.models import DailyLog, Patient

days = int(os.environ["RELIEF_BENCH_DAYS"])
patient = make_patient("bench-wger", days)
# seed_demo misses about one day in ten, as people do: those days get the day before's
# severity, so that both apps hold one entry a day. bulk_create goes around the diary's
# revision (tracker/revisions.py), so it is raised here.
first = patient.today() - timedelta(days=days - 1)
kept, missing, severity = dict(patient.logs.values_list("date", "severity")), [], 5
for day in (first + timedelta(days=n) for n in range(days)):
    if day in kept:
        severity = kept[day]
    else:
        missing.append(DailyLog(patient=patient, date=day, severity=severity))
DailyLog.objects.bulk_create(missing)
Patient.objects.filter(pk=patient.pk).update(
    diary_revision=F("diary_revision") + 1, history_revision=F("history_revision") + 1
)
print(json.dumps({
    "session": open_session(patient.user),
    "session_cookie": settings.SESSION_COOKIE_NAME,
    "csrf_cookie": settings.CSRF_COOKIE_NAME,
    "patient": patient.pk,
    "first_day": str(first),
    "today": str(patient.today()),
    "logs": patient.logs.count(),
    "injections": patient.injections.count(),
}))
"""


def our_site(folder: Path, days: int, redis_url: str) -> tuple[dict, dict]:
    """Our production environment (DEBUG off, plain HTTP on loopback) on a new SQLite file,
    and the patient: run_bench's, with seed_demo's diary (an injection every ~12 weeks)."""
    env = app_environment(
        f"sqlite:///{folder / 'ours.sqlite3'}",
        redis_url,
        folder,
        DJANGO_DATA_DIR=str(folder),
        DJANGO_MANIFEST_STATIC="0",  # no collectstatic needed; WhiteNoise finds the files
        RELIEF_BENCH_DAYS=str(days),
    )
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    run([*manage, "migrate", "--verbosity", "0"], env, BASE_DIR, "our migrate")
    person = run([*manage, "shell", "-c", OUR_PERSON], env, BASE_DIR, "our patient")
    return env, json.loads(person.strip().splitlines()[-1])


def redis_or_none(url: str):
    """A client of our Redis database number, emptied; None if no Redis answers."""
    try:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=2)
        client.flushdb()
        return client
    except Exception:  # not installed, or nothing answers: the revision is bumped instead
        return None


def cache_emptier(redis_client, database: Path, patient: int) -> Callable[[], None]:
    """What makes our next Relief page compute afresh: everything computed from diaries
    deleted from Redis (tracker/relief_cache.py keys them 'diary:...' and 'drawn:...'; the
    sessions stay), or without Redis the patient's diary and history revisions raised in the
    database, which key the pages and the diary's older part."""
    if redis_client is not None:

        def empty() -> None:
            for kind in KEPT:
                keys = list(redis_client.scan_iter(match=f"*{kind}:*", count=1000))
                if keys:
                    redis_client.delete(*keys)

        return empty

    def bump() -> None:
        with contextlib.closing(sqlite3.connect(database)) as db, db:
            db.execute(
                "UPDATE tracker_patient SET diary_revision = diary_revision + 1, "
                "history_revision = history_revision + 1 WHERE id = ?",
                (patient,),
            )

    return bump


# ---- Measuring ----


def alternate(ours: Callable[[], float], wger: Callable[[], float], sizes: Sizes) -> tuple:
    """Ours, wger's, ours, ...: warm-up rounds, then the timed ones; each call gives seconds."""
    for _ in range(sizes.warm_up):
        ours(), wger()
    timed = [(ours(), wger()) for _ in range(sizes.requests)]
    return [pair[0] for pair in timed], [pair[1] for pair in timed]


def our_pages(entries: int) -> list[str]:
    """Every check-in through GET /api/v1/logs/, a page of 1,000 at a time (list_timing's)."""
    return [
        f"/api/v1/logs/?limit={OUR_PAGE}&offset={offset}" for offset in range(0, entries, OUR_PAGE)
    ]


def wger_all_path(entries: int) -> str:
    """Every entry in one answer: wger's LimitOffsetPagination sets no largest limit."""
    return f"/api/v2/weightentry/?limit={entries + 200}"


def measure_reads(
    ours: Client, wger: Client, entries: int, empty: Callable, today: str, sizes: Sizes
) -> list["Row"]:
    """The rows of times (Relief after a check-in, with nothing kept, warm; all entries)
    beside wger's all entries. The check-in itself is not timed, nor is emptying the cache."""
    pages, wger_all = our_pages(entries), wger_all_path(entries)
    scores = itertools.cycle(range(11))

    def our_list() -> float:
        return sum(ours.ok("GET", page).seconds for page in pages)

    def wger_list() -> float:
        return wger.ok("GET", wger_all).seconds

    def relief_after_check_in() -> float:
        ours.ok("PUT", f"/api/v1/logs/{today}/", {"severity": next(scores)})
        return ours.ok("GET", "/relief/").seconds

    def relief_cold() -> float:
        empty()
        return ours.ok("GET", "/relief/").seconds

    def relief_warm() -> float:
        return ours.ok("GET", "/relief/").seconds

    return [
        Row(
            "Relief after a check-in / wger all",
            *alternate(relief_after_check_in, wger_list, sizes),
            COLD_SHARE,
        ),
        Row(
            "Relief, nothing kept / wger all", *alternate(relief_cold, wger_list, sizes), COLD_SHARE
        ),
        Row("Relief warm / wger all entries", *alternate(relief_warm, wger_list, sizes)),
        Row("all entries API (ours: pages of 1,000)", *alternate(our_list, wger_list, sizes)),
    ]


def measure_bytes(ours: Client, wger: Client, entries: int) -> EntryBytes:
    """The entries' bodies asked for uncompressed and gzipped here, the same way for both; and
    as each server sends them to a browser."""
    pages, wger_all = our_pages(entries), wger_all_path(entries)
    wger_body = wger.ok("GET", wger_all, encoding="identity").body
    if json.loads(wger_body)["count"] != entries:
        raise NotMeasured(f"wger's answer does not hold the {entries} entries")
    return EntryBytes(
        ours_gzip=sum(gzipped(ours.ok("GET", page, encoding="identity").body) for page in pages),
        wger_gzip=gzipped(wger_body),
        ours_sent=sum(len(ours.ok("GET", page).body) for page in pages),
        wger_sent=len(wger.ok("GET", wger_all).body),
    )


def gzipped(body: bytes) -> int:
    return len(gzip.compress(body, GZIP_LEVEL))


def measure_writes(ours: Client, wger: Client, firsts: tuple[str, str], sizes: Sizes) -> Row:
    """New days before each diary's first one, one after another: our check-in PUT beside
    wger's POST of a weight."""
    ours_days, wger_days = (days_before(first) for first in firsts)

    def ours_write() -> float:
        return ours.ok("PUT", f"/api/v1/logs/{next(ours_days)}/", {"severity": 4}).seconds

    def wger_write() -> float:
        body = {"date": next(wger_days), "weight": "72.5"}
        return wger.ok("POST", "/api/v2/weightentry/", body).seconds

    return Row("check-in write (PUT / POST)", *alternate(ours_write, wger_write, sizes))


def days_before(first: str) -> Iterator[str]:
    day = dt.date.fromisoformat(first)
    while True:
        day -= dt.timedelta(days=1)
        yield day.isoformat()


# ---- The run ----


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.wger", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="60 entries, 3 requests: a smoke test")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    options = parser.parse_args(argv)
    try:
        result = run_both(QUICK if options.quick else FULL)
    except NotMeasured as exc:
        print(f"wger not measured: {exc}")
        result = {"measured": False, "reason": str(exc)}
    if options.json:
        options.json.write_text(json.dumps(result, indent=2))
    return 0


def run_both(sizes: Sizes) -> dict:
    """Both apps, each in its own throw-away database and gunicorn, measured side by side."""
    python = wger_python()
    redis_client = redis_or_none(REDIS_URL)
    with tempfile.TemporaryDirectory(prefix="rt-wger-") as name, contextlib.ExitStack() as stack:
        folder = Path(name)
        wger_env, wger_person = wger_site(python, folder, sizes.entries)
        our_env, our_person = our_site(folder, sizes.entries, REDIS_URL if redis_client else "")
        servers = {
            "wger": Server(python, "wger.wsgi:application", wger_env, folder, "wger"),
            "ours": Server(sys.executable, "project.wsgi:application", our_env, folder, "ours"),
        }
        for server in servers.values():
            stack.callback(server.stop)
        token = {"Authorization": f"Token {wger_person['token']}"}
        wger = Client("wger", servers["wger"].port, token, {})
        cookies = {our_person["session_cookie"]: our_person["session"]}
        cookies[our_person["csrf_cookie"]] = CSRF_TOKEN
        ours = Client("ours", servers["ours"].port, {"X-CSRFToken": CSRF_TOKEN}, cookies)
        wait_ready(servers["wger"], wger, "/api/v2/")
        wait_ready(servers["ours"], ours, "/healthz")
        empty = cache_emptier(redis_client, folder / "ours.sqlite3", our_person["patient"])
        rows = measure_reads(ours, wger, sizes.entries, empty, our_person["today"], sizes)
        entry_bytes = measure_bytes(ours, wger, sizes.entries)
        writes = measure_writes(
            ours, wger, (our_person["first_day"], wger_person["first_day"]), sizes
        )
    about = {
        "wger_version": installed_version(python),
        "entries": sizes.entries,
        "our_check_ins": our_person["logs"],
        "our_injections": our_person["injections"],
        "requests": sizes.requests,
        "warm_up": sizes.warm_up,
        "wger_all_entries": wger_all_path(sizes.entries),
        "cold_by": "diary and drawn keys deleted from Redis"
        if redis_client
        else "diary and history revisions raised",
    }
    result = report(rows, entry_bytes, writes, about)
    print(summary_text(result, rows, entry_bytes, writes))
    return result


def installed_version(python: Path) -> str:
    code = "from importlib.metadata import version; print(version('wger'))"
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
