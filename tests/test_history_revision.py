"""The history revision (tracker/revisions.py) keys the diary's older part, which the Relief page
keeps (tracker/diary_kept.py, read_diary_kept): every write raises it but that of a check-in of the
last few weeks, old date and new. A rise missed would show an old score; so, beside each write
path, a random run of writes through the API and the models checks that the kept diary is,
after every write, the diary read afresh."""

import contextlib
import datetime as dt
import random
import uuid

import pytest
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import factories
from tests.conftest import NOW, TODAY, client_for, forget_diary_rises
from tracker.diary import read_diary
from tracker.diary_kept import read_diary_kept
from tracker.models import DailyLog, InjectionSite, Patient
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


@pytest.mark.parametrize("days_later", [0, 1], ids=["the same day", "the next day"])
def test_relief_after_a_recent_check_in_reads_only_the_recent_check_ins(
    api, patient, web, frozen_now, days_later
):
    """What is kept serves the next day too: the day's check-in read, nothing else."""
    factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=100))
    for n in range(200):
        factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=n), severity=5)
    cache.clear()
    assert web.get(reverse("relief")).status_code == 200  # the older part kept

    frozen_now.shift(dt.timedelta(days=days_later))
    today = TODAY + dt.timedelta(days=days_later)
    assert api.put(f"/api/v1/logs/{today}/", {"severity": 9}, format="json").status_code < 300
    with CaptureQueriesContext(connection) as queries:
        page = web.get(reverse("relief"))

    reads = [q["sql"] for q in queries if "tracker_dailylog" in q["sql"]]
    assert len(reads) == 1 and "BETWEEN" in reads[0]  # the recent check-ins alone
    assert not any("tracker_injection" in q["sql"] for q in queries)
    assert page.context["page"].timeline.end == today
    kept = read_diary_kept(Patient.objects.get(pk=patient.pk))
    assert dict((d, s) for d, s, _ in kept.scores)[today] == 9
    assert len(kept.scores) == 200 + days_later
    assert kept == read_diary(Patient.objects.get(pk=patient.pk), shown_only=True)


@pytest.mark.parametrize("ahead", ["injection", "reaction", "answer"])
def test_a_record_dated_ahead_shows_on_its_day(patient, frozen_now, ahead):
    """A direct write can date a record after today (the forms refuse one): the pages leave it
    out until its day, and what is kept is read again on that day."""
    from tracker.models import GlobalImpression

    injection = factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=40))
    factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=50), severity=5)
    in_two_days = TODAY + dt.timedelta(days=2)
    if ahead == "injection":
        factories.InjectionFactory(patient=patient, date=in_two_days)
    elif ahead == "reaction":
        factories.ReactionFactory(patient=patient, onset_date=in_two_days)
    else:
        GlobalImpression.objects.create(
            patient=patient, injection=injection, date=in_two_days, timepoint="peak", score=2
        )
    cache.clear()
    for days in (0, 1, 2):
        frozen_now.move_to(NOW + dt.timedelta(days=days))
        fresh = Patient.objects.get(pk=patient.pk)
        kept = read_diary_kept(fresh)
        assert kept == read_diary(fresh, shown_only=True)
        shown = len(kept.injections) + len(kept.reactions) + len(kept.answers)
        assert shown == (1 if days < 2 else 2)


@pytest.mark.parametrize("seed", range(6))
def test_the_kept_diary_is_the_diary_after_every_write(api, patient, web, frozen_now, seed):
    """Random writes, recent and old, through the API, the Today page and the models, and days
    passing, some records dated after today showing on their day; after each, what the Relief
    page reads (kept or not) is the diary read afresh."""
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
        lambda: frozen_now.shift(dt.timedelta(days=rng.choice([1, 1, 2, 8]))),
        lambda: factories.ReactionFactory(patient=patient, onset_date=day(-rng.randrange(1, 5))),
        lambda: factories.InjectionFactory(patient=patient, date=day(-rng.randrange(1, 5))),
        lambda: factories.DailyLogFactory(patient=patient, date=day(-rng.randrange(1, 5))),
    ]
    for _ in range(60):
        forget_diary_rises()
        # A check-in of a day that has one already is refused: the diary as it was.
        with contextlib.suppress(IntegrityError), transaction.atomic():
            rng.choice(writes)()
        fresh = Patient.objects.get(pk=patient.pk)
        assert read_diary_kept(fresh) == read_diary(fresh, shown_only=True)


