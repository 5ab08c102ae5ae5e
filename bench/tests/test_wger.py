"""bench/wger.py's pure parts: the verdicts, the table, the report, the order of the requests
and the addresses asked for. Nothing here installs or starts wger (CI has no network)."""

import itertools

from bench import wger

MS = 0.001


def row(ours_ms: list[float], wger_ms: list[float], max_ratio: float | None = None) -> wger.Row:
    return wger.Row("x", [t * MS for t in ours_ms], [t * MS for t in wger_ms], max_ratio)


def test_the_ratio_is_of_the_medians_and_the_goal_is_met_at_the_limit_itself():
    assert row([10, 50, 12], [30, 20, 1000]).ratio == 12 / 30
    assert row([15, 15, 15], [30, 30, 30], 0.5).met is True
    assert row([15.1, 15.1, 15.1], [30, 30, 30], 0.5).met is False
    assert row([1], [30]).met is None  # a figure to compare: no goal


def test_the_table_shows_each_goal_and_its_verdict():
    table = wger.rows_table(
        [
            wger.Row("cold", [0.010] * 3, [0.030] * 3, 0.5),
            wger.Row("slow", [0.020] * 3, [0.030] * 3, 0.5),
            wger.Row("warm", [0.005] * 3, [0.030] * 3),
        ]
    )
    header, cold, slow, warm = table.splitlines()
    assert header.split()[:3] == ["what", "ours", "p50"]
    assert cold.split() == ["cold", "10.0", "10.0", "30.0", "30.0", "0.33", "≤", "0.5×", "met"]
    assert slow.split()[-1] == "MISSED"
    assert warm.split()[-2:] == ["0.17", "–"]


def test_our_bytes_meet_the_goal_when_no_larger_than_wgers():
    assert wger.EntryBytes(ours_gzip=500, wger_gzip=500, ours_sent=1, wger_sent=2).met
    larger = wger.EntryBytes(ours_gzip=501, wger_gzip=500, ours_sent=1, wger_sent=2)
    assert not larger.met
    assert "ratio 1.00, goal ours ≤ wger: MISSED" in larger.text()


def test_the_report_misses_when_any_goal_is_missed_and_counts_writes_per_second():
    fast, slow = row([10], [30], 0.5), row([20], [30], 0.5)
    small = wger.EntryBytes(ours_gzip=400, wger_gzip=500, ours_sent=0, wger_sent=0)
    large = wger.EntryBytes(ours_gzip=600, wger_gzip=500, ours_sent=0, wger_sent=0)
    writes = row([20, 30], [50, 50])
    result = wger.report([fast], small, writes, {"wger_version": "2.1"})
    assert result["goals_met"] is True
    assert result["writes_per_second"] == {"ours": 2 / 0.05, "wger": 2 / 0.1}
    assert [r["met"] for r in result["rows"]] == [True, None]
    assert result["bytes"]["gzip_level"] == wger.GZIP_LEVEL
    assert wger.report([slow], small, writes, {})["goals_met"] is False
    assert wger.report([fast], large, writes, {})["goals_met"] is False


def test_requests_alternate_ours_then_wgers_and_only_the_timed_ones_are_kept():
    calls, clock = [], itertools.count(1)

    def app(name: str):
        def request() -> float:
            calls.append(name)
            return next(clock)

        return request

    sizes = wger.Sizes(entries=1, requests=3, warm_up=2)
    ours, theirs = wger.alternate(app("ours"), app("wger"), sizes)
    assert calls == ["ours", "wger"] * 5
    assert ours == [5, 7, 9] and theirs == [6, 8, 10]


def test_every_entry_is_asked_for_ours_in_pages_of_1000_wgers_in_one_answer():
    assert wger.our_pages(1800) == [
        "/api/v1/logs/?limit=1000&offset=0",
        "/api/v1/logs/?limit=1000&offset=1000",
    ]
    assert wger.our_pages(60) == ["/api/v1/logs/?limit=1000&offset=0"]
    assert wger.wger_all_path(1800) == "/api/v2/weightentry/?limit=2000"


def test_writes_go_to_new_days_before_the_first_one():
    days = wger.days_before("2024-03-01")
    assert [next(days) for _ in range(2)] == ["2024-02-29", "2024-02-28"]
