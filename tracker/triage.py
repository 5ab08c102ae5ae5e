"""The clinic's triage list: one row per shared patient, the ones needing attention first.

Pure: the caller fetches, for all the patients at once, each one's last two injection dates
and the logs of the last LOOKBACK_DAYS, so the list costs the same few queries for 5 or 500
patients. The relief figures are those of `relief` for the current and the previous cycle.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import IntEnum
from functools import lru_cache
from typing import NamedTuple

from tracker import catalog, relief

LOOKBACK_DAYS = 200  # logs fetched per patient: enough for the current and previous cycle
RECENT_DAYS = 14
FEW_LOGS = 7  # fewer days logged than this in the last RECENT_DAYS is missing data
EARLY_WEARING_OFF_DAY = 70  # before the soonest usual re-injection (10 weeks, some products)
LONG_GAP_DAYS = 21  # days without relief before the next injection
RECENTLY_HANDLED_DAYS = 14  # a handled red flag still shows, off the top, for this long
NEW_PATIENT_DAYS = 14  # a patient who joined this recently is "New", not missing data
SPARKLINE_DAYS = 120  # the list's small relief line: the current cycle's first days


class Attention(IntEnum):
    """Why a row comes first, in order: a lower value sorts higher."""

    RED_FLAG = 0
    RELIEF = 1  # wore off early, or a long gap without relief
    MISSING_DATA = 2
    NONE = 3


def _when(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}, {moment:%H:%M}"


@dataclass(frozen=True)
class RedFlag:
    """A red-flag reaction as the clinic sees it (docs/clinical-rules.md, "Red flags"): on top
    of the list until a clinician marks it handled, whether or not the patient says it is
    over. Times are in the patient's own time zone."""

    id: object
    kind: str  # a catalog code
    severity: str
    logged_at: datetime  # when the patient logged it
    onset: date
    resolved: date | None  # the patient's fact
    handled_at: datetime | None = None  # the clinic's
    handled_by: str = ""  # the clinician's name
    handled_note: str = ""
    patient_note: str = ""  # the patient's own words about it

    @property
    def tier(self) -> str | None:
        return catalog.red_flag_tier(self.kind, self.severity)

    @property
    def tier_label(self) -> str:
        return catalog.RED_FLAG_TIER_LABELS.get(self.tier, "")

    @property
    def label(self) -> str:
        return catalog.REACTION_LABELS.get(self.kind, self.kind)

    @property
    def handled(self) -> bool:
        return self.handled_at is not None

    @property
    def logged_text(self) -> str:
        """ "Logged 3 Jun 2026, 14:05; over on 4 Jun 2026" """
        text = f"Logged {_when(self.logged_at)}"
        if self.resolved:
            text += f"; over on {self.resolved.day} {self.resolved:%b %Y}"
        return text

    @property
    def handled_text(self) -> str:
        """ "Handled by Dr Ada Lee on 4 Jun 2026, 09:10", or "" """
        if self.handled_at is None:
            return ""
        return f"Handled by {self.handled_by or 'a clinician'} on {_when(self.handled_at)}"


def handled_since(now: datetime) -> datetime:
    """Red flags handled after this still show on the list and the report, below the rest."""
    return now - timedelta(days=RECENTLY_HANDLED_DAYS)


def red_flag_order(flags: Sequence[RedFlag]) -> list[RedFlag]:
    """Not yet handled first, "Get help now" before "Contact your clinic today", then the
    newest first."""
    newest_first = sorted(flags, key=lambda flag: flag.logged_at, reverse=True)
    return sorted(newest_first, key=lambda f: (f.handled, f.tier != catalog.GET_HELP_NOW))


@dataclass(frozen=True)
class InjectionInfo:
    id: object
    date: date
    product: str
    total_units: Decimal

    @property
    def product_label(self) -> str:
        return catalog.PRODUCT_BY_CODE[self.product].label


@dataclass(frozen=True)
class CycleSummary:
    injection_date: date
    wearing_off_day: int | None
    gap_days: int | None  # finished cycles only
    complete: bool  # False when its baseline lies before the logs fetched: figures unknown


