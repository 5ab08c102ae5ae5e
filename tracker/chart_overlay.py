"""The overlay chart of the Relief page and the report: every cycle's relief folded onto its
injection day, with the median and middle half of the cycles and the current cycle's line.
Pure geometry, as tracker/charts.py, whose scales, paths and frame it draws with."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from tracker.chart_tables import Markup, table_rows
from tracker.charts import (
    FONT_SIZE,
    WIDTH,
    Frame,
    Scale,
    Tick,
    area,
    num,
    piece_path,
    text_width,
)
from tracker.relief import Cycle, OverlayDay
from tracker.shown import Shown

DAY_STEPS = [7, 14, 28, 56, 91, 182, 364]  # between ticks of days since injection
OVERLAY_LOW, OVERLAY_HIGH = -50, 100  # relief % drawn; lower values are drawn at the edge


@dataclass(frozen=True)
class CycleLine(Shown):
    label: str  # "Cycle 3, from 3 Mar 2025"
    path: str


@dataclass(frozen=True)
class OverlayRow(Shown):
    day: int
    median: str
    middle_half: str  # "20 to 45"
    cycle_count: int
    current: str  # the ongoing cycle's smoothed relief, "" without one


@dataclass(frozen=True)
class VerticalMark(Shown):
    x: float
    label: str
    label_x: float
    anchor: str  # text-anchor


@dataclass(frozen=True)
class OverlayChart(Frame):
    last_day: int
    band: str  # 25th to 75th percentile
    median: str
    earlier: tuple[CycleLine, ...]
    current: str
    current_day: int | None  # the ongoing cycle's last day with a value
    current_end: tuple[float, float] | None  # where its line ends: marked with a dot
    zero_y: float
    threshold: float
    threshold_y: float
    forecast_day: float | None
    forecast: VerticalMark | None
    rows: tuple[OverlayRow, ...]  # every 7th day since injection
    clipped: bool  # some value lay below the drawn range and was drawn at its edge
    font_size: int = FONT_SIZE

    @property
    def x_title_y(self) -> float:
        return self.bottom + 37

    @property
    def mid_x(self) -> float:
        return round((self.left + self.right) / 2, 1)

    @property
    def forecast_top(self) -> float:
        return self.top - 12

    @property
    def forecast_label_y(self) -> float:
        return self.top - 16

    @property
    def rows_body(self) -> Markup:
        """The table's body; the ongoing cycle's column only with an ongoing cycle's line."""
        columns = ("num", "", "num", "num") if self.current_end else ("num", "", "num")
        return table_rows(
            (
                (r.day, f"{r.median} ({r.middle_half})", r.cycle_count, r.current)[: len(columns)]
                for r in self.rows
            ),
            columns,
        )


def overlay(
    cycles: Sequence[Cycle],
    days: Sequence[OverlayDay],
    forecast_day: float | None,
    threshold: float,
    cycle_labels: Mapping[int, str],
    forecast_label: str,
    rows: tuple[OverlayRow, ...],
) -> OverlayChart:
    """Every cycle folded onto its injection day: x = days since injection, y = smoothed
    relief %, drawn between OVERLAY_LOW and OVERLAY_HIGH. The page's words: `cycle_labels`
    (by cycle index) for the earlier cycles' lines, `forecast_label` and the table's `rows`."""
    last_day = _last_day(cycles, forecast_day)
    x = Scale(0, last_day, 52.0, WIDTH - 10.0)
    y = Scale(OVERLAY_LOW, OVERLAY_HIGH, 220.0, 30.0)
    line = _relief_lines(x, y)
    earlier, current = _earlier_and_current(cycles)
    return OverlayChart(
        width=WIDTH,
        height=y.start + 44.0,
        left=x.start,
        right=x.end,
        top=y.end,
        bottom=y.start,
        last_day=last_day,
        band=_band(days, x, y),
        median=line({d.day: d.median for d in days}),
        earlier=tuple(CycleLine(cycle_labels[c.index], line(c.smoothed)) for c in earlier),
        current=line(current),
        current_day=max(current, default=None),
        current_end=_line_end(current, x, y),
        zero_y=round(y(0), 1),
        threshold=threshold,
        threshold_y=round(y(threshold), 1),
        forecast_day=forecast_day,
        forecast=None if forecast_day is None else _forecast(x, forecast_day, forecast_label),
        x_ticks=tuple(day_ticks(last_day, x)),
        y_ticks=_relief_ticks(y, threshold),
        rows=rows,
        clipped=_clipped(cycles, days),
    )


def _last_day(cycles: Sequence[Cycle], forecast_day: float | None) -> int:
    """The longest cycle's, or the forecast's if later; day 14 at least."""
    cycle_days = ((c.end_date - c.injection_date).days for c in cycles)
    return max([14, *cycle_days, round(forecast_day or 0)])


