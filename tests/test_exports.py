import csv
import datetime as dt
import functools
import io
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle

from tests import factories
from tests.conftest import TODAY
from tracker import exports
from tracker.models import GlobalImpression

pytestmark = pytest.mark.usefixtures("frozen_now")


@pytest.fixture
def logged_in(logged_in):
    """The patient's downloads ask for their password again: as if just typed."""
    return functools.partial(logged_in, password_just_typed=True)


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


@pytest.fixture
def diary(patient, injection):
    """Ten days: a log with every score, a log of zeros, unlogged days, the injection of
    30 days ago with two sites (from conftest), reactions with a pain reliever."""
    patient.user.first_name, patient.user.last_name = "Pat", "Lee"
    patient.user.save()
    factories.DailyLogFactory(
        patient=patient, date=days_ago(32), severity=7, pain=6, spasm_frequency=3, note="Stiff"
    )
    factories.DailyLogFactory(patient=patient, date=days_ago(30), severity=0, pain=0)
    factories.DailyLogFactory(patient=patient, date=days_ago(25), severity=3, note="=1+2")
    factories.ReactionFactory(
        patient=patient,
        injection=injection,
        kind="headache",
        onset_date=days_ago(29),
        resolved_date=days_ago(28),
        pain_reliever="Paracetamol",
        pain_reliever_dose="1 g",
    )
    factories.ReactionFactory(
        patient=patient,
        injection=injection,
        kind="breathing",
        severity="severe",
        onset_date=days_ago(23),
        note="Short of breath <b>",
    )
    GlobalImpression.objects.create(
        patient=patient, injection=injection, timepoint="peak", date=days_ago(23), score=2
    )
    return patient


def csv_rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


# CSV


def test_the_csv_has_one_row_per_day_from_the_first_to_the_last_record(diary, logged_in):
    response = logged_in(diary.user).get(reverse("export_csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="relief-tracker-patient-{diary.pk}-{TODAY.isoformat()}.csv"'
    )
    assert response["Cache-Control"] == "private, no-store"
    rows = csv_rows(response)
    assert list(rows[0]) == exports.CSV_COLUMNS
    assert [row["date"] for row in rows] == [days_ago(n).isoformat() for n in range(32, 22, -1)]


def test_the_csv_keeps_not_recorded_apart_from_zero(diary, logged_in):
    rows = {row["date"]: row for row in csv_rows(logged_in(diary.user).get(reverse("export_csv")))}
    first, zeros, unlogged = (rows[days_ago(n).isoformat()] for n in [32, 30, 31])
    assert (first["severity"], first["pain"], first["spasm_frequency"]) == ("7", "6", "3")
    assert (zeros["severity"], zeros["pain"], zeros["spasm_frequency"]) == ("0", "0", "")
    assert (unlogged["severity"], unlogged["pain"], unlogged["note"]) == ("", "", "")


def test_the_csv_counts_cycle_days_and_lists_injections_and_reactions(diary, logged_in):
    rows = {row["date"]: row for row in csv_rows(logged_in(diary.user).get(reverse("export_csv")))}
    assert rows[days_ago(32).isoformat()]["day_of_cycle"] == ""
    assert rows[days_ago(30).isoformat()]["day_of_cycle"] == "0"
    assert rows[days_ago(30).isoformat()]["injection"] == "Botox 200 units"
    assert rows[days_ago(25).isoformat()]["day_of_cycle"] == "5"
    assert rows[days_ago(29).isoformat()]["reactions"] == "Headache (mild)"
    assert rows[days_ago(23).isoformat()]["reactions"] == "Difficulty breathing (severe)"


def test_a_note_that_looks_like_a_formula_is_neutralised(diary, logged_in):
    rows = {row["date"]: row for row in csv_rows(logged_in(diary.user).get(reverse("export_csv")))}
    assert rows[days_ago(25).isoformat()]["note"] == "'=1+2"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("-5", "-5"),
        ("+3.5", "+3.5"),
        (-5, "-5"),
        (0, "0"),
        (Decimal("12.5"), "12.5"),
        (None, ""),
        ("Fine day", "Fine day"),
        ("", ""),
    ],
)
def test_safe_cell(value, cell):
    assert exports.safe_cell(value) == cell


def test_an_empty_diary_gives_only_the_header(patient, logged_in):
    rows = csv_rows(logged_in(patient.user).get(reverse("export_csv")))
    assert rows == []


