"""When to remind a patient to check in, and what to say: pure date maths, no Django."""

from dataclasses import dataclass
from datetime import date, datetime, time

REACTION_WATCH_DAYS = 21  # the first three weeks after an injection
WEARING_OFF_WINDOW_DAYS = 7  # either side of the forecast wearing-off day
# The times a patient can choose from: every half hour, picked from a list, never typed.
REMINDER_TIMES = [time(hour, minute) for hour in range(24) for minute in (0, 30)]


@dataclass(frozen=True)
class Reminder:
    title: str
    body: str


def reminder_due(
    now_local: datetime, reminder_time: time, last_sent_on: date | None, logged_today: bool
) -> bool:
    """At most one a day, once the patient's chosen time has passed, and only if today's
    check-in is still missing."""
    today = now_local.date()
    return not logged_today and last_sent_on != today and now_local.time() >= reminder_time


def compose(cycle_day: int | None, forecast_wearing_off_day: float | None) -> Reminder:
    """The daily prompt, with an extra line in the weeks that matter most to the clinic."""
    lines = ["How are your spasms today? One tap logs it."]
    if cycle_day == 0:
        lines.append(
            "Injection day: note any reactions too, such as redness, swelling or trouble "
            "swallowing."
        )
    elif cycle_day is not None and cycle_day <= REACTION_WATCH_DAYS:
        lines.append(
            f"Day {cycle_day} after your injection: note any reactions too, such as redness, "
            "swelling or trouble swallowing."
        )
    elif (
        cycle_day is not None
        and forecast_wearing_off_day is not None
        and abs(cycle_day - forecast_wearing_off_day) <= WEARING_OFF_WINDOW_DAYS
    ):
        lines.append(
            f"Your earlier cycles wore off around day {round(forecast_wearing_off_day)}: "
            "your scores this week show your clinic when this one does."
        )
    return Reminder(title="Relief Tracker: today's check-in", body="\n".join(lines))
