import math
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from functools import wraps
from urllib.parse import urlencode

import segno
from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import F, Min, QuerySet, Window
from django.db.models.functions import DenseRank
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from tracker import catalog, charts, exports, relief, triage
from tracker.forms import (
    ConditionsForm,
    DailyLogForm,
    GlobalImpressionForm,
    InjectionForm,
    ReactionChecklistForm,
    ReactionForm,
    ShareCodeForm,
    SiteFormSet,
    save_injection,
)
from tracker.models import (
    AccessEvent,
    DailyLog,
    Injection,
    Invitation,
    InvitationUnusable,
    Patient,
    Reaction,
    days_between,
    get_patient_for_user,
    open_patient_for_clinician,
    relief_settings,
    share_diary,
)
from tracker.reminder_views import settings_page
from tracker.security import require_two_factor
from tracker.throttles import throttled

HISTORY_DAYS_PER_PAGE = 28
URGENT = "urgent"  # message tag for the red-flag warning, shown before anything else


def patient_view(view: Callable) -> Callable:
    """A page of the patient's own diary: logged in, onboarded, and given their record."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            patient = get_patient_for_user(request.user)
        except Http404:
            if request.user.is_clinician:
                raise
            return redirect("onboarding")
        return view(request, patient, *args, **kwargs)

    return wrapper


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_clinician:
        return redirect("clinic")
    return redirect("today")


@login_required
def onboarding(request: HttpRequest) -> HttpResponse:
    if request.user.is_clinician:
        raise Http404
    patient = Patient.objects.filter(user=request.user).first()
    is_new = patient is None
    form = ConditionsForm(request.POST or None, instance=patient or Patient(user=request.user))
    if request.method == "POST" and form.is_valid():
        form.save()
        next_url = request.GET.get("next", "")
        if is_new and url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
            return redirect(next_url)  # back to the clinician's invitation that sent them here
        messages.success(request, "Welcome! Here is today's check-in." if is_new else "Saved.")
        return redirect("today" if is_new else "settings")
    if is_new:
        return render(request, "tracker/onboarding.html", {"form": form, "patient": patient})
    return settings_page(request, patient, form=form)


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Http404("Not a date.") from None


@patient_view
def log_day(request: HttpRequest, patient: Patient, day: str | None = None) -> HttpResponse:
    today = patient.today()
    the_day = parse_day(day) if day else today
    if the_day > today:
        messages.info(request, "That day hasn't come yet.")
        return redirect("today")
    log = patient.logs.filter(date=the_day).first()
    form = DailyLogForm(
        request.POST or None, instance=log or DailyLog(patient=patient, date=the_day)
    )
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                form.save()
        except IntegrityError:
            # Another device saved this day a moment ago: keep theirs, show it, lose nothing typed.
            messages.error(request, "This day was just saved elsewhere. Check it and save again.")
            return redirect(day_url(the_day, today))
        messages.success(request, f"Saved: {form.instance.severity} out of 10. Thank you.")
        return redirect(day_url(the_day, today))
    last_injection = patient.last_injection(the_day)
    status = pgic = None
    if the_day == today and last_injection:
        cycles = patient.relief_cycles(today)
        status = relief.current_status(cycles, relief_settings())
        pgic = pgic_question(patient, last_injection, cycles, today)
    context = {
        "patient": patient,
        "form": form,
        "log": log,
        "day": the_day,
        "today": today,
        "is_today": the_day == today,
        "previous_url": day_url(the_day - timedelta(days=1), today),
        "next_url": day_url(the_day + timedelta(days=1), today) if the_day < today else None,
        "last_injection": last_injection,
        "cycle_day": (the_day - last_injection.date).days if last_injection else None,
        "open_red_flags": list(patient.reactions.red_flags().open()),
        "status": status,
        "pgic": pgic,
    }
    return render(request, "tracker/today.html", context)


def pgic_question(patient: Patient, injection: Injection, cycles, today: date):
    """The PGIC form when it is due in the current cycle and not yet answered."""
    expected = relief.expected_next_injection(c.injection_date for c in cycles)
    timepoint = relief.pgic_timepoint_due(injection.date, expected, today)
    if timepoint is None or injection.global_impressions.filter(timepoint=timepoint).exists():
        return None
    return GlobalImpressionForm(initial={"injection": injection.pk, "timepoint": timepoint})


@require_POST
@patient_view
def global_impression(request: HttpRequest, patient: Patient) -> HttpResponse:
    form = GlobalImpressionForm(request.POST, patient=patient)
    if form.is_valid():
        form.save()
        messages.success(request, "Thank you. Your answer is saved.")
    else:
        messages.error(request, "Choose one of the seven answers, then save.")
    return redirect("today")


def day_url(day: date, today: date) -> str:
    return reverse("today") if day == today else reverse("log_day", args=[day.isoformat()])


@patient_view
def history(request: HttpRequest, patient: Patient) -> HttpResponse:
    today = patient.today()
    firsts = [
        patient.logs.aggregate(first=Min("date"))["first"],
        patient.injections.aggregate(first=Min("date"))["first"],
        patient.reactions.aggregate(first=Min("onset_date"))["first"],
    ]
    first_day = min([d for d in firsts if d] or [today])
    page_count = max(1, math.ceil(((today - first_day).days + 1) / HISTORY_DAYS_PER_PAGE))
    try:
        page = min(max(int(request.GET.get("page", 1)), 1), page_count)
    except ValueError:
        page = 1
    end = today - timedelta(days=HISTORY_DAYS_PER_PAGE * (page - 1))
    start = max(first_day, end - timedelta(days=HISTORY_DAYS_PER_PAGE - 1))

    logs = {log.date: log for log in patient.logs.between(start, end)}
    injections = defaultdict(list)
    for shot in patient.injections.filter(date__range=(start, end)).prefetch_related("sites"):
        injections[shot.date].append(shot)
    reactions = defaultdict(list)
    for reaction in patient.reactions.filter(onset_date__range=(start, end)):
        reactions[reaction.onset_date].append(reaction)
    days = [
        {"date": d, "log": logs.get(d), "injections": injections[d], "reactions": reactions[d]}
        for d in reversed(days_between(start, end))
    ]
    context = {
        "days": days,
        "today": today,
        "page": page,
        "page_count": page_count,
        "newer_url": f"?{urlencode({'page': page - 1})}" if page > 1 else None,
        "older_url": f"?{urlencode({'page': page + 1})}" if page < page_count else None,
    }
    return render(request, "tracker/history.html", context)


@patient_view
def injection_list(request: HttpRequest, patient: Patient) -> HttpResponse:
    injections = patient.injections.select_related("entered_by").prefetch_related("sites")
    return render(request, "tracker/injection_list.html", {"injections": injections})


@patient_view
def injection_edit(request: HttpRequest, patient: Patient, pk=None) -> HttpResponse:
    injection = get_object_or_404(patient.injections, pk=pk) if pk else None
    form = InjectionForm(request.POST or None, instance=injection or Injection(patient=patient))
    if injection is None and not form.is_bound:
        previous = patient.last_injection()
        form.initial |= {"date": patient.today(), "product": previous and previous.product}
    suggested = catalog.muscles_for(patient.condition_codes)
    sites = SiteFormSet(
        request.POST or None,
        instance=injection,
        prefix="sites",
        form_kwargs={"suggested_muscles": suggested},
    )
    client_id = posted_client_id(request)
    if injection is None and patient.injections.filter(pk=client_id).exists():
        # The same form sent twice (a retry after a lost answer): it is already saved.
        return redirect("injection_detail", pk=client_id)
    if request.method == "POST" and form.is_valid() and sites.is_valid():
        form.check_units(sites.site_units())
        if not form.errors:
            if (
                injection is None
                and client_id
                and not Injection.objects.filter(pk=client_id).exists()
            ):
                form.instance.pk = client_id
            saved = save_injection(form, sites, patient, request.user)
            if injection:
                messages.success(request, "Injection updated.")
                return redirect("injection_detail", pk=saved.pk)
            return redirect(reverse("injection_detail", args=[saved.pk]) + "?saved=1")
    context = {
        "form": form,
        "sites": sites,
        "injection": injection,
        "client_id": injection.pk if injection else client_id or uuid.uuid4(),
    }
    return render(request, "tracker/injection_form.html", context)


def posted_client_id(request: HttpRequest) -> uuid.UUID | None:
    """The id a diary form chose for the record it creates, so that a form kept offline and
    sent again later, or sent twice, saves one record."""
    try:
        return uuid.UUID(request.POST.get("_outbox_key", ""))
    except ValueError:
        return None


@patient_view
def injection_detail(request: HttpRequest, patient: Patient, pk) -> HttpResponse:
    injection = get_object_or_404(
        patient.injections.select_related("entered_by").prefetch_related("sites", "reactions"),
        pk=pk,
    )
    context = {
        "injection": injection,
        "just_saved": request.GET.get("saved") == "1",
        "voice_patient": "spasmodic_dysphonia" in patient.condition_codes,
    }
    return render(request, "tracker/injection_detail.html", context)


@patient_view
def injection_delete(request: HttpRequest, patient: Patient, pk) -> HttpResponse:
    injection = get_object_or_404(patient.injections, pk=pk)
    if request.method == "POST":
        injection.delete()
        messages.success(request, "Injection deleted.")
        return redirect("injection_list")
    return render(request, "tracker/confirm_delete.html", {"thing": injection, "kind": "injection"})


@patient_view
def reaction_list(request: HttpRequest, patient: Patient) -> HttpResponse:
    reactions = patient.reactions.select_related("injection")
    context = {
        "open_reactions": [r for r in reactions if r.resolved_date is None],
        "resolved_reactions": [r for r in reactions if r.resolved_date is not None],
    }
    return render(request, "tracker/reaction_list.html", context)


@patient_view
def reaction_new(request: HttpRequest, patient: Patient) -> HttpResponse:
    form = ReactionChecklistForm(request.POST or None, patient=patient)
    client_id = posted_client_id(request)
    if request.method == "POST" and form.is_valid():
        reactions = form.save_all(client_id)
        warn_about_red_flags(request, reactions)
        messages.success(
            request, f"Saved {len(reactions)} reaction{'s' if len(reactions) > 1 else ''}."
        )
        return redirect("reaction_list")
    return render(
        request,
        "tracker/reaction_form.html",
        {
            "form": form,
            "red_flags": sorted(catalog.RED_FLAG_CODES),
            "client_id": client_id or uuid.uuid4(),
        },
    )


@patient_view
def reaction_edit(request: HttpRequest, patient: Patient, pk) -> HttpResponse:
    reaction = get_object_or_404(patient.reactions, pk=pk)
    form = ReactionForm(request.POST or None, instance=reaction, patient=patient)
    if request.method == "POST" and form.is_valid():
        form.save()
        warn_about_red_flags(request, [reaction])
        messages.success(request, "Reaction updated.")
        return redirect("reaction_list")
    context = {"form": form, "reaction": reaction, "red_flags": sorted(catalog.RED_FLAG_CODES)}
    return render(request, "tracker/reaction_form.html", context)


@require_POST
@patient_view
def reaction_resolve(request: HttpRequest, patient: Patient, pk) -> HttpResponse:
    reaction = get_object_or_404(patient.reactions, pk=pk, resolved_date__isnull=True)
    reaction.resolved_date = patient.today()
    reaction.save(update_fields=["resolved_date"])
    messages.success(request, f"Marked “{reaction.get_kind_display()}” as over today.")
    return redirect("reaction_list")


@patient_view
def reaction_delete(request: HttpRequest, patient: Patient, pk) -> HttpResponse:
    reaction = get_object_or_404(patient.reactions, pk=pk)
    if request.method == "POST":
        reaction.delete()
        messages.success(request, "Reaction deleted.")
        return redirect("reaction_list")
    return render(request, "tracker/confirm_delete.html", {"thing": reaction, "kind": "reaction"})


def warn_about_red_flags(request: HttpRequest, reactions) -> None:
    flagged = [r.get_kind_display() for r in reactions if r.is_red_flag and not r.resolved_date]
    if flagged:
        messages.error(
            request,
            "Contact your clinic or emergency services now. You reported: "
            + "; ".join(flagged)
            + ". Your clinicians will see this marked as urgent.",
            extra_tags=URGENT,
        )


# The clinic side: a clinician sees a patient's data only while the patient shares it, and
# every look is written to the patient's access history.

CLINIC_ROWS_PER_PAGE = 100


def clinician_view(view: Callable) -> Callable:
    """A page for clinicians only: anyone else gets 404."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_clinician:
            raise Http404
        require_two_factor(request.user)
        return view(request, *args, **kwargs)

    return wrapper


