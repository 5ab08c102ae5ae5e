"""A patient's diary for other software: a CSV with one row per day, and a FHIR R4 Bundle.

Both read the same rows (four or five queries, whatever the size of the diary) and build the
file in one pass. What a patient did not record stays empty and is never written as 0.
"""

import csv
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import content_disposition_header

from tracker.catalog import format_units
from tracker.dates import days_between
from tracker.diary import Answer, Diary, InjectionRecord, Log, ReactionRecord, read_diary
from tracker.models import Patient


def download_name(username: str, day: date, extension: str, what: str = "") -> str:
    """relief-tracker-[<what>-]<username>-<day>.<extension>, safe in any file system."""
    parts = ["relief-tracker", what, file_safe(username, "patient"), day.isoformat()]
    return "-".join(filter(None, parts)) + f".{extension}"


def file_safe(name: str, fallback: str) -> str:
    """A username as a part of a file name, safe in any file system."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip(".-") or fallback


# CSV

CSV_COLUMNS = [
    "date",
    "day_of_cycle",
    "severity",
    "spasm_frequency",
    "pain",
    "note",
    "injection",
    "reactions",
]
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def safe_cell(value: object) -> str:
    """The value as text a spreadsheet will not run: a leading ' neutralises a formula."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(text):
        return "'" + text
    return text


class _Line:
    """A file-like object that hands back what the csv writer writes, a line at a time."""

    def write(self, text: str) -> str:
        return text


def diary_csv(diary: Diary) -> Iterator[str]:
    """The CSV's lines, written as they are read (for a streamed response)."""
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(CSV_COLUMNS)  # the BOM tells spreadsheets it is UTF-8
    logs = {log.date: log for log in diary.logs}
    injections = defaultdict(list)
    for injection in diary.injections:
        injections[injection.date].append(injection)
    reactions = defaultdict(list)
    for reaction in diary.reactions:
        reactions[reaction.onset].append(reaction)
    recorded = [*logs, *injections, *reactions]
    if not recorded:
        return
    last_injection: date | None = None
    for day in days_between(min(recorded), max(recorded)):
        if day in injections:
            last_injection = day
        log = logs.get(day)
        row = [
            day.isoformat(),
            (day - last_injection).days if last_injection else None,
            log.severity if log else None,
            log.spasm_frequency if log else None,
            log.pain if log else None,
            log.note if log else None,
            "; ".join(
                f"{shot.product_label} {format_units(shot.total_units)} units"
                for shot in injections.get(day, [])
            ),
            "; ".join(
                f"{reaction.label} ({reaction.severity})" for reaction in reactions.get(day, [])
            ),
        ]
        yield writer.writerow([safe_cell(value) for value in row])


# FHIR R4

BASE_URL = "https://relief-tracker.example/fhir"
SCORES_SYSTEM = f"{BASE_URL}/CodeSystem/scores"
REACTIONS_SYSTEM = f"{BASE_URL}/CodeSystem/reactions"
CLINIC_NUMBER_SYSTEM = f"{BASE_URL}/NamingSystem/clinic-number"
RESOLVED_DATE_EXTENSION = f"{BASE_URL}/StructureDefinition/resolved-date"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"
# Every entry's fullUrl is a name-based UUID of what it is made from: the same record gives
# the same urn:uuid in every export, so a receiving system can recognise it again.
NAMESPACE = uuid.UUID("5d0c3b57-1e0e-4c55-9d39-3b1d7e0a2f61")

SEVERITY_CODE = {
    "system": SCORES_SYSTEM,
    "code": "spasm-severity",
    "display": "Spasm severity, 0-10 numeric rating",
}
PAIN_CODE = {
    "system": LOINC,
    "code": "72514-3",
    "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
}
PENN_CODE = {
    "system": SCORES_SYSTEM,
    "code": "penn-spasm-frequency",
    "display": "Penn Spasm Frequency Scale, 0-4",
}
PGIC_CODE = {
    "system": SCORES_SYSTEM,
    "code": "pgic",
    "display": "Patient Global Impression of Change, 1-7",
}
SURVEY = {
    "coding": [
        {"system": f"{TERMINOLOGY}/observation-category", "code": "survey", "display": "Survey"}
    ]
}


