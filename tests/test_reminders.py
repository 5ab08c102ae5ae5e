from datetime import date, datetime, time

import pytest

from tracker.reminders import REMINDER_TIMES, compose, reminder_due

EVENING = time(19, 0)
DAY = date(2026, 6, 15)


@pytest.mark.parametrize(
    ("now", "last_sent_on", "logged_today", "due"),
    [
        (datetime(2026, 6, 15, 18, 59), None, False, False),
        (datetime(2026, 6, 15, 19, 0), None, False, True),
        (datetime(2026, 6, 15, 23, 30), date(2026, 6, 14), False, True),
        (datetime(2026, 6, 15, 20, 0), DAY, False, False),
        (datetime(2026, 6, 15, 20, 0), None, True, False),
    ],
)
def test_a_reminder_is_due_once_a_day_after_the_chosen_time_until_logged(
    now, last_sent_on, logged_today, due
):
    assert reminder_due(now, EVENING, last_sent_on, logged_today) is due


@pytest.mark.parametrize(
    ("cycle_day", "forecast", "extra"),
    [
        (None, None, None),
        (0, None, "Injection day: note any reactions"),
        (3, None, "Day 3 after your injection: note any reactions"),
        (21, 70, "Day 21 after your injection"),
        (28, 30, "Day 28 after your injection"),  # the first four weeks come first
        (29, None, None),
        (40, 70, None),
        (63, 70, "Your relief usually wears off around day 70"),
        (77, 70, "Your relief usually wears off around day 70"),
        (78, 70, None),
    ],
)
def test_extra_prompts_come_in_the_first_four_weeks_and_around_wearing_off(
    cycle_day, forecast, extra
):
    reminder = compose(cycle_day, forecast)
    assert reminder.body.startswith("How are your spasms today?")
    if extra is None:
        assert "\n" not in reminder.body
    else:
        assert extra in reminder.body


@pytest.mark.parametrize(("cycle_day", "named"), [(-1, False), (0, True), (28, True), (29, False)])
def test_for_four_weeks_after_an_injection_the_reminder_names_the_get_help_now_signs(
    cycle_day, named
):
    body = compose(cycle_day, None, "999").body
    signs = (
        "Get help now (call 999) if you have difficulty breathing, cannot swallow or are "
        "choking, or signs of a severe allergic reaction."
    )
    assert (signs in body) is named
    assert ("Get help now" in body) is named


def test_without_a_number_the_get_help_now_signs_say_to_call_the_emergency_number():
    assert "Get help now (call your emergency number) if" in compose(3, None).body


def test_the_reminder_times_are_every_half_hour_of_the_day():
    assert len(REMINDER_TIMES) == 48
    assert REMINDER_TIMES[0] == time(0, 0)
    assert REMINDER_TIMES[39] == time(19, 30)
