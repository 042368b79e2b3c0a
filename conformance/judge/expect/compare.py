"""JSON values as the assertions compare and show them: JSON equality and containment, JSON type names,
``{min, max}`` ranges, and the compact rendering every message uses."""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["json_contains", "json_equal", "json_type", "path_label", "range_label", "range_ok", "short", "type_ok"]


def short(value: Any, limit: int = 160) -> str:
    """A compact JSON rendering for messages (truncated, never raising)."""
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def path_label(location: str) -> str:
    """A match's location for a message: ``$`` for the document itself."""
    return location or "$"


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1``, ``1`` equals ``1.0``, objects ignore key order."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def json_contains(container: Any, part: Any) -> bool:
    """Subset match: every key of an expected object is present with a containing value."""
    if isinstance(part, dict):
        return isinstance(container, dict) and all(
            k in container and json_contains(container[k], v) for k, v in part.items()
        )
    return json_equal(container, part)


def json_type(value: Any) -> str:
    """The JSON Schema type name of ``value`` (a whole float is an ``integer``, as JSON Schema counts it)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def type_ok(value: Any, wanted: str) -> bool:
    """Is ``value`` of JSON type ``wanted`` (an integer is a number too)?"""
    actual = json_type(value)
    return actual == wanted or (wanted == "number" and actual == "integer")


def range_ok(value: int, spec: Any) -> bool:
    """``value`` equals ``spec``, or lies within a ``{min, max}`` mapping (either bound optional)."""
    if isinstance(spec, dict):
        return spec.get("min", -math.inf) <= value <= spec.get("max", math.inf)
    return value == spec


def range_label(spec: Any) -> str:
    """How a message states a count or range: ``3``, ``>= 1 and <= 5``."""
    if isinstance(spec, dict):
        parts = []
        if "min" in spec:
            parts.append(f">= {spec['min']}")
        if "max" in spec:
            parts.append(f"<= {spec['max']}")
        return " and ".join(parts)
    return str(spec)