class Standing(NamedTuple):
    """What sorting a row on the clinic's list needs of it, kept beside it: a few values where
    the row has many, for every patient the list sorts (tracker/diary_clinic.py, clinic_order)."""

    attention: "Attention"
    new: bool
    first_log_date: date | None


@dataclass(frozen=True)
class TriageRow:
    patient_id: int
    last_injections: tuple[InjectionInfo, ...]  # the latest injection date's sessions
    cycle_day: int | None
    latest_severity: int | None
    latest_severity_date: date | None
    relief: float | None  # the current cycle's latest smoothed relief, percent
    relief_note: str | None  # why there is no relief figure, in a few words
    current: CycleSummary | None
    previous: CycleSummary | None
    days_logged: int  # of the last RECENT_DAYS, today included
    attention: Attention
    reasons: tuple[str, ...]  # the attention reasons, in plain words
    new: bool = False  # joined in the last NEW_PATIENT_DAYS, with no earlier check-in
    first_log_date: date | None = None  # the first check-in of the LOOKBACK_DAYS fetched
    # The current cycle's smoothed relief by day since the injection (None where it has none),
    # for the list's sparkline; () without an ongoing cycle.
    relief_line: tuple[float | None, ...] = ()
    # What changes without a change to the diary (with_live_facts): none in a kept row.
    name: str = ""
    last_log_date: date | None = None
    red_flags: tuple[RedFlag, ...] = ()  # not yet handled, then those handled lately

    @property
    def standing(self) -> "Standing":
        return Standing(self.attention, self.new, self.first_log_date)

    @property
    def unhandled_red_flags(self) -> list[RedFlag]:
        return [flag for flag in self.red_flags if not flag.handled]

    @property
    def needs_help_now(self) -> bool:
        return any(flag.tier == catalog.GET_HELP_NOW for flag in self.unhandled_red_flags)

    # Words for the list's cells, made here rather than in the template: 500 rows of nested
    # template conditions were most of the page's rendering time.

    @property
    def injection_text(self) -> str:
        """ "Botox 200 units", or each product of a same-day session: units never add up
        across products."""
        return "; ".join(
            f"{shot.product_label} {shot.total_units.normalize():,f} units"
            for shot in self.last_injections
        )

    @property
    def relief_text(self) -> str:
        if self.relief is None:
            return self.relief_note or ""
        if self.relief >= 0:
            return f"{self.relief:.0f} % better"  # than before the injection: the column says
        return f"{-self.relief:.0f} % worse"

    @property
    def sparkline(self) -> str:
        """The relief line as an SVG polyline's points in a 100 by 24 box: 100 % at the top,
        0 % at y 16, -50 % (and below) at the bottom; "" with fewer than 2 values. A gap in
        the values is bridged: the line is a glance, the report has every day."""
        points = [
            (day, max(-50.0, min(100.0, value)))
            for day, value in enumerate(self.relief_line)
            if value is not None
        ]
        if len(points) < 2:
            return ""
        last_day = max(len(self.relief_line) - 1, 1)
        return " ".join(
            f"{day * 100 / last_day:.1f},{16 - value * 0.16:.1f}" for day, value in points
        )

    @property
    def current_text(self) -> str:
        if self.current is None:
            return ""
        if self.current.wearing_off_day is not None:
            return f"This cycle: wore off on day {self.current.wearing_off_day}"
        return "This cycle: not yet" if self.current.complete else "This cycle: unknown"

    @property
    def previous_text(self) -> str:
        cycle = self.previous
        if cycle is None:
            return ""
        if cycle.wearing_off_day is not None:
            return f"Last cycle: day {cycle.wearing_off_day}, gap {cycle.gap_days} days"
        return "Last cycle: did not wear off" if cycle.complete else "Last cycle: unknown"


# Why the current cycle has no relief figure, short enough for a table cell.
SHORT_REASONS = {
    "no_baseline_logs": "No baseline: too few logs before the injection",
    "baseline_zero": "No baseline: every score was 0 before the injection",
    "too_few_logs": "Too few logs in this cycle",
    "no_onset": "No meaningful relief yet",
}
NO_RECENT_LOGS = "No logs in the last few days"


