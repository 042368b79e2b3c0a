"""Event-level checks on a streamed response (``stream: true``, HTTP 200): each event on its own.

The order of events is ``lifecycle.py``'s business and the text they carry ``accumulation.py``'s.
SSE framing details that are valid per WHATWG (no ``event:`` line, ``id:``/``retry:`` fields) are never
judged here: they are legal and the recorder's parser already handled them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from ..._verdict import Finding
from ...record.exchange import Exchange
from ._registry import CheckContext, check
from ._util import (
    DONE_SENTINEL,
    RESPONSE_REF,
    SPEC,
    STREAM_EVENT_REF,
    TERMINAL_EVENTS,
    depth_note,
    event_data,
    event_schema_name,
    is_int,
    is_resumed,
    kind_of,
    query_params,
    short,
    sse_200,
    stream_events,
    terminal_event,
    validate,
)

CREATE_STREAM_REF = f"{SPEC}#/paths/~1responses/post/responses/200/content/text~1event-stream"
RESPONSE_EVENTS = ("response.created", "response.queued", "response.in_progress", *TERMINAL_EVENTS)


def _label(index: int, data: object) -> str:
    kind = data.get("type") if isinstance(data, dict) else None
    return f"event {index} ({kind})" if isinstance(kind, str) else f"event {index}"


@check("stream.content_type", proof=("wrong_stream_content_type", "streaming.text"), basis="schema", spec_ref=CREATE_STREAM_REF,
       applies=lambda ex, ctx: ctx.stream and ex.status == 200)
def content_type(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """A streamed 200 is ``text/event-stream``: a JSON answer means ``stream: true`` was ignored."""
    if ex.content_type != "text/event-stream":
        shown = ex.header("content-type")
        hint = " (the server ignored stream: true)" if ex.content_type == "application/json" else ""
        yield Finding(f"Content-Type is {shown!r}, expected text/event-stream{hint}", "headers.content-type")


@check("stream.event_json", proof=("non_json_event_data", "streaming.text"), basis="event-contract", spec_ref=STREAM_EVENT_REF, applies=sse_200)
def event_json(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Every event's ``data`` is one JSON object (a trailing ``[DONE]`` is ``stream.done_sentinel``'s call)."""
    events = ex.events or []
    for index, event in enumerate(events):
        if event.data == DONE_SENTINEL and index == len(events) - 1:
            continue
        data = event_data(event)
        if data is None:
            what = "the [DONE] sentinel before the end of the stream" if event.data == DONE_SENTINEL else (
                f"not JSON{depth_note(event.data)}: {event.data[:60]!r}")
            yield Finding(f"data is {what}", f"events[{index}].data")
        elif not isinstance(data, dict):
            yield Finding(f"data is {short(data)}, expected a JSON object", f"events[{index}].data")


