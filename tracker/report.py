"""The clinician's report on one shared patient, and its one-page pre-visit summary.

The report is the Relief page's charts and cycle table, plus what went into which muscle cycle
by cycle with the relief that followed, the reactions, notes and PGIC answers of each cycle.
The summary is the current and the previous cycle on one A4 page: a page to print, and the same
template made into a PDF by WeasyPrint, with the same inline SVG charts.

The assembly functions take plain records and relief.py's cycles and return frozen dataclasses,
as charts.py does; `read_diary` is the only code here that queries the database.
"""

import logging
import mimetypes
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from tracker import catalog, charts, exports, relief
from tracker.charts import CycleRow
from tracker.models import AccessEvent, Patient, format_units, relief_settings
from tracker.relief import Cycle
from tracker.throttles import throttled
from tracker.views import as_private_download, clinician_patient_view

# What the summary lists of the two cycles, so that it stays on one page; the report has all.
SUMMARY_REACTIONS = 6
SUMMARY_NOTES = 4
SUMMARY_NOTE_CHARS = 160  # a longer note is shortened there, and given whole in the report
# When long notes or many muscles would still need a second page, the PDF is made again in
# smaller print: one page is the point of the summary.
COMPACT_PRINT = (
    "html { font-size: 7pt !important; } .summary .chart-svg { max-width: 80% !important; }"
)
DEFAULT_RANGE = "all"  # a clinician sees the whole course of treatment first


# The records, read once.


@dataclass(frozen=True)
class SiteDose:
    injection_id: object
    muscle: str  # "Sternocleidomastoid, left"
    product: str  # "Botox"
    units: Decimal


@dataclass(frozen=True)
class ReactionRecord:
    onset: date
    resolved: date | None
    label: str  # "Headache"
    severity: str  # "mild"
    urgent: bool  # a red flag
    pain_reliever: str  # "Paracetamol 1 g", or ""
    note: str


@dataclass(frozen=True)
class Answer:
    """A PGIC answer."""

    injection_id: object
    date: date
    timepoint: str  # "Weeks 4 to 6"
    score: int  # 1 very much improved ... 7 very much worse
    answer: str  # "Much improved"


@dataclass(frozen=True)
class Diary:
    today: date
    conditions: str  # "Cervical dystonia, Blepharospasm"
    doses: list[charts.Dose]  # one per injection session
    dates_by_injection: dict[object, date]
    sites: list[SiteDose]
    logs: list[tuple[date, int, str]]  # (date, severity, note), oldest first
    reactions: list[ReactionRecord]  # oldest first
    answers: list[Answer]  # oldest first


def read_diary(patient: Patient) -> Diary:
    """Six queries however long the diary: conditions, injections, their sites, their PGIC
    answers, logs, reactions."""
    conditions = ", ".join(c.get_condition_display() for c in patient.conditions.all())
    injections = list(
        patient.injections.order_by("date", "created_at").prefetch_related(
            "sites", "global_impressions"
        )
    )
    reactions = patient.reactions.order_by("onset_date", "created_at")
    return Diary(
        today=patient.today(),
        conditions=conditions,
        doses=[charts.Dose(i.pk, i.get_product_display(), i.total_units) for i in injections],
        dates_by_injection={i.pk: i.date for i in injections},
        sites=[site for i in injections for site in site_doses(i)],
        logs=list(patient.logs.order_by("date").values_list("date", "severity", "note")),
        reactions=[
            ReactionRecord(
                onset=r.onset_date,
                resolved=r.resolved_date,
                label=r.get_kind_display(),
                severity=r.severity,
                urgent=r.is_red_flag,
                pain_reliever=" ".join(filter(None, [r.pain_reliever, r.pain_reliever_dose])),
                note=r.note,
            )
            for r in reactions
        ],
        answers=sorted(
            (
                Answer(i.pk, a.date, a.get_timepoint_display(), a.score, a.get_score_display())
                for i in injections
                for a in i.global_impressions.all()
            ),
            key=lambda answer: answer.date,
        ),
    )


