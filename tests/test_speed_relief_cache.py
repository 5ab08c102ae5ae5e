"""Relief, the cycles API and the clinic's list from the cache, kept under the diary's revision
(tracker/relief_cache.py): a view after no change computes nothing (issue 14)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import factories
from tests.conftest import TODAY, client_for
from tracker import relief

pytestmark = pytest.mark.usefixtures("frozen_now")


@pytest.fixture
def computations(monkeypatch):
    """The cycles whose figures are computed (relief.figures), by injection date."""
    calls = []
    compute = relief.figures

    def counted(given, *args, **kwargs):
        calls.append(given.injection_date)
        return compute(given, *args, **kwargs)

    monkeypatch.setattr(relief, "figures", counted)
    return calls


def fill(patient, days: int = 120) -> None:
    for offset in (100, 10):
        factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=offset))
    for n in range(days):
        factories.DailyLogFactory(
            patient=patient, date=TODAY - dt.timedelta(days=n), severity=3 + n % 5
        )


def view(client, url: str):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response, len(queries)


def test_a_second_view_of_relief_computes_nothing_and_runs_fewer_queries(
    web, patient, computations
):
    fill(patient)
    first, first_queries = view(web, reverse("relief"))
    computed = len(computations)

    second, second_queries = view(web, reverse("relief"))

    assert computed >= 1 and len(computations) == computed  # nothing computed the second time
    # read_diary's four queries are not run
    assert second_queries == first_queries - 4
    assert second.content.count(b"<svg") == first.content.count(b"<svg")


def test_a_new_check_in_shows_at_once(web, patient, computations):
    fill(patient, 30)
    view(web, reverse("relief"))
    computed = len(computations)

    client_for(patient.user).put(
        f"/api/v1/logs/{TODAY - dt.timedelta(days=40)}/", {"severity": 9}, format="json"
    )
    response, _ = view(web, reverse("relief") + "?range=all")
    again, _ = view(web, reverse("relief"))

    # Each page computed afresh, its two cycles each once (relief.compute_cycles).
    assert len(computations) == computed + 4
    assert response.context["page"].timeline.logged_days == 31
    assert again.context["page"].timeline.logged_days == 31  # day 40 is in the last 90 days


def test_each_range_and_each_day_is_kept_apart(web, patient, computations, frozen_now):
    fill(patient, 30)
    view(web, reverse("relief") + "?range=30")
    view(web, reverse("relief") + "?range=nonsense")  # the default range: a key of its own
    view(web, reverse("relief") + "?range=90")  # the default range, kept
    assert len(computations) == 4  # two pages made, each with its two cycles; one page kept

    frozen_now.shift(dt.timedelta(days=1))
    response, _ = view(web, reverse("relief") + "?range=30")

    assert len(computations) == 6  # a new day: the page made again
    assert response.context["page"].timeline.end == TODAY + dt.timedelta(days=1)


def test_each_patient_sees_their_own_page(web, patient, other_patient, computations):
    fill(patient, 20)
    view(web, reverse("relief"))

    other, _ = view(client_for(other_patient.user), reverse("relief"))

    assert other.context["page"].timeline.logged_days == 0


def test_a_second_call_of_the_cycles_api_computes_nothing(patient, computations):
    fill(patient, 60)
    api = client_for(patient.user)
    first, first_queries = view(api, "/api/v1/cycles/")
    computed = len(computations)

    second, second_queries = view(api, "/api/v1/cycles/")

    assert computed == 2 and len(computations) == computed
    assert second.json() == first.json()
    assert second_queries == first_queries - 2


def clinic_of(count: int):
    clinician = factories.ClinicianFactory(username=f"doc-{count}")
    from tracker.management.commands.seed_demo import give_demo_authenticator

    give_demo_authenticator(clinician)
    patients = []
    for n in range(count):
        patient = factories.PatientFactory(user__username=f"p{count}-{n}")
        factories.ShareFactory(patient=patient, clinician=clinician)
        fill(patient, 20)
        patients.append(patient)
    return client_for(clinician), patients


def test_the_clinic_list_keeps_its_queries_flat_in_the_number_of_patients(db, computations):
    counts = {}
    for size in (5, 50):
        client, _ = clinic_of(size)
        cold, cold_queries = view(client, reverse("clinic"))
        computed = len(computations)
        warm, warm_queries = view(client, reverse("clinic"))
        assert len(computations) == computed  # every row from the cache
        assert warm.content.count(b"<tr") == cold.content.count(b"<tr")
        counts[size] = (cold_queries, warm_queries)

    assert counts[5] == counts[50]
    assert counts[5][1] == counts[5][0] - 2  # the injections and logs of every patient


def test_the_clinic_list_computes_again_only_the_patient_whose_diary_changed(db, monkeypatch):
    from tracker import diary_clinic

    client, patients = clinic_of(5)
    view(client, reverse("clinic"))
    computed = []
    summaries = diary_clinic.triage_summaries
    monkeypatch.setattr(
        diary_clinic, "triage_summaries", lambda p, *a: computed.extend(p) or summaries(p, *a)
    )
    client_for(patients[2].user).put(f"/api/v1/logs/{TODAY}/", {"severity": 1}, format="json")

    view(client, reverse("clinic"))

    assert [patient.pk for patient in computed] == [patients[2].pk]


def test_a_red_flag_marked_handled_leaves_the_top_of_the_list_at_once(db):
    from tracker.views.clinic import mark_handled

    client, patients = clinic_of(3)
    flag = factories.ReactionFactory(patient=patients[1], kind="breathing", severity="severe")
    first, _ = view(client, reverse("clinic"))
    assert first.context["items"][0]["row"].patient_id == patients[1].pk
    assert first.context["items"][0]["row"].unhandled_red_flags

    doctor = first.wsgi_request.user
    mark_handled(flag.pk, doctor, "")
    second, _ = view(client, reverse("clinic"))

    row = next(r["row"] for r in second.context["items"] if r["row"].patient_id == patients[1].pk)
    assert not row.unhandled_red_flags and row.red_flags[0].handled


def test_the_cycles_shown_are_those_computed_afresh_after_any_change(web, patient):
    """A changed score, a deleted one, a new injection and a new day each give the figures
    that the whole diary computed afresh gives: no page of an earlier diary is shown."""

    def shown() -> list:
        response, _ = view(web, reverse("relief") + "?range=all")
        return [row.cycle for row in response.context["page"].rows]

    def afresh() -> list:
        cycles = patient.relief_cycles()  # relief.compute_cycles on the stored diary, no cache
        return sorted(cycles, key=lambda cycle: cycle.index, reverse=True)  # newest first

    fill(patient)
    assert shown() == afresh()
    api = client_for(patient.user)
    api.put(f"/api/v1/logs/{TODAY - dt.timedelta(days=105)}/", {"severity": 10}, format="json")
    assert shown() == afresh()  # a baseline day of the first cycle
    day = patient.logs.get(date=TODAY - dt.timedelta(days=60))
    api.delete(f"/api/v1/logs/{day.date}/")
    assert shown() == afresh()
    factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=50))
    assert shown() == afresh()


def test_a_cycle_card_shows_a_change_to_its_figures_at_once(web, patient):
    fill(patient)
    first, _ = view(web, reverse("relief"))
    api = client_for(patient.user)

    # A baseline day of the first cycle: its card shows another baseline at once.
    before = first.context["page"].rows[-1].baseline
    api.put(f"/api/v1/logs/{TODAY - dt.timedelta(days=101)}/", {"severity": 10}, format="json")
    response, _ = view(web, reverse("relief"))
    after = response.context["page"].rows[-1].baseline
    assert after != before
    assert f"{after} out of 10, on average" in response.content.decode()


def test_the_relief_page_reads_only_what_it_shows_and_shows_the_same(patient, clinician):
    """read_diary(shown_only=True): the Relief page's read leaves out sites, notes and a
    reaction's handling, which it does not show; what it makes of that diary is what it makes
    of the diary read whole. What it leaves out is None, so that a misuse fails."""
    from tracker.diary import read_diary
    from tracker.models import GlobalImpression
    from tracker.pages.relief import relief_page

    fill(patient)
    injection = patient.injections.order_by("date").first()
    factories.InjectionSiteFactory(injection=injection)
    factories.ReactionFactory(
        patient=patient,
        injection=injection,
        kind="breathing",
        severity="severe",
        note="x",
        onset_date=injection.date,
        handled_by=clinician,
        handled_at=injection.created_at,
    )
    factories.ReactionFactory(patient=patient, onset_date=TODAY - dt.timedelta(days=5))
    GlobalImpression.objects.create(
        patient=patient,
        injection=injection,
        date=injection.date + dt.timedelta(days=30),
        timepoint="weeks_4_6",
        score=2,
    )

    whole, shown = read_diary(patient), read_diary(patient, shown_only=True)

    assert (shown.scores, shown.answers) == (whole.scores, whole.answers) and shown.answers
    assert [(i.id, i.date, i.product, i.total_units) for i in shown.injections] == [
        (i.id, i.date, i.product, i.total_units) for i in whole.injections
    ]
    assert [(r.kind, r.severity, r.onset) for r in shown.reactions] == [
        (r.kind, r.severity, r.onset) for r in whole.reactions
    ]
    assert whole.injections[0].sites and whole.reactions[0].handled_by
    assert all(i.sites is None and i.notes is None for i in shown.injections)
    assert all(r.note is None and r.handled_by is None for r in shown.reactions)
    for choice in ("30", "90", "all"):
        assert relief_page(shown, choice) == relief_page(whole, choice)


@pytest.mark.parametrize("units", ["12.5", "200", "0.1", "99999.9"])
def test_the_relief_read_gives_ids_units_and_dates_as_the_orm_does(patient, units):
    """read_shown reads in SQL (tracker/diary.py): on SQLite a UUID column holds hex digits and
    a decimal one a number without its places (200, not 200.0), yet its records hold what the
    ORM gives, as the whole read's."""
    import uuid
    from decimal import Decimal

    from tracker.diary import read_diary
    from tracker.models import GlobalImpression

    injection = factories.InjectionFactory(
        patient=patient, date=TODAY - dt.timedelta(days=40), total_units=Decimal(units)
    )
    GlobalImpression.objects.create(
        patient=patient, injection=injection, date=TODAY, timepoint="weeks_4_6", score=3
    )

    shown, whole = read_diary(patient, shown_only=True), read_diary(patient)

    (read,) = shown.injections
    assert (read.id, read.date, read.total_units) == (injection.id, injection.date, Decimal(units))
    assert isinstance(read.id, uuid.UUID) and isinstance(read.total_units, Decimal)
    assert repr(read.total_units) == repr(whole.injections[0].total_units)  # Decimal('200.0')
    assert shown.answers == whole.answers
    assert isinstance(shown.answers[0].id, uuid.UUID)
    assert shown.answers[0].injection_id == injection.id