def clinician_patient_view(what: str) -> Callable:
    """A clinic page of one shared patient's data, given their record; 404 without an active
    share. Each request is one row of the patient's access history, as `what`."""

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, patient_id: int, *args, **kwargs) -> HttpResponse:
            patient = open_patient_for_clinician(
                request.user, patient_id, what, request.get_full_path()
            )
            return view(request, patient, *args, **kwargs)

        return wrapper

    return decorator


@clinician_view
def clinic(request: HttpRequest) -> HttpResponse:
    condition = request.GET.get("condition", "")
    if condition not in catalog.CONDITION_LABELS:
        condition = ""
    search = request.GET.get("q", "").strip()[:100]
    shown = Patient.objects.visible_to(request.user).with_condition(condition).matching(search)
    # Every row is computed to sort them all; a page shows the first hundred of them.
    rows = triage_rows(list(shown.for_dashboard()), shown.values("pk"))
    page = Paginator(rows, CLINIC_ROWS_PER_PAGE).get_page(request.GET.get("page"))
    filters = urlencode(
        {key: value for key, value in [("q", search), ("condition", condition)] if value}
    )
    context = {
        "page": page,
        "rows": page.object_list,
        "condition": condition,
        "search": search,
        "filters": f"&{filters}" if filters else "",
        "conditions": catalog.CONDITION_CHOICES,
        "filtered": bool(condition or search),
        "triage": triage,
    }
    return render(request, "tracker/clinic_dashboard.html", context)


