"""Injection cycles and the relief figures computed from a patient's daily severity scores.

Each public function implements one of the product's definitions of per-cycle metrics
(docs/clinical-rules.md, "Cycles" to "Wearing-off forecast"); `compute_cycles` puts them
together. Pure date and number maths with no Django: callers fetch the rows and format the
numbers. Nothing here is rounded but the wearing-off forecast's day, rounded once here so that
every page, the API and the reminder give the same day.

Days are counted from a cycle's injection: day 0 is the injection day, day -1 the day before.
"""

import statistics
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from math import fsum
from typing import NamedTuple

from tracker.shown import Shown


@dataclass(frozen=True)
class ReliefSettings:
    threshold: float = 25.0  # meaningful relief, percent
    baseline_days: int = 14  # days -14..-1 before the injection
    baseline_min_logs: int = 3
    smoothing_half_window: int = 3  # d-3..d+3
    smoothing_min_logs: int = 2
    wearing_off_confirm_days: int = 3  # next 3 days that have a smoothed value
    forecast_min_cycles: int = 2
    forecast_max_cycles: int = 3  # the last few finished cycles of the same product


DEFAULT_SETTINGS = ReliefSettings()


@dataclass(frozen=True)
class InjectionPoint:
    id: object
    date: date


@dataclass(frozen=True)
class Cycle(Shown):
    index: int  # 1-based, chronological
    injection_id: object  # the first of `injection_ids`
    injection_ids: tuple  # every injection on that date: same-day injections form one cycle
    injection_date: date
    end_date: date  # the day before the next injection, or today for the ongoing cycle
    ongoing: bool
    length_days: int | None  # next injection date - injection date; finished cycles only
    baseline: float | None
    baseline_log_count: int
    relief: dict[int, float]  # day -> relief %, logged days only
    smoothed: dict[int, float]  # day -> smoothed relief %, days that have a value only
    onset_day: int | None
    peak_day: int | None
    peak_relief: float | None
    wearing_off_day: int | None
    duration_days: int | None
    gap_days: int | None
    reason_code: str | None  # the most relevant key of REASONS, or None
    reason: str | None  # its plain-English text


@dataclass(frozen=True)
class OverlayDay:
    day: int
    median: float
    p25: float
    p75: float
    cycle_count: int


class Peak(NamedTuple):
    day: int
    relief: float


# Why a cycle's figures are missing, most fundamental first: `reason_code` picks the first
# one that applies.
REASONS = {
    "no_baseline_logs": (
        "Fewer than {s.baseline_min_logs} scores were logged in the {s.baseline_days} days "
        "before the injection, so there is no baseline to measure relief against."
    ),
    "baseline_zero": (
        "Every score in the {s.baseline_days} days before the injection was 0: "
        "there was nothing to relieve."
    ),
    "too_few_logs": "Too few scores were logged in this cycle to show how relief went.",
    "no_onset": "Relief has not reached the meaningful level of {s.threshold:g} %.",
    "still_in_effect": "The injection is still in effect: relief has not worn off yet.",
    "not_worn_off": "Relief had not worn off by the next injection.",
}


def baseline(
    severities: Sequence[float], settings: ReliefSettings = DEFAULT_SETTINGS
) -> float | None:
    """Mean severity of the baseline window's logs; None with too few logs or a mean of 0."""
    if len(severities) < settings.baseline_min_logs:
        return None
    mean = statistics.fmean(severities)
    return mean if mean > 0 else None


def relief(baseline: float, severity: float) -> float:
    """Percent improvement on the baseline; negative when worse. At most 100 as severity >= 0."""
    return (baseline - severity) / baseline * 100


def smoothed_relief(
    relief_by_day: Mapping[int, float], last_day: int, settings: ReliefSettings = DEFAULT_SETTINGS
) -> dict[int, float]:
    """Mean relief of the logs within the half window of each day 0..last_day, where there are
    enough of them. Unlogged days are left out of the mean, never counted as 0, and the window
    is clipped to the cycle so that it never reaches into the previous or the next one."""
    half, least = settings.smoothing_half_window, settings.smoothing_min_logs
    logged = sorted(day for day in relief_by_day if 0 <= day <= last_day)
    values = [relief_by_day[day] for day in logged]
    # The window's logs are values[low:high], both ends moving forward with the day: each
    # mean is of the same values as a mean over the days of the window would take.
    smoothed, low, high, count = {}, 0, 0, len(logged)
    for day in range(last_day + 1):
        while low < count and logged[low] < day - half:
            low += 1
        while high < count and logged[high] <= day + half:
            high += 1
        if high - low >= least:
            smoothed[day] = fsum(values[low:high]) / (high - low)  # fmean, without its checks
    return smoothed


