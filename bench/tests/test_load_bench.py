"""The load benchmark (`python -m bench.run_load_bench`): its plan, the phones' outboxes, its
verdict, and a small run through a real gunicorn."""

import datetime as dt
import json
import os
from collections import Counter

import pytest

from bench import loadbench, run_load_bench
from tracker.serializers import SyncSerializer

LAST_DAY = dt.date(2026, 6, 14)


def test_a_third_of_the_batches_lose_their_answer_half_of_them_by_hanging_up():
    plan = loadbench.Plan(patients=50, entries=200, batch_size=20, drop_every=3)
    lost = Counter(
        plan.lost_answer(patient, batch)
        for patient in range(plan.patients)
        for batch in range(plan.batches_per_patient)
    )
    assert plan.batches_per_patient == 10
    assert lost == {None: 333, loadbench.HANG_UP: 84, loadbench.DISCARD: 83}


def test_no_answer_is_lost_when_drop_every_is_0():
    plan = loadbench.Plan(patients=2, entries=10, batch_size=5, drop_every=0)
    assert {plan.lost_answer(p, b) for p in range(2) for b in range(2)} == {None}


def test_an_outbox_mixes_check_ins_injections_and_reactions_up_to_its_last_day():
    items = loadbench.outbox(200, LAST_DAY)
    kinds = Counter(item["type"] for item in items)
    assert len(items) == 200
    assert kinds == {"log": 185, "injection": 3, "reaction": 12}
    assert len({(item["type"], item["key"]) for item in items}) == 200
    days = [item["key"] for item in items if item["type"] == "log"]
    assert days[-1] == LAST_DAY.isoformat()
    assert days == sorted(days)
    assert all(
        (item["data"]["resolved_date"] or "") <= LAST_DAY.isoformat()
        for item in items
        if item["type"] == "reaction"
    )


def test_each_reaction_names_an_injection_sent_before_it():
    items = loadbench.outbox(200, LAST_DAY)
    sent = set()
    for item in items:
        if item["type"] == "injection":
            sent.add(item["key"])
        elif item["type"] == "reaction":
            assert item["data"]["injection"] in sent


def test_an_outboxs_batches_are_valid_sync_requests():
    items = loadbench.outbox(45, LAST_DAY)
    batches = list(loadbench.batches(items, 20))
    assert [len(batch) for batch in batches] == [20, 20, 5]
    for batch in batches:
        assert SyncSerializer(data={"items": batch}).is_valid()


def test_percentiles_interpolate_between_closest_ranks():
    seconds = [0.010, 0.020, 0.030, 0.040, 0.100]
    assert loadbench.percentile_ms(seconds, 50) == pytest.approx(30.0)
    assert loadbench.percentile_ms(seconds, 95) == pytest.approx(88.0)
    assert loadbench.percentile_ms([0.5], 95) == 500.0
    assert loadbench.percentile_ms([], 50) is None


def report(stored: loadbench.Stored, batch: loadbench.BatchResult, statuses: Counter):
    plan = loadbench.Plan(patients=1, entries=2, batch_size=2, drop_every=0, workers=1)
    return loadbench.Report(
        vendor="sqlite",
        plan=plan,
        seconds=1.0,
        batches=[batch],
        server_statuses=statuses,
        server_problems=[],
        server_seconds=[0.1],
        stored=stored,
        expected_sites=0,
    )


def stored(logs: int = 2, changed: int = 0) -> loadbench.Stored:
    return loadbench.Stored(
        logs=logs, injections=0, reactions=0, sites=0, missing=2 - logs, extra=0, changed=changed
    )


def confirmed_batch(**changes) -> loadbench.BatchResult:
    batch = loadbench.BatchResult(phone=0, index=0, size=2, lost=None, attempts=1)
    batch.seconds, batch.confirmed, batch.statuses = 0.1, True, Counter({201: 2})
    for name, value in changes.items():
        setattr(batch, name, value)
    return batch


def test_a_run_with_every_entry_once_and_no_5xx_passes():
    assert report(stored(), confirmed_batch(), Counter({200: 1})).failures() == []


@pytest.mark.parametrize(
    ("entries", "batch", "statuses", "failure"),
    [
        (stored(logs=1), confirmed_batch(), Counter({200: 1}), "1 entries stored, expected 2"),
        (stored(changed=1), confirmed_batch(), Counter({200: 1}), "1 entries changed by a replay"),
        (stored(), confirmed_batch(), Counter({200: 1, 500: 1}), "1 answers 5xx"),
        (stored(), confirmed_batch(confirmed=False), Counter({200: 1}), "1 batches never"),
        (
            stored(),
            confirmed_batch(statuses=Counter({201: 1, 409: 1})),
            Counter({200: 1}),
            "1 items answered neither 200 nor 201",
        ),
    ],
)
def test_a_run_fails_on_a_missing_or_changed_entry_a_5xx_or_an_unanswered_item(
    entries, batch, statuses, failure
):
    failures = report(entries, batch, statuses).failures()
    assert any(failure in line for line in failures), failures


def test_phones_that_lose_answers_and_send_again_leave_every_entry_exactly_once(tmp_path, capsys):
    """Three patients sync ten entries each in batches of four through a real gunicorn, and
    the answer to every other batch is lost (hung up on, or thrown away)."""
    pytest.importorskip("gunicorn", reason="gunicorn is not installed")
    if not hasattr(os, "fork"):
        pytest.skip("gunicorn needs fork(), which this platform lacks")
    result_file = tmp_path / "load.json"
    # This process only starts the run: it happens in a fresh SQLite file, in another process.
    options = run_load_bench.parse_args(
        [
            *("--backend", "sqlite", "--patients", "3", "--entries", "10", "--batch-size", "4"),
            *("--drop-every", "2", "--workers", "2", "--json", str(result_file)),
        ]
    )
    run_load_bench.run(options)
    run = json.loads(result_file.read_text())["results"]["sqlite"]
    assert run["passed"], run["failures"]
    assert (run["entries"], run["expected_entries"], run["server_errors"]) == (30, 30, 0)
    assert run["stored"] == {
        "logs": 18,
        "injections": 3,
        "reactions": 9,
        "sites": 12,
        "missing": 0,
        "extra": 0,
        "changed": 0,
    }
    # 9 batches, 5 of them sent twice: the server saw 14 requests and answered each 200.
    assert (run["batches"], run["answers_lost"], run["attempts"]) == (9, 5, 14)
    assert run["server_statuses"] == {"200": 14}
    assert run["server_problems"] == []
    assert sum(run["item_statuses"].values()) == 30
    assert set(run["item_statuses"]) <= {"200", "201"}
    assert "sqlite          30/30        0" in capsys.readouterr().out