def moved(patient: Patient, from_days: int, to_days: int) -> None:
    """A check-in's date changed, as the admin site can."""
    log = DailyLog.objects.filter(patient=patient, date=day(from_days)).first()
    if log is None or DailyLog.objects.filter(patient=patient, date=day(to_days)).exists():
        return
    log.date = TODAY - dt.timedelta(days=to_days)
    log.save()


# Found by review: each kept diary below differed from the diary read afresh.


def test_a_midnight_while_the_older_part_is_kept_splits_no_day(patient):
    """The patient's today is read once: a midnight between two reads of it would keep the
    older part without its last day, under the next day's key."""
    from unittest import mock

    for n in range(40):
        factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=n), severity=3)
    cache.clear()
    tomorrow = TODAY + dt.timedelta(days=1)
    days = iter([TODAY, tomorrow, tomorrow, tomorrow])
    with mock.patch.object(Patient, "today", lambda self: next(days)):
        read_diary_kept(Patient.objects.get(pk=patient.pk))  # not kept yet: read, then kept
    with mock.patch.object(Patient, "today", lambda self: tomorrow):
        fresh = Patient.objects.get(pk=patient.pk)
        assert read_diary_kept(fresh) == read_diary(fresh, shown_only=True)


def test_one_check_in_saved_twice_knows_the_date_it_was_last_saved_with(patient):
    factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=100))
    factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=2), severity=7)
    log = DailyLog.objects.get(patient=patient)
    log.date = TODAY - dt.timedelta(days=OLD)
    forget_diary_rises()
    log.save()
    cache.clear()
    read_diary_kept(Patient.objects.get(pk=patient.pk))  # the old day kept
    log.date = TODAY - dt.timedelta(days=3)  # and back to a recent one

    assert rises(patient, log.save) == (True, True)
    fresh = Patient.objects.get(pk=patient.pk)
    assert read_diary_kept(fresh) == read_diary(fresh, shown_only=True)


def test_the_demo_diary_raises_both(patient):
    from tracker.management.commands.seed_demo import clear_diary, generate_diary

    factories.DailyLogFactory(patient=patient, date=TODAY, severity=7)
    cache.clear()
    read_diary_kept(Patient.objects.get(pk=patient.pk))  # an older part with nothing in it
    forget_diary_rises()
    clear_diary(patient)  # a recent check-in deleted: the diary's revision alone
    forget_diary_rises()
    generate_diary(patient, days=120)  # bulk writes: both
    fresh = Patient.objects.get(pk=patient.pk)
    assert read_diary_kept(fresh) == read_diary(fresh, shown_only=True)


def test_a_record_given_to_another_patient_leaves_the_first_ones_diary(patient, other_patient):
    factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=OLD), severity=7)
    cache.clear()
    read_diary_kept(Patient.objects.get(pk=patient.pk))
    log = DailyLog.objects.get(patient=patient)
    log.patient = other_patient  # as the admin site can

    assert rises(patient, log.save) == (True, True)
    fresh = Patient.objects.get(pk=patient.pk)
    assert read_diary_kept(fresh) == read_diary(fresh, shown_only=True) and not fresh.logs.exists()


@pytest.mark.django_db(transaction=True)  # no test transaction around it, as in a request
def test_a_record_saved_outside_a_transaction_is_written_with_its_rise(patient):
    """The rise (a pre_save receiver) and the write are one transaction: a page made between
    them, which would keep the old record under the new revision, cannot see the rise alone."""
    from django.db import transaction
    from django.db.models.signals import pre_save

    log = factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=OLD))
    seen = []

    def check(sender, instance, **kwargs):
        seen.append(transaction.get_connection().in_atomic_block)

    site = factories.InjectionSiteFactory(injection__patient=patient)
    pre_save.connect(check, sender=DailyLog)
    pre_save.connect(check, sender=InjectionSite)
    try:
        log.severity = 1
        log.save()
        site.units = 5
        site.save()
    finally:
        pre_save.disconnect(check, sender=DailyLog)
        pre_save.disconnect(check, sender=InjectionSite)
    assert seen == [True, True]
    assert not transaction.get_connection().in_atomic_block


