"""Sharing, from the patient's side: always their choice, withdrawn in one tap; and the link of a
clinician's invitation."""

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Max, Min, Prefetch
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from tracker.access import patient_view
from tracker.forms import (
    ShareCodeForm,
)
from tracker.models import (
    AccessEvent,
    Clinic,
    Invitation,
    InvitationUnusable,
    Membership,
    Patient,
    User,
    share_diary,
)
from tracker.throttles import Guesses

ACCESS_EVENTS_PER_PAGE = 20


# What each kind of access did, as the patient reads it: "Dr Jones viewed your report".
ACCESS_WORDS = {
    AccessEvent.What.PAGE: "viewed your report",
    AccessEvent.What.API: "read your diary through the app's API",
    AccessEvent.What.PDF: "downloaded your one-page summary (PDF)",
    AccessEvent.What.CSV: "downloaded your diary (CSV)",
    AccessEvent.What.FHIR: "downloaded your diary for a health record (FHIR)",
    AccessEvent.What.ENTRY: "recorded an injection in your diary",
    AccessEvent.What.ADMIN: "opened your record on the admin site",
    AccessEvent.What.HANDLED: "marked a warning sign you logged as seen",
}


def access_history(patient: Patient, page: str | None):
    """Who opened the diary, one line per person, clinic, kind and day (the patient's day):
    "Dr Jones viewed your report 3 times on Wed 2 Dec", newest first. Read from the rows
    written by the request that opened the diary (tracker/access.py), so it is never behind."""
    groups = (
        patient.access_events.annotate(day=TruncDate("at", tzinfo=patient.zone))
        .values("day", "clinician", "clinic", "what")
        .annotate(times=Count("pk"), first=Min("at"), last=Max("at"))
        .order_by("-day", "-last", "clinician", "what")
    )
    lines = Paginator(groups, ACCESS_EVENTS_PER_PAGE).get_page(page)
    people = User.objects.in_bulk({line["clinician"] for line in lines if line["clinician"]})
    clinics = Clinic.objects.in_bulk({line["clinic"] for line in lines if line["clinic"]})
    for line in lines:
        person = people.get(line["clinician"])
        line["who"] = (person.get_full_name() or person.username) if person else "A deleted account"
        line["clinic_name"] = clinics[line["clinic"]].name if line["clinic"] in clinics else ""
        line["did"] = ACCESS_WORDS.get(line["what"], line["what"])
    return lines


