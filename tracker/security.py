"""Who may stay logged in, and for how long; the second factor clinicians and staff need before
they open any patient's data; and the end of a lockout when a password is reset."""

import datetime as dt
from dataclasses import dataclass

from allauth.account.signals import password_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from tracker import lockout

LOGGED_IN_AT = "security.logged_in_at"
SEEN_AT = "security.seen_at"
# A clinician's last request is written to their session at most once a minute, not on every
# request: their idle time is measured to the minute.
SEEN_RESOLUTION = 60


class TwoFactorRequired(PermissionDenied):
    """A clinician without an authenticator app asked for the clinic. The API answers 403 with
    this message; a page redirects to the set-up (SessionSecurityMiddleware)."""

    def __init__(self) -> None:
        super().__init__(
            "Set up two-factor authentication (an authenticator app) "
            "before you open your patients' data."
        )


def has_two_factor(user) -> bool:
    from allauth.mfa.models import Authenticator  # allauth.mfa's models load after ours

    return Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists()


def require_two_factor(user) -> None:
    """For clinicians and staff: raise TwoFactorRequired unless they have an authenticator
    app."""
    if user.is_authenticated and (user.is_clinician or user.is_staff) and not has_two_factor(user):
        raise TwoFactorRequired


@dataclass(frozen=True)
class SessionLimits:
    max_age: int  # seconds from logging in
    idle: int | None  # seconds without a request; None: no idle limit


def limits_for(user) -> SessionLimits:
    if user.is_clinician:
        return SessionLimits(settings.CLINICIAN_SESSION_MAX_AGE, settings.CLINICIAN_SESSION_IDLE)
    return SessionLimits(settings.PATIENT_SESSION_MAX_AGE, None)


def why_session_ends(
    limits: SessionLimits, logged_in_at: float, seen_at: float, now: float
) -> str | None:
    """The message for someone whose session is over, or None while it goes on."""
    if now - logged_in_at > limits.max_age:
        return f"You were logged out after {describe(limits.max_age)}. Please log in again."
    if limits.idle is not None and now - seen_at > limits.idle:
        return (
            f"You were logged out after {describe(limits.idle)} without activity. "
            "Please log in again."
        )
    return None


def describe(seconds: int) -> str:
    for unit, size in [("day", 86400), ("hour", 3600), ("minute", 60)]:
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


@receiver(user_logged_in)
def start_session_clock(sender, request: HttpRequest | None, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        now = timezone.now().timestamp()
        request.session[LOGGED_IN_AT] = request.session[SEEN_AT] = now
        request.session.set_expiry(expiry_date(now, limits_for(user)))


@receiver(password_reset)
def end_lockout(sender, request: HttpRequest, user, **kwargs) -> None:
    """A new password set through the emailed link is the way out of any lockout of the account
    (templates/account/lockout.html says so)."""
    lockout.forget_failures(user)


def expiry_date(logged_in_at: float, limits: SessionLimits) -> dt.datetime:
    return dt.datetime.fromtimestamp(logged_in_at + limits.max_age, tz=dt.UTC)


class SessionSecurityMiddleware:
    """Ends sessions past their limits: clinicians after 15 idle minutes or 12 hours in all,
    patients after 30 days (settings.py). Also turns TwoFactorRequired on a page into a
    redirect to the authenticator app's set-up, and asks it before any page of the admin site
    (its log-in page included: Django's own form there would skip the second factor)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            self.check_session(request, user)
        return self.get_response(request)

    def check_session(self, request: HttpRequest, user) -> None:
        session = request.session
        now = timezone.now().timestamp()
        limits = limits_for(user)
        if LOGGED_IN_AT not in session:  # a session older than this check: its clock starts now
            session[LOGGED_IN_AT] = session[SEEN_AT] = now
        reason = why_session_ends(
            limits, session[LOGGED_IN_AT], session.get(SEEN_AT, session[LOGGED_IN_AT]), now
        )
        if reason:
            logout(request)  # the request goes on anonymous: a page asks to log in, the API 403
            messages.info(request, reason)
            return
        if limits.idle is not None and now - session.get(SEEN_AT, 0) >= SEEN_RESOLUTION:
            session[SEEN_AT] = now
        # The cookie and the stored session end with the limit too (allauth's log-in sets
        # its own expiry after the login signal: this corrects it on the next request).
        expires = expiry_date(session[LOGGED_IN_AT], limits)
        if session.get_expiry_date() != expires:
            session.set_expiry(expires)

    def process_view(self, request: HttpRequest, view, args, kwargs) -> HttpResponse | None:
        if request.resolver_match.namespace == "admin" and request.user.is_staff:
            try:
                require_two_factor(request.user)
            except TwoFactorRequired as exception:
                return self.process_exception(request, exception)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, TwoFactorRequired):
            messages.warning(request, str(exception.args[0]))
            return redirect("mfa_activate_totp")
        return None
