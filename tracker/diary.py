"""Every read of a patient's diary: `read_diary` for one patient's whole diary (the Relief page,
through diary_kept.py, which keeps its older part; the clinician's report, the summary and its
PDF, the CSV and FHIR exports) and `read_cycles` for the cycles alone (the cycles API). A
clinic's list of many patients is read by diary_clinic.py.

The rows come out as the small frozen records below, with their labels from catalog.py, which
the pure page and export code takes; nothing past these modules queries a diary.
"""

import dataclasses
import uuid
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import cached_property
from operator import attrgetter
from typing import NamedTuple

from django.db import connection
from django.db.models import QuerySet

from tracker import catalog, relief, triage
from tracker.dates import EARLIEST_DIARY_DATE
from tracker.models import (
    DailyLog,
    GlobalImpression,
    Injection,
    Patient,
    Reaction,
    User,
    relief_settings,
)
from tracker.relief_cache import remembered

SIDE_LABELS = dict(catalog.SIDE_CHOICES)
GUIDANCE_LABELS = dict(catalog.GUIDANCE_CHOICES)
PENN_LABELS = dict(catalog.PENN_SPASM_FREQUENCY_CHOICES)
PGIC_LABELS = dict(catalog.PGIC_CHOICES)
TIMEPOINT_LABELS = dict(catalog.PGIC_TIMEPOINT_CHOICES)


class Log(NamedTuple):
    """A check-in, as the exports read it. A named tuple, as it is quicker to make than a
    dataclass: five years are some 1,800."""

    id: int
    date: date
    severity: int
    spasm_frequency: int | None  # Penn 0-4, None when not recorded
    pain: int | None
    note: str

    @property
    def spasm_frequency_label(self) -> str:
        return PENN_LABELS.get(self.spasm_frequency, "")


@dataclass(frozen=True)
class Site:
    id: int
    muscle: str  # a catalog code
    side: str
    units: Decimal

    @property
    def muscle_label(self) -> str:
        return catalog.MUSCLE_LABELS.get(self.muscle, self.muscle)

    @property
    def side_label(self) -> str:
        return SIDE_LABELS.get(self.side, self.side)


@dataclass(frozen=True)
class InjectionRecord:
    id: object
    date: date
    product: str  # a catalog code
    total_units: Decimal
    guidance: str
    injector: str
    notes: str
    entered_by_clinic: bool
    sites: tuple[Site, ...]

    @property
    def product_info(self) -> catalog.Product:
        return catalog.PRODUCT_BY_CODE[self.product]

    @property
    def product_label(self) -> str:
        return self.product_info.label

    @property
    def guidance_label(self) -> str:
        return GUIDANCE_LABELS.get(self.guidance, "")


@dataclass(frozen=True)
class ReactionRecord:
    id: object
    injection_id: object
    kind: str  # a catalog code
    severity: str  # "mild", "moderate" or "severe"
    onset: date
    resolved: date | None
    pain_reliever: str
    pain_reliever_dose: str
    note: str
    # When it was logged and handled, in the patient's time zone, and by whom.
    logged_at: datetime | None = None
    handled_at: datetime | None = None
    handled_by: str = ""
    handled_note: str = ""

    @property
    def label(self) -> str:
        return catalog.REACTION_LABELS.get(self.kind, self.kind)

    @property
    def red_flag(self) -> triage.RedFlag | None:
        if not self.urgent:
            return None
        return triage.RedFlag(
            self.id,
            self.kind,
            self.severity,
            self.logged_at,
            self.onset,
            self.resolved,
            self.handled_at,
            self.handled_by,
            self.handled_note,
            self.note,
        )

    @property
    def red_flag_tier(self) -> str | None:
        return catalog.red_flag_tier(self.kind, self.severity)

    @property
    def urgent(self) -> bool:
        """A red flag."""
        return self.red_flag_tier is not None

    @property
    def pain_reliever_text(self) -> str:
        """ "Paracetamol 1 g", or "" """
        return " ".join(filter(None, [self.pain_reliever, self.pain_reliever_dose]))


@dataclass(frozen=True)
class Answer:
    """A PGIC answer."""

    id: object
    injection_id: object
    date: date
    timepoint: str  # a catalog code
    score: int  # 1 very much improved ... 7 very much worse

    @property
    def timepoint_label(self) -> str:
        return TIMEPOINT_LABELS.get(self.timepoint, self.timepoint)  # "Weeks 4 to 6"

    @property
    def answer(self) -> str:
        return PGIC_LABELS.get(self.score, "")  # "Much improved"


