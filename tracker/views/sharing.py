"""Sharing, from the patient's side: always their choice, withdrawn in one tap; and the link of a
clinician's invitation."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from tracker.access import patient_view
from tracker.forms import (
    ShareCodeForm,
)
from tracker.models import (
    Invitation,
    InvitationUnusable,
    Patient,
    share_diary,
)
from tracker.throttles import Guesses

ACCESS_EVENTS_PER_PAGE = 20


@patient_view
def sharing(request: HttpRequest, patient: Patient, code_form=None) -> HttpResponse:
    events = Paginator(
        patient.access_events.select_related("clinician").order_by("-at", "-pk"),
        ACCESS_EVENTS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    context = {
        "patient": patient,
        "shares": patient.shares.active().select_related("clinician").order_by("created_at"),
        "code_form": code_form or ShareCodeForm(),
        "events": events,
    }
    return render(request, "tracker/share_list.html", context)


@patient_view
def share_code(request: HttpRequest, patient: Patient) -> HttpResponse:
    """A clinician's share code: GET shows whom it belongs to and asks; POST shares. Wrong
    codes are limited per person and per address; beyond, 429 and when to try again."""
    guesses = Guesses(request, "share_code")
    minutes = guesses.minutes_to_wait()
    data = request.POST if request.method == "POST" else request.GET
    form = ShareCodeForm(data, minutes_to_wait=minutes)
    if not form.is_valid():
        if form.has_error("code", "unknown"):
            guesses.missed()
        response = sharing(request, code_form=form)
        if minutes:
            response.status_code = 429
            response["Retry-After"] = str(minutes * 60)
        return response
    clinician = form.cleaned_data["code"]
    if request.method == "POST":
        share_diary(patient, clinician)
        messages.success(request, f"{clinician_name(clinician)} can now see your diary.")
        return redirect("sharing")
    context = {
        "clinician": clinician,
        "already": patient.shares.active().filter(clinician=clinician).exists(),
        "code": clinician.share_code,
    }
    return render(request, "tracker/share_confirm.html", context)


@require_POST
@patient_view
def share_revoke(request: HttpRequest, patient: Patient, pk: int) -> HttpResponse:
    share = get_object_or_404(patient.shares.active().select_related("clinician"), pk=pk)
    share.revoke()
    messages.success(request, f"Stopped sharing with {clinician_name(share.clinician)}.")
    return redirect("sharing")


def share_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link of a clinician's invitation (their QR code), opened on the patient's phone."""
    user = request.user
    if user.is_authenticated and user.is_clinician:  # whatever the token: it tells them nothing
        return render(request, "tracker/share_invalid.html", {"for_clinician": True}, status=404)
    invitation = Invitation.objects.select_related("clinician").filter(token=token).first()
    if invitation is None or not invitation.is_open:
        # Unknown, expired or used up: the same answer, which tells nothing about the token.
        return render(request, "tracker/share_invalid.html", status=404)
    if not user.is_authenticated:
        context = {"clinician": invitation.clinician, "next": urlencode({"next": request.path})}
        return render(request, "tracker/share_invitation.html", context)
    patient = Patient.objects.filter(user=user).first()
    if patient is None:  # signed up just now: onboarding first, then back here
        return redirect(f"{reverse('onboarding')}?{urlencode({'next': request.path})}")
    if request.method == "POST":
        try:
            invitation.accept(patient)
        except InvitationUnusable:
            return render(request, "tracker/share_invalid.html", status=404)
        messages.success(request, f"{clinician_name(invitation.clinician)} can now see your diary.")
        return redirect("sharing")
    context = {
        "clinician": invitation.clinician,
        "already": patient.shares.active().filter(clinician=invitation.clinician).exists(),
    }
    return render(request, "tracker/share_confirm.html", context)


def clinician_name(clinician) -> str:
    return clinician.get_full_name() or clinician.username
