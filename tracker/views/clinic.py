"""The clinic side: the triage list, invitations, the member's own settings (the red-flag
alerts), and one shared patient's report, summary (page and PDF), exports and clinic-entered
injections. A clinician sees a patient's data only while the patient shares it, and every look
is written to the patient's access history."""

import pickle
from pathlib import Path
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST, require_safe

from tracker import catalog, jobs, pdf, triage
from tracker.access import (
    clinician_patient_view,
    clinician_view,
    is_id,
    open_patient_for_clinician,
)
from tracker.diary import read_diary
from tracker.diary_clinic import clinic_order, clinic_page
from tracker.exports import csv_response, download_name, fhir_response, private_download
from tracker.forms import (
    HandledForm,
    InjectionForm,
    SiteFormSet,
    save_injection,
)
from tracker.lockout import client_address
from tracker.models import (
    AccessEvent,
    Injection,
    Invitation,
    Membership,
    Patient,
    PrintBatch,
    Reaction,
    User,
    relief_settings,
)
from tracker.notify import push_public_key
from tracker.pages.relief import RANGE_LABELS
from tracker.pages.report import report, summary
from tracker.relief_cache import code_of, drawn
from tracker.throttles import throttled

CLINIC_ROWS_PER_PAGE = 100


@clinician_view
def clinic(request: HttpRequest) -> HttpResponse:
    condition = request.GET.get("condition", "")
    if condition not in catalog.CONDITION_LABELS:
        condition = ""
    search = request.GET.get("q", "").strip()[:100]
    shown = Patient.objects.visible_to(request.user).with_condition(condition).matching(search)
    # Every patient is sorted; a page shows a hundred of them.
    page = Paginator(clinic_order(shown), CLINIC_ROWS_PER_PAGE).get_page(request.GET.get("page"))
    items = clinic_page(page.object_list)
    filters = urlencode(
        {key: value for key, value in [("q", search), ("condition", condition)] if value}
    )
    context = {
        "page": page,
        "items": items,  # each a dict of the "row" (triage.TriageRow) and the "patient"
        "rows": rendered_rows(items),
        "condition": condition,
        "search": search,
        "filters": f"&{filters}" if filters else "",
        "conditions": catalog.CONDITION_CHOICES,
        "filtered": bool(condition or search),
        "triage": triage,
        "batch_most": jobs.MAX_BATCH,
        "coordinated": coordinated(request.user, condition, search),
    }
    return render(request, "tracker/clinic_dashboard.html", context)


ROW_TEMPLATE = "tracker/partials/clinic_row.html"
# The code that draws a row (its template, the partial it includes, the words triage.py makes):
# a release that draws rows otherwise draws them afresh.
ROW_CODE = code_of(
    settings.BASE_DIR / "templates" / ROW_TEMPLATE,
    settings.BASE_DIR / "templates/tracker/partials/patient_identifiers.html",
    Path(triage.__file__),
)


def rendered_rows(items: list[dict]) -> list[str]:
    """Each row of one page of the list as HTML, drawn once and then read from the cache
    (relief_cache.drawn): a row's key is a digest of everything the row shows (its figures,
    red flags, name, identifiers and conditions), of the time zone its times are written in
    and of the code that draws it. Drawing a hundred rows was most of the list's time."""
    zone = timezone.get_current_timezone_name()
    return drawn(
        ROW_TEMPLATE,
        ROW_CODE,
        [(shown_in_row(item, zone), item | {"triage": triage}) for item in items],
    )


def shown_in_row(item: dict, zone: str) -> bytes:
    return pickle.dumps((item["row"], item["patient"], zone))


def coordinated(user, condition: str, search: str) -> list[Patient]:
    """The patients of the clinics this user coordinates whose diary they do not read: names,
    identifiers, conditions, contact details and whether a red flag waits, in one query (plus
    the conditions); never a figure from the diary (docs/clinical-rules.md, "Clinic teams")."""
    if not user.memberships.active().filter(role=Membership.Role.COORDINATOR).exists():
        return []  # a cheap query spares most of the list's users the long one below
    waiting = Reaction.objects.filter(patient=models.OuterRef("pk")).red_flags().unhandled()
    return list(
        Patient.objects.listed_for(user)
        .exclude(pk__in=Patient.objects.visible_to(user).values("pk"))
        .with_condition(condition)
        .matching(search)
        .select_related("user")
        .prefetch_related("conditions")
        .annotate(red_flag_waiting=models.Exists(waiting))
        .order_by("-red_flag_waiting", "user__last_name", "user__first_name", "pk")
    )


