"""What the Relief page shows (and the clinician's report and summary, which draw the same
charts and table): built from plain records, computed with relief.py, drawn with charts.py,
worded here: the charts' labels, the tables under them and the figures in the cycle table.
Pure: no Django."""

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter

from tracker import relief
from tracker.catalog import RED_FLAG_TIER_LABELS, format_units
from tracker.chart_overlay import OverlayChart, OverlayRow, overlay
from tracker.charts import Event, EventRow, TimelineChart, WeekRow, timeline
from tracker.dates import long_date, short_date
from tracker.diary import Diary, Dose, ReactionRecord
from tracker.relief import Cycle, OverlayDay
from tracker.shown import Shown

RANGES = {"30": 30, "90": 90, "365": 365, "all": None}


RANGE_LABELS = {"30": "30 days", "90": "90 days", "365": "1 year", "all": "All"}


DEFAULT_RANGE = "90"

DAY = itemgetter(0)  # of a score: (date, severity, note)


def timeline_start(choice: str, today: date, first_dates: Iterable[date | None]) -> date:
    """The first day a timeline range shows; it always ends today. "all" starts on the first
    day with any record, showing at least 30 days."""
    days = RANGES.get(choice)
    if days is not None:
        return today - timedelta(days=days - 1)
    first = min((day for day in first_dates if day), default=today)
    return min(first, today - timedelta(days=29))


@dataclass(frozen=True)
class Impression(Shown):
    injection_id: object
    timepoint: str  # "Weeks 4 to 6"
    answer: str  # "Much improved"


DASH = "—"


@dataclass(frozen=True)
class CycleRow(Shown):
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
    plain_reason: str  # why figures are missing, in the patient's words; "" when none are
    # The patient's card says the same figures in words (cycle_cards.html): worded here, as
    # twenty cards of template conditions were most of the time of drawing the page.
    before: str = DASH  # "7.4 out of 10, on average"
    began: str = DASH  # "Day 12"
    best: str = DASH  # "75 % better than before, day 32"
    wore_off: str = DASH  # "Day 60", or "Not yet" in an ongoing cycle that brought relief
    helped: str = DASH  # "48 days"


# Why a cycle has no figures, in a patient's words: relief.REASONS says it for the clinic.
PLAIN_REASONS = {
    "no_baseline_logs": (
        "Fewer than {s.baseline_min_logs} scores were logged in the {s.baseline_days} days "
        "before this injection, so there is nothing to compare with."
    ),
    "baseline_zero": (
        "Every score in the {s.baseline_days} days before this injection was 0: there was "
        "nothing to relieve."
    ),
    "too_few_logs": "Too few scores were logged after this injection to show how it helped.",
    "no_onset": (
        "Not yet {s.threshold:g} % better than before the injection, the level that counts as "
        "real relief."
    ),
    "still_in_effect": "Still helping: the relief has not worn off yet.",
    "not_worn_off": "Still helping when the next injection came.",
}


def plain_reason(cycle: Cycle, settings: relief.ReliefSettings) -> str:
    if cycle.reason_code is None:
        return ""
    return PLAIN_REASONS.get(cycle.reason_code, cycle.reason or "").format(s=settings)


def in_plain_words(
    status: relief.CycleStatus | None, settings: relief.ReliefSettings
) -> relief.CycleStatus | None:
    """The current cycle's status as the patient reads it: why there is no relief figure in
    their words (PLAIN_REASONS), not the clinic's."""
    if status is None or status.reason_code not in PLAIN_REASONS:
        return status
    return replace(status, reason=PLAIN_REASONS[status.reason_code].format(s=settings))


def whole(value: float) -> int:
    """Rounded half away from zero, as the templates' floatformat does: 72.5 -> 73."""
    return int(fixed(value, 0))


def fixed(value: float, places: int) -> str:
    """The number with `places` decimals, rounded as floatformat does (from its repr, half
    away from zero): fixed(8.05, 1) -> "8.1", where f"{8.05:.1f}" gives "8.0"."""
    return str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))


def percent(value: float) -> str:
    return f"{whole(value)}".replace("-", "−")


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
    settings: relief.ReliefSettings = relief.DEFAULT_SETTINGS,
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
            plain_reason=plain_reason(cycle, settings),
            **card_words(cycle),
        )
        for cycle in reversed(cycles)
    ]


def card_words(cycle: Cycle) -> dict[str, str]:
    """The figures of a cycle's card in the patient's words; a dash where one is missing."""
    words = {}
    if cycle.baseline is not None:
        words["before"] = f"{fixed(cycle.baseline, 1)} out of 10, on average"
    if cycle.onset_day is not None:
        words["began"] = f"Day {cycle.onset_day}"
    if cycle.peak_relief is not None:
        change = "better" if cycle.peak_relief >= 0 else "worse"
        day = f", day {cycle.peak_day}" if cycle.peak_day else ""
        words["best"] = f"{percent(cycle.peak_relief)} % {change} than before{day}"
    if cycle.wearing_off_day is not None:
        words["wore_off"] = f"Day {cycle.wearing_off_day}"
    elif cycle.onset_day is not None and cycle.ongoing:
        words["wore_off"] = "Not yet"
    if cycle.duration_days is not None:
        words["helped"] = f"{cycle.duration_days} day{'' if cycle.duration_days == 1 else 's'}"
    return words


