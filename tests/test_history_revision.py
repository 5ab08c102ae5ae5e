"""The history revision (tracker/revisions.py) keys the diary's older part, which the Relief page
keeps (tracker/diary.py, read_diary_kept): every write raises it but that of a check-in of the
last few weeks, old date and new. A rise missed would show an old score; so, beside each write
path, a random run of writes through the API and the models checks that the kept diary is,
after every write, the diary read afresh."""

import datetime as dt
import random
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import factories
from tests.conftest import TODAY, client_for, forget_diary_rises
from tracker.diary import read_diary, read_diary_kept
from tracker.models import DailyLog, Patient
from tracker.revisions import RECENT_CHECK_IN_DAYS

pytestmark = pytest.mark.usefixtures("frozen_now")

RECENT = RECENT_CHECK_IN_DAYS - 2  # the last day a writer calls recent, counted back
OLD = RECENT_CHECK_IN_DAYS + 10


def revisions(patient: Patient) -> tuple[int, int]:
    return Patient.objects.values_list("diary_revision", "history_revision").get(pk=patient.pk)


def rises(patient: Patient, write) -> tuple[bool, bool]:
    """Whether `write()` raised (the diary revision, the history revision), as a request of its
    own would."""
    forget_diary_rises()
    diary, history = revisions(patient)
    write()
    after = revisions(patient)
    return after[0] > diary, after[1] > history


def day(n: int) -> str:
    return (TODAY - dt.timedelta(days=n)).isoformat()


@pytest.fixture
def api(patient):
    return client_for(patient.user)


def put(api, n: int, severity: int = 4):
    response = api.put(f"/api/v1/logs/{day(n)}/", {"severity": severity}, format="json")
    assert response.status_code in (200, 201), response.content
    return response


def test_a_recent_check_in_leaves_the_history_as_it_is(api, patient, web):
    assert rises(patient, lambda: put(api, 0)) == (True, False)  # new
    assert rises(patient, lambda: put(api, 0, 7)) == (True, False)  # replaced
    assert rises(patient, lambda: put(api, RECENT)) == (True, False)
    assert rises(patient, lambda: api.delete(f"/api/v1/logs/{day(RECENT)}/")) == (True, False)
    checkin = {"_outbox_type": "log", "_outbox_key": day(1), "severity": "4"}
    assert rises(patient, lambda: web.post(reverse("today"), checkin)) == (True, False)


def test_every_other_write_raises_both(api, patient):
    injection = str(uuid.uuid4())
    new_injection = {"id": injection, "date": day(20), "product": "botox", "total_units": "100"}
    for write in [
        lambda: put(api, OLD),
        lambda: put(api, RECENT + 1),
        lambda: api.delete(f"/api/v1/logs/{day(OLD)}/"),
        lambda: api.post("/api/v1/injections/", new_injection, format="json"),
        lambda: api.patch(f"/api/v1/injections/{injection}/", {"notes": "x"}, format="json"),
        lambda: factories.ReactionFactory(patient=patient),
        # A batch of the phone's outbox: its dates are not looked at, so history too.
        lambda: api.post(
            "/api/v1/sync/",
            {"items": [{"type": "log", "key": day(1), "data": {"severity": 2}}]},
            format="json",
        ),
    ]:
        assert rises(patient, write) == (True, True)


def test_a_check_in_moved_from_an_old_day_to_a_recent_one_raises_the_history(patient):
    log = factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=OLD))
    log = DailyLog.objects.get(pk=log.pk)  # as a page reads it
    log.date = TODAY

    assert rises(patient, log.save) == (True, True)


def test_a_check_in_whose_stored_date_is_unknown_raises_the_history(patient):
    stored = factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=OLD))
    # Said to be stored (an id) but not read: its date in the database is not known.
    same_row = DailyLog(pk=stored.pk, patient=patient, date=TODAY, severity=3)

    assert rises(patient, lambda: same_row.save(update_fields=["date", "severity"])) == (True, True)


def test_a_transaction_raises_the_history_once_a_write_touches_it(patient, api):
    from django.db import transaction

    forget_diary_rises()
    before = revisions(patient)
    with transaction.atomic():
        factories.DailyLogFactory(patient=patient, date=TODAY)  # recent: the diary's only
        factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=OLD))
        factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=OLD + 1))
    assert revisions(patient) == (before[0] + 1, before[1] + 1)


def test_relief_after_a_recent_check_in_reads_only_the_recent_check_ins(api, patient, web):
    factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=100))
    for n in range(200):
        factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=n), severity=5)
    cache.clear()
    assert web.get(reverse("relief")).status_code == 200  # the older part kept

    put(api, 0, 9)
    with CaptureQueriesContext(connection) as queries:
        page = web.get(reverse("relief"))
    reads = [q["sql"] for q in queries if "tracker_dailylog" in q["sql"]]
    assert len(reads) == 1 and "BETWEEN" in reads[0]  # the recent check-ins alone
    assert not any("tracker_injection" in q["sql"] for q in queries)
    assert page.context["page"].timeline.end == TODAY
    scores = dict((d, s) for d, s, _ in read_diary_kept(Patient.objects.get(pk=patient.pk)).scores)
    assert scores[TODAY] == 9 and len(scores) == 200


@pytest.mark.parametrize("seed", range(4))
def test_the_kept_diary_is_the_diary_after_every_write(api, patient, web, seed):
    """Random writes, recent and old, through the API, the Today page and the models; after
    each, what the Relief page reads (kept or not) is the diary read afresh."""
    rng = random.Random(seed)
    factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=60))
    for n in range(0, 90, 2):
        factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=n))

    def a_day() -> int:
        return rng.choice([0, 1, 5, RECENT, RECENT + 1, RECENT_CHECK_IN_DAYS, OLD, 80])

    writes = [
        lambda: put(api, a_day(), rng.randrange(11)),
        lambda: api.delete(f"/api/v1/logs/{day(a_day())}/"),
        lambda: web.post(
            reverse("today") + f"?date={day(a_day())}",
            {"_outbox_type": "log", "_outbox_key": day(0), "severity": str(rng.randrange(11))},
        ),
        lambda: moved(patient, a_day(), a_day()),
        lambda: factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(a_day())),
        lambda: DailyLog.objects.filter(patient=patient, date=day(a_day())).delete(),
    ]
    for _ in range(40):
        forget_diary_rises()
        rng.choice(writes)()
        fresh = Patient.objects.get(pk=patient.pk)
        assert read_diary_kept(fresh) == read_diary(fresh)


def moved(patient: Patient, from_days: int, to_days: int) -> None:
    """A check-in's date changed, as the admin site can."""
    log = DailyLog.objects.filter(patient=patient, date=day(from_days)).first()
    if log is None or DailyLog.objects.filter(patient=patient, date=day(to_days)).exists():
        return
    log.date = TODAY - dt.timedelta(days=to_days)
    log.save()
