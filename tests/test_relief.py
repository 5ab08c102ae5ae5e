import random
import statistics
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.relief import (
    DEFAULT_SETTINGS,
    REASONS,
    Cycle,
    InjectionPoint,
    Peak,
    ReliefSettings,
    baseline,
    compute_cycles,
    count_per_cycle,
    current_status,
    cycle_inputs,
    day_of_cycle,
    duration_days,
    expected_next_injection,
    gap_days,
    onset_day,
    overlay,
    peak,
    pgic_timepoint_due,
    reason_code,
    relief,
    smoothed_relief,
    smoothed_severity,
    wearing_off_day,
    wearing_off_forecast,
)

INJECTED = date(2025, 3, 3)


def on(day: int) -> date:
    """The date of `day` counted from INJECTED."""
    return INJECTED + timedelta(days=day)


def shots(*days: int) -> list[InjectionPoint]:
    return [InjectionPoint(id=f"shot-{day}", date=on(day)) for day in days]


def daily(first_day: int, severities: list[int | None]) -> list[tuple[date, int]]:
    """One log a day from `first_day`; None is a day the patient did not log."""
    return [(on(first_day + i), s) for i, s in enumerate(severities) if s is not None]


BASELINE_OF_8 = daily(-14, [8] * 14)


# What a cycle without enough check-ins leaves unmeasured.
NOTHING_MEASURED = [
    "baseline", "onset_day", "peak_day", "peak_relief", "wearing_off_day", "duration_days",
    "gap_days", "reason_code", "reason",
]  # fmt: skip


def make_cycle(**fields) -> Cycle:
    blank = Cycle(
        index=1,
        injection_id="shot",
        injection_ids=("shot",),
        injection_date=INJECTED,
        end_date=on(89),
        ongoing=False,
        length_days=90,
        baseline_log_count=0,
        relief={},
        smoothed={},
        **dict.fromkeys(NOTHING_MEASURED),
    )
    return replace(blank, **fields)


# The definitions, one table each.


def test_a_cycles_inputs_hold_only_the_logged_days_of_its_window():
    logs = [(on(-15), 1), (on(-14), 2), (on(-8), 3), (on(-1), 4), (on(0), 5), (on(30), 6)]
    [given] = cycle_inputs([InjectionPoint(id=1, date=INJECTED)], logs, on(20))
    assert given.severities == ((-14, 2), (-8, 3), (-1, 4), (0, 5))  # day 30 is after today


@pytest.mark.parametrize(
    ("severities", "expected"),
    [
        pytest.param([], None, id="no logs"),
        pytest.param([6, 7], None, id="two logs are too few"),
        pytest.param([6, 7, 8], 7.0, id="three logs are enough"),
        pytest.param([8] * 14, 8.0, id="every day logged"),
        pytest.param([2.5, 3.5, 3], 3.0, id="fractional scores"),
        pytest.param([0, 0, 0], None, id="a mean of 0 leaves nothing to relieve"),
        pytest.param([0, 0, 3], 1.0, id="a mean just above 0 is a baseline"),
    ],
)
def test_baseline_is_the_mean_of_at_least_three_logs_above_zero(severities, expected):
    assert baseline(severities) == expected


