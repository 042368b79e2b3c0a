"""Building Response objects, output items and the canonical event sequence.

Item-level deviations are applied where items are made (so JSON bodies, stream events and
GET all agree), response-level ones in :func:`render_response`, and wire-level ones in
``_streaming``.  Field lists follow ``Response`` = ``ModelResponseProperties`` +
``ResponseProperties`` + the Response part, and ``OutputMessage`` / ``OutputTextContent``
/ ``FunctionToolCall`` / ``ResponseUsage``.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ._behaviours import Behaviour
from ._model import ModelInput, Reply, Turn, count_tokens, generate, input_token_count
from ._requests import Prepared
from ._store import Record, new_id

TERMINAL = {"completed": "response.completed", "incomplete": "response.incomplete",
            "failed": "response.failed"}


# --- conversation -> model ---------------------------------------------------------------

def _part_texts(content: Any) -> str:
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for part in content if isinstance(content, list) else []:
        if isinstance(part, dict):
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part.get("refusal"), str):
                texts.append(part["refusal"])
    return "\n".join(texts)


def decode_compaction(encrypted: Any) -> list[dict[str, Any]]:
    """The reference's "encrypted" compaction content is base64 JSON of the items it replaces."""
    try:
        items = json.loads(base64.b64decode(str(encrypted)).decode())
    except (ValueError, UnicodeDecodeError):
        return []
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def encode_compaction(items: list[dict[str, Any]]) -> str:
    return base64.b64encode(json.dumps(items).encode()).decode()


def turns_of(items: list[dict[str, Any]], behaviour: Behaviour) -> list[Turn]:
    """What the model sees of a list of items (system roles dropped under ``ignore_system_role``)."""
    turns: list[Turn] = []
    for item in items:
        itype = item.get("type")
        if itype == "message":
            role = str(item.get("role"))
            if role in ("system", "developer") and behaviour.dev("ignore_system_role"):
                continue
            turns.append(Turn("message", role, _part_texts(item.get("content"))))
        elif itype == "function_call":
            args = item.get("arguments")
            turns.append(Turn("function_call", "assistant",
                              args if isinstance(args, str) else json.dumps(args), str(item.get("name"))))
        elif itype == "function_call_output":
            turns.append(Turn("function_call_output", "tool", _part_texts(item.get("output"))))
        elif itype == "compaction":
            turns.extend(turns_of(decode_compaction(item.get("encrypted_content")), behaviour))
    return turns


def model_input(instructions: str | None, context_before: list[dict[str, Any]], input_items: list[dict[str, Any]],
                params: dict[str, Any], behaviour: Behaviour) -> ModelInput:
    current = turns_of(input_items, behaviour)
    return ModelInput(
        instructions=None if behaviour.dev("ignore_instructions") else instructions,
        conversation=turns_of(context_before, behaviour) + current,
        current_input=current,
        tools=params.get("tools") or [],
        tool_choice=params.get("tool_choice", "auto"),
        text_format=(params.get("text") or {}).get("format") or {"type": "text"},
    )


# --- outcome ---------------------------------------------------------------------------

@dataclass
class Outcome:
    """The finished state a response will publish (computed up front: the model is instant)."""

    status: str
    output: list[dict[str, Any]]
    usage: dict[str, Any]
    incomplete_details: dict[str, Any] | None


def _usage(input_tokens: int, output_tokens: int, behaviour: Behaviour) -> dict[str, Any]:
    if behaviour.dev("chat_usage_names"):
        return {"prompt_tokens": input_tokens, "completion_tokens": output_tokens,
                "total_tokens": input_tokens + output_tokens}
    total = input_tokens + output_tokens + (7 if behaviour.dev("usage_total_mismatch") else 0)
    return {"input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": total}


def text_part(text: str, behaviour: Behaviour) -> dict[str, Any]:
    """An ``OutputTextContent`` part (or its deviation)."""
    part: dict[str, Any] = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    if behaviour.dev("text_type_instead_of_output_text"):
        part["type"] = "text"
    if behaviour.dev("output_text_missing_annotations"):
        del part["annotations"], part["logprobs"]
    return part


