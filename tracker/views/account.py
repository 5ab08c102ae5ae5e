"""The patient's own account: onboarding and settings (conditions, time zone, reminders), their
own downloads, a copy of all their data, and deleting the account."""

import csv
import io
import json

from allauth.account.decorators import reauthentication_required
from allauth.account.models import EmailAddress
from allauth.core import ratelimit
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from tracker.access import own_account_view, patient_view
from tracker.account_forms import (
    DeleteAccountForm,
    IdentityForm,
    PhoneNumbersForm,
    ReminderForm,
    VerifyAgainForm,
)
from tracker.adapters import QUIET_MAIL_FAILURE, SIGNUP_EMAIL_KEY
from tracker.exports import csv_response, download_name, fhir_response, private_download, safe_cell
from tracker.forms import ConditionsForm
from tracker.models import (
    Patient,
)
from tracker.notify import push_public_key
from tracker.privacy import delete_account, readable_csv_lines, their_data
from tracker.throttles import throttled


def verify_email(request: HttpRequest) -> HttpResponse:
    """After sign-up: check your email, and send it again. The answer is the same whether or
    not an account waits for the address (it tells a stranger nothing), and allauth's limit
    on verification emails per address holds (one in 3 minutes by default)."""
    form = VerifyAgainForm(
        request.POST or None, initial={"email": request.session.get(SIGNUP_EMAIL_KEY, "")}
    )
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        address = EmailAddress.objects.filter(email__iexact=email, verified=False).first()
        if address is not None and ratelimit.consume(
            request, action="confirm_email", key=email.lower()
        ):
            setattr(request, QUIET_MAIL_FAILURE, True)  # the answer below is the same
            address.send_confirmation(request)
        request.session[SIGNUP_EMAIL_KEY] = email
        # True whether or not this one was sent: one link every 3 minutes at most.
        messages.success(
            request,
            f"If an account is waiting for {email}, a link is on its way. We send one every "
            "3 minutes at most: if you asked a moment ago, use the last one. It can take a few "
            "minutes; look in your spam folder too.",
        )
        return redirect("verify_email")
    return render(request, "account/verification_sent.html", {"form": form})


@login_required
def onboarding(request: HttpRequest) -> HttpResponse:
    """A new patient's first step: their conditions and time zone, which make their record."""
    if request.user.is_clinician:
        raise Http404
    if Patient.objects.filter(user=request.user).exists():
        return redirect("settings")
    form = ConditionsForm(request.POST or None, instance=Patient(user=request.user))
    if request.method == "POST" and form.is_valid():
        form.save()
        next_url = request.GET.get("next", "")
        if url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
            return redirect(next_url)  # back to the clinician's invitation that sent them here
        messages.success(request, "Welcome! Here is today's check-in.")
        return redirect("today")
    return render(request, "tracker/onboarding.html", {"form": form})


@patient_view
def settings_view(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The patient's conditions and time zone; the reminders' and the numbers' forms post to
    their own views."""
    form = ConditionsForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        form.save()
        request.session[SAVED_KEY] = {"form": "Saved: your conditions and time zone."}
        return redirect(reverse("settings") + "#conditions")
    return settings_page(request, patient, form=form)


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


def settings_page(
    request: HttpRequest,
    patient: Patient,
    form: ConditionsForm | None = None,
    reminder_form: ReminderForm | None = None,
    numbers_form: PhoneNumbersForm | None = None,
    identity_form: IdentityForm | None = None,
) -> HttpResponse:
    """The patient's settings page: their conditions and time zone, their reminders, and the
    numbers to call on the urgent card."""
    context = {
        "form": form or ConditionsForm(instance=patient),
        "patient": patient,
        "reminder_form": reminder_form or ReminderForm(instance=patient),
        "numbers_form": numbers_form or PhoneNumbersForm(instance=patient),
        "identity_form": identity_form or IdentityForm(instance=patient),
        "push_public_key": push_public_key(),
        # What was just saved, said in its own part of the page (where the patient looks).
        "saved": request.session.pop(SAVED_KEY, {}),
    }
    return render(request, "tracker/settings.html", context)


@require_POST
@patient_view
def reminder_settings(request: HttpRequest, patient: Patient) -> HttpResponse:
    def said(saved: Patient) -> str:
        if saved.reminder_time is None:
            return "Saved: no daily reminder."
        how = "by email" if saved.reminder_email else "not by email"
        return f"Saved: a reminder every day at {saved.reminder_time:%H:%M}, {how}."

    form = ReminderForm(request.POST, instance=patient)
    return save_settings_part(request, patient, form, "reminder_form", said, "#reminders")


@require_POST
@patient_view
def numbers_settings(request: HttpRequest, patient: Patient) -> HttpResponse:
    form = PhoneNumbersForm(request.POST, instance=patient)
    return save_settings_part(
        request, patient, form, "numbers_form", lambda _: "Saved: the numbers to call.", "#numbers"
    )


@require_POST
@patient_view
def identity_settings(request: HttpRequest, patient: Patient) -> HttpResponse:
    form = IdentityForm(request.POST, instance=patient)
    if not form.is_valid():
        return settings_page(request, patient, identity_form=form)
    form.save()
    request.session[SAVED_KEY] = {"identity_form": "Saved: your name and your clinic's details."}
    return redirect(reverse("settings") + "#identity")


def save_settings_part(request, patient, form, name: str, said, anchor: str) -> HttpResponse:
    """One of the settings page's forms, posted: saved (its own fields only) and back to its
    part of the page, or the page again with its errors."""
    if not form.is_valid():
        return settings_page(request, patient, **{name: form})
    saved = form.save(commit=False)
    saved.save(update_fields=list(form.Meta.fields))
    request.session[SAVED_KEY] = {name: said(saved)}
    return redirect(reverse("settings") + anchor)


SAVED_KEY = "settings_saved"


@require_GET
@own_account_view
@throttled("export")
def data_json(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        json.dumps(their_data(request.user), cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    return private_download(response, all_data_file_name(request.user, "json"))


@require_GET
@own_account_view
@throttled("export")
def data_csv(request: HttpRequest) -> HttpResponse:
    text = io.StringIO()
    text.write("\ufeff")  # so that spreadsheet programs read it as UTF-8
    lines = readable_csv_lines(request.user)
    csv.writer(text).writerows([safe_cell(cell) for cell in line] for line in lines)
    response = HttpResponse(text.getvalue(), content_type="text/csv; charset=utf-8")
    return private_download(response, all_data_file_name(request.user, "csv"))


@own_account_view
def account_delete(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = request.user
        logout(request)
        delete_account(user)
        messages.success(request, "Your account and all your data have been deleted.")
        return redirect("account_login")
    return render(request, "tracker/account_delete.html", {"form": form})


def all_data_file_name(user, extension: str) -> str:
    return download_name(user.username, timezone.now().date(), extension, "all-data")