@pytest.mark.parametrize(
    ("baseline_severity", "severity", "expected"),
    [
        (8, 8, 0.0),
        (8, 6, 25.0),
        (8, 2, 75.0),
        (8, 0, 100.0),
        (8, 10, -25.0),
        (4, 5, -25.0),
        (2.5, 1, 60.0),
    ],
)
def test_relief_is_the_improvement_on_baseline_in_percent(baseline_severity, severity, expected):
    assert relief(baseline_severity, severity) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("relief_by_day", "last_day", "expected"),
    [
        pytest.param({}, 10, {}, id="no logs"),
        pytest.param({4: 50.0}, 10, {}, id="a single log"),
        pytest.param({0: 20.0, 6: 40.0}, 10, {3: 30.0}, id="six days apart meet in the middle"),
        pytest.param({0: 20.0, 7: 40.0}, 10, {}, id="seven days apart never share a window"),
        pytest.param(
            {1: 10.0, 2: 50.0, 6: 60.0},
            9,
            {0: 30.0, 1: 30.0, 2: 30.0, 3: 40.0, 4: 40.0, 5: 55.0},
            id="unlogged days are left out, not zeros",
        ),
        pytest.param(
            {8: 20.0, 10: 40.0, 12: 90.0},
            10,
            {7: 30.0, 8: 30.0, 9: 30.0, 10: 30.0},
            id="the window stops at the cycle's last day",
        ),
        pytest.param(
            {-2: 90.0, 0: 20.0, 1: 40.0},
            5,
            {0: 30.0, 1: 30.0, 2: 30.0, 3: 30.0},
            id="the window starts at day 0",
        ),
    ],
)
def test_smoothed_relief_is_the_mean_of_two_or_more_logs_within_three_days(
    relief_by_day, last_day, expected
):
    assert smoothed_relief(relief_by_day, last_day) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("smoothed", "expected"),
    [
        pytest.param({}, None, id="no values"),
        pytest.param({0: 60.0, 1: 10.0, 2: 20.0}, None, id="day 0 does not count"),
        pytest.param({1: 24.9, 2: 25.0, 3: 40.0}, 2, id="the threshold itself counts"),
        pytest.param({5: 30.0, 6: 20.0, 7: 40.0}, 5, id="the first day at or above"),
        pytest.param({1: -10.0, 2: 0.0}, None, id="never reached"),
    ],
)
def test_onset_is_the_first_day_after_injection_at_or_above_the_threshold(smoothed, expected):
    assert onset_day(smoothed) == expected


@pytest.mark.parametrize(
    ("smoothed", "expected"),
    [
        pytest.param({}, None, id="no values"),
        pytest.param({0: 90.0}, None, id="only day 0"),
        pytest.param({0: 90.0, 1: 30.0, 2: 20.0}, Peak(1, 30.0), id="day 0 does not count"),
        pytest.param({1: 30.0, 2: 50.0, 3: 50.0}, Peak(2, 50.0), id="the first day of a tie"),
        pytest.param({1: -10.0, 2: -5.0}, Peak(2, -5.0), id="a peak without an onset"),
    ],
)
def test_peak_is_the_largest_smoothed_relief_after_injection_on_its_first_day(smoothed, expected):
    assert peak(smoothed) == expected


@pytest.mark.parametrize(
    ("smoothed", "ongoing", "expected"),
    [
        pytest.param(
            {1: 30.0, 2: 60.0, 3: 20.0, 4: 20.0, 5: 20.0, 6: 20.0},
            True,
            3,
            id="a drop confirmed by the next three values",
        ),
        pytest.param(
            {1: 30.0, 2: 60.0, 3: 20.0, 4: 20.0, 5: 20.0},
            True,
            None,
            id="an ongoing cycle waits for three later values",
        ),
        pytest.param(
            {1: 30.0, 2: 60.0, 3: 20.0, 4: 20.0, 5: 20.0},
            False,
            3,
            id="a finished cycle may end before three later values",
        ),
        pytest.param(
            {1: 30.0, 2: 60.0, 3: 20.0},
            False,
            3,
            id="a finished cycle may end on the day of the drop",
        ),
        pytest.param(
            {1: 30.0, 2: 60.0, 3: 20.0, 4: 30.0},
            False,
            None,
            id="a finished cycle's last values must all be below",
        ),
        pytest.param(
            {1: 30.0, 2: 60.0, 3: 20.0, 4: 30.0, 5: 20.0, 6: 20.0, 7: 20.0, 8: 20.0},
            True,
            5,
            id="a rebound starts the count again",
        ),
        pytest.param(
            {1: 30.0, 2: 60.0, 3: 20.0, 9: 20.0, 20: 20.0, 21: 20.0},
            True,
            3,
            id="days without a value are skipped",
        ),
        pytest.param(
            {1: 30.0, 2: 60.0, 3: 25.0, 4: 25.0, 5: 25.0, 6: 25.0},
            True,
            None,
            id="the threshold itself is not below it",
        ),
        pytest.param(
            {1: 10.0, 2: 10.0, 3: 10.0, 4: 10.0, 5: 60.0, 6: 40.0, 7: 40.0, 8: 40.0, 9: 40.0},
            False,
            None,
            id="lows before the peak do not count",
        ),
        pytest.param(
            {1: 24.0, 2: 20.0, 3: 10.0, 4: 10.0, 5: 10.0, 6: 10.0},
            False,
            None,
            id="no wearing off without an onset",
        ),
    ],
)
def test_wearing_off_is_the_first_day_after_the_peak_that_stays_below_the_threshold(
    smoothed, ongoing, expected
):
    assert wearing_off_day(smoothed, ongoing) == expected


