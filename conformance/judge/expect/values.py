"""The ``json`` assertion: values at a path of the response (or its body, events, or what the SDK returned)
satisfy explicit operators (``equals``, ``matches``, ``in``, ``type``, ``length``, ``gt``..., ``exists``, ``count``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..._json import loads as json_loads
from ..._verdict import Finding
from ...cases.paths import find_located
from ...record.exchange import Exchange
from .accessors import Fail, body_json, document
from .arguments import check_path, check_regex
from .behavioural import about_model_output
from .compare import json_contains, json_equal, json_type, path_label, range_label, range_ok, short, type_ok
from .registry import SPEC, ExpectContext, Inconclusive, Problems, assertion

_VALUE_OPS = ("equals", "not_equals", "matches", "in", "type", "contains", "length", "gt", "gte", "lt", "lte")


def _validate_json_arg(arg: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(arg, dict):
        return
    yield from check_path("path", arg.get("path"))
    yield from check_regex("matches", arg.get("matches"))
    ops = [op for op in _VALUE_OPS + ("exists", "count") if op in arg]
    if not ops:
        yield "", f"json needs at least one operator ({', '.join(_VALUE_OPS + ('exists', 'count'))})"
    if arg.get("exists") is False and any(op in arg for op in _VALUE_OPS):
        yield "exists", "exists: false cannot be combined with value operators"
    if arg.get("if_present") and ("exists" in arg or "count" in arg or not any(op in arg for op in _VALUE_OPS)):
        yield "if_present", "if_present needs value operators and cannot be combined with exists or count"


def _value_problem(op: str, expected: Any, value: Any) -> str | None:
    """None when ``value`` satisfies ``op expected``, else what is wrong."""
    if op == "equals":
        return None if json_equal(value, expected) else f"expected {short(expected)}, got {short(value)}"
    if op == "not_equals":
        return f"expected anything but {short(expected)}" if json_equal(value, expected) else None
    if op == "matches":
        if not isinstance(value, str):
            return f"expected a string matching /{expected}/, got {short(value)}"
        return None if re.search(expected, value) else f"{short(value)} does not match /{expected}/"
    if op == "in":
        ok = any(json_equal(value, e) for e in expected)
        return None if ok else f"expected one of {short(expected)}, got {short(value)}"
    if op == "type":
        wanted = expected if isinstance(expected, list) else [expected]
        ok = any(type_ok(value, w) for w in wanted)
        return None if ok else f"expected type {' or '.join(wanted)}, got {json_type(value)} {short(value, 60)}"
    if op == "contains":
        if isinstance(value, str):
            ok = isinstance(expected, str) and expected in value
        elif isinstance(value, list):
            ok = any(json_contains(item, expected) for item in value)
        elif isinstance(value, dict):
            ok = json_contains(value, expected)
        else:
            ok = False
        return None if ok else f"expected {short(value)} to contain {short(expected)}"
    if op == "length":
        if not isinstance(value, (str, list, dict)):
            return f"expected something with a length, got {json_type(value)}"
        return None if range_ok(len(value), expected) else f"expected length {range_label(expected)}, got {len(value)}"
    if op in ("gt", "gte", "lt", "lte"):
        if isinstance(expected, bool) or not isinstance(expected, (int, float)):  # a !var that captured no number
            raise Inconclusive(f"{op} needs a number to compare with, got {json_type(expected)} {short(expected, 60)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected a number, got {json_type(value)} {short(value, 60)}"
        ok = {"gt": value > expected, "gte": value >= expected, "lt": value < expected, "lte": value <= expected}[op]
        sign = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        return None if ok else f"expected {sign} {expected}, got {value}"
    raise Inconclusive(f"unknown json operator {op!r}")  # pragma: no cover - schema forbids it


def _json_source(arg: dict[str, Any], ex: Exchange) -> Any:
    source = arg.get("source", "response")
    if source == "sdk":
        from .sdk import sdk_value

        return sdk_value(ex)
    if source == "events":
        if ex.events is None:
            raise Fail("source: events needs a streamed step, but no events were recorded")
        out = []
        for ev in ex.events:
            try:
                out.append(json_loads(ev.data))
            except ValueError:
                out.append(ev.data)
        return out
    if source == "body":
        return body_json(ex)
    return document(ex)


@assertion("json", basis="documented", spec_ref=SPEC + "/components/schemas/Response", validate=_validate_json_arg,
           behavioural=about_model_output, proof=("no_metadata_echo", "parameters.metadata_echo"))
def _json(arg: Any, ex: Exchange, ctx: ExpectContext) -> Problems:
    """Values at ``path`` satisfy every given operator (all matches must; at least one must exist).

    ``source``: ``response`` (default: the body, or a stream's terminal response), ``body``,
    ``events`` (the list of event data objects of a streamed step) or ``sdk`` (what the official SDK
    returned, ``model_dump``-ed: an SDK step's object, e.g. a deleted-response confirmation or a page).
    Operators: equals, not_equals, matches, in, type, contains, length, gt, gte, lt, lte
    (each applies to every match and needs >= 1 match), ``exists: true|false`` and
    ``count: N | {min, max}`` (number of matches). ``if_present: true``: a path that matches nothing passes,
    for fields the spec lets a server omit (the optional echoes of request parameters: ``truncation``,
    ``reasoning``, ``service_tier``, ``text``...); a value that is present must satisfy the operators.
    """
    doc = _json_source(arg, ex)
    path = arg["path"]
    matches = find_located(doc, path)
    if "exists" in arg:
        if arg["exists"] and not matches:
            yield Finding(f"expected {path!r} to exist, but it matched nothing")
        if not arg["exists"] and matches:
            shown = ", ".join(f"{path_label(loc)}={short(v, 60)}" for loc, v in matches[:3])
            yield Finding(f"expected {path!r} to match nothing, found {len(matches)}: {shown}", matches[0][0])
    if "count" in arg and not range_ok(len(matches), arg["count"]):
        yield Finding(f"expected {path!r} to match {range_label(arg['count'])} values, got {len(matches)}")
    ops = [op for op in _VALUE_OPS if op in arg]
    if not ops:
        return
    if not matches:
        if not arg.get("if_present"):
            yield Finding(f"{path!r} matched nothing (needed for {', '.join(ops)})")
        return
    for location, value in matches:
        for op in ops:
            problem = _value_problem(op, arg[op], value)
            if problem:
                yield Finding(f"{path_label(location)}: {problem}", path_label(location))
