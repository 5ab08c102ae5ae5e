"""The API's OpenAPI description beyond what drf-spectacular reads from the views: every error
and success each operation answers (400 with field errors, 404, 409, 410, 413, 429, 503; 200
for a create sent again), the bounds the server keeps, and links from each record to what
follows it (schemathesis' stateful run walks them). A postprocessing hook in settings."""

import re
from typing import Any

from tracker import catalog
from tracker.bad_input import MAX_SYNC_ITEMS, BoundedPagination

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "field name (or non_field_errors) -> list of messages",
    "additionalProperties": True,
}
CONFLICT = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "current": {"type": "object", "nullable": True, "additionalProperties": True},
    },
    "required": ["detail", "current"],
}


DIARY_ROUTES = ("/api/v1/logs/", "/api/v1/injections/", "/api/v1/reactions/")
# Anyone logged in keeps their own phones here, a patient or not.
PUSH_ROUTE = "/api/v1/push-subscriptions/"


# tracker.bad_input refuses control characters anywhere in an address: the schema says so.
NO_CONTROL_CHARACTERS = "^[^\\x00-\\x1f\\x7f]*$"


def refuse_control_characters(parameters: list[dict]) -> None:
    for parameter in parameters:
        schema = parameter.get("schema", {})
        if parameter.get("in") not in {"path", "query"} or schema.get("type") != "string":
            continue
        if schema.get("pattern") == "^[^/]+$":  # a lookup_value_regex: any path segment
            schema["pattern"] = "^[^/\\x00-\\x1f\\x7f]+$"
        elif "pattern" not in schema and "format" not in schema:
            schema["pattern"] = NO_CONTROL_CHARACTERS


TOO_LARGE = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "max_bytes": {"type": "integer", "description": "the largest body the server takes"},
        "max_items": {"type": "integer", "description": "the most items in one sync batch"},
    },
    "required": ["detail", "max_bytes", "max_items"],
}


