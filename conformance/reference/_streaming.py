"""Wire encoding: JSON dressing (variants), stream deviations and SSE framing.

The canonical event list from ``_responses.build_events`` is conformant; everything that
bends it for a deviation or a variant happens here, on copies, at write time.  Replays
(``GET ?stream=true``) pass through the same code, so they bend the same way.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from ._behaviours import Behaviour
from ._tool_events import tool_deviations, tool_sequence

TERMINAL_TYPES = frozenset({"response.completed", "response.incomplete", "response.failed"})
DELTA = "response.output_text.delta"
EXTRA = "x_reference_extra"


# --- JSON dressing (variants extra_fields / key_order) ---------------------------------------

def _reverse_keys(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _reverse_keys(obj[k]) for k in reversed(list(obj))}
    if isinstance(obj, list):
        return [_reverse_keys(v) for v in obj]
    return obj


def _extra_item(item: Any) -> None:
    if not isinstance(item, dict):
        return
    item[EXTRA] = "item"
    for part in item.get("content") or [] if isinstance(item.get("content"), list) else []:
        if isinstance(part, dict):
            part[EXTRA] = "part"


def _extra_response(resp: Any) -> None:
    if not isinstance(resp, dict):
        return
    resp[EXTRA] = {"note": "benign unknown field", "n": 1}
    for item in resp.get("output") or []:
        _extra_item(item)
    if isinstance(resp.get("usage"), dict):
        resp["usage"]["x_reference_cost_units"] = 0


def _add_extras(obj: Any) -> None:
    if not isinstance(obj, dict):
        return
    if obj.get("object") == "response":
        _extra_response(obj)
    elif obj.get("object") == "list":
        for item in obj.get("data") or []:
            _extra_item(item)
    elif isinstance(obj.get("type"), str) and obj["type"].startswith("response."):
        obj[EXTRA] = "event"
        _extra_response(obj.get("response"))
        _extra_item(obj.get("item"))
        if isinstance(obj.get("part"), dict):
            obj["part"][EXTRA] = "part"


def dress(obj: Any, behaviour: Behaviour) -> Any:
    """Apply the JSON-shape variants to a (copied) payload."""
    if behaviour.var("extra_fields"):
        obj = copy.deepcopy(obj)
        _add_extras(obj)
    if behaviour.var("key_order"):
        obj = _reverse_keys(obj)
    return obj


def dumps(obj: Any, behaviour: Behaviour) -> str:
    return json.dumps(dress(obj, behaviour), ensure_ascii=False)


# --- stream deviations ---------------------------------------------------------------------

def _first_text(resp: dict[str, Any]) -> dict[str, Any] | None:
    for item in resp.get("output") or []:
        for part in item.get("content") or [] if isinstance(item, dict) else []:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                return part
    return None


def _json_with_logprobs(resp: dict[str, Any]) -> bool:
    """A ``json_object`` answer whose text carries logprobs: the rare combination one deviation breaks."""
    fmt = (resp.get("text") or {}).get("format") if isinstance(resp.get("text"), dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_object":
        return False
    return any(isinstance(part, dict) and part.get("type") == "output_text" and part.get("logprobs")
               for item in resp.get("output") or [] if isinstance(item, dict) for part in item.get("content") or [])


def deviate(events: list[dict[str, Any]], behaviour: Behaviour) -> list[dict[str, Any]]:
    """Apply the stream deviations to a copy of the canonical event list."""
    dev = behaviour.dev
    evs = copy.deepcopy(events)
    drop: set[str] = set()
    if dev("delta_before_item_added"):
        drop.add("response.output_item.added")
    if dev("no_content_part_events"):
        drop |= {"response.content_part.added", "response.content_part.done"}
    if dev("no_done_events"):
        drop |= {"response.output_text.done", "response.output_item.done"}
    if dev("no_function_call_argument_events"):
        drop |= {"response.function_call_arguments.delta", "response.function_call_arguments.done"}
    if dev("no_terminal_event"):
        drop |= TERMINAL_TYPES
    if dev("no_in_progress_event"):
        drop.add("response.in_progress")
    if dev("no_reasoning_events"):
        drop |= {"response.reasoning_summary_part.added", "response.reasoning_summary_part.done",
                 "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
                 "response.reasoning_text.delta", "response.reasoning_text.done"}
    if drop:
        evs = [e for e in evs if e.get("type") not in drop]
        for n, e in enumerate(evs):
            e["sequence_number"] = n
    evs = tool_sequence(evs, behaviour)
    for e in evs:
        tool_deviations(e, behaviour)
        etype = e.get("type")
        if etype == "response.output_text.done" and dev("delta_text_mismatch"):
            e["text"] = e.get("text", "") + " (edited)"
        if etype == "response.reasoning_summary_text.done" and dev("reasoning_summary_mismatch"):
            e["text"] = e.get("text", "") + " (edited)"
        if etype in TERMINAL_TYPES and isinstance(e.get("response"), dict):
            if dev("final_response_text_mismatch"):
                part = _first_text(e["response"])
                if part is not None:
                    part["text"] += " (final)"
            if dev("terminal_status_mismatch"):
                e["response"]["status"] = "in_progress"
            if dev("response_id_unstable"):
                e["response"]["id"] = e["response"].get("id", "") + "x"
            if dev("final_output_items_mismatch"):
                for item in e["response"].get("output") or []:
                    item["id"] = str(item.get("id")) + "_other"
            if dev("json_logprobs_stream_missing_created_at") and _json_with_logprobs(e["response"]):
                e["response"].pop("created_at", None)
        if etype == "response.function_call_arguments.done" and dev("function_args_mismatch"):
            e["arguments"] = '{"mismatch": true}'
        if etype == "response.function_call_arguments.done" and dev("function_args_done_without_name"):
            e.pop("name", None)
        if etype == DELTA:
            if dev("output_index_mismatch"):
                e["output_index"] = e.get("output_index", 0) + 1
            if dev("missing_item_id_on_delta"):
                e.pop("item_id", None)
    if dev("sequence_gap"):
        for e in evs[3:]:
            e["sequence_number"] += 1
    if dev("sequence_not_increasing") and len(evs) > 3:
        evs[3]["sequence_number"] = evs[2]["sequence_number"] - 1
    if dev("events_after_terminal") and evs:
        terminal = [e for e in evs if e.get("type") in TERMINAL_TYPES]
        resp = copy.deepcopy(terminal[-1]["response"]) if terminal else {}
        evs.append({"type": "response.in_progress", "sequence_number": evs[-1]["sequence_number"] + 1,
                    "response": resp})
    if dev("missing_sequence_number"):
        for e in evs:
            e.pop("sequence_number", None)
    return evs


# --- SSE framing ---------------------------------------------------------------------------

def _non_json_target(evs: list[dict[str, Any]]) -> int:
    for kind in (DELTA, "response.function_call_arguments.delta", "response.in_progress"):
        for n, e in enumerate(evs):
            if e.get("type") == kind:
                return n
    return 0


def sse_blocks(events: list[dict[str, Any]], behaviour: Behaviour) -> list[bytes]:
    """Encode events as SSE blocks (one ``bytes`` per event, comments/ids per variants)."""
    evs = deviate(events, behaviour)
    eol = "\r\n" if behaviour.var("crlf") else "\r" if behaviour.var("cr") else "\n"
    bad = _non_json_target(evs) if behaviour.dev("non_json_event_data") else -1
    blocks: list[bytes] = []
    for n, event in enumerate(evs):
        etype = str(event.get("type"))
        data = repr(event) if n == bad else dumps(event, behaviour)
        lines: list[str] = []
        if behaviour.var("sse_comments"):
            lines += [": keep-alive", ""]
        if behaviour.var("id_retry_lines"):
            lines += [f"id: {n}", "retry: 3000"]
        if not behaviour.var("no_event_lines"):
            name = etype
            if behaviour.dev("event_name_mismatch") and etype == DELTA:
                name = "response.text.delta"
            lines.append(f"event: {name}")
        lines += [f"data: {data}", ""]
        blocks.append((eol.join(lines) + eol).encode())
    if blocks and behaviour.dev("done_sentinel"):
        blocks.append(f"data: [DONE]{eol}{eol}".encode())
    if blocks and behaviour.var("sse_comments"):
        blocks[-1] += f": stream end{eol}{eol}".encode()
    return blocks


def writes(events: list[dict[str, Any]], behaviour: Behaviour) -> Iterator[list[bytes]]:
    """Per event, the list of separate socket writes to perform (variants bom/split/tiny)."""
    for n, block in enumerate(sse_blocks(events, behaviour)):
        if n == 0 and behaviour.var("bom"):
            block = b"\xef\xbb\xbf" + block
        parts = [block]
        if behaviour.var("split_events") and len(block) > 1:
            cut = block.find(b"data: ")
            cut = (cut + (len(block) - cut) // 2) if cut >= 0 else len(block) // 2
            parts = [block[:cut], block[cut:]]
        if behaviour.var("tiny_chunks"):
            parts = [bytes([b]) for part in parts for b in part]
        yield parts
