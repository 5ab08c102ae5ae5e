"""The demo measured as the app measures it (tracker/relief.py), against the literature table
of docs/clinical-rules.md ("Literature figures"), and the cases a clinician meets in it."""

import statistics
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction

from tests.conftest import NOW
from tracker import models, relief, triage

pytestmark = pytest.mark.django_db  # on top of the demo, seeded once by the `demo` fixture

WITHIN = 0.25  # a median may differ from the literature's figure (or range) by 25 %
SHARE_WITHIN = 0.10  # a share may differ from the literature's by 10 percentage points


@dataclass(frozen=True)
class Figures:
    """Days since the injection as (low, high), low == high for a single figure; and the
    share of cycles that wear off before the next injection."""

    onset: tuple[float, float]
    peak: tuple[float, float] | None
    symptoms_return: tuple[float, float]
    share: float | None


LITERATURE = {
    "cervical_dystonia": Figures((12, 12), (31.5, 31.5), (74, 74), 0.88),
    "limb_spasticity": Figures((13, 13), (35, 35), (89, 89), 0.83),
    "blepharospasm": Figures((4, 4), None, (84, 91), 0.70),
    "spasmodic_dysphonia": Figures((1, 3), (7, 7), (60, 90), None),
}


@dataclass(frozen=True)
class Measured:
    onset: float
    peak: float
    symptoms_return: float
    share: float  # of the finished cycles with an onset, those that wore off


def measure(cycles: list[relief.Cycle]) -> Measured:
    """Medians over the cycles that reached an onset (a cycle that never worked cannot wear
    off); the share over those of them that are finished."""
    worked = [c for c in cycles if c.onset_day is not None]
    finished = [c for c in worked if not c.ongoing]
    return Measured(
        onset=statistics.median(c.onset_day for c in worked),
        peak=statistics.median(c.peak_day for c in worked),
        symptoms_return=statistics.median(
            c.wearing_off_day for c in worked if c.wearing_off_day is not None
        ),
        share=sum(c.wearing_off_day is not None for c in finished) / len(finished),
    )


@dataclass(frozen=True)
class Demo:
    cycles: dict[str, list[relief.Cycle]]  # by username
    conditions: dict[str, list[str]]  # by username

    def by_condition(self, condition: str) -> Measured:
        return measure(
            [
                cycle
                for username, codes in self.conditions.items()
                if condition in codes
                for cycle in self.cycles[username]
            ]
        )


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """seed_demo run once for this module, inside a transaction rolled back at its end."""
    with (
        django_db_blocker.unblock(),
        time_machine.travel(NOW, tick=False),
        transaction.atomic(),
    ):
        call_command("seed_demo", force=True, stdout=None)
        patients = models.Patient.objects.select_related("user").prefetch_related("conditions")
        yield Demo(
            cycles={p.user.username: p.relief_cycles() for p in patients},
            conditions={p.user.username: p.condition_codes for p in patients},
        )
        transaction.set_rollback(True)


def within(value: float, figure: tuple[float, float]) -> bool:
    low, high = figure
    return low * (1 - WITHIN) <= value <= high * (1 + WITHIN)


def test_every_demo_condition_has_literature_figures(demo):
    assert {code for codes in demo.conditions.values() for code in codes} <= set(LITERATURE)


@pytest.mark.parametrize("condition", LITERATURE)
def test_demo_median_onset_peak_and_return_are_within_25_percent_of_the_literature(demo, condition):
    expected, measured = LITERATURE[condition], demo.by_condition(condition)
    assert within(measured.onset, expected.onset)
    assert expected.peak is None or within(measured.peak, expected.peak)
    assert within(measured.symptoms_return, expected.symptoms_return)


@pytest.mark.parametrize(
    "condition", [code for code, figures in LITERATURE.items() if figures.share is not None]
)
def test_demo_share_of_cycles_wearing_off_before_the_next_injection_is_near_the_literature(
    demo, condition
):
    measured = demo.by_condition(condition)
    assert measured.share == pytest.approx(LITERATURE[condition].share, abs=SHARE_WITHIN)
    assert measured.share < 1  # some cycles still work when the next injection comes


def test_the_demo_has_a_long_gap_without_relief_before_a_reinjection(demo):
    gaps = [c.gap_days for c in demo.cycles["demo-patient"] if c.gap_days is not None]
    assert max(gaps) >= 2 * triage.LONG_GAP_DAYS


def test_the_demo_patients_current_cycle_wore_off_early(demo):
    current = demo.cycles["demo-patient"][-1]
    assert current.ongoing
    assert current.wearing_off_day < triage.EARLY_WEARING_OFF_DAY


def test_the_demo_has_one_red_flag_handled_by_the_demo_clinician_with_a_note(demo):
    handled = models.Reaction.objects.red_flags().filter(handled_at__isnull=False).get()
    assert handled.patient.user.username == "demo-patient"
    assert handled.handled_by.username == "demo-clinician"
    assert handled.handled_note
    assert handled.handled_at.date() >= handled.onset_date


def test_the_demo_has_one_red_flag_not_yet_handled(demo):
    unhandled = models.Reaction.objects.red_flags().unhandled().get()
    assert unhandled.patient.user.username == "demo-tom"
    assert unhandled.resolved_date is None
    assert not unhandled.handled_by


def test_demo_spasticity_patients_have_their_cause_recorded(demo):
    causes = models.Patient.objects.filter(conditions__condition="limb_spasticity").values_list(
        "user__username", "spasticity_cause"
    )
    assert dict(causes) == {"demo-maria": "stroke", "demo-kofi": "multiple_sclerosis"}


@pytest.mark.parametrize("username", ["demo-patient", "demo-priya", "demo-tom", "demo-kofi"])
def test_demo_diaries_vary_day_to_day_and_miss_some_days(demo, username):
    patient = models.Patient.objects.get(user__username=username)
    dates = list(patient.logs.order_by("date").values_list("date", flat=True))
    days = (dates[-1] - dates[0]).days + 1
    assert 0.05 <= 1 - len(dates) / days <= 0.15
    severities = list(patient.logs.order_by("date").values_list("severity", flat=True))
    changes = Counter(abs(later - earlier) for earlier, later in pairwise(severities))
    assert changes[0] < len(severities) / 2  # not a smooth curve
    assert max(changes) >= 3  # and a few sudden changes: flares, bad days
