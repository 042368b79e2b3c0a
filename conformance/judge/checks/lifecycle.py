"""The stream lifecycle as one state machine: the order in which a Responses stream may say things.

Response level::

    START --response.created--> OPEN --(queued)* (in_progress)* items... --terminal--> ENDED

Item level, per ``output_index``::

    output_item.added -> [content_part.added -> (text/refusal deltas)* -> text/refusal .done
                          -> content_part.done]* | (function_call_arguments.delta)* -> .done
                      -> output_item.done

A function_call item always announces its final arguments with ``function_call_arguments.done`` (even
when there were no deltas): it is the event the spec defines for "arguments are finalized".

What the spec leaves open is left open: ``response.in_progress`` and ``response.queued`` are optional
(the spec lists them but never says they must be sent); in-band ``error`` events may appear anywhere and a
stream may end on one; events of kinds we do not model only have to belong to an open item. A resumed
replay (``starting_after=N``) starts mid-stream by design, so items it never saw opened are tolerated.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..._verdict import Finding
from ...record.exchange import Exchange
from ._registry import CheckContext, check
from ._util import STREAM_EVENT_REF, TERMINAL_EVENTS, is_int, is_resumed, short, sse_200, stream_events

TEXT_DELTA = {"response.output_text.delta": "output_text", "response.refusal.delta": "refusal"}
TEXT_DONE = {"response.output_text.done": "output_text", "response.refusal.done": "refusal"}
ARGS_EVENTS = ("response.function_call_arguments.delta", "response.function_call_arguments.done")


@dataclass
class Part:
    """One content part of a message item, as announced by ``response.content_part.added``."""

    type: str | None
    text_done: bool = False
    done: bool = False


@dataclass
class Item:
    """One output item, as announced by ``response.output_item.added``."""

    output_index: int
    item_id: str | None
    type: str | None
    added_at: int
    parts: dict[int, Part] = field(default_factory=dict)
    args_delta: bool = False
    args_done: bool = False
    done: bool = False


class StreamLifecycle:
    """Feed events in order with :meth:`feed`; read the violations from :attr:`findings`.

    Every finding names the offending event's index and type, and the path ``events[i]``.
    """

    def __init__(self, resumed: bool = False) -> None:
        self.resumed = resumed
        self.phase = "START"
        self.terminal: tuple[int, str] | None = None
        self.saw_in_progress = False
        self.items: dict[int, Item] = {}
        self.item_ids: dict[str, int] = {}
        self.findings: list[Finding] = []
        self._index = 0
        self._type = ""

    # -------------------------------------------------------------- reporting

    def fail(self, message: str) -> None:
        self.findings.append(Finding(f"event {self._index} ({self._type}): {message}", f"events[{self._index}]"))

    # -------------------------------------------------------------- response level

    def feed(self, index: int, data: dict[str, Any]) -> None:
        self._index, self._type = index, str(data.get("type"))
        kind = data.get("type")
        if not isinstance(kind, str):
            return  # stream.event_schema reports it; order cannot be judged without a type
        if self.phase == "ENDED":
            assert self.terminal is not None
            what = "a second terminal event" if kind in TERMINAL_EVENTS else "event"
            self.fail(f"{what} after the terminal event {self.terminal[1]} (event {self.terminal[0]})")
            return
        if kind == "error":
            return  # in-band errors may come at any point before the end, even first (nothing opened yet)
        if self.phase == "START":
            self.phase = "OPEN"
            if kind == "response.created":
                self._created(data)
                return
            if not self.resumed:
                self.fail("the stream must start with response.created")
        if kind == "response.created":
            self.fail("response.created again (it must be sent once, first)")
        elif kind == "response.queued":
            if self.saw_in_progress:
                self.fail("response.queued after response.in_progress (status went backwards)")
            if self.items:
                self.fail("response.queued after output items started")
        elif kind == "response.in_progress":
            self.saw_in_progress = True
        elif kind in TERMINAL_EVENTS:
            self._terminal(index, kind)
        elif is_int(data.get("output_index")):
            self._item_event(data)

    def _created(self, data: dict[str, Any]) -> None:
        response = data.get("response")
        status = response.get("status") if isinstance(response, dict) else None
        if status is not None and status not in ("queued", "in_progress"):
            self.fail(f"response.created carries status {short(status)}, expected queued or in_progress")

    def _terminal(self, index: int, kind: str) -> None:
        self.phase = "ENDED"
        self.terminal = (index, kind)
        if kind != "response.completed":
            return  # incomplete/failed responses may legitimately leave items unfinished
        for item in self.items.values():
            if not item.done:
                self.fail(f"response.completed while output item {item.output_index} ({item.type}) never got "
                          "response.output_item.done")

    # -------------------------------------------------------------- item level

    def _item_event(self, data: dict[str, Any]) -> None:
        kind = data["type"]
        out = data["output_index"]
        if kind == "response.output_item.added":
            self._item_added(out, data.get("item"))
            return
        item = self.items.get(out)
        if item is None:
            if not self.resumed:
                self.fail(f"output_index {out} before its response.output_item.added")
            return
        event_id = data.get("item_id")
        if kind == "response.output_item.done":
            done = data.get("item")
            event_id = done.get("id") if isinstance(done, dict) else None
        if isinstance(event_id, str) and item.item_id is not None and event_id != item.item_id:
            self.fail(f"item_id {event_id!r} does not match the item {item.item_id!r} added at output_index {out}")
        if item.done:
            self.fail(f"output_index {out} after its response.output_item.done")
            return
        if kind == "response.output_item.done":
            self._item_done(item, data.get("item"))
        elif kind in ARGS_EVENTS:
            self._arguments(item, kind)
        elif is_int(data.get("content_index")):
            self._part_event(item, kind, data["content_index"], data)

    def _item_added(self, out: int, raw: Any) -> None:
        if out in self.items:
            self.fail(f"output_index {out} was already added (event {self.items[out].added_at})")
            return
        if not self.resumed and self.items and out != max(self.items) + 1:
            self.fail(f"output_index {out} skips ahead (previous item was {max(self.items)})")
        elif not self.resumed and not self.items and out != 0:
            self.fail(f"the first output item has output_index {out}, expected 0")
        raw = raw if isinstance(raw, dict) else {}
        item_id = raw.get("id") if isinstance(raw.get("id"), str) else None
        if item_id is not None and item_id in self.item_ids:
            self.fail(f"item id {item_id!r} reused (already output_index {self.item_ids[item_id]})")
        elif item_id is not None:
            self.item_ids[item_id] = out
        kind = raw.get("type") if isinstance(raw.get("type"), str) else None
        self.items[out] = Item(out, item_id, kind, self._index)

    def _item_done(self, item: Item, raw: Any) -> None:
        item.done = True
        raw = raw if isinstance(raw, dict) else {}
        if item.type is not None and raw.get("type") not in (None, item.type):
            self.fail(f"item type {short(raw.get('type'))} differs from {item.type!r} announced at event "
                      f"{item.added_at}")
        for ci, part in sorted(item.parts.items()):
            if not part.done:
                self.fail(f"output_item.done while content part {ci} has no response.content_part.done")
        if (item.args_delta or item.type == "function_call") and not item.args_done and not self.resumed:
            self.fail("output_item.done before response.function_call_arguments.done")
        if raw.get("type") == "message" and raw.get("status") == "in_progress":
            self.fail("output_item.done carries a message whose status is still in_progress")

    def _arguments(self, item: Item, kind: str) -> None:
        if item.type not in (None, "function_call"):
            self.fail(f"{kind} for a {item.type} item (expected a function_call)")
        if item.args_done:
            self.fail("after response.function_call_arguments.done for this item")
        if kind.endswith(".delta"):
            item.args_delta = True
        else:
            item.args_done = True

    def _part_event(self, item: Item, kind: str, ci: int, data: dict[str, Any]) -> None:
        if kind == "response.content_part.added":
            if ci in item.parts:
                self.fail(f"content_index {ci} was already added")
            part = data.get("part")
            ptype = part.get("type") if isinstance(part, dict) else None
            item.parts[ci] = Part(ptype if isinstance(ptype, str) else None)
            return
        if not kind.startswith(("response.output_text.", "response.refusal.", "response.content_part.")):
            return  # e.g. reasoning_text events: only the item-level rules apply
        part = item.parts.get(ci)
        if part is None:
            if not self.resumed:
                self.fail(f"content_index {ci} before its response.content_part.added")
            return
        if part.done:
            self.fail(f"content_index {ci} after its response.content_part.done")
            return
        if kind == "response.content_part.done":
            part.done = True
            done_part = data.get("part")
            ptype = part.type or (done_part.get("type") if isinstance(done_part, dict) else None)
            if ptype in ("output_text", "refusal") and not part.text_done and not self.resumed:
                self.fail(f"content_part.done before response.{ptype}.done for content_index {ci}")
        elif kind in TEXT_DELTA or kind in TEXT_DONE:
            if part.text_done:
                self.fail(f"content_index {ci} after its {kind.rsplit('.', 1)[0]}.done")
            if kind in TEXT_DONE:
                part.text_done = True


def lifecycle_findings(ex: Exchange) -> list[Finding]:
    machine = StreamLifecycle(resumed=is_resumed(ex))
    for index, data in stream_events(ex):
        machine.feed(index, data)
    return machine.findings


@check("stream.lifecycle", proof=("delta_before_item_added", "streaming.text"), basis="event-contract", spec_ref=STREAM_EVENT_REF, applies=sse_200)
def lifecycle(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Events come in the order the spec's lifecycle implies (see the module docstring)."""
    yield from lifecycle_findings(ex)