UNRECORDED_MUSCLE = "Muscles not recorded"


def site_doses(injection) -> list[SiteDose]:
    """An injection's units per muscle and side. A session saved with its total only still
    counts: its units go in a row of their own."""
    product = injection.get_product_display()
    sites = injection.sites.all()
    if not sites:
        return [SiteDose(injection.pk, UNRECORDED_MUSCLE, product, injection.total_units)]
    return [
        SiteDose(
            injection.pk,
            f"{site.get_muscle_display()}, {site.get_side_display().lower()}",
            product,
            site.units,
        )
        for site in sites
    ]


def relief_page(diary: Diary, choice: str, start: date | None = None) -> charts.ReliefPage:
    """The Relief page's charts and cycle table, of this diary."""
    return charts.relief_page(
        choice,
        diary.today,
        doses=diary.doses,
        dates_by_injection=diary.dates_by_injection,
        logs=diary.logs,
        reactions=reaction_events(diary.reactions),
        impressions=[
            charts.Impression(a.injection_id, a.timepoint, a.answer) for a in diary.answers
        ],
        settings=relief_settings(),
        start=start,
    )


def reaction_events(reactions: Iterable[ReactionRecord]) -> list[charts.Event]:
    return [charts.Event(r.onset, f"{r.label} ({r.severity})", urgent=r.urgent) for r in reactions]


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
class DoseHistory:
    columns: tuple[DoseColumn, ...]  # newest first, as the cycle table
    rows: tuple[MuscleRow, ...]


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
            onset=charts.short_date(r.onset),
            cycle_day=_cycle_day(cycle, r.onset),
            resolved=charts.short_date(r.resolved) if r.resolved else "",
            pain_reliever=r.pain_reliever,
            note=r.note,
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
        lines.append(
            (cycle, NoteLine(charts.long_date(day), _cycle_day(cycle, day), severity, note))
        )
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
                (cycle, AnswerLine(charts.long_date(a.date), day, a.timepoint, a.score, a.answer))
            )
    return lines


# The report and the summary.


@dataclass(frozen=True)
class Report:
    page: charts.ReliefPage
    doses: DoseHistory
    reactions: list[CycleGroup]
    notes: list[CycleGroup]
    answers: list[CycleGroup]


def report(diary: Diary, choice: str) -> Report:
    page = relief_page(diary, choice)
    cycles = [row.cycle for row in reversed(page.rows)]
    return Report(
        page=page,
        doses=dose_history(page.rows, diary.sites),
        reactions=group_by_cycle(page.rows, reaction_lines(cycles, diary.reactions)),
        notes=group_by_cycle(page.rows, note_lines(cycles, diary.logs)),
        answers=group_by_cycle(page.rows, answer_lines(cycles, diary.answers)),
    )


@dataclass(frozen=True)
class Summary:
    today: date
    status: relief.CycleStatus | None
    timeline: charts.TimelineChart
    overlay: charts.OverlayChart | None
    rows: list[CycleRow]  # the current cycle, then the previous one: at most two
    doses: DoseHistory
    reactions: list[ReactionLine]  # urgent first, then newest first
    more_reactions: int  # left out to keep to one page; the report lists them
    notes: list[NoteLine]  # newest first
    more_notes: int
    shortened: bool  # some note above was cut short
    settings: relief.ReliefSettings


