import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tracker.models import (
    DailyLog,
    Injection,
    InjectionSite,
    Patient,
    PatientCondition,
    Reaction,
    Share,
    User,
)

PASSWORD = "relief-demo-2026"
PATIENT_USERNAME = "demo-patient"
CLINICIAN_USERNAME = "demo-clinician"
# The demo clinician's authenticator app (TOTP, base32): public, for local use only.
CLINICIAN_TOTP_SECRET = "RELIEFTRACKERDEMOCLINICIANSECRET"
INJECTOR = "Dr Sam Rivera"
SEED = 2026

DIARY_DAYS = 548  # about 18 months, up to and including the patient's today
FIRST_INJECTION_DAY = 16  # so that cycle 1 has a 14-day baseline before it

# Cervical dystonia figures from docs/clinical-rules.md ("Literature figures"): baseline ~7,
# relief from ~day 10-14, best (~3) at ~4.5 weeks, symptoms back at ~74 days.
BASELINE_SEVERITY = 7.0
BEST_SEVERITY = 3.0
NOISE_SD = 0.9
MISSED_SHARE = 0.12

NOTES = [
    "Bad night",
    "Busy day at work",
    "Long drive, neck tired",
    "Stressful day",
    "Slept well",
    "Walked the dog, felt OK",
    "Pulling to the left again",
    "Hard to read for long",
]

# Where the demo clinician injects a left-rotating torticollis, as shares of the total.
SITE_PLAN = [
    ("sternocleidomastoid", "left", 0.25),
    ("splenius_capitis", "right", 0.35),
    ("trapezius", "right", 0.20),
    ("levator_scapulae", "right", 0.20),
]


@dataclass(frozen=True)
class CycleShape:
    """How one injection works for the demo patient, in days since the injection."""

    relief_starts: int  # the last day at baseline; the neck eases from the next day
    full_relief: int  # the first day at its best
    wears_off: int  # the last day at its best
    relief_gone: int  # back at baseline from this day on
    length: int  # days until the next injection


@dataclass(frozen=True)
class PlannedReaction:
    injection_number: int  # 0-based, chronological
    kind: str
    severity: str
    onset_after: int  # days after the injection
    lasts: int  # days from onset to resolution
    pain_reliever: str = ""
    pain_reliever_dose: str = ""
    note: str = ""


REACTION_PLAN = [
    PlannedReaction(0, "site_pain", "mild", 0, 3, "Paracetamol", "1 g"),
    PlannedReaction(1, "site_bruising", "mild", 0, 4),
    PlannedReaction(2, "swallowing_mild", "mild", 4, 10, note="Soft food for a week helped."),
    PlannedReaction(2, "headache", "mild", 1, 2),
    PlannedReaction(3, "site_redness", "mild", 0, 2),
    PlannedReaction(
        4,
        "swallowing_speaking_worse",
        "severe",
        8,
        5,
        note="Choking on water and my voice went quiet. Rang the clinic, seen the same day; "
        "settled over a few days.",
    ),
    PlannedReaction(5, "site_pain", "mild", 1, 3),
]


def cycle_shape(rng: random.Random) -> CycleShape:
    relief_starts = rng.randint(5, 8)
    wears_off = rng.randint(60, 72)
    relief_gone = wears_off + rng.randint(10, 14)
    # The clinic books 12-14 weeks ahead, and by then this patient's relief has gone: the
    # gap between wearing off and the next injection is what the demo should show.
    length = max(rng.randint(84, 98), relief_gone + 7)
    return CycleShape(relief_starts, rng.randint(28, 35), wears_off, relief_gone, length)


def relief_fraction(day: int, shape: CycleShape) -> float:
    """How much of the full effect the patient feels on this day of the cycle (0 to 1)."""
    if day <= shape.relief_starts or day >= shape.relief_gone:
        return 0.0
    if day < shape.full_relief:
        progress = (day - shape.relief_starts) / (shape.full_relief - shape.relief_starts)
        return 1 - (1 - progress) ** 2  # eases quickly at first, then levels off
    if day <= shape.wears_off:
        return 1.0
    return 1 - (day - shape.wears_off) / (shape.relief_gone - shape.wears_off)