def test_the_kept_scores_are_the_scores_read_with_their_notes(web, patient):
    """The older scores are kept packed (tracker/diary_kept.py, packed): each day, severity and
    note comes back as it was, the notes in their places."""
    for days_ago, severity, note in [(400, 0, ""), (200, 10, "Neck 😖, «bad»"), (90, 7, "")]:
        factories.DailyLogFactory(
            patient=patient, date=TODAY - dt.timedelta(days=days_ago), severity=severity, note=note
        )
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=3, note="today")
    read_diary_kept(Patient.objects.get(pk=patient.pk))  # read, then kept

    kept = read_diary_kept(Patient.objects.get(pk=patient.pk))

    assert kept.scores == (
        (TODAY - dt.timedelta(days=400), 0, ""),
        (TODAY - dt.timedelta(days=200), 10, "Neck 😖, «bad»"),
        (TODAY - dt.timedelta(days=90), 7, ""),
        (TODAY, 3, "today"),
    )
    assert kept == read_diary(patient, shown_only=True)


def test_the_kept_scores_are_packed_only_when_pickled():
    """A Kept holds its check-ins as read; the cache's pickle holds them packed, a fraction of
    the size, and gives them back the same."""
    import pickle

    from tracker.diary import Diary
    from tracker.diary_kept import Kept

    older = tuple(
        (TODAY - dt.timedelta(days=n), n % 11, "note" * (n % 50 == 0)) for n in range(900)
    )
    kept = Kept(TODAY, older, Diary(TODAY, (), (), (), ()), TODAY)

    pickled = pickle.dumps(kept)

    assert pickle.loads(pickled) == kept
    assert len(pickled) * 3 < len(pickle.dumps(tuple(kept)))


def test_a_today_turned_back_by_a_new_time_zone_shows_no_record_ahead(patient):
    """Found by review: a patient whose time zone moves west can have an earlier today than
    the day the diary's older part was kept; that day's records are then ahead of them."""
    Patient.objects.filter(pk=patient.pk).update(time_zone="Pacific/Kiritimati")  # UTC+14
    kept_on = Patient.objects.get(pk=patient.pk).today()
    factories.InjectionFactory(patient=patient, date=kept_on - dt.timedelta(days=40))
    factories.InjectionFactory(patient=patient, date=kept_on)
    factories.ReactionFactory(patient=patient, onset_date=kept_on)
    read_diary_kept(Patient.objects.get(pk=patient.pk))  # kept on the later day

    Patient.objects.filter(pk=patient.pk).update(time_zone="Pacific/Pago_Pago")  # UTC-11
    fresh = Patient.objects.get(pk=patient.pk)

    assert fresh.today() < kept_on
    kept = read_diary_kept(fresh)
    assert kept == read_diary(fresh, shown_only=True)
    assert len(kept.injections) == 1 and not kept.reactions


def test_what_a_recent_check_in_is_keys_what_is_kept():
    """Found by review: a release that changed RECENT_CHECK_IN_DAYS would find the older part
    kept by the one before it, cut at another day; revisions.py is in the code's digest."""
    from tracker import relief_cache

    assert {"diary.py", "diary_kept.py", "revisions.py"} <= set(relief_cache._SOURCES)


def test_a_relief_page_reads_the_patients_today_once(patient, web, monkeypatch):
    """Found by review: the page is kept under the day it was made for; a midnight between a
    read of the day for its key and another for its diary would keep the next day's page
    under this day's key."""
    factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=40), severity=5)
    days = []
    today = Patient.today
    monkeypatch.setattr(Patient, "today", lambda self: days.append(today(self)) or days[-1])

    assert web.get(reverse("relief")).status_code == 200

    assert len(days) == 1