def window_start(today: date) -> date:
    return today - timedelta(days=LOOKBACK_DAYS)


def triage_row(
    patient_id: int,
    name: str,
    today: date,
    injections: Sequence[InjectionInfo],
    logs: Sequence[tuple[date, int]],
    red_flags: Sequence[RedFlag],
    last_log_date: date | None,
    settings: relief.ReliefSettings = relief.DEFAULT_SETTINGS,
    joined: date | None = None,
) -> TriageRow:
    """`injections`: the patient's last two injection dates' sessions; `logs`: their
    (date, severity) pairs, oldest first, from `window_start(today)` on (earlier ones are
    left out here, so that every patient's figures come from the same window); `red_flags`:
    those not yet handled and those handled since `handled_since`; `joined`: the patient's
    local date of sign-up (a patient who joined lately is new, not missing data)."""
    # Sorted pairs are sliced by date in O(log n): this runs for every patient of the clinic.
    logs = tuple(logs)
    logs = logs[bisect_left(logs, (window_start(today),)) : bisect_right(logs, (today, 11))]
    dates = tuple(sorted({shot.date for shot in injections}))
    current, previous, relief_now, note, line = cycle_figures(today, dates, logs, settings)
    latest = logs[-1] if logs else None
    recent_from = today - timedelta(days=RECENT_DAYS - 1)
    days_logged = len(logs) - bisect_left(logs, (recent_from,))
    last_date = max((shot.date for shot in injections if shot.date <= today), default=None)
    first_log = logs[0][0] if logs else None
    new = is_new(joined, today, first_log)
    attention, reasons = assess([], current, previous, today, days_logged, new)
    row = TriageRow(
        patient_id=patient_id,
        last_injections=tuple(shot for shot in injections if shot.date == last_date),
        cycle_day=(today - last_date).days if last_date else None,
        latest_severity=latest[1] if latest else None,
        latest_severity_date=latest[0] if latest else None,
        relief=relief_now,
        relief_note=note,
        current=current,
        previous=previous,
        days_logged=days_logged,
        attention=attention,
        reasons=reasons,
        new=new,
        relief_line=line,
        first_log_date=first_log,
    )
    return with_live_facts(row, name, today, last_log_date, red_flags, joined)


def is_new(joined: date | None, today: date, first_log: date | None) -> bool:
    """Joined in the last NEW_PATIENT_DAYS (today the first), and no check-in before that: a
    diary brought in from before sign-up is not a newcomer's (docs/clinical-rules.md,
    "Triage")."""
    if joined is None:
        return False
    since = today - timedelta(days=NEW_PATIENT_DAYS - 1)
    return joined >= since and (first_log is None or first_log >= since)


def with_live_facts(
    row: TriageRow,
    name: str,
    today: date,
    last_log_date: date | None,
    red_flags: Sequence[RedFlag],
    joined: date | None = None,
) -> TriageRow:
    """A row of figures kept from the diary alone (tracker/relief_cache.py), with what changes
    without a change to the diary: the name, the last check-in's date, the red flags, which
    a clinician marks handled, and whether the patient is new (`joined`: their local date of
    sign-up). The attention it needs is assessed again with them."""
    red_flags = red_flag_order(red_flags)
    unhandled = [flag.tier_label for flag in red_flags if not flag.handled]
    new = is_new(joined, today, row.first_log_date)
    attention, reasons = (
        assess(unhandled, row.current, row.previous, today, row.days_logged, new)
        if red_flags or new != row.new
        else (row.attention, row.reasons)
    )
    return replace(
        row,
        name=name,
        last_log_date=last_log_date,
        red_flags=tuple(red_flags),
        attention=attention,
        reasons=reasons,
        new=new,
    )


