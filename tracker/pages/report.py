"""The clinician's report on one shared patient, and its one-page pre-visit summary.

The report is the Relief page's charts and cycle table, plus what went into which muscle cycle
by cycle with the relief that followed, the reactions, notes and PGIC answers of each cycle.
The summary is the current and the previous cycle on one A4 page: a page to print, and the same
template made into a PDF by WeasyPrint, with the same inline SVG charts.

The assembly functions take diary.py's records and relief.py's cycles and return frozen dataclasses,
as charts.py does. Pure: no Django; the diary is read by tracker.diary.read_diary.
"""

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from tracker import catalog, relief
from tracker.catalog import format_units
from tracker.chart_overlay import OverlayChart
from tracker.charts import TimelineChart
from tracker.dates import long_date, short_date
from tracker.diary import UNRECORDED_MUSCLE, Answer, Diary, ReactionRecord, SiteDose
from tracker.pages.relief import DEFAULT_RANGE, CycleRow, ReliefPage, relief_page
from tracker.relief import Cycle

# What the summary lists of the two cycles, so that it stays on one page; the report has all.
SUMMARY_REACTIONS = 6
SUMMARY_NOTES = 4
SUMMARY_NOTE_CHARS = 160  # a longer note is shortened there, and given whole in the report


# The records, read once.


# Dose per muscle, cycle by cycle.


@dataclass(frozen=True)
class DoseColumn:
    cycle: Cycle
    injection_date: str  # "3 Mar 2025"
    dose: str  # "Botox 200 U"
    peak: str  # "75 %", or "—"
    peak_day: str  # "32", or ""
    duration: str  # days of benefit, or "—"
    single_product: bool  # its cells need not name the product


@dataclass(frozen=True)
class MuscleRow:
    muscle: str
    cells: tuple[str, ...]  # one per column: "60 U", "Botox 60 U + Dysport 100 U", or ""


@dataclass(frozen=True)
class DoseCard:
    """One cycle's doses for a phone: the table's column, its muscles listed down."""

    column: DoseColumn
    muscles: tuple[tuple[str, str], ...]  # (muscle, units): only the muscles injected


@dataclass(frozen=True)
class DoseHistory:
    columns: tuple[DoseColumn, ...]  # newest first, as the cycle table
    rows: tuple[MuscleRow, ...]

    @property
    def cards(self) -> tuple[DoseCard, ...]:
        return tuple(
            DoseCard(column, tuple((row.muscle, row.cells[n]) for row in self.rows if row.cells[n]))
            for n, column in enumerate(self.columns)
        )


def dose_history(rows: Sequence[CycleRow], sites: Iterable[SiteDose]) -> DoseHistory:
    """Which muscles got how many units of which product in each cycle of `rows` (the cycle
    table's rows, newest first), and the relief that followed. Units are added up per product
    only: units of different products are not comparable."""
    column_of = {pk: n for n, row in enumerate(rows) for pk in row.cycle.injection_ids}
    units: dict[str, list[dict[str, Decimal]]] = {}
    products: list[set[str]] = [set() for _ in rows]
    for site in sites:
        column = column_of.get(site.injection_id)
        if column is None:
            continue
        cells = units.setdefault(site.muscle, [{} for _ in rows])
        cells[column][site.product] = cells[column].get(site.product, Decimal(0)) + site.units
        products[column].add(site.product)
    columns = tuple(
        DoseColumn(
            cycle=row.cycle,
            injection_date=row.injection_date,
            dose=row.doses,
            peak=row.peak,
            peak_day=row.peak_day,
            duration=row.duration,
            single_product=len(products[n]) <= 1,
        )
        for n, row in enumerate(rows)
    )

    def cell(by_product: dict[str, Decimal], column: DoseColumn) -> str:
        if column.single_product:
            return " + ".join(f"{format_units(u)} U" for u in by_product.values())
        return " + ".join(f"{product} {format_units(u)} U" for product, u in by_product.items())

    # Muscles in the order the catalog lists them, a muscle's sides together.
    order = {label: n for n, (_, label) in enumerate(catalog.MUSCLE_CHOICES)}

    def muscle_order(muscle: str) -> tuple:
        name, _, side = muscle.rpartition(", ")
        return (muscle == UNRECORDED_MUSCLE, order.get(name, len(order)), name, side)

    return DoseHistory(
        columns=columns,
        rows=tuple(
            MuscleRow(
                muscle, tuple(cell(c, column) for c, column in zip(cells, columns, strict=True))
            )
            for muscle, cells in sorted(units.items(), key=lambda item: muscle_order(item[0]))
        ),
    )


