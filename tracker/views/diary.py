"""The patient's diary: Today and any past day, the PGIC question, the history, injections and
reactions."""

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.db.models import Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from tracker import catalog, emergency, relief
from tracker.access import patient_view
from tracker.dates import DIARY_DATE_ERROR, EARLIEST_DIARY_DATE, days_between, page_day
from tracker.forms import (
    DailyLogForm,
    GlobalImpressionForm,
    InjectionForm,
    ReactionChecklistForm,
    ReactionForm,
    SiteFormSet,
    save_injection,
)
from tracker.models import (
    DailyLog,
    Injection,
    Patient,
    relief_settings,
)
from tracker.pages.relief import in_plain_words
from tracker.reminders import AFTERCARE_DAYS, BOOKING_NOTICE_DAYS, WARNING_SIGNS_DAYS
from tracker.sync import follow_tombstone


def home(request: HttpRequest) -> HttpResponse:
    """A stranger's first page: what the app is, for whom, and what a clinic sees; signed in,
    Today or the clinic's list."""
    if not request.user.is_authenticated:
        return render(request, "tracker/landing.html")
    if request.user.is_clinician:
        return redirect("clinic")
    return redirect("today")


@patient_view
def log_day(request: HttpRequest, patient: Patient, day: str | None = None) -> HttpResponse:
    today = patient.today()
    the_day = page_day(day) if day else today
    if not EARLIEST_DIARY_DATE <= the_day <= today:
        messages.info(request, DIARY_DATE_ERROR)
        return redirect("today")
    if request.method == "POST" and "more_open" in request.POST and "severity" not in request.POST:
        return remember_fold(patient, request.POST["more_open"] == "1")
    log = patient.logs.filter(date=the_day).first()
    if request.method == "POST" and request.POST.get("undo"):
        return undo_check_in(request, log, the_day, today)
    previous = check_in_values(log)  # before the form writes what was posted onto the log
    form = DailyLogForm(
        request.POST or None, instance=log or DailyLog(patient=patient, date=the_day)
    )
    # Today's PGIC question is part of the same form: one tap keeps both answers.
    answer = None
    if request.method == "POST" and request.POST.get(f"{PGIC_PREFIX}-score"):
        answer = GlobalImpressionForm(
            request.POST, prefix=PGIC_PREFIX, patient=patient, use_required_attribute=False
        )
    if request.method == "POST" and all([form.is_valid(), answer is None or answer.is_valid()]):
        return save_day(request, form, answer, previous, the_day, today)
    last_injection = patient.last_injection(the_day)
    is_today = the_day == today
    status = pgic = None
    if is_today and last_injection:
        cycles, products = patient.relief_cycles_and_products(today)
        settings = relief_settings()
        status = in_plain_words(relief.current_status(cycles, settings, products), settings)
        pgic = answer or pgic_question(patient, last_injection, cycles, today)
    cycle_day = (the_day - last_injection.date).days if last_injection else None
    forecast = status.forecast if status else None
    chosen = form["severity"].value()
    context = {
        "patient": patient,
        "form": form,
        "log": log,
        "day": the_day,
        "today": today,
        "is_today": is_today,
        "logged": check_in_values(log),
        "outbox_version": log.version if log else deleted_version(patient, the_day),
        "chosen": str(chosen) if chosen not in (None, "") else "",
        "more_open": patient.checkin_more_open or any(form[f].errors for f in MORE_FIELDS),
        "undo": undo_offer(request, log, the_day),
        "undo_seconds": UNDO_SECONDS,
        "previous_url": (
            day_url(the_day - timedelta(days=1), today) if the_day > EARLIEST_DIARY_DATE else None
        ),
        "next_url": day_url(the_day + timedelta(days=1), today) if the_day < today else None,
        "last_injection": last_injection,
        "cycle_day": cycle_day,
        "urgent_card": urgent_card(patient),
        "status": status,
        "forecast": forecast,
        "pgic": pgic,
        **(after_injection(patient, cycle_day, forecast, today) if is_today else {}),
    }
    return render(request, "tracker/today.html", context)


