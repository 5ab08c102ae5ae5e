"""What the Relief page draws: the geometry of its SVG charts, and the timeline's own (the
overlay of cycles is tracker/chart_overlay.py's).

Pure: dates, numbers and relief.py's results in, small frozen dataclasses of path strings and
positions out, which the partials in templates/tracker/partials/ turn into markup. The words
(labels, and the tables under the charts as WeekRow, EventRow and OverlayRow rows) come in from
the page model, tracker/pages/relief.py; a timeline longer than a year tables its scores a
month to a row (tracker/chart_tables.py). Positions are in viewBox units, rounded to one
decimal place: the viewBox is about as wide as a phone's column, so that labels of FONT_SIZE
units read as about 14 CSS px at 360 px. The labels' size itself is set in rem by app.css
(.chart-svg text), so that they grow with the reader's text size, as the page's text does.

Every point given is drawn, whatever the range: each series is one path, built here as a
string rather than element by element in a template, which keeps five years of days small
and quick (at most 1,500 elements on the page: tests/test_speed_charts.py).
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

from tracker.chart_tables import (
    LONG_SPAN_DAYS,
    EventRow,
    Markup,
    MonthRow,
    WeekRow,
    month_rows,
    table_rows,
)
from tracker.dates import short_date
from tracker.shown import Shown

WIDTH = 320
FONT_SIZE = 14
LINE_HEIGHT = FONT_SIZE + 2
# A generous average glyph width, in ems, so that labels placed side by side never touch.
CHAR_WIDTH = 0.62
LABEL_TOP = 8.0  # injection labels start this far below the top of the timeline
LABEL_GAP = 4.0  # between labels side by side
MONTH_STEPS = [1, 2, 3, 6, 12, 24, 60]  # between date ticks


def num(value: float) -> str:
    """A coordinate for a path: one decimal, no trailing ".0" (12.0 -> "12", 3.14 -> "3.1")."""
    text = f"{value:.1f}"
    if text[-1] != "0":
        return text
    return "0" if text == "-0.0" else text[:-2]


def text_width(text: str) -> float:
    return len(text) * FONT_SIZE * CHAR_WIDTH


@dataclass(frozen=True)
class Scale:
    """Maps low..high of the data linearly onto start..end of the drawing (either way up)."""

    low: float
    high: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        if self.high == self.low:
            return (self.start + self.end) / 2
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)


def dots_path(points: Iterable[tuple[float, float]]) -> str:
    """One zero-length stroke per point: with round caps, each is drawn as a dot."""
    return "".join(f"M{num(x)} {num(y)}h0" for x, y in points)


def line_path(points: Iterable[tuple[float, float] | None]) -> str:
    """A line through the points; None lifts the pen. A piece of a single point is drawn as a
    dot, so that no value disappears."""
    written = [None if p is None else f"{num(p[0])} {num(p[1])}" for p in points]
    return "".join(map(piece_path, runs(written)))


def piece_path(piece: Sequence[str]) -> str:
    """A run of a line's points, written out: a lone point is drawn as a dot."""
    return f"M{piece[0]}L{' '.join(piece[1:])}" if piece[1:] else f"M{piece[0]}h0"


def runs(points: Sequence[object | None]) -> Iterator[Sequence[object]]:
    """The runs of points between the Nones."""
    start = 0
    for end in [*(n for n, point in enumerate(points) if point is None), len(points)]:
        if end > start:
            yield points[start:end]
        start = end + 1


def area_path(points: Sequence[tuple[float, float, float] | None]) -> str:
    """The area between two lines given as (x, y_low, y_high) points; None breaks it."""
    return area(None if point is None else tuple(map(num, point)) for point in points)


def area(points: Iterable[tuple[str, str, str] | None]) -> str:
    """area_path, of points already written out: along the top, then back along the bottom."""
    return "".join(
        f"M{' '.join(f'{x} {high}' for x, _, high in run)}"
        f"L{' '.join(f'{x} {low}' for x, low, _ in reversed(run))}Z"
        for run in runs(list(points))
    )


@dataclass(frozen=True)
class Tick(Shown):
    position: float  # x or y in viewBox units
    label: str
    label_position: float | None = None  # along the axis, kept inside the viewBox; None: position


