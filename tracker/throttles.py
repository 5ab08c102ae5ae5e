"""How often one person may write through the API, sync, or download a whole diary. Counted in
the shared cache, so the limits hold across app servers; the rates are settings
(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]), read on every request."""

import math
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class ScopeThrottle(SimpleRateThrottle):
    """A rate per user (per address when anonymous) for one scope of DEFAULT_THROTTLE_RATES."""

    def __init__(self, scope: str = "write") -> None:
        self.scope = scope

    def get_rate(self) -> str | None:
        # Read now rather than at import (as DRF does), so a changed setting takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        user = request.user
        ident = user.pk if user and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class WriteThrottle(ScopeThrottle):
    """The API's default: reads are free; writes count against the view's `throttle_scope`
    (`sync` for the sync endpoint), or `write`."""

    def allow_request(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        self.scope = getattr(view, "throttle_scope", None) or "write"
        return super().allow_request(request, view)


def throttled(scope: str) -> Callable:
    """For a page view: at most the scope's rate per user, else 429 with Retry-After."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            throttle = ScopeThrottle(scope)
            if throttle.allow_request(request, None):
                return view(request, *args, **kwargs)
            minutes = math.ceil((throttle.wait() or 60) / 60)
            response = render(
                request, "tracker/too_many_requests.html", {"minutes": minutes}, status=429
            )
            response["Retry-After"] = str(minutes * 60)
            return response

        return wrapper

    return decorator