@require_POST
@clinician_view
@throttled("export")  # each summary costs about half a second of CPU
def summaries_pdf(request: HttpRequest) -> HttpResponse:
    """The one-page summaries of the patients ticked on the list, as one PDF: made while the
    clinician waits for up to pdf.BATCH_LIMIT of them, else by a job (tracker/jobs.py), whose
    page then offers the PDF. A patient who does not share with this clinician makes the whole
    batch 404: nothing is printed."""
    try:
        wanted = list(dict.fromkeys(int(pk) for pk in request.POST.getlist("patient")))
    except ValueError:
        return HttpResponseBadRequest("Each patient is a number.")
    if not wanted or len(wanted) > jobs.MAX_BATCH:
        messages.error(request, f"Tick from 1 to {jobs.MAX_BATCH} patients to print.")
        return redirect("clinic")
    readable = Patient.objects.visible_to(request.user).filter(pk__in=wanted)
    if readable.count() != len(wanted):
        raise Http404("No such patient.")
    if len(wanted) > pdf.BATCH_LIMIT:  # seconds of work: not while the clinician waits
        batch = jobs.enqueue_batch_pdf(request.user, wanted)
        return redirect("clinic_print_batch", batch.pk)
    path, address = request.get_full_path(), client_address(request)
    patients = [
        open_patient_for_clinician(request.user, pk, AccessEvent.What.PDF, path, address)
        for pk in wanted
    ]
    try:
        document = pdf.render_batch_summaries(
            request.user, patients, base_url=request.build_absolute_uri("/")
        )
    except pdf.Unavailable:
        return render(request, "tracker/report_pdf_unavailable.html", {}, status=503)
    response = HttpResponse(document, content_type="application/pdf")
    day = timezone.localdate()
    return private_download(response, f"relief-tracker-summaries-{day.isoformat()}.pdf")


@clinician_view
def print_batch(request: HttpRequest, pk: int) -> HttpResponse:
    """A batch of summaries being made by a job: how it stands, then its PDF to download.
    Its clinician's alone; anyone else's answers 404."""
    batch = jobs.batch_for(request.user, pk) if is_id(pk) else None
    if batch is None:
        raise Http404("No such batch.")
    context = {"batch": batch, "count": len(batch.patient_ids), "check_every": CHECK_EVERY}
    return render(request, "tracker/print_batch.html", context)


CHECK_EVERY = 5  # seconds between looks of a batch's page while it is being made


@clinician_view
def print_batch_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    batch = jobs.batch_for(request.user, pk) if is_id(pk) else None
    if batch is None or batch.state != PrintBatch.State.READY:
        raise Http404("No such batch.")
    response = HttpResponse(bytes(batch.pdf), content_type="application/pdf")
    day = timezone.localdate(batch.created_at)
    return private_download(response, f"relief-tracker-summaries-{day.isoformat()}.pdf")


