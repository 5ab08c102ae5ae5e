"""The cause of limb spasticity: asked with the conditions, kept only with limb spasticity,
shown to clinicians beside the condition and sent in the FHIR export."""

import re

import pytest
from django.urls import reverse

from tests import factories
from tracker.diary import read_diary
from tracker.exports import fhir_bundle
from tracker.models import Patient

pytestmark = pytest.mark.usefixtures("frozen_now")


def test_onboarding_saves_the_cause_of_limb_spasticity(db, logged_in):
    user = factories.UserFactory()
    response = logged_in(user).post(
        reverse("onboarding"),
        {"conditions": ["limb_spasticity"], "spasticity_cause": "stroke", "time_zone": "UTC"},
    )
    assert response.status_code == 302
    assert Patient.objects.get(user=user).spasticity_cause == "stroke"


def test_the_cause_is_optional(db, logged_in):
    user = factories.UserFactory()
    logged_in(user).post(
        reverse("onboarding"),
        {"conditions": ["limb_spasticity"], "spasticity_cause": "", "time_zone": "UTC"},
    )
    assert Patient.objects.get(user=user).spasticity_cause == ""


def test_a_cause_without_limb_spasticity_is_not_kept(web, patient):
    web.post(
        reverse("settings"),
        {
            "conditions": ["cervical_dystonia"],
            "spasticity_cause": "multiple_sclerosis",
            "time_zone": "UTC",
        },
    )
    patient.refresh_from_db()
    assert patient.spasticity_cause == ""


def test_unticking_limb_spasticity_forgets_its_cause(web, patient):
    patient.conditions.create(condition="limb_spasticity")
    patient.spasticity_cause = "cerebral_palsy"
    patient.save()
    web.post(reverse("settings"), {"conditions": ["cervical_dystonia"], "time_zone": "UTC"})
    patient.refresh_from_db()
    assert (patient.condition_codes, patient.spasticity_cause) == (["cervical_dystonia"], "")


def test_an_unknown_cause_is_refused_with_a_message(web, patient):
    response = web.post(
        reverse("settings"),
        {"conditions": ["limb_spasticity"], "spasticity_cause": "bad-luck", "time_zone": "UTC"},
    )
    assert response.status_code == 200
    assert "bad-luck is not one of the available choices" in response.content.decode()
    patient.refresh_from_db()
    assert patient.spasticity_cause == ""


@pytest.mark.parametrize("page", ["onboarding", "settings"])
def test_the_question_is_on_the_page_without_javascript(db, logged_in, page):
    if page == "onboarding":
        user = factories.UserFactory()
    else:
        user = factories.PatientFactory(conditions=["cervical_dystonia"]).user
    html = logged_in(user).get(reverse(page)).content.decode()
    assert "What caused the limb spasticity?" in html
    assert "Only if you are treated for limb spasticity." in html
    assert 'value="stroke"' in html
    # js/conditions.js hides it until limb spasticity is ticked: a file, no inline script.
    assert 'src="/static/js/conditions.js"' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


def test_settings_shows_the_recorded_cause_as_chosen(web, patient):
    patient.conditions.create(condition="limb_spasticity")
    patient.spasticity_cause = "brain_injury"
    patient.save()
    html = web.get(reverse("settings")).content.decode()
    assert re.search(r'value="brain_injury"[^>]*checked', html)


@pytest.mark.parametrize(
    ("conditions", "cause", "label"),
    [
        (["limb_spasticity"], "stroke", "Limb spasticity (stroke)"),
        (["limb_spasticity"], "", "Limb spasticity"),
        (
            ["cervical_dystonia", "limb_spasticity"],
            "other",
            "Cervical dystonia, Limb spasticity (another cause)",
        ),
        (["cervical_dystonia"], "stroke", "Cervical dystonia"),
    ],
)
def test_conditions_label_names_the_cause_beside_limb_spasticity(db, conditions, cause, label):
    patient = factories.PatientFactory(conditions=conditions, spasticity_cause=cause)
    assert patient.conditions_label == label


def test_the_clinicians_report_names_the_cause(clinician, patient, logged_in):
    patient.conditions.create(condition="limb_spasticity")
    patient.spasticity_cause = "spinal_cord_injury"
    patient.save()
    response = logged_in(clinician).get(reverse("clinic_report", args=[patient.pk]))
    assert "Limb spasticity (spinal cord injury)" in response.content.decode()


def test_the_fhir_procedure_gives_the_cause_as_its_reason(patient, injection):
    patient.conditions.create(condition="limb_spasticity")
    patient.spasticity_cause = "multiple_sclerosis"
    patient.save()
    bundle = fhir_bundle(patient, read_diary(patient, logs=True))
    (procedure,) = [
        entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Procedure"
    ]
    assert procedure["reasonCode"] == [
        {"text": "Cervical dystonia"},
        {"text": "Limb spasticity (multiple sclerosis)"},
    ]