def onset_day(
    smoothed: Mapping[int, float], settings: ReliefSettings = DEFAULT_SETTINGS
) -> int | None:
    """First day >= 1 whose smoothed relief is at or above the threshold."""
    return next(
        (day for day in sorted(smoothed) if day >= 1 and smoothed[day] >= settings.threshold),
        None,
    )


def peak(smoothed: Mapping[int, float]) -> Peak | None:
    """Largest smoothed relief among days >= 1, on the first day it occurs (with or without
    an onset)."""
    best_day, best = None, None
    for day in sorted(smoothed):
        # Strictly larger: of equal values, the earliest day's is kept.
        if day >= 1 and (best is None or smoothed[day] > best):
            best_day, best = day, smoothed[day]
    return None if best_day is None else Peak(best_day, best)


def wearing_off_day(
    smoothed: Mapping[int, float], ongoing: bool, settings: ReliefSettings = DEFAULT_SETTINGS
) -> int | None:
    """First day after the peak whose smoothed relief is below the threshold and stays below on
    each of the next `wearing_off_confirm_days` days that have a value; only once there was an
    onset. An ongoing cycle must have all those later values (more logs may come); a finished
    one may have fewer, because it ended first, and then all it has must be below."""
    if onset_day(smoothed, settings) is None:
        return None
    return _wearing_off_after(smoothed, peak(smoothed).day, ongoing, settings)


def _wearing_off_after(
    smoothed: Mapping[int, float], peak_day: int, ongoing: bool, settings: ReliefSettings
) -> int | None:
    """wearing_off_day, given that there was an onset and the peak's day."""
    confirm, threshold = settings.wearing_off_confirm_days, settings.threshold
    days_after_peak = [day for day in sorted(smoothed) if day > peak_day]
    # below[n]: how many days from position n on, in a row, are below the threshold.
    below = [0] * (len(days_after_peak) + 1)
    for position in range(len(days_after_peak) - 1, -1, -1):
        if smoothed[days_after_peak[position]] < threshold:
            below[position] = below[position + 1] + 1
    for position, day in enumerate(days_after_peak):
        later = min(confirm, len(days_after_peak) - position - 1)
        if ongoing and later < confirm:
            break  # every later day has even fewer values after it
        if below[position] >= later + 1:  # this day and each of the later ones
            return day
    return None


def duration_days(onset_day: int | None, wearing_off_day: int | None) -> int | None:
    """Days of benefit: from onset to wearing-off."""
    if onset_day is None or wearing_off_day is None:
        return None
    return wearing_off_day - onset_day


def gap_days(length_days: int | None, wearing_off_day: int | None) -> int | None:
    """Days with no relief before the next injection, for a finished cycle that wore off."""
    if length_days is None or wearing_off_day is None:
        return None
    return length_days - wearing_off_day


def reason_code(
    baseline_severities: Sequence[float],
    smoothed: Mapping[int, float],
    onset_day: int | None,
    wearing_off_day: int | None,
    ongoing: bool,
    settings: ReliefSettings = DEFAULT_SETTINGS,
) -> str | None:
    """The most relevant reason why some of a cycle's figures are missing, or None."""
    if len(baseline_severities) < settings.baseline_min_logs:
        return "no_baseline_logs"
    if baseline(baseline_severities, settings) is None:
        return "baseline_zero"
    if not smoothed:
        return "too_few_logs"
    if onset_day is None:
        return "no_onset"
    if wearing_off_day is None:
        return "still_in_effect" if ongoing else "not_worn_off"
    return None


