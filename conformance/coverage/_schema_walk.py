"""Walk the generated JSON Schemas (``suite/schemas/<profile>/components.json``) to list request options.

Why a walker rather than a list: the coverage denominator must be recomputable from the committed
schemas alone. The rules are few and mechanical (documented in docs/coverage.md):

* ``$ref`` is followed, ``anyOf``/``oneOf`` are flattened into their non-null alternatives, ``allOf``
  members are merged (conditional ``if/then`` members are the discriminated-union dispatch and are
  skipped: the ``type`` enum next to them already lists the variants);
* a string ``enum``/``const`` gives one element per value, ``path=value`` - unless a sibling
  alternative is an unconstrained string (an *open* enum such as ``model``: its values are examples);
* an object whose ``type`` is pinned gives one element per type, ``path:type`` (a variant), and its
  other properties are not walked (the variant is the option);
* any other object gives its properties, ``path.prop``, walked down to ``MAX_DEPTH`` levels below the
  parameter; a property that yields no value/variant element is an element itself;
* array items are walked with ``[]`` appended to the path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["MAX_DEPTH", "SchemaWalker"]

MAX_DEPTH = 2


class SchemaWalker:
    """Schema navigation over one profile's ``$defs`` (read-only)."""

    def __init__(self, defs: Mapping[str, Any]) -> None:
        self.defs = defs

    def resolve(self, schema: Any) -> Any:
        """Follow ``$ref`` chains to the referenced component."""
        for _ in range(64):
            if not (isinstance(schema, dict) and "$ref" in schema):
                return schema
            schema = self.defs.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
        return schema

    def alternatives(self, schema: Any, _depth: int = 0) -> list[dict[str, Any]]:
        """The non-null alternatives of a (possibly nested) ``anyOf``/``oneOf`` union."""
        schema = self.resolve(schema)
        if not isinstance(schema, dict) or _depth > 16:
            return []
        for key in ("anyOf", "oneOf"):
            if key in schema:
                out: list[dict[str, Any]] = []
                for alt in schema[key]:
                    out.extend(self.alternatives(alt, _depth + 1))
                rest = {k: v for k, v in schema.items() if k != key}
                if rest.get("properties") or "enum" in rest or "allOf" in rest:
                    out.append(rest)
                return out
        if schema.get("type") == "null":
            return []
        return [schema]

    def properties(self, schema: Any, _depth: int = 0) -> dict[str, Any]:
        """Declared properties of an object schema, ``allOf`` members merged."""
        schema = self.resolve(schema)
        if not isinstance(schema, dict) or _depth > 16:
            return {}
        props: dict[str, Any] = {}
        for member in schema.get("allOf", []):
            if isinstance(member, dict) and "if" not in member:
                props.update(self.properties(member, _depth + 1))
        props.update(schema.get("properties", {}))
        return props

    def string_values(self, schema: Any) -> list[str]:
        """String ``enum``/``const`` values of a schema's alternatives (closed enums only)."""
        alts = self.alternatives(schema)
        if any(_open_string(a) for a in alts):
            return []
        out: list[str] = []
        for alt in alts:
            for value in list(alt.get("enum", [])) + ([alt["const"]] if "const" in alt else []):
                if isinstance(value, str) and value not in out:
                    out.append(value)
        return out

    def options(self, path: str, schema: Any, depth: int = 0) -> Iterator[str]:
        """Option elements below a request parameter (see the module docstring for the rules)."""
        alts = self.alternatives(schema)
        open_string = any(_open_string(a) for a in alts)
        for alt in alts:
            if alt.get("type") == "array" and "items" in alt:
                yield from self.options(path + "[]", alt["items"], depth)
                continue
            values = [v for v in list(alt.get("enum", [])) + ([alt["const"]] if "const" in alt else [])]
            if values and all(isinstance(v, str) for v in values):
                if not open_string:
                    yield from (f"{path}={v}" for v in values)
                continue
            props = self.properties(alt)
            variants = self.string_values(props["type"]) if "type" in props else []
            if variants:
                yield from (f"{path}:{v}" for v in variants)
                continue
            if depth >= MAX_DEPTH:
                continue
            for name, sub in props.items():
                below = list(self.options(f"{path}.{name}", sub, depth + 1))
                yield from below if below else [f"{path}.{name}"]


def _open_string(alt: Mapping[str, Any]) -> bool:
    return alt.get("type") == "string" and "enum" not in alt and "const" not in alt