def expected_severity(day_of_cycle: int | None, shape: CycleShape | None) -> float:
    if day_of_cycle is None or shape is None:
        return BASELINE_SEVERITY
    return BASELINE_SEVERITY - (BASELINE_SEVERITY - BEST_SEVERITY) * relief_fraction(
        day_of_cycle, shape
    )


def clamp(value: float, low: int, high: int) -> int:
    return min(high, max(low, round(value)))


def severity_on(day_of_cycle: int | None, shape: CycleShape | None, rng: random.Random) -> int:
    return clamp(rng.gauss(expected_severity(day_of_cycle, shape), NOISE_SD), 0, 10)


def missed_days(day_count: int, rng: random.Random) -> set[int]:
    """Indexes of the days with no log: a few runs of 3-5 days (a holiday, a flu), the
    rest scattered, about 12 % in all."""
    missed: set[int] = set()
    for _ in range(rng.randint(3, 4)):
        start = rng.randrange(day_count - 5)
        missed.update(range(start, start + rng.randint(3, 5)))
    target = round(day_count * MISSED_SHARE)
    while len(missed) < target:
        missed.add(rng.randrange(day_count))
    return missed


def split_dose(total: int, rng: random.Random) -> list[tuple[str, str, Decimal]]:
    """The total split across SITE_PLAN in multiples of 5 units, summing exactly to it."""
    sites = []
    remaining = total
    for muscle, side, share in SITE_PLAN[:-1]:
        units = 5 * round(total * share * rng.uniform(0.9, 1.1) / 5)
        sites.append((muscle, side, Decimal(units)))
        remaining -= units
    muscle, side, _ = SITE_PLAN[-1]
    sites.append((muscle, side, Decimal(remaining)))
    return sites


def plan_injections(start: date, today: date, rng: random.Random) -> list[tuple[date, CycleShape]]:
    planned = []
    day = start + timedelta(days=FIRST_INJECTION_DAY)
    while day <= today:
        shape = cycle_shape(rng)
        planned.append((day, shape))
        day += timedelta(days=shape.length)
    return planned


def daily_logs(
    patient: Patient,
    start: date,
    today: date,
    injections: list[tuple[date, CycleShape]],
    rng: random.Random,
) -> list[DailyLog]:
    day_count = (today - start).days + 1
    missed = missed_days(day_count, rng)
    logs = []
    cycle_index = -1
    for offset in range(day_count):
        day = start + timedelta(days=offset)
        while cycle_index + 1 < len(injections) and injections[cycle_index + 1][0] <= day:
            cycle_index += 1
        # Drawn even on missed days, so that one missed day does not reshuffle the rest.
        if cycle_index >= 0:
            injected_on, shape = injections[cycle_index]
            severity = severity_on((day - injected_on).days, shape, rng)
        else:
            severity = severity_on(None, None, rng)
        pain = clamp(rng.gauss(severity * 0.8, 1.0), 0, 10) if rng.random() < 0.5 else None
        spasms = clamp(severity / 2.5 + rng.gauss(0, 0.5), 0, 4) if rng.random() < 0.3 else None
        note = rng.choice(NOTES) if rng.random() < 0.06 else ""
        if offset in missed:
            continue
        logs.append(
            DailyLog(
                patient=patient,
                date=day,
                severity=severity,
                pain=pain,
                spasm_frequency=spasms,
                note=note,
            )
        )
    return logs


