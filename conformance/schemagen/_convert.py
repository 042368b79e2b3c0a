"""OpenAPI 3.x schema objects -> plain JSON Schema 2020-12, plus the union rewriting.

Everything here is a pure function of its input so a rebuild is byte-identical.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable

REF_PREFIX = "#/components/schemas/"
DEFS_PREFIX = "#/$defs/"

# Keywords whose value is a single subschema / a map of subschemas / a list of subschemas.
_SCHEMA_KEYS = {
    "items", "not", "if", "then", "else", "contains", "propertyNames",
    "unevaluatedItems", "unevaluatedProperties", "additionalItems",
}
_SCHEMA_MAP_KEYS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
_SCHEMA_LIST_KEYS = {"allOf", "anyOf", "oneOf", "prefixItems"}
# OpenAPI-only or purely documentary keys we drop.
_DROP_KEYS = {
    "discriminator", "example", "examples", "externalDocs", "xml", "description",
    "$recursiveAnchor", "nullable", "$comment",
}
# Formats that are JSON Schema vocabulary; OpenAPI-only ones (unixtime, int64, binary...) are dropped.
# Formats are annotations only: the validators are built without a format checker.
_STANDARD_FORMATS = {
    "date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname",
    "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template",
    "json-pointer", "relative-json-pointer", "regex",
}


def ref_name(ref: str) -> str | None:
    if ref.startswith(REF_PREFIX):
        return ref[len(REF_PREFIX):]
    if ref.startswith(DEFS_PREFIX):
        return ref[len(DEFS_PREFIX):]
    return None


def collect_refs(node: Any) -> set[str]:
    """Component names referenced anywhere inside an (OpenAPI) schema, data values excluded."""
    out: set[str] = set()

    def walk(n: Any) -> None:
        if isinstance(n, dict):
            for k, v in n.items():
                if k == "$ref" and isinstance(v, str):
                    name = ref_name(v)
                    if name is not None:
                        out.add(name)
                elif k in _SCHEMA_KEYS or (k == "additionalProperties" and isinstance(v, dict)):
                    walk(v)
                elif k in _SCHEMA_MAP_KEYS and isinstance(v, dict):
                    for sub in v.values():
                        walk(sub)
                elif k in _SCHEMA_LIST_KEYS and isinstance(v, list):
                    for sub in v:
                        walk(sub)

    walk(node)
    return out


def closure(schemas: dict[str, Any], roots: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        if name not in schemas:
            raise KeyError(f"unresolved component {name!r}")
        seen.add(name)
        stack.extend(collect_refs(schemas[name]) - seen)
    return seen


class Converter:
    """Converts one component at a time; records every semantic relaxation it applies."""

    def __init__(self) -> None:
        self.relaxations: list[dict[str, str]] = []
        self.conversions: dict[str, int] = {}

    def _count(self, what: str) -> None:
        self.conversions[what] = self.conversions.get(what, 0) + 1

    def convert(self, node: Any, where: str, component: str) -> Any:
        if not isinstance(node, dict):
            return copy.deepcopy(node)
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k.startswith("x-"):
                continue
            if k in _DROP_KEYS:
                if k in ("discriminator", "example", "examples"):
                    self._count(f"dropped {k}")
                continue
            if k == "$ref":
                name = ref_name(v)
                out[k] = DEFS_PREFIX + name if name is not None else v
            elif k == "$recursiveRef":
                # Draft 2019-09 recursion: '#' is the enclosing component (no dynamic scope is used).
                out["$ref"] = DEFS_PREFIX + component
                self._count("$recursiveRef -> $ref")
            elif k == "format":
                if v in _STANDARD_FORMATS:
                    out[k] = v
                else:
                    self._count(f"dropped non-standard format {v}")
            elif k in _SCHEMA_KEYS:
                out[k] = self.convert(v, f"{where}/{k}", component)
            elif k == "additionalProperties":
                out[k] = self.convert(v, f"{where}/{k}", component) if isinstance(v, dict) else v
            elif k in _SCHEMA_MAP_KEYS and isinstance(v, dict):
                out[k] = {
                    name: self.convert(sub, f"{where}/{k}/{_esc(name)}", component)
                    for name, sub in v.items()
                }
            elif k in _SCHEMA_LIST_KEYS and isinstance(v, list):
                out[k] = [self.convert(sub, f"{where}/{k}/{i}", component) for i, sub in enumerate(v)]
            elif k in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(v, bool):
                # OpenAPI 3.0 boolean form: fold into the numeric bound.
                bound = "minimum" if k == "exclusiveMinimum" else "maximum"
                if v and bound in node:
                    out[k] = node[bound]
                    self._count("boolean exclusive bound")
            else:
                out[k] = copy.deepcopy(v)
        if isinstance(node.get("exclusiveMinimum"), bool) and node["exclusiveMinimum"]:
            out.pop("minimum", None)
        if isinstance(node.get("exclusiveMaximum"), bool) and node["exclusiveMaximum"]:
            out.pop("maximum", None)
        if node.get("nullable") is True:
            out = _allow_null(out)
            self._count("nullable -> null allowed")
        return out


def _esc(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _allow_null(schema: dict[str, Any]) -> dict[str, Any]:
    t = schema.get("type")
    simple = isinstance(t, str) and not any(k in schema for k in ("$ref", "allOf", "anyOf", "oneOf", "not", "const"))
    if simple:
        schema = dict(schema)
        schema["type"] = [t, "null"]
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = list(schema["enum"]) + [None]
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


# --------------------------------------------------------------------------- union analysis


class Facts:
    """What a schema guarantees about the `type` discriminator of an accepted instance."""

    __slots__ = ("is_object", "requires_type", "values")

    def __init__(self, is_object: bool = False, requires_type: bool = False, values: tuple | None = None):
        self.is_object = is_object
        self.requires_type = requires_type
        self.values = values  # ordered tuple of allowed string values, or None if unconstrained

    @property
    def pinned(self) -> bool:
        return self.is_object and self.requires_type and self.values is not None and len(self.values) > 0


def _and(parts: list[Facts]) -> Facts:
    f = Facts()
    vals: tuple | None = None
    for p in parts:
        f.is_object = f.is_object or p.is_object
        f.requires_type = f.requires_type or p.requires_type
        if p.values is not None:
            vals = p.values if vals is None else tuple(v for v in vals if v in p.values)
    f.values = vals
    return f


def _or(parts: list[Facts]) -> Facts:
    if not parts:
        return Facts()
    f = Facts(all(p.is_object for p in parts), all(p.requires_type for p in parts))
    if all(p.values is not None for p in parts):
        vals: list = []
        for p in parts:
            vals.extend(v for v in p.values if v not in vals)  # type: ignore[union-attr]
        f.values = tuple(vals)
    return f


class UnionAnalyzer:
    def __init__(self, defs: dict[str, Any]):
        self.defs = defs
        self._stack: set[str] = set()

    def resolve(self, node: Any) -> Any:
        seen = set()
        while isinstance(node, dict) and set(node) - {"title", "deprecated", "default"} == {"$ref"}:
            name = ref_name(node["$ref"])
            if name is None or name in seen:
                break
            seen.add(name)
            node = self.defs[name]
        return node

    def facts(self, node: Any) -> Facts:
        if not isinstance(node, dict):
            return Facts()
        parts: list[Facts] = []
        own = Facts()
        t = node.get("type")
        own.is_object = t == "object"
        own.requires_type = "type" in node.get("required", [])
        prop = node.get("properties", {}).get("type")
        if isinstance(prop, dict):
            prop = self.resolve(prop)
            if "const" in prop and isinstance(prop["const"], str):
                own.values = (prop["const"],)
            elif isinstance(prop.get("enum"), list) and all(isinstance(v, str) for v in prop["enum"]):
                own.values = tuple(prop["enum"])
        parts.append(own)
        if "$ref" in node:
            name = ref_name(node["$ref"])
            if name is None or name in self._stack:
                parts.append(Facts())
            else:
                self._stack.add(name)
                try:
                    parts.append(self.facts(self.defs[name]))
                finally:
                    self._stack.discard(name)
        for p in node.get("allOf", []):
            parts.append(self.facts(p))
        for key in ("anyOf", "oneOf"):
            if key in node:
                parts.append(_or([self.facts(a) for a in node[key]]))
        return _and(parts)

    def may_be_object(self, node: Any, depth: int = 0) -> bool:
        if not isinstance(node, dict) or depth > 50:
            return True
        t = node.get("type")
        if isinstance(t, str) and t != "object":
            return False
        if isinstance(t, list) and "object" not in t:
            return False
        for key in ("enum",):
            if isinstance(node.get(key), list) and not any(isinstance(v, dict) for v in node[key]):
                return False
        if "const" in node and not isinstance(node["const"], dict):
            return False
        if "$ref" in node:
            name = ref_name(node["$ref"])
            if name is not None and name in self.defs and not self.may_be_object(self.defs[name], depth + 1):
                return False
        for p in node.get("allOf", []):
            if not self.may_be_object(p, depth + 1):
                return False
        for key in ("anyOf", "oneOf"):
            if key in node and not any(self.may_be_object(a, depth + 1) for a in node[key]):
                return False
        return True


def discriminated(arms: list[Any], facts: list[Facts]) -> dict[str, Any]:
    """Exactly-equivalent rewrite of anyOf(arms) where every arm pins `type` (values may overlap:
    a value shared by several arms dispatches to anyOf of those arms)."""
    values: list[str] = []
    for f in facts:
        values.extend(v for v in f.values if v not in values)  # type: ignore[union-attr]
    # group values by the exact set of arms that accept them, keeping first-seen order
    groups: dict[tuple[int, ...], list[str]] = {}
    for v in values:
        key = tuple(i for i, f in enumerate(facts) if v in f.values)  # type: ignore[operator]
        groups.setdefault(key, []).append(v)
    branches = []
    for key, vals in groups.items():
        cond: dict[str, Any] = {"const": vals[0]} if len(vals) == 1 else {"enum": vals}
        then = copy.deepcopy(arms[key[0]]) if len(key) == 1 else {"anyOf": [copy.deepcopy(arms[i]) for i in key]}
        branches.append({
            "if": {"type": "object", "properties": {"type": cond}, "required": ["type"]},
            "then": then,
        })
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": values}},
        "allOf": branches,
    }