PGIC_PREFIX = "pgic"
MORE_FIELDS = ["spasm_frequency", "pain", "note"]
UNDO_KEY = "checkin_undo"
# The undo shows this long after a tap; the server honours it a while longer, for a slow
# phone or a patient who reads before tapping.
UNDO_SECONDS = 10
UNDO_GRACE_SECONDS = 120


def deleted_version(patient: Patient, day: date) -> int:
    """The version a check-in of this day had when it was deleted (0: none was): a change made
    from it logs the day again (tracker/sync.py, may_recreate)."""
    stone = patient.tombstones.filter(kind="log", key=day.isoformat()).first()
    return stone.version if stone else 0


def remember_fold(patient: Patient, is_open: bool) -> HttpResponse:
    """The check-in's extra measures stay open, or folded, as the patient last left them."""
    patient.checkin_more_open = is_open
    patient.save(update_fields=["checkin_more_open"])
    return HttpResponse(status=204)


def check_in_values(log: DailyLog | None) -> dict | None:
    return {f: getattr(log, f) for f in ["severity", *MORE_FIELDS]} if log else None


def save_day(request, form, answer, previous, the_day: date, today: date) -> HttpResponse:
    """Saves the check-in and, when answered, the PGIC: the answer first, so that it is kept
    even when another device saved this day a moment ago. What was there before is kept in
    the session for a moment, for "Undo"."""
    if answer is not None:
        answer.save()
    if previous is None or form.has_changed():
        try:
            with transaction.atomic():
                if previous is None:
                    # The day logged again after its check-in was deleted: versions go on.
                    stone = form.instance.patient.tombstones.filter(
                        kind="log", key=the_day.isoformat()
                    ).first()
                    follow_tombstone(form.instance, stone)
                form.save()
        except IntegrityError:
            # Another device saved this day a moment ago: keep theirs, show it, lose nothing typed.
            messages.error(request, "This day was just saved elsewhere. Check it and save again.")
            return redirect(day_url(the_day, today))
        request.session[UNDO_KEY] = {
            "day": the_day.isoformat(),
            "previous": previous,
            "version": form.instance.version,
            "at": timezone.now().timestamp(),
        }
    if answer is not None:
        messages.success(
            request,
            f"Saved: {form.instance.severity} out of 10, and your answer about this cycle. "
            "Thank you.",
        )
    return redirect(day_url(the_day, today))


def undo_offer(request: HttpRequest, log: DailyLog | None, the_day: date) -> dict | None:
    """The check-in just saved on this page, while it may still be undone."""
    offer = request.session.get(UNDO_KEY)
    if not offer or offer["day"] != the_day.isoformat() or log is None:
        return None
    age = timezone.now().timestamp() - offer["at"]
    if log.version != offer["version"] or not 0 <= age <= UNDO_GRACE_SECONDS:
        return None
    return offer


def undo_check_in(request: HttpRequest, log, the_day: date, today: date) -> HttpResponse:
    """Back to what the day held before the last tap: the earlier values, or no check-in."""
    offer = undo_offer(request, log, the_day)
    request.session.pop(UNDO_KEY, None)
    if offer is None:
        messages.info(request, "Nothing to undo: this day has changed since, or it is too late.")
        return redirect(day_url(the_day, today))
    previous = offer["previous"]
    if previous is None:
        log.delete()
        messages.success(request, "Undone: this day is not logged.")
    else:
        for name, value in previous.items():
            setattr(log, name, value)
        log.save(update_fields=list(previous))
        messages.success(request, f"Undone: back to {previous['severity']} out of 10.")
    return redirect(day_url(the_day, today))


