"""When to remind a patient to check in, and what to say: pure date maths, no Django."""

from dataclasses import dataclass
from datetime import date, datetime, time

from tracker.catalog import GET_HELP_NOW, RED_FLAG_TIER_LABELS

# Days counted from an injection (docs/clinical-rules.md, "Aftercare" and "Reminders").
AFTERCARE_DAYS = 1  # the aftercare shows on the injection day and the next day
WARNING_SIGNS_DAYS = 28  # the "watch for" list, and the reminders name the Get help now signs
WEARING_OFF_WINDOW_DAYS = 7  # either side of the forecast wearing-off day
BOOKING_NOTICE_DAYS = 21  # Today suggests booking once the forecast date is this near
# The times a patient can choose from: every half hour, picked from a list, never typed.
REMINDER_TIMES = [time(hour, minute) for hour in range(24) for minute in (0, 30)]


def get_help_now_signs(emergency_number: str = "") -> str:
    """The "Get help now" red flags (catalog.GET_HELP_NOW_REACTIONS) in the tier's own words,
    short enough for a notification."""
    call = f"call {emergency_number}" if emergency_number else "call your emergency number"
    return (
        f"{RED_FLAG_TIER_LABELS[GET_HELP_NOW]} ({call}) if you have difficulty breathing, "
        "cannot swallow or are choking, or signs of a severe allergic reaction."
    )


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


def compose(
    cycle_day: int | None,
    forecast_wearing_off_day: int | None,
    emergency_number: str = "",
    product: str = "Relief Tracker",
) -> Reminder:
    """The daily prompt, with extra lines in the weeks that matter most to the clinic.
    `forecast_wearing_off_day` is relief.Forecast.day, already rounded; `product` is the
    app's name as the settings give it (SITE_NAME)."""
    lines = ["How are your spasms today? One tap logs it."]
    if cycle_day is not None and 0 <= cycle_day <= WARNING_SIGNS_DAYS:
        when = "Injection day" if cycle_day == 0 else f"Day {cycle_day} after your injection"
        lines.append(f"{when}: note any reactions too, such as redness or swelling.")
        lines.append(get_help_now_signs(emergency_number))
    elif (
        cycle_day is not None
        and forecast_wearing_off_day is not None
        and abs(cycle_day - forecast_wearing_off_day) <= WEARING_OFF_WINDOW_DAYS
    ):
        lines.append(
            f"Your relief usually wears off around day {forecast_wearing_off_day}: "
            "your scores this week show your clinic when this one does."
        )
    return Reminder(title=f"{product}: today's check-in", body="\n".join(lines))