# Reactions, notes and PGIC answers, by cycle.


@dataclass(frozen=True)
class ReactionLine:
    label: str
    severity: str
    urgent: bool
    onset: str  # "3 Mar 2025"
    cycle_day: int | None  # None before the first injection
    resolved: str  # "5 Mar 2025", or "" while ongoing
    pain_reliever: str
    note: str
    tier_label: str = ""  # a red flag's tier: "Get help now" or "Contact your clinic today"
    handled: str = ""  # "Handled by Dr Ada Lee on 4 Jun 2026, 09:10", or ""


@dataclass(frozen=True)
class NoteLine:
    date: str  # "Mon 3 Mar 2025"
    cycle_day: int | None
    severity: int
    text: str


@dataclass(frozen=True)
class AnswerLine:
    date: str
    cycle_day: int
    timepoint: str
    score: int
    answer: str


@dataclass(frozen=True)
class CycleGroup:
    """Items of one cycle, or of the days before the first injection (cycle None)."""

    cycle: Cycle | None
    heading: str  # "Cycle 3, from 3 Mar 2025: Botox 200 U"
    items: tuple


def cycle_heading(row: CycleRow | None) -> str:
    if row is None:
        return "Before the first injection"
    heading = f"Cycle {row.cycle.index}, from {row.injection_date}"
    return f"{heading}: {row.doses}" if row.doses else heading


def cycle_of(cycles: Sequence[Cycle]) -> Callable[[date], Cycle | None]:
    """The cycle a day falls in, None before the first injection."""
    starts = [cycle.injection_date for cycle in cycles]

    def find(day: date) -> Cycle | None:
        position = bisect_right(starts, day)
        return cycles[position - 1] if position else None

    return find


def group_by_cycle(rows: Sequence[CycleRow], dated: Iterable[tuple[Cycle | None, object]]):
    """(cycle, item) pairs as groups, newest cycle first, items in the order given; cycles
    without items are left out."""
    items: dict[int, list] = {}
    for cycle, item in dated:
        items.setdefault(cycle.index if cycle else 0, []).append(item)
    groups = [
        CycleGroup(row.cycle, cycle_heading(row), tuple(items[row.cycle.index]))
        for row in rows
        if row.cycle.index in items
    ]
    if 0 in items:
        groups.append(CycleGroup(None, cycle_heading(None), tuple(items[0])))
    return groups