def triage_rows(patients: list[Patient], ids: QuerySet) -> list[dict]:
    """The dashboard's rows in triage order, from three queries for all the `patients`, whose
    ids `ids` selects (a subquery: quicker than a list of hundreds of ids)."""
    if not patients:
        return []
    today = {patient.pk: patient.today() for patient in patients}
    injections = defaultdict(list)
    for patient_id, *fields in (
        Injection.objects.filter(patient_id__in=ids)
        .annotate(
            recency=Window(DenseRank(), partition_by=[F("patient_id")], order_by=F("date").desc())
        )
        .filter(recency__lte=2)  # the last two injection dates: the current and last cycle
        .order_by("date", "created_at")
        .values_list("patient_id", "id", "date", "product", "total_units")
    ):
        injections[patient_id].append(triage.InjectionInfo(*fields))
    logs = DailyLog.objects.filter(
        patient_id__in=ids, date__gte=triage.window_start(min(today.values()))
    ).severities_by_patient()
    red_flags = defaultdict(list)
    for patient_id, kind in (
        Reaction.objects.filter(patient_id__in=ids)
        .red_flags()
        .open()
        .order_by("onset_date")
        .values_list("patient_id", "kind")
    ):
        red_flags[patient_id].append(kind)

    settings = relief_settings()
    rows = [
        triage.triage_row(
            patient.pk,
            patient.display_name,
            today[patient.pk],
            injections[patient.pk],
            logs.get(patient.pk, ()),
            red_flags[patient.pk],
            patient.last_log_date,
            settings,
        )
        for patient in patients
    ]
    by_id = {patient.pk: patient for patient in patients}
    return [
        {
            "row": row,
            "patient": by_id[row.patient_id],
            "conditions": ", ".join(
                c.get_condition_display() for c in by_id[row.patient_id].conditions.all()
            ),
        }
        for row in triage.sort_rows(rows)
    ]


