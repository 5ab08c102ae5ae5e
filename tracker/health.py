"""What a load balancer and an operator need: a cheap liveness answer (/healthz), a readiness
answer that checks what the server depends on (/readyz), and a system check that no state
two app servers must share is kept in one process's memory."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core import checks
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
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


# Red-flag alerts must reach the clinic within 5 minutes: a job waiting longer means the
# workers are stopped or too few.
MAX_JOB_WAIT = timedelta(seconds=settings.RELIEF_READY_MAX_JOB_WAIT_SECONDS)


def readiness() -> tuple[bool, dict]:
    """Whether this server can do its work: its database, Redis (when REDIS_URL is set) and a
    job queue that the workers keep up with. Says what is wrong without any secret (names of
    errors, no messages: those may hold host names)."""
    checks_done, ready = {}, True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks_done["database"] = "ok"
    except Exception as error:
        checks_done["database"] = f"unreachable ({type(error).__name__})"
        ready = False
    if settings.REDIS_URL:
        try:
            cache.set("readyz", "ok", 10)
            checks_done["redis"] = "ok" if cache.get("readyz") == "ok" else "not storing"
        except Exception as error:
            checks_done["redis"] = f"unreachable ({type(error).__name__})"
        ready = ready and checks_done["redis"] == "ok"
    else:
        checks_done["redis"] = "not configured (process memory)"
    if checks_done["database"] == "ok":
        waited = oldest_waiting_job()
        late = waited is not None and waited > MAX_JOB_WAIT
        checks_done["jobs"] = {
            "oldest_waiting_seconds": None if waited is None else round(waited.total_seconds()),
            "limit_seconds": round(MAX_JOB_WAIT.total_seconds()),
            "status": "late: are the workers (manage.py db_worker) running?" if late else "ok",
        }
        ready = ready and not late
    return ready, checks_done


def oldest_waiting_job() -> timedelta | None:
    """How long the oldest job due to run has waited, or None with no job waiting."""
    if "django_tasks_db" not in settings.INSTALLED_APPS:
        return None
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    ready = DBTaskResult.objects.ready()
    # run_after is the far future (9999) for "as soon as possible", else when it became due.
    due_since = [
        ready.filter(run_after__gt=now).order_by("enqueued_at").values("enqueued_at").first(),
        ready.filter(run_after__lte=now).order_by("run_after").values("run_after").first(),
    ]
    due = [max(row.values()) for row in due_since if row]
    return now - min(due) if due else None


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 while `readiness` finds all well, else 503; the JSON says what it found. No log-in
    needed, nothing cached, no patient data."""
    ready, found = readiness()
    response = JsonResponse({"ready": ready, "checks": found}, status=200 if ready else 503)
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