@dataclass(frozen=True)
class Dose:
    injection_id: object
    product: str  # the product's label, e.g. "Botox"
    units: Decimal


@dataclass(frozen=True)
class SiteDose:
    injection_id: object
    muscle: str  # "Sternocleidomastoid, left"
    product: str  # "Botox"
    units: Decimal


UNRECORDED_MUSCLE = "Muscles not recorded"


@dataclass(frozen=True)
class Diary:
    """A patient's diary, every list oldest first."""

    today: date  # the patient's own
    # (date, severity, note) of each check-in: what the pages and charts show of them.
    scores: tuple[tuple[date, int, str], ...]
    injections: tuple[InjectionRecord, ...]  # with their sites
    reactions: tuple[ReactionRecord, ...]  # by onset
    answers: tuple[Answer, ...]
    # Every field of each check-in, for the exports: None unless read_diary was asked for it.
    logs: tuple[Log, ...] | None = None
    # The first day after the diary's last of an injection, a reaction or a PGIC answer left
    # out, as read_diary(shown_only=True) finds it: when the Relief page's kept diary must be
    # read again (diary_kept.py). None otherwise.
    first_after: date | None = None

    @cached_property
    def doses(self) -> list[Dose]:
        return [Dose(i.id, i.product_label, i.total_units) for i in self.injections]

    @cached_property
    def dates_by_injection(self) -> dict[object, date]:
        return {i.id: i.date for i in self.injections}

    @cached_property
    def site_doses(self) -> list[SiteDose]:
        """Units per muscle and side. A session saved with its total only still counts: its
        units go in a row of their own."""
        return [
            SiteDose(
                i.id, f"{site.muscle_label}, {site.side_label.lower()}", i.product_label, site.units
            )
            for i in self.injections
            for site in i.sites
        ] + [
            SiteDose(i.id, UNRECORDED_MUSCLE, i.product_label, i.total_units)
            for i in self.injections
            if not i.sites
        ]


# In the order of the records' fields.
LOG_FIELDS = ("id", "date", "severity", "spasm_frequency", "pain", "note")
INJECTION_FIELDS = ("id", "date", "product", "total_units", "guidance", "injector", "notes")
SITE_FIELDS = ("sites__id", "sites__muscle", "sites__side", "sites__units")
REACTION_FIELDS = (
    *("id", "injection_id", "kind", "severity", "onset_date", "resolved_date"),
    *("pain_reliever", "pain_reliever_dose", "note"),
)
# When and by whom, read in the same query: the patient's zone and the clinician's name.
HANDLED_FIELDS = (
    *("created_at", "handled_at"),
    *("handled_by__first_name", "handled_by__last_name", "handled_by__username"),
)


def not_shown(record: type, shown: tuple[str, ...]) -> dict[str, None]:
    """Every field of `record` but those `shown`, as None: what read_diary(shown_only=True)
    does not read."""
    return {each.name: None for each in dataclasses.fields(record) if each.name not in shown}


# What the Relief page reads of an injection, and of a reaction (onset_date: the onset).
SHOWN_INJECTION_FIELDS = ("id", "date", "product", "total_units")
NOT_SHOWN_INJECTION = not_shown(InjectionRecord, SHOWN_INJECTION_FIELDS)
NOT_SHOWN_REACTION = not_shown(ReactionRecord, ("kind", "severity", "onset"))


def person_name(first_name: str | None, last_name: str | None, username: str | None) -> str:
    return f"{first_name or ''} {last_name or ''}".strip() or username or ""


def local(moment: datetime | None, zone: tzinfo) -> datetime | None:
    return moment.astimezone(zone) if moment else None


def reaction_record(row: tuple, zone: tzinfo) -> ReactionRecord:
    """A row of REACTION_FIELDS, HANDLED_FIELDS and handled_note."""
    logged, handled, *name, note = row[len(REACTION_FIELDS) :]
    return ReactionRecord(
        *row[: len(REACTION_FIELDS)],
        local(logged, zone),
        local(handled, zone),
        person_name(*name),
        note,
    )