def test_a_download_is_named_by_the_patients_id_never_their_username(db):
    patient = factories.PatientFactory(user__username="a/b c@d..")
    assert (
        exports.patient_file_name(patient, "csv")
        == f"relief-tracker-patient-{patient.pk}-{TODAY.isoformat()}.csv"
    )
    assert exports.download_name("a/b c@d..", TODAY, "csv") == (
        f"relief-tracker-a-b-c-d-{TODAY.isoformat()}.csv"
    )


def test_a_clinician_with_access_gets_the_same_csv(diary, clinician, logged_in):
    own = csv_rows(logged_in(diary.user).get(reverse("export_csv")))
    response = logged_in(clinician).get(reverse("clinic_export_csv", args=[diary.pk]))
    assert csv_rows(response) == own


def test_exports_take_a_fixed_number_of_queries(diary, django_assert_num_queries, logged_in):
    client = logged_in(diary.user)
    # session, user with their patient record; read_diary's four: injections with their sites
    # (one query since tracker/diary.py read them joined; eight before), PGIC answers, logs,
    # reactions
    with django_assert_num_queries(6):
        b"".join(client.get(reverse("export_csv")).streaming_content)
    for n in range(40, 100):
        shot = factories.InjectionFactory(patient=diary, date=days_ago(n))
        factories.InjectionSiteFactory(injection=shot)
        factories.DailyLogFactory(patient=diary, date=days_ago(n))
    with django_assert_num_queries(6):
        b"".join(client.get(reverse("export_csv")).streaming_content)
    # the same and the conditions
    with django_assert_num_queries(7):
        client.get(reverse("export_fhir"))


# FHIR