@pytest.mark.parametrize(
    ("onset", "wearing_off", "expected"),
    [(12, 74, 62), (12, None, None), (None, None, None)],
)
def test_duration_is_the_days_from_onset_to_wearing_off(onset, wearing_off, expected):
    assert duration_days(onset, wearing_off) == expected


@pytest.mark.parametrize(
    ("length", "wearing_off", "expected"),
    [(90, 74, 16), (84, 83, 1), (None, 74, None), (90, None, None)],
)
def test_gap_is_the_days_from_wearing_off_to_the_next_injection(length, wearing_off, expected):
    assert gap_days(length, wearing_off) == expected


@pytest.mark.parametrize(
    ("baseline_severities", "smoothed", "onset", "wearing_off", "ongoing", "expected"),
    [
        ([8, 8], {}, None, None, False, "no_baseline_logs"),
        ([0, 0, 0], {}, None, None, False, "baseline_zero"),
        ([8, 8, 8], {}, None, None, True, "too_few_logs"),
        ([8, 8, 8], {1: 10.0}, None, None, True, "no_onset"),
        ([8, 8, 8], {1: 30.0}, 1, None, True, "still_in_effect"),
        ([8, 8, 8], {1: 30.0}, 1, None, False, "not_worn_off"),
        ([8, 8, 8], {1: 30.0}, 1, 9, False, None),
        ([8, 8, 8], {1: 30.0}, 1, 9, True, None),
    ],
)
def test_reason_code_names_the_most_relevant_missing_step(
    baseline_severities, smoothed, onset, wearing_off, ongoing, expected
):
    assert reason_code(baseline_severities, smoothed, onset, wearing_off, ongoing) == expected


def test_every_reason_reads_as_plain_english_with_the_settings_filled_in():
    for text in REASONS.values():
        filled = text.format(s=DEFAULT_SETTINGS)
        assert "{" not in filled
        assert filled.endswith(".")
    assert "25 %" in REASONS["no_onset"].format(s=DEFAULT_SETTINGS)


@pytest.mark.parametrize(
    ("day", "expected"),
    [(-1, None), (0, 0), (45, 45), (89, 89), (90, 0), (100, 10)],
)
def test_day_of_cycle_counts_from_the_latest_injection_on_or_before_the_day(day, expected):
    assert day_of_cycle([on(90), on(0)], on(day)) == expected


def test_day_of_cycle_is_none_without_injections():
    assert day_of_cycle([], on(5)) is None


# Cycles from a diary: the edge cases.


def test_no_injections_means_no_cycles():
    assert compute_cycles([], BASELINE_OF_8, today=on(30)) == []


def test_cycle_without_three_baseline_logs_has_no_relief_figures():
    logs = [(on(-14), 8), (on(-7), 8), *daily(0, [4] * 31)]
    [cycle] = compute_cycles(shots(0), logs, today=on(30))
    assert cycle.baseline is None
    assert cycle.baseline_log_count == 2
    assert cycle.relief == {}
    assert cycle.smoothed == {}
    assert (cycle.onset_day, cycle.peak_day, cycle.wearing_off_day) == (None, None, None)
    assert cycle.reason_code == "no_baseline_logs"
    assert "baseline" in cycle.reason


