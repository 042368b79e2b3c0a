"""Request validation and normalization for ``POST /v1/responses`` and its siblings.

Written from ``CreateResponse`` in the spec: the parameter list, types, ranges and enums
below are the spec's.  Every rejection is an :class:`ApiError` carrying the offending
``param``, so clients get the ``invalid_request_error`` envelope and never a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._behaviours import Behaviour
from ._builtin_tools import validate_tool
from ._deferred_tools import check_execution, validate_function_extras
from ._deferred_tools import validate as validate_deferred
from ._errors import ApiError, invalid
from ._store import Record, Store, new_id

MODELS = ("reference-1", "reference-mini")

CREATE_PARAMS = frozenset({
    "background", "context_management", "conversation", "include", "input", "instructions",
    "max_output_tokens", "max_tool_calls", "metadata", "model", "moderation", "parallel_tool_calls",
    "previous_response_id", "prompt", "prompt_cache_key", "prompt_cache_options",
    "prompt_cache_retention", "reasoning", "safety_identifier", "service_tier", "store", "stream",
    "stream_options", "temperature", "text", "tool_choice", "tools", "top_logprobs", "top_p",
    "truncation", "user",
})
#: Create parameters only the Open Responses spec defines (accepted when the server follows that profile).
OPENRESPONSES_CREATE_PARAMS = frozenset({"presence_penalty", "frequency_penalty"})
TOKEN_COUNT_PARAMS = frozenset({
    "model", "input", "previous_response_id", "tools", "text", "reasoning", "truncation",
    "instructions", "personality", "conversation", "tool_choice", "parallel_tool_calls",
})
COMPACT_PARAMS = frozenset({
    "model", "input", "previous_response_id", "instructions", "prompt_cache_key",
    "prompt_cache_retention", "prompt_cache_options", "service_tier",
})
INCLUDE_VALUES = frozenset({
    "file_search_call.results", "web_search_call.results", "web_search_call.action.sources",
    "message.input_image.image_url", "computer_call_output.output.image_url",
    "code_interpreter_call.outputs", "reasoning.encrypted_content", "message.output_text.logprobs",
})
TOOL_TYPES = frozenset({
    "function", "file_search", "computer", "computer_use_preview", "web_search", "web_search_2025_08_26",
    "mcp", "code_interpreter", "programmatic_tool_calling", "image_generation", "local_shell", "shell",
    "custom", "namespace", "tool_search", "web_search_preview", "web_search_preview_2025_03_11",
    "apply_patch",
})
TOOL_CHOICE_TYPES = frozenset({
    "allowed_tools", "file_search", "web_search_preview", "computer", "computer_use_preview",
    "computer_use", "web_search_preview_2025_03_11", "image_generation", "code_interpreter", "function",
    "mcp", "custom", "programmatic_tool_calling", "apply_patch", "shell",
})
INPUT_ITEM_TYPES = frozenset({
    "message", "file_search_call", "computer_call", "computer_call_output", "web_search_call",
    "function_call", "function_call_output", "tool_search_call", "tool_search_output",
    "additional_tools", "reasoning", "compaction", "image_generation_call", "code_interpreter_call",
    "local_shell_call", "local_shell_call_output", "shell_call", "shell_call_output", "apply_patch_call",
    "apply_patch_call_output", "mcp_list_tools", "mcp_approval_request", "mcp_approval_response",
    "mcp_call", "custom_tool_call_output", "custom_tool_call", "compaction_trigger", "item_reference",
    "program", "program_output",
})
ROLES = frozenset({"user", "assistant", "system", "developer"})
INPUT_PART_TYPES = frozenset({"input_text", "input_image", "input_file", "output_text", "refusal"})
SERVICE_TIERS = frozenset({"auto", "default", "flex", "scale", "priority", "fast", "ultrafast"})
REASONING_EFFORTS = frozenset({"none", "minimal", "low", "medium", "high", "xhigh", "max"})
REASONING_SUMMARIES = frozenset({"auto", "concise", "detailed"})
REASONING_CONTEXTS = frozenset({"auto", "current_turn", "all_turns"})
IMAGE_DETAILS = frozenset({"low", "high", "auto", "original"})
CACHE_RETENTIONS = frozenset({"in_memory", "24h"})
MODERATION_MODES = frozenset({"score", "block"})
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: item types whose stored resource (ItemResource) requires ``status``: a caller may omit it on input
STATUS_REQUIRED = frozenset({
    "computer_call", "computer_call_output", "file_search_call", "web_search_call", "tool_search_call",
    "tool_search_output", "program_output", "image_generation_call", "code_interpreter_call", "local_shell_call",
    "shell_call", "shell_call_output", "apply_patch_call", "apply_patch_call_output", "custom_tool_call",
    "custom_tool_call_output",
})
ID_PREFIX = {"message": "msg", "function_call": "fc", "function_call_output": "fco", "reasoning": "rs",
             "compaction": "cmp"}


@dataclass
class Prepared:
    """A validated request: what to echo, what the model sees, and where it came from."""

    params: dict[str, Any]
    input_items: list[dict[str, Any]]
    context_before: list[dict[str, Any]]
    stream: bool = False
    background: bool = False
    store: bool = True
    previous: Record | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    include: frozenset[str] = frozenset()
    conversation: Any = None  # the reference's Conversation object, when ``conversation`` is given
    failure: dict[str, Any] | None = None  # a ResponseError the (background) response ends with


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _type_error(param: str, expected: str, value: Any) -> ApiError:
    return invalid(f"Invalid type for '{param}': expected {expected}, but got {type(value).__name__}.",
                   param, "invalid_type")


def _object_of(raw: Any, param: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """``raw`` must be an object with no key outside ``keys``: else the type error, or the unknown parameter named
    as ``param.key`` (the spec's nested request objects forbid additional properties)."""
    if not isinstance(raw, dict):
        raise _type_error(param, "an object", raw)
    for key in raw:
        if key not in keys:
            raise invalid(f"Unknown parameter: '{param}.{key}'.", f"{param}.{key}", "unknown_parameter")
    return raw


def _opt(body: dict[str, Any], name: str, check: Any, expected: str) -> Any:
    value = body.get(name)
    if value is not None and not check(value):
        raise _type_error(name, expected, value)
    return value


def _enum(value: Any, allowed: frozenset[str], param: str, behaviour: Behaviour) -> Any:
    """Reject a value outside the spec's enum (``None`` means "default")."""
    if value is None or behaviour.dev("accept_invalid_enum_values"):
        return value
    if value not in allowed:
        raise invalid(f"Invalid value: {value!r}. Supported values are: "
                      f"{', '.join(repr(v) for v in sorted(allowed))}.", param)
    return value


def normalize_reasoning(raw: Any, behaviour: Behaviour) -> dict[str, Any] | None:
    """Validate ``reasoning`` (``Reasoning``); echo the given keys with ``effort``/``summary`` defaults."""
    if raw is None:
        return None
    _object_of(raw, "reasoning", ("effort", "summary", "generate_summary", "context", "mode"))
    _enum(raw.get("effort"), REASONING_EFFORTS, "reasoning.effort", behaviour)
    _enum(raw.get("summary"), REASONING_SUMMARIES, "reasoning.summary", behaviour)
    _enum(raw.get("generate_summary"), REASONING_SUMMARIES, "reasoning.generate_summary", behaviour)
    _enum(raw.get("context"), REASONING_CONTEXTS, "reasoning.context", behaviour)
    if raw.get("mode") is not None and not isinstance(raw["mode"], str):
        raise _type_error("reasoning.mode", "a string", raw["mode"])
    out = dict(raw)
    out.setdefault("effort", "medium")
    out.setdefault("summary", raw.get("generate_summary"))
    return out


def _prompt_cache_options(raw: Any, behaviour: Behaviour) -> dict[str, Any] | None:
    if raw is None:
        return None
    _object_of(raw, "prompt_cache_options", ("ttl", "mode"))
    _enum(raw.get("ttl"), frozenset({"30m"}), "prompt_cache_options.ttl", behaviour)
    _enum(raw.get("mode"), frozenset({"implicit", "explicit"}), "prompt_cache_options.mode", behaviour)
    return {"ttl": raw.get("ttl") or "30m", "mode": raw.get("mode") or "implicit"}


def _context_management(raw: Any, behaviour: Behaviour) -> list[dict[str, Any]] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise _type_error("context_management", "an array", raw)
    lenient = behaviour.dev("accept_invalid_ranges")
    if not raw and not lenient:
        raise invalid("Invalid 'context_management': expected an array with at least 1 item.",
                      "context_management", "empty_array")
    for i, entry in enumerate(raw):
        where = f"context_management[{i}]"
        if not isinstance(entry, dict):
            raise _type_error(where, "an object", entry)
        if not isinstance(entry.get("type"), str):
            raise invalid(f"Missing required parameter: '{where}.type'.", f"{where}.type", "missing_required_parameter")
        _enum(entry["type"], frozenset({"compaction"}), f"{where}.type", behaviour)
        threshold = entry.get("compact_threshold")
        if threshold is not None and not _is_int(threshold):
            raise _type_error(f"{where}.compact_threshold", "an integer", threshold)
        if threshold is not None and threshold < 1000 and not lenient:
            raise invalid(f"Invalid '{where}.compact_threshold': integer below minimum value. Expected a value "
                          f">= 1000, but got {threshold} instead.", f"{where}.compact_threshold",
                          "integer_below_min_value")
    return raw


def _moderation(raw: Any, behaviour: Behaviour) -> dict[str, Any] | None:
    """Validate ``moderation`` (``ModerationParam``): ``model`` required, policy modes score/block."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _type_error("moderation", "an object", raw)
    if not isinstance(raw.get("model"), str):
        raise invalid("Missing required parameter: 'moderation.model'.", "moderation.model",
                      "missing_required_parameter")
    policy = raw.get("policy")
    if policy is not None and not isinstance(policy, dict):
        raise _type_error("moderation.policy", "an object", policy)
    for side in ("input", "output"):
        config = (policy or {}).get(side)
        if config is None:
            continue
        if not isinstance(config, dict):
            raise _type_error(f"moderation.policy.{side}", "an object", config)
        if config.get("mode") is None:
            raise invalid(f"Missing required parameter: 'moderation.policy.{side}.mode'.",
                          f"moderation.policy.{side}.mode", "missing_required_parameter")
        _enum(config.get("mode"), MODERATION_MODES, f"moderation.policy.{side}.mode", behaviour)
    return raw


def check_unknown(body: dict[str, Any], allowed: frozenset[str]) -> None:
    for key in body:
        if key not in allowed:
            raise invalid(f"Unknown parameter: '{key}'.", key, "unknown_parameter")


def check_model(body: dict[str, Any], behaviour: Behaviour, *, required: bool = True) -> str | None:
    model = body.get("model")
    if model is None:
        if not required:
            return None
        if behaviour.dev("accept_missing_model"):
            return MODELS[0]
        raise invalid("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    if not isinstance(model, str):
        raise _type_error("model", "a string", model)
    if model not in MODELS and not behaviour.dev("accept_unknown_model"):
        raise ApiError(404, f"The model '{model}' does not exist or you do not have access to it.",
                       "model", "model_not_found", validation=True)
    return model


def _range(body: dict[str, Any], name: str, lo: float, hi: float, skip: bool) -> Any:
    value = _opt(body, name, _is_number, "a number")
    if value is None or skip:
        return value
    if value < lo:
        raise invalid(f"Invalid '{name}': decimal below minimum value. Expected a value >= {lo}, "
                      f"but got {value} instead.", name, "decimal_below_min_value")
    if value > hi:
        raise invalid(f"Invalid '{name}': decimal above maximum value. Expected a value <= {hi}, "
                      f"but got {value} instead.", name, "decimal_above_max_value")
    return value


def _metadata(body: dict[str, Any]) -> dict[str, str] | None:
    meta = _opt(body, "metadata", lambda v: isinstance(v, dict), "an object")
    if meta is None:
        return None
    if len(meta) > 16:
        raise invalid("Invalid 'metadata': too many properties (at most 16).", "metadata")
    for key, value in meta.items():
        if len(key) > 64:
            raise invalid(f"Invalid 'metadata': key '{key[:20]}...' is longer than 64 characters.", "metadata")
        if not isinstance(value, str):
            raise _type_error(f"metadata.{key}", "a string", value)
        if len(value) > 512:
            raise invalid(f"Invalid 'metadata.{key}': string longer than 512 characters.", f"metadata.{key}")
    return dict(meta)


def normalize_tools(raw: Any, param: str = "tools") -> list[dict[str, Any]]:
    """Validate ``tools`` and normalize function tools to the spec's ``FunctionTool`` shape."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _type_error(param, "an array", raw)
    tools: list[dict[str, Any]] = []
    for i, tool in enumerate(raw):
        where = f"{param}[{i}]"
        if not isinstance(tool, dict):
            raise _type_error(where, "an object", tool)
        ttype = tool.get("type")
        if not isinstance(ttype, str):
            raise invalid(f"Missing required parameter: '{where}.type'.", f"{where}.type", "missing_required_parameter")
        if ttype not in TOOL_TYPES:
            raise invalid(f"Invalid value: '{ttype}'. Supported values are: {', '.join(sorted(TOOL_TYPES))}.",
                          f"{where}.type")
        if ttype in ("namespace", "tool_search", "programmatic_tool_calling"):
            tools.append(validate_deferred(tool, where, normalize_tools))  # _deferred_tools
            continue
        if ttype != "function":
            tools.append(validate_tool(tool, where))  # built-in tools: _builtin_tools
            continue
        name = tool.get("name")
        if name is None:
            raise invalid(f"Missing required parameter: '{where}.name'.", f"{where}.name", "missing_required_parameter")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise invalid(f"Invalid '{where}.name': must match ^[a-zA-Z0-9_-]{{1,64}}$.", f"{where}.name")
        params = tool.get("parameters")
        if params is not None and not isinstance(params, dict):
            raise _type_error(f"{where}.parameters", "an object", params)
        if params is not None and "type" in params and params["type"] != "object":
            raise invalid(f"Invalid schema for function '{name}': schema must be a JSON Schema of "
                          "'type: \"object\"'.", f"{where}.parameters", "invalid_function_parameters")
        strict = tool.get("strict")
        if strict is not None and not isinstance(strict, bool):
            raise _type_error(f"{where}.strict", "a boolean", strict)
        description = tool.get("description")
        if description is not None and not isinstance(description, str):
            raise _type_error(f"{where}.description", "a string", description)
        if any(t.get("type") == "function" and t.get("name") == name for t in tools):
            raise invalid(f"Duplicate function name '{name}' in tools.", f"{where}.name")
        tools.append({"type": "function", "name": name, "description": description,
                      "parameters": params, "strict": True if strict is None else strict,
                      **validate_function_extras(tool, where)})
    return tools


def normalize_tool_choice(raw: Any, tools: list[dict[str, Any]]) -> Any:
    if raw is None:
        return "auto"
    if isinstance(raw, str):
        if raw not in ("none", "auto", "required"):
            raise invalid(f"Invalid value: '{raw}'. Supported values are: 'none', 'auto' and 'required'.",
                          "tool_choice")
        if raw == "required" and not tools:
            raise invalid("Tool choice 'required' must only be used when 'tools' are specified.", "tool_choice")
        return raw
    if not isinstance(raw, dict):
        raise _type_error("tool_choice", "a string or an object", raw)
    ctype = raw.get("type")
    if ctype not in TOOL_CHOICE_TYPES:
        raise invalid(f"Invalid value: '{ctype}' for 'tool_choice.type'.", "tool_choice.type")
    if ctype == "function":
        name = raw.get("name")
        if not isinstance(name, str):
            raise invalid("Missing required parameter: 'tool_choice.name'.", "tool_choice.name",
                          "missing_required_parameter")
        if not any(t.get("type") == "function" and t.get("name") == name for t in tools):
            raise invalid(f"Tool choice '{name}' not found in 'tools' parameter.", "tool_choice")
        return {"type": "function", "name": name}
    if ctype == "allowed_tools":
        if raw.get("mode") not in ("auto", "required"):
            raise invalid("Invalid value for 'tool_choice.mode': expected 'auto' or 'required'.", "tool_choice.mode")
        if not isinstance(raw.get("tools"), list):
            raise _type_error("tool_choice.tools", "an array", raw.get("tools"))
    return dict(raw)


def normalize_text(raw: Any) -> dict[str, Any]:
    """Validate ``text`` (``ResponseTextParam``); default format ``{"type": "text"}``."""
    if raw is None:
        return {"format": {"type": "text"}, "verbosity": "medium"}
    _object_of(raw, "text", ("format", "verbosity"))
    verbosity = raw.get("verbosity")
    if verbosity is not None and verbosity not in ("low", "medium", "high"):
        raise invalid(f"Invalid value: '{verbosity}'. Supported values are: 'low', 'medium' and 'high'.",
                      "text.verbosity")
    fmt = raw.get("format")
    if fmt is None:
        fmt = {"type": "text"}
    if not isinstance(fmt, dict):
        raise _type_error("text.format", "an object", fmt)
    ftype = fmt.get("type")
    if ftype not in ("text", "json_schema", "json_object"):
        raise invalid(f"Invalid value: '{ftype}'. Supported values are: 'text', 'json_schema' and 'json_object'.",
                      "text.format.type")
    if ftype == "json_schema":
        name = fmt.get("name")
        if name is None:
            raise invalid("Missing required parameter: 'text.format.name'.", "text.format.name",
                          "missing_required_parameter")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise invalid("Invalid 'text.format.name': must match ^[a-zA-Z0-9_-]{1,64}$.", "text.format.name")
        schema = fmt.get("schema")
        if schema is None:
            raise invalid("Missing required parameter: 'text.format.schema'.", "text.format.schema",
                          "missing_required_parameter")
        if not isinstance(schema, dict):
            raise _type_error("text.format.schema", "an object", schema)
        strict = fmt.get("strict")
        if strict is not None and not isinstance(strict, bool):
            raise _type_error("text.format.strict", "a boolean", strict)
        out: dict[str, Any] = {"type": "json_schema", "name": name, "schema": schema}
        if "description" in fmt:
            out["description"] = fmt["description"]
        out["strict"] = bool(strict)
        fmt = out
    else:
        fmt = {"type": ftype}
    return {"format": fmt, "verbosity": verbosity or "medium"}


def _parts(content: Any, where: str, role: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        kind = "output_text" if role == "assistant" else "input_text"
        return [_text_part(kind, content)]
    if not isinstance(content, list):
        raise _type_error(f"{where}.content", "a string or an array", content)
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        pw = f"{where}.content[{j}]"
        if not isinstance(part, dict):
            raise _type_error(pw, "an object", part)
        ptype = part.get("type")
        if ptype not in INPUT_PART_TYPES:
            raise invalid(f"Invalid value: '{ptype}'. Supported values are: "
                          f"{', '.join(sorted(INPUT_PART_TYPES))}.", f"{pw}.type")
        if ptype in ("input_text", "output_text"):
            if not isinstance(part.get("text"), str):
                raise _type_error(f"{pw}.text", "a string", part.get("text"))
            kind = "output_text" if role == "assistant" else "input_text"
            parts.append(_text_part(kind, part["text"]))
        elif ptype == "refusal":
            if not isinstance(part.get("refusal"), str):
                raise _type_error(f"{pw}.refusal", "a string", part.get("refusal"))
            parts.append({"type": "refusal", "refusal": part["refusal"]})
        elif ptype == "input_image":
            parts.append(_image_part(part, pw))
        elif ptype == "input_file":
            parts.append(_file_part(part, pw))
        else:
            parts.append(dict(part))
    return parts


def _no_such_file(file_id: Any, where: str) -> ApiError:
    if not isinstance(file_id, str):
        return _type_error(where, "a string", file_id)
    return ApiError(404, f"No such File object: {file_id} (the reference server has no Files API).", where,
                    "file_not_found", validation=True)


def _image_part(part: dict[str, Any], pw: str) -> dict[str, Any]:
    """``InputImageContent``: an http(s) or data: ``image_url``, or a ``file_id``; ``detail`` enum."""
    url, file_id = part.get("image_url"), part.get("file_id")
    if url is None and file_id is None:
        raise invalid(f"Missing required parameter: '{pw}.image_url'.", f"{pw}.image_url", "missing_required_parameter")
    if url is not None:
        if not isinstance(url, str):
            raise _type_error(f"{pw}.image_url", "a string", url)
        if not re.match(r"^(https?://[^\s/]+|data:image/[A-Za-z0-9.+-]+;base64,)", url):
            raise invalid(f"Invalid '{pw}.image_url': expected an http(s) URL or a base64 data URL.",
                          f"{pw}.image_url", "invalid_image_url")
    elif file_id is not None:
        raise _no_such_file(file_id, f"{pw}.file_id")
    detail = part.get("detail")
    if detail is not None and detail not in IMAGE_DETAILS:
        raise invalid(f"Invalid value: '{detail}'. Supported values are: 'auto', 'high', 'low' and 'original'.",
                      f"{pw}.detail")
    image = dict(part)
    image.setdefault("detail", "auto")
    return image


def _file_part(part: dict[str, Any], pw: str) -> dict[str, Any]:
    """``InputFileContent``: exactly one of ``file_data`` (base64 / data URL), ``file_url``, ``file_id``."""
    given = [k for k in ("file_data", "file_url", "file_id") if part.get(k) is not None]
    if not given:
        raise invalid(f"Missing required parameter: '{pw}.file_data', '{pw}.file_url' or '{pw}.file_id'.",
                      f"{pw}.file_data", "missing_required_parameter")
    if "file_id" in given:
        raise _no_such_file(part["file_id"], f"{pw}.file_id")
    for key in given:
        if not isinstance(part[key], str):
            raise _type_error(f"{pw}.{key}", "a string", part[key])
    if "file_url" in given and not re.match(r"^https?://", part["file_url"]):
        raise invalid(f"Invalid '{pw}.file_url': expected an http(s) URL.", f"{pw}.file_url")
    return dict(part)


def _text_part(kind: str, text: str) -> dict[str, Any]:
    if kind == "output_text":
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {"type": "input_text", "text": text}


def normalize_input(raw: Any, store: Store, behaviour: Behaviour | None = None) -> list[dict[str, Any]]:
    """Turn ``input`` into stored item resources (each with an ``id`` and ``status``); ``behaviour``: the create
    request's deviations (``unknown_item_type_500``)."""
    if raw is None:
        return []
    if isinstance(raw, str):
        return [{"id": new_id("msg"), "type": "message", "role": "user", "status": "completed",
                 "content": [_text_part("input_text", raw)]}]
    if not isinstance(raw, list):
        raise _type_error("input", "a string or an array", raw)
    items: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise _type_error(where, "an object", item)
        itype = item.get("type")
        if itype is None:
            if "role" in item:
                itype = "message"
            elif isinstance(item.get("id"), str):
                itype = "item_reference"
            else:
                raise invalid(f"Missing required parameter: '{where}.type'.", f"{where}.type",
                              "missing_required_parameter")
        if itype not in INPUT_ITEM_TYPES:
            if behaviour is not None and behaviour.dev("unknown_item_type_500"):
                raise ApiError(500, "The server had an error while processing your request.", None, None,
                               "server_error")
            raise invalid(f"Invalid value: '{itype}'. Supported values are: "
                          f"{', '.join(sorted(INPUT_ITEM_TYPES))}.", f"{where}.type")
        items.append(_normalize_item(itype, item, where, store))
    return items


def _given_id(item: dict[str, Any], itype: str) -> str:
    ident = item.get("id")
    return ident if isinstance(ident, str) and ident else new_id(ID_PREFIX.get(itype, "item"))


def _require_str(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if value is None:
        raise invalid(f"Missing required parameter: '{where}.{key}'.", f"{where}.{key}", "missing_required_parameter")
    if not isinstance(value, str):
        raise _type_error(f"{where}.{key}", "a string", value)
    return value


def _normalize_item(itype: str, item: dict[str, Any], where: str, store: Store) -> dict[str, Any]:
    if itype == "message":
        role = item.get("role")
        if role not in ROLES:
            raise invalid(f"Invalid value: '{role}'. Supported values are: 'assistant', 'system', "
                          "'developer', and 'user'.", f"{where}.role")
        if "content" not in item:
            raise invalid(f"Missing required parameter: '{where}.content'.", f"{where}.content",
                          "missing_required_parameter")
        return {"id": _given_id(item, "message"), "type": "message", "role": role, "status": "completed",
                "content": _parts(item["content"], where, role)}
    if itype == "function_call":
        call: dict[str, Any] = {"id": _given_id(item, itype), "type": "function_call",
                "call_id": _require_str(item, "call_id", where), "name": _require_str(item, "name", where),
                "arguments": _require_str(item, "arguments", where), "status": "completed"}
        if isinstance(item.get("namespace"), str):
            call["namespace"] = item["namespace"]
        caller = item.get("caller")
        if caller is not None:
            if not isinstance(caller, dict) or caller.get("type") not in ("direct", "program") or (
                    caller.get("type") == "program" and not isinstance(caller.get("caller_id"), str)):
                raise invalid(f"Invalid value for '{where}.caller': expected {{\"type\": \"direct\"}} or "
                              "{\"type\": \"program\", \"caller_id\": ...}.", f"{where}.caller")
            call["caller"] = dict(caller)
        return call
    if itype == "function_call_output":
        call_id = _require_str(item, "call_id", where)
        output = item.get("output")
        if not isinstance(output, (str, list)):
            raise _type_error(f"{where}.output", "a string or an array", output)
        return {"id": _given_id(item, itype), "type": "function_call_output", "call_id": call_id,
                "output": output, "status": "completed"}
    if itype == "item_reference":
        ident = _require_str(item, "id", where)
        found = store.item(ident)
        if found is None:
            raise invalid(f"Item with id '{ident}' not found.", f"{where}.id", "item_not_found")
        return found
    out = dict(item)
    out["id"] = _given_id(item, itype)
    if itype in STATUS_REQUIRED and out.get("status") is None:
        out["status"] = "completed"
    if itype == "additional_tools":
        if item.get("role", "developer") != "developer":
            raise invalid("Invalid value: additional_tools items must have role 'developer'.", f"{where}.role")
        out["role"] = "developer"
        out["tools"] = normalize_tools(item.get("tools") if "tools" in item else [], f"{where}.tools")
    if itype == "reasoning":
        out.setdefault("summary", [])
    if itype == "compaction":
        _require_str(item, "encrypted_content", where)
    if itype == "program":
        for key in ("call_id", "code", "fingerprint"):
            _require_str(item, key, where)
    if itype == "program_output":
        _require_str(item, "call_id", where)
    if itype in ("tool_search_call", "tool_search_output"):
        check_execution(item, where)
    if itype == "tool_search_call" and not isinstance(item.get("arguments"), dict):
        raise invalid(f"Missing required parameter: '{where}.arguments'.", f"{where}.arguments",
                      "missing_required_parameter")
    if itype == "tool_search_output":
        if "tools" not in item:
            raise invalid(f"Missing required parameter: '{where}.tools'.", f"{where}.tools",
                          "missing_required_parameter")
        out["tools"] = normalize_tools(item.get("tools"), f"{where}.tools")
    return out


def prepare_create(body: dict[str, Any], behaviour: Behaviour, store: Store) -> Prepared:
    """Validate a ``CreateResponse`` body and resolve its ``previous_response_id`` chain."""
    check_unknown(body, CREATE_PARAMS | OPENRESPONSES_CREATE_PARAMS if behaviour.openresponses else CREATE_PARAMS)
    model = check_model(body, behaviour)
    unchecked = behaviour.dev("stream_skips_range_checks") and body.get("stream") is True
    temperature = _range(body, "temperature", 0, 2, behaviour.dev("accept_invalid_temperature") or unchecked)
    top_p = _range(body, "top_p", 0, 1, behaviour.dev("accept_invalid_top_p") or unchecked)
    max_out = _opt(body, "max_output_tokens", _is_int, "an integer")
    if max_out is not None and max_out < 16 and not behaviour.dev("accept_low_max_output_tokens"):
        raise invalid(f"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, "
                      f"but got {max_out} instead.", "max_output_tokens", "integer_below_min_value")
    lenient_types = behaviour.dev("accept_wrong_types")
    lenient_ranges = behaviour.dev("accept_invalid_ranges")
    top_logprobs = _opt(body, "top_logprobs", _is_int, "an integer")
    if top_logprobs is not None and not 0 <= top_logprobs <= 20 and not lenient_ranges:
        raise invalid("Invalid 'top_logprobs': expected an integer between 0 and 20.", "top_logprobs",
                      "integer_above_max_value" if top_logprobs > 20 else "integer_below_min_value")
    max_tool_calls = _opt(body, "max_tool_calls", _is_int, "an integer")
    if max_tool_calls is not None and max_tool_calls < 1 and not lenient_ranges:
        raise invalid("Invalid 'max_tool_calls': expected an integer >= 1.", "max_tool_calls",
                      "integer_below_min_value")
    instructions = body.get("instructions")
    if not lenient_types:
        _opt(body, "instructions", lambda v: isinstance(v, str), "a string")
        for flag in ("stream", "store", "background", "parallel_tool_calls"):
            _opt(body, flag, lambda v: isinstance(v, bool), "a boolean")
        for name in ("user", "safety_identifier", "prompt_cache_key", "previous_response_id"):
            _opt(body, name, lambda v: isinstance(v, str), "a string")
    if not isinstance(instructions, str):
        instructions = None if instructions is None else str(instructions)
    if isinstance(body.get("safety_identifier"), str) and len(body["safety_identifier"]) > 64 and not lenient_ranges:
        raise invalid("Invalid 'safety_identifier': string too long. Expected a string with maximum length 64.",
                      "safety_identifier", "string_above_max_length")
    service_tier = _enum(body.get("service_tier"), SERVICE_TIERS, "service_tier", behaviour)
    truncation = _enum(body.get("truncation"), frozenset({"auto", "disabled"}), "truncation", behaviour)
    include = _opt(body, "include", lambda v: isinstance(v, list), "an array")
    for value in include or []:
        _enum(value, INCLUDE_VALUES, "include", behaviour)
    reasoning = normalize_reasoning(body.get("reasoning"), behaviour)
    retention = _enum(body.get("prompt_cache_retention"), CACHE_RETENTIONS, "prompt_cache_retention", behaviour)
    cache_options = _prompt_cache_options(body.get("prompt_cache_options"), behaviour)
    _context_management(body.get("context_management"), behaviour)
    moderation = _moderation(body.get("moderation"), behaviour)
    stream_options = _opt(body, "stream_options", lambda v: isinstance(v, dict), "an object")
    if stream_options is not None:
        for key, value in stream_options.items():
            if key != "include_obfuscation":
                raise invalid(f"Unknown parameter: 'stream_options.{key}'.", f"stream_options.{key}",
                              "unknown_parameter")
            if not isinstance(value, bool):
                raise _type_error("stream_options.include_obfuscation", "a boolean", value)
    conversation = resolve_conversation(body.get("conversation"), store)
    if conversation is not None and body.get("previous_response_id") is not None:
        raise invalid("'conversation' and 'previous_response_id' cannot be used together.", "conversation",
                      "mutually_exclusive_parameters")
    prompt = body.get("prompt")
    if prompt is not None:
        if not isinstance(prompt, dict):
            raise _type_error("prompt", "an object", prompt)
        if not isinstance(prompt.get("id"), str):
            raise invalid("Missing required parameter: 'prompt.id'.", "prompt.id", "missing_required_parameter")
        raise ApiError(404, f"Prompt with id '{prompt['id']}' not found (the reference server stores no prompts).",
                       "prompt.id", "prompt_not_found", validation=True)
    metadata = _metadata(body)
    tools = normalize_tools(body.get("tools"))
    tool_choice = normalize_tool_choice(body.get("tool_choice"), tools)
    text = normalize_text(body.get("text"))
    store_flag = body.get("store") is not False
    background = body.get("background") is True
    if background and not store_flag:
        raise invalid("Background responses require 'store' to be true.", "background")
    try:
        input_items = normalize_input(body.get("input"), store, behaviour)
    except ApiError:
        if not behaviour.dev("accept_invalid_input"):
            raise
        input_items = []
    previous, context_before, prev_id = resolve_previous(body.get("previous_response_id"), behaviour, store)
    if conversation is not None:
        context_before = list(conversation.items)
    failure = _image_failure(input_items, background)
    params: dict[str, Any] = {
        "background": background,
        "instructions": instructions,
        "max_output_tokens": max_out,
        "max_tool_calls": max_tool_calls,
        "metadata": metadata if metadata is not None else {},
        "model": model,
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "previous_response_id": prev_id,
        "prompt_cache_key": body.get("prompt_cache_key"),
        "prompt_cache_retention": retention,
        "reasoning": reasoning,
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": "default" if service_tier in (None, "auto") else service_tier,
        "store": store_flag,
        "temperature": 1.0 if temperature is None else temperature,
        "text": text,
        "tool_choice": tool_choice,
        "tools": tools,
        "top_logprobs": 0 if top_logprobs is None else top_logprobs,
        "top_p": 1.0 if top_p is None else top_p,
        "truncation": truncation or "disabled",
    }
    if isinstance(body.get("user"), str):
        params["user"] = body["user"]
    if cache_options is not None:
        params["prompt_cache_options"] = cache_options
    if moderation is not None:
        params["moderation"] = moderation
    if conversation is not None:
        params["conversation"] = {"id": conversation.id}
    if behaviour.openresponses:  # Open Responses: number or null, no range given; echoed (0 by default)
        for penalty in sorted(OPENRESPONSES_CREATE_PARAMS):
            value = _opt(body, penalty, _is_number, "a number")
            params[penalty] = 0.0 if value is None else value
    return Prepared(params=params, input_items=input_items, context_before=context_before,
                    stream=body.get("stream") is True, background=background, store=store_flag,
                    previous=previous, raw=body, include=frozenset(include or ()), conversation=conversation,
                    failure=failure)


def resolve_conversation(raw: Any, store: Store) -> Any:
    """``conversation``: an id string or ``{"id": ...}`` naming a conversation created earlier."""
    if raw is None:
        return None
    if isinstance(raw, dict):
        ident = raw.get("id")
        if not isinstance(ident, str):
            raise invalid("Missing required parameter: 'conversation.id'.", "conversation.id",
                          "missing_required_parameter")
    elif isinstance(raw, str):
        ident = raw
    else:
        raise _type_error("conversation", "a string or an object", raw)
    found = store.conversation(ident)
    if found is None:
        raise ApiError(404, f"Conversation with id '{ident}' not found.", "conversation", "not_found",
                       validation=True)
    return found


def _image_urls(items: list[dict[str, Any]]) -> list[str]:
    return [part["image_url"] for item in items if item.get("type") == "message"
            for part in item.get("content") or [] if isinstance(part, dict) and part.get("type") == "input_image"
            and isinstance(part.get("image_url"), str)]


def _image_failure(items: list[dict[str, Any]], background: bool) -> dict[str, Any] | None:
    """Images on a ``.invalid`` host (RFC 2606: never resolvable) cannot be downloaded by anyone.

    Synchronously that is a 400; a background response has already been accepted, so it ends
    ``failed`` with ``failed_to_download_image`` - the deterministic trigger of ``status: failed``.
    """
    for url in _image_urls(items):
        host = (urlsplit(url).hostname or "") if url.startswith(("http://", "https://")) else ""
        if host == "invalid" or host.endswith(".invalid"):
            message = f"Error while downloading {url}."
            if background:
                return {"code": "failed_to_download_image", "message": message}
            raise invalid(message, "url", "invalid_image_url")
    return None


def resolve_previous(prev_id: Any, behaviour: Behaviour, store: Store
                     ) -> tuple[Record | None, list[dict[str, Any]], str | None]:
    """Look up ``previous_response_id``: ``(record, inherited context, id to echo)``."""
    if prev_id is None:
        return None, [], None
    if not isinstance(prev_id, str):
        raise _type_error("previous_response_id", "a string", prev_id)
    if behaviour.dev("ignore_previous_response_id"):
        return None, [], None
    record = store.get(prev_id)
    usable = record is not None and (record.stored or behaviour.dev("store_false_retrievable"))
    if record is None or not usable or behaviour.dev("store_ignored"):
        if behaviour.dev("accept_unknown_previous_response"):
            return None, [], prev_id
        raise invalid(f"Previous response with id '{prev_id}' not found.", "previous_response_id",
                      "previous_response_not_found")
    if not record.finished.is_set():
        raise invalid(f"Previous response with id '{prev_id}' is still in progress.", "previous_response_id",
                      "previous_response_in_progress")
    return record, list(record.context), prev_id
