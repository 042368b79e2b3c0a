"""Built-in tool items and their stream events (web/file search, code interpreter, image generation, MCP,
custom tools, shell).

The generic lifecycle (``lifecycle.py``) already requires every event with an ``output_index`` to sit
between its item's ``output_item.added`` and ``output_item.done`` with a matching ``item_id``; these checks
add what is specific to tool items:

* ``stream.tool_events`` - a tool event family belongs to its item type (``response.web_search_call.*``
  talks about a ``web_search_call``), a family's ``.in_progress`` comes first and its ``.completed`` /
  ``.failed`` last, and the finished item's ``status`` agrees with the terminal family event;
* ``stream.tool_input_accumulation`` - streamed tool input (custom tool input, MCP arguments, code
  interpreter code, shell commands) deltas == ``.done`` == ``output_item.done`` item == terminal response;
* ``stream.partial_images`` - ``partial_image_index`` counts 0, 1, 2... per item, each partial image is
  base64, and no more are sent than the tool's ``partial_images`` asked for;
* ``response.tool_items`` - rules of the finished items that the schema cannot state.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any

from ... import _json
from ..._verdict import Finding
from ...record.exchange import Exchange
from ._registry import CheckContext, check
from ._util import SPEC, is_int, is_resumed, nonempty_str, ref_of, short, sse_200, stream_events, terminal_event
from .response import carried_response, carries_response, output_items

#: event type prefix -> the item types the family may refer to
FAMILIES: dict[str, frozenset[str]] = {
    "response.web_search_call.": frozenset({"web_search_call"}),
    "response.file_search_call.": frozenset({"file_search_call"}),
    "response.code_interpreter_call.": frozenset({"code_interpreter_call"}),
    "response.code_interpreter_call_code.": frozenset({"code_interpreter_call"}),
    "response.image_generation_call.": frozenset({"image_generation_call"}),
    "response.mcp_call.": frozenset({"mcp_call"}),
    "response.mcp_call_arguments.": frozenset({"mcp_call"}),
    "response.mcp_list_tools.": frozenset({"mcp_list_tools"}),
    "response.custom_tool_call_input.": frozenset({"custom_tool_call"}),
    "response.shell_call_command.": frozenset({"shell_call"}),
    "response.shell_call_output_content.": frozenset({"shell_call", "shell_call_output"}),
}
#: status families: their first event is ``.in_progress`` and ``.completed``/``.failed`` ends them
STATUS_FAMILIES = ("response.web_search_call.", "response.file_search_call.", "response.code_interpreter_call.",
                   "response.image_generation_call.", "response.mcp_call.", "response.mcp_list_tools.")
#: companion families that must also be finished before the status family's terminal event
COMPANIONS = {"response.code_interpreter_call.": "response.code_interpreter_call_code.",
              "response.mcp_call.": "response.mcp_call_arguments."}
TOOL_EVENT_REF = f"{SPEC}#/components/schemas/ResponseStreamEvent"


def _family(kind: str) -> str | None:
    # longest prefix first: code_interpreter_call_code. before code_interpreter_call.
    for prefix in sorted(FAMILIES, key=len, reverse=True):
        if kind.startswith(prefix):
            return prefix
    return None


def _items_by_index(ex: Exchange) -> dict[int, tuple[int, dict[str, Any]]]:
    """output_index -> (event index, item) of each ``response.output_item.added``."""
    added: dict[int, tuple[int, dict[str, Any]]] = {}
    for index, data in stream_events(ex):
        if data.get("type") == "response.output_item.added" and is_int(data.get("output_index")) \
                and isinstance(data.get("item"), dict):
            added.setdefault(data["output_index"], (index, data["item"]))
    return added


@check("stream.tool_events", proof=("tool_event_type_mismatch", "streaming.web_search"), basis="event-contract", spec_ref=TOOL_EVENT_REF, applies=sse_200)
def tool_events(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Tool events name the right kind of item and progress in order.

    ``response.<tool>.*`` events carry the ``output_index``/``item_id`` of an item of that tool's type
    (a ``web_search_call.searching`` about a message is a wiring bug). For the status families (web/file
    search, code interpreter, image generation, MCP call, MCP list tools) the first ``.in_progress`` ("the
    call is initiated") comes before the family's other stages and ``.completed``/``.failed`` is the last
    event of the family for its item (also after the item's code, argument and partial-image events); the
    item in ``output_item.done`` then has status ``completed`` / ``failed`` accordingly.

    A repeated ``.in_progress`` is no finding: the spec states no count, and api.openai.com was reported
    (issue 10) sending ``mcp_call.in_progress`` again after the arguments delta.
    """
    added = _items_by_index(ex)
    seen: dict[tuple[int, str], list[tuple[int, str]]] = {}
    ended: dict[int, tuple[int, str]] = {}
    for index, data in stream_events(ex):
        kind = data.get("type")
        out = data.get("output_index")
        if not isinstance(kind, str) or not is_int(out):
            continue
        if kind == "response.output_item.done" and isinstance(data.get("item"), dict) and out in ended:
            stage_at, stage = ended[out]
            status = data["item"].get("status")
            want = "failed" if stage == "failed" else "completed"
            if "status" in data["item"] and status != want:
                yield Finding(f"event {index}: output_item.done carries status {short(status)} but event {stage_at} "
                              f"said the call {stage}", f"events[{index}].item.status")
            continue
        family = _family(kind)
        if family is None or out not in added:
            continue  # not a tool event, or an orphan (lifecycle reports those)
        item_type = added[out][1].get("type")
        if isinstance(item_type, str) and item_type not in FAMILIES[family]:
            yield Finding(f"event {index} ({kind}) refers to output_index {out}, a {item_type} item (expected "
                          f"{' or '.join(sorted(FAMILIES[family]))})", f"events[{index}].type")
            continue
        group = _status_group(kind)
        if group is None:
            continue
        history = seen.setdefault((out, group), [])
        own = kind.startswith(group)
        stage = kind[len(group):] if own else kind
        if history and history[-1][1] in ("completed", "failed") and not is_resumed(ex):
            yield Finding(f"event {index} ({kind}) after {group}{history[-1][1]} (event {history[-1][0]}) for "
                          f"output_index {out}", f"events[{index}]")
        elif own and stage == "in_progress" and not is_resumed(ex) and not any(s == "in_progress" for _, s in history):
            earlier = [(i, s) for i, s in history if not s.startswith("response.")]
            if earlier:
                yield Finding(f"event {index} ({kind}) after {group}{earlier[0][1]} (event {earlier[0][0]}) for "
                              f"output_index {out}: in_progress (the call is initiated) comes first", f"events[{index}]")
        if own and stage in ("completed", "failed"):
            ended[out] = (index, stage)
        history.append((index, stage))