def test_cycle_with_a_baseline_of_zero_has_no_relief_figures():
    logs = [*daily(-14, [0] * 14), *daily(0, [0] * 31)]
    [cycle] = compute_cycles(shots(0), logs, today=on(30))
    assert cycle.baseline is None
    assert cycle.baseline_log_count == 14
    assert cycle.relief == {}
    assert cycle.reason_code == "baseline_zero"


def test_ongoing_cycle_runs_to_today_and_is_still_in_effect():
    logs = [*BASELINE_OF_8, *daily(0, [4] * 21)]
    [cycle] = compute_cycles(shots(0), logs, today=on(20))
    assert cycle.ongoing
    assert cycle.end_date == on(20)
    assert cycle.length_days is None
    assert (cycle.onset_day, cycle.peak_day, cycle.peak_relief) == (1, 1, 50.0)
    assert cycle.wearing_off_day is None
    assert (cycle.duration_days, cycle.gap_days) == (None, None)
    assert cycle.reason_code == "still_in_effect"


def test_missing_days_are_left_out_never_counted_as_zero():
    logs = [*BASELINE_OF_8, (on(2), 4), (on(6), 4)]
    [cycle] = compute_cycles(shots(0), logs, today=on(20))
    assert cycle.relief == {2: 50.0, 6: 50.0}
    assert cycle.smoothed == {3: 50.0, 4: 50.0, 5: 50.0}
    assert cycle.onset_day == 3


def test_single_log_in_a_cycle_gives_no_smoothed_relief():
    [cycle] = compute_cycles(shots(0), [*BASELINE_OF_8, (on(5), 4)], today=on(20))
    assert cycle.relief == {5: 50.0}
    assert cycle.smoothed == {}
    assert cycle.peak_day is None
    assert cycle.reason_code == "too_few_logs"


def test_two_injections_a_few_days_apart_keep_their_smoothing_apart():
    logs = [*daily(-10, [8] * 10), *daily(0, [4] * 4), *daily(4, [8] * 7)]
    first, second = compute_cycles(shots(0, 4), logs, today=on(10))
    assert (first.end_date, first.length_days, first.ongoing) == (on(3), 4, False)
    assert first.smoothed == {0: 50.0, 1: 50.0, 2: 50.0, 3: 50.0}
    # The second baseline spans days -10..3 of the first cycle: ten 8s and four 4s.
    assert second.baseline_log_count == 14
    assert second.baseline == pytest.approx(96 / 14)
    assert second.relief == pytest.approx({day: -100 / 6 for day in range(7)})
    assert second.smoothed == pytest.approx({day: -100 / 6 for day in range(7)})
    assert second.ongoing


def test_same_day_injections_form_one_cycle():
    injections = [
        InjectionPoint(id="b-left", date=on(0)),
        InjectionPoint(id="a-right", date=on(0)),
        InjectionPoint(id="c", date=on(90)),
    ]
    first, second = compute_cycles(injections, BASELINE_OF_8, today=on(100))
    assert first.injection_ids == ("a-right", "b-left")
    assert first.injection_id == "a-right"
    assert (first.index, first.length_days) == (1, 90)
    assert (second.index, second.injection_ids) == (2, ("c",))


def test_logs_before_the_first_injection_only_serve_as_its_baseline():
    logs = [*daily(-30, [2] * 16), *BASELINE_OF_8, *daily(0, [4] * 11)]
    [cycle] = compute_cycles(shots(0), logs, today=on(10))
    assert cycle.baseline == 8.0
    assert cycle.baseline_log_count == 14
    assert min(cycle.relief) == 0
    assert min(cycle.smoothed) == 0


