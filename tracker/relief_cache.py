"""What is computed from a diary, kept in the cache (project/settings.py, CACHES) under the
diary's revision, so that a page viewed again after no change computes nothing.

A key names the patient, their diary_revision (tracker/revisions.py raises it in the same
transaction as every write to the diary), the patient's today (the figures of an ongoing cycle
change with the date), the relief threshold, what was asked (a range) and the code that
computed it. The revision comes from the patient's row that every request reads afresh, so no
server serves what was computed before a change; an entry of an older revision is simply never
read again, and ages out. tests/test_speed_relief_cache.py checks it.
"""

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from django.core.cache import cache

from tracker.models import Patient, relief_settings

T = TypeVar("T")

TIMEOUT = 7 * 24 * 3600  # seconds

# The modules whose classes and results are kept: a new release with other code computes
# afresh rather than unpickle what an older one kept (in Redis, which outlives a release).
_SOURCES = ("relief.py", "charts.py", "triage.py", "diary.py", "pages/relief.py")
CODE = hashlib.sha256(
    b"".join((Path(__file__).parent / name).read_bytes() for name in _SOURCES)
).hexdigest()[:12]


def key(kind: str, patient: Patient, *parts: object) -> str:
    """Only known values go in `parts` (a range's key, not whatever the address said)."""
    return ":".join(
        [
            "diary",
            CODE,
            kind,
            str(patient.pk),
            # A database made afresh (a test's, a benchmark's) numbers its patients from 1
            # again: their creation time tells them apart in a cache that outlives it.
            str(patient.created_at.timestamp()),
            str(patient.diary_revision),
            patient.today().isoformat(),
            str(relief_settings().threshold),
            *map(str, parts),
        ]
    )


def remembered(kind: str, patient: Patient, parts: tuple, compute: Callable[[], T]) -> T:
    """compute(), or what it gave before for the same diary revision, day and parts."""
    name = key(kind, patient, *parts)
    value = cache.get(name)
    if value is None:
        value = compute()
        cache.set(name, value, TIMEOUT)
    return value
