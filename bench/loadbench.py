"""The load benchmark (`python -m bench.run_load_bench`, part of `make bench`).

Simulated phones send their offline outboxes to POST /api/v1/sync/ through gunicorn on
loopback. The answer to some batches never reaches the phone, which sends the same batch
again, as the app's outbox does. The server must end with every entry exactly once, each at
version 1 (a replay changes nothing), and must never answer 5xx.

Three parts: what the phones send and when they lose an answer (pure, no Django); the phones
themselves (threads speaking plain HTTP); and the server's side (the patients and their
sessions in a fresh database, gunicorn, its logs and the final counts).
"""

import contextlib
import dataclasses
import datetime as dt
import http.client
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

SYNC_PATH = "/api/v1/sync/"
HEALTH_PATH = "/healthz"
HOST = "127.0.0.1"

HANG_UP = "hung up before the answer"
DISCARD = "answer thrown away"

MAX_FAILURES = 6  # connection errors or 5xx for one batch, before the phone gives up
MAX_THROTTLED = 10
REQUEST_TIMEOUT = 60.0  # seconds; gunicorn's own worker timeout is 30
CSRF_TOKEN = "loadbenchcsrftoken00000000000000"  # 32 letters and digits, as Django makes them


def default_workers() -> int:
    """Gunicorn's advice for sync workers: two per core, plus one."""
    return 2 * (os.cpu_count() or 1) + 1


