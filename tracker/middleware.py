from collections.abc import Callable

from axes.helpers import get_cool_off, get_failure_limit
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# The app uses none of these browser features; nothing embedded in it may ask for them either.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)


class SecurityHeadersMiddleware:
    """The headers Django's SecurityMiddleware does not set: Permissions-Policy and
    Cross-Origin-Resource-Policy on every response, and `Cache-Control: no-store` on every answer
    to a logged-in user and every API answer, as any of them may carry health data.

    Static files (answered by WhiteNoise before the session is read) and responses that set
    their own Cache-Control (the service worker, the downloads) keep theirs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if "Cache-Control" not in response.headers and may_carry_health_data(request):
            response["Cache-Control"] = "no-store"
        return response


def may_carry_health_data(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return request.path.startswith("/api/") or bool(user and user.is_authenticated)


def login_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """The name django-axes counts failures against: the account's username whether its
    username or its email address was typed (in allauth's `login` field, or the admin's
    `username`), else what was typed, so an unknown name is counted just like a known one."""
    credentials = credentials or {}
    typed = (
        request.POST.get("login")
        or credentials.get("username")
        or credentials.get("email")
        or request.POST.get("username")
    )
    if not typed:
        return None
    typed = typed.strip().lower()
    account = (
        get_user_model()
        .objects.filter(Q(username__iexact=typed) | Q(email__iexact=typed))
        .values_list("username", flat=True)
        .first()
    )
    return account.lower() if account else typed


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """django-axes' answer to a locked-out username: a page of the app, the same whether or not
    the account exists (it names no one), 429 with Retry-After."""
    cool_off = get_cool_off(request)
    minutes = round(cool_off.total_seconds() / 60)
    context = {"minutes": minutes, "failure_limit": get_failure_limit(request, credentials)}
    response = render(request, "account/lockout.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
