"""The small parts of the generated request schemas the fuzzer samples from: enums and numeric ranges.

Read from the same ``components.json`` the checks validate against (``conformance.judge.schemas``), so a spec update
that adds an ``include`` value or widens a range changes what the fuzzer sends without a code change. The
recursive or very large parts (input items, content parts, tools, JSON Schemas) are written by hand in
``strategies.py``: sampling them from the schema yields mostly requests no server can serve meaningfully
(docs/fuzz.md, "Where the strategies come from").
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from ..judge import schemas


@lru_cache(maxsize=4)
def _defs(profile: str = "openai") -> dict[str, Any]:
    root = schemas.schema_root(profile)
    with open(root / schemas.index(profile)["components_file"], encoding="utf-8") as fh:
        defs = json.load(fh)["$defs"]
    return defs if isinstance(defs, dict) else {}


def _unwrap(node: Any, profile: str) -> Any:
    """Follow ``$ref`` and pick the non-null arm of a nullable ``anyOf``."""
    for _ in range(10):
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node = _defs(profile).get(ref.rsplit("/", 1)[1], {})
            continue
        arms = [a for a in node.get("anyOf") or [] if not (isinstance(a, dict) and a.get("type") == "null")]
        if "anyOf" in node and len(arms) == 1:
            node = arms[0]
            continue
        return node
    return node


def _property(component: str, prop: str, profile: str) -> Any:
    """``component``'s property ``prop``, looked up through ``allOf`` arms; {} when absent."""
    todo = [_defs(profile).get(component, {})]
    while todo:
        node = _unwrap(todo.pop(0), profile)
        if not isinstance(node, dict):
            continue
        found = (node.get("properties") or {}).get(prop)
        if found is not None:
            return _unwrap(found, profile)
        todo.extend(node.get("allOf") or [])
    return {}


def enum(component: str, prop: str | None = None, profile: str = "openai") -> tuple[str, ...]:
    """The enum of ``component`` (or of its property ``prop``; of an array's items); () when there is none."""
    node = _property(component, prop, profile) if prop else _unwrap(_defs(profile).get(component, {}), profile)
    if isinstance(node, dict) and node.get("type") == "array":
        node = _unwrap(node.get("items"), profile)
    values = node.get("enum") if isinstance(node, dict) else None
    return tuple(v for v in values or () if isinstance(v, str))


def bounds(component: str, prop: str, profile: str = "openai") -> tuple[float | None, float | None]:
    """``(minimum, maximum)`` of a numeric property (None where the schema gives no bound)."""
    node = _property(component, prop, profile)
    if not isinstance(node, dict):
        return None, None
    return node.get("minimum"), node.get("maximum")


def max_length(component: str, prop: str, profile: str = "openai") -> int | None:
    node = _property(component, prop, profile)
    value = node.get("maxLength") if isinstance(node, dict) else None
    return value if isinstance(value, int) else None
