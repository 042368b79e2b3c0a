"""Deltas vs ``.done`` events vs finished items vs the terminal Response: one text, told five times.

A client may build its answer from any of these (the SDK's ``stream.get_final_response()`` uses the
terminal event, UIs concatenate deltas), so they must agree exactly. The chain is compared link by link
(deltas → ``.done`` → ``content_part.done`` → ``output_item.done`` → terminal response) and a break is
reported once, where it happens. Sources a stream did not send are skipped: absence is the lifecycle's
business. A resumed replay (``starting_after``) lacks the early deltas, so deltas are not compared there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..._verdict import Finding
from ...record.exchange import Exchange
from ._registry import CheckContext, check
from ._util import (
    SPEC,
    TERMINAL_EVENTS,
    is_int,
    is_resumed,
    ref_of,
    short,
    sse_200,
    stream_events,
    terminal_event,
)

Key = tuple[Any, ...]


@dataclass
class Told:
    """Every version of one value seen in the stream, in chain order, with where it was seen."""

    deltas: list[str] = field(default_factory=list)
    delta_at: int | None = None
    versions: dict[str, tuple[Any, str]] = field(default_factory=dict)

    def chain(self, resumed: bool) -> list[tuple[str, Any, str]]:
        links = []
        if self.deltas and not resumed:
            links.append(("concatenated deltas", "".join(self.deltas), f"events[{self.delta_at}]"))
        for name, (value, path) in self.versions.items():
            links.append((name, value, path))
        return links


def _final_items(ex: Exchange) -> tuple[str | None, list[Any], int]:
    found = terminal_event(ex)
    if found is None or not isinstance(found[1].get("response"), dict):
        return None, [], -1
    index, data = found
    output = data["response"].get("output")
    return data["type"], output if isinstance(output, list) else [], index


def _find_final(output: list[Any], item_id: Any, out: Any) -> tuple[int, dict[str, Any]] | None:
    """The terminal response's item: by id when it has one, else by output_index."""
    for i, item in enumerate(output):
        if isinstance(item, dict) and item_id is not None and item.get("id") == item_id:
            return i, item
    if is_int(out) and 0 <= out < len(output) and isinstance(output[out], dict) and (
            item_id is None or output[out].get("id") is None):
        return out, output[out]
    return None


def _compare(told: dict[Key, Told], label: str, resumed: bool) -> Iterator[Finding]:
    for key, record in told.items():
        links = record.chain(resumed)
        for (name_a, a, _), (name_b, b, path_b) in zip(links, links[1:]):
            if a != b:
                yield Finding(f"{label} {_key_text(key)}: {name_b} is {short(b)} but {name_a} is {short(a)}", path_b)


def _key_text(key: Key) -> str:
    return "item " + " content_index ".join(str(k) for k in key)


def _content(item: Any, ci: int, field_name: str) -> Any:
    content = item.get("content") if isinstance(item, dict) else None
    if isinstance(content, list) and 0 <= ci < len(content) and isinstance(content[ci], dict):
        return content[ci].get(field_name)
    return None