@check("stream.done_sentinel", proof=("done_sentinel", "streaming.text"), basis="observed", spec_ref=STREAM_EVENT_REF, applies=sse_200)
def done_sentinel(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Reports a ``data: [DONE]`` sentinel: a Chat Completions habit, not in the Responses spec.

    The official SDKs skip it, so it is only a warning; a client written from the spec would try to
    parse it as JSON.
    """
    for index, event in enumerate(ex.events or []):
        if event.data == DONE_SENTINEL:
            yield Finding("data: [DONE] sentinel (Chat Completions style; not a Responses stream event, "
                          "tolerated by the SDKs)", f"events[{index}]")


@check("stream.event_schema", proof=("missing_item_id_on_delta", "streaming.incomplete"), basis="schema", spec_ref=STREAM_EVENT_REF, applies=sse_200)
def event_schema(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Each event validates against the schema of its ``type`` (an unknown type is reported as such)."""
    for index, data in stream_events(ex):
        kind = data.get("type")
        if not isinstance(kind, str):
            yield Finding(f"event has no string type ({short(data)})", f"events[{index}].type")
            continue
        name = event_schema_name(kind, ctx.profile, ctx.transport)
        if name is None:
            yield Finding(f"unknown event type {kind!r} (not a member of ResponseStreamEvent)",
                          f"events[{index}].type")
            continue
        for finding in validate(name, data, ctx.profile, f"events[{index}]"):
            yield replace(finding, message=f"{kind} ({name}): {finding.message}")


@check("stream.event_name_matches_type", proof=("event_name_mismatch", "streaming.text"), basis="event-contract", spec_ref=STREAM_EVENT_REF, applies=sse_200)
def event_name_matches_type(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """An SSE ``event:`` field, when present, equals the data's ``type`` (clients dispatch on either).

    A missing ``event:`` line is legal SSE and not judged.
    """
    events = ex.events or []
    for index, data in stream_events(ex):
        name = events[index].event
        if name is not None and name != data.get("type"):
            yield Finding(f"SSE event name {name!r} differs from data.type {short(data.get('type'))}",
                          f"events[{index}].event")


@check("stream.sequence_number", proof=("missing_sequence_number", "streaming.text"), basis="event-contract", spec_ref=STREAM_EVENT_REF, applies=sse_200)
def sequence_number(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Every event has an integer ``sequence_number`` (required on every event) and they strictly increase.

    Clients resume with ``starting_after=<sequence_number>`` and de-duplicate by it. The WebSocket
    ``error`` event (``ResponseWsError``) is the one event whose ``sequence_number`` is optional.
    """
    previous: int | None = None
    previous_index = -1
    for index, data in stream_events(ex):
        value = data.get("sequence_number")
        if ctx.transport == "websocket" and data.get("type") == "error" and "sequence_number" not in data:
            continue
        if not is_int(value):
            yield _bad_sequence_number(index, data)
            continue
        if previous is not None and value <= previous:
            yield Finding(f"{_label(index, data)}: sequence_number {value} does not increase "
                          f"(event {previous_index} had {previous})", f"events[{index}].sequence_number")
        previous, previous_index = value, index


def _bad_sequence_number(index: int, data: dict) -> Finding:
    """A missing or non-integer sequence_number, keyed like ``stream.event_schema``'s finding on it: every stream
    event requires it, so it is the stream-event union's rule (one deviation, not one per event type)."""
    where = f"events[{index}].sequence_number"
    if "sequence_number" not in data:
        return Finding(f"{_label(index, data)}: sequence_number is missing", where, kind="missing",
                       rule="ResponseStreamEvent:required:sequence_number")
    value = data["sequence_number"]
    return Finding(f"{_label(index, data)}: sequence_number is {short(value)}", where,
                   kind="null" if value is None else "type", rule="ResponseStreamEvent.sequence_number:type")


@check("stream.sequence_contiguous", proof=("sequence_gap", "streaming.text"), basis="observed", spec_ref=STREAM_EVENT_REF, applies=sse_200)
def sequence_contiguous(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Sequence numbers start at 0 or 1 and have no gaps (a gap suggests dropped events).

    Only judged when every event has an integer sequence number; a resumed stream
    (``starting_after=N``) must start at N+1.
    """
    numbered = [(i, d.get("sequence_number")) for i, d in stream_events(ex)]
    if not numbered or not all(is_int(v) for _, v in numbered):
        return
    first_index, first = numbered[0]
    after = _starting_after(ex)
    if after is not None:
        if first != after + 1:
            yield Finding(f"resumed with starting_after={after} but the first sequence_number is {first}",
                          f"events[{first_index}].sequence_number")
    elif first not in (0, 1):
        yield Finding(f"first sequence_number is {first}, expected 0 or 1", f"events[{first_index}].sequence_number")
    for (_, before), (index, value) in zip(numbered, numbered[1:]):
        if isinstance(before, int) and isinstance(value, int) and value > before + 1:
            yield Finding(f"sequence_number jumps from {before} to {value}", f"events[{index}].sequence_number")


def _starting_after(ex: Exchange) -> int | None:
    if not is_resumed(ex):
        return None
    try:
        return int(query_params(ex)["starting_after"][0])
    except (ValueError, IndexError):
        return None


@check("stream.terminal_event", proof=("no_terminal_event", "streaming.text"), basis="event-contract", spec_ref=STREAM_EVENT_REF, applies=sse_200)
def terminal_event_check(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """The stream ends with ``response.completed``, ``response.incomplete`` or ``response.failed``.

    A stream whose last event is an in-band ``error`` event also has a signalled end (the SDKs raise on
    it), so it passes here; a stream that simply stops does not: the client cannot tell a finished
    answer from a dropped connection.
    """
    data = [d for _, d in stream_events(ex)]
    if not data:
        yield Finding("the stream carried no JSON events at all")
        return
    if any(kind_of(d) in TERMINAL_EVENTS for d in data):
        return
    if data[-1].get("type") == "error":
        return
    yield Finding(f"no terminal event (response.completed/incomplete/failed); the last event was "
                  f"{short(data[-1].get('type'))}", f"events[{len(ex.events or []) - 1}]")


@check("stream.final_response", proof=("terminal_status_mismatch", "streaming.function_call"), basis="schema", spec_ref=RESPONSE_REF,
       applies=lambda ex, ctx: sse_200(ex, ctx) and terminal_event(ex) is not None)
def final_response(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """The terminal event's ``response`` is a valid ``Response`` whose status matches the event type."""
    found = terminal_event(ex)
    assert found is not None
    index, data = found
    response = data.get("response")
    at = f"events[{index}].response"
    if not isinstance(response, dict):
        yield Finding(f"{data['type']} carries response={short(response)}, expected a Response object", at)
        return
    expected = data["type"].removeprefix("response.")  # response.incomplete: status incomplete
    if response.get("status") != expected:
        yield Finding(f"{data['type']} carries a response with status {short(response.get('status'))}, "
                      f"expected {expected!r}", f"{at}.status")
    yield from validate("Response", response, ctx.profile, at)


@check("stream.response_id_stable", proof=("response_id_unstable", "streaming.function_call"), basis="event-contract", spec_ref=STREAM_EVENT_REF, applies=sse_200)
def response_id_stable(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Every response-level event (created, queued, in_progress, terminal) names the same response id.

    The id from ``response.created`` is what clients store to retrieve, cancel or chain the response.
    """
    first: tuple[int, str] | None = None
    for index, data in stream_events(ex):
        if data.get("type") not in RESPONSE_EVENTS or not isinstance(data.get("response"), dict):
            continue
        rid = data["response"].get("id")
        if not isinstance(rid, str):
            continue
        if first is None:
            first = (index, rid)
        elif rid != first[1]:
            yield Finding(f"{_label(index, data)}: response.id {rid!r} differs from {first[1]!r} "
                          f"(event {first[0]})", f"events[{index}].response.id")
