"""The Relief page's diary, its older part kept (`read_diary_kept`): read_diary's diary of what
the page shows, of which only the recent check-ins are read again after a check-in, from one
day to the next. tests/test_history_revision.py checks that it is always the diary read afresh.
"""

from array import array
from bisect import bisect_left
from dataclasses import replace
from datetime import date, timedelta
from operator import itemgetter
from typing import NamedTuple

from django.core.cache import cache

from tracker.diary import Diary, read_diary, read_scores
from tracker.models import Patient
from tracker.relief_cache import keep, key
from tracker.revisions import RECENT_CHECK_IN_DAYS


def read_diary_kept(patient: Patient, today: date | None = None) -> Diary:
    """read_diary(patient, shown_only=True) for the Relief page, its older part kept under the
    patient's history revision, which every write raises but that of a recent check-in
    (tracker/revisions.py): every record but the check-ins from the first recent day on,
    RECENT_CHECK_IN_DAYS before the day they were read. Those are read afresh: one query.

    What is kept serves the days after it too, until the cache lets it go: a write to a
    check-in of that first recent day or before raises the revision whatever day it is
    written, and so does a write to any other record. But a record dated after today (a
    direct write; the forms refuse one) is left out until its day: what is kept is read
    again on that day (Diary.first_after). So the page made again after the day's check-in,
    the first view of a day included, does not read the years of check-ins before it.
    `today`: the patient's, when the caller has read it already."""
    today = today or patient.today()  # once: a midnight between two reads would split them
    name = key("history", patient, revision=patient.history_revision, daily=False)
    kept: Kept | None = cache.get(name)
    if kept is not None and kept.serves(today):
        recent = read_scores(patient, kept.first_recent, today)
        return replace(kept.rest, today=today, scores=kept.older + recent)
    diary = read_diary(patient, today=today, shown_only=True)
    first_recent = today - timedelta(days=RECENT_CHECK_IN_DAYS)
    older = diary.scores[: bisect_left(diary.scores, first_recent, key=itemgetter(0))]
    rest = replace(diary, scores=())
    keep({name: Kept(first_recent, older, rest, today)})
    return diary


class Kept(NamedTuple):
    """What read_diary_kept keeps of a diary."""

    first_recent: date  # the check-ins from this day on are read afresh
    older: tuple[tuple[date, int, str], ...]  # the check-ins before it
    rest: Diary  # the diary but its check-ins; rest.first_after: a record's day after kept_on
    kept_on: date  # the patient's today when it was kept

    def __reduce__(self) -> tuple:
        """Pickled with its check-ins packed, when the cache writes it: once the page that
        read them is sent (relief_cache.keep), not while it is made."""
        return (_unpacked_kept, (self.first_recent, packed(self.older), self.rest, self.kept_on))

    def serves(self, today: date) -> bool:
        """From the day it was kept (not before it: a patient's new time zone can turn today
        back, and the records of that day would be ahead) to the day before a record ahead."""
        ahead = self.rest.first_after
        return self.kept_on <= today and (ahead is None or today < ahead)


def packed(scores: tuple[tuple[date, int, str], ...]) -> tuple[bytes, bytes, dict[int, str]]:
    """Scores as the cache keeps them: the days' numbers (date.toordinal) as 4-byte integers,
    the severities (0 to 10: the database's check) as bytes, and the notes that are not
    empty by position. Pickled a tenth of the time of the tuples of dates, and a third of
    the size (bench/README.md)."""
    return (
        array("i", [day.toordinal() for day, _, _ in scores]).tobytes(),
        bytes(severity for _, severity, _ in scores),
        {position: note for position, (_, _, note) in enumerate(scores) if note},
    )


def _unpacked_kept(
    first_recent: date, older: tuple[bytes, bytes, dict[int, str]], rest: Diary, kept_on: date
) -> Kept:
    return Kept(first_recent, unpacked(older), rest, kept_on)


def unpacked(kept: tuple[bytes, bytes, dict[int, str]]) -> tuple[tuple[date, int, str], ...]:
    days, severities, notes = array("i"), *kept[1:]
    days.frombytes(kept[0])
    day = date.fromordinal
    return tuple(
        (day(number), severity, notes.get(position, ""))
        for position, (number, severity) in enumerate(zip(days, severities, strict=True))
    )