def test_cycle_that_never_reaches_the_threshold_has_a_peak_but_no_onset():
    logs = [*BASELINE_OF_8, *daily(0, [7] * 90)]
    first, _ = compute_cycles(shots(0, 90), logs, today=on(95))
    assert first.onset_day is None
    assert (first.peak_day, first.peak_relief) == (1, 12.5)
    assert first.wearing_off_day is None
    assert first.reason_code == "no_onset"


def test_finished_cycle_that_ends_within_three_days_of_the_drop_has_worn_off():
    # 50 % relief until day 25, then two days worse than baseline (-25 %) before the next
    # injection on day 28. Day 25 averages 25 % (not below); day 26 drops to 20 %.
    logs = [*BASELINE_OF_8, *daily(0, [4] * 26), (on(26), 10), (on(27), 10)]
    first, _ = compute_cycles(shots(0, 28), logs, today=on(30))
    assert first.smoothed[25] == pytest.approx(25.0)
    assert first.smoothed[26] == pytest.approx(20.0)
    assert first.smoothed[27] == pytest.approx(12.5)
    assert first.wearing_off_day == 26
    assert (first.duration_days, first.gap_days) == (25, 2)
    assert first.reason_code is None


def test_the_same_drop_in_an_ongoing_cycle_is_not_wearing_off_yet():
    logs = [*BASELINE_OF_8, *daily(0, [4] * 26), (on(26), 10), (on(27), 10)]
    [cycle] = compute_cycles(shots(0), logs, today=on(27))
    assert cycle.wearing_off_day is None
    assert cycle.reason_code == "still_in_effect"


def test_injections_and_logs_after_today_are_ignored():
    logs = [*BASELINE_OF_8, *daily(0, [4] * 40)]
    [cycle] = compute_cycles(shots(0, 35), logs, today=on(30))
    assert cycle.ongoing
    assert max(cycle.relief) == 30


def test_a_repeated_log_date_keeps_the_last_value_given():
    [cycle] = compute_cycles(shots(0), [*BASELINE_OF_8, (on(5), 8), (on(5), 4)], today=on(9))
    assert cycle.relief == {5: 50.0}
    [cycle] = compute_cycles(shots(0), [*BASELINE_OF_8, (on(5), 4), (on(5), 8)], today=on(9))
    assert cycle.relief == {5: 0.0}


def test_settings_change_the_threshold():
    logs = [*BASELINE_OF_8, *daily(0, [7] * 21)]
    [cycle] = compute_cycles(shots(0), logs, today=on(20), settings=ReliefSettings(threshold=10))
    assert cycle.onset_day == 1


# A realistic cycle of cervical dystonia, checked by hand.