def compute_cycles(
    injections: Iterable[InjectionPoint],
    logs: Iterable[tuple[date, float]],
    today: date,
    settings: ReliefSettings = DEFAULT_SETTINGS,
) -> list[Cycle]:
    """The patient's cycles, oldest first, with their relief figures.

    `logs` are (date, severity 0-10) pairs, one per date expected. Should a date repeat, the
    last pair given for it wins (as after a stable sort by date), the one place where input
    order matters. Injections and logs after `today` are ignored.
    """
    return [figures(given, settings) for given in cycle_inputs(injections, logs, today, settings)]


class CycleInput(NamedTuple):
    """Everything one cycle's figures are computed from, and nothing more: equal inputs give
    equal figures (tracker/relief_cache.py keeps them under a digest of these)."""

    index: int
    injection_ids: tuple
    injection_date: date
    next_injection_date: date | None  # None: the cycle is ongoing
    end_date: date
    # (day since injection, severity) of the logged days from the baseline window's first day
    # to end_date, in order of day.
    severities: tuple[tuple[int, float], ...]


def cycle_inputs(
    injections: Iterable[InjectionPoint],
    logs: Iterable[tuple[date, float]],
    today: date,
    settings: ReliefSettings = DEFAULT_SETTINGS,
) -> list[CycleInput]:
    """Each cycle's inputs, oldest first (compute_cycles' arguments, cycle by cycle)."""
    ids_by_date = _injection_ids_by_date(injections, today)
    # By day number (date.toordinal): a day of a cycle is its injection's number + the day.
    by_number = {log_date.toordinal(): severity for log_date, severity in logs if log_date <= today}
    numbers = sorted(by_number)
    inputs = []
    # Each injection date with the next one; the last has none: its cycle is ongoing.
    for index, (day, next_day) in enumerate(pairwise([*ids_by_date, None]), start=1):
        end_date = today if next_day is None else next_day - timedelta(days=1)
        injected = day.toordinal()
        # The baseline window may lie in the previous cycle: it is counted from this injection.
        logged = numbers[
            bisect_left(numbers, injected - settings.baseline_days) : bisect_right(
                numbers, end_date.toordinal()
            )
        ]
        severities = tuple((number - injected, by_number[number]) for number in logged)
        inputs.append(CycleInput(index, ids_by_date[day], day, next_day, end_date, severities))
    return inputs


def _injection_ids_by_date(injections: Iterable[InjectionPoint], today: date) -> dict[date, tuple]:
    ids_by_date = defaultdict(list)
    for injection in injections:
        if injection.date <= today:
            ids_by_date[injection.date].append(injection.id)
    # A date carries no time of day, so same-day injections are put in order of their ids,
    # which keeps the cycle's `injection_id` independent of the order they were given in.
    return {day: tuple(sorted(ids, key=str)) for day, ids in sorted(ids_by_date.items())}


def figures(given: CycleInput, settings: ReliefSettings = DEFAULT_SETTINGS) -> Cycle:
    """One cycle's relief figures, from its inputs alone."""
    ongoing = given.next_injection_date is None
    length_days = None if ongoing else (given.next_injection_date - given.injection_date).days
    last_day = (given.end_date - given.injection_date).days

    baseline_severities = [severity for day, severity in given.severities if day < 0]
    mean_severity = baseline(baseline_severities, settings)
    relief_by_day = {}
    if mean_severity is not None:
        relief_by_day = {
            day: relief(mean_severity, severity) for day, severity in given.severities if day >= 0
        }

    smoothed = smoothed_relief(relief_by_day, last_day, settings)
    onset = onset_day(smoothed, settings)
    highest = peak(smoothed)
    wearing_off = (
        None if onset is None else _wearing_off_after(smoothed, highest.day, ongoing, settings)
    )
    code = reason_code(baseline_severities, smoothed, onset, wearing_off, ongoing, settings)
    return Cycle(
        index=given.index,
        injection_id=given.injection_ids[0],
        injection_ids=given.injection_ids,
        injection_date=given.injection_date,
        end_date=given.end_date,
        ongoing=ongoing,
        length_days=length_days,
        baseline=mean_severity,
        baseline_log_count=len(baseline_severities),
        relief=relief_by_day,
        smoothed=smoothed,
        onset_day=onset,
        peak_day=highest.day if highest else None,
        peak_relief=highest.relief if highest else None,
        wearing_off_day=wearing_off,
        duration_days=duration_days(onset, wearing_off),
        gap_days=gap_days(length_days, wearing_off),
        reason_code=code,
        reason=REASONS[code].format(s=settings) if code else None,
    )


