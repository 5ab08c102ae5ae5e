"""The wearing-off forecast (docs/clinical-rules.md, "Wearing-off forecast"): pure, no database."""

import random
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.relief import Cycle, ReliefSettings, wearing_off_forecast, whole_day

START = date(2025, 1, 6)
CYCLE_DAYS = 90


def history(*finished: tuple[str, int | None], current: str = "Botox") -> tuple[list, dict]:
    """Finished cycles as (product, wearing-off day or None), oldest first, then the ongoing
    cycle of `current`; with each injection's product by id."""
    cycles, products = [], {}
    for index, (product, wearing_off) in enumerate([*finished, (current, None)], start=1):
        injected = START + timedelta(days=CYCLE_DAYS * (index - 1))
        ongoing = index == len(finished) + 1
        cycles.append(
            Cycle(
                index=index,
                injection_id=f"shot-{index}",
                injection_ids=(f"shot-{index}",),
                injection_date=injected,
                end_date=injected + timedelta(days=CYCLE_DAYS - 1),
                ongoing=ongoing,
                length_days=None if ongoing else CYCLE_DAYS,
                baseline=8.0,
                baseline_log_count=14,
                relief={},
                smoothed={},
                onset_day=10 if wearing_off else None,
                peak_day=30 if wearing_off else None,
                peak_relief=60.0 if wearing_off else None,
                wearing_off_day=wearing_off,
                duration_days=None,
                gap_days=None,
                reason_code=None,
                reason=None,
            )
        )
        products[f"shot-{index}"] = product
    return cycles, products


CURRENT_INJECTION = START + timedelta(days=CYCLE_DAYS * 2)  # after two finished cycles


@pytest.mark.parametrize(
    ("finished", "day", "earliest", "latest", "used"),
    [
        pytest.param([("Botox", 70), ("Botox", 80)], 75, 70, 80, (1, 2), id="two: their median"),
        pytest.param([("Botox", 70), ("Botox", 71)], 71, 70, 71, (1, 2), id="70.5 rounds up"),
        pytest.param([("Botox", 69), ("Botox", 70)], 70, 69, 70, (1, 2), id="69.5 rounds up"),
        pytest.param(
            [("Botox", 70), ("Botox", 80), ("Botox", 74)], 74, 70, 80, (1, 2, 3), id="three"
        ),
        pytest.param(
            [("Botox", 40), ("Botox", 70), ("Botox", 80), ("Botox", 74)],
            74,
            70,
            80,
            (2, 3, 4),
            id="only the last three",
        ),
        pytest.param(
            [("Botox", 70), ("Dysport", 40), ("Botox", 80)],
            75,
            70,
            80,
            (1, 3),
            id="another product's cycle is left out",
        ),
        pytest.param(
            [("Botox", 70), ("Botox", None), ("Botox", 80)],
            75,
            70,
            80,
            (1, 3),
            id="a cycle that never wore off is left out",
        ),
        pytest.param(
            [("Botox", 40), ("Botox", 70), ("Botox", None), ("Botox", 80), ("Botox", 74)],
            74,
            70,
            80,
            (2, 4, 5),
            id="the last three that wore off",
        ),
        pytest.param([("Botox", 66), ("Botox", 66)], 66, 66, 66, (1, 2), id="a range of one day"),
    ],
)
def test_the_forecast_is_the_median_of_the_last_same_product_cycles_that_wore_off(
    finished, day, earliest, latest, used
):
    cycles, products = history(*finished)
    forecast = wearing_off_forecast(cycles, products)
    assert (forecast.day, forecast.earliest, forecast.latest) == (day, earliest, latest)
    assert forecast.cycles_used == used
    assert forecast.product == "Botox"
    assert forecast.reason is None
    current = cycles[-1].injection_date
    assert forecast.date == current + timedelta(days=day)