def test_a_realistic_cycle_shows_onset_peak_wearing_off_and_gap():
    # Baseline: days -14..-1, two missed (-10, -4); 12 scores summing to 96, mean 8.
    # Relief against 8: score 6 -> 25 %, 5 -> 37.5 %, 4 -> 50 %, 2 -> 75 %, 7 -> 12.5 %.
    baseline_logs = daily(-14, [8, 9, 7, 8, None, 8, 9, 7, 8, 8, None, 8, 9, 7])
    phases = [(0, 8, 8), (9, 14, 6), (15, 28, 5), (29, 35, 2), (36, 59, 4), (60, 73, 5)]
    phases += [(74, 89, 7), (90, 95, 7)]
    # Missed days all fall inside a phase, away from the days checked below.
    missed = {3, 20, 21, 45, 50, 51, 52, 85}
    cycle_logs = [
        (on(day), score)
        for first, last, score in phases
        for day in range(first, last + 1)
        if day not in missed
    ]
    first, second = compute_cycles(shots(0, 90), baseline_logs + cycle_logs, today=on(95))

    assert (first.baseline, first.baseline_log_count) == (8.0, 12)
    assert (first.end_date, first.length_days) == (on(89), 90)
    # Onset: day 11 averages days 8..14 = (0 + 6 x 25) / 7 = 21.4 %;
    # day 12 averages days 9..15 = (6 x 25 + 37.5) / 7 = 26.8 %.
    assert first.smoothed[11] == pytest.approx(150 / 7)
    assert first.smoothed[12] == pytest.approx(187.5 / 7)
    assert first.onset_day == 12
    # Peak: only day 32's window (29..35) holds nothing but 75 % days.
    assert (first.peak_day, first.peak_relief) == (32, 75.0)
    # Wearing off: day 73 averages 70..76 = (4 x 37.5 + 3 x 12.5) / 7 = 26.8 %;
    # day 74 averages 71..77 = (3 x 37.5 + 4 x 12.5) / 7 = 23.2 %, and lower after that.
    assert first.smoothed[73] == pytest.approx(187.5 / 7)
    assert first.smoothed[74] == pytest.approx(162.5 / 7)
    assert first.wearing_off_day == 74
    assert (first.duration_days, first.gap_days) == (62, 16)
    assert first.reason_code is None

    # The second baseline is the first cycle's days 76..89 (85 missed): thirteen 7s.
    assert (second.baseline, second.baseline_log_count) == (7.0, 13)
    assert second.ongoing
    assert second.relief == {day: 0.0 for day in range(6)}
    assert second.reason_code == "no_onset"
    products = {"shot-0": "Botox", "shot-90": "Botox"}
    assert wearing_off_forecast([first, second], products).day is None  # needs two that wore off


# Overlay (the forecast: tests/test_forecast.py).


@pytest.mark.parametrize(
    "values",
    [[10.0, 30.0], [10.0, 20.0, 40.0], [5.0, 1.0, 9.0, 7.0, 3.0], [-20.0, 60.0, 60.0, 100.0]],
)
def test_overlay_quartiles_are_those_of_statistics_quantiles_inclusive(values):
    [day] = overlay([make_cycle(smoothed={5: value}) for value in values])
    p25, median, p75 = statistics.quantiles(values, n=4, method="inclusive")
    assert (day.day, day.p25, day.median, day.p75) == (5, p25, median, p75)
    assert day.cycle_count == len(values)


def test_overlay_of_a_single_cycle_repeats_its_value():
    [day] = overlay([make_cycle(smoothed={12: 42.0})])
    assert (day.median, day.p25, day.p75, day.cycle_count) == (42.0, 42.0, 42.0, 1)


def test_overlay_counts_only_the_cycles_with_a_value_on_that_day():
    cycles = [make_cycle(smoothed={0: 10.0, 1: 20.0}), make_cycle(smoothed={2: 60.0, 1: 40.0})]
    days = overlay(cycles)
    assert [(d.day, d.cycle_count) for d in days] == [(0, 1), (1, 2), (2, 1)]
    assert (days[1].p25, days[1].median, days[1].p75) == (25.0, 30.0, 35.0)


def test_overlay_of_no_cycles_is_empty():
    assert overlay([]) == []


# Properties over random diaries.

START = date(2025, 1, 1)


@st.composite
def diaries(draw):
    """Half a year or so of scores in phases (a steady score, logged every 1-3 days), up to
    five injections and a today: enough logs for baselines, onsets and wearing-off."""
    phases = draw(
        st.lists(st.tuples(st.integers(1, 40), st.integers(0, 10), st.integers(1, 3)), max_size=8)
    )
    scores = [score for length, score, _ in phases for _ in range(length)]
    log_every = [step for length, _, step in phases for _ in range(length)]
    logs = [
        (START + timedelta(days=i), score)
        for i, (score, step) in enumerate(zip(scores, log_every, strict=True))
        if i % step == 0
    ]
    injection_days = draw(st.lists(st.integers(0, 200), max_size=5))
    injections = [
        InjectionPoint(id=f"shot-{n}", date=START + timedelta(days=day))
        for n, day in enumerate(injection_days)
    ]
    today = START + timedelta(days=draw(st.integers(0, 220)))
    return injections, logs, today


