"""The coverage denominator: every element of the API surface, per category, from the generated schemas.

Everything here is read from ``suite/schemas/<profile>/index.json`` (lists the schema generator derived from
the spec) and, for nested request options, item statuses and message roles, from
``components.json`` via :class:`SchemaWalker`. Nothing is typed by hand, so a new spec version moves
the denominator by itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache

from ..judge import schemas
from ..judge.checks._registry import endpoint_of
from ._schema_walk import SchemaWalker

__all__ = ["CATEGORIES", "Category", "catalogue", "known_anywhere"]

# Request parameters with a category of their own are not repeated under "parameter_options".
_OWN_CATEGORY = ("input", "tools", "tool_choice", "include")


@dataclass(frozen=True)
class Category:
    """One kind of element: key (JSON), title (humans), and where its element list comes from."""

    key: str
    title: str
    source: str
    elements: dict[str, str] = field(default_factory=dict)  # element -> short detail ("" if none)


# (key, title, source description) in display order.
CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("endpoints", "Endpoints", "index.json endpoints (non-beta), named like CheckContext.endpoint"),
    ("request_parameters", "Request parameters (create)", "index.json request_parameters"),
    ("parameter_options", "Parameter options", "CreateResponse property schemas (enum values, variants, fields)"),
    ("tool_choice", "tool_choice forms", "index.json tool_choice"),
    ("include", "include values", "index.json include"),
    ("tools", "Tool types", "index.json tools"),
    ("input_items", "Input item types", "index.json input_items"),
    ("input_roles", "Input message roles", "role enums of the input message schemas"),
    ("input_content_parts", "Input content part types", "index.json input_content_parts"),
    ("output_items", "Output item types", "index.json output_items; exercised where the server returns the item "
     "(a Response's output, the compact output, an input_items page) and a case checks it against its schema"),
    ("output_content_parts", "Output content part types", "index.json output_content_parts"),
    ("response_status", "Response.status values", "index.json response_status"),
    ("item_status", "Output item status values", "status enums of the output item schemas"),
    ("incomplete_reasons", "incomplete_details.reason values", "index.json incomplete_reasons"),
    ("stream_events", "Streaming event types", "index.json stream_event_types"),
)
CATEGORY_KEYS: tuple[str, ...] = tuple(c[0] for c in CATEGORIES)


def _defs(profile: str) -> dict:
    with open(schemas.schema_root(profile) / schemas.index(profile)["components_file"], encoding="utf-8") as fh:
        return json.load(fh)["$defs"]


def _endpoints(idx: dict) -> dict[str, str]:
    out: dict[str, str] = {}
    for ep in idx.get("endpoints", []):
        if ep.get("beta"):
            continue
        name = endpoint_of(ep["method"], ep["path"])
        if name == "other":
            name = ep.get("operationId") or f"{ep['method']} {ep['path']}"
        out[name] = f"{ep['method']} {ep['path']}"
    return out


def _tool_choice(idx: dict) -> dict[str, str]:
    out: dict[str, str] = {}
    for form in idx.get("tool_choice", []):
        if form.get("form") == "string":
            out.update({v: f'"{v}" ({form["schema"]})' for v in form.get("values", [])})
        else:
            out.update({f"type={t}": f'{{"type": "{t}"}} ({form["schema"]})' for t in form.get("types", [])})
    return out


def _roles(idx: dict, walker: SchemaWalker) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in idx.get("input_items", {}).get("message", []):
        for role in walker.string_values(walker.properties(walker.defs.get(name, {})).get("role", {})):
            out.setdefault(role, name)
            if name not in out[role].split(", "):
                out[role] += f", {name}"
    return out


def _item_status(idx: dict, walker: SchemaWalker) -> dict[str, str]:
    carriers: dict[str, list[str]] = {}
    for item_type, name in idx.get("output_items", {}).items():
        status = walker.properties(walker.defs.get(name, {})).get("status")
        for value in walker.string_values(status) if status is not None else []:
            carriers.setdefault(value, []).append(item_type)
    return {v: "on " + ", ".join(types) for v, types in carriers.items()}


def _options(idx: dict, walker: SchemaWalker) -> dict[str, str]:
    props = walker.properties(walker.defs.get(idx["roles"]["create_request"], {}))
    out: dict[str, str] = {}
    for param in idx.get("request_parameters", []):
        if param in _OWN_CATEGORY or param not in props:
            continue
        for element in walker.options(param, props[param]):
            out.setdefault(element, "")
    return out


def _joined(mapping: dict) -> dict[str, str]:
    return {k: ", ".join(v) if isinstance(v, list) else str(v) for k, v in mapping.items()}


@lru_cache(maxsize=None)
def catalogue(profile: str = "openai") -> tuple[Category, ...]:
    """Every category with its elements for ``profile`` (cached; treat as read-only)."""
    idx = schemas.index(profile)
    walker = SchemaWalker(_defs(profile))
    lists: dict[str, dict[str, str]] = {
        "endpoints": _endpoints(idx),
        "request_parameters": {p: "" for p in idx.get("request_parameters", [])},
        "parameter_options": _options(idx, walker),
        "tool_choice": _tool_choice(idx),
        "include": {v: "" for v in idx.get("include", [])},
        "tools": _joined(idx.get("tools", {})),
        "input_items": _joined(idx.get("input_items", {})),
        "input_roles": _roles(idx, walker),
        "input_content_parts": _joined(idx.get("input_content_parts", {})),
        "output_items": _joined(idx.get("output_items", {})),
        "output_content_parts": _joined(idx.get("output_content_parts", {})),
        "response_status": {v: "" for v in idx.get("response_status", [])},
        "item_status": _item_status(idx, walker),
        "incomplete_reasons": {v: "" for v in idx.get("incomplete_reasons", [])},
        "stream_events": {e: idx.get("events", {}).get(e, "") for e in idx.get("stream_event_types", [])},
    }
    return tuple(Category(key, title, source, lists[key]) for key, title, source in CATEGORIES)


def category(key: str, profile: str = "openai") -> Category:
    """One category of ``profile`` by key."""
    for cat in catalogue(profile):
        if cat.key == key:
            return cat
    raise KeyError(key)


@lru_cache(maxsize=None)
def known_anywhere(key: str) -> frozenset[str]:
    """Elements of category ``key`` in any profile: what a case may name without being wrong."""
    return frozenset(e for p in schemas.PROFILES for e in category(key, p).elements)