def fhir(client: Client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    assert response["Content-Disposition"].endswith(f'-{TODAY.isoformat()}.fhir.json"')
    return json.loads(response.content)


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_fhir_bundle_is_valid_r4(diary, logged_in):
    bundle = fhir(logged_in(diary.user), reverse("export_fhir"))
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    counts = {}
    for entry in bundle["entry"]:
        kind = entry["resource"]["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    assert counts == {
        "Patient": 1,
        "Procedure": 1,
        "MedicationAdministration": 2,
        "Observation": 3 + 2 + 1 + 1,  # severities, pains, a Penn frequency, the PGIC
        "AdverseEvent": 2,
        "MedicationStatement": 1,
    }


def test_every_reference_points_at_an_entry_of_the_bundle(diary, logged_in):
    bundle = fhir(logged_in(diary.user), reverse("export_fhir"))
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
    assert len(full_urls) == len(bundle["entry"])
    assert all(url.startswith("urn:uuid:") for url in full_urls)
    references = []

    def collect(node):
        if isinstance(node, dict):
            references.extend([node["reference"]] if "reference" in node else [])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(bundle)
    assert references
    assert set(references) <= full_urls


def test_full_urls_are_stable_from_one_export_to_the_next(diary, logged_in):
    client = logged_in(diary.user)
    first = [e["fullUrl"] for e in fhir(client, reverse("export_fhir"))["entry"]]
    second = [e["fullUrl"] for e in fhir(client, reverse("export_fhir"))["entry"]]
    assert first == second


def test_an_injection_is_a_procedure_with_one_administration_per_muscle(
    diary, injection, logged_in
):
    bundle = fhir(logged_in(diary.user), reverse("export_fhir"))
    (procedure,) = resources(bundle, "Procedure")
    assert procedure["performedDateTime"] == injection.date.isoformat()
    assert procedure["reasonCode"] == [{"text": "Cervical dystonia"}]
    doses = [
        (a["dosage"]["site"]["text"], a["dosage"]["dose"], a["partOf"])
        for a in resources(bundle, "MedicationAdministration")
    ]
    units = {"unit": "U", "system": "http://unitsofmeasure.org", "code": "[U]"}
    part_of = [{"reference": f"urn:uuid:{procedure['id']}"}]
    assert doses == [
        ("Sternocleidomastoid (left)", {"value": 120, **units}, part_of),
        ("Splenius capitis (left)", {"value": 80, **units}, part_of),
    ]
    medication = resources(bundle, "MedicationAdministration")[0]["medicationCodeableConcept"]
    assert medication == {"text": "Botox (onabotulinumtoxinA)"}


def test_a_session_without_muscles_is_one_administration_of_its_total(patient, logged_in):
    factories.InjectionFactory(patient=patient, date=TODAY, total_units=Decimal("12.5"))
    bundle = fhir(logged_in(patient.user), reverse("export_fhir"))
    (administration,) = resources(bundle, "MedicationAdministration")
    assert administration["dosage"]["dose"]["value"] == 12.5
    assert "site" not in administration["dosage"]
    Bundle.model_validate(bundle)


def test_scores_are_observations_with_their_code_systems(diary, logged_in):
    bundle = fhir(logged_in(diary.user), reverse("export_fhir"))
    scores = {
        (
            o["code"]["coding"][0]["system"],
            o["code"]["coding"][0]["code"],
            o["effectiveDateTime"],
        ): o
        for o in resources(bundle, "Observation")
    }
    day = days_ago(32).isoformat()
    own = "https://relief-tracker.example/fhir/CodeSystem/scores"
    assert scores[(own, "spasm-severity", day)]["valueInteger"] == 7
    assert scores[(own, "spasm-severity", day)]["note"] == [{"text": "Stiff"}]
    assert scores[("http://loinc.org", "72514-3", day)]["valueInteger"] == 6
    assert scores[(own, "penn-spasm-frequency", day)]["valueInteger"] == 3
    assert scores[("http://loinc.org", "72514-3", days_ago(30).isoformat())]["valueInteger"] == 0
    assert (own, "pgic", days_ago(23).isoformat()) in scores
    assert ("http://loinc.org", "72514-3", days_ago(25).isoformat()) not in scores  # not recorded


def test_reactions_are_adverse_events_and_pain_relievers_medication_statements(diary, logged_in):
    bundle = fhir(logged_in(diary.user), reverse("export_fhir"))
    events = {e["event"]["coding"][0]["code"]: e for e in resources(bundle, "AdverseEvent")}
    assert events["breathing"]["seriousness"]["coding"][0]["code"] == "serious"
    assert events["breathing"]["outcome"]["coding"][0]["code"] == "ongoing"
    assert "&lt;b&gt;" in events["breathing"]["text"]["div"]
    assert events["headache"]["outcome"]["coding"][0]["code"] == "resolved"
    assert events["headache"]["extension"][0]["valueDate"] == days_ago(28).isoformat()
    (procedure,) = resources(bundle, "Procedure")
    assert events["headache"]["suspectEntity"] == [
        {"instance": {"reference": f"urn:uuid:{procedure['id']}"}}
    ]
    (statement,) = resources(bundle, "MedicationStatement")
    assert statement["medicationCodeableConcept"] == {"text": "Paracetamol"}
    assert statement["dosage"] == [{"text": "1 g"}]


def test_the_patient_resource_names_the_patient(diary, logged_in):
    (resource,) = resources(fhir(logged_in(diary.user), reverse("export_fhir")), "Patient")
    assert resource["name"] == [{"text": "Pat Lee", "family": "Lee", "given": ["Pat"]}]


def test_the_patient_resource_names_no_username_and_carries_what_tells_them_apart(
    diary, clinician, logged_in
):
    """A clinic imports the bundle: it names the patient as the clinic sees them (name, date
    of birth, the clinic's number), never by their username."""
    diary.date_of_birth, diary.clinic_number = dt.date(1961, 3, 4), "RT-4471"
    diary.save(update_fields=["date_of_birth", "clinic_number"])
    bundle = fhir(logged_in(clinician), reverse("clinic_export_fhir", args=[diary.pk]))

    def strings(value):
        if isinstance(value, dict):
            return [text for item in value.values() for text in strings(item)]
        if isinstance(value, list):
            return [text for item in value for text in strings(item)]
        return [value] if isinstance(value, str) else []

    assert diary.user.username not in strings(bundle)
    (resource,) = resources(bundle, "Patient")
    assert resource["birthDate"] == "1961-03-04"
    assert resource["identifier"] == [{"system": exports.CLINIC_NUMBER_SYSTEM, "value": "RT-4471"}]


def test_a_clinician_with_access_gets_the_same_bundle(diary, clinician, logged_in):
    own = fhir(logged_in(diary.user), reverse("export_fhir"))
    theirs = fhir(logged_in(clinician), reverse("clinic_export_fhir", args=[diary.pk]))
    assert [e["fullUrl"] for e in theirs["entry"]] == [e["fullUrl"] for e in own["entry"]]


def test_only_the_patient_and_a_clinician_with_access_can_export(
    diary, clinician, stranger_clinician, other_patient, logged_in
):
    for user in [stranger_clinician, other_patient.user, diary.user]:
        client = logged_in(user)
        assert client.get(reverse("clinic_export_csv", args=[diary.pk])).status_code == 404
        assert client.get(reverse("clinic_export_fhir", args=[diary.pk])).status_code == 404
    other = csv_rows(logged_in(other_patient.user).get(reverse("export_csv")))
    assert other == []
    assert logged_in(clinician).get(reverse("export_csv")).status_code == 404