def planned_reactions(patient: Patient, injections: list[Injection], today: date) -> list[Reaction]:
    reactions = []
    for plan in REACTION_PLAN:
        if plan.injection_number >= len(injections):
            continue
        injection = injections[plan.injection_number]
        onset = injection.date + timedelta(days=plan.onset_after)
        if onset > today:
            continue
        resolved = onset + timedelta(days=plan.lasts)
        reactions.append(
            Reaction(
                patient=patient,
                injection=injection,
                kind=plan.kind,
                severity=plan.severity,
                onset_date=onset,
                resolved_date=resolved if resolved <= today else None,
                pain_reliever=plan.pain_reliever,
                pain_reliever_dose=plan.pain_reliever_dose,
                note=plan.note,
            )
        )
    return reactions


def generate_diary(patient: Patient, days: int = DIARY_DAYS) -> list[Injection]:
    """Fill an empty diary with `days` days of logs, injections and reactions."""
    rng = random.Random(SEED)
    today = patient.today()
    start = today - timedelta(days=days - 1)
    planned = plan_injections(start, today, rng)

    injections = []
    sites = []
    for injected_on, _shape in planned:
        total = rng.choice([200, 210, 220, 230, 240])
        injection = Injection(
            patient=patient,
            date=injected_on,
            product="botox",
            total_units=Decimal(total),
            guidance="emg" if rng.random() < 0.5 else "",
            injector=INJECTOR,
            entered_by=patient.user,
        )
        injections.append(injection)
        sites += [
            InjectionSite(injection=injection, muscle=muscle, side=side, units=units)
            for muscle, side, units in split_dose(total, rng)
        ]
    Injection.objects.bulk_create(injections)
    InjectionSite.objects.bulk_create(sites)
    DailyLog.objects.bulk_create(daily_logs(patient, start, today, planned, rng))
    Reaction.objects.bulk_create(planned_reactions(patient, injections, today))
    return injections


# More patients of the demo clinician, with other conditions: ~4 months each, so that the clinic
# list has something to sort. Figures from docs/clinical-rules.md ("Literature figures").


@dataclass(frozen=True)
class DemoPatient:
    username: str
    first_name: str
    last_name: str
    time_zone: str
    condition: str
    product: str
    total_units: Decimal
    sites: list[tuple[str, str, Decimal]]  # muscle, side, units: adding up to the total
    baseline: float
    best: float
    relief_starts: tuple[int, int]  # ranges, in days since the injection
    full_relief: tuple[int, int]
    wears_off: tuple[int, int]
    cycle_length: int
    reactions: list[PlannedReaction]
    open_red_flag: str = ""  # a red-flag reaction the patient reported 3 days ago
    recent_logs: int = 14  # how many of the last 14 days were logged
    penn: bool = False  # logs the spasm frequency every day


EXTRA_DAYS = 120
OTHER_PATIENTS = [
    DemoPatient(
        username="demo-priya",
        first_name="Priya",
        last_name="Shah",
        time_zone="Europe/London",
        condition="blepharospasm",
        product="xeomin",
        total_units=Decimal(50),
        sites=[
            ("orbicularis_oculi_pretarsal", "left", Decimal("12.5")),
            ("orbicularis_oculi_pretarsal", "right", Decimal("12.5")),
            ("orbicularis_oculi_preseptal", "left", Decimal(10)),
            ("orbicularis_oculi_preseptal", "right", Decimal(10)),
            ("procerus", "midline", Decimal(5)),
        ],
        baseline=6.5,
        best=2.0,
        relief_starts=(2, 4),
        full_relief=(10, 14),
        wears_off=(72, 80),
        cycle_length=91,
        reactions=[PlannedReaction(0, "dry_eye", "mild", 2, 12, note="Drops helped.")],
    ),
    DemoPatient(
        username="demo-tom",
        first_name="Tom",
        last_name="Becker",
        time_zone="America/New_York",
        condition="spasmodic_dysphonia",
        product="botox",
        total_units=Decimal(3),
        sites=[
            ("thyroarytenoid", "left", Decimal("1.5")),
            ("thyroarytenoid", "right", Decimal("1.5")),
        ],
        baseline=7.0,
        best=2.5,
        relief_starts=(1, 2),
        full_relief=(6, 8),
        wears_off=(40, 48),
        cycle_length=84,
        reactions=[
            PlannedReaction(0, "breathy_voice", "moderate", 1, 11),
            PlannedReaction(1, "breathy_voice", "mild", 1, 9),
        ],
        open_red_flag="breathing",
    ),
    DemoPatient(
        username="demo-maria",
        first_name="Maria",
        last_name="Costa",
        time_zone="Europe/Madrid",
        condition="limb_spasticity",
        product="dysport",
        total_units=Decimal(1000),
        sites=[
            ("biceps", "right", Decimal(300)),
            ("brachioradialis", "right", Decimal(200)),
            ("flexor_digitorum", "right", Decimal(250)),
            ("flexor_carpi", "right", Decimal(250)),
        ],
        baseline=6.0,
        best=3.0,
        relief_starts=(8, 12),
        full_relief=(30, 38),
        wears_off=(75, 85),
        cycle_length=98,
        reactions=[PlannedReaction(0, "limb_weakness", "mild", 10, 14)],
        recent_logs=3,
        penn=True,
    ),
]