# The red flags of both tiers, for the "watch for" list (docs/clinical-rules.md, "Aftercare").
WATCH_FOR = [
    (tier, catalog.RED_FLAG_TIER_LABELS[tier], [label for _, label in reactions])
    for tier, reactions in [
        (catalog.GET_HELP_NOW, catalog.GET_HELP_NOW_REACTIONS),
        (catalog.CONTACT_CLINIC_TODAY, catalog.CONTACT_CLINIC_REACTIONS),
    ]
]


def numbers_to_call(patient: Patient) -> emergency.Numbers:
    """The numbers the warning signs give to call: the patient's, or their country's and their
    clinic's (docs/clinical-rules.md, "Red flags")."""
    return emergency.numbers_for(
        patient.time_zone, patient.emergency_number, patient.phone_of_clinic
    )


def after_injection(
    patient: Patient, cycle_day: int | None, forecast: relief.Forecast | None, today: date
) -> dict:
    """What Today adds in the days after an injection (docs/clinical-rules.md, "Aftercare" and
    "Wearing-off forecast"): the aftercare on the injection day and the next, the warning
    signs for four weeks, and the suggestion to book once the forecast date is near."""
    days_to_forecast = (forecast.date - today).days if forecast and forecast.date else None
    recent = cycle_day is not None and 0 <= cycle_day <= WARNING_SIGNS_DAYS
    return {
        "aftercare": cycle_day is not None and 0 <= cycle_day <= AFTERCARE_DAYS,
        "voice_patient": "spasmodic_dysphonia" in patient.condition_codes,
        "watch_for": WATCH_FOR if recent else None,
        "watch_numbers": numbers_to_call(patient) if recent else None,
        "book_next": days_to_forecast is not None and days_to_forecast <= BOOKING_NOTICE_DAYS,
        "days_to_forecast": days_to_forecast,
    }


