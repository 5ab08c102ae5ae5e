"""The Relief page: the patient's charts and cycle table."""

from functools import cache

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import mark_safe

from tracker.access import patient_view
from tracker.diary_kept import read_diary_kept
from tracker.models import Patient, relief_settings
from tracker.pages.relief import (
    DEFAULT_RANGE,
    RANGE_LABELS,
    RANGES,
    ReliefPage,
    relief_page,
)
from tracker.relief_cache import remembered


@patient_view
def relief(request: HttpRequest, patient: Patient) -> HttpResponse:
    # Two queries when the diary has not changed since the page was last made (session, user
    # with their patient record): its content comes from the cache (tracker/relief_cache.py),
    # and only the frame of the page (base.html) is rendered. After a recent check-in, three:
    # the recent check-ins, the rest kept (read_diary_kept), from one day to the next. Else
    # six: read_diary's four (pinned in
    # tests/test_relief_page.py, test_speed_relief_cache.py and test_history_revision.py).
    choice = request.GET.get("range", DEFAULT_RANGE)
    choice = choice if choice in RANGES else DEFAULT_RANGE
    all_cards = request.GET.get("cycles") == "all"

    today = patient.today()  # once: the page is kept under the day it was made for

    @cache
    def model() -> ReliefPage:
        diary = read_diary_kept(patient, today)
        return relief_page(diary, choice, relief_settings(), all_cards=all_cards)

    def content() -> str:
        page = model()
        context = {"page": page, "ranges": RANGE_LABELS}
        return render_to_string("tracker/partials/relief_body.html", context)

    body = remembered("relief-html", patient, (choice, all_cards), content, today)
    # The content is our own template's, escaped when rendered, and holds nothing of the
    # request (relief_body.html has no form): safe to keep and to send again. Only the HTML
    # is kept: the model is made when something asks for it (a test; the template does
    # not), once a request.
    context = {"body": mark_safe(body), "page": SimpleLazyObject(model)}
    return render(request, "tracker/relief.html", context)
