"""A database blink (a managed database's failover or restart drops every connection) answers
503 with Retry-After, never 500; work that is safe to repeat is first tried once more on a
fresh connection, so most requests of a blink never notice it.

Safe to repeat: `POST /api/v1/sync/` (a batch sent twice changes nothing, README "The API") and
a check-in's `PUT /api/v1/logs/<date>/` (it replaces that day's check-in). Each runs in one
transaction, so a dropped connection has rolled back all of it: running it again stores each
entry once. tests/test_db_blink.py drops the connections under load and counts.
"""

import contextlib
import logging
import re
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

DATABASE_GONE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 2
REPEATABLE = [
    ("POST", re.compile(r"^/api/v1/sync/$")),
    ("PUT", re.compile(r"^/api/v1/logs/\d{4}-\d{2}-\d{2}/$")),
]


# psycopg_pool waits 1 s before it tries to reconnect, then 2, 4, 8 s (AttemptWithBackoff):
# after a blink of 10 s its next try came 4 to 8 s after the database was back, and requests
# waited for it. A try every half second, not growing, brings the service back within a second
# of the database (measured: from +3.7 to +4.4 s down to under 0.1 s). The library has no
# setting for it: these are its class attributes, set once as the app loads (apps.py), and
# tests/test_db_blink.py checks the waits.
RECONNECT_EVERY = 0.5  # seconds


def reconnect_sooner() -> None:
    with contextlib.suppress(ImportError):  # no pool: SQLite, or psycopg without it
        from psycopg_pool.base import AttemptWithBackoff

        AttemptWithBackoff.INITIAL_DELAY = RECONNECT_EVERY
        AttemptWithBackoff.DELAY_BACKOFF = 1.0


def repeatable(request: HttpRequest) -> bool:
    return any(request.method == method and path.match(request.path) for method, path in REPEATABLE)


def fresh_connections() -> None:
    """Hands every connection back (the pool drops a broken one; CONN_HEALTH_CHECKS tests the
    next before use), so that the next query opens a working one."""
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:  # an outer transaction (a test's) keeps its connection
            continue
        with contextlib.suppress(DATABASE_GONE):
            connection.close()


def unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: the phone's outbox (static/js/outbox.js) waits that long and
    sends again; a page asks the person to try again in a moment."""
    message = "The database is unavailable for a moment. Please try again in a few seconds."
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=503)
    else:
        response = HttpResponse(message + "\n", content_type="text/plain", status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseBlinkMiddleware:
    """Turns a view's lost database connection into a retry (repeatable work, once) or a 503.
    A lost connection outside a view (another middleware) reaches `server_error`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, DATABASE_GONE):
            return None
        logger.warning("Database connection lost during %s %s", request.method, request.path)
        fresh_connections()
        match = request.resolver_match
        if repeatable(request) and match is not None and not getattr(request, "_retried", False):
            request._retried = True
            try:
                return match.func(request, *match.args, **match.kwargs)
            except DATABASE_GONE:
                fresh_connections()
        return unavailable(request)


def bad_request(request: HttpRequest, exception: Exception, *args, **kwargs) -> HttpResponse:
    """handler400 (project/urls.py): a session that could not be saved because the database's
    connection dropped is a 503 like any lost connection, not a bad request. Django's session
    store turns the lost connection into UpdateError, and its middleware that into
    SessionInterrupted, a 400; the phone's outbox would take that for a malformed batch."""
    from django.views.defaults import bad_request as django_bad_request

    if lost_database(exception):
        fresh_connections()
        return unavailable(request)
    return django_bad_request(request, exception, *args, **kwargs)


def lost_database(error: BaseException | None) -> bool:
    """Whether the error, or one it was raised while handling, is a lost connection."""
    while error is not None:
        if isinstance(error, DATABASE_GONE):
            return True
        error = error.__cause__ or error.__context__
    return False


def server_error(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """handler500 (project/urls.py): a lost database connection anywhere in the request is a
    503 with Retry-After; anything else is Django's plain 500 page."""
    from django.views.defaults import server_error as django_server_error

    if isinstance(sys.exc_info()[1], DATABASE_GONE):
        fresh_connections()
        return unavailable(request)
    return django_server_error(request, *args, **kwargs)
