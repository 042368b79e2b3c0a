"""One precise deviation per registered check, and a guard that no check goes without one.

``DEVIATIONS`` is the coverage table: check name -> (a builder of one exchange that breaks exactly that
rule, a fragment the finding must contain). Adding a check without a row here fails
``test_every_check_has_a_deviation``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from _exchanges import (
    Json,
    encode_sse,
    findings,
    function_call_item,
    function_request,
    function_response,
    index_of,
    json_exchange,
    make_response,
    message_item,
    mutate,
    renumber,
    run,
    stream_events_for,
    stream_exchange,
    ws_exchange,
)

from conformance._verdict import Outcome
from conformance.judge.checks import REGISTRY
from conformance.record.exchange import Exchange

MESSAGE_EVENTS = stream_events_for(make_response())
FUNCTION_EVENTS = stream_events_for(function_response())


def _events(fn: Callable[[list[Json]], None], base: list[Json] = MESSAGE_EVENTS, **kw: object) -> Callable[[], Exchange]:
    return lambda: stream_exchange(mutate(base, fn), **kw)  # type: ignore[arg-type]


def _set(event_type: str, path: list[str | int], value: object, nth: int = 0) -> Callable[[list[Json]], None]:
    def change(events: list[Json]) -> None:
        target: object = events[index_of(events, event_type, nth)]
        for key in path[:-1]:
            target = target[key]  # type: ignore[index]
        target[path[-1]] = value  # type: ignore[index]
    return change


def _reasoning_stream(done_text: str) -> list[Json]:
    """A message stream with a reasoning item (one summary part) streamed before the message."""
    summary = {"type": "summary_text", "text": "Think hard."}
    item = {"type": "reasoning", "id": "rs_1", "summary": [summary], "status": "completed"}
    final = make_response([item, message_item()])
    events = stream_events_for(final)
    rest = [e for e in events[2:] if e.get("output_index") != 0 or e["type"].startswith("response.content")]
    for e in rest:
        if "output_index" in e:
            e["output_index"] = 1
    head = [
        {"type": "response.output_item.added", "output_index": 0, "item": {**item, "summary": []}},
        {"type": "response.reasoning_summary_part.added", "item_id": "rs_1", "output_index": 0, "summary_index": 0,
         "part": {"type": "summary_text", "text": ""}},
        *({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 0,
           "delta": d} for d in ("Think ", "hard.")),
        {"type": "response.reasoning_summary_text.done", "item_id": "rs_1", "output_index": 0, "summary_index": 0,
         "text": done_text},
        {"type": "response.reasoning_summary_part.done", "item_id": "rs_1", "output_index": 0, "summary_index": 0,
         "part": summary},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
    ]
    out = events[:2] + head + rest
    renumber(out)
    return out


def _drop(event_type: str, renumbered: bool = True) -> Callable[[list[Json]], None]:
    def change(events: list[Json]) -> None:
        del events[index_of(events, event_type)]
        if renumbered:
            renumber(events)
    return change


def _skip_numbers(events: list[Json]) -> None:
    for event in events[3:]:
        event["sequence_number"] += 5


def _raw_event_name() -> Exchange:
    raw = encode_sse(MESSAGE_EVENTS).replace(b"event: response.in_progress", b"event: message")
    return stream_exchange(raw=raw)


DEVIATIONS: dict[str, tuple[Callable[[], Exchange], str]] = {
    "ws.text_frames": (lambda: ws_exchange(MESSAGE_EVENTS, opcodes={2: 2}),
                       "events[2]: a binary message; Responses events are JSON text frames"),
    "http.json_content_type": (lambda: json_exchange(make_response(), content_type="text/plain"),
                               "Content-Type is 'text/plain', expected application/json"),
    "http.error_envelope": (lambda: json_exchange({"detail": "Not Found"}, status=404, method="GET",
                                                  path="/responses/resp_x"), "FastAPI-style 'detail'"),
    "http.error_schema": (lambda: json_exchange({"error": {"message": "bad", "type": "invalid_request_error"}},
                                                status=400), "'param' is missing (required)"),
    "http.no_error_in_200": (lambda: json_exchange({"error": {"message": "boom", "type": "server_error"}}),
                             "HTTP 200 carries an error envelope instead of a Response"),
    "response.schema": (lambda: json_exchange(make_response(created_at="yesterday")),
                        "$.created_at: \"yesterday\" is not of type number"),
    "response.object_type": (lambda: json_exchange(make_response(object="chat.completion")),
                             "a Chat Completions object"),
    "response.status_consistency": (lambda: json_exchange(make_response(status="incomplete")),
                                    "status is \"incomplete\" but incomplete_details is null"),
    "response.item_status": (lambda: json_exchange(make_response([message_item(status="done")])),
                             "message item has status \"done\""),
    "response.usage": (lambda: json_exchange(make_response(usage={"prompt_tokens": 3, "completion_tokens": 2,
                                                                  "total_tokens": 5})),
                       "usage uses Chat Completions names ['prompt_tokens', 'completion_tokens']"),
    "response.function_call_arguments": (
        lambda: json_exchange(make_response([{**function_call_item(), "arguments": {"city": "Paris"}}],
                                            request=function_request()), request=function_request()),
        "function_call.arguments is an object (must be a JSON *string*)"),
    "response.content_parts": (lambda: json_exchange(make_response([{**message_item(), "content": [
                                   {"type": "text", "text": "hi"}]}])), "Chat/Assistants-style part type"),
    "response.output_text_sdk_field": (lambda: json_exchange(make_response(output_text="Goodbye")),
                                       "output_text is \"Goodbye\" but the output_text parts concatenate to"),
    "endpoint.schema": (lambda: json_exchange({"object": "response.input_tokens", "input_tokens": "12"},
                                              path="/responses/input_tokens", request={"model": "gpt-4o"}),
                        "$.input_tokens: \"12\" is not of type integer"),
    "delete.result": (lambda: json_exchange({"id": "resp_2", "object": "response.deleted", "deleted": True},
                                            method="DELETE", path="/responses/resp_1"),
                      "expected the deleted id 'resp_1'"),
    "response.echo": (lambda: json_exchange(make_response(temperature=0.2)),
                      "request set temperature=0.7 but the Response has 0.2"),
    "stream.content_type": (lambda: stream_exchange(raw=json.dumps(make_response()).encode(),
                                                    content_type="application/json"),
                            "(the server ignored stream: true)"),
    "stream.event_json": (lambda: stream_exchange(MESSAGE_EVENTS[:2] + ["{not json"] + MESSAGE_EVENTS[2:]),
                          "events[2].data: data is not JSON: '{not json'"),
    "stream.done_sentinel": (lambda: stream_exchange(done=True), "data: [DONE] sentinel"),
    "stream.event_schema": (_events(_set("response.output_text.delta", ["delta"], 5)),
                            "response.output_text.delta (ResponseTextDeltaEvent): 5 is not of type string"),
    "stream.event_name_matches_type": (_raw_event_name, "SSE event name 'message' differs from data.type"),
    "stream.sequence_number": (_events(lambda ev: ev[4].pop("sequence_number")),
                               "event 4 (response.output_text.delta): sequence_number is missing"),
    "stream.sequence_contiguous": (_events(_skip_numbers), "sequence_number jumps from 2 to 8"),
    "stream.terminal_event": (_events(lambda ev: ev.pop()),
                              "no terminal event (response.completed/incomplete/failed); the last event was "
                              "\"response.output_item.done\""),
    "stream.final_response": (_events(_set("response.completed", ["response", "status"], "in_progress")),
                              "response.completed carries a response with status \"in_progress\", expected "
                              "'completed'"),
    "stream.response_id_stable": (_events(_set("response.completed", ["response", "id"], "resp_OTHER")),
                                  "response.id 'resp_OTHER' differs from 'resp_1' (event 0)"),
    "stream.lifecycle": (_events(_drop("response.output_item.added")),
                         "event 2 (response.content_part.added): output_index 0 before its "
                         "response.output_item.added"),
    "stream.text_accumulation": (_events(_set("response.output_text.done", ["text"], "Hello there, world?")),
                                 "response.output_text.done is \"Hello there, world?\" but concatenated deltas is "
                                 "\"Hello there, world!\""),
    "stream.reasoning_accumulation": (
        lambda: stream_exchange(_reasoning_stream("Think first.")),
        "response.reasoning_summary_text.done is \"Think first.\" but concatenated deltas is \"Think hard.\""),
    "stream.function_args_accumulation": (
        _events(_set("response.function_call_arguments.done", ["arguments"], '{"city": "Rome"}'),
                FUNCTION_EVENTS, request=function_request()),
        "response.function_call_arguments.done is \"{\\\"city\\\": \\\"Rome\\\"}\" but concatenated deltas"),
    "stream.final_output_items": (_events(_set("response.completed", ["response", "output", 0, "id"], "msg_9")),
                                  "output_index 0: streamed item id \"msg_1\" but the terminal response has "
                                  "\"msg_9\""),
}


# ---- built-in tool streams (conformance/judge/checks/tools.py), hand-built like the real API's

def _tool_stream(item: Json, during: list[Json], request: Json, opened: Json | None = None) -> list[Json]:
    """A stream for ``make_response([item])`` with ``during`` between the item's added and done events."""
    events = stream_events_for(make_response([item], request=request))
    at = index_of(events, "response.output_item.added")
    events[at]["item"] = opened if opened is not None else events[at]["item"]
    ref = {"output_index": 0, "item_id": item["id"]}
    events[at + 1:at + 1] = [{**ref, **e} for e in during]
    renumber(events)
    return events