def _earlier_and_current(cycles: Sequence[Cycle]) -> tuple[list[Cycle], Mapping[int, float]]:
    """The earlier cycles with a line to draw, and the ongoing cycle's relief by day."""
    ongoing = cycles[-1] if cycles and cycles[-1].ongoing else None
    earlier = [c for c in cycles if c is not ongoing and c.smoothed]
    return earlier, ongoing.smoothed if ongoing else {}


def _clipped(cycles: Sequence[Cycle], days: Sequence[OverlayDay]) -> bool:
    """Whether some value lies below the drawing."""
    lowest = min((min(cycle.smoothed.values()) for cycle in cycles if cycle.smoothed), default=0)
    return lowest < OVERLAY_LOW or any(day.p25 < OVERLAY_LOW for day in days)


def _relief_lines(x: Scale, y: Scale) -> Callable[[Mapping[int, float]], str]:
    """Draws lines of relief % by day since injection (the days of x), broken at days without
    a value."""
    return lambda values: _relief_line(x, y, sorted(values.items()))


def _relief_line(x: Scale, y: Scale, points: Sequence[tuple[int, float]]) -> str:
    """A line of _relief_lines, of (day, relief %) in order of day. Drawn afresh each time,
    not kept in the process: five years hold some 2,000 points, so each day's x is written
    once for the scale (_day_xs) and the points' y in one go (_relief_ys)."""
    xs, days = _day_xs(x), [day for day, _ in points]
    ys = _relief_ys(y, [value for _, value in points])
    coordinates = [f"{xs[day]} {at}" for day, at in zip(days, ys, strict=True)]
    # A day without a value breaks the line.
    breaks = [n for n in range(1, len(days)) if days[n] != days[n - 1] + 1]
    return "".join(
        piece_path(coordinates[start:end])
        for start, end in zip([0, *breaks], [*breaks, len(days)], strict=True)
        if end > start
    )


def _relief_ys(y: Scale, values: Sequence[float]) -> list[str]:
    """Where each relief % is drawn, to the nearest tenth of a unit, as num() writes it: on
    the drawing's edge when beyond it (relief is at most 100 %; lower values are drawn on the
    lower edge). The scale written out, and each tenth written once for the scale (_tenths),
    as they run for every point of every line: writing floats was most of the time of
    drawing five years."""
    y_at_zero, units_per_percent = y(0), (y.start - y.end) / (y.high - y.low)
    tenths, low, high = _tenths(y), y.low, y.high
    return [
        tenths[
            round(
                (
                    y_at_zero
                    - (low if value < low else high if value > high else value) * units_per_percent
                )
                * 10
            )
        ]
        for value in values
    ]


@lru_cache(maxsize=8)
def _tenths(y: Scale) -> tuple[str, ...]:
    """num() of every tenth of a unit from 0 to the drawing's lower edge, by tenths."""
    return tuple(num(tenth / 10) for tenth in range(round(max(y.start, y.end) * 10) + 1))


@lru_cache(maxsize=64)
def _day_xs(x: Scale) -> tuple[str, ...]:
    """Each day's x, written once for every line drawn on the same scale."""
    return tuple(num(x(day)) for day in range(int(x.high) + 1))


def _band(days: Sequence[OverlayDay], x: Scale, y: Scale) -> str:
    """The middle half of the cycles, 25th to 75th percentile, over the days of x."""
    xs = _day_xs(x)
    lows, highs = _relief_ys(y, [d.p25 for d in days]), _relief_ys(y, [d.p75 for d in days])
    by_day = {d.day: (xs[d.day], low, high) for d, low, high in zip(days, lows, highs, strict=True)}
    return area(by_day.get(day) for day in range(int(x.high) + 1))


def _line_end(values: Mapping[int, float], x: Scale, y: Scale) -> tuple[float, float] | None:
    """Where a line of relief % ends: on its last day."""
    if not values:
        return None
    day = max(values)
    return round(x(day), 1), float(_relief_ys(y, [values[day]])[0])  # where the line ends


def _forecast(x: Scale, day: float, label: str) -> VerticalMark:
    """A vertical line on the day, labelled on the side with more room."""
    at = x(day)
    label_on_right = at < (x.start + x.end) / 2
    return VerticalMark(
        x=round(at, 1),
        label=label,
        label_x=round(at + 5 if label_on_right else at - 5, 1),
        anchor="start" if label_on_right else "end",
    )


def _relief_ticks(y: Scale, threshold: float) -> tuple[Tick, ...]:
    """Every 50 %, but at the threshold, which has a label of its own."""
    return tuple(
        Tick(round(y(value), 1), f"{value} %".replace("-", "−"))
        for value in range(-50, 101, 50)
        if value != threshold
    )


def day_ticks(last_day: int, x: Scale) -> list[Tick]:
    """Ticks every 1, 2, 4 or 8... weeks since injection, as often as their labels fit."""
    units_per_day = (x.end - x.start) / max(last_day, 1)
    label_room = text_width(str(last_day)) + 14
    step = next((s for s in DAY_STEPS if s * units_per_day >= label_room), DAY_STEPS[-1])
    return [Tick(round(x(day), 1), str(day)) for day in range(0, last_day + 1, step)]