def summary(diary: Diary) -> Summary:
    """The current and the previous cycle: the timeline from the previous cycle's baseline
    days to today, the overlay of every cycle, and the two cycles' figures, doses, reactions,
    notes and PGIC answers."""
    # The timeline starts with the previous cycle's baseline days (each cycle is one injection
    # date up to today); without an injection, the default range.
    injected = sorted({day for day in diary.dates_by_injection.values() if day <= diary.today})
    baseline_days = timedelta(days=relief_settings().baseline_days)
    start = injected[-2:][0] - baseline_days if injected else None
    page = relief_page(diary, charts.DEFAULT_RANGE, start=start)
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
        line for cycle, line in note_lines(cycles, diary.logs) if cycle and cycle.index in shown
    ]
    return Summary(
        today=diary.today,
        status=page.status,
        timeline=page.timeline,
        overlay=page.overlay,
        rows=rows,
        doses=dose_history(rows, diary.sites),
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


# The views. Each open of a patient's data is one row of their access history.


@require_safe
@clinician_patient_view(AccessEvent.What.PAGE)
def report_page(request: HttpRequest, patient: Patient) -> HttpResponse:
    # Eleven queries however long the diary: session, user, the clinician's second factor, the
    # patient, the access event, and read_diary's six; the rest is computed in Python.
    diary = read_diary(patient)
    context = {
        "patient": patient,
        "diary": diary,
        "report": report(diary, request.GET.get("range", DEFAULT_RANGE)),
        "clinician": True,  # the shared partials speak of "the patient", not "you"
        "ranges": charts.RANGE_LABELS,
    }
    return render(request, "tracker/report.html", context)


@require_safe
@clinician_patient_view(AccessEvent.What.PAGE)
def summary_page(request: HttpRequest, patient: Patient) -> HttpResponse:
    return render(request, "tracker/report_summary.html", summary_context(patient))


@require_safe
@clinician_patient_view(AccessEvent.What.PDF)
@throttled("export")  # each PDF costs about half a second of CPU
def summary_pdf(request: HttpRequest, patient: Patient) -> HttpResponse:
    try:
        # Imported here: it needs Pango and friends, which the rest of the app does without.
        import weasyprint
    except (ImportError, OSError):
        context = {"patient": patient}
        return render(request, "tracker/report_pdf_unavailable.html", context, status=503)
    context = summary_context(patient) | {"for_pdf": True}
    html = render_to_string("tracker/report_summary.html", context, request=request)
    page = weasyprint.HTML(
        string=html, base_url=request.build_absolute_uri("/"), url_fetcher=static_files_fetcher()
    )
    document = page.render()
    if len(document.pages) > 1:
        document = page.render(stylesheets=[weasyprint.CSS(string=COMPACT_PRINT)])
    response = HttpResponse(document.write_pdf(), content_type="application/pdf")
    return as_private_download(response, exports.filename(patient, "summary.pdf"))


def summary_context(patient: Patient) -> dict:
    diary = read_diary(patient)
    return {"patient": patient, "diary": diary, "summary": summary(diary), "clinician": True}


class SkippedBrowserCss(logging.Filter):
    """app.css is written for browsers: WeasyPrint's word on each rule it skips is noise in the
    log, where a file it could not read must still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        skipped = ("Ignored `", "Expected a media type", "Invalid media type")
        return not record.getMessage().startswith(skipped)


logging.getLogger("weasyprint").addFilter(SkippedBrowserCss())


def static_files_fetcher():
    """A WeasyPrint URL fetcher that reads our static files from disk, and nothing else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticFilesOnly(URLFetcher):
        def fetch(self, url, headers=None):
            path = static_file(url)
            if path is None:
                raise ValueError(f"Not one of our static files: {url}")
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})

    return StaticFilesOnly()


def static_file(url: str) -> Path | None:
    """The file on disk of one of our static URLs (whatever the host), or None."""
    path = unquote(urlsplit(url).path)
    if not path.startswith(settings.STATIC_URL):
        return None
    name = path.removeprefix(settings.STATIC_URL)
    if ".." in Path(name).parts:
        return None
    # The source files first, as runserver serves them; then collectstatic's (hashed) copies.
    found = finders.find(name)
    if found:
        return Path(found)
    if staticfiles_storage.exists(name):
        return Path(staticfiles_storage.path(name))
    return None
