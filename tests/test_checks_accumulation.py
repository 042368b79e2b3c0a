"""Deltas vs ``.done`` vs items vs the terminal response."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from _exchanges import (
    Json,
    findings,
    function_call_item,
    function_request,
    function_response,
    index_of,
    make_response,
    message_item,
    messages,
    mutate,
    stream_events_for,
    stream_exchange,
)

MESSAGE = stream_events_for(make_response())
FUNCTION = stream_events_for(function_response())
REFUSAL = stream_events_for(make_response([{**message_item(), "content": [{"type": "refusal",
                                                                          "refusal": "I can't do that."}]}]))


def _on(event_type: str, change: Callable[[Json], None], nth: int = 0) -> Callable[[list[Json]], None]:
    return lambda ev: change(ev[index_of(ev, event_type, nth)])


TEXT_CASES: dict[str, tuple[list[Json], Callable[[list[Json]], None], str]] = {
    "a delta lost": (MESSAGE, lambda ev: ev.pop(index_of(ev, "response.output_text.delta", 1)),
                     "response.output_text.done is \"Hello there, world!\" but concatenated deltas is \"Hellere, world!\""),
    "part.done differs": (MESSAGE, _on("response.content_part.done", lambda e: e["part"].update(text="Hello")),
                          "response.content_part.done is \"Hello\" but response.output_text.done is"),
    "item.done differs": (MESSAGE, _on("response.output_item.done",
                                       lambda e: e["item"]["content"][0].update(text="Hi")),
                          "response.output_item.done is \"Hi\" but response.content_part.done is"),
    "terminal differs": (MESSAGE, _on("response.completed",
                                      lambda e: e["response"]["output"][0]["content"][0].update(text="")),
                         "terminal response is \"\" but response.output_item.done is \"Hello there, world!\""),
    "item missing from terminal": (MESSAGE, _on("response.completed", lambda e: e["response"].update(output=[])),
                                   "streamed but the item is missing from the terminal response's output"),
    "refusal differs": (REFUSAL, _on("response.refusal.done", lambda e: e.update(refusal="No.")),
                        "response.refusal.done is \"No.\" but concatenated deltas is \"I can't do that.\""),
}


@pytest.mark.parametrize("case", sorted(TEXT_CASES))
def test_text_accumulation_deviation(case: str) -> None:
    base, change, expected = TEXT_CASES[case]
    text = messages("stream.text_accumulation", stream_exchange(mutate(base, change)))
    assert expected in text, text


def test_text_break_is_reported_once_where_it_happens() -> None:
    events = mutate(MESSAGE, _on("response.output_text.done", lambda e: e.update(text="X")))
    found = findings("stream.text_accumulation", stream_exchange(events))
    assert len(found) == 2  # done differs from deltas, and part.done differs from done
    assert found[0].path == f"events[{index_of(events, 'response.output_text.done')}].text"


ARG_CASES: dict[str, tuple[Callable[[list[Json]], None], str]] = {
    "deltas differ": (_on("response.function_call_arguments.delta", lambda e: e.update(delta="[")),
                      "response.function_call_arguments.done is"),
    "item differs": (_on("response.output_item.done", lambda e: e["item"].update(arguments="{}")),
                     "response.output_item.done is \"{}\" but response.function_call_arguments.done is"),
    "terminal differs": (_on("response.completed", lambda e: e["response"]["output"][0].update(arguments="{}")),
                         "terminal response is \"{}\""),
    "done names another function": (_on("response.function_call_arguments.done", lambda e: e.update(name="x")),
                                    "function_call_arguments.done names 'x' but the item is 'get_weather'"),
}


@pytest.mark.parametrize("case", sorted(ARG_CASES))
def test_function_args_accumulation_deviation(case: str) -> None:
    change, expected = ARG_CASES[case]
    ex = stream_exchange(mutate(FUNCTION, change), request=function_request())
    text = messages("stream.function_args_accumulation", ex)
    assert expected in text, text


def test_final_output_items_extra_item_in_completed() -> None:
    events = mutate(MESSAGE, _on("response.completed", lambda e: e["response"]["output"].append(
        function_call_item())))
    text = messages("stream.final_output_items", stream_exchange(events))
    assert "the terminal response has 2 output item(s) but the stream announced 1" in text


def test_final_output_items_matches_an_item_announced_without_output_index() -> None:
    # llama.cpp's output_item.added carries no output_index: the item was still announced (the missing
    # field is stream.event_schema's finding, not an unannounced item)
    def drop_index(events: list[Json]) -> None:
        for event in events:
            if event.get("type") in ("response.output_item.added", "response.output_item.done"):
                event.pop("output_index", None)
    events = mutate(MESSAGE, drop_index)
    assert messages("stream.final_output_items", stream_exchange(events)) == ""
    events = mutate(events, _on("response.completed", lambda e: e["response"]["output"].append(function_call_item())))
    assert "the terminal response has 2 output item(s) but the stream announced 1 (never announced: output[1])" in \
        messages("stream.final_output_items", stream_exchange(events))


def test_final_output_items_missing_in_completed() -> None:
    events = mutate(MESSAGE, _on("response.completed", lambda e: e["response"].update(output=[])))
    text = messages("stream.final_output_items", stream_exchange(events))
    assert "output_item.done at output_index 0 but the terminal response has only 0 output item(s)" in text


def test_failed_stream_may_drop_partial_items() -> None:
    events = mutate(MESSAGE, _on("response.completed", lambda e: (
        e.update(type="response.failed"),
        e["response"].update(status="failed", output=[], error={"code": "server_error", "message": "x"}))))
    ex = stream_exchange(events)
    assert findings("stream.final_output_items", ex) == []
    assert findings("stream.text_accumulation", ex) == []


def test_resumed_stream_does_not_compare_partial_deltas() -> None:
    tail = [e for e in MESSAGE if e["sequence_number"] > 5]
    ex = stream_exchange(tail, method="GET", path="/responses/resp_1?stream=true&starting_after=5")
    assert findings("stream.text_accumulation", ex) == []
