"""What a load balancer and an operator need: a cheap liveness answer (/healthz), a readiness
answer that checks what the server depends on (/readyz), and a system check that no state
two app servers must share is kept in one process's memory."""

import logging

from django.conf import settings
from django.core import checks
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """200 `ok` while this server can reach its database and its cache (Redis, when REDIS_URL
    is set), else 503. No log-in needed, nothing cached, no patient data."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        cache.get("healthz")
    except Exception as error:  # any failure of either means: send no traffic here
        log.warning("health check failed: %r", error)
        response = HttpResponse("unavailable\n", content_type="text/plain", status=503)
    else:
        response = HttpResponse("ok\n", content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response


@checks.register(checks.Tags.caches, deploy=True)
def shared_state_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """With DEBUG off, every app server must count throttles, log-in limits and lockouts in
    one place: without REDIS_URL each process counts its own (settings.CACHES)."""
    if settings.DEBUG or settings.REDIS_URL:
        return []
    return [
        checks.Warning(
            "REDIS_URL is not set: throttles, log-in limits and lockout counts are kept in "
            "each server process's memory, so two app servers (or two gunicorn workers) do not "
            "share them.",
            hint="Set REDIS_URL=redis://host:6379/0 (docs/deploy.md).",
            id="tracker.W001",
        )
    ]
