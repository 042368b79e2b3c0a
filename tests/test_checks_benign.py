"""Valid-but-unusual traffic must produce zero failures across ALL registered checks.

Every false alarm costs trust (schemathesis's costliest lesson), so each variant here is something a
conforming server may legally send: unknown fields, any key order, SSE without ``event:`` lines,
``id``/``retry`` fields, CRLF framing, model snapshots, omitted optionals, nulls the spec allows.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from _exchanges import (
    REQUEST,
    Json,
    encode_sse,
    failures,
    function_call_item,
    function_request,
    function_response,
    json_exchange,
    make_response,
    message_item,
    renumber,
    run,
    stream_events_for,
    stream_exchange,
)

from conformance._verdict import Outcome
from conformance.record.exchange import Exchange

OPAQUE = {"metadata", "parameters", "schema", "arguments"}


def with_extras(value: Any) -> Any:
    """Add an unknown field to every object (leaving user-owned maps such as ``metadata`` alone)."""
    if isinstance(value, dict):
        out = {k: (v if k in OPAQUE else with_extras(v)) for k, v in value.items()}
        out["x_vendor_extra"] = {"note": "unknown fields must be ignored", "n": 1}
        return out
    if isinstance(value, list):
        return [with_extras(v) for v in value]
    return value


def reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_keys(v) for v in value]
    return value


def without(body: Json, *keys: str) -> Json:
    return {k: v for k, v in body.items() if k not in keys}


def _incomplete() -> Json:
    return make_response([message_item("1 2 3", status="incomplete")], status="incomplete",
                         incomplete_details={"reason": "max_output_tokens"})


def _failed() -> Json:
    return without(make_response([], status="failed", error={"code": "server_error", "message": "The model crashed."}),
                   "usage")


def _bare_request() -> Json:
    return {"model": "gpt-4o-mini", "input": "hi"}


NON_STREAM: dict[str, Callable[[], Exchange]] = {
    "plain": lambda: json_exchange(make_response()),
    "extra fields everywhere": lambda: json_exchange(with_extras(make_response())),
    "reversed key order": lambda: json_exchange(reversed_keys(make_response())),
    "model snapshot": lambda: json_exchange(make_response(request=_bare_request(), model="gpt-4o-mini-2024-07-18"),
                                            request=_bare_request()),
    "optional fields omitted": lambda: json_exchange(without(
        make_response(), "status", "usage", "completed_at", "reasoning", "text", "truncation", "store",
        "max_output_tokens", "previous_response_id")),
    "nulls the spec allows": lambda: json_exchange(make_response(
        request=_bare_request(), instructions=None, previous_response_id=None, max_output_tokens=None, reasoning=None,
        metadata=None, temperature=None, top_p=None, completed_at=None, truncation=None, service_tier=None),
        request=_bare_request()),
    "charset content type": lambda: json_exchange(make_response(), content_type="application/json; charset=utf-8"),
    "+json content type": lambda: json_exchange(make_response(), content_type="application/vnd.api+json"),
    "function call": lambda: json_exchange(function_response(), request=function_request()),
    "function call without status": lambda: json_exchange(
        make_response([without(function_call_item(), "status", "id")], request=function_request()),
        request=function_request()),
    "incomplete": lambda: json_exchange(_incomplete()),
    "incomplete with content_filter": lambda: json_exchange(make_response(
        status="incomplete", incomplete_details={"reason": "content_filter"})),
    "failed": lambda: json_exchange(_failed()),
    "refusal part": lambda: json_exchange(make_response([{**message_item(), "content": [
        {"type": "refusal", "refusal": "I can't help with that."}]}])),
    "output_text field matching": lambda: json_exchange(make_response(output_text="Hello there, world!")),
    "output_text field null": lambda: json_exchange(make_response(output_text=None)),
    "two messages": lambda: json_exchange(make_response([message_item("a", "msg_1"), message_item("b", "msg_2")],
                                                        output_text="ab")),
    "float32 temperature": lambda: json_exchange(make_response(temperature=0.699999988079071)),
    "tool_choice object with server defaults": lambda: json_exchange(
        make_response([function_call_item()], request={**function_request(),
                                                        "tool_choice": {"type": "function", "name": "get_weather"}}),
        request={**function_request(), "tool_choice": {"type": "function", "name": "get_weather"}}),
    "allowed_tools tool_choice normalised": lambda: json_exchange(
        make_response([function_call_item()], request={**function_request(), "tool_choice": {
            "type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "get_weather"}]}},
            tool_choice={"type": "allowed_tools", "mode": "auto",
                         "tools": [{"type": "function", "name": "get_weather", "x": None}]}),
        request={**function_request(), "tool_choice": {
            "type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "get_weather"}]}}),
    "retrieve queued background": lambda: json_exchange(without(make_response([], status="queued", background=True),
                                                                  "usage"),
                                                        method="GET", path="/responses/resp_1"),
    "retrieve in_progress with partial message": lambda: json_exchange(without(make_response(
        [message_item("Hel", status="in_progress")], status="in_progress"), "usage"),
        method="GET", path="/responses/resp_1?include[]=message.output_text.logprobs"),
    "cancel": lambda: json_exchange(without(make_response([], status="cancelled"), "usage"),
                                    path="/responses/resp_1/cancel", request=None),
    "previous_response_id chained": lambda: json_exchange(
        make_response(request={**REQUEST, "previous_response_id": "resp_0"}),
        request={**REQUEST, "previous_response_id": "resp_0"}),
    "400 error envelope": lambda: json_exchange(
        {"error": {"message": "Invalid value for 'temperature'.", "type": "invalid_request_error",
                   "param": "temperature", "code": "invalid_value"}}, status=400,
        content_type="application/json; charset=utf-8"),
    "404 error envelope with extras": lambda: json_exchange(with_extras(
        {"error": {"message": "No response found with id 'resp_x'.", "type": "invalid_request_error",
                   "param": None, "code": None}}), status=404, method="GET", path="/responses/resp_x"),
    "input_tokens count": lambda: json_exchange({"object": "response.input_tokens", "input_tokens": 12},
                                                path="/responses/input_tokens", request={"model": "gpt-4o"}),
    "input_items list": lambda: json_exchange(with_extras({
        "object": "list", "has_more": False, "first_id": "msg_0", "last_id": "msg_0",
        "data": [{"id": "msg_0", "type": "message", "role": "user", "status": "completed",
                  "content": [{"type": "input_text", "text": "Say hello"}]}]}),
        method="GET", path="/responses/resp_1/input_items?order=asc&limit=20"),
    "delete with empty body": lambda: json_exchange(None, method="DELETE", path="/responses/resp_1",
                                                    content_type=None),
    "delete with de-facto body": lambda: json_exchange(
        reversed_keys({"id": "resp_1", "object": "response.deleted", "deleted": True, "x": 1}),
        method="DELETE", path="/responses/resp_1"),
}


def _stream(final: Json, request: Json | None = None, transform: Callable[[list[Json]], list[Any]] | None = None,
            **kw: Any) -> Callable[[], Exchange]:
    def build() -> Exchange:
        events: list[Any] = stream_events_for(final)
        if transform is not None:
            events = transform(events)
        return stream_exchange(events, request=request, **kw)
    return build


def _multi() -> Json:
    return make_response([message_item("Let me check.", "msg_1"), function_call_item()], request=function_request())


def _start_at_one(events: list[Json]) -> list[Json]:
    for event in events:
        event["sequence_number"] += 1
    return events


def _queued(events: list[Json]) -> list[Json]:
    created = copy.deepcopy(events[0])
    created["response"]["status"] = "queued"
    queued = {"type": "response.queued", "response": copy.deepcopy(created["response"])}
    events = [created, queued, *events[1:]]
    renumber(events)
    return events


def _obfuscated(events: list[Json]) -> list[Json]:
    for event in events:
        if event["type"].endswith(".delta"):
            event["obfuscation"] = "x7Q"
    return events


def _error_ending(events: list[Json]) -> list[Json]:
    return [*events[:2], {"type": "error", "code": "server_error", "message": "Something broke.", "param": None,
                          "sequence_number": 2}]


def _error_then_failed(events: list[Json]) -> list[Json]:
    failed = stream_events_for(_failed())[-1]
    out = [*events[:2], {"type": "error", "code": "server_error", "message": "Something broke.", "param": None},
           failed]
    renumber(out)
    return out


STREAM: dict[str, Callable[[], Exchange]] = {
    "plain": _stream(make_response()),
    "no event lines": _stream(make_response(), event_lines=False),
    "id and retry fields": _stream(make_response(), ids=True, retry=True),
    "CRLF framing": _stream(make_response(), newline="\r\n"),
    "[DONE] sentinel": _stream(make_response(), done=True),
    "extra fields in every event": _stream(make_response(), transform=lambda ev: [with_extras(e) for e in ev]),
    "reversed key order": _stream(make_response(), transform=lambda ev: [reversed_keys(e) for e in ev]),
    "model snapshot": _stream(make_response(request=_bare_request(), model="gpt-4o-mini-2024-07-18"),
                              request=_bare_request()),
    "one delta per character": lambda: stream_exchange(stream_events_for(make_response(), chunk=1)),
    "function call": _stream(function_response(), request=function_request()),
    "message then function call": _stream(_multi(), request=function_request()),
    "sequence starts at 1": _stream(make_response(), transform=_start_at_one),
    "incomplete": _stream(_incomplete()),
    "failed": _stream(_failed()),
    "queued background": _stream(make_response(request={**REQUEST, "background": True}),
                                 request={**REQUEST, "background": True}, transform=_queued),
    "obfuscation fields": _stream(make_response(), transform=_obfuscated),
    "ends with in-band error": _stream(make_response(), transform=_error_ending),
    "error then response.failed": _stream(make_response(), transform=_error_then_failed),
    "empty text, no deltas": _stream(make_response([message_item("")])),
    "unicode text split mid-word": lambda: stream_exchange(stream_events_for(
        make_response([message_item("Grüße 👋 — 日本語\u2028ok")]), chunk=3)),
    "resumed with starting_after": lambda: stream_exchange(
        [e for e in stream_events_for(make_response()) if e["sequence_number"] > 4],
        method="GET", path="/responses/resp_1?stream=true&starting_after=4"),
}


def _assert_clean(ex: Exchange, allowed_warnings: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    results = run(ex)
    assert results, "no check applied"
    bad = {name: msg for name, msg in failures(ex).items() if name not in allowed_warnings}
    assert not bad, json.dumps(bad, indent=1)
    assert all(r.outcome is Outcome.PASS for r in results)


@pytest.mark.parametrize("variant", sorted(NON_STREAM))
def test_non_stream_variant_is_clean(variant: str) -> None:
    _assert_clean(NON_STREAM[variant]())


@pytest.mark.parametrize("variant", sorted(STREAM))
def test_stream_variant_is_clean(variant: str) -> None:
    allowed = {"stream.done_sentinel"} if "DONE" in variant else set()
    _assert_clean(STREAM[variant](), allowed)


def test_done_sentinel_is_only_a_warning() -> None:
    results = {r.name: r for r in run(STREAM["[DONE] sentinel"]())}
    assert results["stream.done_sentinel"].severity == "warning"
    assert results["stream.done_sentinel"].outcome is Outcome.PASS and results["stream.done_sentinel"].findings
    assert not results["stream.event_json"].findings
    assert not results["stream.lifecycle"].findings


def test_stream_checks_all_apply_to_a_full_stream() -> None:
    names = {r.name for r in run(STREAM["message then function call"]())}
    assert {"stream.lifecycle", "stream.text_accumulation", "stream.function_args_accumulation",
            "stream.final_response", "response.function_call_arguments", "response.echo"} <= names


def test_inconclusive_exchanges_are_never_judged() -> None:
    ex = json_exchange({"detail": "gateway timeout"}, status=504)
    ex.error_kind = "server_error"
    assert run(ex) == []


def test_raw_sse_bytes_match_the_parser() -> None:
    raw = encode_sse([{"type": "x", "sequence_number": 0}], ids=True, retry=True)
    (event,) = stream_exchange(raw=raw).events or []
    assert (event.id, event.retry, event.event) == ("0", 3000, "x")


@pytest.mark.parametrize("where", ["response.created", "non-stream failed"])
def test_real_api_usage_null(where: str) -> None:
    if where == "response.created":
        events = stream_events_for(make_response())
        events[0]["response"]["usage"] = None
        events[1]["response"]["usage"] = None
        _assert_clean(stream_exchange(events))
    else:
        _assert_clean(json_exchange({**_failed(), "usage": None}))
