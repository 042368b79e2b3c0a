"""What the model said: ``output_text`` (the assistant's text), ``function_call`` (a call it made) and
``json_output`` (structured output). All are behavioural: they judge a probe reply."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..._json import loads as json_loads
from ..._verdict import Finding
from ...record.exchange import Exchange
from .accessors import assistant_text, document
from .arguments import check_matches_arg, check_regex, schema_errors, schema_problem
from .compare import json_contains, json_equal, short
from .registry import SPEC, ExpectContext, Problems, assertion

__all__ = ["normalize_token", "text_findings"]

_QUOTES = ('"', "'", "`")


def normalize_token(text: str) -> str:
    """Strip whitespace, surrounding quotes/backticks and a trailing period (repeatedly).

    Why: a real model asked to "reply with exactly the token X" often says ``X.`` or ```X```;
    the probe is about following the instruction, not about punctuation. Case is kept.
    """
    previous = None
    while previous != text:
        previous = text
        text = text.strip()
        if text.endswith("."):
            text = text[:-1]
        if len(text) >= 2 and text[0] == text[-1] and text[0] in _QUOTES:
            text = text[1:-1]
    return text


@assertion(
    "output_text", basis="documented",
    spec_ref=SPEC + "/components/schemas/OutputTextContent",
    validate=check_matches_arg, behavioural=True, proof=("ignore_instructions", "parameters.instructions"),
)
def _output_text(arg: Any, ex: Exchange, ctx: ExpectContext) -> Problems:
    """The assistant's text satisfies ``equals`` / ``token`` / ``contains`` / ``not_contains`` / ``matches``.

    The text is the concatenation of the ``output_text`` parts of assistant ``message`` items in
    ``output``; ``token`` compares after :func:`normalize_token` (case-sensitive).
    """
    text, found, types = assistant_text(document(ex))
    if not found:
        yield Finding(f"response has no assistant message with output_text (output item types: {types})", "$.output")
        return
    yield from text_findings(arg, text)


def text_findings(arg: Mapping[str, Any], text: str) -> Problems:
    """``equals`` / ``token`` / ``contains`` / ``not_contains`` / ``matches`` on an assistant text."""
    if "equals" in arg and text != arg["equals"]:
        yield Finding(f"expected output text {short(arg['equals'])}, got {short(text)}")
    if "token" in arg and normalize_token(text) != arg["token"]:
        yield Finding(f"expected the token {arg['token']!r}, got {short(text)}")
    if "contains" in arg and arg["contains"] not in text:
        yield Finding(f"expected output text to contain {short(arg['contains'])}, got {short(text)}")
    if "not_contains" in arg and arg["not_contains"] in text:
        yield Finding(f"expected output text not to contain {short(arg['not_contains'])}, got {short(text)}")
    if "matches" in arg and not re.search(arg["matches"], text):
        yield Finding(f"expected output text to match /{arg['matches']}/, got {short(text)}")


def _validate_function_call_arg(arg: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(arg, dict):
        return
    for key, pattern in (arg.get("arguments_matches") or {}).items():
        yield from check_regex(f"arguments_matches.{key}", pattern)
    schema = arg.get("arguments_schema")
    if isinstance(schema, dict) and (problem := schema_problem(schema)) is not None:
        yield "arguments_schema", f"not a valid JSON Schema: {problem}"


def _function_call_problems(arg: dict[str, Any], item: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if not isinstance(item.get("call_id"), str) or not item["call_id"]:
        problems.append(f"call_id must be a non-empty string, got {short(item.get('call_id'))}")
    raw = item.get("arguments")
    if not isinstance(raw, str):
        return problems + [f"arguments must be a JSON string, got {short(raw)}"]
    try:
        args = json_loads(raw)
    except ValueError as exc:
        return problems + [f"arguments are not valid JSON ({exc}): {raw[:120]!r}"]
    if "arguments_schema" in arg:
        for err in schema_errors(arg["arguments_schema"], args, 3):
            problems.append(f"arguments {short(args)} do not match the schema: {err.json_path}: {err.message}")
    for key, wanted in (arg.get("arguments") or {}).items():
        if not isinstance(args, dict) or key not in args:
            problems.append(f"arguments lack {key!r}: {short(args)}")
        elif not json_contains(args[key], wanted):
            problems.append(f"argument {key!r}: expected {short(wanted)}, got {short(args[key])}")
    for key, pattern in (arg.get("arguments_matches") or {}).items():
        value = args.get(key) if isinstance(args, dict) else None
        if not isinstance(value, str) or not re.search(pattern, value):
            problems.append(f"argument {key!r}: expected a string matching /{pattern}/, got {short(value)}")
    return problems


@assertion(
    "function_call", basis="documented",
    spec_ref=SPEC + "/components/schemas/FunctionToolCall",
    validate=_validate_function_call_arg, behavioural=True, proof=("ignore_tool_choice", "streaming.function_call"),
)
def _function_call(arg: Any, ex: Exchange, ctx: ExpectContext) -> Problems:
    """``output`` holds a ``function_call`` item called ``name`` with a call_id and JSON arguments.

    The arguments must parse as JSON, validate against ``arguments_schema`` if given, contain
    the ``arguments`` key/values (subset) and match the ``arguments_matches`` regexes. One
    matching item suffices; ``count`` (if given) is the exact number of calls with that name.
    """
    doc = document(ex)
    output = doc.get("output") if isinstance(doc, dict) else None
    if not isinstance(output, list):
        yield Finding(f"response has no output array (output: {short(output)})", "$.output")
        return
    calls = [(i, it) for i, it in enumerate(output) if isinstance(it, dict) and it.get("type") == "function_call"]
    named = [(i, it) for i, it in calls if it.get("name") == arg["name"]]
    if not named:
        seen = [it.get("name") for _, it in calls]
        types = [it.get("type") for it in output if isinstance(it, dict)]
        yield Finding(
            f"no function_call named {arg['name']!r} in output (function calls: {seen}, item types: {types})",
            "$.output",
        )
        return
    if "count" in arg and len(named) != arg["count"]:
        yield Finding(f"expected {arg['count']} call(s) of {arg['name']!r}, got {len(named)}", "$.output")
    first_problems: list[str] = []
    for index, item in named:
        problems = _function_call_problems(arg, item)
        if not problems:
            return
        if not first_problems:
            first_problems = [f"output[{index}]: {p}" for p in problems]
    for problem in first_problems:
        yield Finding(problem, "$.output")


def _validate_json_output_arg(arg: Any) -> Iterator[tuple[str, str]]:
    if isinstance(arg, dict) and isinstance(arg.get("schema"), dict) and (
            problem := schema_problem(arg["schema"])) is not None:
        yield "schema", f"not a valid JSON Schema: {problem}"


@assertion(
    "json_output", basis="documented",
    spec_ref=SPEC + "/components/schemas/TextResponseFormatJsonSchema",
    validate=_validate_json_output_arg, behavioural=True, proof=("json_format_ignored", "streaming.json_schema"),
)
def _json_output(arg: Any, ex: Exchange, ctx: ExpectContext) -> Problems:
    """The output text parses as JSON (no code fences), validates against ``schema``, ``equals``/``contains``."""
    text, found, types = assistant_text(document(ex))
    if not found:
        yield Finding(f"response has no assistant message with output_text (output item types: {types})", "$.output")
        return
    try:
        value = json_loads(text)
    except ValueError as exc:
        yield Finding(f"output text is not JSON ({exc}): {short(text)}")
        return
    if "schema" in arg:
        for err in schema_errors(arg["schema"], value, 5):
            yield Finding(f"output JSON {short(value)} does not match the schema: {err.json_path}: {err.message}")
    if "equals" in arg and not json_equal(value, arg["equals"]):
        yield Finding(f"expected output JSON {short(arg['equals'])}, got {short(value)}")
    if "contains" in arg and not json_contains(value, arg["contains"]):
        yield Finding(f"expected output JSON to contain {short(arg['contains'])}, got {short(value)}")