@require_safe
@patient_view
def next_appointment_ics(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The forecast wearing-off date as an all-day calendar event, to book the next
    appointment around it; 404 while there is no forecast."""
    cycles, products = patient.relief_cycles_and_products()
    forecast = relief.wearing_off_forecast(cycles, products, relief_settings())
    if forecast is None or forecast.date is None:
        raise Http404("No wearing-off forecast yet.")
    uid = uuid.uuid5(uuid.NAMESPACE_URL, f"relief-tracker:next-appointment:{patient.pk}")
    response = HttpResponse(
        appointment_calendar(forecast.date, uid, timezone.now()),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="next-appointment.ics"'
    return response


def appointment_calendar(day: date, uid: uuid.UUID, stamp: datetime) -> str:
    """An iCalendar (RFC 5545) file of one all-day event on `day`, and no health data but
    its title. The same uid each time: a calendar updates the event rather than adding one."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Relief Tracker//Next appointment//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{stamp.astimezone(UTC):%Y%m%dT%H%M%SZ}",
        f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
        f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
        f"SUMMARY:{APPOINTMENT_TITLE}",
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(f"{line}\r\n" for line in lines)


APPOINTMENT_TITLE = "Botulinum toxin appointment (relief usually wears off around here)"


def pgic_question(patient: Patient, injection: Injection, cycles, today: date):
    """The PGIC form when it is due in the current cycle and not yet answered."""
    expected = relief.expected_next_injection(c.injection_date for c in cycles)
    timepoint = relief.pgic_timepoint_due(injection.date, expected, today)
    if timepoint is None or injection.global_impressions.filter(timepoint=timepoint).exists():
        return None
    return GlobalImpressionForm(
        initial={"injection": injection.pk, "timepoint": timepoint},
        prefix=PGIC_PREFIX,
        use_required_attribute=False,  # the check-in can be saved without it
    )


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
    """The diary a month at a time, newest first, any month one choice away (a <select> and
    Go, links to the month before and after); no JavaScript needed."""
    today = patient.today()
    firsts = [
        patient.logs.aggregate(first=Min("date"))["first"],
        patient.injections.aggregate(first=Min("date"))["first"],
        patient.reactions.aggregate(first=Min("onset_date"))["first"],
    ]
    first_day = min([d for d in firsts if d and d <= today] or [today])
    months = months_between(first_day, today)  # newest first
    month = chosen_month(request.GET.get("month", ""), months)
    start = max(first_day, month)
    end = min(today, next_month(month) - timedelta(days=1))

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
    index = months.index(month)
    context = {
        "days": days,
        "today": today,
        "month": month,
        "months": months,
        "logged": len(logs),
        "newer_url": month_url(months[index - 1]) if index > 0 else None,
        "older_url": month_url(months[index + 1]) if index + 1 < len(months) else None,
        "newer_month": months[index - 1] if index > 0 else None,
        "older_month": months[index + 1] if index + 1 < len(months) else None,
    }
    return render(request, "tracker/history.html", context)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """The first day of each month from `last`'s back to `first`'s."""
    months, month = [], last.replace(day=1)
    while month >= first.replace(day=1):
        months.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    return months


def chosen_month(value: str, months: list[date]) -> date:
    """The month asked for ("2026-05"), if the diary has it; else the newest."""
    try:
        year, number = (int(part) for part in value.split("-"))
        month = date(year, number, 1)
    except (ValueError, OverflowError):
        return months[0]
    return month if month in months else months[0]


def month_url(month: date) -> str:
    return f"{reverse('history')}?{urlencode({'month': f'{month:%Y-%m}'})}"


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
    if injection is None and client_id and patient.tombstones.filter(key=str(client_id)).exists():
        # A form kept on the phone, sent after the injection it made was deleted: no return.
        messages.info(request, "This injection was deleted, so it was not saved again.")
        return redirect("injection_list")
    valid = request.method == "POST" and all([form.is_valid(), sites.is_valid()])
    if request.method == "POST" and not valid and sites.is_valid():
        form.check_site_units(sites)  # the total refused: a muscle's units marked on that muscle
    if valid and form.check_units(sites):
        if injection is None and client_id and not Injection.objects.filter(pk=client_id).exists():
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
    days_since = (patient.today() - injection.date).days
    context = {
        "injection": injection,
        "just_saved": request.GET.get("saved") == "1",
        "voice_patient": "spasmodic_dysphonia" in patient.condition_codes,
        "days_since": days_since,
        "watch_for": WATCH_FOR if 0 <= days_since <= WARNING_SIGNS_DAYS else None,
        "numbers": numbers_to_call(patient),
    }
    return render(request, "tracker/injection_detail.html", context)


@patient_view
def injection_delete(request: HttpRequest, patient: Patient, pk) -> HttpResponse:
    injection = get_object_or_404(patient.injections, pk=pk)
    return delete_after_asking(request, injection, "injection", "injection_list")


def delete_after_asking(request: HttpRequest, record, kind: str, then: str) -> HttpResponse:
    """GET asks whether to delete the record; POST deletes it and goes to the page `then`."""
    if request.method == "POST":
        record.delete()
        messages.success(request, f"{kind.capitalize()} deleted.")
        return redirect(then)
    return render(request, "tracker/confirm_delete.html", {"thing": record, "kind": kind})


@patient_view
def reaction_list(request: HttpRequest, patient: Patient) -> HttpResponse:
    reactions = patient.reactions.select_related("injection")
    context = {
        "open_reactions": [r for r in reactions if r.resolved_date is None],
        "resolved_reactions": [r for r in reactions if r.resolved_date is not None],
        "time_zone": patient.time_zone,  # when the clinic saw a red flag, in the patient's time
        "shared": patient.shares.active().exists(),
    }
    return render(request, "tracker/reaction_list.html", context)


@patient_view
def reaction_new(request: HttpRequest, patient: Patient) -> HttpResponse:
    form = ReactionChecklistForm(request.POST or None, patient=patient)
    client_id = posted_client_id(request)
    if request.method == "POST" and form.is_valid():
        reactions = form.save_all(client_id)
        if warn_about_red_flags(patient, reactions):
            return redirect("today")
        if not reactions:  # every tick had been deleted since the form was made
            messages.info(request, "These reactions were deleted, so they were not saved again.")
            return redirect("reaction_list")
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
            "numbers": numbers_to_call(patient),
            "client_id": client_id or uuid.uuid4(),
        },
    )


