"""The demo: a clinician and the patients who share with them, each diary drawn from a plan.

One generator (`generate_diary`) turns a patient's `DemoPlan` into check-ins, injections and
reactions. A plan lists its injection cycles, each with the days on which relief should start,
peak and wear off; the generator draws a relief curve through them and daily scores around it
(noise, missed days, a few flares). The plans are tuned so that the diaries, measured with
tracker/relief.py as the app measures them, match the literature table of
docs/clinical-rules.md ("Literature figures"): tests/test_demo_data.py holds them to it.
"""

import random
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import cycle, pairwise
from pathlib import Path

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tracker.models import (
    Clinic,
    DailyLog,
    Injection,
    InjectionSite,
    Membership,
    Patient,
    PatientCondition,
    Reaction,
    User,
    share_diary,
)
from tracker.revisions import diary_changed

PASSWORD = "relief-demo-2026"
PATIENT_USERNAME = "demo-patient"
CLINICIAN_USERNAME = "demo-clinician"
# The demo clinician's authenticator app (TOTP, base32): public, for local use only.
CLINICIAN_TOTP_SECRET = "RELIEFTRACKERDEMOCLINICIANSECRET"
CLINIC = {
    "name": "Demo Neurology Clinic",
    "phone": "+44 20 7946 0000",
    "address": "1 Example Street, London",
    "time_zone": "Europe/London",
}
# username: role in the clinic, first and last name, authenticator app secret (README).
MEMBERS = {
    CLINICIAN_USERNAME: (Membership.Role.CLINICIAN, "Sam", "Rivera", CLINICIAN_TOTP_SECRET),
    "demo-nurse": (Membership.Role.NURSE, "Jo", "Okafor", "RELIEFTRACKERDEMONURSESECRETCODE"),
    "demo-coordinator": (
        Membership.Role.COORDINATOR,
        "Lee",
        "Carter",
        "RELIEFTRACKERDEMOCOORDINATORCODE",
    ),
}
INJECTOR = "Dr Sam Rivera"
SEED = 2026

FIRST_INJECTION_DAY = 16  # so that cycle 1 has a 14-day baseline before it
THRESHOLD = 25.0  # meaningful relief, percent (relief.ReliefSettings): the curves cross it
ONSET_RISE = 5.0  # percent a day, at least: relief comes over days, not weeks
FADE_DAYS = 4  # from just below the threshold down to no relief at all
OVERRUN_DAYS = 10  # a cycle that outlasts its next injection would wear off this much later


@dataclass(frozen=True)
class CyclePlan:
    """One injection and how it works, in days since it: the relief curve passes the
    threshold on the way up at `onset`, is highest around `peak` and falls below the
    threshold at `wears_off` (None: it still works when the next injection comes). relief.py
    may measure other days: a baseline that still holds the last cycle's relief is lower."""

    length: int  # days until the next injection (the current cycle's is never reached)
    onset: int
    peak: int
    wears_off: int | None = None
    units: int | None = None  # None: the plan's usual dose


@dataclass(frozen=True)
class PlannedReaction:
    injection_number: int  # 0-based, chronological
    kind: str
    severity: str
    onset_after: int  # days after the injection
    lasts: int | None = None  # days from onset to resolution; None: not over yet
    pain_reliever: str = ""
    pain_reliever_dose: str = ""
    note: str = ""
    handled_note: str = ""  # a red flag the demo clinician has handled, the day it began


@dataclass(frozen=True)
class DemoPlan:
    username: str
    first_name: str
    last_name: str
    time_zone: str
    condition: str
    days: int  # of diary, up to and including the patient's today
    product: str
    units: int
    unit_step: Decimal  # the smallest amount a site gets
    sites: list[tuple[str, str, float]]  # muscle, side, share of the total
    baseline: float  # the usual daily severity without relief
    peak_relief: float  # percent
    cycles: list[CyclePlan]
    reactions: list[PlannedReaction] = field(default_factory=list)
    spasticity_cause: str = ""
    noise: float = 0.9  # standard deviation of a day's score
    missed_share: float = 0.1
    flares: int = 3  # bad spells of 2-4 days a year, on days without relief
    recent_logs: int = 14  # how many of the last 14 days were logged
    pain_share: float = 0.0  # of the days that also have a pain score
    spasm_share: float = 0.0  # of the days that also have a Penn spasm frequency
    guidance: str = ""
    notes: tuple[str, ...] = ()


PLANS_FILE = Path(__file__).with_name("demo_patients.toml")