@pytest.mark.parametrize(
    ("finished", "current", "reason"),
    [
        ([], "Botox", "Needs two finished cycles of Botox that wore off; none so far."),
        ([("Botox", 70)], "Botox", "Needs two finished cycles of Botox that wore off; 1 so far."),
        (
            [("Botox", 70), ("Botox", None), ("Botox", None)],
            "Botox",
            "Needs two finished cycles of Botox that wore off; 1 so far.",
        ),
        (
            [("Botox", 70), ("Botox", 80)],
            "Dysport",
            "Needs two finished cycles of Dysport that wore off; none so far.",
        ),
    ],
)
def test_without_two_such_cycles_there_is_no_forecast_and_it_says_why(finished, current, reason):
    cycles, products = history(*finished, current=current)
    forecast = wearing_off_forecast(cycles, products)
    assert (forecast.day, forecast.date, forecast.earliest, forecast.latest) == (None,) * 4
    assert forecast.cycles_used == ()
    assert forecast.reason == reason


def test_there_is_no_forecast_without_an_ongoing_cycle():
    assert wearing_off_forecast([], {}) is None
    cycles, products = history(("Botox", 70), ("Botox", 80))
    finished = [replace(cycle, ongoing=False) for cycle in cycles]
    assert wearing_off_forecast(finished, products) is None


def test_the_current_cycle_is_the_ongoing_one_whatever_order_the_cycles_come_in():
    cycles, products = history(("Botox", 70), ("Botox", 80))
    forecast = wearing_off_forecast(reversed(cycles), products)
    assert forecast.date == CURRENT_INJECTION + timedelta(days=75)


def test_same_day_injections_of_two_products_match_only_the_same_mix():
    cycles, products = history(("Botox", 70), ("Botox", 80), ("Botox", 74), ("Botox", 72))
    mixed = [replace(c, injection_ids=(c.injection_id, f"{c.injection_id}-b")) for c in cycles]
    products |= {f"shot-{n}-b": "Dysport" for n in (1, 2, 5)}
    forecast = wearing_off_forecast(mixed, products)
    assert forecast.product == "Botox + Dysport"
    assert (forecast.day, forecast.cycles_used) == (75, (1, 2))


def test_settings_change_how_many_cycles_are_needed_and_used():
    cycles, products = history(("Botox", 70), ("Botox", 80), ("Botox", 74))
    assert wearing_off_forecast(cycles, products, ReliefSettings(forecast_min_cycles=4)).reason == (
        "Needs four finished cycles of Botox that wore off; 3 so far."
    )
    one = wearing_off_forecast(
        cycles, products, ReliefSettings(forecast_min_cycles=1, forecast_max_cycles=1)
    )
    assert (one.day, one.cycles_used) == (74, (3,))


@pytest.mark.parametrize(
    ("value", "rounded"), [(72.0, 72), (72.5, 73), (73.5, 74), (72.49, 72), (-0.5, -1), (0.5, 1)]
)
def test_whole_day_rounds_half_away_from_zero(value, rounded):
    assert whole_day(value) == rounded


# Properties over any history.

finished_cycles = st.lists(
    st.tuples(st.sampled_from(["Botox", "Dysport"]), st.none() | st.integers(8, 89)),
    max_size=8,
)


@given(finished_cycles, st.sampled_from(["Botox", "Dysport"]), st.randoms())
def test_the_forecast_holds_whatever_the_history(finished, current, rng: random.Random):
    cycles, products = history(*finished, current=current)
    forecast = wearing_off_forecast(cycles, products)
    by_index = {cycle.index: cycle for cycle in cycles}

    # The order the cycles come in makes no difference.
    shuffled = list(cycles)
    rng.shuffle(shuffled)
    assert wearing_off_forecast(shuffled, products) == forecast

    # Only finished cycles of the current product that wore off are used, at most 3.
    assert len(forecast.cycles_used) <= 3
    for index in forecast.cycles_used:
        cycle = by_index[index]
        assert not cycle.ongoing and cycle.wearing_off_day is not None
        assert products[cycle.injection_id] == current

    # Another product's cycles make no difference, whatever their wearing-off days.
    others = {
        index: replace(cycle, wearing_off_day=None)
        for index, cycle in by_index.items()
        if products[cycle.injection_id] != current
    }
    assert wearing_off_forecast([others.get(c.index, c) for c in cycles], products) == forecast

    # The range holds the day, which is where the cycles used wore off.
    if forecast.day is None:
        assert forecast.reason and forecast.cycles_used == ()
    else:
        days = [by_index[index].wearing_off_day for index in forecast.cycles_used]
        assert forecast.earliest == min(days) <= forecast.day <= max(days) == forecast.latest
        assert forecast.date == cycles[-1].injection_date + timedelta(days=forecast.day)