@clinician_view
def clinic_invite(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        membership = request.user.memberships.active().select_related("clinic").first()
        invitation = Invitation.issue(request.user, membership.clinic if membership else None)
        return redirect("clinic_invitation", pk=invitation.pk)
    context = {
        "share_code": request.user.ensure_share_code(),
        "open_invitations": request.user.invitations.usable().order_by("-created_at"),
    }
    return render(request, "tracker/clinic_invite.html", context)


@clinician_view
def clinic_invitation(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(request.user.invitations, pk=pk)
    link = request.build_absolute_uri(reverse("share_accept", args=[invitation.token]))
    qr = segno.make(link, error="m").svg_inline(
        scale=1, border=4, omitsize=True, dark="#000", light="#fff", svgclass="qr-code"
    )
    qr = qr.replace("<svg ", '<svg role="img" aria-label="QR code of the invitation link" ', 1)
    context = {
        "invitation": invitation,
        "link": link,
        "qr_svg": mark_safe(qr),  # made by segno from our own link: no user input
        "share_code": request.user.ensure_share_code(),
    }
    return render(request, "tracker/clinic_invitation.html", context)


@require_safe
@clinician_view
def clinic_settings(request: HttpRequest) -> HttpResponse:
    """A clinic member's own settings: how the red-flag alerts reach them (email, and this
    phone if they turn it on), and their account's security."""
    roles = set(request.user.memberships.active().values_list("role", flat=True))
    context = {
        "push_public_key": push_public_key(),
        # A clinic's coordinators are sent no alert for its patients (tracker/access.py).
        "coordinator_only": roles == {Membership.Role.COORDINATOR},
    }
    return render(request, "tracker/clinic_settings.html", context)


@clinician_patient_view(AccessEvent.What.ENTRY)
def clinic_injection_new(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The one change a clinician may make to a shared diary: an injection they gave."""
    form = InjectionForm(request.POST or None, instance=Injection(patient=patient))
    if not form.is_bound:
        previous = patient.last_injection()
        form.initial |= {
            "date": patient.today(),
            "product": previous and previous.product,
            "injector": request.user.get_full_name(),
        }
    sites = SiteFormSet(
        request.POST or None,
        prefix="sites",
        form_kwargs={"suggested_muscles": catalog.muscles_for(patient.condition_codes)},
    )
    valid = request.method == "POST" and form.is_valid() and sites.is_valid()
    if valid and form.check_units(sites):
        saved = save_injection(form, sites, patient, request.user)
        messages.success(
            request,
            f"Saved the injection of {saved.date:%-d %b %Y} for {patient.display_name}. "
            "It shows in their diary as entered by your clinic.",
        )
        return redirect("clinic")
    context = {"form": form, "sites": sites, "injection": None, "patient": patient}
    return render(request, "tracker/clinic_injection_form.html", context)


@clinician_patient_view(AccessEvent.What.CSV)
@throttled("export")
def clinic_export_csv(request: HttpRequest, patient: Patient) -> HttpResponse:
    return csv_response(patient)


@clinician_patient_view(AccessEvent.What.FHIR)
@throttled("export")
def clinic_export_fhir(request: HttpRequest, patient: Patient) -> HttpResponse:
    return fhir_response(patient)


DEFAULT_RANGE = "all"  # a clinician sees the whole course of treatment first


@require_safe
@clinician_patient_view(AccessEvent.What.PAGE)
def report_page(request: HttpRequest, patient: Patient) -> HttpResponse:
    # Ten queries however long the diary: session, user, the clinician's second factor, the
    # patient, the access event, the conditions and read_diary's four; the rest is computed in
    # Python (pinned in tests/test_report.py).
    return render(request, "tracker/report.html", report_context(request, patient))


def report_context(request: HttpRequest, patient: Patient) -> dict:
    diary = read_diary(patient)
    choice = request.GET.get("range", DEFAULT_RANGE)
    since = triage.handled_since(timezone.now())
    red_flags = [
        flag
        for flag in (reaction.red_flag for reaction in diary.reactions)
        if flag and (not flag.handled or flag.handled_at >= since)
    ]
    return {
        "patient": patient,
        "conditions": patient.conditions_label,
        "diary": diary,
        "report": report(diary, choice, relief_settings()),
        "red_flags": triage.red_flag_order(red_flags),  # to handle, then handled lately
        "handled_form": HandledForm(),
        "clinician": True,  # the shared partials speak of "the patient", not "you"
        "ranges": RANGE_LABELS,
    }


@require_POST
@clinician_patient_view(AccessEvent.What.HANDLED)
def reaction_handled(request: HttpRequest, patient: Patient, pk) -> HttpResponse:
    """A clinician's "we have seen this" on one of the patient's red flags: who, when and an
    optional note. The patient's resolved date stays theirs (docs/clinical-rules.md)."""
    reaction = get_object_or_404(patient.reactions.red_flags(), pk=pk)
    form = HandledForm(request.POST)
    if not form.is_valid():
        context = report_context(request, patient) | {
            "handled_form": form,
            "handled_form_for": reaction.pk,
        }
        return render(request, "tracker/report.html", context, status=400)
    label = reaction.get_kind_display()
    if mark_handled(reaction.pk, request.user, form.cleaned_data["note"]):
        messages.success(
            request, f"Marked as handled: {label}. {patient.display_name} sees that you saw it."
        )
    else:
        messages.info(request, f"{label} had already been marked as handled.")
    return redirect(reverse("clinic_report", args=[patient.pk]) + "#red-flags")


@transaction.atomic
def mark_handled(pk, clinician: User, note: str) -> bool:
    """Mark the red flag handled by `clinician` now, unless someone handled it first."""
    reaction = Reaction.objects.select_for_update().get(pk=pk)
    if reaction.handled_at is not None:
        return False
    reaction.handled_at = timezone.now()
    reaction.handled_by = clinician
    reaction.handled_note = note
    # Model.save, not DiaryRecord.save: handling is the clinic's fact beside the patient's
    # record, so it leaves the record's version alone (an edit the patient made offline still
    # applies). The change history has it all the same: auditlog hears every save.
    models.Model.save(reaction, update_fields=["handled_at", "handled_by", "handled_note"])
    return True


@require_safe
@clinician_patient_view(AccessEvent.What.PAGE)
def summary_page(request: HttpRequest, patient: Patient) -> HttpResponse:
    return render(request, "tracker/report_summary.html", summary_context(patient))


@require_safe
@clinician_patient_view(AccessEvent.What.PDF)
@throttled("export")  # each PDF costs about half a second of CPU
def summary_pdf(request: HttpRequest, patient: Patient) -> HttpResponse:
    context = summary_context(patient) | {"for_pdf": True}
    html = render_to_string("tracker/report_summary.html", context, request=request)
    try:
        document = pdf.one_page_pdf(html, base_url=request.build_absolute_uri("/"))
    except pdf.Unavailable:
        context = {"patient": patient}
        return render(request, "tracker/report_pdf_unavailable.html", context, status=503)
    response = HttpResponse(document, content_type="application/pdf")
    # Named by the patient's id, not their username: a clinician never sees one.
    name = download_name(f"patient-{patient.pk}", patient.today(), "pdf", "summary")
    return private_download(response, name)


def summary_context(patient: Patient) -> dict:
    diary = read_diary(patient)
    return {
        "patient": patient,
        "conditions": patient.conditions_label,
        "diary": diary,
        "summary": summary(diary, relief_settings()),
        "clinician": True,
    }