def load_plans(path: Path = PLANS_FILE) -> list[DemoPlan]:
    """The demo patients, as demo_patients.toml describes them."""
    with path.open("rb") as file:
        patients = tomllib.load(file)["patient"]
    return [
        DemoPlan(
            **patient
            | {
                "unit_step": Decimal(patient["unit_step"]),
                "sites": [tuple(site) for site in patient["sites"]],
                "cycles": [CyclePlan(**cycle) for cycle in patient["cycles"]],
                "reactions": [PlannedReaction(**r) for r in patient.get("reactions", [])],
                "notes": tuple(patient.get("notes", ())),
            }
        )
        for patient in patients
    ]


PLANS = load_plans()
ALEX, *OTHER_PATIENTS = PLANS


def relief_curve(day: int, plan: CyclePlan, peak_relief: float) -> float:
    """The relief (percent) the patient feels on this day of the cycle, along straight lines:
    up through the threshold at the onset, at least ONSET_RISE a day for 3 days, and on to
    the peak; at its highest for the 5 days around the peak; halfway down to a holding level
    in the week after; slowly to the holding level, then over about two weeks through the
    threshold as it wears off; and to nothing FADE_DAYS later. The lines run straight for the
    smoothing's half-window (3 days) either side of each crossing, so that the smoothed
    relief crosses on the same day."""
    wears_off = plan.wears_off or plan.length + OVERRUN_DAYS
    rise = max(ONSET_RISE, (peak_relief - THRESHOLD) / (plan.peak - 2 - plan.onset))
    rising_for = min(3, (peak_relief - THRESHOLD) / rise)
    holding = THRESHOLD + 20
    points = [
        (plan.onset - THRESHOLD / rise, 0.0),
        (plan.onset + rising_for, THRESHOLD + rise * rising_for),
        (plan.peak - 2, peak_relief),
        (plan.peak + 2, peak_relief),
        (plan.peak + 9, (peak_relief + holding) / 2),
        # Half a day early: below the threshold (not at it) on the day it wears off.
        (wears_off - 10.5, holding),
        (wears_off + 2.5, THRESHOLD - 6),
        (wears_off + 2.5 + FADE_DAYS, 0.0),
    ]
    for (day_a, relief_a), (day_b, relief_b) in pairwise(points):
        if day_a <= day < day_b:
            return relief_a + (relief_b - relief_a) * (day - day_a) / (day_b - day_a)
    return 0.0


def schedule(plan: DemoPlan, days: int) -> list[tuple[int, CyclePlan]]:
    """Each injection's day in the diary (0 its first day) with its cycle. A diary longer
    than the plan repeats the plan's cycles."""
    planned = []
    day = FIRST_INJECTION_DAY
    for cycle_plan in cycle(plan.cycles):
        if day >= days:
            return planned
        planned.append((day, cycle_plan))
        day += cycle_plan.length
    return planned


def planned_relief(day: int, injections: list[tuple[int, CyclePlan]], peak_relief: float) -> float:
    """The relief on a day of the diary, from the latest injection and what is left of the one
    before (a cycle that outlasts the next injection): each relieves its share of what the
    other leaves."""
    started = [(start, plan) for start, plan in injections if start <= day][-2:]
    left = 1.0
    for start, plan in started:
        left *= 1 - relief_curve(day - start, plan, peak_relief) / 100
    return (1 - left) * 100


def clamp(value: float, low: int, high: int) -> int:
    return min(high, max(low, round(value)))


def missed_days(plan: DemoPlan, days: int, rng: random.Random) -> set[int]:
    """The days with no log: a few runs of 3-5 days (a holiday, a flu), the rest scattered;
    of the last 14 days, all but `recent_logs`."""
    missed: set[int] = set()
    for _ in range(rng.randint(3, 4)):
        start = rng.randrange(days - 5)
        missed.update(range(start, start + rng.randint(3, 5)))
    while len(missed) < round(days * plan.missed_share):
        missed.add(rng.randrange(days))
    recent = range(days - 14, days)
    missed.update(rng.sample(recent, 14 - plan.recent_logs))
    return missed


def flare_days(
    plan: DemoPlan, injections: list[tuple[int, CyclePlan]], days: int, rng: random.Random
) -> dict[int, int]:
    """A few bad spells of 2-4 days (a cold, a stressful week): day -> extra severity. Only
    on days without relief, so that a flare never passes for wearing off."""
    calm = [day for day in range(days) if planned_relief(day, injections, plan.peak_relief) == 0]
    extra = {}
    for _ in range(round(plan.flares * days / 365)):
        start, worse, length = rng.choice(calm), rng.randint(2, 3), rng.randint(2, 4)
        extra |= {day: worse for day in range(start, start + length) if day in calm}
    return extra


