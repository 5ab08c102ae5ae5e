"""A clinic's list of many patients, read at once: `clinic_order` puts every patient the list
holds in triage order from what sorting needs, and `clinic_page` reads the whole rows of the
page shown, their figures kept in the cache under each diary's revision (relief_cache.py).
Queries stay flat in the number of patients (tests/test_speed_relief_cache.py)."""

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, tzinfo

from django.core.cache import cache
from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import DenseRank
from django.utils import timezone

from tracker import catalog, triage
from tracker.diary import HANDLED_FIELDS, REACTION_FIELDS, reaction_record
from tracker.models import DailyLog, Injection, PatientCondition, Reaction, relief_settings
from tracker.relief_cache import keep, key


@dataclass(frozen=True)
class Identity:
    """Who the patient is, on their row of the clinic's list."""

    date_of_birth: date | None
    clinic_number: str
    conditions_label: str = ""


@dataclass
class Listed:
    """A patient on a clinic's list, with what sorting the list needs: read for every patient
    the list holds, where a whole row (triage.TriageRow) is read for the page's alone."""

    pk: int
    created_at: datetime
    zone: tzinfo
    diary_revision: int
    name: str
    last_log_date: date | None
    day: date  # the patient's today
    identity: Identity
    spasticity_cause: str
    red_flags: list = field(default_factory=list)  # not yet handled, and handled lately
    order: tuple = ()  # triage.sort_key's
    kept: triage.TriageRow | None = None  # the whole row, once read or computed

    @classmethod
    def of(cls, values: tuple, now: datetime) -> "Listed":
        """From a row of PatientQuerySet.for_dashboard, at `now`."""
        pk, joined_at, time_zone, revision, first, last, born, number, cause, last_log = values
        zone = zoneinfo.ZoneInfo(time_zone)
        name = f"{first} {last}".strip() or f"Patient #{pk}"  # as Patient.display_name
        day = now.astimezone(zone).date()
        identity = Identity(born, number)
        return cls(pk, joined_at, zone, revision, name, last_log, day, identity, cause)

    def today(self) -> date:  # as Patient.today, for relief_cache.key
        return self.day

    @property
    def joined(self) -> date:
        return self.created_at.astimezone(self.zone).date()


def clinic_order(shown: QuerySet) -> list[Listed]:
    """The patients `shown` on a clinic's list, in triage order (triage.sort_key). Each one's
    standing comes from the cache, kept under their diary's revision (tracker/relief_cache.py)
    beside their whole row; those not there are computed from two queries for all of them.
    Red flags, which a clinician's "handled" changes without a change to the diary, are read
    afresh: one query. A patient with red flags, or newly no longer new, is assessed again
    from their whole row."""
    now = timezone.now()
    listed = [Listed.of(values, now) for values in shown.for_dashboard()]
    if not listed:
        return []
    ids = shown.values("pk")  # a subquery: quicker than a list of hundreds of ids
    keys = {patient.pk: key("triage-standing", patient) for patient in listed}
    standings = cache.get_many(list(keys.values()))
    unknown = [patient for patient in listed if keys[patient.pk] not in standings]
    read_rows(unknown, ids)
    known = {pk: standings[name] for pk, name in keys.items() if name in standings}
    known |= {patient.pk: patient.kept.standing for patient in unknown}

    handled_lately = Q(handled_at__gte=triage.handled_since(now))
    by_id = {patient.pk: patient for patient in listed}
    for patient_id, *row in (
        Reaction.objects.filter(patient_id__in=ids)
        .red_flags()
        .filter(Q(handled_at__isnull=True) | handled_lately)
        .values_list("patient_id", *REACTION_FIELDS, *HANDLED_FIELDS, "handled_note")
    ):
        patient = by_id[patient_id]
        patient.red_flags.append(reaction_record(row, patient.zone).red_flag)

    def assessed_again(patient: Listed) -> bool:
        standing = known[patient.pk]
        is_new = triage.is_new(patient.joined, patient.day, standing.first_log_date)
        return bool(patient.red_flags) or is_new != standing.new

    again = live_rows([patient for patient in listed if assessed_again(patient)])
    for patient in listed:
        row = again.get(patient.pk)
        attention = row.attention if row else known[patient.pk].attention
        help_now = bool(row) and row.needs_help_now
        patient.order = triage.sort_key(attention, help_now, patient.name, patient.pk)
    return sorted(listed, key=lambda patient: patient.order)


