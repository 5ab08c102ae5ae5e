"""What a load balancer and a release need: a health check, and the cache table made by
`migrate` so that no release starts without it."""

import logging

from django.apps import AppConfig
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.db.models.signals import post_migrate
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """200 `ok` while this server can reach its database and the shared cache, else 503.
    No log-in needed, nothing cached, no patient data."""
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


@receiver(post_migrate)
def create_cache_table(sender: AppConfig, using: str = "default", **kwargs) -> None:
    """The database cache's table (when it is the cache in use), made by every `migrate`."""
    if sender.name != "tracker":
        return
    uses_database = any(
        config["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
        for config in settings.CACHES.values()
    )
    if uses_database:
        call_command("createcachetable", database=using, verbosity=0)
