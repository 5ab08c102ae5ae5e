"""The Relief page: the patient's charts and cycle table."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tracker.access import patient_view
from tracker.diary import read_diary
from tracker.models import Patient, relief_settings
from tracker.pages.relief import DEFAULT_RANGE, RANGE_LABELS, RANGES, relief_page
from tracker.relief_cache import remembered


@patient_view
def relief(request: HttpRequest, patient: Patient) -> HttpResponse:
    # Three queries when the diary has not changed since the page was last computed (session,
    # user, patient: the page model comes from the cache, tracker/relief_cache.py); else
    # seven, read_diary's four more (pinned in tests/test_relief_page.py and
    # tests/test_speed_relief_cache.py).
    choice = request.GET.get("range", DEFAULT_RANGE)
    choice = choice if choice in RANGES else DEFAULT_RANGE
    page = remembered(
        "relief",
        patient,
        (choice,),
        lambda: relief_page(read_diary(patient), choice, relief_settings()),
    )
    return render(request, "tracker/relief.html", {"page": page, "ranges": RANGE_LABELS})