@dataclass(frozen=True)
class Event(Shown):
    """A dated thing to mark on the timeline: an injection or a reaction."""

    date: date
    label: str  # "Botox 200 U", "Headache (mild)"
    urgent: bool = False  # a red flag


@dataclass(frozen=True)
class InjectionMark(Shown):
    day: str  # "3 Mar 2025"
    x: float
    lines: tuple[str, ...]  # the label, on one line or two
    label_x: float
    label_y: float
    rotated: bool  # read bottom to top, when there are too many to fit side by side


@dataclass(frozen=True)
class Frame(Shown):
    """A chart's viewBox size, the plot area's edges inside it, and its ticks."""

    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]

    @property
    def grid(self) -> str:
        """The grid's lines at the ticks, as one path, as every series is."""
        across = (f"M{num(self.left)} {num(t.position)}H{num(self.right)}" for t in self.y_ticks)
        up = (f"M{num(t.position)} {num(self.top)}V{num(self.bottom)}" for t in self.x_ticks)
        return "".join([*across, *up])

    @property
    def y_label_x(self) -> float:
        return self.left - 6

    @property
    def x_label_y(self) -> float:
        return self.bottom + 18

    @property
    def tick_labels(self) -> Markup:
        """The ticks' labels, as SVG text: the y axis's right-aligned left of the plot, the x
        axis's centred under it. Written here, as the grid is: they were a tenth of the
        time the Relief page took to draw in its templates."""
        y_labels = (
            f'<text x="{self.y_label_x}" y="{tick.position}" dy="0.35em" text-anchor="end">'
            f"{escape(tick.label)}</text>"
            for tick in self.y_ticks
        )
        x_labels = (
            f'<text x="{tick.position if tick.label_position is None else tick.label_position}"'
            f' y="{self.x_label_y}" text-anchor="middle">{escape(tick.label)}</text>'
            for tick in self.x_ticks
        )
        return Markup("".join([*y_labels, *x_labels]))


@dataclass(frozen=True)
class TimelineChart(Frame):
    start: date
    end: date
    dots: str
    dot_size: float
    line: str
    injection_lines: str
    injections: tuple[InjectionMark, ...]
    reaction_y: float
    reactions: str  # markers of ordinary reactions: open triangles
    red_flags: str  # markers of red flags: filled diamonds
    weeks: tuple[WeekRow, ...]  # newest first; none for a timeline longer than a year
    months: tuple[MonthRow, ...]  # newest first; only for a timeline longer than a year
    events: tuple[EventRow, ...]  # injections and reactions, newest first
    logged_days: int
    reaction_count: int
    red_flag_count: int
    data: dict  # what relief.js needs to read a day off the chart
    font_size: int = FONT_SIZE
    line_height: int = LINE_HEIGHT

    @property
    def x_label_y(self) -> float:
        return round(self.height - 6, 1)

    # The tables' bodies (the headers are the template's).

    @property
    def weeks_body(self) -> Markup:
        return table_rows(((w.monday, *w.scores) for w in self.weeks), ("", *["num"] * 7))

    @property
    def months_body(self) -> Markup:
        return table_rows(
            (
                (m.month, m.days_logged, m.average, m.lowest_to_highest, m.events)
                for m in self.months
            ),
            ("", "num", "num", "", "events"),
        )

    @property
    def events_body(self) -> Markup:
        return table_rows(((event.day, event.text) for event in self.events), ("", ""))