WEB_REQUEST: Json = {"model": "gpt-4o", "input": "Search.", "tools": [{"type": "web_search_preview"}]}
WEB_EVENTS = _tool_stream({"id": "ws_1", "type": "web_search_call", "status": "completed",
                           "action": {"type": "search", "query": "python"}},
                          [{"type": "response.web_search_call.in_progress"},
                           {"type": "response.web_search_call.searching"},
                           {"type": "response.web_search_call.completed"}], WEB_REQUEST)
CUSTOM_REQUEST: Json = {"model": "gpt-4o", "input": "Run.", "tools": [{"type": "custom", "name": "run_sql"}]}
CUSTOM_EVENTS = _tool_stream({"id": "ctc_1", "type": "custom_tool_call", "call_id": "call_1", "name": "run_sql",
                              "input": "SELECT 1"},
                             [{"type": "response.custom_tool_call_input.delta", "delta": "SELE"},
                              {"type": "response.custom_tool_call_input.delta", "delta": "CT 1"},
                              {"type": "response.custom_tool_call_input.done", "input": "SELECT 1"}], CUSTOM_REQUEST,
                             opened={"id": "ctc_1", "type": "custom_tool_call", "call_id": "call_1",
                                     "name": "run_sql", "input": ""})
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4//8/AAX+Av4zEpUUAAAAAElFTkSuQmCC"
IMAGE_REQUEST: Json = {"model": "gpt-4o", "input": "Draw.", "tools": [{"type": "image_generation", "partial_images": 2}]}
IMAGE_EVENTS = _tool_stream({"id": "ig_1", "type": "image_generation_call", "status": "completed", "result": PNG_B64},
                            [{"type": "response.image_generation_call.in_progress"},
                             {"type": "response.image_generation_call.generating"},
                             {"type": "response.image_generation_call.partial_image", "partial_image_index": 0,
                              "partial_image_b64": PNG_B64},
                             {"type": "response.image_generation_call.partial_image", "partial_image_index": 1,
                              "partial_image_b64": PNG_B64},
                             {"type": "response.image_generation_call.completed"}], IMAGE_REQUEST)