@dataclass(frozen=True)
class ReliefPage(Shown):
    range: str  # a key of RANGES
    timeline: TimelineChart
    overlay: OverlayChart | None  # None until some cycle has a relief figure
    rows: list[CycleRow]
    cycle_count: int
    has_logs: bool
    status: relief.CycleStatus | None  # where the current cycle stands today, its forecast
    settings: relief.ReliefSettings  # for the glossary's figures
    # What a newcomer's charts will show, and when: "" once they show it.
    timeline_note: str = ""
    overlay_note: str = ""
    all_cards: bool = True  # False: the newest CARDS_SHOWN cycle cards, and a link to all

    @property
    def patient_status(self) -> relief.CycleStatus | None:
        return in_plain_words(self.status, self.settings)

    @property
    def cards(self) -> list[CycleRow]:
        """The cycle cards shown, newest first."""
        return self.rows if self.all_cards else self.rows[:CARDS_SHOWN]

    @property
    def cards_left_out(self) -> list[CycleRow]:
        return self.rows[len(self.cards) :]


# Cycle cards shown before "Show the earlier injections": about a year and a half of cycles,
# which a phone scrolls through; the overlay chart above them compares every cycle.
CARDS_SHOWN = 6


def relief_page(
    diary: Diary,
    choice: str,
    settings: relief.ReliefSettings = relief.DEFAULT_SETTINGS,
    start: date | None = None,
    all_cards: bool = True,
) -> ReliefPage:
    """Everything the Relief page shows of this diary. The timeline starts on `start` when
    given, else where the range `choice` starts; it always ends on the diary's today.
    `all_cards`: every cycle's card, or the newest CARDS_SHOWN."""
    choice = choice if choice in RANGES else DEFAULT_RANGE
    today, logs = diary.today, diary.scores
    reactions = reaction_events(diary.reactions)
    points = [relief.InjectionPoint(id=i.id, date=i.date) for i in diary.injections]
    scores = ((day, severity) for day, severity, _ in logs)  # one a day, as the database keeps
    cycles = relief.compute_cycles(points, scores, today, settings)
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

    # The smoothed line's windows reach half a window before the range's first day, no further.
    near = logs[bisect_left(logs, start - timedelta(settings.smoothing_half_window), key=DAY) :]
    chart = timeline_chart(
        start,
        today,
        logs,
        relief.smoothed_severity(
            {day: severity for day, severity, _ in near}, injection_dates, start, today, settings
        ),
        [Event(cycle.injection_date, labels[cycle.index]) for cycle in cycles],
        reactions,
    )
    reaction_counts = relief.count_per_cycle(cycles, (reaction.date for reaction in reactions))
    impressions = [Impression(a.injection_id, a.timepoint_label, a.answer) for a in diary.answers]
    products = {i.id: i.product_label for i in diary.injections}
    status = relief.current_status(cycles, settings, products)
    forecast = status.forecast if status else None
    return ReliefPage(
        range=choice,
        timeline=chart,
        overlay=overlay_chart(cycles, forecast.day if forecast else None, settings.threshold)
        if any(cycle.smoothed for cycle in cycles)
        else None,
        rows=cycle_rows(cycles, labels, reaction_counts, impressions, settings),
        cycle_count=len(cycles),
        has_logs=bool(logs),
        status=status,
        settings=settings,
        timeline_note=timeline_note(chart.logged_days, len(logs), settings),
        overlay_note=overlay_note(cycles, settings),
        all_cards=all_cards,
    )


FEW_DAYS = 7  # with fewer scores than this in its range, the timeline says what will come


def timeline_note(shown: int, logged: int, settings: relief.ReliefSettings) -> str:
    """What the day-by-day chart will show, for a diary of only a few scores."""
    if logged >= FEW_DAYS or shown >= FEW_DAYS:
        return ""
    so_far = f"{logged} day{'s' if logged != 1 else ''} logged so far."
    return (
        f"{so_far} Log a check-in each day: each score shows here as a dot, and once there "
        "are 2 in a week a line shows how you are going. After "
        f"{settings.baseline_days // 7} weeks of check-ins it shows your usual level, and "
        "after an injection how it changed."
    )


def overlay_note(cycles: Sequence[Cycle], settings: relief.ReliefSettings) -> str:
    """Why the cycles chart is still empty and what makes it fill, or "" once it shows a
    cycle. Relief needs scores before the injection to compare with (docs/clinical-rules.md,
    "Baseline") and a few after it ("Smoothed relief")."""
    if any(cycle.smoothed for cycle in cycles):
        return ""
    weeks = f"{settings.baseline_days // 7} weeks"
    shows = (
        "this chart shows, for each day after the injection, how much better than before it "
        "you were, one line for each injection"
    )
    if not cycles:
        return (
            f"Log a check-in each day, and add each injection. After an injection that had "
            f"{weeks} of check-ins before it (at least {settings.baseline_min_logs} days), "
            f"{shows}."
        )
    last = cycles[-1]
    when = short_date(last.injection_date)
    if last.baseline is None:
        return (
            f"Your injection of {when} had scores on only {last.baseline_log_count} of the "
            f"{settings.baseline_days} days before it, too few to compare with. Keep logging "
            f"each day: after your next injection, with {weeks} of check-ins before it, {shows}."
        )
    return f"Your injection of {when} can be measured: after a few more days of check-ins, {shows}."