def stable_id(kind: str, key: object) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}/{key}"))


def reference(resource_id: str) -> dict:
    return {"reference": f"urn:uuid:{resource_id}"}


def number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def fhir_bundle(patient: Patient, diary: Diary) -> dict:
    """The patient's diary as a FHIR R4 Bundle of type collection."""
    patient_id = stable_id("patient", patient.pk)
    subject = reference(patient_id)
    resources = [_patient(patient, patient_id)]
    procedure_ids = {}
    # The Procedure's reason: "Limb spasticity (stroke)" when the cause is recorded.
    conditions = [{"text": label} for label in patient.condition_labels]
    for injection in diary.injections:
        procedure_ids[injection.id] = stable_id("injection", injection.id)
        resources += _injection(injection, procedure_ids[injection.id], subject, conditions)
    for log in diary.logs:
        resources += _scores(log, subject)
    for impression in diary.answers:
        resources.append(_impression(impression, subject, procedure_ids))
    for reaction in diary.reactions:
        resources += _reaction(reaction, subject, procedure_ids)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": timezone.now().isoformat(timespec="seconds"),
        "entry": [
            {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
            for resource in resources
        ],
    }


def _patient(patient: Patient, patient_id: str) -> dict:
    """The patient as the clinics they share with know them: their name, and their date of
    birth and the clinic's number when they gave them; never their username."""
    user = patient.user
    name = {"text": patient.display_name}
    if user.last_name:
        name["family"] = user.last_name
    if user.first_name:
        name["given"] = [user.first_name]
    resource = {"resourceType": "Patient", "id": patient_id, "name": [name]}
    if patient.clinic_number:
        resource["identifier"] = [{"system": CLINIC_NUMBER_SYSTEM, "value": patient.clinic_number}]
    if patient.date_of_birth:
        resource["birthDate"] = patient.date_of_birth.isoformat()
    return resource


def _injection(
    injection: InjectionRecord, procedure_id: str, subject: dict, conditions
) -> list[dict]:
    product = injection.product_info
    medication = {"text": f"{product.label} ({product.generic})"}
    details = [f"{product.label} ({product.generic}), {format_units(injection.total_units)} units"]
    if injection.guidance:
        details.append(f"Guidance: {injection.guidance_label}")
    if injection.injector:
        details.append(f"Injected by: {injection.injector}")
    if injection.entered_by_clinic:
        details.append("Entered by the clinic")
    notes = [{"text": ". ".join(details) + "."}]
    if injection.notes:
        notes.append({"text": injection.notes})
    procedure = {
        "resourceType": "Procedure",
        "id": procedure_id,
        "status": "completed",
        "code": {"text": "Botulinum toxin injection"},
        "subject": subject,
        "performedDateTime": injection.date.isoformat(),
        "note": notes,
    }
    if conditions:
        procedure["reasonCode"] = conditions
    # One administration per injected muscle; a session recorded without its muscles gets one
    # for its total, without a site.
    doses = [
        (site.id, f"{site.muscle_label} ({site.side_label.lower()})", site.units)
        for site in injection.sites
    ] or [("total", None, injection.total_units)]
    administrations = []
    for key, site, units in doses:
        dosage = {
            "route": {"text": "Intramuscular"},
            "dose": {"value": number(units), "unit": "U", "system": UCUM, "code": "[U]"},
        }
        if site:
            dosage["site"] = {"text": site}
        administrations.append(
            {
                "resourceType": "MedicationAdministration",
                "id": stable_id("injection-site", f"{injection.id}/{key}"),
                "status": "completed",
                "medicationCodeableConcept": medication,
                "subject": subject,
                "effectiveDateTime": injection.date.isoformat(),
                "partOf": [reference(procedure_id)],
                "dosage": dosage,
            }
        )
    return [procedure, *administrations]


def _observation(kind: str, key: object, code: dict, text: str, day: date, value: int, subject):
    return {
        "resourceType": "Observation",
        "id": stable_id(kind, key),
        "status": "final",
        "category": [SURVEY],
        "code": {"coding": [code], "text": text},
        "subject": subject,
        "effectiveDateTime": day.isoformat(),
        "valueInteger": value,
    }


