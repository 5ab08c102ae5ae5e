"""What the Relief page shows (and the clinician's report and summary, which draw the same
charts and table): built from plain records, computed with relief.py, drawn with charts.py.
Pure: no Django."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from tracker import relief
from tracker.catalog import format_units
from tracker.charts import Event, OverlayChart, TimelineChart, fixed, overlay, percent, timeline
from tracker.dates import short_date
from tracker.diary import Diary, Dose, ReactionRecord
from tracker.relief import Cycle

RANGES = {"30": 30, "90": 90, "365": 365, "all": None}


RANGE_LABELS = {"30": "30 days", "90": "90 days", "365": "1 year", "all": "All"}


DEFAULT_RANGE = "90"


def timeline_start(choice: str, today: date, first_dates: Iterable[date | None]) -> date:
    """The first day a timeline range shows; it always ends today. "all" starts on the first
    day with any record, showing at least 30 days."""
    days = RANGES.get(choice)
    if days is not None:
        return today - timedelta(days=days - 1)
    first = min((day for day in first_dates if day), default=today)
    return min(first, today - timedelta(days=29))


@dataclass(frozen=True)
class Impression:
    injection_id: object
    timepoint: str  # "Weeks 4 to 6"
    answer: str  # "Much improved"


@dataclass(frozen=True)
class CycleRow:
    """A cycle's figures written out for the table: "—" where one is missing."""

    cycle: Cycle
    doses: str  # "Botox 200 U"
    reaction_count: int
    impressions: tuple[Impression, ...]
    injection_date: str  # "3 Mar 2025"
    baseline: str  # "7.4"
    onset: str  # "12": a day of the cycle
    peak: str  # "75 %"
    peak_day: str  # "32"
    wearing_off: str
    duration: str  # days
    gap: str  # days


DASH = "—"


def _day(value: int | None) -> str:
    return DASH if value is None else str(value)


def dose_label(doses: Iterable[Dose]) -> str:
    """ "Botox 200 U", or "Botox 100 U + Dysport 250 U": units are added up per product only,
    as units of different products are not comparable."""
    units_by_product: dict[str, Decimal] = {}
    for dose in doses:
        units_by_product[dose.product] = units_by_product.get(dose.product, 0) + dose.units
    return " + ".join(
        f"{product} {format_units(units)} U" for product, units in units_by_product.items()
    )


def cycle_rows(
    cycles: Sequence[Cycle],
    doses: Mapping[int, str],
    reaction_counts: Mapping[int, int],
    impressions: Iterable[Impression],
) -> list[CycleRow]:
    """One row per cycle, newest first; `doses` and `reaction_counts` are by cycle index."""
    impressions_by_injection: dict[object, list[Impression]] = {}
    for impression in impressions:
        impressions_by_injection.setdefault(impression.injection_id, []).append(impression)
    return [
        CycleRow(
            cycle=cycle,
            doses=doses.get(cycle.index, ""),
            reaction_count=reaction_counts.get(cycle.index, 0),
            impressions=tuple(
                answer
                for injection_id in cycle.injection_ids
                for answer in impressions_by_injection.get(injection_id, [])
            ),
            injection_date=short_date(cycle.injection_date),
            baseline=DASH if cycle.baseline is None else fixed(cycle.baseline, 1),
            onset=_day(cycle.onset_day),
            peak=DASH if cycle.peak_relief is None else f"{percent(cycle.peak_relief)} %",
            peak_day="" if cycle.peak_day is None else str(cycle.peak_day),
            wearing_off=_day(cycle.wearing_off_day),
            duration=_day(cycle.duration_days),
            gap=_day(cycle.gap_days),
        )
        for cycle in reversed(cycles)
    ]


@dataclass(frozen=True)
class ReliefPage:
    range: str  # a key of RANGES
    timeline: TimelineChart
    overlay: OverlayChart | None  # None until some cycle has a relief figure
    rows: list[CycleRow]
    cycle_count: int
    has_logs: bool
    status: relief.CycleStatus | None  # where the current cycle stands today
    settings: relief.ReliefSettings  # for the glossary's figures


def relief_page(
    diary: Diary,
    choice: str,
    settings: relief.ReliefSettings = relief.DEFAULT_SETTINGS,
    start: date | None = None,
) -> ReliefPage:
    """Everything the Relief page shows of this diary. The timeline starts on `start` when
    given, else where the range `choice` starts; it always ends on the diary's today."""
    choice = choice if choice in RANGES else DEFAULT_RANGE
    today, logs = diary.today, diary.scores
    reactions = reaction_events(diary.reactions)
    severity_by_date = {day: severity for day, severity, _ in logs}
    points = [relief.InjectionPoint(id=i.id, date=i.date) for i in diary.injections]
    cycles = relief.compute_cycles(points, severity_by_date.items(), today, settings)
    injection_dates = [cycle.injection_date for cycle in cycles]
    firsts = [
        injection_dates[0] if injection_dates else None,
        logs[0][0] if logs else None,
        min((reaction.date for reaction in reactions), default=None),
    ]
    start = start or timeline_start(choice, today, firsts)

    doses_by_injection: dict[object, list[Dose]] = {}
    for dose in diary.doses:
        doses_by_injection.setdefault(dose.injection_id, []).append(dose)
    labels = {
        cycle.index: dose_label(
            dose for pk in cycle.injection_ids for dose in doses_by_injection.get(pk, [])
        )
        for cycle in cycles
    }

    chart = timeline(
        start,
        today,
        logs,
        relief.smoothed_severity(severity_by_date, injection_dates, start, today, settings),
        [Event(cycle.injection_date, labels[cycle.index]) for cycle in cycles],
        reactions,
    )
    reaction_counts = relief.count_per_cycle(cycles, (reaction.date for reaction in reactions))
    impressions = [Impression(a.injection_id, a.timepoint_label, a.answer) for a in diary.answers]
    return ReliefPage(
        range=choice,
        timeline=chart,
        overlay=overlay(
            cycles,
            relief.overlay(cycles),
            relief.forecast_wearing_off_day(cycles, settings),
            settings.threshold,
        )
        if any(cycle.smoothed for cycle in cycles)
        else None,
        rows=cycle_rows(cycles, labels, reaction_counts, impressions),
        cycle_count=len(cycles),
        has_logs=bool(logs),
        status=relief.current_status(cycles, settings),
        settings=settings,
    )


def reaction_events(reactions: Iterable[ReactionRecord]) -> list[Event]:
    return [Event(r.onset, f"{r.label} ({r.severity})", urgent=r.urgent) for r in reactions]
