"""What is computed from a diary, kept in the cache (project/settings.py, CACHES) under the
diary's revision, so that a page viewed again after no change computes nothing.

A key names the patient, their diary_revision (tracker/revisions.py raises it in the same
transaction as every write to the diary), the patient's today (the figures of an ongoing cycle
change with the date), the relief threshold, what was asked (a range) and the code that
computed it. The revision comes from the patient's row that every request reads afresh, so no
server serves what was computed before a change; an entry of an older revision is simply never
read again, and ages out. tests/test_speed_relief_cache.py checks it.

A row of the clinic's list is kept by content instead (`drawn`), under a digest of all it
shows, so that a change to one patient's diary draws only that row again. A changed input gives
another key, so such an entry is never out of date either.

A cycle's figures and a Relief page's cycle cards were once kept by content too; computed and
drawn they now cost less than the cache's round trip and unpickling (bench/README.md).
"""

import hashlib
from collections.abc import Callable
from contextvars import ContextVar
from datetime import date
from pathlib import Path
from typing import TypeVar

from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from tracker.models import Patient, relief_settings

T = TypeVar("T")

TIMEOUT = 7 * 24 * 3600  # seconds

# The modules whose classes and results are kept, and the templates that draw what is kept:
# a new release with other code computes and draws afresh rather than unpickle or send what
# an older one kept (in Redis, which outlives a release). revisions.py too: what it calls a
# recent check-in bounds what read_diary_kept may keep.
_SOURCES = (
    *("relief.py", "charts.py", "chart_overlay.py", "chart_tables.py", "triage.py", "diary.py"),
    *("diary_kept.py", "diary_clinic.py", "revisions.py", "pages/relief.py", "catalog.py"),
    "dates.py",
)
_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "tracker" / "partials"


def code_of(*paths: Path) -> str:
    """A digest of the files that compute or draw something kept: another release computes
    and draws it afresh."""
    return hashlib.sha256(b"".join(path.read_bytes() for path in paths)).hexdigest()[:12]


CODE = code_of(
    *(Path(__file__).parent / name for name in _SOURCES), *sorted(_TEMPLATES.glob("*.html"))
)


def key(
    kind: str,
    patient: Patient,
    *parts: object,
    revision: int | None = None,
    today: date | None = None,
    daily: bool = True,
) -> str:
    """Only known values go in `parts` (a range's key, not whatever the address said). The
    diary's revision unless another is given (the history revision, for the older part), and
    the patient's today unless the caller has read it already (to use the same day in all),
    or `daily` is False: what is kept does not change with the day."""
    return ":".join(
        [
            "diary",
            CODE,
            kind,
            str(patient.pk),
            # A database made afresh (a test's, a benchmark's) numbers its patients from 1
            # again: their creation time tells them apart in a cache that outlives it.
            str(patient.created_at.timestamp()),
            str(patient.diary_revision if revision is None else revision),
            (today or patient.today()).isoformat() if daily else "any-day",
            str(relief_settings().threshold),
            *map(str, parts),
        ]
    )


def remembered(
    kind: str, patient: Patient, parts: tuple, compute: Callable[[], T], today: date | None = None
) -> T:
    """compute(), or what it gave before for the same diary revision, day and parts. `today`:
    the patient's, when the caller has read it already, so that compute() uses the same day."""
    name = key(kind, patient, *parts, today=today)
    value = cache.get(name)
    if value is None:
        value = compute()
        keep({name: value})
    return value


# What a request keeps (`keep`), written once its answer is sent. Per request and thread.
_kept_after_answer: ContextVar[dict | None] = ContextVar("kept_after_answer", default=None)


def keep(values: dict[str, object]) -> None:
    """cache.set_many(values, TIMEOUT), for all that is computed from diaries: in a request,
    once its answer is sent, in one round trip for all it keeps, so that the answer waits for
    none (the app server sends the answer's last byte, then closes it, which sends
    request_finished). Safe as every entry is named by what it was computed from (a revision,
    a digest): written a moment later it is no less right, and should the request fail first,
    it is only computed again. Outside a request (a job, a shell, a test calling directly): at
    once. tests/test_speed_relief_cache.py checks it."""
    waiting = _kept_after_answer.get()
    if waiting is None:
        cache.set_many(values, TIMEOUT)
    else:
        waiting |= values


@receiver(request_started)
def _collect(**kwargs) -> None:
    _kept_after_answer.set({})


@receiver(request_finished)
def _write(**kwargs) -> None:
    waiting = _kept_after_answer.get()
    _kept_after_answer.set(None)
    if waiting:
        cache.set_many(waiting, TIMEOUT)


def drawn(template: str, code: str, items: list[tuple[bytes, dict]]) -> list[SafeString]:
    """Each item drawn by `template` from its context, once, then read from the cache. An
    item's key is a digest of `code` (code_of the template and what it includes) and of its
    bytes: everything the drawing shows, so that any change to it draws it again."""
    keys = [f"drawn:{code}:{hashlib.sha256(shown).hexdigest()}" for shown, _ in items]
    makers = [lambda context=context: render_to_string(template, context) for _, context in items]
    # Safe: each was drawn by the template, which escapes what it shows.
    return [mark_safe(html) for html in kept_or_made(keys, makers)]


def kept_or_made(keys: list[str], makers: list[Callable[[], T]]) -> list[T]:
    """The value kept under each key, or what its maker makes, then kept: one read of the
    cache for all the keys, and one write for all that were made."""
    kept = cache.get_many(keys)
    made = {key: make() for key, make in zip(keys, makers, strict=True) if key not in kept}
    if made:
        keep(made)
    return [kept[key] if key in kept else made[key] for key in keys]