def can_matter(day: date, injections: list[InjectionPoint], today: date) -> bool:
    """Whether a log on `day` lies in some cycle's span or some baseline window."""
    dates = [i.date for i in injections if i.date <= today]
    in_a_cycle = any(injected <= day <= today for injected in dates)
    in_a_baseline = any(injected - timedelta(days=14) <= day < injected for injected in dates)
    return in_a_cycle or in_a_baseline


@given(diaries(), st.randoms(use_true_random=False))
def test_input_order_does_not_change_the_cycles(diary, rng: random.Random):
    injections, logs, today = diary
    shuffled_injections = rng.sample(injections, len(injections))
    shuffled_logs = rng.sample(logs, len(logs))
    expected = compute_cycles(injections, logs, today)
    assert compute_cycles(shuffled_injections, shuffled_logs, today) == expected


@given(diaries(), st.lists(st.tuples(st.integers(-60, 400), st.integers(0, 10))))
def test_logs_outside_every_cycle_and_baseline_window_change_nothing(diary, extra):
    injections, logs, today = diary
    extra_logs = [(START + timedelta(days=day), score) for day, score in extra]
    irrelevant = [log for log in extra_logs if not can_matter(log[0], injections, today)]
    expected = compute_cycles(injections, logs, today)
    assert compute_cycles(injections, logs + irrelevant, today) == expected
    assert compute_cycles(injections, irrelevant + logs, today) == expected


@given(diaries())
def test_each_logged_day_belongs_to_at_most_one_cycle(diary):
    injections, logs, today = diary
    cycles = compute_cycles(injections, logs, today)
    for log_date, _ in logs:
        assert sum(c.injection_date <= log_date <= c.end_date for c in cycles) <= 1
    relief_dates = [c.injection_date + timedelta(days=day) for c in cycles for day in c.relief]
    assert len(relief_dates) == len(set(relief_dates))
    for cycle in cycles:
        assert all(0 <= day <= (cycle.end_date - cycle.injection_date).days for day in cycle.relief)


@given(diaries())
def test_relief_is_never_above_100_percent(diary):
    cycles = compute_cycles(*diary)
    for cycle in cycles:
        assert all(value <= 100 for value in cycle.relief.values())
        assert all(value <= 100 for value in cycle.smoothed.values())
    assert all(day.p75 <= 100 for day in overlay(cycles))


@given(diaries())
def test_onset_peak_and_wearing_off_come_in_order(diary):
    for cycle in compute_cycles(*diary):
        if cycle.onset_day is not None:
            assert cycle.onset_day <= cycle.peak_day
        if cycle.wearing_off_day is not None:
            assert cycle.peak_day < cycle.wearing_off_day
            assert cycle.duration_days >= 1
        if cycle.gap_days is not None:
            assert cycle.gap_days >= 1
        assert (cycle.reason_code is None) == (cycle.reason is None)


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        ([], None),
        ([date(2026, 1, 1)], date(2026, 3, 26)),
        ([date(2026, 1, 1), date(2026, 4, 1), date(2026, 7, 10)], date(2026, 10, 13)),
    ],
)
def test_the_next_injection_is_expected_after_the_median_interval(dates, expected):
    assert expected_next_injection(dates) == expected


@pytest.mark.parametrize(
    ("cycle_day", "days_to_next", "due"),
    [
        (27, 57, None),
        (28, 56, "peak"),
        (42, 42, "peak"),
        (43, 41, None),
        (76, 8, None),
        (77, 7, "before_next"),
        (90, -6, "before_next"),
        (30, 5, "peak"),
    ],
)
def test_pgic_is_due_around_weeks_4_to_6_and_in_the_last_week(cycle_day, days_to_next, due):
    injected = date(2026, 1, 1)
    today = injected + timedelta(days=cycle_day)
    assert pgic_timepoint_due(injected, today + timedelta(days=days_to_next), today) == due


