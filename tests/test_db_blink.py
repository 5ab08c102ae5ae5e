"""A database blink (tracker/db_blink.py): a lost connection answers 503 with Retry-After,
never 500; sync and a check-in's PUT are first tried again on a fresh connection; the outbox
(static/js/outbox.js) waits as told and never gives up; and, against PostgreSQL, connections
dropped again and again under load lose nothing and give no 500."""

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

from tests.conftest import TODAY
from tracker.db_blink import RECONNECT_EVERY
from tracker.models import DailyLog

BASE_DIR = Path(__file__).resolve().parent.parent
SYNC = "/api/v1/sync/"


def log_item(days_ago: int, severity: int = 4) -> dict:
    key = (TODAY - dt.timedelta(days=days_ago)).isoformat()
    return {"type": "log", "key": key, "base_version": 0, "data": {"severity": severity}}


def flaky(real, failures: int, error=OperationalError):
    """`real`, raising a lost connection's error on its first `failures` calls."""
    calls = []

    def call(*args, **kwargs):
        calls.append(1)
        if len(calls) <= failures:
            raise error("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    return call


def test_a_sync_whose_connection_drops_is_tried_again_and_saved_once(patient_client, patient):
    from tracker import api

    with mock.patch.object(api, "sync_items", flaky(api.sync_items, failures=1)):
        response = patient_client.post(SYNC, {"items": [log_item(1)]}, format="json")
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == [201]
    assert DailyLog.objects.filter(patient=patient).count() == 1


def test_a_sync_that_fails_again_answers_503_with_retry_after(patient_client, patient):
    from tracker import api

    with mock.patch.object(
        api, "sync_items", flaky(api.sync_items, failures=2, error=InterfaceError)
    ):
        response = patient_client.post(SYNC, {"items": [log_item(1)]}, format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert "database" in response.json()["detail"]
    assert not DailyLog.objects.exists()


def test_a_check_in_put_is_tried_again_on_a_fresh_connection(patient_client, patient):
    from tracker.api import LogViewSet

    day = (TODAY - dt.timedelta(days=1)).isoformat()
    with mock.patch.object(LogViewSet, "write_day", flaky(LogViewSet.write_day, failures=1)):
        response = patient_client.put(f"/api/v1/logs/{day}/", {"severity": 6}, format="json")
    assert response.status_code in (200, 201)
    assert DailyLog.objects.get(patient=patient).severity == 6


def test_a_check_in_put_that_fails_again_answers_503(patient_client, patient):
    from tracker.api import LogViewSet

    day = (TODAY - dt.timedelta(days=1)).isoformat()
    with mock.patch.object(LogViewSet, "write_day", side_effect=OperationalError("gone")):
        response = patient_client.put(f"/api/v1/logs/{day}/", {"severity": 6}, format="json")
    assert response.status_code == 503 and response["Retry-After"] == "2"


def test_a_page_is_not_tried_again_but_answers_503(web, patient):
    with mock.patch("tracker.access.get_patient_for_user", side_effect=OperationalError) as read:
        response = web.get("/today/")
    assert read.call_count == 1  # a page is not known to be safe to run twice
    assert response.status_code == 503
    assert response["Retry-After"] == "2"


def test_a_lost_connection_outside_any_view_answers_503_not_500(patient):
    client = Client(raise_request_exception=False)
    client.force_login(patient.user)
    with mock.patch(
        "django.contrib.sessions.backends.db.SessionStore.load", side_effect=InterfaceError
    ):
        response = client.get("/today/")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"


def test_any_other_error_is_still_a_500(patient):
    client = Client(raise_request_exception=False)
    client.force_login(patient.user)
    with mock.patch("tracker.access.get_patient_for_user", side_effect=ZeroDivisionError):
        assert client.get("/today/").status_code == 500


# The outbox's waits, in node against an IndexedDB kept in memory.

OUTBOX_HARNESS = r"""
globalThis.self = globalThis;
const rows = new Map();
const copy = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));
const db = {
  close() {},
  transaction() {
    const tx = {};
    let open = 0;
    const op = (run) => {
      const request = {};
      open += 1;
      setTimeout(() => {
        request.result = run();
        if (request.onsuccess) request.onsuccess();
        open -= 1;
        if (!open) setTimeout(() => tx.oncomplete && tx.oncomplete());
      });
      return request;
    };
    const store = {
      getAll: () => op(() => [...rows.values()].map(copy)),
      get: (id) => op(() => copy(rows.get(id))),
      put: (value) => op(() => { rows.set(value.id, copy(value)); }),
      delete: (id) => op(() => rows.delete(id)),
      clear: () => op(() => rows.clear()),
    };
    tx.objectStore = () => store;
    return tx;
  },
};
globalThis.indexedDB = {
  open() {
    const request = { result: db };
    setTimeout(() => request.onsuccess());
    return request;
  },
};
require(process.argv[2]);
const outbox = self.ReliefOutbox;
const waits = [];
outbox.timing.sleep = async (ms) => { waits.push(ms); };
const answers = JSON.parse(process.argv[3]);
let calls = 0;
globalThis.fetch = async () => {
  const answer = answers[Math.min(calls, answers.length - 1)];
  calls += 1;
  if (answer === "network") throw new TypeError("Failed to fetch");
  const [status, headers, body] = answer;
  return new Response(JSON.stringify(body), { status, headers });
};
(async () => {
  await outbox.add([{ id: "log:2026-06-01", user: "pat", state: "pending", type: "log",
    key: "2026-06-01", op: "put", base_version: 0, data: { severity: 3 }, savedAt: 1,
    label: "Check-in" }]);
  let error = null, result = null;
  try { result = await outbox.flush("pat", "token", "/api/v1/sync/"); }
  catch (e) { error = String(e); }
  console.log(JSON.stringify({ waits, calls, result, error, left: (await outbox.all()).length }));
})();
"""


def run_outbox(tmp_path: Path, answers: list) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    harness = tmp_path / "harness.js"
    harness.write_text(OUTBOX_HARNESS)
    outbox = BASE_DIR / "static" / "js" / "outbox.js"
    result = subprocess.run(
        [node, str(harness), str(outbox), json.dumps(answers)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


SAVED = [200, {"Content-Type": "application/json"}, {"results": [{"index": 0, "status": 201}]}]


def test_the_outbox_waits_as_the_server_asks_and_never_gives_up(tmp_path):
    answers = [[503, {"Retry-After": "2"}, {}], [429, {"Retry-After": "7"}, {}]]
    answers += [[500, {}, {}], [502, {}, {}], *[[503, {}, {}]] * 20, SAVED]
    found = run_outbox(tmp_path, answers)
    assert found["error"] is None
    assert found["result"]["sent"] == 1 and found["left"] == 0
    assert found["calls"] == len(answers)
    waits = found["waits"]
    assert waits[:2] == [2000, 7000]  # Retry-After, as the server said
    assert 2000 <= waits[2] <= 4000 and 4000 <= waits[3] <= 8000  # doubling, with jitter
    assert max(waits[4:]) <= 60_000  # up to a minute, however long it takes


def test_with_no_network_the_outbox_keeps_the_entry_for_the_page_to_send_again(tmp_path):
    found = run_outbox(tmp_path, ["network"])
    assert "could not be reached" in found["error"]
    assert found["left"] == 1 and found["waits"] == []


def test_the_outbox_stops_when_logged_out_and_keeps_the_entry(tmp_path):
    found = run_outbox(tmp_path, [[403, {}, {"detail": "log in"}]])
    assert "403" in found["error"]
    assert found["left"] == 1 and found["waits"] == []


# Against PostgreSQL: its connections dropped again and again while phones sync.


def test_connections_dropped_under_load_lose_nothing_and_give_no_500(tmp_path):
    from bench import two_servers

    if reason := two_servers.why_not():
        pytest.skip(f"the live blink: {reason}")
    found = two_servers.blink(tmp_path, seconds=5, phones=4, batches=8, every=0.2)
    assert found["server_500s"] == 0, found
    assert found["entries_stored"] == found["distinct_stored"] == found["entries_sent"], found
    assert found["connections_terminated"] > 0, found
    # The phones were logged in before it started: the blink fell on their syncs and check-ins.
    assert found["sent_during_the_blink"].get("sync batches", 0) > 0, found
    assert not any(status.endswith("500") for status in found["answers"]), found


def test_the_pool_tries_to_reconnect_every_half_second_however_long_the_blink():
    """psycopg_pool's own waits grow 1, 2, 4, 8 s: the service came back seconds after the
    database did (tracker/db_blink.py, reconnect_sooner)."""
    from psycopg_pool.base import AttemptWithBackoff

    attempt = AttemptWithBackoff(timeout=300)
    waits = []
    for now in range(8):
        attempt.update_delay(float(now))
        waits.append(attempt.delay)
    assert all(wait <= RECONNECT_EVERY * 1.1 for wait in waits), waits


def interrupted_session_while(error: Exception) -> Exception:
    """SessionInterrupted as Django raises it when saving the session failed: the session store
    raises UpdateError while handling `error`, the session middleware SessionInterrupted while
    handling that (django/contrib/sessions)."""
    from django.contrib.sessions.backends.base import UpdateError
    from django.contrib.sessions.exceptions import SessionInterrupted

    try:
        try:
            try:
                raise error
            except Exception:
                raise UpdateError  # noqa: B904 (as the session store does)
        except UpdateError:
            raise SessionInterrupted("The request's session was deleted")  # noqa: B904
    except SessionInterrupted as interrupted:
        return interrupted


def test_a_session_lost_with_the_database_is_a_503_not_a_bad_request(rf):
    """A blink during the session's save answered an HTML 400 (found by the live blink test):
    the outbox would have taken it for a malformed batch."""
    from tracker import db_blink

    request = rf.post(SYNC)
    lost = db_blink.bad_request(request, interrupted_session_while(OperationalError("gone")))
    assert lost.status_code == 503 and lost["Retry-After"] == "2"
    assert b"The database is unavailable" in lost.content

    other = db_blink.bad_request(request, interrupted_session_while(ValueError("not the database")))
    assert other.status_code == 400
