"""What a load balancer needs: a health check of this server's database and cache."""

import logging

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
