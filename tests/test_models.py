import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from tests import factories
from tracker.access import get_patient_for_user
from tracker.models import DailyLog, Patient


def test_patient_sees_only_their_own_record(patient, other_patient):
    assert list(Patient.objects.visible_to(patient.user)) == [patient]


def test_clinician_sees_patients_who_share_with_them(patient, other_patient, clinician):
    assert list(Patient.objects.visible_to(clinician)) == [patient]


def test_clinician_loses_access_when_share_is_revoked(patient, clinician):
    patient.shares.update(revoked_at=timezone.now())
    assert not Patient.objects.visible_to(clinician).exists()


def test_get_patient_for_user_answers_404_to_a_stranger(patient, other_patient):
    with pytest.raises(Http404):
        get_patient_for_user(other_patient.user, patient.pk)


def test_get_patient_for_user_gives_the_owner_their_record(patient):
    assert get_patient_for_user(patient.user) == patient


def test_saving_a_change_raises_the_version(patient):
    log = factories.DailyLogFactory(patient=patient, severity=4)
    assert log.version == 1
    log.severity = 3
    log.save(update_fields=["severity"])
    log.refresh_from_db()
    assert (log.version, log.severity) == (2, 3)
    assert DailyLog.objects.count() == 1


def test_relief_cycles_reads_the_patients_injections_and_logs(patient, frozen_now):
    from tests.conftest import TODAY

    shot = factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=20))
    for n in range(1, 15):
        factories.DailyLogFactory(
            patient=patient, date=shot.date - dt.timedelta(days=n), severity=8
        )
    for n in range(0, 21):
        factories.DailyLogFactory(
            patient=patient, date=shot.date + dt.timedelta(days=n), severity=4
        )
    (cycle,) = patient.relief_cycles()
    assert cycle.injection_id == shot.pk
    assert cycle.baseline == 8
    assert cycle.ongoing
    assert cycle.onset_day == 1