def read_diary(
    patient: Patient,
    since: date | None = None,
    until: date | None = None,
    logs: bool = False,
    today: date | None = None,
    shown_only: bool = False,
) -> Diary:
    """Four queries however long the diary: injections with their sites (one row per site),
    PGIC answers, logs, reactions. Rows are read as values, not model instances: five years
    of daily logs are some 1,800 rows. Of the logs, only the scores are read, unless `logs`
    asks for every field (the exports): the Relief page is read again after each check-in.
    `shown_only` reads only what the Relief page shows (pages.relief.relief_page) of the
    injections and reactions: no sites, no notes, no handling, which are None, so that a
    misuse fails rather than shows nothing; a third of the time of reading a diary of 100
    reactions (bench/README.md).

    Only the dates a diary may hold are read (docs/clinical-rules.md, "Dates a diary may
    hold"): from `since` to `until`, within EARLIEST_DIARY_DATE and the patient's today, the
    default bounds. Forms, the API and sync refuse other dates and the database refuses dates
    before 1990, but a direct write can still store a later one (a phone's clock, an import);
    such a row is left out of every page, report, PDF and export rather than stretching them
    to its year. Reactions are read by their onset. `today` is the patient's, when the caller
    has read it already."""
    today = today or patient.today()
    window = (max(since or EARLIEST_DIARY_DATE, EARLIEST_DIARY_DATE), min(until or today, today))
    if logs:
        logged = patient.logs.filter(date__range=window).order_by("date")
        every_field = tuple(map(Log._make, logged.values_list(*LOG_FIELDS)))
        scores = tuple((log.date, log.severity, log.note) for log in every_field)
    else:
        every_field, scores = None, read_scores(patient, *window)
    if shown_only:
        injections, reactions, answers, first_after = read_shown(patient, window)
    else:
        injections = read_injections(patient.injections.filter(date__range=window))
        reactions = read_reactions(patient.reactions.filter(onset_date__range=window), patient.zone)
        # An answer is about its injection's cycle: that injection is in the window too.
        answered = patient.global_impressions.filter(
            date__range=window, injection__date__range=window
        )
        answers = tuple(
            Answer(*row) for row in answered.order_by("date").values_list(*ANSWER_FIELDS)
        )
        first_after = None
    return Diary(
        today=today,
        scores=scores,
        logs=every_field,
        injections=injections,
        reactions=reactions,
        answers=answers,
        first_after=first_after,
    )


ANSWER_FIELDS = ("id", "injection_id", "date", "timepoint", "score")


def read_shown(patient: Patient, window: tuple[date, date]) -> tuple:
    """The injections, reactions and PGIC answers of read_diary(shown_only=True), and its
    first_after: what the Relief page shows of those in the window, each read with those
    dated after it, which are left out, so that the first day of one comes without a query
    of its own. Written in SQL, as read_scores is: the ORM builds each query afresh, which was
    half the time of these three reads (bench/README.md). Ids come as UUIDs and units as
    Decimals on SQLite and PostgreSQL alike, as the ORM gives them."""
    first, last = window
    injections = [
        InjectionRecord(as_uuid(pk), day, product, as_units(units), **NOT_SHOWN_INJECTION)
        for pk, day, product, units in fetched(SHOWN_INJECTIONS_SQL, patient.pk, first)
    ]
    reactions = [
        ReactionRecord(kind=kind, severity=severity, onset=onset, **NOT_SHOWN_REACTION)
        for kind, severity, onset in fetched(SHOWN_REACTIONS_SQL, patient.pk, first)
    ]
    answers = [
        Answer(as_uuid(pk), as_uuid(injection), day, timepoint, score)
        for pk, injection, day, timepoint, score, injected in fetched(
            SHOWN_ANSWERS_SQL, patient.pk, first, first
        )
        if injected <= last  # as read_diary's: with its injection in the window
    ]
    injections, after_injections = up_to(injections, last, DATE)
    reactions, after_reactions = up_to(reactions, last, ONSET)
    answers, after_answers = up_to(answers, last, DATE)
    afters = (after_injections, after_reactions, after_answers)
    return injections, reactions, answers, min(filter(None, afters), default=None)