def shorten(text: str, limit: int) -> str:
    """The text, cut at a word before `limit` characters and marked with "…" if longer."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if not text[limit - 1].isspace() and len(cut.split()) > 1:
        cut = cut.rsplit(maxsplit=1)[0]  # the cut fell inside a word: leave that word out
    return cut.rstrip(" ,.;:") + "…"


def _cycle_day(cycle: Cycle | None, day: date) -> int | None:
    return None if cycle is None else (day - cycle.injection_date).days


def reaction_lines(
    cycles: Sequence[Cycle], reactions: Iterable[ReactionRecord]
) -> list[tuple[Cycle | None, ReactionLine]]:
    """Each reaction with its cycle, newest first."""
    find = cycle_of(cycles)
    lines = []
    for r in sorted(reactions, key=lambda r: r.onset, reverse=True):
        cycle = find(r.onset)
        line = ReactionLine(
            label=r.label,
            severity=r.severity,
            urgent=r.urgent,
            onset=short_date(r.onset),
            cycle_day=_cycle_day(cycle, r.onset),
            resolved=short_date(r.resolved) if r.resolved else "",
            pain_reliever=r.pain_reliever_text,
            note=r.note,
            tier_label=r.red_flag.tier_label if r.urgent else "",
            handled=r.red_flag.handled_text if r.urgent else "",
        )
        lines.append((cycle, line))
    return lines


def note_lines(
    cycles: Sequence[Cycle], logs: Iterable[tuple[date, int, str]]
) -> list[tuple[Cycle | None, NoteLine]]:
    """The check-ins with a note, newest first, each with its cycle."""
    find = cycle_of(cycles)
    lines = []
    for day, severity, note in sorted((log for log in logs if log[2]), reverse=True):
        cycle = find(day)
        lines.append((cycle, NoteLine(long_date(day), _cycle_day(cycle, day), severity, note)))
    return lines


def answer_lines(
    cycles: Sequence[Cycle], answers: Iterable[Answer]
) -> list[tuple[Cycle, AnswerLine]]:
    """The PGIC answers, newest first, each with the cycle of the injection it was about."""
    by_injection = {pk: cycle for cycle in cycles for pk in cycle.injection_ids}
    lines = []
    for a in sorted(answers, key=lambda a: a.date, reverse=True):
        cycle = by_injection.get(a.injection_id)
        if cycle is not None:
            day = (a.date - cycle.injection_date).days
            lines.append(
                (cycle, AnswerLine(long_date(a.date), day, a.timepoint_label, a.score, a.answer))
            )
    return lines


# The report and the summary.


@dataclass(frozen=True)
class Report:
    page: ReliefPage
    doses: DoseHistory
    reactions: list[CycleGroup]
    notes: list[CycleGroup]
    answers: list[CycleGroup]


def report(diary: Diary, choice: str, settings: relief.ReliefSettings) -> Report:
    page = relief_page(diary, choice, settings)
    cycles = [row.cycle for row in reversed(page.rows)]
    return Report(
        page=page,
        doses=dose_history(page.rows, diary.site_doses),
        reactions=group_by_cycle(page.rows, reaction_lines(cycles, diary.reactions)),
        notes=group_by_cycle(page.rows, note_lines(cycles, diary.scores)),
        answers=group_by_cycle(page.rows, answer_lines(cycles, diary.answers)),
    )


@dataclass(frozen=True)
class Summary:
    today: date
    status: relief.CycleStatus | None
    timeline: TimelineChart
    overlay: OverlayChart | None
    rows: list[CycleRow]  # the current cycle, then the previous one: at most two
    doses: DoseHistory
    reactions: list[ReactionLine]  # urgent first, then newest first
    more_reactions: int  # left out to keep to one page; the report lists them
    notes: list[NoteLine]  # newest first
    more_notes: int
    shortened: bool  # some note above was cut short
    settings: relief.ReliefSettings


def summary(diary: Diary, settings: relief.ReliefSettings) -> Summary:
    """The current and the previous cycle: the timeline from the previous cycle's baseline
    days to today, the overlay of every cycle, and the two cycles' figures, doses, reactions,
    notes and PGIC answers."""
    # The timeline starts with the previous cycle's baseline days (each cycle is one injection
    # date up to today); without an injection, the default range.
    injected = sorted({day for day in diary.dates_by_injection.values() if day <= diary.today})
    baseline_days = timedelta(days=settings.baseline_days)
    start = injected[-2:][0] - baseline_days if injected else None
    page = relief_page(diary, DEFAULT_RANGE, settings, start=start)
    cycles = [row.cycle for row in reversed(page.rows)]
    rows = page.rows[:2]
    shown = {row.cycle.index for row in rows}
    reactions = [
        line
        for cycle, line in reaction_lines(cycles, diary.reactions)
        if cycle and cycle.index in shown
    ]
    reactions.sort(key=lambda line: not line.urgent)  # stable: newest first within each
    notes = [
        line for cycle, line in note_lines(cycles, diary.scores) if cycle and cycle.index in shown
    ]
    return Summary(
        today=diary.today,
        status=page.status,
        timeline=page.timeline,
        overlay=page.overlay,
        rows=rows,
        doses=dose_history(rows, diary.site_doses),
        reactions=[
            replace(line, note=shorten(line.note, SUMMARY_NOTE_CHARS))
            for line in reactions[:SUMMARY_REACTIONS]
        ],
        more_reactions=max(len(reactions) - SUMMARY_REACTIONS, 0),
        notes=[
            replace(line, text=shorten(line.text, SUMMARY_NOTE_CHARS))
            for line in notes[:SUMMARY_NOTES]
        ],
        more_notes=max(len(notes) - SUMMARY_NOTES, 0),
        shortened=any(
            len(text) > SUMMARY_NOTE_CHARS
            for text in [
                *(line.note for line in reactions[:SUMMARY_REACTIONS]),
                *(line.text for line in notes[:SUMMARY_NOTES]),
            ]
        ),
        settings=page.settings,
    )