def generate_other_diary(patient: Patient, plan: DemoPatient, seed: int) -> None:
    """Fill an empty diary with EXTRA_DAYS days for one of OTHER_PATIENTS."""
    rng = random.Random(seed)
    today = patient.today()
    start = today - timedelta(days=EXTRA_DAYS - 1)
    planned = []
    day = start + timedelta(days=FIRST_INJECTION_DAY)
    while day <= today:
        wears_off = rng.randint(*plan.wears_off)
        shape = CycleShape(
            relief_starts=rng.randint(*plan.relief_starts),
            full_relief=rng.randint(*plan.full_relief),
            wears_off=wears_off,
            relief_gone=wears_off + rng.randint(6, 10),
            length=plan.cycle_length,
        )
        planned.append((day, shape))
        day += timedelta(days=shape.length)

    injections = [
        Injection(
            patient=patient,
            date=injected_on,
            product=plan.product,
            total_units=plan.total_units,
            injector=INJECTOR,
            guidance="emg" if plan.condition == "spasmodic_dysphonia" else "",
            entered_by=patient.user,
        )
        for injected_on, _ in planned
    ]
    Injection.objects.bulk_create(injections)
    InjectionSite.objects.bulk_create(
        InjectionSite(injection=injection, muscle=muscle, side=side, units=units)
        for injection in injections
        for muscle, side, units in plan.sites
    )

    recent_from = today - timedelta(days=13)
    recent_logged = set(rng.sample(range(14), plan.recent_logs))
    logs = []
    cycle_index = -1
    for offset in range(EXTRA_DAYS):
        day = start + timedelta(days=offset)
        while cycle_index + 1 < len(planned) and planned[cycle_index + 1][0] <= day:
            cycle_index += 1
        fraction = 0.0
        if cycle_index >= 0:
            injected_on, shape = planned[cycle_index]
            fraction = relief_fraction((day - injected_on).days, shape)
        expected = plan.baseline - (plan.baseline - plan.best) * fraction
        severity = clamp(rng.gauss(expected, NOISE_SD), 0, 10)
        spasms = clamp(severity / 2.5 + rng.gauss(0, 0.5), 0, 4) if plan.penn else None
        if day >= recent_from:
            logged = (day - recent_from).days in recent_logged
        else:
            logged = rng.random() >= 0.1
        if logged:
            logs.append(
                DailyLog(patient=patient, date=day, severity=severity, spasm_frequency=spasms)
            )
    DailyLog.objects.bulk_create(logs)

    reactions = []
    for reaction_plan in plan.reactions:
        if reaction_plan.injection_number < len(injections):
            injection = injections[reaction_plan.injection_number]
            onset = injection.date + timedelta(days=reaction_plan.onset_after)
            resolved = onset + timedelta(days=reaction_plan.lasts)
            if onset <= today:
                reactions.append(
                    Reaction(
                        patient=patient,
                        injection=injection,
                        kind=reaction_plan.kind,
                        severity=reaction_plan.severity,
                        onset_date=onset,
                        resolved_date=resolved if resolved <= today else None,
                        note=reaction_plan.note,
                    )
                )
    if plan.open_red_flag:
        reactions.append(
            Reaction(
                patient=patient,
                injection=injections[-1],
                kind=plan.open_red_flag,
                severity="moderate",
                onset_date=max(injections[-1].date, today - timedelta(days=3)),
                note="Short of breath climbing stairs since Tuesday.",
            )
        )
    Reaction.objects.bulk_create(reactions)


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
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"role": role, "first_name": first_name, "last_name": last_name, "email": email},
    )
    if not created and (user.role, user.first_name, user.last_name, user.email) != (
        role,
        first_name,
        last_name,
        email,
    ):
        user.role, user.first_name, user.last_name, user.email = role, first_name, last_name, email
        user.save(update_fields=["role", "first_name", "last_name", "email"])
    if not user.check_password(PASSWORD):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    EmailAddress.objects.filter(user=user).exclude(email=email).update(primary=False)
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def give_demo_authenticator(clinician: User) -> None:
    """The clinic asks for a second factor: the demo clinician's authenticator app has a
    published secret (README), like the password."""
    Authenticator.objects.update_or_create(
        user=clinician,
        type=Authenticator.Type.TOTP,
        defaults={"data": {"secret": CLINICIAN_TOTP_SECRET}},
    )


