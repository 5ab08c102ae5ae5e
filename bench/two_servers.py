"""The two-server proof: two app servers (deploy/entrypoint-web.sh: gunicorn, DEBUG off) on two
ports share one PostgreSQL database and one Redis, with two job workers
(deploy/entrypoint-worker.sh), and behave as one:

- a person logs in on one server and goes on on the other;
- wrong passwords and throttled requests count across both;
- the same outbox batch sent to both at the same moment is saved once;
- every red-flag alert and every reminder is sent once by the two workers; it measures how long
  an alert takes (from the red flag's save to the email sent) and the emails per red flag.

`--blink` instead drops the database's connections again and again (pg_terminate_backend from
another connection) while phones sync through one server, and counts: every entry stored once,
no 500 (tracker/db_blink.py).

Everything runs in a throw-away PostgreSQL database and a Redis database number of its own:

    python -m bench.two_servers [--red-flags 100] [--patients 10]
    python -m bench.two_servers --blink [--seconds 10] [--every 0.2] [--patients 10] [--batches 30]

tests/test_two_servers.py and tests/test_db_blink.py run the same code, smaller.
"""

import argparse
import contextlib
import datetime as dt
import email
import email.message
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zoneinfo
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
POSTGRES = os.environ.get("RELIEF_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("RELIEF_BENCH_REDIS", "redis://127.0.0.1:6379")
PASSWORD = "two servers, one diary"
CLINICIAN_EMAIL = "doc@example.com"
ALERT_SUBJECT_WORDS = "warning sign"
REMINDER_SUBJECT_WORDS = "check-in"
TIME_ZONE = "Europe/London"


# ---- What is needed, and the throw-away database ----


def why_not() -> str | None:
    """Why the proof cannot run here (no PostgreSQL, Redis or gunicorn), or None."""
    for name, url, port in (("PostgreSQL", POSTGRES, 5432), ("Redis", REDIS, 6379)):
        address = url.split("@")[-1].split("//")[-1].split("/")[0]
        host, _, given = address.partition(":")
        try:
            socket.create_connection((host or HOST, int(given or port)), timeout=2).close()
        except OSError:
            return f"no {name} answers at {address}"
    try:
        import gunicorn  # noqa: F401
        import psycopg  # noqa: F401
        import redis  # noqa: F401
        import requests  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed"
    return None


def postgres_connect(dbname: str = "postgres"):
    import psycopg

    return psycopg.connect(POSTGRES.rsplit("/", 1)[0] + "/" + dbname, autocommit=True)


@contextlib.contextmanager
def scratch_database(tag: str) -> Iterator[str]:
    """A new empty PostgreSQL database, dropped afterwards; yields its URL."""
    from psycopg import sql

    name = f"relief_scratch_{tag}_{secrets.token_hex(4)}"
    with postgres_connect() as maintenance:
        maintenance.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield POSTGRES.rsplit("/", 1)[0] + "/" + name
    finally:
        with postgres_connect() as maintenance:
            maintenance.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def fresh_redis(number: int) -> str:
    """A Redis database number emptied for this run; its URL."""
    import redis

    url = f"{REDIS}/{number}"
    redis.Redis.from_url(url).flushdb()
    return url


def app_environment(database_url: str, redis_url: str, folder: Path, **extra: str) -> dict:
    """A production environment (DEBUG off) for the servers and workers: plain HTTP on
    loopback, emails written to files in `folder`/mail to be counted."""
    own = ("DJANGO_", "DATABASE_", "REDIS_", "RELIEF_", "EMAIL_", "ACCOUNT_", "SITE_")
    env = {name: value for name, value in os.environ.items() if not name.startswith(own)}
    (folder / "mail").mkdir(parents=True, exist_ok=True)
    env |= {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE": "0",  # loopback HTTP; the entrypoint test runs it on
        "DJANGO_ALLOWED_HOSTS": f"{HOST},localhost",
        "DJANGO_MANIFEST_STATIC": "0",
        "DJANGO_COLLECTSTATIC": "0",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "EMAIL_URL": f"filemail:///{folder / 'mail'}",
        "PYTHON": sys.executable,
        "SITE_URL": "https://relief.example",
        "WEB_CONCURRENCY": "2",
        "SCHEDULE_EVERY_SECONDS": "5",
    }
    return env | extra


def manage(env: dict, *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Process:
    """A script run in its own process group, its output in a log file. stop() sends SIGTERM
    to the script alone, as a container's runtime does to its first process (the web's
    gunicorn stops its workers, the worker script its db_worker and scheduler), then ends
    what is left of the group. A SIGTERM to the whole group reached db_worker twice, once
    from the script: the second is its "stop now", which logged a SystemExit."""

    def __init__(self, command: list[str], env: dict, log: Path):
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                command, cwd=BASE_DIR, env=env, stdout=out, stderr=out, start_new_session=True
            )

    def stop(self, timeout: float = 40) -> int | None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):  # anything left of the group
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.returncode

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class Web(Process):
    def __init__(self, env: dict, folder: Path, name: str, **extra: str):
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        env = env | {"PORT": str(self.port), "BIND": f"{HOST}:{self.port}"} | extra
        super().__init__(["sh", "deploy/entrypoint-web.sh"], env, folder / f"{name}.log")

    def wait_ready(self, timeout: float = 120) -> dict:
        """Polls /readyz until it answers 200; its JSON."""
        import requests

        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.tail()}")
            with contextlib.suppress(requests.RequestException):
                last = requests.get(self.url + "/readyz", timeout=5)
                if last.status_code == 200:
                    return last.json()
            time.sleep(0.2)
        raise RuntimeError(f"/readyz never answered 200 ({last and last.text}):\n{self.tail()}")


