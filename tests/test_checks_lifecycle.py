"""The stream lifecycle state machine."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
from _exchanges import (
    Json,
    function_request,
    function_response,
    index_of,
    make_response,
    message_item,
    messages,
    mutate,
    renumber,
    stream_events_for,
    stream_exchange,
)

from conformance.judge.checks.lifecycle import StreamLifecycle

MESSAGE = stream_events_for(make_response())
FUNCTION = stream_events_for(function_response())
TWO = stream_events_for(make_response([message_item("one", "msg_1"), message_item("two", "msg_2")]))


def _move(event_type: str, after: str) -> Callable[[list[Json]], None]:
    def change(events: list[Json]) -> None:
        moved = events.pop(index_of(events, event_type))
        events.insert(index_of(events, after) + 1, moved)
        renumber(events)
    return change


def _lifecycle(events: list[Json], **kw: object) -> str:
    return messages("stream.lifecycle", stream_exchange(events, **kw))  # type: ignore[arg-type]


CASES: dict[str, tuple[list[Json], Callable[[list[Json]], None], str]] = {
    "starts without created": (MESSAGE, lambda ev: ev.pop(0),
                               "event 0 (response.in_progress): the stream must start with response.created"),
    "created with final status": (MESSAGE, lambda ev: ev[0]["response"].update(status="completed"),
                                  "response.created carries status \"completed\", expected queued or in_progress"),
    "created twice": (MESSAGE, lambda ev: ev.insert(1, copy.deepcopy(ev[0])), "response.created again"),
    "event after terminal": (MESSAGE, lambda ev: ev.append(copy.deepcopy(ev[1])),
                             "(response.in_progress): event after the terminal event response.completed"),
    "two terminal events": (MESSAGE, lambda ev: ev.append(copy.deepcopy(ev[-1])),
                            "a second terminal event after the terminal event response.completed"),
    "delta before content_part.added": (MESSAGE, _move("response.content_part.added", "response.output_text.delta"),
                                        "content_index 0 before its response.content_part.added"),
    "delta after text done": (MESSAGE, _move("response.output_text.delta", "response.output_text.done"),
                              "(response.output_text.delta): content_index 0 after its response.output_text.done"),
    "content_part.done before text done": (MESSAGE, _move("response.output_text.done", "response.content_part.done"),
                                           "content_part.done before response.output_text.done"),
    "item done with open part": (MESSAGE, _move("response.content_part.done", "response.output_item.done"),
                                 "output_item.done while content part 0 has no response.content_part.done"),
    "event after item done": (MESSAGE, _move("response.content_part.done", "response.output_item.done"),
                              "(response.content_part.done): output_index 0 after its response.output_item.done"),
    "item_id mismatch": (MESSAGE, lambda ev: ev[index_of(ev, "response.output_text.delta")].update(item_id="msg_X"),
                         "item_id 'msg_X' does not match the item 'msg_1' added at output_index 0"),
    "completed with unfinished item": (MESSAGE, lambda ev: ev.pop(index_of(ev, "response.output_item.done")),
                                       "response.completed while output item 0 (message) never got"),
    "message done still in_progress": (
        MESSAGE, lambda ev: ev[index_of(ev, "response.output_item.done")]["item"].update(status="in_progress"),
        "output_item.done carries a message whose status is still in_progress"),
    "first output_index not 0": (MESSAGE, lambda ev: [e.update(output_index=1) for e in ev if "output_index" in e],
                                 "the first output item has output_index 1, expected 0"),
    "output_index skips": (TWO, lambda ev: [e.update(output_index=3) for e in ev if e.get("output_index") == 1],
                           "output_index 3 skips ahead (previous item was 0)"),
    "item id reused": (TWO, lambda ev: ev[index_of(ev, "response.output_item.added", 1)]["item"].update(id="msg_1"),
                       "item id 'msg_1' reused (already output_index 0)"),
    "item type changes": (MESSAGE, lambda ev: ev[index_of(ev, "response.output_item.done")]["item"].update(
        type="reasoning"), "item type \"reasoning\" differs from 'message'"),
    "queued after in_progress": (MESSAGE, lambda ev: ev.insert(2, {"type": "response.queued",
                                                                   "response": ev[0]["response"]}),
                                 "response.queued after response.in_progress (status went backwards)"),
    "args delta after args done": (FUNCTION, _move("response.function_call_arguments.delta",
                                                   "response.function_call_arguments.done"),
                                   "after response.function_call_arguments.done for this item"),
    "item done before args done": (FUNCTION, _move("response.function_call_arguments.done",
                                                   "response.output_item.done"),
                                   "output_item.done before response.function_call_arguments.done"),
    "function call without argument events": (
        FUNCTION, lambda ev: [ev.pop(i) for i in reversed(range(len(ev)))
                              if ev[i]["type"].startswith("response.function_call_arguments.")],
        "output_item.done before response.function_call_arguments.done"),
    "args events for a message": (MESSAGE, lambda ev: ev.insert(3, {
        "type": "response.function_call_arguments.delta", "item_id": "msg_1", "output_index": 0, "delta": "{"}),
        "response.function_call_arguments.delta for a message item (expected a function_call)"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_lifecycle_deviation(case: str) -> None:
    base, change, expected = CASES[case]
    events = mutate(base, change)
    if "sequence_number" in events[0]:
        renumber(events)
    kw = {"request": function_request()} if base is FUNCTION else {}
    assert expected in _lifecycle(events, **kw)


@pytest.mark.parametrize("base", [MESSAGE, FUNCTION, TWO])
def test_valid_streams_pass(base: list[Json]) -> None:
    assert _lifecycle(base, **({"request": function_request()} if base is FUNCTION else {})) == ""


def test_incomplete_stream_may_leave_items_open() -> None:
    events = stream_events_for(make_response([message_item("1 2", status="incomplete")], status="incomplete",
                                             incomplete_details={"reason": "max_output_tokens"}))
    del events[index_of(events, "response.output_item.done")]
    renumber(events)
    assert _lifecycle(events) == ""


def test_in_progress_is_optional() -> None:
    events = mutate(MESSAGE, lambda ev: ev.pop(1))
    renumber(events)
    assert _lifecycle(events) == ""


def test_findings_name_event_index_and_type() -> None:
    machine = StreamLifecycle()
    for index, data in enumerate(mutate(MESSAGE, lambda ev: ev.pop(0))):
        machine.feed(index, data)
    (finding,) = machine.findings
    assert finding.path == "events[0]" and finding.message.startswith("event 0 (response.in_progress): ")


def test_resumed_replay_tolerates_unseen_items() -> None:
    tail = [e for e in MESSAGE if e["sequence_number"] > 4]
    assert _lifecycle(tail, method="GET", path="/responses/resp_1?stream=true&starting_after=4") == ""