def overlay(cycles: Sequence[Cycle]) -> list[OverlayDay]:
    """Per day since injection, the median and quartiles of the cycles' smoothed relief, over
    the cycles that have a value on that day."""
    values_by_day = defaultdict(list)
    for cycle in cycles:
        for day, value in cycle.smoothed.items():
            values_by_day[day].append(value)
    return [_overlay_day(day, values) for day, values in sorted(values_by_day.items())]


def _overlay_day(day: int, values: list[float]) -> OverlayDay:
    if len(values) == 1:
        p25 = median = p75 = values[0]
    else:
        p25, median, p75 = statistics.quantiles(values, n=4, method="inclusive")
    return OverlayDay(day=day, median=median, p25=p25, p75=p75, cycle_count=len(values))


@dataclass(frozen=True)
class Forecast(Shown):
    """When the current cycle will likely wear off: one figure, shown the same everywhere."""

    product: str  # the current cycle's product, as given: "Botox"
    day: int | None  # a day of the current cycle, rounded once; None: no forecast
    date: date | None  # the current injection's date + `day`
    earliest: int | None  # the range: the earliest and the latest wearing-off day of the
    latest: int | None  # cycles used
    cycles_used: tuple[int, ...]  # their indexes, oldest first
    reason: str | None  # why there is no forecast, in plain words


NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def whole_day(value: float) -> int:
    """Rounded half away from zero (72.5 -> 73), as the pages' floatformat rounds."""
    return int(Decimal(repr(value)).to_integral_value(ROUND_HALF_UP))


def cycle_product(cycle: Cycle, products: Mapping[object, str]) -> str:
    """The cycle's product; "Botox + Dysport" for a mix given on the same day."""
    return " + ".join(sorted({products.get(pk, "") for pk in cycle.injection_ids} - {""}))


def wearing_off_forecast(
    cycles: Iterable[Cycle],
    products: Mapping[object, str],
    settings: ReliefSettings = DEFAULT_SETTINGS,
) -> Forecast | None:
    """The median wearing-off day of the last (up to `forecast_max_cycles`) finished cycles of
    the current cycle's product that have one, once there are `forecast_min_cycles` of them,
    with their range; else no day, and the reason. None without an ongoing cycle.

    `products` gives each injection's product by id: units and effect do not carry across
    products. The cycles may come in any order."""
    by_date = sorted(cycles, key=lambda cycle: cycle.injection_date)
    current = next((cycle for cycle in reversed(by_date) if cycle.ongoing), None)
    if current is None:
        return None
    product = cycle_product(current, products)
    used = [
        cycle
        for cycle in by_date
        if not cycle.ongoing
        and cycle.injection_date < current.injection_date
        and cycle.wearing_off_day is not None
        and cycle_product(cycle, products) == product
    ][-settings.forecast_max_cycles :]
    if not product or len(used) < settings.forecast_min_cycles:
        needed = NUMBER_WORDS.get(settings.forecast_min_cycles, settings.forecast_min_cycles)
        so_far = len(used) if product else 0
        return Forecast(
            product=product,
            day=None,
            date=None,
            earliest=None,
            latest=None,
            cycles_used=(),
            reason=(
                f"Needs {needed} finished cycles of {product or 'the same product'} that wore "
                f"off; {so_far or 'none'} so far."
            ),
        )
    days = [cycle.wearing_off_day for cycle in used]
    day = whole_day(statistics.median(days))
    return Forecast(
        product=product,
        day=day,
        date=current.injection_date + timedelta(days=day),
        earliest=min(days),
        latest=max(days),
        cycles_used=tuple(cycle.index for cycle in used),
        reason=None,
    )


def day_of_cycle(injection_dates: Iterable[date], day: date) -> int | None:
    """Days since the latest injection on or before `day`; None before the first one."""
    latest = max((injected for injected in injection_dates if injected <= day), default=None)
    return None if latest is None else (day - latest).days


# The Patient Global Impression of Change is asked twice per cycle: around weeks 4-6, and in
# the last week before the next injection is expected (docs/clinical-rules.md, "PGIC").
PGIC_PEAK_DAYS = range(28, 43)
PGIC_BEFORE_NEXT_DAYS = 7
USUAL_INTERVAL_DAYS = 84  # re-injection is usually no sooner than 12 weeks


