import re
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker import chart_overlay, charts
from tracker.diary import Diary
from tracker.pages import relief as relief_pages
from tracker.relief import Cycle, InjectionPoint, compute_cycles, overlay

START = date(2021, 6, 16)


def points_of(path: str) -> list[tuple[float, float]]:
    """Every coordinate pair of a path made of M, L and h0 commands."""
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.replace("h0", ""))]
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def pieces_of(path: str) -> list[str]:
    return re.findall(r"M[^M]*", path)


def daily(first: date, scores: list[int | None], note: str = "") -> list[tuple[date, int, str]]:
    return [
        (first + timedelta(days=n), score, note)
        for n, score in enumerate(scores)
        if score is not None
    ]


# Scales and paths.


@pytest.mark.parametrize(
    ("scale", "low_at", "high_at"),
    [
        pytest.param(charts.Scale(0, 10, 200, 20), 200, 20, id="severity, 0 at the bottom"),
        pytest.param(charts.Scale(-50, 100, 220, 30), 220, 30, id="relief, -50 at the bottom"),
        pytest.param(
            charts.Scale(START.toordinal(), START.toordinal() + 1825, 28, 310),
            28,
            310,
            id="five years of days",
        ),
    ],
)
def test_a_scale_maps_the_ends_of_its_domain_to_the_edges_of_the_plot(scale, low_at, high_at):
    assert scale(scale.low) == low_at
    assert scale(scale.high) == high_at
    assert scale((scale.low + scale.high) / 2) == pytest.approx((low_at + high_at) / 2)


def test_a_scale_of_a_single_value_puts_it_in_the_middle():
    assert charts.Scale(5, 5, 0, 100)(5) == 50


@pytest.mark.parametrize(
    ("value", "text"),
    [(12.0, "12"), (3.14, "3.1"), (3.15, "3.1"), (0.04, "0"), (-0.04, "0"), (-7.25, "-7.2")],
)
def test_coordinates_have_one_decimal_and_no_trailing_zero(value, text):
    assert charts.num(value) == text


def test_every_dot_is_a_zero_length_stroke():
    assert charts.dots_path([(1, 2), (3.04, 4.96)]) == "M1 2h0M3 5h0"


@pytest.mark.parametrize(
    ("points", "path"),
    [
        pytest.param([], "", id="nothing"),
        pytest.param([(0, 0), (1, 1), (2, 0)], "M0 0L1 1 2 0", id="one piece"),
        pytest.param([(0, 0), (1, 1), None, (3, 3), (4, 4)], "M0 0L1 1M3 3L4 4", id="a gap"),
        pytest.param([None, (0, 0), None, None, (2, 2), (3, 3)], "M0 0h0M2 2L3 3", id="a lone dot"),
    ],
)
def test_a_missing_value_breaks_the_line(points, path):
    assert charts.line_path(points) == path


def test_a_band_runs_along_the_top_and_back_along_the_bottom():
    band = charts.area_path([(0, 10, 5), (1, 12, 6), None, (3, 10, 4)])
    assert band == "M0 5 1 6L1 12 0 10ZM3 4L3 10Z"


# The timeline.


def test_the_timeline_draws_all_1800_days_of_five_years():
    end = START + timedelta(days=1799)
    logs = daily(START, [n % 11 for n in range(1800)])
    chart = relief_pages.timeline_chart(START, end, logs, {}, [], [])

    assert chart.dots.count("h0") == 1800
    dots = points_of(chart.dots)
    assert len({x for x, _ in dots}) == 1800  # every day its own x, none merged or dropped
    assert dots[0] == (chart.left, chart.bottom)  # day one, score 0: bottom left
    y = charts.Scale(0, 10, chart.bottom, chart.top)
    assert dots[-1] == (chart.right, pytest.approx(y(1799 % 11), abs=0.05))  # the last day
    assert len(chart.data["days"]) == 1800
    # And so does the table, a month to a row for a timeline longer than a year.
    assert not chart.weeks and sum(month.days_logged for month in chart.months) == 1800