def timeline(
    start: date,
    end: date,
    logs: Sequence[tuple[date, float, str]],
    smoothed: Mapping[date, float],
    injections: Sequence[Event],
    reactions: Sequence[Event],
    weeks: tuple[WeekRow, ...],
    events: tuple[EventRow, ...],
    readout: list[list],
) -> TimelineChart:
    """Daily severity from `start` to `end` (logs outside are left out): every logged day a
    dot, the smoothed severity a line that breaks at gaps and at each injection, injections as
    labelled vertical lines, reactions as markers below the plot. The page's words: the
    tables under the chart (`weeks`, `events`) and the `readout` of each day for relief.js."""
    injections, reactions = _between(start, end, injections), _between(start, end, reactions)
    logs = [log for log in logs if start <= log[0] <= end]
    x, y, marks = _timeline_scales(start, end, injections)
    reaction_y = y.start + 14.0
    long = (end - start).days + 1 > LONG_SPAN_DAYS
    return TimelineChart(
        width=WIDTH,
        height=round(reaction_y + 12.0 + 22.0, 1),
        left=x.start,
        right=x.end,
        top=y.end,
        bottom=y.start,
        start=start,
        end=end,
        dots=dots_path((x(day.toordinal()), y(severity)) for day, severity, _ in logs),
        dot_size=_dot_size((end - start).days + 1),
        line=line_path(_smoothed_points(smoothed, injections, x, y)),
        x_ticks=tuple(date_ticks(start, end, x)),
        y_ticks=tuple(Tick(round(y(value), 1), str(value)) for value in range(0, 11, 2)),
        injection_lines=_injection_lines(marks, y),
        injections=tuple(marks),
        reaction_y=reaction_y,
        reactions=_reaction_markers(reactions, x, reaction_y, urgent=False),
        red_flags=_reaction_markers(reactions, x, reaction_y, urgent=True),
        weeks=() if long else weeks,
        months=month_rows(start, logs, readout) if long else (),
        events=() if long else events,  # in the month table's rows
        logged_days=len(logs),
        reaction_count=len(reactions),
        red_flag_count=sum(e.urgent for e in reactions),
        data=_readout_data(start, x, y, readout),
    )


def _between(start: date, end: date, events: Iterable[Event]) -> list[Event]:
    return sorted((e for e in events if start <= e.date <= end), key=lambda e: e.date)


def _timeline_scales(
    start: date, end: date, injections: Sequence[Event]
) -> tuple[Scale, Scale, list[InjectionMark]]:
    """Days to x; severity to y, from 0 at the plot's bottom (y.start) to 10 at its top (y.end),
    which lies as low as the injection labels above it need."""
    x = Scale(start.toordinal(), end.toordinal(), 28.0, WIDTH - 10.0)
    marks, label_room = _injection_labels(injections, x)
    top = round(LABEL_TOP + max(label_room, 4), 1)
    return x, Scale(0, 10, top + 170.0, top), marks


def _smoothed_points(
    smoothed: Mapping[date, float], injections: Sequence[Event], x: Scale, y: Scale
) -> Iterator[tuple[float, float] | None]:
    """The smoothed severity of each day of x, None where there is none and before each
    injection: a new cycle starts there, and the line does not run across it."""
    injection_days = {e.date for e in injections}
    for ordinal in range(int(x.low), int(x.high) + 1):
        day = date.fromordinal(ordinal)
        if day in injection_days:
            yield None
        value = smoothed.get(day)
        yield None if value is None else (x(ordinal), y(value))


def _injection_lines(marks: Sequence[InjectionMark], y: Scale) -> str:
    """Down to the plot's bottom: upward labels run beside their lines, others sit on them."""
    return "".join(
        f"M{num(m.x)} {num(LABEL_TOP if m.rotated else y.end - 4)}V{num(y.start)}" for m in marks
    )


def _reaction_markers(reactions: Sequence[Event], x: Scale, y: float, urgent: bool) -> str:
    """Open triangles for ordinary reactions, or filled diamonds for red flags, around y."""
    rise, shape = (7, "l7 7-7 7-7-7z") if urgent else (5, "l5 9h-10z")
    return "".join(
        f"M{num(x(e.date.toordinal()))} {num(y - rise)}{shape}"
        for e in reactions
        if e.urgent == urgent
    )


def _readout_data(start: date, x: Scale, y: Scale, days: list[list]) -> dict:
    """What relief.js needs to read a day off the chart: the scales, and the page's `days`."""
    return {
        "start": start.isoformat(),
        "x0": x.start,
        "step": round((x.end - x.start) / max(x.high - x.low, 1), 4),
        "y0": y.start,
        "yStep": (y.start - y.end) / 10,
        "width": WIDTH,
        "days": days,
    }


