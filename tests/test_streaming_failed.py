"""In-band ``error`` events and ``response.failed`` are judged by their schemas, never treated as crashes.

The spec gives no deterministic way to make a model fail, so there is no reference-server case for a
failed stream (a case that only the reference could satisfy would fail every real provider); these tests
prove on recorded exchanges that a well-formed failure passes every stream check and that a malformed
one fails the right check, over SSE and over WebSocket alike.
"""

from __future__ import annotations

import copy

import pytest
from _exchanges import (
    make_response,
    renumber,
    run,
    stream_events_for,
    stream_exchange,
    ws_exchange,
)

from conformance._verdict import Outcome

SERVER_ERROR = {"code": "server_error", "message": "The model failed to generate a response."}
ERROR_EVENT = {"type": "error", "code": "server_error", "message": "Something went wrong.", "param": None}


def _failed_events(partial: bool = True) -> list[dict]:
    final = make_response(status="failed", error=SERVER_ERROR, usage=None)
    events = stream_events_for(final)
    if partial:  # the failure struck mid-message: the item never finished
        cut = next(i for i, e in enumerate(events) if e["type"] == "response.output_text.done")
        events = events[:cut] + events[-1:]
        events[-1]["response"]["output"] = []
        renumber(events)
    return events


def _failures(ex) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {r.name: r.message for r in run(ex) if r.outcome is Outcome.FAIL or r.findings}


@pytest.mark.parametrize("transport", ["sse", "websocket"])
@pytest.mark.parametrize("partial", [False, True])
def test_response_failed_stream_passes(transport: str, partial: bool) -> None:
    events = _failed_events(partial)
    ex = stream_exchange(events) if transport == "sse" else ws_exchange(events)
    assert _failures(ex) == {}


def test_stream_that_is_only_an_error_event_passes() -> None:
    ex = stream_exchange([dict(ERROR_EVENT, sequence_number=0)])
    assert _failures(ex) == {}


def test_error_event_mid_stream_then_failed_passes() -> None:
    events = _failed_events()
    events.insert(-1, dict(ERROR_EVENT))
    renumber(events)
    assert _failures(stream_exchange(events)) == {}


def test_stream_ending_on_an_error_event_passes() -> None:
    events = _failed_events()[:-1] + [dict(ERROR_EVENT)]
    renumber(events)
    assert _failures(stream_exchange(events)) == {}


def test_malformed_error_event_fails_the_schema_check() -> None:
    bad = {"type": "error", "error": {"message": "boom"}, "sequence_number": 0}  # the WebSocket shape on SSE
    failed = _failures(stream_exchange([bad]))
    assert list(failed) == ["stream.event_schema"] and "'code' is missing (required)" in failed["stream.event_schema"]


def test_failed_event_with_wrong_status_fails_final_response() -> None:
    events = _failed_events()
    events[-1]["response"]["status"] = "completed"
    failed = _failures(stream_exchange(events))
    assert "stream.final_response" in failed and "expected 'failed'" in failed["stream.final_response"]


def test_failed_response_without_error_object_is_reported() -> None:
    events = _failed_events()
    events[-1]["response"]["error"] = {"message": "no code"}
    failed = _failures(stream_exchange(events))
    assert "stream.final_response" in failed, failed


def test_event_after_an_error_terminal_is_still_judged() -> None:
    events = _failed_events()
    events.append(copy.deepcopy(events[1]))
    renumber(events)
    failed = _failures(stream_exchange(events))
    assert "after the terminal event" in failed["stream.lifecycle"]