def _item_status(status: str, behaviour: Behaviour) -> str:
    return "done" if behaviour.dev("wrong_item_status") and status == "completed" else status


def run_model(prep: Prepared, behaviour: Behaviour) -> Outcome:
    """Run the deterministic model for a prepared request and package its output."""
    inp = model_input(prep.params["instructions"], prep.context_before, prep.input_items, prep.params, behaviour)
    reply = generate(inp, probes=not behaviour.dev("probes_ignored"),
                     honour_tool_choice=not behaviour.dev("ignore_tool_choice"),
                     honour_format=not behaviour.dev("json_format_ignored"))
    return outcome_for(reply, input_token_count(inp), prep.params.get("max_output_tokens"), behaviour)


def outcome_for(reply: Reply, input_tokens: int, max_output_tokens: int | None, behaviour: Behaviour) -> Outcome:
    if reply.kind == "function_call":
        item: dict[str, Any] = {"id": new_id("fc"), "type": "function_call", "status": _item_status("completed", behaviour),
                                "call_id": new_id("call"), "name": reply.name, "arguments": reply.arguments}
        if behaviour.dev("function_arguments_object"):
            item["arguments"] = json.loads(reply.arguments)
        if behaviour.dev("function_call_missing_call_id"):
            del item["call_id"]
        return Outcome("completed", [item], _usage(input_tokens, count_tokens(reply.arguments), behaviour), None)
    text = reply.text
    words = text.split()
    truncated = max_output_tokens is not None and len(words) > max_output_tokens
    if truncated:
        text = " ".join(words[:max_output_tokens])
    status, details, item_status = "completed", None, "completed"
    if truncated and not behaviour.dev("complete_on_max_tokens"):
        status, item_status = "incomplete", "incomplete"
        if not behaviour.dev("incomplete_without_details"):
            details = {"reason": "max_output_tokens"}
    message = {"id": new_id("msg"), "type": "message", "status": _item_status(item_status, behaviour),
               "role": "assistant", "content": [text_part(text, behaviour)]}
    return Outcome(status, [message], _usage(input_tokens, count_tokens(text), behaviour), details)


# --- Response rendering ------------------------------------------------------------------

def render_response(record: Record, behaviour: Behaviour, *, status: str | None = None,
                    snapshot: bool = False) -> dict[str, Any]:
    """The ``Response`` object for ``record`` (``snapshot``: the early, output-less state)."""
    p = record.params
    status = status or record.status
    created: Any = record.created_at
    if behaviour.dev("created_at_string"):
        created = datetime.fromtimestamp(record.created_at, timezone.utc).isoformat()
    body: dict[str, Any] = {
        "id": record.id,
        "object": "chat.completion" if behaviour.dev("object_not_response") else "response",
        "created_at": created,
        "status": status,
        "background": p["background"],
        "completed_at": None if snapshot else record.completed_at,
        "error": None if snapshot else record.error,
        "incomplete_details": None if snapshot else record.incomplete_details,
        "instructions": p["instructions"],
        "max_output_tokens": p["max_output_tokens"],
        "max_tool_calls": p["max_tool_calls"],
        "model": p["model"],
        "output": [] if snapshot else copy.deepcopy(record.output),
        "parallel_tool_calls": p["parallel_tool_calls"],
        "previous_response_id": p["previous_response_id"],
        "prompt_cache_key": p["prompt_cache_key"],
        "reasoning": copy.deepcopy(p["reasoning"]),
        "safety_identifier": p["safety_identifier"],
        "service_tier": p["service_tier"],
        "store": p["store"],
        "temperature": 1.0 if behaviour.dev("no_temperature_echo") else p["temperature"],
        "text": copy.deepcopy(p["text"]),
        "tool_choice": copy.deepcopy(p["tool_choice"]),
        "tools": None if behaviour.dev("tools_null") else copy.deepcopy(p["tools"]),
        "top_logprobs": p["top_logprobs"],
        "top_p": p["top_p"],
        "truncation": p["truncation"],
    }
    if behaviour.dev("output_text_mismatch") and not snapshot:
        body["output_text"] = "".join(
            part.get("text", "") for item in record.output if item.get("type") == "message"
            for part in item.get("content") or []) + " (sdk)"
    if "user" in p:
        body["user"] = p["user"]
    if record.usage is not None and not snapshot:
        body["usage"] = copy.deepcopy(record.usage)
    body["metadata"] = {} if behaviour.dev("no_metadata_echo") else dict(p["metadata"])
    if behaviour.dev("missing_required_field_status"):
        del body["status"]
    return body