@clinician_view
def clinic_invite(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        invitation = Invitation.issue(request.user)
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
    if request.method == "POST" and form.is_valid() and sites.is_valid():
        form.check_units(sites.site_units())
        if not form.errors:
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


@patient_view
@reauthentication_required  # the patient re-enters their password before a download
@throttled("export")
def export_csv(request: HttpRequest, patient: Patient) -> HttpResponse:
    return csv_response(patient)


@patient_view
@reauthentication_required
@throttled("export")
def export_fhir(request: HttpRequest, patient: Patient) -> HttpResponse:
    return fhir_response(patient)


def csv_response(patient: Patient) -> HttpResponse:
    response = StreamingHttpResponse(
        exports.diary_csv(patient), content_type="text/csv; charset=utf-8"
    )
    return as_private_download(response, exports.filename(patient, "csv"))


def fhir_response(patient: Patient) -> HttpResponse:
    response = JsonResponse(
        exports.fhir_bundle(patient), content_type="application/fhir+json; charset=utf-8"
    )
    return as_private_download(response, exports.filename(patient, "fhir.json"))


def as_private_download(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"  # health data: no copies in caches
    return response


# Sharing, from the patient's side: always their choice, withdrawn in one tap.

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
    """A clinician's share code: GET shows whom it belongs to and asks; POST shares."""
    form = ShareCodeForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        return sharing(request, code_form=form)
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
    invitation = Invitation.objects.select_related("clinician").filter(token=token).first()
    if invitation is None or not invitation.is_open:
        # Unknown, expired or used up: the same answer, which tells nothing about the token.
        return render(request, "tracker/share_invalid.html", status=404)
    user = request.user
    if not user.is_authenticated:
        context = {"clinician": invitation.clinician, "next": urlencode({"next": request.path})}
        return render(request, "tracker/share_invitation.html", context)
    if user.is_clinician:
        return render(request, "tracker/share_invalid.html", {"for_clinician": True}, status=404)
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


@patient_view
def relief_page(request: HttpRequest, patient: Patient) -> HttpResponse:
    # Seven queries however long the diary: session, user, patient, injections, their PGIC
    # answers, logs, reactions. Each is read once and handed to the pure code.
    injections = list(patient.injections.order_by("date").prefetch_related("global_impressions"))
    logs = patient.logs.order_by("date").values_list("date", "severity", "note")
    reactions = patient.reactions.values_list("onset_date", "kind", "severity")
    page = charts.relief_page(
        request.GET.get("range", charts.DEFAULT_RANGE),
        patient.today(),
        doses=[charts.Dose(i.pk, i.get_product_display(), i.total_units) for i in injections],
        dates_by_injection={i.pk: i.date for i in injections},
        logs=list(logs),
        reactions=[
            charts.Event(
                onset,
                f"{catalog.REACTION_LABELS.get(kind, kind)} ({severity})",
                urgent=kind in catalog.RED_FLAG_CODES,
            )
            for onset, kind, severity in reactions
        ],
        impressions=[
            charts.Impression(i.pk, answer.get_timepoint_display(), answer.get_score_display())
            for i in injections
            for answer in i.global_impressions.all()
        ],
        settings=relief_settings(),
    )
    return render(request, "tracker/relief.html", {"page": page, "ranges": charts.RANGE_LABELS})