def expected_next_injection(injection_dates: Iterable[date]) -> date | None:
    """The last injection plus the patient's median interval (12 weeks until there is one)."""
    dates = sorted(set(injection_dates))
    if not dates:
        return None
    intervals = [(b - a).days for a, b in pairwise(dates)]
    interval = statistics.median(intervals) if intervals else USUAL_INTERVAL_DAYS
    return dates[-1] + timedelta(days=round(interval))


def pgic_timepoint_due(injection_date: date, expected_next: date, today: date) -> str | None:
    """Which PGIC question is due today in the current cycle, if any: "peak" or "before_next"."""
    cycle_day = (today - injection_date).days
    if cycle_day in PGIC_PEAK_DAYS:
        return "peak"
    if cycle_day >= PGIC_PEAK_DAYS.stop and (expected_next - today).days <= PGIC_BEFORE_NEXT_DAYS:
        return "before_next"
    return None


@dataclass(frozen=True)
class CycleStatus(Shown):
    """Where the current cycle stands today, for the one-line summary on Today."""

    day: int
    relief: float | None  # the latest smoothed relief of the last few days
    reason: str | None  # why there is no relief figure
    forecast: Forecast | None  # None when no products were given
    reason_code: str | None = None  # the reason's key of REASONS


def current_status(
    cycles: Sequence[Cycle],
    settings: ReliefSettings = DEFAULT_SETTINGS,
    products: Mapping[object, str] | None = None,
) -> CycleStatus | None:
    """The ongoing cycle's day and latest relief, and, given each injection's product, its
    wearing-off forecast."""
    if not cycles or not cycles[-1].ongoing:
        return None
    cycle = cycles[-1]
    day = (cycle.end_date - cycle.injection_date).days
    recent = [d for d in cycle.smoothed if day - settings.smoothing_half_window <= d <= day]
    latest = cycle.smoothed[max(recent)] if recent else None
    return CycleStatus(
        day=day,
        relief=latest,
        reason=None if latest is not None else cycle.reason,
        forecast=None if products is None else wearing_off_forecast(cycles, products, settings),
        reason_code=None if latest is not None else cycle.reason_code,
    )


def smoothed_severity(
    severity_by_date: Mapping[date, float],
    injection_dates: Iterable[date],
    first: date,
    last: date,
    settings: ReliefSettings = DEFAULT_SETTINGS,
) -> dict[date, float]:
    """For each date first..last, the mean severity of the logs within the half window of it,
    where there are enough of them: the severity scale's view of `smoothed_relief` (both are
    means over the same window, so relief = (baseline - this) / baseline x 100).

    The window never reaches across an injection: each cycle is its own stretch, and so are
    the days before the first injection. `last` is taken as today: no window reaches past it.
    """
    half = settings.smoothing_half_window
    starts = sorted({injected.toordinal() for injected in injection_dates})
    by_ordinal = {day.toordinal(): score for day, score in severity_by_date.items()}
    smoothed = {}
    last_ordinal = last.toordinal()
    for ordinal in range(first.toordinal(), last_ordinal + 1):
        position = bisect_right(starts, ordinal)  # injections on or before this day
        stretch_start = starts[position - 1] if position else ordinal - half
        stretch_end = starts[position] - 1 if position < len(starts) else last_ordinal
        low = max(ordinal - half, stretch_start)
        high = min(ordinal + half, stretch_end, last_ordinal)
        values = [by_ordinal[d] for d in range(low, high + 1) if d in by_ordinal]
        if len(values) >= settings.smoothing_min_logs:
            smoothed[date.fromordinal(ordinal)] = statistics.fmean(values)
    return smoothed


def count_per_cycle(cycles: Sequence[Cycle], dates: Iterable[date]) -> dict[int, int]:
    """How many of `dates` (e.g. reactions' onsets) fall in each cycle, from its injection
    date to its end date, by cycle index."""
    counts = dict.fromkeys((cycle.index for cycle in cycles), 0)
    for day in dates:
        for cycle in cycles:
            if cycle.injection_date <= day <= cycle.end_date:
                counts[cycle.index] += 1
                break
    return counts