def clinic_page(listed: list[Listed]) -> list[dict]:
    """One page of the list: each patient's whole row ("row", with the live facts) and who
    they are ("patient", an Identity, with their conditions): one query for the page, and two
    for the rows of any patient whose figures are not in the cache."""
    rows = live_rows(listed)
    codes = defaultdict(list)
    conditions = PatientCondition.objects.filter(patient_id__in=[item.pk for item in listed])
    for patient_id, code in conditions.order_by("pk").values_list("patient_id", "condition"):
        codes[patient_id].append(code)
    return [
        {
            "row": rows[item.pk],
            "patient": replace(
                item.identity,
                conditions_label=", ".join(
                    catalog.condition_labels(codes[item.pk], item.spasticity_cause)
                ),
            ),
        }
        for item in listed
    ]


def live_rows(listed: list[Listed]) -> dict[int, triage.TriageRow]:
    """Each patient's kept row with what changes without a change to the diary: the name,
    the last check-in's date, the red flags and whether they are new."""
    read_rows([patient for patient in listed if patient.kept is None])
    return {
        patient.pk: triage.with_live_facts(
            patient.kept,
            patient.name,
            patient.day,
            patient.last_log_date,
            patient.red_flags,
            joined=patient.joined,
        )
        for patient in listed
    }


def read_rows(listed: list[Listed], ids: QuerySet | None = None) -> None:
    """Each patient's row of figures from their diary alone (`kept`), from the cache, or
    computed (then kept, with its standing) for those not there. `ids`, when given, selects
    every patient's id (a subquery: quicker than a list of hundreds)."""
    if not listed:
        return
    keys = {patient.pk: key("triage", patient) for patient in listed}
    kept = cache.get_many(list(keys.values()))
    missing = [patient for patient in listed if keys[patient.pk] not in kept]
    if missing:
        every = ids is not None and len(missing) == len(listed)
        computed = triage_summaries(missing, ids if every else [p.pk for p in missing])
        standings = {key("triage-standing", p): computed[p.pk].standing for p in missing}
        keep({keys[pk]: row for pk, row in computed.items()} | standings)
        kept |= {keys[pk]: row for pk, row in computed.items()}
    for patient in listed:
        patient.kept = kept[keys[patient.pk]]


def triage_summaries(
    patients: list[Listed], ids: QuerySet | list[int]
) -> dict[int, triage.TriageRow]:
    """Each patient's row of figures from their diary alone (no name, red flags or last
    check-in: triage.with_live_facts adds those), from two queries for all of them: the last
    two injection dates' sessions and the logs of triage.LOOKBACK_DAYS."""
    injections = defaultdict(list)
    for patient_id, *fields in (
        Injection.objects.filter(patient_id__in=ids)
        .annotate(
            recency=Window(DenseRank(), partition_by=[F("patient_id")], order_by=F("date").desc())
        )
        .filter(recency__lte=2)  # the last two injection dates: the current and last cycle
        .order_by("date", "created_at")
        .values_list("patient_id", "id", "date", "product", "total_units")
    ):
        injections[patient_id].append(triage.InjectionInfo(*fields))
    logs = DailyLog.objects.filter(
        patient_id__in=ids, date__gte=triage.window_start(min(patient.day for patient in patients))
    ).severities_by_patient()
    settings = relief_settings()
    return {
        patient.pk: triage.triage_row(
            patient.pk,
            "",
            patient.day,
            injections[patient.pk],
            logs.get(patient.pk, ()),
            (),
            None,
            settings,
        )
        for patient in patients
    }
