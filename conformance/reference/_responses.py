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
from ._builtin_tools import respond as builtin_respond
from ._deferred_tools import callable_functions
from ._deferred_tools import output_tokens as deferred_output_tokens
from ._deferred_tools import respond as deferred_respond
from ._model import ModelInput, Reply, Turn, count_tokens, generate, input_token_count
from ._requests import Prepared
from ._store import Record, new_id
from ._tool_events import annotation_events, tool_events

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
            elif part.get("type") == "input_file" and isinstance(part.get("file_data"), str):
                texts.append(file_text(part["file_data"], part.get("filename")))
    return "\n".join(texts)


_PDF_TEXT_RE = re.compile(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj")


def file_text(file_data: str, filename: Any = None) -> str:
    """What the model reads in an ``input_file``'s ``file_data`` (base64, optionally a data URL).

    Plain text files are read as UTF-8; PDFs by their ``(...) Tj`` text-showing operators (enough for
    the uncompressed one-page PDFs the cases send). Anything else reads as empty.
    """
    media = ""
    data = file_data
    if data.startswith("data:"):
        header, _, data = data.partition(",")
        media = header[5:].split(";")[0].lower()
    try:
        raw = base64.b64decode(data, validate=False)
    except (ValueError, TypeError):
        return ""
    name = str(filename or "").lower()
    if raw.startswith(b"%PDF") or media == "application/pdf" or name.endswith(".pdf"):
        return " ".join(m.group(1).decode("latin-1").replace("\\(", "(").replace("\\)", ")")
                        for m in _PDF_TEXT_RE.finditer(raw))
    if media.startswith("text/") or name.endswith((".txt", ".md", ".csv")) or not media:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return ""
    return ""


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
        elif itype in TOOL_OUTPUT_TYPES and not behaviour.dev("tool_history_ignored"):
            text = tool_output_text(item)
            if text:
                turns.append(Turn("tool_output", "tool", text, str(itype)))
    return turns


#: history items whose results the model reads (the text a tool returned, passed back as input)
TOOL_OUTPUT_TYPES = frozenset({"mcp_call", "code_interpreter_call", "file_search_call", "local_shell_call_output",
                               "shell_call_output", "apply_patch_call_output", "custom_tool_call_output",
                               "program_output"})


def tool_output_text(item: dict[str, Any]) -> str:
    """The text a tool call item (or its output item) returned: MCP output, code interpreter logs, file
    search result texts, shell stdout, a client tool's output string."""
    itype = item.get("type")
    if itype == "code_interpreter_call":
        return "\n".join(str(o.get("logs")) for o in item.get("outputs") or []
                         if isinstance(o, dict) and isinstance(o.get("logs"), str))
    if itype == "file_search_call":
        return "\n".join(str(r.get("text")) for r in item.get("results") or []
                         if isinstance(r, dict) and isinstance(r.get("text"), str))
    if itype == "program_output":
        return str(item.get("result") or "")
    output = item.get("output")
    if itype == "shell_call_output" and isinstance(output, list):
        return "".join(str(o.get("stdout", "")) for o in output if isinstance(o, dict))
    if isinstance(output, str):
        return output
    return _part_texts(output) if isinstance(output, list) else ""


def model_input(instructions: str | None, context_before: list[dict[str, Any]], input_items: list[dict[str, Any]],
                params: dict[str, Any], behaviour: Behaviour) -> ModelInput:
    current = turns_of(input_items, behaviour)
    declared = declared_tools(context_before, input_items, params)
    # functions the model may call: namespaces flattened, deferred ones only once a tool search loaded them
    functions = callable_functions(declared, context_before + input_items, behaviour)
    return ModelInput(
        instructions=None if behaviour.dev("ignore_instructions") else instructions,
        conversation=turns_of(context_before, behaviour) + current,
        current_input=current,
        tools=[t for t in declared if t.get("type") not in ("function", "namespace")] + functions,
        tool_choice=params.get("tool_choice", "auto"),
        text_format=(params.get("text") or {}).get("format") or {"type": "text"},
    )


def declared_tools(context_before: list[dict[str, Any]], input_items: list[dict[str, Any]],
                   params: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's tools plus those ``additional_tools`` items add, as declared."""
    extra_tools = [t for item in context_before + input_items if item.get("type") == "additional_tools"
                   for t in item.get("tools") or [] if isinstance(t, dict)]
    return (params.get("tools") or []) + extra_tools


# --- outcome ---------------------------------------------------------------------------

@dataclass
class Outcome:
    """The finished state a response will publish (computed up front: the model is instant)."""

    status: str
    output: list[dict[str, Any]]
    usage: dict[str, Any]
    incomplete_details: dict[str, Any] | None
    error: dict[str, Any] | None = None


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
    cap = prep.params.get("max_output_tokens")
    if not _reasons_by_default(prep, behaviour):
        return _answer(prep, behaviour, cap)
    thought = REASONING_BY_DEFAULT_TOKENS if cap is None else min(cap, REASONING_BY_DEFAULT_TOKENS)
    left = None if cap is None else cap - thought
    outcome = _answer(prep, behaviour, left)
    if left is not None and (left == 0 or (outcome.status == "completed" and _output_tokens(outcome) > left)):
        _unanswered(outcome)
    _add_reasoning(outcome, prep, behaviour, spent=thought)
    return outcome


#: the ``reasoning_by_default`` variant: output tokens every response spends reasoning before it answers
REASONING_BY_DEFAULT_TOKENS = 200


def _reasons_by_default(prep: Prepared, behaviour: Behaviour) -> bool:
    """``reasoning_by_default`` (a gpt-5 / o-series model): every answer is preceded by reasoning that counts
    against ``max_output_tokens``, unless the request turns reasoning off (``reasoning.effort: none``)."""
    if not behaviour.var("reasoning_by_default") or prep.failure is not None:
        return False
    reasoning = prep.params.get("reasoning")
    return not (isinstance(reasoning, dict) and reasoning.get("effort") == "none")


def _output_tokens(outcome: Outcome) -> int:
    value = outcome.usage.get("output_tokens")
    return value if isinstance(value, int) else 0


def _unanswered(outcome: Outcome) -> None:
    """Reasoning spent the cap: no answer item at all (a text cut to nothing, a tool call never made)."""
    spent = _output_tokens(outcome)
    outcome.status, outcome.output, outcome.incomplete_details = "incomplete", [], {"reason": "max_output_tokens"}
    if "output_tokens" in outcome.usage:
        outcome.usage["output_tokens"] = 0
        outcome.usage["total_tokens"] -= spent


def _answer(prep: Prepared, behaviour: Behaviour, max_output_tokens: int | None) -> Outcome:
    """The model's answer, its text cut at ``max_output_tokens`` (what reasoning, if any, left of the cap)."""
    inp = model_input(prep.params["instructions"], prep.context_before, prep.input_items, prep.params, behaviour)
    deferred = deferred_respond(  # programs and tool search: _deferred_tools
        prep.context_before, prep.input_items, inp, declared_tools(prep.context_before, prep.input_items, prep.params),
        behaviour, lambda reply: outcome_for(reply, 0, None, behaviour).output)
    if deferred is not None:
        return Outcome("completed", deferred,
                       _usage(input_token_count(inp), deferred_output_tokens(deferred), behaviour), None)
    builtin = builtin_respond(prep, inp, behaviour)  # built-in tools (web search, MCP, ...): _builtin_tools
    if builtin is not None:
        items, output_tokens = builtin
        return Outcome("completed", items, _usage(input_token_count(inp), output_tokens, behaviour), None)
    reply = generate(inp, probes=not behaviour.ignores_probes, ignored_reply=behaviour.ignored_probe_reply,
                     honour_tool_choice=not behaviour.dev("ignore_tool_choice"),
                     honour_format=not behaviour.dev("json_format_ignored"))
    if prep.failure is not None and not behaviour.dev("failed_without_error"):
        return Outcome("failed", [], _usage(input_token_count(inp), 0, behaviour), None, dict(prep.failure))
    if prep.failure is not None:
        return Outcome("failed", [], _usage(input_token_count(inp), 0, behaviour), None, None)
    outcome = outcome_for(reply, input_token_count(inp), max_output_tokens, behaviour)
    if not _reasons_by_default(prep, behaviour):  # else run_model adds the reasoning item, with its cost
        _add_reasoning(outcome, prep, behaviour)
    if "message.output_text.logprobs" in prep.include and not behaviour.dev("logprobs_ignored"):
        _add_logprobs(outcome, int(prep.params.get("top_logprobs") or 0))
    return outcome


REASONING_SUMMARY = "Following the request's directive."
REASONING_TEXT = "The request gives a directive; the reply follows it."


def _add_reasoning(outcome: Outcome, prep: Prepared, behaviour: Behaviour, spent: int | None = None) -> None:
    """A reasoning model's ``reasoning`` item first (unless effort is ``none``), as the spec's ReasoningItem.

    ``summary`` is filled when ``reasoning.summary`` asks for one, ``encrypted_content`` when ``include``
    has ``reasoning.encrypted_content`` (base64 JSON of the item's summary; it can be passed back).
    ``spent``: the reasoning tokens it is billed, given also without a ``reasoning`` parameter
    (``reasoning_by_default``); else the words of its text.
    """
    reasoning = prep.params.get("reasoning")
    if (spent is None and not isinstance(reasoning, dict)) or outcome.status == "failed":
        return
    reasoning = reasoning if isinstance(reasoning, dict) else {}
    if reasoning.get("effort") == "none":
        return
    summary = [{"type": "summary_text", "text": REASONING_SUMMARY}] if reasoning.get("summary") else []
    item: dict[str, Any] = {"id": new_id("rs"), "type": "reasoning", "summary": summary,
                            "content": [{"type": "reasoning_text", "text": REASONING_TEXT}]}
    if "reasoning.encrypted_content" in prep.include and not behaviour.dev("encrypted_content_ignored"):
        item["encrypted_content"] = encode_compaction([{"type": "reasoning", "summary": summary}])
    outcome.output.insert(0, item)
    if spent is None:
        spent = count_tokens(REASONING_TEXT) + (count_tokens(REASONING_SUMMARY) if summary else 0)
    usage = outcome.usage
    if isinstance(usage.get("output_tokens_details"), dict):
        usage["output_tokens"] += spent
        usage["total_tokens"] += spent
        usage["output_tokens_details"]["reasoning_tokens"] = spent


def _add_logprobs(outcome: Outcome, top: int) -> None:
    """Per-token log probabilities on every output_text part (``include: message.output_text.logprobs``)."""
    for item in outcome.output:
        for part in item.get("content") or [] if item.get("type") == "message" else []:
            if part.get("type") != "output_text" or "logprobs" not in part:
                continue
            entries = []
            for piece in _text_pieces(part.get("text", "")) if part.get("text") else []:
                alts = [{"token": piece, "logprob": -0.01, "bytes": list(piece.encode())}]
                alts += [{"token": f"alt{k}", "logprob": -5.0 - k, "bytes": list(f"alt{k}".encode())}
                         for k in range(1, top)]
                entries.append({"token": piece, "logprob": -0.01, "bytes": list(piece.encode()),
                                "top_logprobs": alts[:top]})
            part["logprobs"] = entries


def outcome_for(reply: Reply, input_tokens: int, max_output_tokens: int | None, behaviour: Behaviour) -> Outcome:
    if reply.kind == "function_call":
        item: dict[str, Any] = {"id": new_id("fc"), "type": "function_call", "status": _item_status("completed", behaviour),
                                "call_id": new_id("call"), "name": reply.name, "arguments": reply.arguments}
        if reply.namespace:
            item["namespace"] = reply.namespace
        if behaviour.dev("function_arguments_object"):
            item["arguments"] = json.loads(reply.arguments)
        if behaviour.dev("function_call_missing_call_id"):
            del item["call_id"]
        return Outcome("completed", [item], _usage(input_tokens, count_tokens(reply.arguments), behaviour), None)
    if reply.kind == "refusal":
        refusal = {"id": new_id("msg"), "type": "message", "status": _item_status("completed", behaviour),
                   "role": "assistant", "content": [{"type": "refusal", "refusal": reply.text}]}
        return Outcome("completed", [refusal], _usage(input_tokens, count_tokens(reply.text), behaviour), None)
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
        "prompt_cache_retention": p.get("prompt_cache_retention"),
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
    if "prompt_cache_options" in p:
        body["prompt_cache_options"] = dict(p["prompt_cache_options"])
    if "conversation" in p:
        body["conversation"] = dict(p["conversation"])
    if "moderation" in p and not snapshot:
        body["moderation"] = {side: _moderation_result(p["moderation"]) for side in ("input", "output")}
    if record.usage is not None and not snapshot:
        body["usage"] = copy.deepcopy(record.usage)
    body["metadata"] = {} if behaviour.dev("no_metadata_echo") else dict(p["metadata"])
    _echo_behaviours(body, behaviour, snapshot)
    if behaviour.openresponses:
        _openresponses_fields(body, p, behaviour, snapshot)
    if behaviour.dev("missing_required_field_status"):
        del body["status"]
    return body


#: Response fields that only echo a request parameter and that the spec's Response does not require
OPTIONAL_ECHOES = ("background", "conversation", "max_output_tokens", "max_tool_calls", "previous_response_id",
                   "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention", "reasoning",
                   "safety_identifier", "service_tier", "store", "text", "top_logprobs", "truncation", "user")
#: for ``optional_echo_differs``: two valid values per field; the echo reports the one that was not sent
_TWO = {"truncation": ("auto", "disabled"), "prompt_cache_retention": ("in_memory", "24h"),
        "effort": ("low", "high"), "summary": ("auto", "concise"), "verbosity": ("low", "high")}


def _other(field: str, value: Any) -> Any:
    first, second = _TWO[field]
    return second if value == first else first


def _echo_behaviours(body: dict[str, Any], behaviour: Behaviour, snapshot: bool) -> None:
    """``sparse_echoes`` (variant): leave the optional echoes out; ``optional_echo_differs`` (deviation): report
    them with values other than the request's; ``completed_with_in_progress_message`` (deviation)."""
    if behaviour.var("sparse_echoes"):
        for field in OPTIONAL_ECHOES:
            body.pop(field, None)
    if behaviour.dev("optional_echo_differs"):
        for field in ("truncation", "prompt_cache_retention"):
            if body.get(field) is not None:
                body[field] = _other(field, body[field])
        for field in ("max_output_tokens", "max_tool_calls", "top_logprobs"):
            if isinstance(body.get(field), int):
                body[field] += 1
        if isinstance(body.get("prompt_cache_key"), str):
            body["prompt_cache_key"] += "-other"
        for outer, inner in (("reasoning", "effort"), ("reasoning", "summary"), ("text", "verbosity")):
            holder = body.get(outer)
            if isinstance(holder, dict) and holder.get(inner) is not None:
                holder[inner] = _other(inner, holder[inner])
    if behaviour.dev("completed_with_in_progress_message") and not snapshot and body.get("status") == "completed":
        for item in body.get("output") or []:
            if item.get("type") == "message":
                item["status"] = "in_progress"


def _openresponses_fields(body: dict[str, Any], p: dict[str, Any], behaviour: Behaviour, snapshot: bool) -> None:
    """Open Responses' ``ResponseResource``: what it requires beyond OpenAI's ``Response``.

    ``presence_penalty``/``frequency_penalty`` (numbers), ``usage`` always present (null until known), and
    the ``json_schema`` format echoed as its ``JsonSchemaResponseFormat`` declares it: ``description``
    required (nullable) and ``schema`` of type null (the spec does not echo the schema).
    """
    if not behaviour.dev("or_missing_penalties"):
        for penalty in ("presence_penalty", "frequency_penalty"):
            body[penalty] = 0.0 if behaviour.dev("or_penalties_not_echoed") else p.get(penalty, 0.0)
    if not (snapshot and behaviour.dev("or_snapshot_without_usage")):
        body.setdefault("usage", None)
    fmt = (body.get("text") or {}).get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        fmt.setdefault("description", None)
        fmt["schema"] = None


def _moderation_result(param: dict[str, Any]) -> dict[str, Any]:
    """The reference's moderation never flags anything (its model only says tokens)."""
    return {"type": "moderation_result", "model": param["model"], "flagged": False, "categories": {},
            "category_scores": {}, "category_applied_input_types": {}}


# --- canonical event sequence -------------------------------------------------------------

def _text_pieces(text: str) -> list[str]:
    """Split text into per-word deltas (each word with its trailing whitespace)."""
    pieces = re.findall(r"\s*\S+\s*", text)
    return pieces if pieces and "".join(pieces) == text else [text]


def _arg_pieces(arguments: str, size: int = 8) -> list[str]:
    return [arguments[i:i + size] for i in range(0, len(arguments), size)] or [""]


#: Events Open Responses names differently (same fields): its raw reasoning text events.
OPENRESPONSES_EVENT_NAMES = {"response.reasoning_text.delta": "response.reasoning.delta",
                             "response.reasoning_text.done": "response.reasoning.done"}


def build_events(record: Record, behaviour: Behaviour) -> list[dict[str, Any]]:
    """The full, conformant event sequence of a finished record (wire deviations come later)."""
    events: list[dict[str, Any]] = []

    renamed = OPENRESPONSES_EVENT_NAMES if behaviour.openresponses and not behaviour.dev(
        "or_openai_reasoning_event_names") else {}

    def emit(etype: str, **fields: Any) -> None:
        events.append({"type": renamed.get(etype, etype), "sequence_number": len(events), **fields})

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
        elif item["type"] == "reasoning":
            _reasoning_events(emit, index, item)
        else:
            tool_events(emit, index, item, record.params.get("tools"))
    terminal = TERMINAL.get(record.status)
    if terminal is not None:
        emit(terminal, response=render_response(record, behaviour))
    return events


def _message_events(emit: Any, index: int, item: dict[str, Any], behaviour: Behaviour) -> None:
    item_id = item["id"]
    emit("response.output_item.added", output_index=index,
         item={**{k: v for k, v in item.items() if k != "content"}, "status": "in_progress", "content": []})
    for c_index, part in enumerate(item["content"]):
        if part.get("type") == "refusal":
            _refusal_events(emit, item_id, index, c_index, part)
            continue
        text = part.get("text", "")
        emit("response.content_part.added", item_id=item_id, output_index=index, content_index=c_index,
             part=text_part("", behaviour))
        for piece in _text_pieces(text):
            emit("response.output_text.delta", item_id=item_id, output_index=index, content_index=c_index,
                 delta=piece, logprobs=[])
        annotation_events(emit, item_id, index, c_index, part)
        emit("response.output_text.done", item_id=item_id, output_index=index, content_index=c_index,
             text=text, logprobs=[])
        emit("response.content_part.done", item_id=item_id, output_index=index, content_index=c_index,
             part=copy.deepcopy(part))
    emit("response.output_item.done", output_index=index, item=copy.deepcopy(item))


def _refusal_events(emit: Any, item_id: str, index: int, c_index: int, part: dict[str, Any]) -> None:
    refusal = part.get("refusal", "")
    emit("response.content_part.added", item_id=item_id, output_index=index, content_index=c_index,
         part={"type": "refusal", "refusal": ""})
    for piece in _text_pieces(refusal):
        emit("response.refusal.delta", item_id=item_id, output_index=index, content_index=c_index, delta=piece)
    emit("response.refusal.done", item_id=item_id, output_index=index, content_index=c_index, refusal=refusal)
    emit("response.content_part.done", item_id=item_id, output_index=index, content_index=c_index,
         part=copy.deepcopy(part))


def _reasoning_events(emit: Any, index: int, item: dict[str, Any]) -> None:
    """A reasoning item: its raw reasoning text (``reasoning_text.*``), then each summary part
    (``reasoning_summary_part.added`` -> ``reasoning_summary_text.delta``* -> ``.done`` -> ``_part.done``)."""
    item_id = item["id"]
    emit("response.output_item.added", output_index=index,
         item={**copy.deepcopy(item), "summary": [], **({"content": []} if "content" in item else {})})
    for c_index, part in enumerate(item.get("content") or []):
        text = part.get("text", "")
        for piece in _text_pieces(text):
            emit("response.reasoning_text.delta", item_id=item_id, output_index=index, content_index=c_index,
                 delta=piece)
        emit("response.reasoning_text.done", item_id=item_id, output_index=index, content_index=c_index, text=text)
    for s_index, part in enumerate(item.get("summary") or []):
        text = part.get("text", "")
        emit("response.reasoning_summary_part.added", item_id=item_id, output_index=index, summary_index=s_index,
             part={"type": "summary_text", "text": ""})
        for piece in _text_pieces(text):
            emit("response.reasoning_summary_text.delta", item_id=item_id, output_index=index,
                 summary_index=s_index, delta=piece)
        emit("response.reasoning_summary_text.done", item_id=item_id, output_index=index, summary_index=s_index,
             text=text)
        emit("response.reasoning_summary_part.done", item_id=item_id, output_index=index, summary_index=s_index,
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