def test_the_timeline_leaves_out_days_outside_its_range():
    logs = daily(START - timedelta(days=5), [1] * 20)
    chart = relief_pages.timeline_chart(START, START + timedelta(days=9), logs, {}, [], [])
    assert chart.dots.count("h0") == 10
    assert chart.logged_days == 10


def test_the_smoothed_line_breaks_where_there_is_no_value_and_at_each_injection():
    end = START + timedelta(days=20)
    smoothed = {START + timedelta(days=n): 5.0 for n in range(21) if n not in (6, 7)}
    injection = charts.Event(START + timedelta(days=14), "Botox 200 U")
    chart = relief_pages.timeline_chart(START, end, [], smoothed, [injection], [])

    pieces = pieces_of(chart.line)
    assert [len(points_of(piece)) for piece in pieces] == [6, 6, 7]  # days 0-5, 8-13, 14-20
    x = charts.Scale(START.toordinal(), end.toordinal(), chart.left, chart.right)
    assert points_of(pieces[2])[0][0] == pytest.approx(x(injection.date.toordinal()), abs=0.05)


def test_injection_markers_stand_on_their_day_with_product_and_units():
    end = START + timedelta(days=89)
    injection = charts.Event(START + timedelta(days=30), "Botox 200 U")
    chart = relief_pages.timeline_chart(START, end, daily(START, [5] * 90), {}, [injection], [])

    [mark] = chart.injections
    x = charts.Scale(START.toordinal(), end.toordinal(), chart.left, chart.right)
    assert mark.x == pytest.approx(x(injection.date.toordinal()), abs=0.05)
    assert mark.lines == ("Botox 200 U",)
    assert not mark.rotated
    line_top = charts.num(chart.top - 4)  # the label sits just above the line
    assert chart.injection_lines == f"M{charts.num(mark.x)} {line_top}V{charts.num(chart.bottom)}"
    assert charts.EventRow("Fri 16 Jul 2021", "Injection: Botox 200 U") in chart.events


def test_crowded_injection_labels_fold_onto_two_lines_then_turn_upwards():
    def marks(every: int, days: int) -> tuple[charts.InjectionMark, ...]:
        shots = [
            charts.Event(START + timedelta(days=n), "Botox 200 U") for n in range(0, days, every)
        ]
        return relief_pages.timeline_chart(
            START, START + timedelta(days=days), [], {}, shots, []
        ).injections

    assert marks(100, 364)[0].lines == ("Botox", "200 U")
    rotated = marks(90, 1825)
    assert len(rotated) == 21
    assert all(mark.rotated and mark.lines == ("Botox 200 U",) for mark in rotated)


def test_injection_labels_side_by_side_never_overlap():
    shots = [charts.Event(START + timedelta(days=n), "Dysport 500 U") for n in (0, 40, 80)]
    chart = relief_pages.timeline_chart(START, START + timedelta(days=120), [], {}, shots, [])
    boxes = sorted(
        (m.label_x, m.label_x + max(charts.text_width(line) for line in m.lines))
        for m in chart.injections
    )
    assert all(left_end < right_start for (_, left_end), (right_start, _) in pairwise(boxes))


def test_red_flag_reactions_are_drawn_unlike_the_others():
    reactions = [
        charts.Event(START + timedelta(days=2), "Headache (mild)"),
        charts.Event(START + timedelta(days=3), "Difficulty breathing (severe)", urgent=True),
    ]
    chart = relief_pages.timeline_chart(START, START + timedelta(days=29), [], {}, [], reactions)
    assert chart.reactions.count("M") == 1
    assert chart.red_flags.count("M") == 1
    assert (chart.reaction_count, chart.red_flag_count) == (2, 1)
    assert [event.text for event in chart.events] == [
        "Difficulty breathing (severe)",  # reaction_events names the tier: see test_relief_page
        "Headache (mild)",
    ]


def test_the_table_lays_the_scores_out_a_week_to_a_row_newest_first():
    # START is a Wednesday: the first week starts two days before the range.
    chart = relief_pages.timeline_chart(
        START, START + timedelta(days=11), daily(START, [1, 2, None, 4]), {}, [], []
    )
    assert [(week.monday, week.scores) for week in chart.weeks] == [
        ("21 Jun 2021", ("", "", "", "", "", "", "")),
        ("14 Jun 2021", ("", "", "1", "2", "", "4", "")),
    ]