def reaction_events(reactions: Iterable[ReactionRecord]) -> list[Event]:
    """A red flag is named by its tier, in the urgent card's words ("Get help now: …")."""
    return [
        Event(
            r.onset,
            f"{RED_FLAG_TIER_LABELS[r.red_flag_tier]}: {r.label} ({r.severity})"
            if r.urgent
            else f"{r.label} ({r.severity})",
            urgent=r.urgent,
        )
        for r in reactions
    ]


def timeline_chart(
    start: date,
    end: date,
    logs: Sequence[tuple[date, float, str]],
    smoothed: Mapping[date, float],
    injections: Sequence[Event],
    reactions: Sequence[Event],
) -> TimelineChart:
    """charts.timeline, with the page's words: the tables under it and the read-out of a day.
    `logs` are in order of date (Diary.scores): those of the range are found by halving."""
    logs = logs[bisect_left(logs, start, key=DAY) : bisect_right(logs, end, key=DAY)]
    texts = event_texts(
        [injection for injection in injections if start <= injection.date <= end],
        [reaction for reaction in reactions if start <= reaction.date <= end],
    )
    weeks, events = week_rows(start, end, logs), event_rows(texts)
    readout = readout_days(start, logs, texts)
    return timeline(start, end, logs, smoothed, injections, reactions, weeks, events, readout)


def event_texts(injections: Iterable[Event], reactions: Iterable[Event]) -> dict[date, list[str]]:
    """What the timeline's table and read-out say of each day's injections and reactions."""
    texts: dict[date, list[str]] = {}
    for injection in injections:
        texts.setdefault(injection.date, []).append(f"Injection: {injection.label}")
    for reaction in reactions:
        texts.setdefault(reaction.date, []).append(reaction.label)
    return texts


def event_rows(texts: Mapping[date, list[str]]) -> tuple[EventRow, ...]:
    """Newest first."""
    days = sorted(texts, reverse=True)
    return tuple(EventRow(long_date(day), text) for day in days for text in texts[day])


def week_rows(
    start: date, end: date, logs: Iterable[tuple[date, float, str]]
) -> tuple[WeekRow, ...]:
    """The scores from start to end laid out like a calendar, a week to a row, newest first."""
    severities = {day: severity for day, severity, _ in logs}
    first_monday = start - timedelta(days=start.weekday())
    weeks = []
    for monday_ordinal in range(first_monday.toordinal(), end.toordinal() + 1, 7):
        days = [date.fromordinal(monday_ordinal + n) for n in range(7)]
        scores = tuple(
            "" if not start <= day <= end or day not in severities else str(_score(severities[day]))
            for day in days
        )
        weeks.append(WeekRow(short_date(days[0]), scores))
    return tuple(reversed(weeks))


def readout_days(
    start: date, logs: Sequence[tuple[date, float, str]], texts: Mapping[date, list[str]]
) -> list[list]:
    """What relief.js shows of a day read off the timeline, for each day with a score or an
    event, oldest first: [days since start, score or null, note, events]."""
    severities = {day: severity for day, severity, _ in logs}
    notes = {day: note for day, _, note in logs if note}
    return [
        [
            (day - start).days,
            _score(severities.get(day)),
            notes.get(day, ""),
            "; ".join(texts.get(day, [])),
        ]
        for day in sorted({*severities, *texts})
    ]


def _score(severity: float | None) -> float | None:
    if severity is None:
        return None
    return int(severity) if severity == int(severity) else severity


def overlay_chart(
    cycles: Sequence[Cycle], forecast_day: float | None, threshold: float
) -> OverlayChart:
    """chart_overlay.overlay, with the page's words: the lines' labels and the table under it."""
    days = relief.overlay(cycles)
    labels = {c.index: f"Cycle {c.index}, from {short_date(c.injection_date)}" for c in cycles}
    forecast = "" if forecast_day is None else f"Usually wears off: day {whole(forecast_day)}"
    current = cycles[-1].smoothed if cycles and cycles[-1].ongoing else {}
    rows = overlay_rows(days, current)
    return overlay(cycles, days, forecast_day, threshold, labels, forecast, rows)


def overlay_rows(
    days: Sequence[OverlayDay], current: Mapping[int, float]
) -> tuple[OverlayRow, ...]:
    """A row a week keeps the table short; the chart has every day. `current`: the ongoing
    cycle's relief by day, {} without one."""
    return tuple(
        OverlayRow(
            day=d.day,
            median=percent(d.median),
            middle_half=f"{percent(d.p25)} to {percent(d.p75)}",
            cycle_count=d.cycle_count,
            current="" if d.day not in current else percent(current[d.day]),
        )
        for d in days
        if d.day % 7 == 0
    )