@check("stream.text_accumulation", proof=("delta_text_mismatch", "streaming.text"), basis="event-contract", spec_ref=f"{SPEC}#/components/schemas/ResponseTextDeltaEvent", applies=sse_200)
def text_accumulation(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Per (item, content_index): deltas == ``output_text.done`` == part == item == terminal response text.

    Refusals (``response.refusal.delta/.done``, part field ``refusal``) follow the same rule.
    """
    told: dict[Key, Told] = {}
    fields: dict[Key, str] = {}
    ids: dict[Any, Any] = {}  # output_index -> item id
    for index, data in stream_events(ex):
        kind = data.get("type")
        if kind in ("response.output_item.added", "response.output_item.done") and isinstance(data.get("item"), dict):
            ids[ref_of(data.get("output_index"))] = ref_of(data["item"].get("id"))
        if not isinstance(kind, str) or not is_int(data.get("content_index")):
            continue
        key = (ref_of(data.get("item_id", data.get("output_index"))), data["content_index"])
        field_name = "refusal" if kind.startswith("response.refusal.") else "text"
        if kind in ("response.output_text.delta", "response.refusal.delta") and isinstance(data.get("delta"), str):
            record = told.setdefault(key, Told())
            record.deltas.append(data["delta"])
            record.delta_at = index if record.delta_at is None else record.delta_at
            fields[key] = field_name
        elif kind in ("response.output_text.done", "response.refusal.done"):
            told.setdefault(key, Told()).versions[kind] = (data.get(field_name), f"events[{index}].{field_name}")
            fields[key] = field_name
        elif kind == "response.content_part.done" and isinstance(data.get("part"), dict):
            part = data["part"]
            name = "refusal" if part.get("type") == "refusal" else "text"
            if part.get("type") in ("output_text", "refusal"):
                told.setdefault(key, Told()).versions[kind] = (part.get(name), f"events[{index}].part.{name}")
                fields[key] = name
    for index, data in stream_events(ex):
        if data.get("type") != "response.output_item.done" or not isinstance(data.get("item"), dict):
            continue
        item = data["item"]
        for key, record in told.items():
            if key[0] is not None and key[0] in (item.get("id"), data.get("output_index")) and key in fields:
                value = _content(item, key[1], fields[key])
                if value is not None:
                    record.versions["response.output_item.done"] = (
                        value, f"events[{index}].item.content[{key[1]}].{fields[key]}")
    final_type, output, final_index = _final_items(ex)
    for key, record in told.items():
        if final_type is None or key not in fields:
            continue
        located = _find_final(output, key[0], _index_of(ids, key[0]))
        if located is None:
            if final_type == "response.completed" and not is_resumed(ex):
                yield Finding(f"text of {_key_text(key)} streamed but the item is missing from the terminal "
                              "response's output", f"events[{final_index}].response.output")
            continue
        value = _content(located[1], key[1], fields[key])
        record.versions["terminal response"] = (
            value, f"events[{final_index}].response.output[{located[0]}].content[{key[1]}].{fields[key]}")
    yield from _compare(told, "text of", is_resumed(ex))


def _index_of(ids: dict[Any, Any], item_key: Any) -> Any:
    """The output_index whose item has id ``item_key`` (or ``item_key`` itself when it is an index)."""
    for out, item_id in ids.items():
        if item_id == item_key:
            return out
    return item_key if is_int(item_key) else None


@check("stream.function_args_accumulation", proof=("function_args_mismatch", "streaming.function_call"), basis="event-contract",
       spec_ref=f"{SPEC}#/components/schemas/ResponseFunctionCallArgumentsDeltaEvent", applies=sse_200)
def function_args_accumulation(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Per function_call item: argument deltas == ``.done.arguments`` == item == terminal response arguments.

    The ``name`` in ``function_call_arguments.done`` (when sent) must also match the item's name.
    """
    told: dict[Key, Told] = {}
    names: dict[Key, tuple[str, int]] = {}
    items: dict[Any, dict[str, Any]] = {}
    outs: dict[Any, Any] = {}
    for index, data in stream_events(ex):
        kind = data.get("type")
        if kind == "response.output_item.added" and isinstance(data.get("item"), dict):
            outs[ref_of(data["item"].get("id"))] = ref_of(data.get("output_index"))
        if kind not in ("response.function_call_arguments.delta", "response.function_call_arguments.done"):
            continue
        key = (ref_of(data.get("item_id", data.get("output_index"))),)
        if kind.endswith(".delta") and isinstance(data.get("delta"), str):
            record = told.setdefault(key, Told())
            record.deltas.append(data["delta"])
            record.delta_at = index if record.delta_at is None else record.delta_at
        elif kind.endswith(".done"):
            told.setdefault(key, Told()).versions[kind] = (data.get("arguments"), f"events[{index}].arguments")
            if isinstance(data.get("name"), str):
                names[key] = (data["name"], index)
    for index, data in stream_events(ex):
        item = data.get("item")
        if data.get("type") != "response.output_item.done" or not isinstance(item, dict):
            continue
        for key, record in told.items():
            if key[0] is not None and key[0] in (item.get("id"), data.get("output_index")) and "arguments" in item:
                record.versions["response.output_item.done"] = (item["arguments"], f"events[{index}].item.arguments")
                items[key] = item
                if key in names and isinstance(item.get("name"), str) and item["name"] != names[key][0]:
                    yield Finding(f"function_call_arguments.done names {names[key][0]!r} but the item is "
                                  f"{item['name']!r}", f"events[{names[key][1]}].name")
    final_type, output, final_index = _final_items(ex)
    for key, record in told.items():
        if final_type is None:
            continue
        out = outs.get(key[0], key[0] if is_int(key[0]) else None)
        located = _find_final(output, key[0], out)
        if located is None:
            if final_type == "response.completed" and not is_resumed(ex):
                yield Finding(f"arguments of {_key_text(key)} streamed but the item is missing from the terminal "
                              "response's output", f"events[{final_index}].response.output")
            continue
        record.versions["terminal response"] = (
            located[1].get("arguments"), f"events[{final_index}].response.output[{located[0]}].arguments")
    yield from _compare(told, "arguments of", is_resumed(ex))


@check("stream.final_output_items", proof=("final_output_items_mismatch", "streaming.function_call"), basis="event-contract", spec_ref=f"{SPEC}#/components/schemas/ResponseOutputItemDoneEvent",
       applies=lambda ex, ctx: sse_200(ex, ctx) and terminal_event(ex) is not None)
def final_output_items(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """The terminal response's ``output`` holds the streamed items: same id and type at each output_index.

    For ``response.completed`` it holds nothing else either (a completed answer must not contain items
    the stream never announced).
    """
    final_type, output, final_index = _final_items(ex)
    if final_type is None or final_type not in TERMINAL_EVENTS:
        return
    announced: set[int] = set()
    announced_ids: set[str] = set()  # an item announced without its output_index still was announced
    added = 0
    for _index, data in stream_events(ex):
        out = data.get("output_index")
        if data.get("type") == "response.output_item.added":
            added += 1
            if is_int(out):
                announced.add(out)
            if isinstance(data.get("item"), dict) and isinstance(data["item"].get("id"), str):
                announced_ids.add(data["item"]["id"])
        if data.get("type") != "response.output_item.done" or not isinstance(data.get("item"), dict) or not is_int(out):
            continue
        item = data["item"]
        if out >= len(output) or not isinstance(output[out], dict):
            if final_type == "response.completed":
                yield Finding(f"output_item.done at output_index {out} but the terminal response has only "
                              f"{len(output)} output item(s)", f"events[{final_index}].response.output")
            continue
        final = output[out]
        for key in ("id", "type"):
            if item.get(key) is not None and final.get(key) is not None and item[key] != final[key]:
                yield Finding(f"output_index {out}: streamed item {key} {short(item[key])} but the terminal "
                              f"response has {short(final[key])}", f"events[{final_index}].response.output[{out}].{key}")
    unannounced = [i for i, item in enumerate(output) if i not in announced
                   and not (isinstance(item, dict) and item.get("id") in announced_ids)]
    if final_type == "response.completed" and not is_resumed(ex) and unannounced:
        yield Finding(f"the terminal response has {len(output)} output item(s) but the stream announced "
                      f"{added} (never announced: {', '.join(f'output[{i}]' for i in unannounced)})",
                      f"events[{final_index}].response.output")


#: (delta event, done event, item field, index field, done-part event or None) per reasoning family.
_REASONING_FAMILIES = (
    ("response.reasoning_summary_text.delta", "response.reasoning_summary_text.done", "summary", "summary_index",
     "response.reasoning_summary_part.done"),
    ("response.reasoning_text.delta", "response.reasoning_text.done", "content", "content_index", None),
    # Open Responses names raw reasoning events response.reasoning.* (same fields)
    ("response.reasoning.delta", "response.reasoning.done", "content", "content_index", None),
)


def _part_text(item: Any, field_name: str, i: int) -> Any:
    parts = item.get(field_name) if isinstance(item, dict) else None
    if isinstance(parts, list) and 0 <= i < len(parts) and isinstance(parts[i], dict):
        return parts[i].get("text")
    return None


@check("stream.reasoning_accumulation", proof=("reasoning_summary_mismatch", "streaming.reasoning_summary"), basis="event-contract",
       spec_ref=f"{SPEC}#/components/schemas/ResponseReasoningSummaryTextDeltaEvent", applies=sse_200)
def reasoning_accumulation(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Per reasoning item and part: summary / reasoning-text deltas == ``.done`` == part == item == terminal.

    A client showing "thinking" live builds it from the deltas; the stored item is what it keeps:
    they must be the same text.
    """
    told: dict[Key, Told] = {}
    where: dict[Key, tuple[str, str]] = {}  # key -> (item field, index field)
    ids: dict[Any, Any] = {}
    for index, data in stream_events(ex):
        kind = data.get("type")
        if kind in ("response.output_item.added", "response.output_item.done") and isinstance(data.get("item"), dict):
            ids[ref_of(data.get("output_index"))] = ref_of(data["item"].get("id"))
        for delta_type, done_type, field_name, index_field, part_done in _REASONING_FAMILIES:
            if kind not in (delta_type, done_type, part_done) or not is_int(data.get(index_field)):
                continue
            key = (ref_of(data.get("item_id", data.get("output_index"))), field_name, data[index_field])
            where[key] = (field_name, index_field)
            record = told.setdefault(key, Told())
            if kind == delta_type and isinstance(data.get("delta"), str):
                record.deltas.append(data["delta"])
                record.delta_at = index if record.delta_at is None else record.delta_at
            elif kind == done_type:
                record.versions[kind] = (data.get("text"), f"events[{index}].text")
            elif kind == part_done and isinstance(data.get("part"), dict):
                record.versions[str(kind)] = (data["part"].get("text"), f"events[{index}].part.text")
    for index, data in stream_events(ex):
        if data.get("type") != "response.output_item.done" or not isinstance(data.get("item"), dict):
            continue
        item = data["item"]
        for key, record in told.items():
            if key[0] is not None and key[0] in (item.get("id"), data.get("output_index")):
                value = _part_text(item, key[1], key[2])
                if value is not None:
                    record.versions["response.output_item.done"] = (value, f"events[{index}].item.{key[1]}[{key[2]}].text")
    final_type, output, final_index = _final_items(ex)
    if final_type is not None:
        for key, record in told.items():
            located = _find_final(output, key[0], _index_of(ids, key[0]))
            if located is None:
                continue
            value = _part_text(located[1], key[1], key[2])
            if value is not None:
                record.versions["terminal response"] = (
                    value, f"events[{final_index}].response.output[{located[0]}].{key[1]}[{key[2]}].text")
    yield from _compare(told, "reasoning text of", is_resumed(ex))