# --- canonical event sequence -------------------------------------------------------------

def _text_pieces(text: str) -> list[str]:
    """Split text into per-word deltas (each word with its trailing whitespace)."""
    pieces = re.findall(r"\s*\S+\s*", text)
    return pieces if pieces and "".join(pieces) == text else [text]


def _arg_pieces(arguments: str, size: int = 8) -> list[str]:
    return [arguments[i:i + size] for i in range(0, len(arguments), size)] or [""]


def build_events(record: Record, behaviour: Behaviour) -> list[dict[str, Any]]:
    """The full, conformant event sequence of a finished record (wire deviations come later)."""
    events: list[dict[str, Any]] = []

    def emit(etype: str, **fields: Any) -> None:
        events.append({"type": etype, "sequence_number": len(events), **fields})

    first = "queued" if record.background else "in_progress"
    emit("response.created", response=render_response(record, behaviour, status=first, snapshot=True))
    if record.background:
        emit("response.queued", response=render_response(record, behaviour, status="queued", snapshot=True))
    emit("response.in_progress", response=render_response(record, behaviour, status="in_progress", snapshot=True))
    for index, item in enumerate(record.output):
        if item["type"] == "message":
            _message_events(emit, index, item, behaviour)
        elif item["type"] == "function_call":
            _function_events(emit, index, item)
        else:
            emit("response.output_item.added", output_index=index, item=copy.deepcopy(item))
            emit("response.output_item.done", output_index=index, item=copy.deepcopy(item))
    terminal = TERMINAL.get(record.status)
    if terminal is not None:
        emit(terminal, response=render_response(record, behaviour))
    return events


def _message_events(emit: Any, index: int, item: dict[str, Any], behaviour: Behaviour) -> None:
    item_id = item["id"]
    emit("response.output_item.added", output_index=index,
         item={**{k: v for k, v in item.items() if k != "content"}, "status": "in_progress", "content": []})
    for c_index, part in enumerate(item["content"]):
        text = part.get("text", "")
        emit("response.content_part.added", item_id=item_id, output_index=index, content_index=c_index,
             part=text_part("", behaviour))
        for piece in _text_pieces(text):
            emit("response.output_text.delta", item_id=item_id, output_index=index, content_index=c_index,
                 delta=piece, logprobs=[])
        emit("response.output_text.done", item_id=item_id, output_index=index, content_index=c_index,
             text=text, logprobs=[])
        emit("response.content_part.done", item_id=item_id, output_index=index, content_index=c_index,
             part=copy.deepcopy(part))
    emit("response.output_item.done", output_index=index, item=copy.deepcopy(item))


def _function_events(emit: Any, index: int, item: dict[str, Any]) -> None:
    item_id = item["id"]
    args = item["arguments"]
    emit("response.output_item.added", output_index=index,
         item={**item, "status": "in_progress", "arguments": "" if isinstance(args, str) else {}})
    text_args = args if isinstance(args, str) else json.dumps(args)
    for piece in _arg_pieces(text_args):
        emit("response.function_call_arguments.delta", item_id=item_id, output_index=index, delta=piece)
    emit("response.function_call_arguments.done", item_id=item_id, name=item["name"], output_index=index,
         arguments=copy.deepcopy(args))
    emit("response.output_item.done", output_index=index, item=copy.deepcopy(item))


def now() -> int:
    return int(time.time())