def as_uuid(value: object) -> uuid.UUID:
    """A UUID column's value as the ORM gives it: SQLite holds its hex digits, PostgreSQL's
    driver gives a UUID."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


UNITS_PLACES = Decimal(1).scaleb(-Injection._meta.get_field("total_units").decimal_places)


def as_units(text: str) -> Decimal:
    """Units read as text, as the ORM gives them: to the field's places ("200.0"), which
    SQLite, holding 200, does not keep."""
    return Decimal(text).quantize(UNITS_PLACES)


_INJECTIONS = Injection._meta.db_table
# Units as text, read into a Decimal (as_units): SQLite would give a float.
SHOWN_INJECTIONS_SQL = (
    'SELECT "id", "date", "product", CAST("total_units" AS TEXT) '
    f'FROM "{_INJECTIONS}" WHERE "patient_id" = %s AND "date" >= %s ORDER BY "date", "created_at"'
)
SHOWN_REACTIONS_SQL = (
    f'SELECT "kind", "severity", "onset_date" FROM "{Reaction._meta.db_table}" '
    'WHERE "patient_id" = %s AND "onset_date" >= %s ORDER BY "onset_date", "created_at"'
)
SHOWN_ANSWERS_SQL = (
    'SELECT a."id", a."injection_id", a."date", a."timepoint", a."score", i."date" '
    f'FROM "{GlobalImpression._meta.db_table}" a '
    f'JOIN "{_INJECTIONS}" i ON i."id" = a."injection_id" '
    'WHERE a."patient_id" = %s AND a."date" >= %s AND i."date" >= %s ORDER BY a."date"'
)


def up_to(records: Sequence, last: date, day: Callable) -> tuple[tuple, date | None]:
    """The records (in order of their `day`) of `last` or before, and the day of the first one
    after it."""
    end = bisect_right(records, last, key=day)
    return tuple(records[:end]), (day(records[end]) if end < len(records) else None)


DATE, ONSET = attrgetter("date"), attrgetter("onset")


def read_injections(injections: QuerySet) -> tuple[InjectionRecord, ...]:
    """Each injection with its sites, in order of date: one row per site."""
    given_by_pk: dict[object, tuple] = {}
    sites: dict[object, list[Site]] = defaultdict(list)
    rows = injections.order_by("date", "created_at", "sites__id").values_list(
        *INJECTION_FIELDS, "entered_by__role", *SITE_FIELDS
    )
    for row in rows:
        pk, role, site = row[0], row[len(INJECTION_FIELDS)], row[-len(SITE_FIELDS) :]
        if pk not in given_by_pk:
            given_by_pk[pk] = (*row[: len(INJECTION_FIELDS)], role == User.Role.CLINICIAN)
        if site[0] is not None:
            sites[pk].append(Site(*site))
    return tuple(
        InjectionRecord(*given, sites=tuple(sites[pk])) for pk, given in given_by_pk.items()
    )


def read_reactions(reactions: QuerySet, zone: tzinfo) -> tuple[ReactionRecord, ...]:
    rows = reactions.order_by("onset_date", "created_at").values_list(
        *REACTION_FIELDS, *HANDLED_FIELDS, "handled_note"
    )
    return tuple(reaction_record(row, zone) for row in rows)


def read_scores(patient: Patient, first: date, last: date) -> tuple[tuple[date, int, str], ...]:
    """(date, severity, note) of each of the patient's check-ins from `first` to `last`, in
    order: the Relief page's largest read, five years are some 1,800 rows. Written in SQL, as
    the ORM compiles a query afresh each time and converts each date once more after the
    driver (SQLite's converter, PostgreSQL's own type): a third of the time of this read
    (bench/README.md)."""
    return tuple(fetched(SCORES_SQL, patient.pk, first, last))


def fetched(sql: str, *params: object) -> list[tuple]:
    """The rows of a query of this module's own SQL, as the driver gives them."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


SCORES_SQL = (
    f'SELECT "date", "severity", "note" FROM "{DailyLog._meta.db_table}" '
    'WHERE "patient_id" = %s AND "date" BETWEEN %s AND %s ORDER BY "date"'
)


def read_cycles(patient: Patient) -> tuple[list[relief.Cycle], dict[object, dict]]:
    """The patient's cycles with their relief figures, and each injection's date, product and
    total units by id: two queries, or none when the diary has not changed since they were
    last computed (tracker/relief_cache.py)."""

    def compute() -> tuple[list[relief.Cycle], dict[object, dict]]:
        injections = {
            row["id"]: row
            for row in patient.injections.values("id", "date", "product", "total_units")
        }
        points = [relief.InjectionPoint(id=pk, date=row["date"]) for pk, row in injections.items()]
        logs = patient.logs.values_list("date", "severity")
        cycles = relief.compute_cycles(points, logs, patient.today(), relief_settings())
        return cycles, injections

    return remembered("cycles", patient, (), compute)
