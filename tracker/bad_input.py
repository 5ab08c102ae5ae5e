"""One rule for bad input: a clear 400 (or 413), never a 500. What any request may carry is
bounded here, before a view sees it: control characters in the address, JSON nested past
reason, bodies past the size the server takes (answered in JSON with the limits, so that a
phone's outbox can split its batch rather than send it again as it is)."""

import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import status
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

# What the offline outbox may send in one batch (it reads these from the page: base.html).
MAX_SYNC_ITEMS = 500
MAX_JSON_DEPTH = 32  # a diary record nests three deep; a sync batch five
# C0 controls and DEL: never part of an address a person or our pages make. On PostgreSQL a
# NUL in a query would fail with a DataError (a 500) before any view could say why.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def max_body_bytes() -> int:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class ControlCharactersMiddleware:
    """400 for a control character anywhere in the path or the query string."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.GET.urlencode() and "".join(
            key + "".join(values) for key, values in request.GET.lists()
        )
        if CONTROL.search(request.path) or CONTROL.search(query or ""):
            message = "The address holds a control character (such as NUL): remove it."
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def sync_limits(request: HttpRequest) -> dict:
    """A template context processor: the batch limits the outbox keeps to (base.html)."""
    return {"sync_limits": {"max_items": MAX_SYNC_ITEMS, "max_bytes": max_body_bytes()}}


def depth(value: object) -> int:
    """How deep lists and objects nest in a parsed JSON value (without recursion)."""
    if not isinstance(value, dict | list):
        return 0
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, with a nesting limit: Python's own parser recurses, and a body a
    thousand brackets deep would end in a RecursionError (a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            data = None
        if data is None or depth(data) > MAX_JSON_DEPTH:
            raise ParseError(f"The JSON nests too deep: at most {MAX_JSON_DEPTH} levels.")
        return data


class EscapingJSONRenderer(JSONRenderer):
    """DRF's JSON renderer, for an answer that repeats half of a character the request sent:
    JSON may escape one (\\ud800 to \\udfff) without its other half, Python parses it into a
    string no UTF-8 can hold, and an unknown choice or a sync item's key is said back in the
    answer. Such an answer is written with JSON's escapes, as it came, instead of failing (a
    500). Text fields refuse half characters themselves (DRF's CharField), so none is stored,
    and a sync batch answers for each item: the outbox sets that entry aside."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            self.ensure_ascii = True
            return super().render(data, accepted_media_type, renderer_context)


def api_exception_handler(exc, context) -> Response | None:
    """DRF's handler, and a body too large answered in JSON with what the server takes."""
    # Imported here: rest_framework.views reads the parser setting, which names this module.
    from rest_framework.views import exception_handler

    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent):
        body = {
            "detail": "The request is too large: send fewer items in each request.",
            "max_bytes": max_body_bytes(),
            "max_items": MAX_SYNC_ITEMS,
        }
        return Response(body, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    return exception_handler(exc, context)


class BoundedPagination(LimitOffsetPagination):
    """`limit` (1 to 1,000) and `offset` (0 or more) as whole numbers, or a 400 that says so."""

    max_limit = 1000

    def get_limit(self, request: Request) -> int:
        return self.whole_number(
            request, self.limit_query_param, 1, self.max_limit, self.default_limit
        )

    def get_offset(self, request: Request) -> int:
        return self.whole_number(request, self.offset_query_param, 0, 10**9, 0)

    @staticmethod
    def whole_number(request: Request, name: str, low: int, high: int, default: int) -> int:
        value = request.query_params.get(name)
        if value is None:
            return default
        # ASCII digits only: "²" is a digit to str.isdigit() but not to int() (a 500).
        digits = value.isascii() and value.isdigit()
        if not digits or len(value) > 10 or not low <= int(value) <= high:
            raise ValidationError({name: [f"Enter a whole number from {low} to {high:,}."]})
        return int(value)
