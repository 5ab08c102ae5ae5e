"""The Relief page: the patient's charts and cycle table."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tracker.access import patient_view
from tracker.diary import read_diary
from tracker.models import Patient, relief_settings
from tracker.pages.relief import DEFAULT_RANGE, RANGE_LABELS, relief_page


@patient_view
def relief(request: HttpRequest, patient: Patient) -> HttpResponse:
    # Seven queries however long the diary: session, user, patient, and read_diary's four
    # (pinned in tests/test_relief_page.py); the rest is computed in Python.
    choice = request.GET.get("range", DEFAULT_RANGE)
    page = relief_page(read_diary(patient), choice, relief_settings())
    return render(request, "tracker/relief.html", {"page": page, "ranges": RANGE_LABELS})