def start_worker(env: dict, folder: Path, name: str) -> Process:
    return Process(["sh", "deploy/entrypoint-worker.sh"], env, folder / f"{name}.log")


# ---- People ----

SETUP = """
import json, os
from allauth.account.models import EmailAddress
from tracker.models import Patient, PatientCondition, Share, User

def verified(user):
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user

password = os.environ["RELIEF_BENCH_PASSWORD"]
doc = verified(User.objects.create_user(
    "doc", "doc@example.com", password, role=User.Role.CLINICIAN, first_name="Sam"))
patients = {}
for n in range(int(os.environ["RELIEF_BENCH_PATIENTS"])):
    user = verified(User.objects.create_user(f"pat-{n}", f"pat-{n}@example.com", password))
    patient = Patient.objects.create(user=user, time_zone="Europe/London")
    PatientCondition.objects.create(patient=patient, condition="cervical_dystonia")
    Share.objects.create(patient=patient, clinician=doc)
    patients[user.username] = patient.pk
print(json.dumps(patients))
"""


def make_people(env: dict, patients: int) -> dict[str, int]:
    more = {"RELIEF_BENCH_PASSWORD": PASSWORD, "RELIEF_BENCH_PATIENTS": str(patients)}
    return json.loads(manage(env | more, "shell", "-c", SETUP).strip().splitlines()[-1])


class Browser:
    """One person's browser or phone: its cookies go to either server (cookies name a host,
    not a port), and it sends the CSRF token the way the app's pages do."""

    def __init__(self):
        import requests

        self.session = requests.Session()

    def csrf(self) -> str:
        return self.session.cookies.get("csrftoken", "")

    def log_in(self, server: str, username: str, password: str = PASSWORD):
        self.session.get(server + "/accounts/login/", timeout=30)
        data = {"login": username, "password": password, "csrfmiddlewaretoken": self.csrf()}
        return self.session.post(
            server + "/accounts/login/", data=data, allow_redirects=False, timeout=30
        )

    def logged_in_at(self, server: str) -> bool:
        answer = self.session.get(server + "/today/", allow_redirects=False, timeout=30)
        return answer.status_code == 200

    def api(self, method: str, url: str, body=None):
        return self.session.request(
            method, url, json=body, headers={"X-CSRFToken": self.csrf()}, timeout=60
        )


def today() -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(TIME_ZONE)).date()


