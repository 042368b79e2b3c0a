"""Hand-built exchanges for the check tests: valid Responses, valid event streams, and ways to bend them.

Everything here is spec-valid by construction (``test_checks_benign`` proves it against the real
schemas), so a test that changes one thing knows exactly which check it should trip.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from typing import Any

from conformance._verdict import CheckResult, Finding, Outcome
from conformance.judge.checks import REGISTRY, CheckContext, endpoint_of, run_checks
from conformance.record.exchange import Exchange, RecordedRequest, SSEEvent, WSMessage

Json = dict[str, Any]

REQUEST: Json = {
    "model": "gpt-4o",
    "input": "Say hello",
    "instructions": "Be brief.",
    "temperature": 0.7,
    "top_p": 0.9,
    "max_output_tokens": 64,
    "metadata": {"case": "hello"},
}

WEATHER_TOOL: Json = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": True,
}


def message_item(text: str = "Hello there, world!", item_id: str = "msg_1", status: str = "completed") -> Json:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def function_call_item(name: str = "get_weather", arguments: str = '{"city": "Paris"}', item_id: str = "fc_1",
                       call_id: str = "call_1", status: str = "completed") -> Json:
    return {"id": item_id, "type": "function_call", "call_id": call_id, "name": name, "arguments": arguments,
            "status": status}


def make_response(output: list[Json] | None = None, *, status: str = "completed", request: Json | None = None,
                  response_id: str = "resp_1", model: str = "gpt-4o-2024-08-06", **overrides: Any) -> Json:
    """A Response as the real API returns it, echoing ``request`` (default :data:`REQUEST`)."""
    req = REQUEST if request is None else request
    output = [message_item()] if output is None else output
    body: Json = {
        "id": response_id,
        "object": "response",
        "created_at": 1741476542,
        "status": status,
        "completed_at": 1741476543 if status == "completed" else None,
        "error": None,
        "incomplete_details": None,
        "instructions": req.get("instructions"),
        "max_output_tokens": req.get("max_output_tokens"),
        "model": model,
        "output": output,
        "parallel_tool_calls": req.get("parallel_tool_calls", True),
        "previous_response_id": req.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": req.get("temperature", 1.0),
        "text": {"format": {"type": "text"}},
        "tool_choice": req.get("tool_choice", "auto"),
        "tools": copy.deepcopy(req.get("tools", [])),
        "top_p": req.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": {
            "input_tokens": 12,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 17,
        },
        "metadata": copy.deepcopy(req.get("metadata", {})),
    }
    body.update(overrides)
    return body


def function_request() -> Json:
    return {"model": "gpt-4o", "input": "Weather in Paris?", "tools": [copy.deepcopy(WEATHER_TOOL)],
            "tool_choice": "required"}


def function_response(**overrides: Any) -> Json:
    return make_response([function_call_item()], request=function_request(), **overrides)


# ------------------------------------------------------------------------------------------ streams


def _chunks(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or []


def _opened(item: Json) -> Json:
    """How an item looks in ``output_item.added``: in progress, empty content/arguments."""
    item = copy.deepcopy(item)
    item["status"] = "in_progress"
    if item["type"] == "message":
        item["content"] = []
    elif item["type"] == "function_call":
        item["arguments"] = ""
    return item


def stream_events_for(final: Json, chunk: int = 4) -> list[Json]:
    """The event stream the real API sends for ``final`` (message and function_call items)."""
    start = copy.deepcopy(final)
    start.update(status="in_progress", output=[], completed_at=None)
    start.pop("usage", None)  # the real API sends "usage": null here; see test_checks_benign
    events: list[Json] = [{"type": "response.created", "response": start},
                          {"type": "response.in_progress", "response": copy.deepcopy(start)}]
    for out, item in enumerate(final["output"]):
        events.append({"type": "response.output_item.added", "output_index": out, "item": _opened(item)})
        if item["type"] == "message":
            for ci, part in enumerate(item["content"]):
                empty = {**part, "text": ""} if part["type"] == "output_text" else {**part, "refusal": ""}
                events.append({"type": "response.content_part.added", "item_id": item["id"], "output_index": out,
                               "content_index": ci, "part": empty})
                kind = "output_text" if part["type"] == "output_text" else "refusal"
                field = "text" if kind == "output_text" else "refusal"
                extra: Json = {"logprobs": []} if kind == "output_text" else {}
                for piece in _chunks(part[field], chunk):
                    events.append({"type": f"response.{kind}.delta", "item_id": item["id"], "output_index": out,
                                   "content_index": ci, "delta": piece, **extra})
                events.append({"type": f"response.{kind}.done", "item_id": item["id"], "output_index": out,
                               "content_index": ci, field: part[field], **extra})
                events.append({"type": "response.content_part.done", "item_id": item["id"], "output_index": out,
                               "content_index": ci, "part": copy.deepcopy(part)})
        elif item["type"] == "function_call":
            for piece in _chunks(item["arguments"], chunk):
                events.append({"type": "response.function_call_arguments.delta", "item_id": item["id"],
                               "output_index": out, "delta": piece})
            events.append({"type": "response.function_call_arguments.done", "item_id": item["id"],
                           "output_index": out, "name": item["name"], "arguments": item["arguments"]})
        events.append({"type": "response.output_item.done", "output_index": out, "item": copy.deepcopy(item)})
    terminal = {"completed": "response.completed", "incomplete": "response.incomplete", "failed": "response.failed"}
    events.append({"type": terminal[final["status"]], "response": copy.deepcopy(final)})
    for seq, event in enumerate(events):
        event["sequence_number"] = seq
    return events


def encode_sse(events: Iterable[Json | str], *, event_lines: bool = True, ids: bool = False,
               retry: bool = False, done: bool = False, newline: str = "\n") -> bytes:
    """Serialise events as SSE; ``str`` items are sent verbatim as data (e.g. ``"[DONE]"``)."""
    blocks = []
    items = list(events) + (["[DONE]"] if done else [])
    for n, event in enumerate(items):
        lines = []
        if ids:
            lines.append(f"id: {n}")
        if retry and n == 0:
            lines.append("retry: 3000")
        if event_lines and isinstance(event, dict) and "type" in event:
            lines.append(f"event: {event['type']}")
        lines.append("data: " + (event if isinstance(event, str) else json.dumps(event)))
        blocks.append(newline.join(lines) + newline + newline)
    return "".join(blocks).encode("utf-8")


def parse_sse(raw: bytes) -> list[SSEEvent]:
    """A small SSE parser for the format :func:`encode_sse` writes (LF or CRLF, no comments)."""
    events = []
    text = raw.decode("utf-8").replace("\r\n", "\n")
    offset = 0
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields: dict[str, Any] = {"data": []}
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                fields["data"].append(value)
            elif name == "retry":
                fields["retry"] = int(value)
            elif name in ("event", "id"):
                fields[name] = value
        chunk = (block + "\n\n").encode("utf-8")
        if not fields["data"]:  # WHATWG: a block without data is not dispatched
            offset += len(chunk)
            continue
        events.append(SSEEvent(data="\n".join(fields["data"]), event=fields.get("event"), id=fields.get("id"),
                               retry=fields.get("retry"), raw=chunk, offset=offset))
        offset += len(chunk)
    return events


# ------------------------------------------------------------------------------------------ exchanges


def json_exchange(body: Any, *, status: int = 200, method: str = "POST", path: str = "/responses",
                  request: Json | None = None, content_type: str | None = "application/json",
                  raw: bytes | None = None) -> Exchange:
    """A non-streamed exchange; ``raw`` overrides the serialised ``body``."""
    req_body = (REQUEST if request is None else request) if method == "POST" and path == "/responses" else request
    headers = [("content-type", content_type)] if content_type is not None else []
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode("utf-8"))
    return Exchange(step="s1", request=RecordedRequest(method, "https://api.test/v1" + path, path, {}, req_body, False),
                    status=status, headers=headers, body=data)


def stream_exchange(events: Iterable[Json | str] | None = None, *, request: Json | None = None,
                    path: str = "/responses", method: str = "POST", content_type: str = "text/event-stream",
                    raw: bytes | None = None, **encode: Any) -> Exchange:
    """A streamed 200: ``events`` (default: the stream for :func:`make_response`) encoded then parsed."""
    req = dict(REQUEST if request is None else request, stream=True) if method == "POST" else request
    if events is None:
        events = stream_events_for(make_response(request=request))
    data = raw if raw is not None else encode_sse(events, **encode)
    return Exchange(step="s1", request=RecordedRequest(method, "https://api.test/v1" + path, path, {}, req, True),
                    status=200, headers=[("content-type", content_type)], body=data, events=parse_sse(data))


def ws_exchange(events: Iterable[Json | str] | None = None, *, opcodes: dict[int, int] | None = None,
                problems: dict[int, str] | None = None) -> Exchange:
    """A WebSocket turn (transport ``websocket``, status 101): one text message per event (``opcodes`` overrides)."""
    if events is None:
        events = stream_events_for(make_response())
    recorded = []
    for n, event in enumerate(events):
        data = event if isinstance(event, str) else json.dumps(event)
        opcode = (opcodes or {}).get(n, 1)
        recorded.append(SSEEvent(data=data, raw=bytes([0x80 | opcode]) + data.encode(),
                                 ws=WSMessage(opcode, (problems or {}).get(n))))
    body = {"type": "response.create", **REQUEST}
    return Exchange(step="s1", request=RecordedRequest("GET", "ws://api.test/v1/responses", "/responses", {}, body,
                                                       True), status=101, events=recorded, transport="websocket")


def context(ex: Exchange, profile: str = "openai") -> CheckContext:
    """The context the engine would build for ``ex``."""
    if ex.transport == "websocket":
        body = {k: v for k, v in (ex.request.body or {}).items() if k not in ("type", "stream_id")}
        return CheckContext(endpoint="create" if ex.status == 101 else "other", request_body=body, stream=True,
                            profile=profile, transport="websocket")
    return CheckContext(endpoint=endpoint_of(ex.request.method, ex.request.path), request_body=ex.request.body,
                        stream=ex.request.stream, profile=profile)


def run(ex: Exchange, ctx: CheckContext | None = None) -> list[CheckResult]:
    return list(run_checks(ex, ctx or context(ex)))


def failures(ex: Exchange, ctx: CheckContext | None = None) -> dict[str, str]:
    """``{check name: message}`` of failed checks, plus warnings (outcome pass with findings)."""
    return {r.name: r.message for r in run(ex, ctx) if r.outcome is Outcome.FAIL or r.findings}


def findings(name: str, ex: Exchange, ctx: CheckContext | None = None) -> list[Finding]:
    """Run one check, asserting that it applies; return its findings."""
    chk = REGISTRY[name]
    ctx = ctx or context(ex)
    assert chk.applies(ex, ctx), f"{name} does not apply to this exchange"
    return list(chk.func(ex, ctx))


def messages(name: str, ex: Exchange, ctx: CheckContext | None = None) -> str:
    return " | ".join(f"{f.path}: {f.message}" for f in findings(name, ex, ctx))


def mutate(events: list[Json], fn: Callable[[list[Json]], None]) -> list[Json]:
    """A deep copy of ``events`` changed in place by ``fn``."""
    copied = copy.deepcopy(events)
    fn(copied)
    return copied


def index_of(events: list[Json], event_type: str, nth: int = 0) -> int:
    return [i for i, e in enumerate(events) if e.get("type") == event_type][nth]


def renumber(events: list[Json]) -> None:
    for seq, event in enumerate(events):
        if isinstance(event, dict):
            event["sequence_number"] = seq
