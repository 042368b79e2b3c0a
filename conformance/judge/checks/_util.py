"""Small helpers shared by the check modules: applicability predicates, JSON access, schema calls.

Kept private so the check modules stay short and say only *what* they judge.
"""

from __future__ import annotations

import importlib
import json
import math
import threading
from collections.abc import Iterator
from dataclasses import replace
from functools import lru_cache
from typing import Any, TypeGuard
from urllib.parse import parse_qs, urlsplit

from ... import _json
from ..._verdict import Finding
from ...record.exchange import TERMINAL_EVENTS, Exchange, SSEEvent
from ._registry import CheckContext

SPEC = "openai-openapi.yaml"
RESPONSE_REF = f"{SPEC}#/components/schemas/Response"
CREATE_REF = f"{SPEC}#/paths/~1responses/post"
STREAM_EVENT_REF = f"{SPEC}#/components/schemas/ResponseStreamEvent"

RESPONSE_ENDPOINTS = frozenset({"create", "retrieve", "cancel"})
DONE_SENTINEL = "[DONE]"


# ---------------------------------------------------------------- values


def is_int(value: Any) -> TypeGuard[int]:
    """A JSON integer (``bool`` is an ``int`` subclass in Python but not a JSON number)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def nonempty_str(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and value != ""


def numbers_close(a: Any, b: Any) -> bool:
    """Float comparison tolerant of float32 storage (0.7 often comes back as 0.699999988)."""
    return is_number(a) and is_number(b) and math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-6)


def short(value: Any, limit: int = 80) -> str:
    """A compact JSON rendering for messages, cut to ``limit`` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def query_params(ex: Exchange) -> dict[str, list[str]]:
    return parse_qs(urlsplit(ex.request.path).query)


def path_id(ex: Exchange) -> str:
    """The ``{response_id}`` segment of ``/responses/{response_id}[/...]`` (or '')."""
    parts = [p for p in urlsplit(ex.request.path).path.split("/") if p]
    try:
        return parts[parts.index("responses") + 1]
    except (ValueError, IndexError):
        return ""


# ---------------------------------------------------------------- applicability


def is_json_media(content_type: str) -> bool:
    """``application/json`` or any structured-syntax ``+json`` type (RFC 6839)."""
    return content_type == "application/json" or (content_type.startswith("application/") and content_type.endswith("+json"))


def plain_json_200(ex: Exchange, ctx: CheckContext, endpoints: frozenset[str] = RESPONSE_ENDPOINTS) -> bool:
    """A non-streamed 200 from one of ``endpoints``."""
    return ctx.endpoint in endpoints and ex.status == 200 and not ctx.stream and not ex.is_stream


def sse_200(ex: Exchange, ctx: CheckContext) -> bool:
    """A streamed 200 whose body was parsed as SSE and looks like an event stream.

    A server that ignored ``stream: true`` and answered JSON is judged by ``stream.content_type`` alone:
    one root cause, one failed check.
    """
    if ctx.transport == "websocket":  # a turn on an upgraded connection: every message is an event
        return ex.status == 101 and ex.events is not None
    if not (ctx.stream and ex.status == 200 and ex.events is not None):
        return False
    return ex.content_type == "text/event-stream" or bool(ex.events)


def is_resumed(ex: Exchange) -> bool:
    """A ``GET /responses/{id}?stream=true&starting_after=N`` replay: it starts mid-stream by design."""
    return "starting_after" in query_params(ex)


# ---------------------------------------------------------------- streams


def stream_events(ex: Exchange) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(index, data)`` for every event whose data is a JSON object (others are ``stream.event_json``'s job)."""
    for index, data in enumerate(_parsed_events(ex.events or [])):
        if isinstance(data, dict):
            yield index, data


_last_parsed = threading.local()


def _parsed_events(events: list[SSEEvent]) -> list[Any]:
    """Every event's parsed data, kept for the last stream judged in this thread: the thirty-odd stream checks
    each walk every event of the same exchange, and a stream of more distinct events than ``_parse`` caches
    would otherwise be parsed once per check."""
    slot = getattr(_last_parsed, "slot", None)
    if slot is not None and slot[0] is events and slot[1] == len(events):
        return slot[2]  # type: ignore[no-any-return]
    parsed = [_parse(event.data) for event in events]
    _last_parsed.slot = (events, len(events), parsed)
    return parsed


def event_data(event: SSEEvent) -> Any:
    """The parsed ``data`` of an event, or None when it is not JSON (shared, read-only: never mutate it)."""
    return _parse(event.data)


@lru_cache(maxsize=8192)
def _parse(data: str) -> Any:
    # Every stream check walks every event; parsing each distinct payload once keeps judging linear.
    try:
        return _json.loads(data)
    except ValueError:
        return None


def too_deep_note(ex: Exchange) -> str:
    """`` (JSON nested deeper than N levels...)`` when that is why the body did not parse, else ''.

    Only the depth bound is named: an ordinary "not JSON" finding keeps its message (and so its key)."""
    try:
        ex.json()
    except _json.JSONDepthError as exc:
        return f" ({exc})"
    except (ValueError, UnicodeDecodeError):
        return ""
    return ""


def depth_note(data: str) -> str:
    """:func:`too_deep_note` for an event's ``data``."""
    try:
        _json.loads(data)
    except _json.JSONDepthError as exc:
        return f" ({exc})"
    except ValueError:
        return ""
    return ""


def kind_of(data: Any) -> str | None:
    """An event's or item's ``type`` when it is a string (anything else cannot be dispatched on)."""
    kind = data.get("type") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) else None