@patient_view
def reaction_edit(request: HttpRequest, patient: Patient, pk) -> HttpResponse:
    reaction = get_object_or_404(patient.reactions, pk=pk)
    form = ReactionForm(request.POST or None, instance=reaction, patient=patient)
    if request.method == "POST" and form.is_valid():
        form.save()
        if warn_about_red_flags(patient, [reaction]):
            return redirect("today")
        messages.success(request, "Reaction updated.")
        return redirect("reaction_list")
    context = {
        "form": form,
        "reaction": reaction,
        "red_flags": sorted(catalog.RED_FLAG_CODES),
        "numbers": numbers_to_call(patient),
    }
    return render(request, "tracker/reaction_form.html", context)


@require_POST
@patient_view
def reaction_resolve(request: HttpRequest, patient: Patient, pk) -> HttpResponse:
    reaction = get_object_or_404(patient.reactions, pk=pk, resolved_date__isnull=True)
    today = patient.today()
    if reaction.onset_date > today:
        # Stored as starting after today (an import, a move to a time zone further west): it
        # can't be over before it began, and the dates are the patient's to correct.
        started = f"{reaction.onset_date:%-d %b %Y}"
        messages.info(
            request, f"This says it started on {started}, after today. Change when it started."
        )
        return redirect("reaction_edit", pk=reaction.pk)
    reaction.resolved_date = today
    reaction.save(update_fields=["resolved_date"])
    messages.success(request, f"Marked “{reaction.get_kind_display()}” as over today.")
    return redirect("reaction_list")


@patient_view
def reaction_delete(request: HttpRequest, patient: Patient, pk) -> HttpResponse:
    reaction = get_object_or_404(patient.reactions, pk=pk)
    return delete_after_asking(request, reaction, "reaction", "reaction_list")


def warn_about_red_flags(patient: Patient, reactions) -> bool:
    """Whether the reactions just saved put a red flag on Today's urgent card: the patient is
    then taken there, where it comes before anything else, with the numbers to call."""
    saved = {r.pk for r in reactions if r.is_red_flag}
    return bool(saved) and any(r.pk in saved for r in urgent_red_flags(patient))


def urgent_red_flags(patient: Patient) -> list:
    """The red flags on the urgent card (docs/clinical-rules.md, "Red flags"): those still
    going on, and those the patient says are over that no clinician has handled yet, while a
    clinic shares the diary (otherwise no one could ever handle them)."""
    flags = list(
        patient.reactions.red_flags().filter(
            Q(resolved_date__isnull=True) | Q(handled_at__isnull=True)
        )
    )
    if any(r.resolved_date for r in flags) and not patient.shares.active().exists():
        flags = [r for r in flags if not r.resolved_date]
    return flags


def urgent_card(patient: Patient) -> dict | None:
    """Today's urgent card: the red flags by tier, "Get help now" first, with the numbers to
    call. One the patient says is over is no emergency now, but the clinic must still hear of
    it: it is listed with "Contact your clinic today"."""
    flags = urgent_red_flags(patient)
    if not flags:
        return None
    by_tier = {catalog.GET_HELP_NOW: [], catalog.CONTACT_CLINIC_TODAY: []}
    for reaction in flags:
        tier = catalog.CONTACT_CLINIC_TODAY if reaction.resolved_date else reaction.red_flag_tier
        by_tier[tier].append(reaction)
    return {
        "tiers": [
            (tier, catalog.RED_FLAG_TIER_LABELS[tier], reactions)
            for tier, reactions in by_tier.items()
            if reactions
        ],
        "numbers": numbers_to_call(patient),
        "time_zone": patient.time_zone,
    }