def log_items(count: int, first_days_ago: int = 1) -> list[dict]:
    return [
        {
            "type": "log",
            "key": (today() - dt.timedelta(days=first_days_ago + n)).isoformat(),
            "base_version": 0,
            "data": {"severity": n % 11},
        }
        for n in range(count)
    ]


def sync_until_answered(browser: Browser, url: str, items: list[dict], seen: Counter) -> dict:
    """Sends a batch as the outbox does (static/js/outbox.js): again after no answer, a 5xx or
    a 429, waiting as Retry-After says; every status seen is counted in `seen`."""
    import requests

    for attempt in range(200):
        try:
            answer = browser.api("POST", url + "/api/v1/sync/", {"items": items})
        except requests.RequestException:
            seen["no answer"] += 1
            time.sleep(min(0.2 * 2**attempt, 2))
            continue
        seen[answer.status_code] += 1
        if answer.status_code == 200:
            return answer.json()
        if answer.status_code in (429, 500, 502, 503, 504):
            wait = float(answer.headers.get("Retry-After") or min(0.2 * 2**attempt, 2))
            time.sleep(min(wait, 2))  # shortened: the proof is about counts, not patience
            continue
        raise RuntimeError(f"sync answered {answer.status_code}: {answer.text[:300]}")
    raise RuntimeError("sync never answered 200")


# ---- Reading the results ----