def document_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular hook: every answer each route may give, success or not, and the links
    from a record's creation to its other operations, so that the schema documents them (and
    schemathesis can hold the API to it, statefully too)."""
    for route, operations in result["paths"].items():
        if not route.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            refuse_control_characters(operation.get("parameters", []))
            responses = operation.setdefault("responses", {})
            document_successes(route, method, responses)
            for status_code, response in errors_of(route, method, operation).items():
                responses.setdefault(status_code, response)
    document_bounds(result)
    document_links(result)
    return result


# What BoundedPagination takes (tracker.bad_input): the schema says so, so that a client (and
# schemathesis) can tell a request the server answers from one it refuses.
PAGE_BOUNDS = {"limit": (1, BoundedPagination.max_limit), "offset": (0, 10**9)}


def document_bounds(result: dict) -> None:
    """The limits the server keeps that drf-spectacular does not write down by itself."""
    for operations in result["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                name, schema = parameter["name"], parameter.get("schema", {})
                if parameter["in"] == "query" and name in PAGE_BOUNDS:
                    schema["minimum"], schema["maximum"] = PAGE_BOUNDS[name]
                elif parameter["in"] == "path" and name == "date":  # a day: parse_day's rule
                    parameter["schema"] = {"type": "string", "format": "date"}
                elif parameter["in"] == "query" and name == "endpoint":
                    schema["minLength"] = 1
    components = result["components"]["schemas"]
    for component in components.values():
        for field in component.get("properties", {}).values():
            if field.get("format") == "decimal" and "pattern" in field:
                field["pattern"] = with_a_digit(field["pattern"])
    for name in ("InjectionRequest", "PatchedInjectionRequest"):
        components[name]["properties"]["sites"]["maxItems"] = catalog.MAX_SITES
    # Each item of a batch is checked on its own (tracker.sync): one that is not a SyncItem is
    # answered 400 in its own result, and the rest of the batch goes on (a null item, only,
    # is refused with the whole batch).
    items = components["SyncRequest"]["properties"]["items"]
    items.update(minItems=1, maxItems=MAX_SYNC_ITEMS)
    anything_else = [{"type": kind} for kind in ("object", "array", "string", "number", "boolean")]
    items["items"] = {
        "anyOf": [items["items"], *anything_else],
        "description": "a SyncItem; anything else is refused by itself, with 400 in its result",
    }


def with_a_digit(pattern: str) -> str:
    """drf-spectacular's decimal pattern, ^-?\\d{0,6}(?:\\.\\d{0,1})?$, also matches "" and "-":
    the same digits before and after the point, with at least one."""
    whole, point = re.findall(r"\{0,(\d+)\}", pattern)
    return rf"^-?(?:\d{{1,{whole}}}(?:\.\d{{0,{point}}})?|\.\d{{1,{point}}})$"


CLIENT_ID_ROUTES = ("/api/v1/injections/", "/api/v1/reactions/")


def document_successes(route: str, method: str, responses: dict) -> None:
    """A create with a client-chosen id answers 201 the first time and 200 with the stored
    record when sent again; a day's check-in PUT answers 201 when it makes the day's log."""
    if method == "post" and route in CLIENT_ID_ROUTES:
        responses["201"]["description"] = "Created"
        responses["200"] = {
            **responses["201"],
            "description": "Sent before with this `id`: the stored record, unchanged",
        }
    elif method == "put" and route == "/api/v1/logs/{date}/":
        responses["200"]["description"] = "The day's check-in, replaced"
        responses["201"] = {**responses["200"], "description": "The day's check-in, created"}


def answer(description: str, body: dict, *, retry_after: bool = False) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": body}}}
    if retry_after:
        seconds = {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 0}}
        response["headers"] = {"Retry-After": seconds}
    return response


def errors_of(route: str, method: str, operation: dict) -> dict[str, dict]:
    errors = {
        "400": answer("Bad input, with the reason for each field", FIELD_ERRORS),
        "403": answer("Not logged in, or no CSRF token", DETAIL),
        "406": answer("The request's Accept header leaves out application/json", DETAIL),
    }
    if route != PUSH_ROUTE:
        errors["404"] = answer("No such record among this patient's", DETAIL)
    elif method == "delete":  # saving a subscription looks nothing up
        errors["404"] = answer("No such subscription among this account's", DETAIL)
    if method in {"put", "patch", "post"} and route.startswith(DIARY_ROUTES):
        errors["409"] = answer("Changed elsewhere since `base_version`", CONFLICT)
        errors["410"] = answer("Deleted since: a deleted record is not saved again", DETAIL)
    if "requestBody" in operation:
        # tracker.bad_input: a body past DATA_UPLOAD_MAX_MEMORY_SIZE.
        errors["413"] = answer("Too large: send fewer items in each request", TOO_LARGE)
        errors["415"] = answer("The body is not sent as application/json", DETAIL)
    if method in {"put", "patch", "post", "delete"}:
        errors["429"] = answer(
            "Too many writes: try again after `Retry-After` seconds", DETAIL, retry_after=True
        )
    # tracker.db_blink: the database's connections dropped (a failover), for a moment.
    errors["503"] = answer(
        "The database is unavailable: try again after `Retry-After` seconds",
        DETAIL,
        retry_after=True,
    )
    return errors


def link(operation_id: str, description: str, **fields: Any) -> dict:
    return {"operationId": operation_id, "description": description, **fields}


def record_links(kind: str, key: str, found_by: str) -> dict[str, dict]:
    """From an answer naming one record of `kind` (by `key`, found in the answer by the
    runtime expression `found_by`) to what may be done with it next."""
    named = {"parameters": {key: found_by}}
    links = {
        "Read": link(f"v1_{kind}_retrieve", "Read it", **named),
        "Replace": link(f"v1_{kind}_update", "Replace it", **named),
        "Change": link(f"v1_{kind}_partial_update", "Change some of its fields", **named),
        "Delete": link(f"v1_{kind}_destroy", "Delete it", **named),
    }
    if kind == "logs":  # a day's check-in is replaced whole, never changed in part
        del links["Change"]
    return links


def deleted_links(kind: str, key: str) -> dict[str, dict]:
    """From a deletion to the deleted record, which stays deleted."""
    named = {"parameters": {key: f"$request.path.{key}"}}
    links = {
        "ReadDeleted": link(f"v1_{kind}_retrieve", "404: no such record", **named),
        "ReplaceDeleted": link(
            f"v1_{kind}_update",
            "410: not saved again (a day's check-in may be logged anew: 201)",
            **named,
        ),
    }
    if kind != "logs":
        links["CreateDeleted"] = link(
            f"v1_{kind}_create",
            "Its old create sent again: 410, not saved again",
            requestBody={key: f"$request.path.{key}"},
        )
    return links


def document_links(result: dict) -> None:
    """OpenAPI links: how the id (or day) an answer names is used by the next request."""
    paths = result["paths"]
    for kind, key in (("injections", "id"), ("reactions", "id"), ("logs", "date")):
        item = paths[f"/api/v1/{kind}/{{{key}}}/"]
        listed = paths[f"/api/v1/{kind}/"]["get"]["responses"]["200"]
        listed["links"] = record_links(kind, key, f"$response.body#/results/0/{key}")
        for method in ("put", "patch"):
            if method in item:
                for status_code in ("200", "201"):
                    if status_code in item[method]["responses"]:
                        answer = item[method]["responses"][status_code]
                        answer["links"] = record_links(kind, key, f"$response.body#/{key}")
        item["delete"]["responses"]["204"]["links"] = deleted_links(kind, key)
        if kind == "logs":
            continue
        created = {
            **record_links(kind, key, "$response.body#/id"),
            "SendAgain": link(
                f"v1_{kind}_create",
                "The same create sent again (a lost answer): 200 with the stored record",
                requestBody={"id": "$response.body#/id"},
            ),
        }
        if kind == "injections":
            created["React"] = link(
                "v1_reactions_create",
                "A reaction to this injection",
                requestBody={"injection": "$response.body#/id"},
            )
        for status_code in ("200", "201"):
            paths[f"/api/v1/{kind}/"]["post"]["responses"][status_code]["links"] = created
    push = paths[PUSH_ROUTE]["post"]["responses"]
    for status_code in ("200", "201"):
        push[status_code]["links"] = {
            "Unsubscribe": link(
                "v1_push_subscriptions_destroy",
                "This phone's subscription ended",
                parameters={"endpoint": "$response.body#/endpoint"},
            )
        }
