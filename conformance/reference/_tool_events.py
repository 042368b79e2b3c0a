"""Stream events of built-in tool items (the spec's ``response.<tool>_call.*`` families).

For each finished item, ``tool_events`` emits ``response.output_item.added`` (the item in its
in-progress state), the tool's own progress/delta events, then ``response.output_item.done``:

* ``web_search_call``: ``web_search_call.in_progress`` -> ``.searching`` -> ``.completed``
* ``file_search_call``: ``file_search_call.in_progress`` -> ``.searching`` -> ``.completed``
* ``code_interpreter_call``: ``.in_progress`` -> ``code_interpreter_call_code.delta``* -> ``..._code.done``
  -> ``.interpreting`` -> ``.completed``
* ``image_generation_call``: ``.in_progress`` -> ``.generating`` -> ``.partial_image`` x ``partial_images``
  -> ``.completed``
* ``mcp_list_tools``: ``mcp_list_tools.in_progress`` -> ``.completed`` (``.failed`` when the item has an ``error``)
* ``mcp_call``: ``mcp_call.in_progress`` -> ``mcp_call_arguments.delta``* -> ``.done`` -> ``mcp_call.completed``
  (``.failed`` when the call failed)
* ``custom_tool_call``: ``custom_tool_call_input.delta``* -> ``.done``
* ``shell_call``: per command ``shell_call_command.added`` -> ``.delta``* -> ``.done``
* ``shell_call_output``: per command ``shell_call_output_content.delta`` -> ``.done``
* anything else (computer_call, local_shell_call, apply_patch_call, mcp_approval_request...): added/done.

Stream deviations that bend these events are applied by ``tool_deviations`` (called from
``_streaming.deviate``); those that move or repeat events by ``tool_sequence``.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

from ._behaviours import Behaviour
from ._builtin_tools import png

Emit = Callable[..., None]

PARTIAL_COLOURS = ((0x40, 0x40, 0x40), (0x80, 0x80, 0x80), (0xC0, 0xC0, 0xC0))


def _pieces(text: str, size: int = 8) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def _partial_images(tools: Any) -> int:
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, dict) and tool.get("type") == "image_generation":
            n = tool.get("partial_images")
            return n if isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 3 else 0
    return 0


def tool_events(emit: Emit, index: int, item: dict[str, Any], tools: Any) -> None:
    """Emit the full event sequence of one non-message, non-function output item."""
    itype = item.get("type")
    item_id = item.get("id")
    ref = {"output_index": index, "item_id": item_id}
    added = copy.deepcopy(item)
    if "status" in added:
        added["status"] = "in_progress"
    if itype == "code_interpreter_call":
        added.update(code="", outputs=None)
    elif itype == "image_generation_call":
        added["result"] = None
    elif itype == "mcp_list_tools":
        added.update(tools=[], error=None)
    elif itype == "mcp_call":
        added.update(arguments="", output=None, error=None)
    elif itype == "custom_tool_call":
        added["input"] = ""
    elif itype == "shell_call":
        added["action"] = {**added["action"], "commands": []}
    elif itype == "shell_call_output":
        added["output"] = []
    emit("response.output_item.added", output_index=index, item=added)

    if itype in ("web_search_call", "file_search_call"):
        family = f"response.{itype}"
        for stage in ("in_progress", "searching", "completed"):
            emit(f"{family}.{stage}", **ref)
    elif itype == "code_interpreter_call":
        emit("response.code_interpreter_call.in_progress", **ref)
        code = item.get("code") or ""
        for piece in _pieces(code):
            emit("response.code_interpreter_call_code.delta", **ref, delta=piece)
        emit("response.code_interpreter_call_code.done", **ref, code=code)
        emit("response.code_interpreter_call.interpreting", **ref)
        emit("response.code_interpreter_call.completed", **ref)
    elif itype == "image_generation_call":
        emit("response.image_generation_call.in_progress", **ref)
        emit("response.image_generation_call.generating", **ref)
        for n in range(_partial_images(tools)):
            emit("response.image_generation_call.partial_image", **ref, partial_image_index=n,
                 partial_image_b64=base64.b64encode(png(*PARTIAL_COLOURS[n])).decode(), output_format="png")
        emit("response.image_generation_call.completed", **ref)
    elif itype == "mcp_list_tools":
        emit("response.mcp_list_tools.in_progress", **ref)
        emit("response.mcp_list_tools.failed" if item.get("error") else "response.mcp_list_tools.completed", **ref)
    elif itype == "mcp_call":
        emit("response.mcp_call.in_progress", **ref)
        arguments = item.get("arguments") or ""
        for piece in _pieces(arguments):
            emit("response.mcp_call_arguments.delta", **ref, delta=piece)
        emit("response.mcp_call_arguments.done", **ref, arguments=arguments)
        emit("response.mcp_call.completed" if item.get("status") != "failed" else "response.mcp_call.failed", **ref)
    elif itype == "custom_tool_call":
        text = item.get("input") or ""
        for piece in _pieces(text):
            emit("response.custom_tool_call_input.delta", **ref, delta=piece)
        emit("response.custom_tool_call_input.done", **ref, input=text)
    elif itype == "shell_call":
        for ci, command in enumerate((item.get("action") or {}).get("commands") or []):
            emit("response.shell_call_command.added", output_index=index, command_index=ci, command="")
            for piece in _pieces(command):
                emit("response.shell_call_command.delta", output_index=index, command_index=ci, delta=piece)
            emit("response.shell_call_command.done", output_index=index, command_index=ci, command=command)
    elif itype == "shell_call_output":
        for ci, content in enumerate(item.get("output") or []):
            emit("response.shell_call_output_content.delta", **ref, command_index=ci,
                 delta={"stdout": content.get("stdout", ""), "stderr": content.get("stderr", "")})
            emit("response.shell_call_output_content.done", **ref, command_index=ci, output=[copy.deepcopy(content)])
    emit("response.output_item.done", output_index=index, item=copy.deepcopy(item))


def annotation_events(emit: Emit, item_id: str, index: int, c_index: int, part: dict[str, Any]) -> None:
    """``response.output_text.annotation.added`` for each annotation of a finished text part."""
    for a_index, annotation in enumerate(part.get("annotations") or []):
        emit("response.output_text.annotation.added", item_id=item_id, output_index=index, content_index=c_index,
             annotation_index=a_index, annotation=copy.deepcopy(annotation))


def tool_deviations(event: dict[str, Any], behaviour: Behaviour) -> None:
    """Bend one (copied) tool event for the tool-related stream deviations."""
    etype = str(event.get("type"))
    if behaviour.dev("tool_event_type_mismatch") and etype.startswith("response.web_search_call."):
        event["type"] = etype.replace("web_search_call", "file_search_call")
    if behaviour.dev("custom_tool_input_mismatch") and etype == "response.custom_tool_call_input.done":
        event["input"] = str(event.get("input")) + " (edited)"
    if behaviour.dev("tool_failures_hidden") and etype in ("response.mcp_list_tools.failed", "response.mcp_call.failed"):
        event["type"] = etype.replace(".failed", ".completed")
    if behaviour.dev("partial_image_index_wrong") and etype == "response.image_generation_call.partial_image":
        event["partial_image_index"] = int(event.get("partial_image_index", 0)) + 1


SEARCH_FAMILIES = ("response.web_search_call.", "response.file_search_call.")


def tool_sequence(events: list[dict[str, Any]], behaviour: Behaviour) -> list[dict[str, Any]]:
    """Move or repeat tool events: ``tool_in_progress_late`` (deviation) sends a search call's ``.searching``
    before its ``.in_progress``; ``mcp_in_progress_repeated`` (variant) repeats ``mcp_call.in_progress``
    after the arguments deltas. Sequence numbers are renumbered when anything changed."""
    late, repeat = behaviour.dev("tool_in_progress_late"), behaviour.var("mcp_in_progress_repeated")
    if not (late or repeat):
        return events
    out: list[dict[str, Any]] = []
    for event in events:
        etype = str(event.get("type"))
        if late and etype.endswith(".searching") and etype.startswith(SEARCH_FAMILIES) and out \
                and out[-1].get("type") == etype.replace(".searching", ".in_progress"):
            out.insert(len(out) - 1, event)
            continue
        if repeat and etype == "response.mcp_call_arguments.done":
            out.append({"type": "response.mcp_call.in_progress", "sequence_number": 0,
                        "output_index": event.get("output_index"), "item_id": event.get("item_id")})
        out.append(event)
    if out != events and events and all(isinstance(e.get("sequence_number"), int) for e in events):
        base = events[0]["sequence_number"]  # a replay (starting_after) starts mid-stream
        for n, event in enumerate(out):
            event["sequence_number"] = base + n
    return out