def test_current_status_gives_the_latest_smoothed_relief_of_the_ongoing_cycle():
    logs = [(on(d), 8) for d in range(-14, 0)] + [(on(d), 4) for d in range(0, 10)]
    cycles = compute_cycles([InjectionPoint("a", INJECTED)], logs, today=on(12))
    status = current_status(cycles)
    assert (status.day, status.relief, status.reason) == (12, 50.0, None)
    assert status.forecast is None  # no products given


def test_current_status_says_why_when_there_is_no_baseline():
    cycles = compute_cycles([InjectionPoint("a", INJECTED)], [(on(1), 4)], today=on(5))
    status = current_status(cycles)
    assert status.relief is None
    assert "baseline" in status.reason


def test_current_status_is_none_without_an_injection():
    assert current_status([]) is None


# The smoothed severity drawn on the timeline, and reactions per cycle.


@pytest.mark.parametrize(
    ("logged", "injected", "first", "last", "expected"),
    [
        pytest.param({0: 4}, [], 0, 5, {}, id="a single log has no average"),
        pytest.param({0: 4, 6: 8}, [], 0, 8, {3: 6.0}, id="six days apart meet in the middle"),
        pytest.param(
            {1: 2, 2: 6, 6: 7},
            [],
            0,
            9,
            {0: 4.0, 1: 4.0, 2: 4.0, 3: 5.0, 4: 5.0, 5: 6.5},
            id="unlogged days are left out, not zeros",
        ),
        pytest.param(
            {-2: 8, -1: 8, 0: 2, 1: 2},
            [0],
            -3,
            2,
            {-3: 8.0, -2: 8.0, -1: 8.0, 0: 2.0, 1: 2.0, 2: 2.0},
            id="no window reaches across an injection",
        ),
        pytest.param(
            {-30: 6, -28: 8, 0: 1, 1: 3},
            [0],
            -31,
            -27,
            {-31: 7.0, -30: 7.0, -29: 7.0, -28: 7.0, -27: 7.0},
            id="before the first injection the same window applies",
        ),
        pytest.param(
            {0: 4, 1: 6, 2: 8, 3: 10},
            [0],
            0,
            1,
            {0: 5.0, 1: 5.0},
            id="no window reaches past the last day",
        ),
        pytest.param(
            {0: 3, 5: 5, 10: 1},
            [0, 10],
            0,
            12,
            {2: 4.0, 3: 4.0},
            id="a log alone in its cycle has no average",
        ),
    ],
)
def test_smoothed_severity_is_the_mean_of_two_or_more_logs_within_three_days_of_one_cycle(
    logged, injected, first, last, expected
):
    severities = {on(day): score for day, score in logged.items()}
    found = smoothed_severity(severities, [on(day) for day in injected], on(first), on(last))
    assert found == pytest.approx({on(day): value for day, value in expected.items()})


@given(diaries())
def test_smoothed_severity_is_smoothed_relief_on_the_severity_scale(diary):
    injections, logs, today = diary
    cycles = compute_cycles(injections, logs, today)
    severities = dict(logs)
    first = min([today, *(day for day, _ in logs)])
    found = smoothed_severity(
        severities, [i.date for i in injections if i.date <= today], first, today
    )
    for cycle in cycles:
        if cycle.baseline is None:
            continue
        for day in range((cycle.end_date - cycle.injection_date).days + 1):
            on_day = cycle.injection_date + timedelta(days=day)
            if day in cycle.smoothed:
                expected = cycle.baseline * (1 - cycle.smoothed[day] / 100)
                assert found[on_day] == pytest.approx(expected)
            else:
                assert on_day not in found


def test_reactions_are_counted_in_the_cycle_they_start_in():
    cycles = compute_cycles(shots(0, 30), [], today=on(50))
    onsets = [on(-3), on(0), on(5), on(29), on(30), on(50), on(51)]
    assert count_per_cycle(cycles, onsets) == {1: 3, 2: 2}
