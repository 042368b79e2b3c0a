"""The deterministic model: the DESIGN.md "Deterministic probes" table, implemented literally.

The model sees a flat conversation of :class:`Turn` s (the whole ``previous_response_id``
chain, inputs *and* outputs, then the current input) plus the request's instructions,
tools, tool_choice and text format.  It returns a :class:`Reply`; truncation by
``max_output_tokens`` and usage accounting are the response builder's business.

Precedence (first match wins), chosen so that a real instruction-following model would
behave the same on the suite's cases:

1. a function call forced by ``tool_choice`` (a named function, ``required``, or
   ``allowed_tools`` with mode ``required``);
2. function result: the last item of the current input is a ``function_call_output``;
3. ``call the function <name>`` in the latest user message (a declared function tool,
   ``tool_choice`` not ``none``);
4. a refusal (a ``refusal`` content part) when the latest user message says ``reply with a refusal``;
5. JSON, when ``text.format`` is ``json_schema`` / ``json_object``;
6. the last directive (token, code word, count); user directives beat
   instructions/system/developer ones;
7. ``OK``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_T = r"\s*[:\"'`\u201c\u2018]?\s*([A-Za-z0-9_-]+)"
TOKEN_RE = re.compile(r"reply with exactly the token" + _T, re.IGNORECASE)
CODE_REQUEST_RE = re.compile(r"reply with exactly the code word", re.IGNORECASE)
CODE_IS_RE = re.compile(r"the code word is" + _T, re.IGNORECASE)
COUNT_RE = re.compile(r"count from 1 to (\d+)", re.IGNORECASE)
REFUSAL_RE = re.compile(r"reply with a refusal\b", re.IGNORECASE)
REFUSAL = "I'm sorry, but I can't help with that."
CALL_RE = re.compile(r"call the function\s*[\"'`]?([A-Za-z0-9_-]+)", re.IGNORECASE)
_VALUE = r"\s+set\s+to\s+(?:\"([^\"]*)\"|'([^']*)'|([^\s,;]+))"
_ANY_SET_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)" + _VALUE, re.IGNORECASE)
MAX_COUNT = 10_000

SYSTEM_ROLES = frozenset({"system", "developer"})


@dataclass(frozen=True)
class Turn:
    """One conversation item as the model sees it."""

    kind: str  # "message" | "function_call" | "function_call_output" | "tool_output" (a tool's result text)
    role: str  # message role; "assistant" for function calls, "tool" for outputs
    text: str
    name: str = ""


@dataclass
class ModelInput:
    """Everything the model conditions on."""

    instructions: str | None
    conversation: list[Turn]
    current_input: list[Turn]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = "auto"
    text_format: dict[str, Any] = field(default_factory=lambda: {"type": "text"})


@dataclass(frozen=True)
class Reply:
    """What the model produced: text, or one function call (``arguments`` is a JSON string)."""

    kind: str  # "text" | "function_call" | "refusal" (``text`` is the refusal message)
    text: str = ""
    name: str = ""
    arguments: str = ""
    namespace: str = ""  # a namespaced function's namespace (``NamespaceToolParam``)


def count_tokens(text: str | None) -> int:
    """Reference token counting: one token per whitespace-separated word."""
    return len(text.split()) if text else 0


def input_token_count(inp: ModelInput) -> int:
    """Input tokens: instructions plus every conversation item's text."""
    return count_tokens(inp.instructions) + sum(count_tokens(t.text) for t in inp.conversation)


def _function_tools(inp: ModelInput) -> list[dict[str, Any]]:
    return [t for t in inp.tools if isinstance(t, dict) and t.get("type") == "function" and t.get("name")]


