"""The Relief page: the patient's charts and cycle table."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from tracker.access import patient_view
from tracker.diary import read_diary
from tracker.models import Patient, relief_settings
from tracker.pages.relief import DEFAULT_RANGE, RANGE_LABELS, RANGES, ReliefPage, relief_page
from tracker.relief_cache import remembered


@patient_view
def relief(request: HttpRequest, patient: Patient) -> HttpResponse:
    # Three queries when the diary has not changed since the page was last made (session,
    # user, patient): its model and content come from the cache (tracker/relief_cache.py),
    # and only the frame of the page (base.html) is rendered. Else seven: read_diary's four
    # more (pinned in tests/test_relief_page.py and tests/test_speed_relief_cache.py).
    choice = request.GET.get("range", DEFAULT_RANGE)
    choice = choice if choice in RANGES else DEFAULT_RANGE

    def made() -> tuple[ReliefPage, str]:
        page = relief_page(read_diary(patient), choice, relief_settings())
        context = {"page": page, "ranges": RANGE_LABELS}
        return page, render_to_string("tracker/partials/relief_body.html", context)

    page, body = remembered("relief", patient, (choice,), made)
    # The content is our own template's, escaped when rendered, and holds nothing of the
    # request (relief_body.html has no form): safe to keep and to send again.
    return render(request, "tracker/relief.html", {"page": page, "body": mark_safe(body)})