@patient_view
def sharing(request: HttpRequest, patient: Patient, code_form=None) -> HttpResponse:
    events = access_history(patient, request.GET.get("page"))
    context = {
        "patient": patient,
        "shares": patient.shares.active()
        .select_related("clinician", "clinic")
        .prefetch_related(members_of_clinics())
        .order_by("created_at"),
        "code_form": code_form or ShareCodeForm(),
        "events": events,
        "stopped": stopped_share(request, patient),
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
    choices = ShareChoices(clinician)
    if request.method == "POST":
        recipient = choices.chosen(request.POST.get("to", ""))
        if recipient is None:
            context = choices.context(patient) | {"code": clinician.share_code}
            context["error"] = "Choose whom to share your diary with."
            return render(request, "tracker/share_confirm.html", context, status=400)
        share_diary(patient, **recipient)
        name = recipient["clinic"].name if "clinic" in recipient else clinician_name(clinician)
        messages.success(request, f"{name} can now see your diary.")
        return redirect("sharing")
    context = choices.context(patient) | {"code": clinician.share_code}
    return render(request, "tracker/share_confirm.html", context)


class ShareChoices:
    """Whom a clinician's share code offers to share with: each clinic they belong to (its
    clinicians and nurses read the diary), and them alone unless they only coordinate."""

    def __init__(self, clinician) -> None:
        self.clinician = clinician
        self.memberships = list(
            clinician.memberships.active()
            .select_related("clinic")
            .prefetch_related(members_of_clinics())
            .order_by("pk")
        )
        self.alone = not self.memberships or any(m.reads_diaries for m in self.memberships)

    def chosen(self, choice: str) -> dict | None:
        for membership in self.memberships:
            if choice == f"clinic-{membership.clinic_id}":
                return {"clinic": membership.clinic}
        if self.alone and (choice == "person" or not self.memberships):
            return {"clinician": self.clinician}
        return None

    def context(self, patient: Patient) -> dict:
        active = patient.shares.active()
        shared = {share.clinic_id for share in active if share.clinic_id}
        clinics = [m.clinic for m in self.memberships if m.clinic_id not in shared]
        alone = self.alone and not active.filter(clinician=self.clinician).exists()
        return {
            "clinician": self.clinician,
            "clinics": clinics,
            "alone": alone,
            "already": not clinics and not alone,
        }


def members_of_clinics() -> Prefetch:
    """The clinics' members not removed, with their names: whom a patient shares with."""
    members = Membership.objects.active().select_related("user").order_by("role", "pk")
    return Prefetch("clinic__memberships", queryset=members, to_attr="members")


# How long "Undo" brings a share back after the patient stopped it.
UNDO_STOP_MINUTES = 10


@patient_view
def share_revoke(request: HttpRequest, patient: Patient, pk: int) -> HttpResponse:
    """GET asks "stop sharing with X?"; POST stops it at once (the clinic's next request is
    refused) and offers Undo for a few minutes; POST with `undo` brings that share back."""
    if request.method == "POST" and request.POST.get("undo"):
        return share_restore(request, patient, pk)
    share = get_object_or_404(patient.shares.active().select_related("clinician", "clinic"), pk=pk)
    if request.method != "POST":
        return render(request, "tracker/share_stop.html", {"share": share})
    share.revoke()
    request.session[STOPPED_KEY] = {"pk": share.pk}  # the page says so, with Undo
    return redirect("sharing")


STOPPED_KEY = "share_stopped"


def stopped_share(request: HttpRequest, patient: Patient):
    """The share this patient stopped a moment ago, while Undo may bring it back."""
    stopped = request.session.get(STOPPED_KEY)
    if not stopped:
        return None
    since = timezone.now() - timedelta(minutes=UNDO_STOP_MINUTES)
    share = (
        patient.shares.filter(pk=stopped["pk"], revoked_at__gte=since)
        .select_related("clinician", "clinic")
        .first()
    )
    if (
        share is None
        or patient.shares.active().filter(clinician=share.clinician, clinic=share.clinic).exists()
    ):
        return None
    return share


def share_restore(request: HttpRequest, patient: Patient, pk: int) -> HttpResponse:
    share = stopped_share(request, patient)
    request.session.pop(STOPPED_KEY, None)
    if share is None or share.pk != pk:
        messages.info(request, "Nothing to undo: it is too late, or it was shared again since.")
        return redirect("sharing")
    recipient = {"clinic": share.clinic} if share.clinic else {"clinician": share.clinician}
    share_diary(patient, **recipient)
    messages.success(request, f"{share.recipient_name} can see your diary again.")
    return redirect("sharing")


def share_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link of a clinician's invitation (their QR code), opened on the patient's phone."""
    user = request.user
    if user.is_authenticated and user.is_clinician:  # whatever the token: it tells them nothing
        return render(request, "tracker/share_invalid.html", {"for_clinician": True}, status=404)
    invitation = (
        Invitation.objects.select_related("clinician", "clinic")
        .prefetch_related(members_of_clinics())
        .filter(token=token)
        .first()
    )
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
        name = invitation.clinic.name if invitation.clinic else clinician_name(invitation.clinician)
        messages.success(request, f"{name} can now see your diary.")
        return redirect("sharing")
    active = patient.shares.active()
    if invitation.clinic:
        already = active.filter(clinic=invitation.clinic).exists()
        context = {"clinics": [invitation.clinic], "alone": False}
    else:
        already = active.filter(clinician=invitation.clinician).exists()
        context = {"clinics": [], "alone": True}
    context |= {"clinician": invitation.clinician, "already": already, "invitation": True}
    return render(request, "tracker/share_confirm.html", context)


def clinician_name(clinician) -> str:
    return clinician.get_full_name() or clinician.username
