"""How often one person may write through the API, sync, download a whole diary, or guess a
share code wrong. Counted in the cache, never the database, so that a write costs no query for
its count: Redis when REDIS_URL is set, shared by the app servers so that the limits hold
across them; else this process's memory (project/settings.py, CACHES). The rates are settings
(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]), read on every request."""

import math
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from tracker.lockout import client_address


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


class MissThrottle(ScopeThrottle):
    """A scope's rate of misses (a share code that is no one's) for one identity. A try that
    hits is not counted: the rate limits guessing, not use. allow_request() says whether
    another try may be made; miss() counts one that missed."""

    def __init__(self, scope: str, ident: str) -> None:
        super().__init__(scope)
        self.ident = ident

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.ident}

    def throttle_success(self) -> bool:
        return True  # not counted until it misses

    def miss(self) -> None:
        if self.rate is not None:
            self.history.insert(0, self.now)
            self.cache.set(self.key, self.history, self.duration)


class Guesses:
    """Wrong guesses of one kind, limited per person (the scope's rate) and per address (the
    `<scope>_address` rate), so that neither many accounts nor many addresses guess faster."""

    def __init__(self, request: HttpRequest, scope: str) -> None:
        self.request = request
        self.counts = [
            MissThrottle(scope, f"user-{request.user.pk}"),
            MissThrottle(f"{scope}_address", f"address-{client_address(request)}"),
        ]

    def minutes_to_wait(self) -> int:
        """0 while another guess may be tried, else the minutes until one may."""
        waits = [
            count.wait() or 60
            for count in self.counts
            if not count.allow_request(self.request, None)
        ]
        return math.ceil(max(waits) / 60) if waits else 0

    def missed(self) -> None:
        for count in self.counts:
            count.miss()