class Command(BaseCommand):
    help = (
        "Create the demo accounts demo-patient and demo-clinician (password "
        f"{PASSWORD}) and about 18 months of the patient's diary, shared with the "
        "clinician, plus three patients with other conditions (4 months each) who share "
        "with the clinician too. Safe to run again: existing data is kept unless --reset "
        "is given."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo patient's diary and generate it afresh, dated up to today.",
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
            patient_user = demo_user(PATIENT_USERNAME, User.Role.PATIENT, "Alex", "Morgan")
            clinician = demo_user(CLINICIAN_USERNAME, User.Role.CLINICIAN, "Sam", "Rivera")
            give_demo_authenticator(clinician)
            patient, _ = Patient.objects.get_or_create(
                user=patient_user, defaults={"time_zone": "Europe/London"}
            )
            PatientCondition.objects.get_or_create(patient=patient, condition="cervical_dystonia")
            Share.objects.active().get_or_create(patient=patient, clinician=clinician)
            if reset:
                clear_diary(patient)
            if reset or not has_diary(patient):
                generate_diary(patient)
            for number, plan in enumerate(OTHER_PATIENTS, start=1):
                other = demo_user(plan.username, User.Role.PATIENT, plan.first_name, plan.last_name)
                other_patient, _ = Patient.objects.get_or_create(
                    user=other, defaults={"time_zone": plan.time_zone}
                )
                PatientCondition.objects.get_or_create(
                    patient=other_patient, condition=plan.condition
                )
                Share.objects.active().get_or_create(patient=other_patient, clinician=clinician)
                if reset:
                    clear_diary(other_patient)
                if reset or not has_diary(other_patient):
                    generate_other_diary(other_patient, plan, SEED + number)

        first_log = patient.logs.order_by("date").first()
        days = (patient.today() - first_log.date).days + 1 if first_log else 0
        self.stdout.write(
            f"Demo data ready: {PATIENT_USERNAME} ({days} days, {patient.logs.count()} logs, "
            f"{patient.injections.count()} injections, {patient.reactions.count()} reactions) "
            f"and {CLINICIAN_USERNAME}, who also sees {len(OTHER_PATIENTS)} more patients "
            f"({', '.join(plan.username for plan in OTHER_PATIENTS)}); password {PASSWORD}; "
            f"{CLINICIAN_USERNAME}'s authenticator app secret {CLINICIAN_TOTP_SECRET}"
        )
