"""Five years of daily data on the Relief page's range=all: a path per series, a page of at
most 1,500 elements, the charts' HTML at most 60 KB gzipped (issue 14); labels sized in rem,
so that they grow with the reader's text size (issue 13)."""

import datetime as dt
import gzip
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.conftest import TODAY
from tracker import chart_tables, charts

pytestmark = pytest.mark.usefixtures("frozen_now")

FIVE_YEARS = 5 * 365 + 1


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.tags: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs) -> None:
        self.count += 1
        self.tags[tag] = self.tags.get(tag, 0) + 1


def elements(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    return parser


@pytest.fixture
def five_years(patient):
    """A check-in every day, an injection every 13 weeks and five reactions after each."""
    from tracker.models import DailyLog, Injection, Reaction

    first = TODAY - dt.timedelta(days=FIVE_YEARS - 1)
    DailyLog.objects.bulk_create(
        DailyLog(patient=patient, date=first + dt.timedelta(days=n), severity=(n * 7) % 11)
        for n in range(FIVE_YEARS)
    )
    shots = Injection.objects.bulk_create(
        Injection(
            patient=patient,
            date=first + dt.timedelta(days=n),
            product="botox",
            total_units=200,
        )
        for n in range(20, FIVE_YEARS, 91)
    )
    Reaction.objects.bulk_create(
        Reaction(
            patient=patient,
            injection=shot,
            kind="headache",
            severity="mild",
            onset_date=min(shot.date + dt.timedelta(days=k), TODAY),
        )
        for shot in shots
        for k in range(5)
    )
    return patient


def timeline_html(html: str) -> str:
    start = html.index('<section id="timeline"')
    return html[start : html.index("</section>", start)]


def test_five_years_on_range_all_stay_under_1500_elements(web, five_years):
    html = web.get(reverse("relief") + "?range=all").content.decode()

    found = elements(html)
    assert found.count <= 1500, sorted(found.tags.items(), key=lambda tag: -tag[1])[:8]
    # One path per series however many days: dots, line, injections, reactions.
    chart = html[html.index('<svg class="chart-svg"') : html.index("</svg>")]
    assert chart.count("<path") <= 6
    assert "<circle" not in chart.split("chart-cursor")[0]


def test_the_charts_html_of_five_years_is_at_most_60_kb_gzipped(web, five_years):
    html = web.get(reverse("relief") + "?range=all").content.decode()

    assert len(gzip.compress(timeline_html(html).encode())) <= 60_000
    assert len(gzip.compress(html.encode())) <= 60_000  # the whole page, too


def test_a_timeline_longer_than_a_year_tables_its_scores_a_month_to_a_row(web, five_years):
    html = web.get(reverse("relief") + "?range=all").content.decode()

    table = timeline_html(html)
    assert "a month to a row" in table
    assert table.count('<th scope="row">') == 61  # every month of the five years
    assert "Injection: Botox 200 U" in table and "Headache (mild)" in table


def test_a_year_or_less_keeps_its_table_a_week_to_a_row(web, five_years):
    html = web.get(reverse("relief") + "?range=365").content.decode()

    assert "a week to a row" in timeline_html(html)


def test_month_rows_give_each_months_scores_and_events():
    start = dt.date(2025, 1, 30)
    logs = [(start, 2, ""), (start + dt.timedelta(days=1), 7, ""), (dt.date(2025, 2, 3), 4, "")]
    readout = [[0, 2, "", ""], [1, 7, "", "Injection: Botox 200 U"], [4, 4, "", ""]]

    rows = chart_tables.month_rows(start, logs, readout)

    assert rows == (
        chart_tables.MonthRow("Feb 2025", 1, "4.0", "4 to 4", ""),
        chart_tables.MonthRow("Jan 2025", 2, "4.5", "2 to 7", "31 Jan: Injection: Botox 200 U"),
    )


def test_the_charts_are_at_least_18rem_wide_so_that_they_grow_with_the_text_size():
    css = (Path(settings.BASE_DIR) / "static/css/app.css").read_text()

    # 18rem: about the viewBox's width at the default text size, so labels of FONT_SIZE units
    # read as about FONT_SIZE CSS px then, and grow with the reader's text size.
    assert charts.WIDTH == 320 and charts.FONT_SIZE == 14
    rule = re.search(r"\.chart-svg\s*\{([^}]*min-width[^}]*)\}", css)
    assert rule and "min-width: 18rem" in rule.group(1)


@pytest.mark.parametrize("choice", ["30", "90", "365", "all"])
def test_the_timeline_smooths_from_the_scores_near_its_range_alone(choice, monkeypatch):
    """relief_page hands smoothed_severity only the scores from half a window before the
    range: the line is the one drawn from every score, the days at the range's start
    included (their windows reach back before it) and across an injection in the range."""
    from decimal import Decimal

    from tracker import relief
    from tracker.diary import Diary, InjectionRecord
    from tracker.pages.relief import relief_page

    drawn = []
    smoothed_severity = relief.smoothed_severity
    monkeypatch.setattr(
        relief,
        "smoothed_severity",
        lambda *given: drawn.append(smoothed_severity(*given)) or drawn[-1],
    )
    today = TODAY
    scores = tuple(
        (today - dt.timedelta(days=n), (n * 7) % 11, "") for n in range(400, -1, -1) if n % 5
    )
    injected = [today - dt.timedelta(days=days) for days in (200, 20)]
    injections = tuple(
        InjectionRecord(n, day, "botox", Decimal(100), "", "", "", False, ())
        for n, day in enumerate(injected)
    )
    diary = Diary(today=today, scores=scores, injections=injections, reactions=(), answers=())
    start = relief_page(diary, choice).timeline.start
    every = {day: severity for day, severity, _ in scores}
    assert drawn == [smoothed_severity(every, injected, start, today)]
    if choice != "all":  # which starts on the first score
        assert start - dt.timedelta(days=3) in every  # a score the first day's window holds
