"""What an assertion reads from a recorded exchange: its JSON body, its events and their types, the Response
object it produced (the body, or a stream's terminal ``response``), the assistant's text and an error event.

Shared by every assertion family; :class:`Fail` is the one way an accessor says there is nothing to read.
"""

from __future__ import annotations

from typing import Any

from ..._json import loads as json_loads
from ...record.exchange import TERMINAL_EVENTS, Exchange, SSEEvent
from .compare import short

__all__ = [
    "Fail",
    "assistant_text",
    "body_json",
    "document",
    "error_event",
    "event_type",
    "event_types",
    "is_error_body",
    "output_text",
    "response_document",
    "terminal_event",
]


class Fail(Exception):
    """Stop evaluating this assertion with one failure message (its ``str``)."""


def body_json(ex: Exchange) -> Any:
    """The body parsed as JSON, or raise :class:`Fail` showing what came instead."""
    try:
        return ex.json()
    except (ValueError, UnicodeDecodeError):
        snippet = ex.text[:200]
        raise Fail(
            f"response body is not JSON (content-type {ex.header('content-type')!r}, "
            f"{len(ex.body)} bytes: {snippet!r})"
        ) from None


def event_type(ev: SSEEvent) -> str | None:
    """The event's type: the ``type`` of its JSON data, else its SSE ``event:`` name, else None."""
    try:
        data = json_loads(ev.data)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("type"), str):
        return data["type"]
    return ev.event


def event_types(ex: Exchange) -> list[str]:
    """The types of all typed events of a streamed exchange (``data: [DONE]``-style ones are skipped)."""
    return [t for t in (event_type(ev) for ev in ex.events or []) if t is not None]


def terminal_event(ex: Exchange) -> dict[str, Any] | None:
    """The data of the last ``response.completed|incomplete|failed`` event, if any."""
    for ev in reversed(ex.events or []):
        try:
            data = json_loads(ev.data)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("type") in TERMINAL_EVENTS:
            return data
    return None


def response_document(ex: Exchange) -> Any:
    """The Response object a step produced.

    For a plain step that is the JSON body; for a streamed step it is the ``response`` of the
    terminal event, so the same ``json``/``output_text`` expectations work in both modes.
    Raises ``ValueError`` with an explanation when there is none.
    """
    if ex.events is not None:
        term = terminal_event(ex)
        if term is None:
            types = event_types(ex)
            tail = ", ".join(types[-3:]) or "no typed events"
            raise ValueError(
                f"stream has no terminal event ({'/'.join(TERMINAL_EVENTS)}); "
                f"{len(types)} events, last: {tail}"
            )
        if not isinstance(term.get("response"), dict):
            raise ValueError(f"terminal event {term.get('type')} has no response object")
        return term["response"]
    try:
        return body_json(ex)
    except Fail as exc:
        raise ValueError(str(exc)) from None


def document(ex: Exchange) -> Any:
    """:func:`response_document`, or :class:`Fail` saying why there is none."""
    try:
        return response_document(ex)
    except ValueError as exc:
        raise Fail(str(exc)) from None


def assistant_text(doc: Any) -> tuple[str, bool, list[str]]:
    """(concatenated output_text of assistant messages, found any message, output item types)."""
    output = doc.get("output") if isinstance(doc, dict) else None
    if not isinstance(output, list):
        raise Fail(f"response has no output array (output: {short(output)})")
    parts: list[str] = []
    found = False
    types: list[str] = []
    for item in output:
        if not isinstance(item, dict):
            continue
        types.append(str(item.get("type")))
        if item.get("type") != "message" or item.get("role", "assistant") != "assistant":
            continue
        content = item.get("content")
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") == "output_text" and isinstance(part.get("text"), str):
                parts.append(part["text"])
                found = True
    return "".join(parts), found, types


def output_text(ex: Exchange) -> str:
    """The concatenated ``output_text`` parts of the assistant messages of the step's response."""
    text, _, _ = assistant_text(document(ex))
    return text


def error_event(ex: Exchange) -> Any:
    """The ``error`` object of the stream's first ``error`` event (SSE or WebSocket), if any."""
    for ev in ex.events or []:
        try:
            data = json_loads(ev.data)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("type") == "error":
            return data.get("error", data)
    return None


def is_error_body(ex: Exchange) -> bool:
    """An error answer: an HTTP 4xx/5xx, or a JSON ``{"error": ...}`` envelope that is no Response (even on a 200)."""
    if ex.status is not None and ex.status >= 400:
        return True
    body = ex.json_or_none()
    return isinstance(body, dict) and isinstance(body.get("error"), dict) and "object" not in body \
        and "output" not in body