@pytest.fixture
def server():
    """The app as a WSGI server calls it: the answer, then close() once it is sent. The test
    database's transaction stays open, as Django's test client keeps it."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_what_the_relief_page_keeps_is_written_once_its_answer_is_sent(web, patient, server):
    from django.conf import settings
    from django.core.cache import cache
    from django.test import RequestFactory

    from tracker.models import Patient
    from tracker.relief_cache import key

    fill(patient)
    cache.clear()
    environ = RequestFactory().get(reverse("relief")).environ
    session = web.cookies[settings.SESSION_COOKIE_NAME].value
    environ["HTTP_COOKIE"] = f"{settings.SESSION_COOKIE_NAME}={session}"
    page = key("relief-html", Patient.objects.get(pk=patient.pk), "90", False)

    answer = server(environ, lambda status, headers: None)
    assert b"<h1>Relief</h1>" in b"".join(answer)
    assert cache.get(page) is None  # the answer is not kept waiting for the cache

    answer.close()  # sent: as gunicorn does next
    assert "<h1>Relief</h1>" in cache.get(page)
    assert web.get(reverse("relief")).content.count(b"<h1>Relief</h1>") == 1


def test_what_draws_the_kept_relief_page_is_in_the_cache_keys_code_digest():
    """Found by review: a release that changed only a template or chart_tables.py served the
    Relief HTML an older release had kept, for up to a week. Every template the kept body
    includes, and the modules that write its words and tables, are in relief_cache.CODE."""
    import re
    from pathlib import Path

    from django.conf import settings

    from tracker import relief_cache

    folder = Path(settings.BASE_DIR) / "templates"
    drawn, waiting = set(), ["tracker/partials/relief_body.html"]
    while waiting:
        name = waiting.pop()
        drawn.add(folder / name)
        text = (folder / name).read_text()
        waiting += [found for found in re.findall(r'{% include "([^"]+)"', text) if found]
    assert len(drawn) > 5
    assert drawn <= set(relief_cache._TEMPLATES.glob("*.html"))
    assert {"chart_tables.py", "catalog.py", "dates.py"} <= set(relief_cache._SOURCES)