def _status_group(kind: str) -> str | None:
    """The status family an event belongs to (itself, or the family its code/arguments events belong to)."""
    for family in STATUS_FAMILIES:
        if kind.startswith(family):
            return family
    for family, companion in COMPANIONS.items():
        if kind.startswith(companion):
            return family
    return None


# ------------------------------------------------------------------------------ accumulation

#: delta event -> (done event, field in the done event, field in the item)
STREAMED_INPUTS = {
    "response.custom_tool_call_input.delta": ("response.custom_tool_call_input.done", "input", "input"),
    "response.mcp_call_arguments.delta": ("response.mcp_call_arguments.done", "arguments", "arguments"),
    "response.code_interpreter_call_code.delta": ("response.code_interpreter_call_code.done", "code", "code"),
}
DONE_EVENTS = {done: (field, item_field) for done, field, item_field in STREAMED_INPUTS.values()}


def _chain(links: list[tuple[str, Any, str]]) -> Iterator[tuple[str, Any, str, str, Any]]:
    for (name_a, a, _), (name_b, b, path_b) in zip(links, links[1:]):
        if a != b:
            yield name_a, a, path_b, name_b, b


@check("stream.tool_input_accumulation", proof=("custom_tool_input_mismatch", "streaming.custom_tool"), basis="event-contract",
       spec_ref=f"{SPEC}#/components/schemas/ResponseCustomToolCallInputDeltaEvent", applies=sse_200)
