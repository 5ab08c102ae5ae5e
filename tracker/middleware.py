from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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