def query(database_url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with postgres_connect(database_url.rsplit("/", 1)[1]) as connection:
        return connection.execute(sql, params).fetchall()


def mails(folder: Path) -> list[email.message.Message]:
    """Every email the file backend wrote (one file per connection, messages separated by a
    line of dashes)."""
    found = []
    for path in sorted((folder / "mail").glob("*.log")):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                found.append(email.message_from_bytes(chunk))
    return found


def wait_for(condition, timeout: float, every: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(every)
    return condition()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# ---- The proof ----


def prove(folder: Path, red_flags: int, patients: int) -> dict:
    """Runs every part against two servers and two workers; returns the findings, each part
    with `ok`."""
    with scratch_database("two") as database_url:
        env = app_environment(database_url, fresh_redis(12), folder, RELIEF_THROTTLE_SYNC="10/min")
        manage(env, "migrate_once", "--verbosity", "0")
        people = make_people(env, patients)
        servers = [Web(env, folder, "web-a"), Web(env, folder, "web-b")]
        workers = []
        try:
            ready = [server.wait_ready() for server in servers]
            workers = [start_worker(env, folder, name) for name in ("worker-a", "worker-b")]
            a, b = (server.url for server in servers)
            found = {"readyz": {"ok": all(r["ready"] for r in ready), "both": ready}}
            found["session"] = session_part(a, b)
            found["lockout"] = lockout_part(a, b)
            found["throttle"] = throttle_part(a, b)
            found["same_batch"] = same_batch_part(a, b, database_url, people["pat-3"])
            found["alerts"] = alerts_part(a, b, database_url, folder, red_flags, patients)
            found["reminders"] = reminders_part(env, database_url, folder, patients)
        finally:
            for process in [*workers, *servers]:
                process.stop()
        errors = [error for process in [*servers, *workers] for error in logged_errors(process)]
        found["server_errors"] = {"ok": not errors, "lines": errors[:10]}
        return found


def logged_errors(process: Process) -> list[str]:
    """Each error in a process's log, with the lines that follow it (a traceback's frames and
    its exception), so that a failed run says what went wrong."""
    lines = process.tail(100000).splitlines()
    return [
        "\n".join([f"{process.log.name}:", *lines[number : number + 25]])
        for number, line in enumerate(lines)
        if "Traceback" in line or "Internal Server Error" in line
    ]


def session_part(a: str, b: str) -> dict:
    phone = Browser()
    logged_in = phone.log_in(a, "pat-0").status_code == 302
    on_b = phone.logged_in_at(b)
    day = (today() - dt.timedelta(days=200)).isoformat()
    put = phone.api("PUT", f"{b}/api/v1/logs/{day}/", {"severity": 7})
    read = phone.api("GET", f"{a}/api/v1/logs/{day}/")
    same = read.status_code == 200 and read.json()["severity"] == 7
    ok = logged_in and on_b and put.status_code in (200, 201) and same
    return {"ok": ok, "logged_in_on_a": logged_in, "continued_on_b": on_b, "wrote_b_read_a": same}


def lockout_part(a: str, b: str) -> dict:
    """Five wrong passwords for one name, alternating between the servers, lock that name: the
    right password is then refused on both. Each server saw only two or three of them."""
    statuses = [Browser().log_in((a, b)[n % 2], "pat-1", "wrong").status_code for n in range(5)]
    after = [Browser().log_in(server, "pat-1") for server in (a, b)]
    refused = [answer.status_code != 302 for answer in after]
    control = Browser().log_in(b, "pat-2").status_code == 302  # another name is not locked
    return {
        "ok": all(refused) and control,
        "wrong_password_answers": statuses,
        "right_password_after_five_wrong": [answer.status_code for answer in after],
        "another_name_logs_in": control,
    }


def throttle_part(a: str, b: str) -> dict:
    """RELIEF_THROTTLE_SYNC is 10/min here: 14 syncs alternating between the servers get 10
    answers and then 429s, as one server would give."""
    phone = Browser()
    phone.log_in(a, "pat-2")
    statuses = []
    for n, item in enumerate(log_items(14, first_days_ago=300)):
        answer = phone.api("POST", (a, b)[n % 2] + "/api/v1/sync/", {"items": [item]})
        statuses.append(answer.status_code)
    counts = Counter(statuses)
    return {"ok": counts == Counter({200: 10, 429: 4}), "statuses": statuses}


def same_batch_part(a: str, b: str, database_url: str, patient_id: int) -> dict:
    phone = Browser()
    phone.log_in(a, "pat-3")
    batch = log_items(20, first_days_ago=1)
    answers, start = {}, threading.Barrier(2)

    def send(server: str) -> None:
        start.wait()
        answers[server] = phone.api("POST", server + "/api/v1/sync/", {"items": batch})

    threads = [threading.Thread(target=send, args=(server,)) for server in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = query(
        database_url,
        "SELECT count(*), count(*) FILTER (WHERE version = 1) FROM tracker_dailylog "
        "WHERE patient_id = %s AND date >= %s",
        (patient_id, today() - dt.timedelta(days=20)),
    )[0]
    statuses = {server: answer.status_code for server, answer in answers.items()}
    items = sorted(
        Counter(r["status"] for answer in answers.values() for r in answer.json()["results"])
    )
    ok = all(status == 200 for status in statuses.values()) and rows == (20, 20)
    return {"ok": ok, "answers": statuses, "item_statuses": items, "stored": rows[0]}


def alerts_part(a: str, b: str, database_url: str, folder: Path, count: int, patients: int):
    """`count` red flags from the patients, alternating between the servers; each must reach
    the clinician once. Latency: the red flag's save to its email sent (the database's times)."""
    phones = []
    for n in range(patients):
        if n == 1:
            continue  # locked out by lockout_part
        phone = Browser()
        phone.log_in((a, b)[n % 2], f"pat-{n}")
        phones.append(phone)
    ids = []
    for n in range(count):
        reaction = {"id": str(uuid.uuid4()), "kind": "breathing", "severity": "severe"}
        reaction["onset_date"] = today().isoformat()
        phone = phones[n % len(phones)]
        answer = phone.api("POST", (a, b)[n % 2] + "/api/v1/reactions/", reaction)
        if answer.status_code == 201:
            ids.append(reaction["id"])

    def all_sent():
        rows = query(
            database_url,
            "SELECT count(*) FROM tracker_delivery WHERE kind = 'alert' AND state = 'sent'",
        )
        return rows[0][0] >= len(ids)

    wait_for(all_sent, timeout=300)
    rows = query(
        database_url,
        "SELECT d.state, d.attempts, extract(epoch FROM d.sent_at - r.created_at) "
        "FROM tracker_delivery d JOIN tracker_reaction r ON r.id = d.reaction_id "
        "WHERE d.kind = 'alert'",
    )
    latencies = [float(seconds) for state, _, seconds in rows if state == "sent"]
    emails = [m for m in mails(folder) if ALERT_SUBJECT_WORDS in (m["Subject"] or "")]
    to_clinician = [m for m in emails if m["To"] == CLINICIAN_EMAIL]
    per_alert = len(to_clinician) / len(ids) if ids else 0
    by_worker = query(
        database_url,
        "SELECT worker_ids->>0, count(*) FROM django_tasks_database_dbtaskresult "
        "WHERE task_path = 'tracker.jobs.alert_red_flag' GROUP BY 1",
    )
    return {
        "alert_jobs_per_worker": sorted(n for _, n in by_worker),
        "ok": len(ids) == count
        and len(rows) == count
        and per_alert == 1.0
        and max(latencies, default=999) < 300,
        "red_flags": len(ids),
        "delivery_rows": len(rows),
        "emails": len(to_clinician),
        "emails_per_red_flag": per_alert,
        "attempts": dict(Counter(attempts for _, attempts, _ in rows)),
        "latency_seconds": {
            "p50": round(statistics.median(latencies), 2) if latencies else None,
            "p95": round(percentile(latencies, 0.95), 2) if latencies else None,
            "max": round(max(latencies), 2) if latencies else None,
        },
    }


QUEUE_REMINDERS = """
import os
from tracker.jobs import send_reminders
from tracker.models import Patient
Patient.objects.update(reminder_time="00:00", reminder_email=True, last_reminded_on=None)
for _ in range(int(os.environ["RELIEF_BENCH_COPIES"])):
    send_reminders.enqueue()
"""


def reminders_part(env: dict, database_url: str, folder: Path, patients: int) -> dict:
    """Every patient due a reminder, and the reminder job queued 20 times at once: the two
    workers run the copies side by side, and each patient gets one email."""
    logged_today = query(
        database_url,
        "SELECT count(DISTINCT patient_id) FROM tracker_dailylog WHERE date = %s",
        (today(),),
    )[0][0]
    before = len(mails(folder))
    manage(env | {"RELIEF_BENCH_COPIES": "20"}, "shell", "-c", QUEUE_REMINDERS)

    def queue_empty():
        waiting = query(
            database_url,
            "SELECT count(*) FROM django_tasks_database_dbtaskresult "
            "WHERE task_path = 'tracker.jobs.send_reminders' AND status IN ('READY', 'RUNNING')",
        )
        return waiting[0][0] == 0

    wait_for(queue_empty, timeout=120)
    time.sleep(1)
    sent = [m for m in mails(folder)[before:] if REMINDER_SUBJECT_WORDS in (m["Subject"] or "")]
    per_patient = Counter(m["To"] for m in sent)
    due = patients - logged_today
    ok = len(per_patient) == due and set(per_patient.values()) <= {1}
    return {"ok": ok, "patients_due": due, "reminded": len(per_patient), "emails": len(sent)}


# ---- The blink ----


def blink(folder: Path, seconds: float, phones: int, batches: int, every: float = 0.2) -> dict:
    """Phones sync through one server (and PUT a check-in each) while another connection ends
    every one of the server's database connections every `every` seconds for `seconds`."""
    with scratch_database("blink") as database_url:
        env = app_environment(database_url, fresh_redis(13), folder, WEB_CONCURRENCY="3")
        manage(env, "migrate_once", "--verbosity", "0")
        people = make_people(env, phones)
        server = Web(env, folder, "web-blink")
        try:
            server.wait_ready()
            found = blink_under_load(server.url, database_url, people, seconds, batches, every)
        finally:
            server.stop()
        log = server.tail(100000)
        found["server_500s"] = log.count("Internal Server Error")
        lost = re.findall(r"Database connection lost during (\S+ \S+)", log)
        found["requests_that_lost_their_connection"] = dict(
            Counter(re.sub(r"\d{4}-\d\d-\d\d", "<day>", request) for request in lost)
        )
        found["ok"] = found["ok"] and found["server_500s"] == 0
        return found


def blink_under_load(url, database_url, people, seconds, batches, every) -> dict:
    name = database_url.rsplit("/", 1)[1]
    stop = threading.Event()
    terminated = Counter()

    def drop_connections() -> None:
        with postgres_connect() as killer:
            deadline = time.monotonic() + seconds
            while not stop.is_set() and time.monotonic() < deadline:
                rows = killer.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                ).fetchall()
                terminated["connections"] += len(rows)
                terminated["rounds"] += 1
                time.sleep(every)

    seen: Counter = Counter()
    sent: dict[str, list[dict]] = {}
    during: Counter = Counter()  # syncs and check-ins sent while connections were dropped

    def put_check_in(phone: Browser, severity: int) -> None:
        """Today's check-in, PUT until saved (a PUT replaces it: one entry however many)."""
        for attempt in range(100):
            with contextlib.suppress(Exception):
                answer = phone.api(
                    "PUT", f"{url}/api/v1/logs/{today().isoformat()}/", {"severity": severity}
                )
                seen[f"PUT {answer.status_code}"] += 1
                if answer.status_code in (200, 201):
                    return
            time.sleep(min(0.2 * 2**attempt, 2))

    def phone_work(username: str) -> None:
        phone = phones[username]
        items = log_items(batches * 10, first_days_ago=2)
        sent[username] = items
        for start in range(0, len(items), 10):
            if killer.is_alive():
                during["sync batches"] += 1
            sync_until_answered(phone, url, items[start : start + 10], seen)
            if killer.is_alive():
                during["check-in PUTs"] += 1
            put_check_in(phone, start // 10 % 11)

    # Every phone logs in before the blink starts, so that it falls on the syncs and
    # check-ins: log-ins (slow on purpose, Argon2) would otherwise take all of it.
    phones = {}
    for username in people:
        phones[username] = Browser()
        while phones[username].log_in(url, username).status_code != 302:
            time.sleep(0.2)
    killer = threading.Thread(target=drop_connections)
    killer.start()
    threads = [threading.Thread(target=phone_work, args=(name,)) for name in people]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load_seconds = time.monotonic() - started
    stop.set()
    killer.join()
    expected = sum(len(items) + 1 for items in sent.values())
    rows = query(
        database_url, "SELECT count(*), count(DISTINCT (patient_id, date)) FROM tracker_dailylog"
    )
    five_hundreds = sum(n for status, n in seen.items() if str(status).endswith("500"))
    return {
        "ok": rows[0] == (expected, expected) and five_hundreds == 0,
        "entries_sent": expected,
        "entries_stored": rows[0][0],
        "distinct_stored": rows[0][1],
        "answers": {str(k): v for k, v in sorted(seen.items(), key=str)},
        "sent_during_the_blink": dict(during),
        "connections_terminated": terminated["connections"],
        "termination_rounds": terminated["rounds"],
        "load_seconds": round(load_seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--red-flags", type=int, default=100)
    parser.add_argument("--patients", type=int, default=10)
    parser.add_argument("--blink", action="store_true", help="the database blink instead")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the blink lasts")
    parser.add_argument("--batches", type=int, default=30, help="sync batches of 10 per phone")
    parser.add_argument(
        "--every", type=float, default=0.2, help="seconds between two drops of the connections"
    )
    options = parser.parse_args(argv)
    if reason := why_not():
        print(f"Cannot run: {reason}.")
        return 1
    folder = Path(tempfile.mkdtemp(prefix="relief-two-servers-"))
    if options.blink:
        found = blink(
            folder,
            options.seconds,
            phones=options.patients,
            batches=options.batches,
            every=options.every,
        )
    else:
        found = prove(folder, options.red_flags, max(options.patients, 4))
    print(json.dumps(found, indent=2, default=str))
    ok = found["ok"] if options.blink else all(part["ok"] for part in found.values())
    print("PASSED" if ok else "FAILED", f"(the servers' logs and emails are in {folder})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