def split_dose(plan: DemoPlan, total: int, rng: random.Random) -> list[tuple[str, str, Decimal]]:
    """The total split across the plan's sites in multiples of its step, adding up to it."""
    sites, remaining, step = [], Decimal(total), float(plan.unit_step)
    for muscle, side, share in plan.sites[:-1]:
        units = plan.unit_step * round(total * share * rng.uniform(0.9, 1.1) / step)
        sites.append((muscle, side, units))
        remaining -= units
    muscle, side, _ = plan.sites[-1]
    return [*sites, (muscle, side, remaining)]


def daily_logs(
    patient: Patient,
    plan: DemoPlan,
    start: date,
    days: int,
    injections: list[tuple[int, CyclePlan]],
    rng: random.Random,
) -> list[DailyLog]:
    missed = missed_days(plan, days, rng)
    flares = flare_days(plan, injections, days, rng)
    logs = []
    for day in range(days):
        relief = planned_relief(day, injections, plan.peak_relief)
        expected = plan.baseline * (1 - relief / 100) + flares.get(day, 0)
        # Drawn even on missed days, so that one missed day does not reshuffle the rest.
        severity = clamp(rng.gauss(expected, plan.noise), 0, 10)
        pain = clamp(rng.gauss(severity * 0.8, 1.0), 0, 10)
        spasms = clamp(severity / 2.5 + rng.gauss(0, 0.5), 0, 4)
        has_pain, has_spasms = rng.random() < plan.pain_share, rng.random() < plan.spasm_share
        note = rng.choice(plan.notes) if plan.notes and rng.random() < 0.06 else ""
        if day not in missed:
            logs.append(
                DailyLog(
                    patient=patient,
                    date=start + timedelta(days=day),
                    severity=severity,
                    pain=pain if has_pain else None,
                    spasm_frequency=spasms if has_spasms else None,
                    note=note,
                )
            )
    return logs


def planned_reactions(
    patient: Patient, plan: DemoPlan, injections: list[Injection], clinician: User | None
) -> list[Reaction]:
    today = patient.today()
    reactions = []
    for planned in plan.reactions:
        if planned.injection_number >= len(injections):
            continue
        injection = injections[planned.injection_number]
        onset = injection.date + timedelta(days=planned.onset_after)
        if onset > today:
            continue
        resolved = None if planned.lasts is None else onset + timedelta(days=planned.lasts)
        handled = clinician and planned.handled_note
        reactions.append(
            Reaction(
                patient=patient,
                injection=injection,
                kind=planned.kind,
                severity=planned.severity,
                onset_date=onset,
                resolved_date=resolved if resolved and resolved <= today else None,
                pain_reliever=planned.pain_reliever,
                pain_reliever_dose=planned.pain_reliever_dose,
                note=planned.note,
                handled_at=datetime.combine(onset, time(16, 30), patient.zone) if handled else None,
                handled_by=clinician if handled else None,
                handled_note=planned.handled_note if handled else "",
            )
        )
    return reactions


def generate_diary(
    patient: Patient, days: int | None = None, plan: DemoPlan = ALEX, clinician: User | None = None
) -> list[Injection]:
    """Fill an empty diary with `days` (by default the plan's) days of logs, injections and
    reactions up to the patient's today; `clinician` has handled the plan's handled red flags."""
    days = days or plan.days
    rng = random.Random(f"{SEED}/{plan.username}")
    start = patient.today() - timedelta(days=days - 1)
    planned = schedule(plan, days)

    injections, sites = [], []
    for day, cycle_plan in planned:
        total = cycle_plan.units or plan.units
        injection = Injection(
            patient=patient,
            date=start + timedelta(days=day),
            product=plan.product,
            total_units=Decimal(total),
            guidance=plan.guidance if rng.random() < 0.6 else "",
            injector=INJECTOR,
            entered_by=patient.user,
        )
        injections.append(injection)
        sites += [
            InjectionSite(injection=injection, muscle=muscle, side=side, units=units)
            for muscle, side, units in split_dose(plan, total, rng)
        ]
    Injection.objects.bulk_create(injections)
    InjectionSite.objects.bulk_create(sites)
    DailyLog.objects.bulk_create(daily_logs(patient, plan, start, days, planned, rng))
    Reaction.objects.bulk_create(planned_reactions(patient, plan, injections, clinician))
    diary_changed(patient.pk)  # bulk_create saves no model: tracker/revisions.py
    return injections


def clear_diary(patient: Patient) -> None:
    patient.reactions.all().delete()
    patient.injections.all().delete()
    patient.logs.all().delete()


def has_diary(patient: Patient) -> bool:
    return patient.logs.exists() or patient.injections.exists() or patient.reactions.exists()


