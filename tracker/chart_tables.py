"""The tables under the timeline (tracker/charts.py): its scores a week to a row, or a month to
a row for a timeline longer than a year, and its injections and reactions. Pure."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

from tracker.shown import Shown


class Markup(str):
    """HTML written here, every text in it escaped. Django's templates show what has __html__
    as it is (django.utils.html.conditional_escape), as they do their own safe strings. (Not
    markupsafe's Markup: nothing is escaped on joining it with text.)"""

    def __html__(self) -> str:
        return self


def table_rows(rows: Iterable[Sequence[object]], classes: Sequence[str]) -> Markup:
    """The <tr>s of a table's body: each row's first cell is its header (scope="row"), and
    each cell has its column's class ("": none). Cells are plain text, escaped here. Written
    here, not looped over in a template: the charts' tables are some 200 cells, which
    Django's template engine drew in a quarter of the Relief page's drawing time
    (bench/README.md)."""
    opening = [
        ('<th scope="row"' if column == 0 else "<td") + (f' class="{name}">' if name else ">")
        for column, name in enumerate(classes)
    ]
    closing = ["</th>", *["</td>"] * (len(classes) - 1)]
    return Markup(
        "\n".join(
            "<tr>"
            + "".join(
                f"{start}{escape(str(text))}{end}"
                for start, text, end in zip(opening, row, closing, strict=True)
            )
            + "</tr>"
            for row in rows
        )
    )


@dataclass(frozen=True)
class WeekRow(Shown):
    """A week of the timeline's table, which is laid out like a calendar to stay compact."""

    monday: str  # "3 Mar 2025"
    scores: tuple[str, ...]  # Monday to Sunday; "" when not logged or outside the range


@dataclass(frozen=True)
class MonthRow(Shown):
    """A month of a timeline longer than a year, whose table has a row a month, with that
    month's injections and reactions, rather than a row a week and a table of events: those
    were some 3,000 of the page's elements for five years."""

    month: str  # "Mar 2025"
    days_logged: int
    average: str  # "4.2", "" when none was logged
    lowest_to_highest: str  # "2 to 7"
    events: str  # "3 Mar: Injection: Botox 200 U; 5 Mar: Headache (mild)"


LONG_SPAN_DAYS = 366  # longer timelines have a month table


def month_rows(
    start: date, logs: Sequence[tuple[date, float, str]], readout: Sequence[list]
) -> tuple[MonthRow, ...]:
    """Each month with a score or an event, newest first. `readout`: the page's words for each
    day, [days since start, score, note, events] (tracker/pages/relief.py, readout_days)."""
    scores: dict[tuple[int, int], list[float]] = {}
    for day, severity, _ in logs:
        scores.setdefault((day.year, day.month), []).append(severity)
    events: dict[tuple[int, int], list[str]] = {}
    for offset, _, _, text in readout:
        if text:
            day = start + timedelta(days=offset)
            events.setdefault((day.year, day.month), []).append(f"{day.day} {day:%b}: {text}")
    return tuple(
        MonthRow(
            month=date(year, month, 1).strftime("%b %Y"),
            days_logged=len(month_scores := scores.get((year, month), [])),
            average=f"{sum(month_scores) / len(month_scores):.1f}" if month_scores else "",
            lowest_to_highest=(
                f"{_score_text(min(month_scores))} to {_score_text(max(month_scores))}"
                if month_scores
                else ""
            ),
            events="; ".join(events.get((year, month), [])),
        )
        for year, month in sorted({*scores, *events}, reverse=True)
    )


def _score_text(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


@dataclass(frozen=True)
class EventRow(Shown):
    day: str  # "Mon 3 Mar 2025"
    text: str  # "Injection: Botox 200 U"