@lru_cache(maxsize=4096)
def cycle_figures(
    today: date,
    injection_dates: tuple[date, ...],
    logs: tuple[tuple[date, int], ...],
    settings: relief.ReliefSettings,
) -> tuple[
    CycleSummary | None,
    CycleSummary | None,
    float | None,
    str | None,
    tuple[float | None, ...],
]:
    """The current and the previous cycle, the relief now, or why there is none, and the
    ongoing cycle's smoothed relief day by day (its first SPARKLINE_DAYS).

    Remembered for the same arguments: the relief maths is most of the list's time, and a
    patient's figures only change with a new log or injection (or a new day), which are
    part of the arguments, so a remembered answer is never out of date.
    """
    fetched_from = window_start(today)
    points = [relief.InjectionPoint(id=day, date=day) for day in injection_dates]
    cycles = relief.compute_cycles(points, logs, today, settings)

    def summary(cycle: relief.Cycle) -> CycleSummary:
        complete = cycle.injection_date - timedelta(days=settings.baseline_days) >= fetched_from
        return CycleSummary(
            injection_date=cycle.injection_date,
            wearing_off_day=cycle.wearing_off_day if complete else None,
            gap_days=cycle.gap_days if complete else None,
            complete=complete,
        )

    current = summary(cycles[-1]) if cycles else None
    previous = summary(cycles[-2]) if len(cycles) > 1 else None
    status = relief.current_status(cycles, settings)
    line: tuple[float | None, ...] = ()
    if cycles and cycles[-1].ongoing and current.complete:
        last = min((today - cycles[-1].injection_date).days, SPARKLINE_DAYS - 1)
        line = tuple(cycles[-1].smoothed.get(day) for day in range(last + 1))
    if current and not current.complete:
        return (
            current,
            previous,
            None,
            (f"Injected more than {LOOKBACK_DAYS - settings.baseline_days} days ago"),
            line,
        )
    if status and status.relief is None:
        reason = SHORT_REASONS.get(cycles[-1].reason_code, NO_RECENT_LOGS)
        return current, previous, None, reason, line
    return current, previous, status.relief if status else None, None, line


def assess(
    unhandled_red_flags: Sequence[str],
    current: CycleSummary | None,
    previous: CycleSummary | None,
    today: date,
    days_logged: int,
    new: bool = False,
) -> tuple[Attention, tuple[str, ...]]:
    """The most urgent kind of attention the row needs, and every reason for it in words.
    `unhandled_red_flags`: the tier of each red flag no clinician has handled yet, in words;
    `new`: the patient joined lately, so few check-ins are no missing data."""
    reasons = []
    levels = []
    if unhandled_red_flags:
        levels.append(Attention.RED_FLAG)
        count = len(unhandled_red_flags)
        tiers = " and ".join(dict.fromkeys(unhandled_red_flags))
        reasons.append(f"{count} red flag{'s' if count > 1 else ''} to handle ({tiers})")
    for label, cycle in [("This cycle", current), ("Last cycle", previous)]:
        day = cycle.wearing_off_day if cycle else None
        if day is not None and day < EARLY_WEARING_OFF_DAY:
            levels.append(Attention.RELIEF)
            reasons.append(f"{label} wore off early, on day {day}")
    if previous and previous.gap_days is not None and previous.gap_days >= LONG_GAP_DAYS:
        levels.append(Attention.RELIEF)
        reasons.append(f"Last cycle: {previous.gap_days} days without relief before this one")
    if current and current.wearing_off_day is not None:
        without = (today - current.injection_date).days - current.wearing_off_day
        if without >= LONG_GAP_DAYS:
            levels.append(Attention.RELIEF)
            reasons.append(f"Without relief for {without} days now")
    if days_logged < FEW_LOGS and not new:
        levels.append(Attention.MISSING_DATA)
        reasons.append(f"Only {days_logged} of the last {RECENT_DAYS} days logged")
    return min(levels, default=Attention.NONE), tuple(reasons)


def sort_key(attention: "Attention", needs_help_now: bool, name: str, patient_id: int) -> tuple:
    """Red flags not yet handled first ("Get help now" ones before the others), then early
    wearing-off or a long gap, then missing data, then the rest; by name within each."""
    return (attention, not needs_help_now, name.casefold(), patient_id)