def _forced_function(inp: ModelInput, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    choice = inp.tool_choice
    by_name = {t["name"]: t for t in tools}
    if isinstance(choice, dict):
        if choice.get("type") == "function":
            return by_name.get(str(choice.get("name")))
        if choice.get("type") == "allowed_tools" and choice.get("mode") == "required":
            allowed = [by_name[a["name"]] for a in choice.get("tools") or []
                       if isinstance(a, dict) and a.get("type") == "function" and a.get("name") in by_name]
            return _preferred(inp, allowed)
        return None
    if choice == "required":
        return _preferred(inp, tools)
    return None


def _preferred(inp: ModelInput, candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The candidate the latest user message names (``call the function X``), else the first."""
    named = _called_name(inp)
    for tool in candidates:
        if named is not None and tool["name"].lower() == named.lower():
            return tool
    return candidates[0] if candidates else None


def _latest_user_text(inp: ModelInput) -> str | None:
    for turn in reversed(inp.conversation):
        if turn.kind == "message" and turn.role == "user":
            return turn.text
    return None


def _called_name(inp: ModelInput) -> str | None:
    text = _latest_user_text(inp)
    if not text:
        return None
    matches = CALL_RE.findall(text)
    return matches[-1] if matches else None


def _all_texts(inp: ModelInput) -> list[str]:
    texts = [inp.instructions] if inp.instructions else []
    return texts + [t.text for t in inp.conversation if t.text]


def find_set_values(texts: list[str], prop: str) -> str | None:
    """The last ``<prop> set to <V>`` value in ``texts`` (quotes stripped), or ``None``."""
    pattern = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(prop) + _VALUE, re.IGNORECASE)
    found: str | None = None
    for text in texts:
        for m in pattern.finditer(text):
            found = _clean_value(m)
    return found


def _all_set_values(texts: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for text in texts:
        for m in _ANY_SET_RE.finditer(text):
            pairs[m.group(1)] = _clean_value(m, offset=1)
    return pairs


def _clean_value(m: re.Match[str], offset: int = 0) -> str:
    quoted = m.group(1 + offset) if m.group(1 + offset) is not None else m.group(2 + offset)
    if quoted is not None:
        return quoted
    return m.group(3 + offset).rstrip(".!?")


def _schema_type(schema: dict[str, Any]) -> str | None:
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), None)
    if typ is None:
        if "properties" in schema:
            return "object"
        for key in ("anyOf", "oneOf", "allOf"):
            members = schema.get(key)
            if isinstance(members, list) and members and isinstance(members[0], dict):
                return _schema_type(members[0])
    return typ if isinstance(typ, str) else None


def _auto_value(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw


def value_for(schema: Any, raw: str | None, texts: list[str]) -> Any:
    """A value valid for ``schema``: ``raw`` coerced to its type, else the type's default."""
    if not isinstance(schema, dict):
        return raw if raw is not None else ""
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        members = schema.get(key)
        if isinstance(members, list) and members and "type" not in schema:
            non_null = [m for m in members if isinstance(m, dict) and m.get("type") != "null"]
            return value_for(non_null[0] if non_null else members[0], raw, texts)
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        if raw is not None:
            for option in enum:
                if str(option).lower() == raw.lower():
                    return option
        return enum[0]
    typ = _schema_type(schema)
    if typ == "object":
        return object_for(schema, texts)
    if typ == "array":
        return [value_for(schema.get("items", {}), raw, texts)] if raw is not None else []
    if typ == "null":
        return None
    if raw is None:
        return {"integer": 0, "number": 0, "boolean": False}.get(typ or "", "")
    if typ == "integer":
        try:
            return int(float(raw))
        except ValueError:
            return 0
    if typ == "number":
        value = _auto_value(raw)
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
    if typ == "boolean":
        return raw.lower() in ("true", "yes", "1", "on")
    return raw


def object_for(schema: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    """An object with every property of ``schema`` filled from ``<prop> set to <V>``."""
    props = schema.get("properties")
    if not isinstance(props, dict):
        return {}
    return {name: value_for(sub, find_set_values(texts, name), texts) for name, sub in props.items()}


def _directive_reply(inp: ModelInput) -> str | None:
    """Reply from the last token / code word / count directive (user level beats system level)."""
    levels: dict[int, tuple[str, str] | None] = {0: None, 1: None}
    sources: list[tuple[int, str]] = []
    if inp.instructions:
        sources.append((0, inp.instructions))
    for turn in inp.conversation:
        if turn.kind != "message":
            continue
        if turn.role == "user":
            sources.append((1, turn.text))
        elif turn.role in SYSTEM_ROLES:
            sources.append((0, turn.text))
    for level, text in sources:
        found: list[tuple[int, str, str]] = []
        found += [(m.start(), "token", m.group(1)) for m in TOKEN_RE.finditer(text)]
        found += [(m.start(), "code", "") for m in CODE_REQUEST_RE.finditer(text)]
        found += [(m.start(), "count", m.group(1)) for m in COUNT_RE.finditer(text)]
        if found:
            _, kind, arg = max(found)
            levels[level] = (kind, arg)
    directive = levels[1] or levels[0]
    if directive is None:
        return None
    kind, arg = directive
    if kind == "token":
        return arg
    if kind == "count":
        n = min(int(arg), MAX_COUNT)
        return " ".join(str(i) for i in range(1, n + 1)) if n >= 1 else "OK"
    word = "UNKNOWN"
    for text in _all_texts(inp):
        for m in CODE_IS_RE.finditer(text):
            word = m.group(1)
    return word


def _function_reply(tool: dict[str, Any], texts: list[str]) -> Reply:
    params = tool.get("parameters")
    args = object_for(params, texts) if isinstance(params, dict) else {}
    return Reply("function_call", name=tool["name"], arguments=json.dumps(args), namespace=str(tool.get("namespace") or ""))


def _function_output_text(turn: Turn) -> str:
    return turn.text


def generate(inp: ModelInput, *, probes: bool = True, honour_tool_choice: bool = True,
             honour_format: bool = True, ignored_reply: str = "OK") -> Reply:
    """Run the probe table on ``inp``. The keyword switches exist for the server's deviations and variants
    (``probes=False``: the model says ``ignored_reply`` to everything)."""
    if not probes:
        return Reply("text", text=ignored_reply)
    texts = _all_texts(inp)
    tools = _function_tools(inp)
    if tools and honour_tool_choice:
        forced = _forced_function(inp, tools)
        if forced is not None:
            return _function_reply(forced, texts)
    if inp.current_input and inp.current_input[-1].kind == "function_call_output":
        return Reply("text", text=_function_output_text(inp.current_input[-1]))
    if tools and inp.tool_choice != "none":
        named = _called_name(inp)
        if named is not None:
            for tool in tools:
                if tool["name"].lower() == named.lower():
                    return _function_reply(tool, texts)
    if REFUSAL_RE.search(_latest_user_text(inp) or ""):
        return Reply("refusal", text=REFUSAL)
    fallback = _directive_reply(inp) or "OK"
    fmt = inp.text_format if isinstance(inp.text_format, dict) else {}
    if honour_format and fmt.get("type") == "json_schema":
        schema: dict[str, Any] = fmt["schema"] if isinstance(fmt.get("schema"), dict) else {}
        if _schema_type(schema) == "object" or "properties" in schema:
            doc: Any = object_for(schema, texts)
        else:
            doc = value_for(schema, None, texts)
        return Reply("text", text=json.dumps(doc))
    if honour_format and fmt.get("type") == "json_object":
        pairs = {k: _auto_value(v) for k, v in _all_set_values(texts).items()}
        return Reply("text", text=json.dumps(pairs or {"result": fallback}))
    return Reply("text", text=fallback)
