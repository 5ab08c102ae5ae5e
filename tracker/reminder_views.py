"""The patient's side of the daily reminders: the form on the settings page, and the API
where a phone's browser registers (or drops) its Web Push subscription."""

import ipaddress
from datetime import time
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker.forms import ButtonRadioSelect, ConditionsForm
from tracker.models import Patient, PushSubscription, get_patient_for_user
from tracker.notify import push_enabled
from tracker.reminders import REMINDER_TIMES

# Each phone or browser has its own subscription; beyond this many, the oldest goes.
MAX_SUBSCRIPTIONS_PER_PATIENT = 10


class ReminderForm(forms.ModelForm):
    reminder_time = forms.TypedChoiceField(
        label="Remind me every day at",
        help_text="Your own time. Only on days you have not checked in by then.",
        choices=[("", "No reminder"), *((f"{t:%H:%M}", f"{t:%H:%M}") for t in REMINDER_TIMES)],
        coerce=time.fromisoformat,
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": "Choose a time from the list."},
    )
    reminder_email = forms.TypedChoiceField(
        label="By email",
        choices=[("True", "On"), ("False", "Off")],
        coerce=lambda value: value == "True",
        widget=ButtonRadioSelect(columns=2),
        error_messages={"required": "Choose On or Off.", "invalid_choice": "Choose On or Off."},
    )

    class Meta:
        model = Patient
        fields = ["reminder_time", "reminder_email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        chosen = self.instance.reminder_time
        self.initial["reminder_time"] = f"{chosen:%H:%M}" if chosen else ""
        email = self.instance.user.email if self.instance.user_id else ""
        if email:
            self.fields["reminder_email"].help_text = f"To {email}."


def settings_page(
    request: HttpRequest,
    patient: Patient,
    form: ConditionsForm | None = None,
    reminder_form: ReminderForm | None = None,
) -> HttpResponse:
    """The patient's settings page: their conditions and time zone, and their reminders."""
    context = {
        "form": form or ConditionsForm(instance=patient),
        "patient": patient,
        "reminder_form": reminder_form or ReminderForm(instance=patient),
        "push_public_key": settings.WEBPUSH_VAPID_PUBLIC_KEY if push_enabled() else "",
    }
    return render(request, "tracker/settings.html", context)


@login_required
@require_POST
def reminder_settings(request: HttpRequest) -> HttpResponse:
    patient = get_patient_for_user(request.user)
    form = ReminderForm(request.POST, instance=patient)
    if not form.is_valid():
        return settings_page(request, patient, reminder_form=form)
    patient = form.save(commit=False)
    patient.save(update_fields=["reminder_time", "reminder_email"])
    if patient.reminder_time is None:
        messages.success(request, "Saved: no daily reminder.")
    else:
        messages.success(request, f"Saved: a reminder every day at {patient.reminder_time:%H:%M}.")
    return redirect(reverse("settings") + "#reminders")


def validate_push_service(url: str) -> str:
    """The server will send requests to this address: only to a push service on the web,
    never to one of our own hosts or a private network."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        ipaddress.ip_address(host)
        is_address = True
    except ValueError:
        is_address = False
    if parts.scheme != "https" or is_address or "." not in host:
        raise serializers.ValidationError("Enter the https address of a push service.")
    return url


class PushKeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(max_length=200)
    auth = serializers.CharField(max_length=100)


class PushSubscriptionSerializer(serializers.Serializer):
    """What the browser's PushSubscription.toJSON() gives, less `expirationTime`."""

    endpoint = serializers.URLField(max_length=1000, validators=[validate_push_service])
    keys = PushKeysSerializer(write_only=True)
    created_at = serializers.DateTimeField(read_only=True)


ENDPOINT_PARAMETER = OpenApiParameter(
    "endpoint", str, OpenApiParameter.QUERY, required=True, description="the subscription's URL"
)


class PushSubscriptionView(APIView):
    """This phone's Web Push subscription for the patient's daily reminders."""

    @extend_schema(
        request=PushSubscriptionSerializer,
        responses={200: PushSubscriptionSerializer, 201: PushSubscriptionSerializer},
    )
    def post(self, request: Request) -> Response:
        patient = get_patient_for_user(request.user)
        serializer = PushSubscriptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            subscription, created = save_subscription(patient, serializer.validated_data)
        except IntegrityError:  # the same phone's request, sent twice at once
            subscription, created = save_subscription(patient, serializer.validated_data)
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(PushSubscriptionSerializer(subscription).data, status=answer)

    @extend_schema(parameters=[ENDPOINT_PARAMETER], responses={204: None})
    def delete(self, request: Request) -> Response:
        patient = get_patient_for_user(request.user)
        endpoint = request.query_params.get("endpoint", "")
        if not endpoint:
            raise ValidationError({"endpoint": ["This parameter is required."]})
        deleted, _ = PushSubscription.objects.filter(patient=patient, endpoint=endpoint).delete()
        if not deleted:
            raise NotFound("No such subscription among this patient's.")
        return Response(status=status.HTTP_204_NO_CONTENT)


@transaction.atomic
def save_subscription(patient: Patient, data: dict[str, Any]) -> tuple[PushSubscription, bool]:
    stored = PushSubscription.objects.select_for_update().filter(endpoint=data["endpoint"]).first()
    if stored is not None and stored.patient_id != patient.pk:
        # Another account's, on a shared phone: that account must let go of it first (the
        # page makes this phone a new subscription instead).
        raise ValidationError({"endpoint": ["This subscription belongs to another account."]})
    keys = data["keys"]
    if stored is not None:
        stored.p256dh, stored.auth, stored.failures = keys["p256dh"], keys["auth"], 0
        stored.save(update_fields=["p256dh", "auth", "failures"])
        return stored, False
    created = PushSubscription.objects.create(
        patient=patient, endpoint=data["endpoint"], p256dh=keys["p256dh"], auth=keys["auth"]
    )
    newest_first = patient.push_subscriptions.order_by("-created_at", "-pk")
    surplus = newest_first.values_list("pk", flat=True)[MAX_SUBSCRIPTIONS_PER_PATIENT:]
    PushSubscription.objects.filter(pk__in=list(surplus)).delete()
    return created, True