def test_the_data_for_the_script_has_each_day_with_its_score_and_note():
    logs = daily(START, [4, None, 6], note="Stiff")
    injection = charts.Event(START + timedelta(days=1), "Xeomin 100 U")
    chart = relief_pages.timeline_chart(
        START, START + timedelta(days=29), logs, {}, [injection], []
    )
    assert chart.data["days"] == [
        [0, 4, "Stiff", ""],
        [1, None, "", "Injection: Xeomin 100 U"],
        [2, 6, "Stiff", ""],
    ]
    assert chart.data["x0"] == chart.left


@pytest.mark.parametrize("days", [30, 90, 365, 548, 1826])
def test_date_labels_never_overlap(days):
    end = START + timedelta(days=days - 1)
    ticks = relief_pages.timeline_chart(START, end, [], {}, [], []).x_ticks
    assert len(ticks) >= 2
    spans = [
        (
            t.label_position - charts.text_width(t.label) / 2,
            t.label_position + charts.text_width(t.label) / 2,
        )
        for t in ticks
    ]
    assert all(a_end < b_start for (_, a_end), (b_start, _) in pairwise(spans))
    assert spans[0][0] >= 0 and spans[-1][1] <= charts.WIDTH


@pytest.mark.parametrize(
    ("start", "end", "firsts"),
    [
        (
            date(2021, 6, 16),
            date(2021, 9, 1),
            [date(2021, 7, 1), date(2021, 8, 1), date(2021, 9, 1)],
        ),
        (date(2021, 12, 1), date(2022, 1, 31), [date(2021, 12, 1), date(2022, 1, 1)]),
        (date(2021, 6, 2), date(2021, 6, 30), []),
    ],
)
def test_month_ticks_can_fall_on_the_first_of_each_month_in_the_range(start, end, firsts):
    assert charts._first_days_of_months(start, end) == firsts


def test_the_timeline_makes_no_words_of_its_own():
    injection = charts.Event(START + timedelta(days=3), "Botox 200 U")
    weeks = (charts.WeekRow("14 Jun 2021", ("",) * 7),)
    events = (charts.EventRow("Sat 19 Jun 2021", "As the page words it"),)
    readout = [[3, None, "", "As the page words it"]]
    chart = charts.timeline(
        START, START + timedelta(days=29), [], {}, [injection], [], weeks, events, readout
    )
    assert (chart.weeks, chart.events, chart.data["days"]) == (weeks, events, readout)
    assert chart.injections[0].lines == ("Botox 200 U",)


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("30", date(2026, 5, 17)),
        ("90", date(2026, 3, 18)),
        ("365", date(2025, 6, 16)),
        ("all", date(2024, 2, 29)),
    ],
)
def test_a_range_ends_today(choice, expected):
    today = date(2026, 6, 15)
    assert relief_pages.timeline_start(choice, today, [None, date(2024, 2, 29)]) == expected


def test_all_shows_at_least_30_days():
    today = date(2026, 6, 15)
    assert relief_pages.timeline_start("all", today, [today - timedelta(days=3)]) == date(
        2026, 5, 17
    )
    assert relief_pages.timeline_start("all", today, []) == date(2026, 5, 17)


# The cycle overlay.

INJECTED = date(2025, 3, 3)


def on(day: int) -> date:
    return INJECTED + timedelta(days=day)


def three_cycles() -> list[Cycle]:
    """Two finished cycles that wear off and an ongoing one at day 20; baselines of 8."""
    logs = []
    for start in (0, 90, 180):
        logs += [(on(start + d), 8) for d in range(-14, 0)]
        logs += [(on(start + d), 8 if d < 10 or d >= 60 else 2) for d in range(0, 90)]
    shots = [InjectionPoint(f"shot-{d}", on(d)) for d in (0, 90, 180)]
    return compute_cycles(shots, logs, today=on(200))