@dataclasses.dataclass(frozen=True)
class Plan:
    patients: int = 50
    entries: int = 200  # per patient
    batch_size: int = 20
    drop_every: int = 3  # the answer to every n-th batch is lost (0: none)
    workers: int = dataclasses.field(default_factory=default_workers)

    @property
    def batches_per_patient(self) -> int:
        return math.ceil(self.entries / self.batch_size)

    @property
    def total_entries(self) -> int:
        return self.patients * self.entries

    def lost_answer(self, patient: int, batch: int) -> str | None:
        """How the answer to this batch is lost, if it is: every `drop_every`-th batch of the
        whole run, alternately by hanging up before it came and by throwing it away."""
        if not self.drop_every:
            return None
        number = patient * self.batches_per_patient + batch
        if number % self.drop_every:
            return None
        return HANG_UP if (number // self.drop_every) % 2 == 0 else DISCARD


# ---- What a phone sends: its outbox, oldest first, as static/js/outbox.js makes it ----

CYCLE_DAYS = 84  # an injection every 12 weeks
SITES = [
    {"muscle": "sternocleidomastoid", "side": "left", "units": "50"},
    {"muscle": "splenius_capitis", "side": "right", "units": "70"},
    {"muscle": "trapezius", "side": "right", "units": "40"},
    {"muscle": "levator_scapulae", "side": "right", "units": "40"},
]
# Reactions in the days after each injection: (day of the cycle, kind, severity, days to go).
REACTIONS = [
    (1, "site_pain", "mild", 2),
    (1, "site_bruising", "mild", 4),
    (2, "headache", "moderate", 1),
    (9, "swallowing_mild", "mild", 12),
]


def outbox(count: int, last_day: dt.date) -> list[dict]:
    """`count` sync items as a patient's phone queues them, oldest first, ending on
    `last_day`: a check-in every day, an injection every 12 weeks (after that day's
    check-in) and reactions in the days that follow, tied to their injection."""
    planned: list[tuple[int, str, tuple]] = []
    day = 0
    while len(planned) < count:
        cycle_day = day % CYCLE_DAYS
        planned.append((day, "log", (cycle_day,)))
        if cycle_day == 0:
            planned.append((day, "injection", ()))
        planned += [(day, "reaction", details) for on, *details in REACTIONS if on == cycle_day]
        day += 1
    planned = planned[:count]
    first_day = last_day - dt.timedelta(days=planned[-1][0])
    items, injection = [], None
    for offset, kind, details in planned:
        date = first_day + dt.timedelta(days=offset)
        if kind == "log":
            items.append(log_item(date, *details))
        elif kind == "injection":
            items.append(injection := injection_item(date))
        else:
            items.append(reaction_item(date, injection["key"], last_day, *details))
    return items


def new_item(kind: str, key: str, data: dict) -> dict:
    """An outbox item for a record the server has not seen (version 0)."""
    return {"type": kind, "op": "put", "key": key, "base_version": 0, "data": data}


def log_item(date: dt.date, cycle_day: int) -> dict:
    # Worse before the toxin works and after it wears off; a little noise from the date.
    severity = (7 if cycle_day < 10 or cycle_day > 70 else 3) + date.toordinal() % 3 - 1
    data = {"severity": severity, "spasm_frequency": None, "pain": None, "note": ""}
    if date.toordinal() % 4 == 0:
        data["pain"] = max(severity - 1, 0)
    return new_item("log", date.isoformat(), data)


def injection_item(date: dt.date) -> dict:
    data = {
        "date": date.isoformat(),
        "product": "botox",
        "sites": SITES,
        "guidance": "emg",
        "injector": "",
        "notes": "",
    }
    return new_item("injection", str(uuid.uuid4()), data)


def reaction_item(
    date: dt.date,
    injection: str,
    last_day: dt.date,
    kind: str,
    severity: str,
    lasts: int,
) -> dict:
    resolved = date + dt.timedelta(days=lasts)
    data = {
        "kind": kind,
        "severity": severity,
        "onset_date": date.isoformat(),
        "resolved_date": resolved.isoformat() if resolved <= last_day else None,
        "injection": injection,
        "pain_reliever": "paracetamol" if kind == "headache" else "",
        "pain_reliever_dose": "1 g" if kind == "headache" else "",
        "note": "",
    }
    return new_item("reaction", str(uuid.uuid4()), data)


def batches(items: list[dict], size: int) -> Iterator[list[dict]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---- The phones: plain HTTP from threads ----


@dataclasses.dataclass
class Phone:
    index: int
    patient_id: int
    session_key: str
    items: list[dict]
    session_cookie: str = "sessionid"
    csrf_cookie: str = "csrftoken"

    def headers(self) -> dict[str, str]:
        cookies = f"{self.session_cookie}={self.session_key}; {self.csrf_cookie}={CSRF_TOKEN}"
        return {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Cookie": cookies,
            "X-CSRFToken": CSRF_TOKEN,
        }


@dataclasses.dataclass
class BatchResult:
    phone: int
    index: int
    size: int
    lost: str | None  # how the first answer was lost, if it was
    attempts: int = 0
    seconds: float = 0.0  # from the first send to the answer the phone kept
    answered: list[float] = dataclasses.field(default_factory=list)  # each answer's time
    statuses: Counter = dataclasses.field(default_factory=Counter)  # of the kept answer's items
    unexpected: list[dict] = dataclasses.field(default_factory=list)
    server_errors: int = 0  # 5xx answers the phone saw
    throttled: int = 0  # 429 answers
    failures: list[str] = dataclasses.field(default_factory=list)
    confirmed: bool = False


def send(
    address: tuple[str, int], phone: Phone, body: bytes, hang_up: bool
) -> tuple[int, http.client.HTTPMessage | None, bytes]:
    """POSTs one batch on a new connection (gunicorn's sync workers close each one). With
    `hang_up`, the phone closes the connection once the batch is sent and reads nothing."""
    connection = http.client.HTTPConnection(*address, timeout=REQUEST_TIMEOUT)
    try:
        connection.request("POST", SYNC_PATH, body=body, headers=phone.headers())
        if hang_up:
            return 0, None, b""
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def sync_batch(address: tuple[str, int], phone: Phone, result: BatchResult, body: bytes) -> None:
    """Sends the batch until the phone holds an answer for it, as the app's outbox does: again
    after a lost answer, a failed connection or a 5xx (waiting longer each time), and after
    the wait a 429 asks for."""
    started = time.perf_counter()
    while len(result.failures) < MAX_FAILURES and result.throttled < MAX_THROTTLED:
        result.attempts += 1
        losing = result.lost if result.attempts == 1 else None
        sent = time.perf_counter()
        try:
            status, headers, content = send(address, phone, body, hang_up=losing == HANG_UP)
        except (OSError, http.client.HTTPException) as exc:
            result.failures.append(f"attempt {result.attempts}: {exc!r}")
            time.sleep(0.25 * 2 ** len(result.failures))
            continue
        if losing == HANG_UP:
            continue  # the phone never learns what happened, so it sends the batch again
        result.answered.append(time.perf_counter() - sent)
        if status >= 500:
            result.server_errors += 1
            result.failures.append(f"attempt {result.attempts}: answered {status}")
            time.sleep(0.25 * 2 ** len(result.failures))
            continue
        if losing == DISCARD:
            continue
        if status == 429:
            result.throttled += 1
            time.sleep(min(float(headers.get("Retry-After") or 1), 60.0))
            continue
        if status != 200:  # a 4xx will not change by asking again
            result.failures.append(f"answered {status}: {content[:300]!r}")
            break
        answers = json.loads(content)["results"]
        result.statuses = Counter(answer["status"] for answer in answers)
        result.unexpected = [a for a in answers if a["status"] not in {200, 201}][:3]
        result.confirmed = len(answers) == result.size
        if not result.confirmed:
            result.failures.append(f"{len(answers)} answers for {result.size} items")
        break
    result.seconds = time.perf_counter() - started


def sync_phone(address: tuple[str, int], phone: Phone, plan: Plan) -> list[BatchResult]:
    results = []
    for index, batch in enumerate(batches(phone.items, plan.batch_size)):
        result = BatchResult(phone.index, index, len(batch), plan.lost_answer(phone.index, index))
        results.append(result)
        try:
            sync_batch(address, phone, result, json.dumps({"items": batch}).encode())
        except Exception as exc:  # a bad answer body: reported, and this phone stops
            result.failures.append(f"client error: {exc!r}")
            break
    return results


def run_phones(
    address: tuple[str, int], phones: list[Phone], plan: Plan
) -> tuple[list[BatchResult], float]:
    """Every phone in its own thread, all starting at once. Returns the batches' results and
    the seconds from the start to the last answer."""
    done: dict[int, list[BatchResult]] = {}
    start = threading.Barrier(len(phones) + 1)

    def work(phone: Phone) -> None:
        start.wait()
        done[phone.index] = sync_phone(address, phone, plan)

    threads = [threading.Thread(target=work, args=(phone,)) for phone in phones]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return [result for phone in phones for result in done.get(phone.index, [])], elapsed


def percentile_ms(seconds: list[float], which: int) -> float | None:
    """The 50th or 95th percentile in ms (linear between closest ranks)."""
    if not seconds:
        return None
    if len(seconds) == 1:
        return seconds[0] * 1000
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return cuts[which - 1] * 1000


# ---- The server's side ----


def make_phones(plan: Plan) -> list["Phone"]:
    """`plan.patients` new patients, each logged in on a phone whose outbox holds
    `plan.entries` items. They are logged in here rather than through the log-in page: the
    benchmark measures syncing, and log-ins from one address are rate-limited."""
    from django.conf import settings
    from django.db import transaction

    from tracker.models import Patient, PatientCondition, User

    with transaction.atomic():
        users = User.objects.bulk_create(
            User(username=f"load-{n:04}", email=f"load-{n:04}@example.com", password="!")
            for n in range(plan.patients)
        )
        patients = Patient.objects.bulk_create(
            Patient(user=user, time_zone="Europe/London") for user in users
        )
        PatientCondition.objects.bulk_create(
            PatientCondition(patient=patient, condition="cervical_dystonia") for patient in patients
        )
    phones = []
    for n, patient in enumerate(patients):
        # Up to yesterday: nothing is in the future wherever the day boundary falls.
        last_day = patient.today() - dt.timedelta(days=1)
        phones.append(
            Phone(
                index=n,
                patient_id=patient.pk,
                session_key=open_session(patient.user),
                items=outbox(plan.entries, last_day),
                session_cookie=settings.SESSION_COOKIE_NAME,
                csrf_cookie=settings.CSRF_COOKIE_NAME,
            )
        )
    return phones


def open_session(user) -> str:
    """Logs `user` in as a log-in form would (the session store, the log-in signal and its
    receivers) and returns the session cookie's value."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user, backend="tracker.backends.AccountBackend")
    return client.cookies[settings.SESSION_COOKIE_NAME].value


class ServerError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


ACCESS_FORMAT = '%(s)s %(m)s "%(U)s" %(L)s'


class Gunicorn:
    """`gunicorn project.wsgi` on a free loopback port, with the environment it is given,
    its access log and everything it writes kept in `folder`."""

    def __init__(self, workers: int, env: dict[str, str], folder: Path, base_dir: Path):
        self.workers, self.env, self.base_dir = workers, env, base_dir
        self.access_log = folder / "gunicorn-access.log"
        self.log = folder / "gunicorn.log"
        self.address = (HOST, free_port())
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Gunicorn":
        command = [
            *(sys.executable, "-m", "gunicorn", "project.wsgi:application"),
            *("--bind", f"{HOST}:{self.address[1]}", "--workers", str(self.workers)),
            *("--access-logfile", str(self.access_log), "--access-logformat", ACCESS_FORMAT),
            *("--error-logfile", "-", "--chdir", str(self.base_dir)),
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.base_dir, env=self.env, stdout=log, stderr=log
            )
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: the workers finish their requests
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def wait_until_ready(self, timeout: float = 30.0) -> None:
        """Polls /healthz until it answers 200: gunicorn listens, and a worker reaches the
        database and the cache."""
        deadline, status = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"gunicorn exited with {self.process.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError):  # not listening yet
                status = self.get(HEALTH_PATH)
            if status == 200:
                return
            time.sleep(0.1)
        raise ServerError(
            f"GET {HEALTH_PATH} did not answer 200 within {timeout:.0f} s (last: {status}):\n"
            f"{self.tail()}"
        )

    def get(self, path: str) -> int:
        connection = http.client.HTTPConnection(*self.address, timeout=5)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def requests(self, path: str = SYNC_PATH) -> list[tuple[int, float]]:
        """The status and the server's time in seconds of every request to `path`, from the
        access log: the answers the phones never read are there too."""
        found = []
        if self.access_log.exists():
            for line in self.access_log.read_text().splitlines():
                status, _method, logged_path, seconds = line.split(" ")
                if logged_path.strip('"') == path:
                    found.append((int(status), float(seconds)))
        return found

    def problems(self) -> list[str]:
        """Lines of its log that tell of a failure: Django's 500s, tracebacks, workers
        killed for taking too long, a locked database."""
        if not self.log.exists():
            return []
        pattern = re.compile(
            r"Internal Server Error|Traceback|WORKER TIMEOUT|database is locked|"
            r"deadlock|Error handling request|Socket error"
        )
        return [line for line in self.log.read_text().splitlines() if pattern.search(line)]


@dataclasses.dataclass
class Stored:
    logs: int
    injections: int
    reactions: int
    sites: int
    missing: int  # entries the phones sent that are not there
    extra: int  # entries there that no phone sent
    changed: int  # entries above version 1: changed by a replay

    @property
    def entries(self) -> int:
        return self.logs + self.injections + self.reactions


def stored_entries(phones: list[Phone]) -> Stored:
    """What the database holds, against what the phones sent."""
    from tracker.models import DailyLog, Injection, InjectionSite, Reaction

    sent = {
        (phone.patient_id, item["type"], item["key"]) for phone in phones for item in phone.items
    }
    rows = [
        ("log", DailyLog.objects.values_list("patient_id", "date", "version")),
        ("injection", Injection.objects.values_list("patient_id", "id", "version")),
        ("reaction", Reaction.objects.values_list("patient_id", "id", "version")),
    ]
    found, counts, changed = set(), Counter(), 0
    for kind, records in rows:
        for patient_id, key, version in records:
            found.add((patient_id, kind, str(key)))
            counts[kind] += 1
            changed += version != 1
    return Stored(
        logs=counts["log"],
        injections=counts["injection"],
        reactions=counts["reaction"],
        sites=InjectionSite.objects.count(),
        missing=len(sent - found),
        extra=len(found - sent) + counts.total() - len(found),
        changed=changed,
    )


@dataclasses.dataclass
class Report:
    vendor: str
    plan: Plan
    seconds: float  # from the first batch sent to the last answer
    batches: list[BatchResult]
    server_statuses: Counter
    server_problems: list[str]
    server_seconds: list[float]  # each request's time in gunicorn, from its access log
    stored: Stored
    expected_sites: int

    @property
    def batch_times(self) -> list[float]:
        return [b.seconds for b in self.batches if b.confirmed]

    @property
    def request_times(self) -> list[float]:
        return [seconds for b in self.batches for seconds in b.answered]

    @property
    def server_errors(self) -> int:
        seen_by_server = sum(n for status, n in self.server_statuses.items() if status >= 500)
        seen_by_phones = sum(b.server_errors for b in self.batches)
        return max(seen_by_server, seen_by_phones)

    @property
    def item_statuses(self) -> Counter:
        return sum((b.statuses for b in self.batches), Counter())

    def failures(self) -> list[str]:
        """Why the run failed; empty when it passed."""
        plan, stored = self.plan, self.stored
        found = []
        if stored.entries != plan.total_entries or stored.missing or stored.extra:
            found.append(
                f"{stored.entries:,} entries stored, expected {plan.total_entries:,} "
                f"({stored.missing} missing, {stored.extra} not sent)"
            )
        if stored.changed:
            found.append(f"{stored.changed} entries changed by a replay (version above 1)")
        if stored.sites != self.expected_sites:
            found.append(f"{stored.sites} injection sites, expected {self.expected_sites}")
        if self.server_errors:
            found.append(f"{self.server_errors} answers 5xx")
        if self.server_problems:
            found.append(f"{len(self.server_problems)} errors in gunicorn's log")
        unconfirmed = [b for b in self.batches if not b.confirmed]
        expected_batches = plan.patients * plan.batches_per_patient
        if unconfirmed or len(self.batches) != expected_batches:
            found.append(f"{len(unconfirmed)} batches never confirmed")
        if other := sum(n for status, n in self.item_statuses.items() if status not in {200, 201}):
            found.append(f"{other} items answered neither 200 nor 201")
        return found

    def lines(self) -> list[str]:
        plan, stored = self.plan, self.stored
        lost = Counter(b.lost for b in self.batches if b.lost)
        statuses = self.item_statuses
        server = ", ".join(f"{status} ×{n:,}" for status, n in sorted(self.server_statuses.items()))
        failures = self.failures()
        lines = [
            f"Load on {self.vendor}: {plan.patients} patients × {plan.entries} entries in batches "
            f"of {plan.batch_size}, through gunicorn ({plan.workers} sync workers) on loopback",
            f"  answers lost: {sum(lost.values())} of {len(self.batches)} batches "
            f"({lost[HANG_UP]} {HANG_UP}, {lost[DISCARD]} {DISCARD}), each batch sent again",
            f"  batch time, first send to kept answer: p50 {fmt_ms(self.p50)} ms, "
            f"p95 {fmt_ms(self.p95)} ms",
            f"  one request, as the phone saw it:      p50 "
            f"{fmt_ms(percentile_ms(self.request_times, 50))} ms, "
            f"p95 {fmt_ms(percentile_ms(self.request_times, 95))} ms",
            f"  one request, inside gunicorn:          p50 "
            f"{fmt_ms(percentile_ms(self.server_seconds, 50))} ms, "
            f"p95 {fmt_ms(percentile_ms(self.server_seconds, 95))} ms "
            "(the rest is the wait for a free worker)",
            f"  {plan.total_entries:,} entries synced in {self.seconds:.1f} s: "
            f"{self.throughput:,.0f} entries/s, {self.requests_per_second:,.1f} requests/s",
            f"  items in the kept answers: {statuses[201]:,} created, {statuses[200]:,} already "
            f"saved, {statuses.total() - statuses[200] - statuses[201]} other",
            f"  server: POST {SYNC_PATH} answered {server or 'nothing'}; 5xx: {self.server_errors};"
            f" errors in its log: {len(self.server_problems)}",
            f"  database: {stored.entries:,} entries ({stored.logs:,} check-ins, "
            f"{stored.injections:,} injections, {stored.reactions:,} reactions), expected "
            f"{plan.total_entries:,}; {stored.changed} changed by a replay; "
            f"{stored.sites:,} injection sites",
        ]
        if throttled := sum(b.throttled for b in self.batches):
            lines.append(f"  answered 429 (too many requests) {throttled} times, sent again")
        lines += [f"  client: {f}" for b in self.batches for f in b.failures][:10]
        lines += [f"  unexpected item answer: {a}" for b in self.batches for a in b.unexpected][:5]
        lines += [f"  gunicorn: {line}" for line in self.server_problems[:10]]
        lines.append("  FAILED: " + "; ".join(failures) if failures else "  passed")
        return lines

    @property
    def p50(self) -> float | None:
        return percentile_ms(self.batch_times, 50)

    @property
    def p95(self) -> float | None:
        return percentile_ms(self.batch_times, 95)

    @property
    def requests_per_second(self) -> float:
        return sum(self.server_statuses.values()) / self.seconds if self.seconds else 0.0

    @property
    def throughput(self) -> float:
        return self.plan.total_entries / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict:
        failures = self.failures()
        return {
            "vendor": self.vendor,
            "plan": dataclasses.asdict(self.plan),
            "passed": not failures,
            "failures": failures,
            "entries": self.stored.entries,
            "expected_entries": self.plan.total_entries,
            "stored": dataclasses.asdict(self.stored),
            "server_errors": self.server_errors,
            "server_statuses": {str(k): v for k, v in sorted(self.server_statuses.items())},
            "server_problems": self.server_problems,
            "item_statuses": {str(k): v for k, v in sorted(self.item_statuses.items())},
            "batches": len(self.batches),
            "answers_lost": sum(1 for b in self.batches if b.lost),
            "attempts": sum(b.attempts for b in self.batches),
            "p50_ms": self.p50,
            "p95_ms": self.p95,
            "server_p50_ms": percentile_ms(self.server_seconds, 50),
            "server_p95_ms": percentile_ms(self.server_seconds, 95),
            "throttled": sum(b.throttled for b in self.batches),
            "sync_seconds": self.seconds,
            "entries_per_second": self.throughput,
        }


def fmt_ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"