def _dot_size(span_days: int) -> float:
    """Dots shrink as days crowd together, but stay big enough to see."""
    if span_days <= 31:
        return 6
    if span_days <= 92:
        return 5
    return 3.5 if span_days <= 366 else 2.5


def _injection_labels(injections: Sequence[Event], x: Scale) -> tuple[list[InjectionMark], float]:
    """Labels beside their lines, above the plot: on one line where they fit side by side,
    else on two ("Botox" over "200 U"), else every label turned to read upwards, which fits
    one every ~16 units. Returns the marks and the height they need above the plot."""
    positions = [x(event.date.toordinal()) for event in injections]
    for lines_of in (_one_line, _two_lines):
        marks = _side_by_side(injections, positions, lines_of)
        if marks is not None:
            line_count = max((len(mark.lines) for mark in marks), default=0)
            return marks, line_count * LINE_HEIGHT + (6 if marks else 0)
    room = max(text_width(event.label) for event in injections) + 6
    marks = [
        InjectionMark(
            day=short_date(event.date),
            x=round(at, 1),
            lines=(event.label,),
            label_x=round(at - 4, 1),  # the glyphs of upward text lie left of its baseline
            label_y=round(LABEL_TOP + room - 6, 1),
            rotated=True,
        )
        for event, at in zip(injections, positions, strict=True)
    ]
    return marks, room


def _one_line(label: str) -> tuple[str, ...]:
    return (label,)


def _two_lines(label: str) -> tuple[str, ...]:
    """ "Botox 200 U" -> ("Botox", "200 U"): the product over its units."""
    words = label.rsplit(" ", 2)
    return (words[0], " ".join(words[1:])) if len(words) == 3 else (label,)


def _side_by_side(injections, positions, lines_of) -> list[InjectionMark] | None:
    """Each label above its line, starting at it (ending at the chart's right edge when
    there is no room), or None if two would touch."""
    marks = []
    previous_end = -LABEL_GAP
    for event, at in zip(injections, positions, strict=True):
        lines = lines_of(event.label)
        width = max(text_width(line) for line in lines)
        label_x = max(0.0, min(at - 1, WIDTH - width))
        if label_x < previous_end + LABEL_GAP:
            return None
        previous_end = label_x + width
        marks.append(
            InjectionMark(
                day=short_date(event.date),
                x=round(at, 1),
                lines=lines,
                label_x=round(label_x, 1),
                label_y=LABEL_TOP + FONT_SIZE,
                rotated=False,
            )
        )
    return marks


def date_ticks(start: date, end: date, x: Scale) -> list[Tick]:
    """Ticks on Mondays for a month or two, else on the first of every 1, 2, 3, 6 or 12... months,
    as often as their labels fit side by side."""
    units_per_day = (x.end - x.start) / max((end - start).days, 1)
    if (end - start).days <= 62:
        first_monday = start + timedelta(days=-start.weekday() % 7)
        days = [
            first_monday + timedelta(weeks=n) for n in range((end - first_monday).days // 7 + 1)
        ]
        labels = [f"{day.day} {day:%b}" for day in days]
    else:
        for step in MONTH_STEPS:
            label_format = "%Y" if step >= 12 else "%b %Y" if step >= 3 else "%b"
            gap = step * 30.4 * units_per_day
            if gap >= text_width(date(2000, 5, 1).strftime(label_format)) + 10:
                break
        days = [
            day
            for day in _first_days_of_months(start, end)
            if (day.month - 1) % min(step, 12) == 0 and (step < 12 or day.year % (step // 12) == 0)
        ]
        labels = [day.strftime(label_format) for day in days]
    ticks = []
    for day, label in zip(days, labels, strict=True):
        at = x(day.toordinal())
        half = text_width(label) / 2
        ticks.append(Tick(round(at, 1), label, round(min(max(at, half + 1), WIDTH - half - 1), 1)))
    return ticks


def _first_days_of_months(start: date, end: date) -> list[date]:
    first = start.year * 12 + start.month - (start.day == 1)  # in months since year 0, less one
    return [date(m // 12, m % 12 + 1, 1) for m in range(first, end.year * 12 + end.month)]