def test_the_overlay_puts_100_percent_at_the_top_and_minus_50_at_the_bottom():
    cycles = three_cycles()
    chart = relief_pages.overlay_chart(cycles, 61, 25)
    labels = {tick.label: tick.position for tick in chart.y_ticks}
    assert labels["100 %"] == chart.top
    assert labels["−50 %"] == chart.bottom
    height = chart.bottom - chart.top
    assert chart.zero_y == pytest.approx(chart.bottom - 50 / 150 * height, abs=0.05)
    assert chart.threshold_y == pytest.approx(chart.bottom - 75 / 150 * height, abs=0.05)


def test_the_overlay_has_a_faint_line_per_earlier_cycle_and_highlights_the_current_one():
    cycles = three_cycles()
    chart = relief_pages.overlay_chart(cycles, 61, 25)
    assert [line.label for line in chart.earlier] == [
        "Cycle 1, from 3 Mar 2025",
        "Cycle 2, from 1 Jun 2025",
    ]
    assert chart.last_day == 89  # the longest cycle
    assert len(points_of(chart.current)) == 21  # days 0-20 of the ongoing cycle
    assert chart.current_day == 20
    assert chart.current_end == points_of(chart.current)[-1]
    assert chart.band.count("Z") == 1
    assert len(points_of(chart.median)) == 90


def test_the_forecast_is_a_vertical_line_on_its_day():
    cycles = three_cycles()
    chart = relief_pages.overlay_chart(cycles, 61.5, 25)
    x = charts.Scale(0, 89, chart.left, chart.right)
    assert chart.forecast.x == pytest.approx(x(61.5), abs=0.05)
    assert chart.forecast.label == "Usually wears off: day 62"
    assert relief_pages.overlay_chart(cycles, None, 25).forecast is None


def test_relief_below_the_drawing_is_drawn_on_its_edge_and_said_so():
    cycle = three_cycles()[0]
    worse = Cycle(**{**cycle.__dict__, "smoothed": {1: -80.0, 2: 40.0}, "ongoing": False})
    chart = relief_pages.overlay_chart([worse], None, 25)
    assert chart.clipped
    assert points_of(chart.earlier[0].path)[0][1] == chart.bottom


def test_the_overlay_table_has_a_row_a_week():
    cycles = three_cycles()
    rows = relief_pages.overlay_chart(cycles, None, 25).rows
    assert [row.day for row in rows] == list(range(0, 90, 7))
    assert (rows[2].day, rows[2].median, rows[2].cycle_count, rows[2].current) == (
        14,
        "75",
        3,
        "75",
    )
    assert (rows[4].day, rows[4].middle_half, rows[4].cycle_count, rows[4].current) == (
        28,
        "75 to 75",
        2,
        "",
    )


def test_the_overlay_makes_no_words_of_its_own():
    cycles = three_cycles()
    rows = (chart_overlay.OverlayRow(0, "0", "0 to 0", 3, "0"),)
    labels = {1: "The first", 2: "The second", 3: "The third"}
    chart = chart_overlay.overlay(cycles, overlay(cycles), 61, 25, labels, "Soon", rows)
    assert [line.label for line in chart.earlier] == ["The first", "The second"]
    assert (chart.forecast.label, chart.rows) == ("Soon", rows)


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [(72.5, 0, "73"), (-12.5, 0, "-13"), (8.05, 1, "8.1"), (7.25, 1, "7.3"), (7.0, 1, "7.0")],
)
def test_figures_are_rounded_half_away_from_zero_like_floatformat(value, places, text):
    assert relief_pages.fixed(value, places) == text


# The per-cycle table.


@pytest.mark.parametrize(
    ("doses", "label"),
    [
        ([("Botox", "200")], "Botox 200 U"),
        ([("Botox", "100"), ("Botox", "50.5")], "Botox 150.5 U"),
        ([("Botox", "100"), ("Dysport", "250")], "Botox 100 U + Dysport 250 U"),
        ([("Myobloc / NeuroBloc", "10000")], "Myobloc / NeuroBloc 10,000 U"),
    ],
)
def test_units_are_added_up_per_product_never_across_products(doses, label):
    assert relief_pages.dose_label(relief_pages.Dose("i", p, Decimal(u)) for p, u in doses) == label