CITED = {**message_item("See python.org."), "content": [{"type": "output_text", "text": "See python.org.",
                                                          "logprobs": [], "annotations": [
    {"type": "url_citation", "url": "https://python.org/", "title": "Python", "start_index": 4, "end_index": 99}]}]}

DEVIATIONS.update({
    "stream.tool_events": (_events(_set("response.web_search_call.searching", ["type"],
                                        "response.file_search_call.searching"), WEB_EVENTS, request=WEB_REQUEST),
                           "event 4 (response.file_search_call.searching) refers to output_index 0, a web_search_call "
                           "item (expected file_search_call)"),
    "stream.tool_input_accumulation": (
        _events(_set("response.custom_tool_call_input.done", ["input"], "SELECT 2"), CUSTOM_EVENTS,
                request=CUSTOM_REQUEST),
        "response.custom_tool_call_input.done is \"SELECT 2\" but concatenated deltas is \"SELECT 1\""),
    "stream.partial_images": (_events(_set("response.image_generation_call.partial_image", ["partial_image_index"], 1),
                                      IMAGE_EVENTS, request=IMAGE_REQUEST),
                              "partial_image_index is 1, expected 0"),
    "response.tool_items": (lambda: json_exchange(make_response([CITED]), request=WEB_REQUEST),
                            "url_citation spans [4, 99) but the text has 15 characters"),
})


def test_every_check_has_a_deviation() -> None:
    missing = sorted(set(REGISTRY) - set(DEVIATIONS))
    stale = sorted(set(DEVIATIONS) - set(REGISTRY))
    assert not missing, f"checks without a deviation test: {missing}"
    assert not stale, f"deviation rows for unknown checks: {stale}"


@pytest.mark.parametrize("name", sorted(DEVIATIONS))
def test_deviation_is_reported_precisely(name: str) -> None:
    build, fragment = DEVIATIONS[name]
    ex = build()
    found = findings(name, ex)
    text = " | ".join(f"{f.path}: {f.message}" for f in found)
    assert fragment in text, text
    result = next(r for r in run(ex) if r.name == name)
    expected = Outcome.FAIL if REGISTRY[name].severity == "error" else Outcome.PASS
    assert result.outcome is expected and result.findings, result


@pytest.mark.parametrize("name", sorted(DEVIATIONS))
def test_every_check_has_spec_ref_and_description(name: str) -> None:
    chk = REGISTRY[name]
    assert chk.spec_ref.startswith("openai-openapi.yaml#/"), chk.spec_ref
    assert chk.description and not chk.description.endswith(","), chk.description
    assert chk.severity in ("error", "warning")


def test_valid_reasoning_stream_has_no_findings() -> None:
    """The benign counterpart of the reasoning-accumulation deviation: a consistent reasoning stream passes."""
    ex = stream_exchange(_reasoning_stream("Think hard."))
    failed = [r for r in run(ex) if r.outcome is Outcome.FAIL]
    assert not failed, [(r.name, r.message) for r in failed]
