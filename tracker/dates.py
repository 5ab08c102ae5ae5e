"""Days as the diary writes them, read from YYYY-MM-DD by one rule everywhere: the pages,
the API and the sync engine all parse through `parse_day`."""

import re
from datetime import date, timedelta

from django.http import Http404
from rest_framework.exceptions import ValidationError

# Botulinum toxin was first approved at the end of 1989: no diary date lies before this one.
EARLIEST_DIARY_DATE = date(1990, 1, 1)
DIARY_DATE_ERROR = "Enter a date from 1 January 1990 to today."

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
NOT_A_DAY = "Enter a real date as YYYY-MM-DD."


class NotADay(ValueError):
    pass


def parse_day(value: str) -> date:
    """The day written as YYYY-MM-DD (exactly: no other ISO forms), else NotADay."""
    try:
        if ISO_DATE.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise NotADay(NOT_A_DAY)


def api_day(value: str) -> date:
    """parse_day for the API: a bad day is a 400 with the field's error."""
    try:
        return parse_day(value)
    except NotADay:
        raise ValidationError({"date": [NOT_A_DAY]}) from None


def page_day(value: str) -> date:
    """parse_day for a page's address: a bad day is a page that does not exist."""
    try:
        return parse_day(value)
    except NotADay:
        raise Http404(NOT_A_DAY) from None


def days_between(start: date, end: date) -> list[date]:
    """Every day from start to end, inclusive."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def long_date(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def short_date(day: date) -> str:
    return f"{day.day} {day:%b %Y}"