def test_cycle_rows_are_newest_first_with_their_reactions_and_impressions():
    cycles = three_cycles()
    impressions = [
        relief_pages.Impression("shot-0", "Weeks 4 to 6", "Much improved"),
        relief_pages.Impression("shot-90", "Before the next injection", "No change"),
    ]
    rows = relief_pages.cycle_rows(cycles, {1: "Botox 200 U"}, {1: 2, 3: 1}, impressions)
    assert [row.cycle.index for row in rows] == [3, 2, 1]
    assert [row.reaction_count for row in rows] == [1, 0, 2]
    assert [row.doses for row in rows] == ["", "", "Botox 200 U"]
    assert rows[2].impressions == (impressions[0],)
    assert rows[1].impressions == (impressions[1],)


def empty_diary(today: date) -> Diary:
    return Diary(today=today, scores=(), injections=(), reactions=(), answers=())


def test_the_page_without_data_has_no_cycles_and_no_overlay():
    page = relief_pages.relief_page(empty_diary(date(2026, 6, 15)), "90")
    assert (page.cycle_count, page.has_logs, page.overlay, page.rows) == (0, False, None, [])
    assert page.timeline.dots == ""


def test_an_unknown_range_falls_back_to_90_days():
    page = relief_pages.relief_page(empty_diary(date(2026, 6, 15)), "forever")
    assert page.range == "90"
    assert page.timeline.start == date(2026, 3, 18)


def test_a_tables_rows_are_written_with_their_text_escaped_and_shown_as_they_are():
    from django.template import Context, Template

    from tracker.chart_tables import table_rows

    rows = table_rows([("3 Mar", 4, "<b>&"), ("4 Mar", "", "")], ("", "num", "events"))

    assert rows == (
        '<tr><th scope="row">3 Mar</th><td class="num">4</td>'
        '<td class="events">&lt;b&gt;&amp;</td></tr>\n'
        '<tr><th scope="row">4 Mar</th><td class="num"></td><td class="events"></td></tr>'
    )
    # Django's templates show it once escaped, not escaped again.
    assert Template("{{ rows }}").render(Context({"rows": rows})) == rows
    with pytest.raises(ValueError):
        table_rows([("3 Mar", 4)], ("", "num", "events"))  # a cell missing


def test_the_overlay_table_has_the_current_cycles_column_only_with_its_line():
    row = chart_overlay.OverlayRow(7, "40", "20 to 55", 5, "35")
    chart = chart_overlay.overlay([], [], None, 30, {}, "", (row,))
    assert chart.current_end is None
    assert chart.rows_body == (
        '<tr><th scope="row" class="num">7</th><td>40 (20 to 55)</td><td class="num">5</td></tr>'
    )


@given(st.lists(st.floats(-1000, 1000, allow_nan=False), max_size=50))
def test_the_overlays_points_are_written_to_the_nearest_tenth_within_the_drawing(values):
    y = charts.Scale(chart_overlay.OVERLAY_LOW, chart_overlay.OVERLAY_HIGH, 220.0, 30.0)
    written = chart_overlay._relief_ys(y, values)
    for value, text in zip(values, written, strict=True):
        at = y(min(max(value, chart_overlay.OVERLAY_LOW), chart_overlay.OVERLAY_HIGH))
        assert text == charts.num(float(text))  # as num() writes it: "143.7", "143", "30"
        assert abs(float(text) - at) <= 0.05 + 1e-9
        assert y.end <= float(text) <= y.start


def test_an_overlay_line_breaks_at_days_without_a_value_and_keeps_a_lone_day_as_a_dot():
    x = charts.Scale(0, 10, 0.0, 100.0)
    y = charts.Scale(chart_overlay.OVERLAY_LOW, chart_overlay.OVERLAY_HIGH, 150.0, 0.0)
    points = [(0, 100.0), (1, 50.0), (2, 0.0), (5, -50.0), (7, -80.0), (8, 25.0)]

    line = chart_overlay._relief_line(x, y, points)

    assert line == "M0 0L10 50 20 100M50 150h0M70 150L80 75"
    assert chart_overlay._relief_line(x, y, []) == ""
