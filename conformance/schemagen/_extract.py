"""Coverage lists (parameters, item/event/tool types...) derived from the bundled `$defs`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._convert import ref_name

if TYPE_CHECKING:  # pragma: no cover
    from ._build import Profile


class _Walker:
    def __init__(self, defs: dict[str, Any]):
        self.defs = defs

    def deref(self, node: Any) -> tuple[str | None, Any]:
        name = None
        seen: set[str] = set()
        while isinstance(node, dict) and "$ref" in node:
            n = ref_name(node["$ref"])
            if n is None or n in seen:
                break
            seen.add(n)
            name = n
            node = self.defs[n]
        return name, node

    def properties(self, node: Any) -> dict[str, Any]:
        """Merged properties through $ref/allOf (later parts win, order of first appearance kept)."""
        _, node = self.deref(node)
        out: dict[str, Any] = {}
        if not isinstance(node, dict):
            return out
        for part in node.get("allOf", []):
            for k, v in self.properties(part).items():
                out[k] = v
        for k, v in node.get("properties", {}).items():
            out[k] = v
        return out

    def type_values(self, node: Any) -> list[str]:
        prop = self.properties(node).get("type")
        if prop is None:
            return []
        _, prop = self.deref(prop)
        if isinstance(prop, dict):
            if isinstance(prop.get("const"), str):
                return [prop["const"]]
            if isinstance(prop.get("enum"), list):
                return [v for v in prop["enum"] if isinstance(v, str)]
            for key in ("anyOf",):
                vals: list[str] = []
                for arm in prop.get(key, []):
                    _, arm = self.deref(arm)
                    if isinstance(arm, dict) and isinstance(arm.get("enum"), list):
                        vals.extend(v for v in arm["enum"] if isinstance(v, str))
                return vals
        return []

    def arms(self, node: Any) -> list[Any]:
        """Members of a (possibly rewritten) union: anyOf arms or discriminated `then` branches."""
        _, node = self.deref(node)
        if not isinstance(node, dict):
            return []
        if "anyOf" in node:
            return list(node["anyOf"])
        branches = [p for p in node.get("allOf", []) if isinstance(p, dict) and "if" in p and "then" in p]
        if branches:
            out: list[Any] = []
            for b in branches:
                then = b["then"]
                for arm in then.get("anyOf", [then]) if set(then) == {"anyOf"} else [then]:
                    if arm not in out:
                        out.append(arm)
            return out
        for part in node.get("allOf", []):
            sub = self.arms(part)
            if sub:
                return sub
        return []

    def typed_members(self, node: Any, label: str | None = None, flatten: bool = True) -> list[tuple[str, list[str]]]:
        """(schema name, `type` values) for every object member reachable through refs, unions and
        arrays; nested unions are flattened."""
        out: list[tuple[str, list[str]]] = []
        self._typed(node, label, out, set(), flatten)
        return out

    def _typed(self, node: Any, label: str | None, out: list, seen: set, flatten: bool) -> None:
        name, target = self.deref(node)
        key = name or id(target)
        if key in seen:
            return
        seen.add(key)
        if not isinstance(target, dict):
            return
        if target.get("type") == "array" or "items" in target:
            self._typed(target.get("items"), label, out, seen, flatten)
            return
        arms = self.arms(target)
        vals = self.type_values(target)
        if arms and (flatten or not vals):
            for arm in arms:
                self._typed(arm, None, out, seen, flatten)
            return
        if vals:
            out.append((name or label or f"<inline:{target.get('title', 'object')}>", vals))


def _by_type(members: list[tuple[str, list[str]]], unique: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, vals in members:
        for v in vals:
            if unique:
                out.setdefault(v, name)
            else:
                lst = out.setdefault(v, [])
                if name not in lst:
                    lst.append(name)
    return out


def _enum_of(w: _Walker, node: Any) -> list[str]:
    _, node = w.deref(node)
    if not isinstance(node, dict):
        return []
    if isinstance(node.get("enum"), list):
        return [v for v in node["enum"] if v is not None]
    for key in ("anyOf", "allOf"):
        for arm in node.get(key, []):
            vals = _enum_of(w, arm)
            if vals:
                return vals
    if node.get("type") == "array" or "items" in node:
        return _enum_of(w, node.get("items"))
    return []


def _object_arm(w: _Walker, node: Any) -> Any:
    """The object arm of `anyOf: [object, null]`."""
    _, node = w.deref(node)
    if isinstance(node, dict) and "anyOf" in node and {"type": "null"} in node["anyOf"]:
        for arm in node["anyOf"]:
            _, a = w.deref(arm)
            if isinstance(a, dict) and a.get("type") != "null":
                return arm
    return node


def extract(defs: dict[str, Any], profile: Profile, spec: dict) -> dict[str, Any]:
    w = _Walker(defs)
    roles = profile.roles
    out: dict[str, Any] = {}

    create = defs[roles["create_request"]]  # type: ignore[index]
    create_props = w.properties(create)
    out["request_parameters"] = list(create_props)
    out["include"] = _enum_of(w, create_props.get("include"))
    out["tools"] = _by_type(w.typed_members(create_props.get("tools")), unique=True)

    forms: list[dict[str, Any]] = []
    tc = _object_arm(w, create_props.get("tool_choice"))
    tc_arms = w.arms(tc) or [tc]
    for arm in tc_arms:
        name, target = w.deref(arm)
        if isinstance(target, dict) and target.get("type") == "string":
            forms.append({"form": "string", "values": list(target.get("enum", [])), "schema": name})
        else:
            for member, vals in w.typed_members(arm, label=name):
                forms.append({"form": "object", "types": vals, "schema": member})
    out["tool_choice"] = forms

    # streaming events
    events = w.typed_members({"$ref": f"#/$defs/{roles['stream_event']}"})
    out["events"] = _by_type(events, unique=True)
    out["stream_event_types"] = list(out["events"])

    # items
    out["output_items"] = _by_type(w.typed_members({"$ref": f"#/$defs/{roles['output_item']}"}), unique=True)
    input_members = w.typed_members({"$ref": f"#/$defs/{roles['input_item']}"})
    out["input_items"] = _by_type(input_members, unique=False)

    # content parts
    in_parts: list[tuple[str, list[str]]] = []
    for name, _vals in input_members:
        props = w.properties({"$ref": f"#/$defs/{name}"}) if not name.startswith("<") else {}
        for prop in ("content", "output"):
            if prop in props:
                in_parts.extend(w.typed_members(props[prop], label=f"<inline:{name}.{prop}>"))
    out["input_content_parts"] = _by_type(in_parts, unique=False)

    out_parts: list[tuple[str, list[str]]] = []
    for name in out["output_items"].values():
        if name.startswith("<"):
            continue
        props = w.properties({"$ref": f"#/$defs/{name}"})
        vals = w.type_values({"$ref": f"#/$defs/{name}"})
        if "message" in vals or "reasoning" in vals:
            for prop in ("content", "summary"):
                if prop in props:
                    out_parts.extend(w.typed_members(props[prop], label=f"<inline:{name}.{prop}>"))
    for name in out["events"].values():
        props = w.properties({"$ref": f"#/$defs/{name}"})
        if "part" in props:
            out_parts.extend(w.typed_members(props["part"], label=f"<inline:{name}.part>"))
    out["output_content_parts"] = _by_type(out_parts, unique=False)

    resp_props = w.properties({"$ref": f"#/$defs/{roles['response']}"})
    out["response_status"] = _enum_of(w, resp_props.get("status"))
    inc = _object_arm(w, resp_props.get("incomplete_details"))
    out["incomplete_reasons"] = _enum_of(w, w.properties(inc).get("reason"))
    out["response_properties"] = list(resp_props)
    _, resp_node = w.deref({"$ref": f"#/$defs/{roles['response']}"})
    req: list[str] = []
    for part in [resp_node] + list(resp_node.get("allOf", [])):
        _, part = w.deref(part)
        req.extend(r for r in part.get("required", []) if r not in req)
    out["response_required"] = req
    notes = {}
    if not out["response_status"]:
        notes["response_status"] = "Response.status has no enum in this spec (free string)"
    if not out["incomplete_reasons"]:
        notes["incomplete_reasons"] = "incomplete_details.reason has no enum in this spec (free string)"
    out["extraction_notes"] = notes
    return out