def ref_of(value: Any) -> str | int | None:
    """An ``item_id``/``output_index`` usable as a key: a string or a JSON integer, else None."""
    return value if isinstance(value, str) or is_int(value) else None


def terminal_event(ex: Exchange) -> tuple[int, dict[str, Any]] | None:
    """The first terminal event (``response.completed|incomplete|failed``), if any."""
    for index, data in stream_events(ex):
        if kind_of(data) in TERMINAL_EVENTS:
            return index, data
    return None


def response_of(ex: Exchange, ctx: CheckContext) -> tuple[dict[str, Any], str] | None:
    """The Response object an exchange carries and its JSON path: the body, or a stream's terminal response.

    Lets the ``response.*`` semantic checks judge streamed and non-streamed answers with one rule.
    """
    if ex.is_stream or ctx.stream:
        found = terminal_event(ex) if ex.events is not None else None
        if found is None:
            return None
        index, data = found
        body = data.get("response")
        return (body, f"events[{index}].response") if isinstance(body, dict) else None
    body = ex.json_or_none()
    if isinstance(body, dict) and body.get("object") == "response":
        return body, "$"
    return None


def carries_response(ex: Exchange, ctx: CheckContext) -> bool:
    """Applicability for ``response.*`` semantic checks: a 200 Response from create/retrieve/cancel."""
    if ctx.endpoint not in RESPONSE_ENDPOINTS:
        return False
    if ctx.stream:  # sse_200 also admits a WebSocket turn (status 101)
        return sse_200(ex, ctx) and terminal_event(ex) is not None
    return ex.status == 200 and not ex.is_stream and isinstance(ex.json_or_none(), dict)


def join(prefix: str, suffix: str) -> str:
    """Join JSON-path fragments: ``join("$", "output[0]") == "$.output[0]"``."""
    if not suffix or suffix == "$":
        return prefix
    suffix = suffix[1:] if suffix.startswith("$") else suffix
    if suffix.startswith("[") or suffix.startswith("."):
        return prefix + suffix
    return f"{prefix}.{suffix}"


# ---------------------------------------------------------------- schemas


def validate(name: str, instance: Any, profile: str, prefix: str = "$") -> list[Finding]:
    """Validate against a named spec schema via ``conformance.judge.schemas`` (imported late, so tests can swap it)."""
    schemas = importlib.import_module("conformance.judge.schemas")
    found: list[Finding] = list(schemas.validate(name, instance, profile=profile))
    return [replace(f, path=join(prefix, f.path)) for f in found]  # keeps kind and rule


def has_schema(name: str, profile: str) -> bool:
    """Does ``profile``'s spec bundle a component ``name`` (or an alias of one)?"""
    return bool(importlib.import_module("conformance.judge.schemas").has_schema(name, profile))


def response_properties(profile: str) -> frozenset[str]:
    """The properties ``profile``'s spec declares on its Response object (``index.json`` ``response_properties``)."""
    schemas = importlib.import_module("conformance.judge.schemas")
    return frozenset(schemas.index(profile).get("response_properties") or ())


def role_schema(role: str, profile: str) -> str | None:
    """The component ``profile``'s spec gives a role (``error_envelope``, ``error_object``...), or None."""
    schemas = importlib.import_module("conformance.judge.schemas")
    name = schemas.index(profile).get("roles", {}).get(role)
    return name if isinstance(name, str) else None


def event_schema_name(event_type: str, profile: str, transport: str = "http") -> str | None:
    """The schema of an event ``type``; over WebSocket, ``error`` is the WebSocket error event."""
    schemas = importlib.import_module("conformance.judge.schemas")
    if transport == "websocket" and event_type == "error":
        ws_error = schemas.index(profile).get("roles", {}).get("websocket_error_event")
        if isinstance(ws_error, str):
            return ws_error
    name: str | None = schemas.event_schema_name(event_type, profile=profile)
    return name
