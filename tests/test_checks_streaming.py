"""Event-level stream checks."""

from __future__ import annotations

import json

from _exchanges import (
    context,
    findings,
    make_response,
    messages,
    mutate,
    run,
    stream_events_for,
    stream_exchange,
)

from conformance.judge.checks import REGISTRY

EVENTS = stream_events_for(make_response())


def test_valid_stream_passes_every_stream_check() -> None:
    results = {r.name: r for r in run(stream_exchange(EVENTS))}
    stream_checks = [n for n in REGISTRY if n.startswith("stream.")]
    assert all(results[n].findings == [] for n in stream_checks), {n: results[n].message for n in stream_checks}


def test_unknown_event_type() -> None:
    ex = stream_exchange([*EVENTS[:2], {"type": "response.ping", "sequence_number": 2}, *EVENTS[2:]])
    assert "events[2].type: unknown event type 'response.ping'" in messages("stream.event_schema", ex)


def test_event_without_type() -> None:
    ex = stream_exchange([*EVENTS[:2], {"sequence_number": 2}])
    assert "event has no string type" in messages("stream.event_schema", ex)


def test_event_json_non_object_and_early_done() -> None:
    ex = stream_exchange([*EVENTS[:2], "[1, 2]", "[DONE]", *EVENTS[2:]])
    text = messages("stream.event_json", ex)
    assert "events[2].data: data is [1, 2], expected a JSON object" in text
    assert "the [DONE] sentinel before the end of the stream" in text


def test_sequence_number_must_increase() -> None:
    events = mutate(EVENTS, lambda ev: ev[5].update(sequence_number=2))
    assert "sequence_number 2 does not increase (event 4 had 4)" in messages("stream.sequence_number",
                                                                             stream_exchange(events))


def test_sequence_number_string() -> None:
    events = mutate(EVENTS, lambda ev: ev[0].update(sequence_number="0"))
    assert "event 0 (response.created): sequence_number is \"0\"" in messages("stream.sequence_number",
                                                                             stream_exchange(events))


def test_sequence_contiguous_start() -> None:
    events = mutate(EVENTS, lambda ev: [e.update(sequence_number=e["sequence_number"] + 7) for e in ev])
    assert "first sequence_number is 7, expected 0 or 1" in messages("stream.sequence_contiguous",
                                                                     stream_exchange(events))


def test_resumed_stream_must_continue_after_starting_after() -> None:
    tail = [e for e in EVENTS if e["sequence_number"] > 6]
    ex = stream_exchange(tail, method="GET", path="/responses/resp_1?stream=true&starting_after=4")
    assert "resumed with starting_after=4 but the first sequence_number is 7" in messages(
        "stream.sequence_contiguous", ex)


def test_no_events_at_all() -> None:
    ex = stream_exchange([])
    assert "the stream carried no JSON events at all" in messages("stream.terminal_event", ex)


def test_final_response_status_mismatch_for_incomplete() -> None:
    events = mutate(EVENTS, lambda ev: ev[-1].update(type="response.incomplete"))
    text = messages("stream.final_response", stream_exchange(events))
    assert "response.incomplete carries a response with status \"completed\", expected 'incomplete'" in text


def test_final_response_schema_violation_is_reported_with_event_path() -> None:
    events = mutate(EVENTS, lambda ev: ev[-1]["response"].update(output="Hello"))
    assert "events[" in messages("stream.final_response", stream_exchange(events))


def test_json_answer_to_stream_request_is_one_failure_not_many() -> None:
    ex = stream_exchange(raw=json.dumps(make_response()).encode(), content_type="application/json")
    failed = {r.name for r in run(ex) if r.findings}
    assert failed == {"stream.content_type"}


def test_sse_with_wrong_content_type_is_still_judged() -> None:
    ex = stream_exchange(EVENTS, content_type="text/plain")
    assert "Content-Type is 'text/plain', expected text/event-stream" in messages("stream.content_type", ex)
    assert REGISTRY["stream.lifecycle"].applies(ex, context(ex))
    assert findings("stream.lifecycle", ex) == []


def test_event_name_mismatch_is_not_reported_without_event_lines() -> None:
    ex = stream_exchange(EVENTS, event_lines=False)
    assert findings("stream.event_name_matches_type", ex) == []