def demo_user(username: str, role: str, first_name: str, last_name: str) -> User:
    """The demo account, created or put back as the demo expects, with a verified email so
    it can log in at once although email verification is mandatory."""
    email = f"{username}@example.com"
    wanted = {"role": role, "first_name": first_name, "last_name": last_name, "email": email}
    user, _ = User.objects.get_or_create(username=username, defaults=wanted)
    changed = [name for name, value in wanted.items() if getattr(user, name) != value]
    if changed:
        for name in changed:
            setattr(user, name, wanted[name])
        user.save(update_fields=changed)
    if not user.check_password(PASSWORD):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    EmailAddress.objects.filter(user=user).exclude(email=email).update(primary=False)
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def give_demo_authenticator(member: User, secret: str = CLINICIAN_TOTP_SECRET) -> None:
    """The clinic asks every member for a second factor: each demo member's authenticator app
    has a published secret (README), like the password."""
    Authenticator.objects.update_or_create(
        user=member, type=Authenticator.Type.TOTP, defaults={"data": {"secret": secret}}
    )


def seed_clinic(clinician: User) -> Clinic:
    """The demo clinic: demo-clinician (its admin), a nurse and a coordinator, each with an
    authenticator app. A clinic demo-clinician already runs (made of them by migration 0012) is
    the one set up, so that running this again adds nothing."""
    clinic = (
        Clinic.objects.filter(memberships__user=clinician, memberships__is_admin=True)
        .order_by("pk")
        .first()
    ) or Clinic()
    for name, value in CLINIC.items():
        setattr(clinic, name, value)
    clinic.save()
    for username, (role, first, last, secret) in MEMBERS.items():
        member = clinician if username == CLINICIAN_USERNAME else None
        member = member or demo_user(username, User.Role.CLINICIAN, first, last)
        give_demo_authenticator(member, secret)
        Membership.objects.active().update_or_create(
            clinic=clinic,
            user=member,
            defaults={"role": role, "is_admin": username == CLINICIAN_USERNAME},
        )
    return clinic


def seed_patient(plan: DemoPlan, clinic: Clinic, clinician: User, reset: bool) -> Patient:
    """The plan's patient, sharing with the clinic, with their diary unless they have one."""
    user = demo_user(plan.username, User.Role.PATIENT, plan.first_name, plan.last_name)
    patient, _ = Patient.objects.get_or_create(user=user, defaults={"time_zone": plan.time_zone})
    if patient.spasticity_cause != plan.spasticity_cause:
        patient.spasticity_cause = plan.spasticity_cause
        patient.save(update_fields=["spasticity_cause"])
    PatientCondition.objects.get_or_create(patient=patient, condition=plan.condition)
    share_diary(patient, clinic=clinic)
    if reset:
        clear_diary(patient)
    if reset or not has_diary(patient):
        generate_diary(patient, plan=plan, clinician=clinician)
    return patient


class Command(BaseCommand):
    help = (
        "Create the demo accounts demo-patient and demo-clinician (password "
        f"{PASSWORD}) and about 18 months of the patient's diary, shared with the "
        f"clinician, plus {len(OTHER_PATIENTS)} patients with other conditions who share "
        "with the clinician too. Safe to run again: existing data is kept unless --reset "
        "is given."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo patients' diaries and generate them afresh, dated up to today.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even when DEBUG is off. The demo password is public: never in production.",
        )

    def handle(self, *args, reset: bool, force: bool, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates accounts with a published password, so it runs only with "
                "DEBUG on (DJANGO_DEBUG=1). Use --force if you really mean it."
            )
        with transaction.atomic():
            clinician = demo_user(CLINICIAN_USERNAME, User.Role.CLINICIAN, "Sam", "Rivera")
            clinic = seed_clinic(clinician)
            patient, *_ = [seed_patient(plan, clinic, clinician, reset) for plan in PLANS]

        first_log = patient.logs.order_by("date").first()
        days = (patient.today() - first_log.date).days + 1 if first_log else 0
        self.stdout.write(
            f"Demo data ready: {PATIENT_USERNAME} ({days} days, {patient.logs.count()} logs, "
            f"{patient.injections.count()} injections, {patient.reactions.count()} reactions) "
            f"and {CLINICIAN_USERNAME}, who also sees {len(OTHER_PATIENTS)} more patients "
            f"({', '.join(plan.username for plan in OTHER_PATIENTS)}); password {PASSWORD}; "
            f"{CLINICIAN_USERNAME}'s authenticator app secret {CLINICIAN_TOTP_SECRET}; "
            f"{clinic.name}'s other members: "
            + "; ".join(
                f"{username} ({role}, secret {secret})"
                for username, (role, _, _, secret) in MEMBERS.items()
                if username != CLINICIAN_USERNAME
            )
        )