def _scores(log: Log, subject: dict) -> list[dict]:
    severity = _observation(
        "severity", log.id, SEVERITY_CODE, "Spasm severity (0-10)", log.date, log.severity, subject
    )
    if log.note:
        severity["note"] = [{"text": log.note}]
    scores = [severity]
    if log.pain is not None:
        scores.append(
            _observation("pain", log.id, PAIN_CODE, "Pain (0-10)", log.date, log.pain, subject)
        )
    if log.spasm_frequency is not None:
        text = f"Spasm frequency: {log.spasm_frequency_label}"
        scores.append(
            _observation("penn", log.id, PENN_CODE, text, log.date, log.spasm_frequency, subject)
        )
    return scores


def _impression(impression: Answer, subject: dict, procedure_ids: dict) -> dict:
    text = f"Global impression of change: {impression.answer}"
    observation = _observation(
        "pgic", impression.id, PGIC_CODE, text, impression.date, impression.score, subject
    )
    observation["partOf"] = [reference(procedure_ids[impression.injection_id])]
    observation["note"] = [{"text": f"Asked: {impression.timepoint_label.lower()}."}]
    return observation


def _coding(system: str, code: str) -> dict:
    return {"coding": [{"system": f"{TERMINOLOGY}/{system}", "code": code}]}


def _reaction(reaction: ReactionRecord, subject: dict, procedure_ids: dict) -> list[dict]:
    event_id = stable_id("reaction", reaction.id)
    label = reaction.label
    event = {
        "resourceType": "AdverseEvent",
        "id": event_id,
        "actuality": "actual",
        "event": {
            "coding": [{"system": REACTIONS_SYSTEM, "code": reaction.kind, "display": label}],
            "text": label,
        },
        "subject": subject,
        "date": reaction.onset.isoformat(),
        "seriousness": _coding(
            "adverse-event-seriousness", "serious" if reaction.urgent else "non-serious"
        ),
        "severity": _coding("adverse-event-severity", reaction.severity),
        "outcome": _coding("adverse-event-outcome", "resolved" if reaction.resolved else "ongoing"),
    }
    if reaction.resolved:
        event["extension"] = [
            {"url": RESOLVED_DATE_EXTENSION, "valueDate": reaction.resolved.isoformat()}
        ]
    if reaction.injection_id in procedure_ids:
        event["suspectEntity"] = [{"instance": reference(procedure_ids[reaction.injection_id])}]
    resources = [event]
    if reaction.pain_reliever:
        statement = {
            "resourceType": "MedicationStatement",
            "id": stable_id("pain-reliever", reaction.id),
            "status": "completed",
            "medicationCodeableConcept": {"text": reaction.pain_reliever},
            "subject": subject,
            "effectiveDateTime": reaction.onset.isoformat(),
            "note": [{"text": f"Taken for: {label}."}],
        }
        if reaction.pain_reliever_dose:
            statement["dosage"] = [{"text": reaction.pain_reliever_dose}]
        resources.append(statement)
    if reaction.note:
        # AdverseEvent has no note: the patient's words go in its narrative.
        div = f'<div xmlns="http://www.w3.org/1999/xhtml">{escape(reaction.note)}</div>'
        event["text"] = {"status": "additional", "div": div}
    return resources


# The downloads


def csv_response(patient: Patient) -> HttpResponse:
    lines = diary_csv(read_diary(patient, logs=True))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    return private_download(response, patient_file_name(patient, "csv"))


def fhir_response(patient: Patient) -> HttpResponse:
    bundle = fhir_bundle(patient, read_diary(patient, logs=True))
    response = JsonResponse(bundle, content_type="application/fhir+json; charset=utf-8")
    return private_download(response, patient_file_name(patient, "fhir.json"))


def patient_file_name(patient: Patient, extension: str) -> str:
    """By the patient's id, as the summary PDF's: a clinic's download never names a username."""
    return download_name(f"patient-{patient.pk}", patient.today(), extension)


def private_download(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"  # health data: no copies in caches
    return response
