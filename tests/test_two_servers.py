"""The two-server proof (bench/two_servers.py), smaller than the script's run: two gunicorn
servers on two ports share one PostgreSQL and one Redis, with two job workers. Skipped where
PostgreSQL, Redis or gunicorn is missing."""

import pytest

from bench import two_servers

pytestmark = pytest.mark.skipif(
    bool(reason := two_servers.why_not()), reason=f"the two-server proof: {reason}"
)


@pytest.fixture(scope="module")
def found(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("two-servers")
    return two_servers.prove(folder, red_flags=12, patients=4)


def test_both_servers_are_ready(found):
    assert found["readyz"]["ok"], found["readyz"]


def test_a_log_in_on_one_server_goes_on_on_the_other(found):
    assert found["session"]["ok"], found["session"]


def test_wrong_passwords_on_both_servers_count_toward_one_lockout(found):
    assert found["lockout"]["ok"], found["lockout"]
    assert found["lockout"]["right_password_after_five_wrong"] == [429, 429]


def test_a_throttle_counts_requests_to_both_servers(found):
    assert found["throttle"]["ok"], found["throttle"]


def test_the_same_batch_sent_to_both_at_once_is_saved_once(found):
    assert found["same_batch"]["ok"], found["same_batch"]
    assert found["same_batch"]["stored"] == 20


def test_two_workers_send_each_alert_once(found):
    alerts = found["alerts"]
    assert alerts["ok"], alerts
    assert alerts["red_flags"] == alerts["emails"] == 12


def test_two_workers_send_each_reminder_once(found):
    assert found["reminders"]["ok"], found["reminders"]


def test_no_server_or_worker_logged_an_error(found):
    assert found["server_errors"]["ok"], found["server_errors"]