def tool_input_accumulation(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Streamed tool input is told the same way everywhere.

    Per item: the concatenated ``custom_tool_call_input`` / ``mcp_call_arguments`` /
    ``code_interpreter_call_code`` deltas == the ``.done`` event's ``input`` / ``arguments`` / ``code`` ==
    that field of the ``output_item.done`` item == the item in the terminal response. Shell commands
    likewise: ``shell_call_command`` deltas == ``.done.command`` == ``action.commands[command_index]``.
    """
    resumed = is_resumed(ex)
    deltas: dict[tuple[Any, ...], list[str]] = {}
    links: dict[tuple[Any, ...], list[tuple[str, Any, str]]] = {}
    fields: dict[tuple[Any, ...], str] = {}
    ids: dict[Any, Any] = {}
    for index, data in stream_events(ex):
        kind = data.get("type")
        out = ref_of(data.get("output_index"))
        if not isinstance(kind, str):
            continue
        if kind in ("response.output_item.added", "response.output_item.done") and isinstance(data.get("item"), dict):
            ids[out] = ref_of(data["item"].get("id"))
        if kind in STREAMED_INPUTS and isinstance(data.get("delta"), str):
            key: tuple[Any, ...] = (out,)
            if not deltas.get(key):
                links.setdefault(key, [])
            deltas.setdefault(key, []).append(data["delta"])
            fields[key] = STREAMED_INPUTS[kind][2]
        elif kind in DONE_EVENTS:
            field, item_field = DONE_EVENTS[kind]
            key = (out,)
            fields[key] = item_field
            chain = links.setdefault(key, [])
            if key in deltas and not resumed:
                chain.append(("concatenated deltas", "".join(deltas[key]), f"events[{index}]"))
            chain.append((kind, data.get(field), f"events[{index}].{field}"))
        elif kind == "response.shell_call_command.delta" and isinstance(data.get("delta"), str):
            key = (out, ref_of(data.get("command_index")))
            deltas.setdefault(key, []).append(data["delta"])
        elif kind == "response.shell_call_command.done":
            key = (out, ref_of(data.get("command_index")))
            chain = links.setdefault(key, [])
            if key in deltas and not resumed:
                chain.append(("concatenated deltas", "".join(deltas[key]), f"events[{index}]"))
            chain.append((kind, data.get("command"), f"events[{index}].command"))
        elif kind == "response.output_item.done" and isinstance(data.get("item"), dict):
            item = data["item"]
            for key, chain in links.items():
                if key[0] != out:
                    continue
                value, where = _item_value(item, key, fields.get(key))
                if where is not None:
                    chain.append(("response.output_item.done", value, f"events[{index}].item{where}"))
    found = terminal_event(ex)
    output = found[1].get("response", {}).get("output") if found and isinstance(found[1].get("response"), dict) else None
    if isinstance(output, list):
        for key, chain in links.items():
            item_id = ids.get(key[0])
            final = next(((i, it) for i, it in enumerate(output) if isinstance(it, dict) and item_id is not None
                          and it.get("id") == item_id), None)
            if final is None:
                continue
            value, where = _item_value(final[1], key, fields.get(key))
            if where is not None:
                chain.append(("terminal response", value, f"events[{found[0] if found else -1}].response.output[{final[0]}]{where}"))
    for key, chain in links.items():
        for name_a, a, path_b, name_b, b in _chain(chain):
            what = f"output_index {key[0]}" + (f" command_index {key[1]}" if len(key) > 1 else "")
            yield Finding(f"{what}: {name_b} is {short(b)} but {name_a} is {short(a)}", path_b)


def _item_value(item: dict[str, Any], key: tuple[Any, ...], field: str | None) -> tuple[Any, str | None]:
    if len(key) > 1:  # a shell command
        action = item.get("action")
        commands = action.get("commands") if isinstance(action, dict) else None
        ci = key[1]
        if item.get("type") == "shell_call" and isinstance(commands, list) and is_int(ci) and 0 <= ci < len(commands):
            return commands[ci], f".action.commands[{ci}]"
        return None, None
    if field is None or field not in item:
        return None, None
    return item[field], f".{field}"


# ------------------------------------------------------------------------------ partial images

def _requested_partials(request: Any) -> int | None:
    tools = request.get("tools") if isinstance(request, dict) else None
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, dict) and tool.get("type") == "image_generation":
            n = tool.get("partial_images", 0)
            return n if is_int(n) else None
    return None


def _is_base64(text: Any) -> bool:
    if not nonempty_str(text):
        return False
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


@check("stream.partial_images", proof=("partial_image_index_wrong", "streaming.image_generation"), basis="event-contract",
       spec_ref=f"{SPEC}#/components/schemas/ResponseImageGenCallPartialImageEvent", applies=sse_200)
def partial_images(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """``image_generation_call.partial_image`` events: per item ``partial_image_index`` is 0, 1, 2, ...
    ("0-based index for the partial image"), ``partial_image_b64`` is base64 image data, and no more partial
    images arrive than the request's ``partial_images`` (0-3, default 0) asked for.
    """
    requested = _requested_partials(ctx.request_body)
    counts: dict[Any, int] = {}
    for index, data in stream_events(ex):
        if data.get("type") != "response.image_generation_call.partial_image":
            continue
        key = ref_of(data.get("item_id", data.get("output_index")))
        expected = counts.get(key, 0)
        counts[key] = expected + 1
        got = data.get("partial_image_index")
        if is_int(got) and got != expected and not is_resumed(ex):
            yield Finding(f"event {index}: partial_image_index is {got}, expected {expected} (0-based, one per "
                          "partial image)", f"events[{index}].partial_image_index")
        if not _is_base64(data.get("partial_image_b64")):
            yield Finding(f"event {index}: partial_image_b64 is not base64 image data: "
                          f"{short(data.get('partial_image_b64'), 40)}", f"events[{index}].partial_image_b64")
        if requested is not None and counts[key] == requested + 1:
            yield Finding(f"event {index}: more partial images than the request's partial_images={requested}",
                          f"events[{index}]")


# ------------------------------------------------------------------------------ finished items

CLIENT_CALLS = ("computer_call", "local_shell_call", "shell_call", "apply_patch_call", "custom_tool_call")


def _declared(request: Any, ttype: str, key: str) -> set[str] | None:
    tools = request.get("tools") if isinstance(request, dict) else None
    if not isinstance(tools, list) or any(isinstance(t, dict) and t.get("type") in ("namespace", "tool_search")
                                          for t in tools):
        return None
    found = {t[key] for t in tools if isinstance(t, dict) and t.get("type") == ttype and isinstance(t.get(key), str)}
    return found or None


def _text_and_annotations(item: dict[str, Any]) -> Iterator[tuple[int, str, int, dict[str, Any]]]:
    for ci, part in enumerate(item.get("content") or [] if isinstance(item.get("content"), list) else []):
        if not isinstance(part, dict) or not isinstance(part.get("text"), str):
            continue
        for ai, ann in enumerate(part.get("annotations") or [] if isinstance(part.get("annotations"), list) else []):
            if isinstance(ann, dict):
                yield ci, part["text"], ai, ann


@check("response.tool_items", proof=("annotation_out_of_range", "tools.web_search"), basis="documented", spec_ref=f"{SPEC}#/components/schemas/OutputItem", applies=carries_response)
def tool_items(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Built-in tool items and citations make sense beyond their schemas.

    * ``url_citation``: ``0 <= start_index <= end_index <= len(text)``; ``file_citation``/``file_path``/
      ``container_file_citation``: their ``index`` (or start/end) lie within the text: they point into it;
    * client-side calls (computer, local shell, shell, apply_patch, custom) carry a non-empty ``call_id``,
      unique within the response (the client answers by it);
    * ``custom_tool_call.name`` is one of the request's custom tools; ``mcp_*`` items name one of the
      request's MCP ``server_label``s;
    * ``mcp_call`` / ``mcp_approval_request`` ``arguments`` is a JSON object *string*;
    * a ``completed`` ``image_generation_call`` has base64 image data in ``result``.
    """
    body, at = carried_response(ex, ctx)
    request = ctx.request_body
    customs = _declared(request, "custom", "name")
    labels = _declared(request, "mcp", "server_label")
    call_ids: dict[str, int] = {}
    for index, item in output_items(body):
        where = f"{at}.output[{index}]"
        kind = item.get("type")
        if kind == "message":
            for ci, text, ai, ann in _text_and_annotations(item):
                yield from _annotation(ann, text, f"{where}.content[{ci}].annotations[{ai}]")
        if kind in CLIENT_CALLS:
            call_id = item.get("call_id")
            if not nonempty_str(call_id):
                yield Finding(f"{kind}.call_id is {short(call_id)}, expected a non-empty string", f"{where}.call_id")
            elif call_id in call_ids:
                yield Finding(f"{kind}.call_id {call_id!r} repeats output[{call_ids[call_id]}]'s", f"{where}.call_id")
            else:
                call_ids[call_id] = index
        if kind == "custom_tool_call" and customs is not None and not _member(item.get("name"), customs):
            yield Finding(f"custom_tool_call.name {short(item.get('name'))} is not one of the request's custom tools "
                          f"{sorted(customs)}", f"{where}.name")
        if isinstance(kind, str) and kind.startswith("mcp_") and kind != "mcp_approval_response" \
                and labels is not None and not _member(item.get("server_label"), labels):
            yield Finding(f"{kind}.server_label {short(item.get('server_label'))} is not one of the request's MCP "
                          f"servers {sorted(labels)}", f"{where}.server_label")
        if kind in ("mcp_call", "mcp_approval_request") and isinstance(item.get("arguments"), str):
            try:
                parsed = _json.loads(item["arguments"])
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                yield Finding(f"{kind}.arguments is not a JSON object: {short(item['arguments'])}",
                              f"{where}.arguments")
        if kind == "image_generation_call" and item.get("status") == "completed" and not _is_base64(item.get("result")):
            yield Finding(f"completed image_generation_call has result {short(item.get('result'), 40)}, expected "
                          "base64 image data", f"{where}.result")


def _member(value: Any, names: set[str]) -> bool:
    return isinstance(value, str) and value in names


def _annotation(ann: dict[str, Any], text: str, where: str) -> Iterator[Finding]:
    size = len(text)
    kind = ann.get("type")
    if kind in ("url_citation", "container_file_citation"):
        start, end = ann.get("start_index"), ann.get("end_index")
        if is_int(start) and is_int(end) and not 0 <= start <= end <= size:
            yield Finding(f"{kind} spans [{start}, {end}) but the text has {size} characters", where)
    elif kind in ("file_citation", "file_path"):
        at = ann.get("index")
        if is_int(at) and not 0 <= at <= size:
            yield Finding(f"{kind} index {at} lies outside the text ({size} characters)", f"{where}.index")
