"""Run-time access to the committed, generated JSON Schemas in ``suite/schemas/<profile>/``.

Only the committed files are read (never ``../shared``). Validators are built once per
(name, profile) and share one ``referencing.Registry`` per profile.

Speed: most documents a run validates are valid, and proving that is what costs. A compiled jsonschema-rs
validator (built once per (name, profile), about 100 times faster than ``jsonschema``) answers that question
first; only a document it does not accept goes through ``jsonschema``, which writes the findings (path,
message, kind, rule) exactly as before. The pre-check is trusted only in the sound direction ("valid"), only
for plain JSON data (dicts, lists, strings, numbers, booleans, null), and any error of its own counts as
"not sure": tests/test_schemas_fast.py holds it to ``jsonschema``'s verdict.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance._verdict import TRUNCATED, Finding

from ..suite import SCHEMAS_DIR

if TYPE_CHECKING:  # imported when a document is invalid: a run on a conformant server never needs them
    import jsonschema
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

try:
    import jsonschema_rs
except ImportError:  # pragma: no cover - a declared dependency; without it every document takes the slow path
    jsonschema_rs = None  # type: ignore[assignment]

__all__ = [
    "MAX_FINDINGS", "PROFILES", "equivalent", "event_schema_name", "fast_validator", "finding_kind", "has_schema",
    "index", "plain_json", "rule_of", "schema_root", "spec_info", "surely_valid", "validate", "validator",
]

PROFILES = ("openai", "openresponses")
MAX_FINDINGS = 20
_SCHEMAS_DIR = SCHEMAS_DIR


def _check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ValueError(f"unknown schema profile {profile!r}; expected one of {PROFILES}")
    return profile


def schema_root(profile: str = "openai") -> Path:
    """Directory holding ``components.json`` and ``index.json`` of a profile."""
    return _SCHEMAS_DIR / _check_profile(profile)


@lru_cache(maxsize=None)
def index(profile: str = "openai") -> dict:
    """The whole ``index.json`` (roots, events, item types, coverage lists, relaxations...).

    Treat it as read-only: the same dict is returned to every caller."""
    with open(schema_root(profile) / "index.json", encoding="utf-8") as fh:
        return json.load(fh)


def spec_info(profile: str = "openai") -> dict:
    """``{"title", "version", "sha256", "source", "generator"}`` of the spec the schemas came from."""
    return dict(index(profile)["spec"])


@lru_cache(maxsize=None)
def _components(profile: str) -> dict:
    with open(schema_root(profile) / index(profile)["components_file"], encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=None)
def _registry(profile: str) -> Registry:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    contents = _components(profile)
    resource = Resource.from_contents(contents, default_specification=DRAFT202012)
    return Registry().with_resource(contents["$id"], resource).crawl()


def _resolve_name(name: str, profile: str) -> str | None:
    defs = _components(_check_profile(profile))["$defs"]
    if name in defs:
        return name
    alias = index(profile).get("aliases", {}).get(name)
    return alias if alias in defs else None


def has_schema(name: str, profile: str = "openai") -> bool:
    """True if ``name`` is a bundled component (or an alias of one) in ``profile``."""
    return _resolve_name(name, profile) is not None


def equivalent(name: str, profile: str = "openai") -> str | None:
    """The component of ``profile`` that stands for ``name`` (a component of any profile), or None.

    ``name`` itself or its alias when ``profile`` has it; otherwise, when another profile names it as the
    schema of a role (``error_object``, ``response_error``...), an output item type or an event type, the
    component ``profile`` gives the same role/type (``ResponseError`` → ``Error`` in openresponses). None
    when ``profile`` has no counterpart (e.g. ``ErrorResponse``: Open Responses declares no HTTP error body).
    """
    if has_schema(name, profile):
        return name
    mine = index(profile)
    for other in PROFILES:
        if other == profile:
            continue
        theirs = index(other)
        for key in ("roles", "output_items", "events"):
            for role, component in theirs.get(key, {}).items():
                target = mine.get(key, {}).get(role)
                if component == name and isinstance(target, str) and has_schema(target, profile):
                    return target
    return None


@lru_cache(maxsize=None)
def validator(name: str, profile: str = "openai") -> jsonschema.protocols.Validator:
    """Cached Draft 2020-12 validator for component ``name`` (e.g. ``"Response"``).

    Format assertions are off (formats are annotations). Raises ``KeyError`` for unknown names."""
    from jsonschema import Draft202012Validator

    resolved = _resolve_name(name, profile)
    if resolved is None:
        raise KeyError(f"no schema named {name!r} in profile {profile!r}")
    schema = {"$ref": f"{_components(profile)['$id']}#/$defs/{resolved}"}
    return Draft202012Validator(schema, registry=_registry(profile))


@lru_cache(maxsize=None)
def _rs_registry(profile: str) -> Any:
    contents = _components(profile)
    return jsonschema_rs.Registry([(contents["$id"], contents)])


@lru_cache(maxsize=None)
def fast_validator(name: str, profile: str = "openai") -> Any | None:
    """Compiled jsonschema-rs validator for component ``name`` (formats off, as in :func:`validator`), or None
    when jsonschema-rs is missing or cannot compile it (then every document takes the ``jsonschema`` path)."""
    resolved = _resolve_name(name, profile)
    if jsonschema_rs is None or resolved is None:
        return None
    try:
        return jsonschema_rs.Draft202012Validator({"$ref": f"{_components(profile)['$id']}#/$defs/{resolved}"},
                                                  registry=_rs_registry(profile), validate_formats=False)
    except Exception:  # noqa: BLE001 - any refusal just means no pre-check
        return None


def plain_json(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is data both validators read alike: dicts with string keys, lists, str, int, float,
    bool, None (jsonschema-rs would read a tuple as an array; ``jsonschema`` does not)."""
    if value is None or isinstance(value, (str, int, float)):
        return True
    if depth > 200:
        return False
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain_json(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(plain_json(v, depth + 1) for v in value)
    return False


def surely_valid(name: str, instance: Any, profile: str = "openai") -> bool:
    """True when the compiled pre-check accepts ``instance``; False means "ask ``jsonschema``", not invalid."""
    fast = fast_validator(name, profile)
    if fast is None or not plain_json(instance):
        return False
    try:
        return bool(fast.is_valid(instance))
    except Exception:  # noqa: BLE001 - e.g. a lone surrogate it cannot encode: let jsonschema judge
        return False


def event_schema_name(event_type: str, profile: str = "openai") -> str | None:
    """Schema name for a streaming event ``type`` value, or None if the spec defines no such event."""
    return index(profile)["events"].get(event_type)


#: instances up to this size (as JSON text) have their findings cached: a long stream repeating one event
#: (a malformed or hostile one) is validated once per distinct event, not once per event
_CACHED_INSTANCE_CHARS = 4096


@lru_cache(maxsize=2048)
def _validate_text(name: str, profile: str, text: str) -> tuple[Finding, ...]:
    return tuple(_validate(name, json.loads(text), profile))


def validate(name: str, instance: Any, profile: str = "openai") -> list[Finding]:
    """Validate ``instance`` against component ``name``; an empty list means valid (see :func:`_validate`).

    A small instance is keyed by its JSON text (key order kept: messages may quote it), so a repeated one is
    validated once."""
    if isinstance(instance, dict) and len(instance) < 64:
        try:
            text = json.dumps(instance, ensure_ascii=False)
        except (TypeError, ValueError, RecursionError):
            text = ""
        if text and len(text) <= _CACHED_INSTANCE_CHARS:
            return list(_validate_text(name, profile, text))
    return _validate(name, instance, profile)


def _validate(name: str, instance: Any, profile: str = "openai") -> list[Finding]:
    """Validate ``instance`` against component ``name``; an empty list means valid.

    One finding per independent violation (at most ``MAX_FINDINGS``), each with a JSON path such as
    ``$.output[0].content[0].type``, a short message, a ``kind`` (:func:`finding_kind`) and the ``rule`` it
    breaks (:func:`rule_of`), so the same broken requirement found through ``Response``, a stream event or the
    final response of a stream is one deviation. For unions the most relevant branch error is reported (the
    dispatched branch for ``type``-discriminated unions). A document the compiled pre-check accepts has none
    (:func:`surely_valid`)."""
    if _resolve_name(name, profile) is not None and surely_valid(name, instance, profile):
        return []
    v = validator(name, profile)  # KeyError for an unknown name
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    total = 0
    for err in v.iter_errors(instance):
        for leaf in _leaves(err):
            f = Finding(_message(leaf), leaf.json_path, kind=finding_kind(leaf), rule=rule_of(leaf, name, profile))
            key = (f.path, f.message)
            if key in seen:
                continue
            seen.add(key)
            total += 1
            if len(findings) < MAX_FINDINGS:
                findings.append(f)
    if total > MAX_FINDINGS:
        findings[-1] = Finding(f"{total - MAX_FINDINGS + 1} more schema violations not shown", "$", kind=TRUNCATED)
    return findings


def finding_kind(err: ValidationError) -> str:
    """The class of a leaf error: ``missing``, ``null``, ``type``, ``enum``, ``const``, ``extra``, ``union``,
    else the JSON Schema keyword."""
    kw = str(err.validator)
    if kw == "type":
        return "null" if err.instance is None else "type"
    return _KINDS.get(kw, kw)


_KINDS = {"required": "missing", "additionalProperties": "extra", "unevaluatedProperties": "extra",
          "anyOf": "union", "oneOf": "union"}


def rule_of(err: ValidationError, name: str, profile: str = "openai") -> str:
    """The requirement a leaf error breaks: ``Component[.prop.path]:keyword[:value]``.

    The error's ``absolute_schema_path`` is walked through the bundled components from ``name``, following
    ``$ref`` (jsonschema leaves it out of the path) to know which component the failing keyword belongs to:
    ``properties/<p>`` adds ``.p``, ``items`` adds ``[]``, ``additionalProperties`` adds ``.*``, the combinators
    add nothing, and a ``$ref`` starts the referenced component's own path. These are the identities
    ``scripts/requirement-dates`` dates (``conformance.judge.basis.dates``): ``Response:required:id``,
    ``ResponseUsage.input_tokens_details:required:cache_write_tokens``, ``Response.status:enum``... A property
    every stream event requires (``sequence_number``, ``type``) is the stream-event union's rule
    (``ResponseStreamEvent:required:sequence_number``), whichever event lacks it. Empty when the walk fails.
    """
    resolved = _resolve_name(name, profile)
    keys = list(err.absolute_schema_path)
    if resolved is None or not keys:
        return ""
    found = _walk_to(resolved, profile, keys, err.schema)
    if found is None:
        return ""
    component, path = _union_wide(*found, err, profile)
    kw = str(keys[-1])
    if kw == "required":
        missing = _missing_property(err)
        return f"{component}{path}:required:{missing}" if missing is not None else ""
    if kw in ("additionalProperties", "unevaluatedProperties") and isinstance(err.instance, dict):
        extra = sorted(k for k in err.instance if k not in (err.schema.get("properties") or {}))
        return f"{component}{path}:{kw}" + (f":{','.join(extra)}" if extra else "")
    return f"{component}{path}:{kw}"


#: ``_walk`` results by (component, profile, schema path, id of the failing schema): the schema objects are the
#: bundled components, kept for the process (each entry holds its own too, so the id stays its own); every event of
#: a long stream that breaks the same keyword is walked once
_WALKED: dict[tuple[str, str, tuple[Any, ...], int], tuple[Any, tuple[str, str] | None]] = {}


def _walk_to(resolved: str, profile: str, keys: list[Any], target: Any) -> tuple[str, str] | None:
    memo = (resolved, profile, tuple(keys), id(target))
    hit = _WALKED.get(memo)
    if hit is not None and hit[0] is target:
        return hit[1]
    found = _walk({"$ref": f"#/$defs/{resolved}"}, keys, 0, "", "", target, _components(profile)["$defs"], 0)
    if len(_WALKED) < 65536:
        _WALKED[memo] = (target, found)
    return found


def _walk(node: Any, keys: list[Any], i: int, component: str, path: str, target: Any, defs: dict[str, Any],
          hops: int) -> tuple[str, str] | None:
    """Follow ``keys[i:-1]`` from ``node`` to the schema holding the failing keyword (``target``, by identity).

    At a ``$ref`` both the sibling keywords and the referenced schema are tried (2020-12 applies both), so the
    walk that really reaches ``target`` wins."""
    if hops > 64 or not isinstance(node, dict):
        return None
    last = i >= len(keys) - 1
    if last and node is target:
        return component, path
    if not last:
        key = keys[i]
        step = _step(node, key, keys[i + 1] if i + 1 < len(keys) else None, path)
        if step is not None:
            child, used, child_path = step
            found = _walk(child, keys, i + used, component, child_path, target, defs, hops)
            if found is not None:
                return found
    ref = node.get("$ref")
    if isinstance(ref, str):
        pointer = ref.split("#", 1)[1] if "#" in ref else ""
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.strip("/").split("/")]
        if len(parts) >= 2 and parts[0] == "$defs" and parts[1] in defs:
            sub: Any = defs[parts[1]]
            sub_path = ""
            rest = parts[2:]
            while rest and sub is not None:
                step = _step(sub, rest[0], rest[1] if len(rest) > 1 else None, sub_path)
                if step is None:
                    return None
                sub, used, sub_path = step
                rest = rest[used:]
            return _walk(sub, keys, i, parts[1], sub_path, target, defs, hops + 1)
    return None


def _step(node: dict[str, Any], key: Any, following: Any, path: str) -> tuple[Any, int, str] | None:
    """One schema-path step: ``(child schema, keys consumed, property path)``, or None if ``node`` lacks it."""
    if key not in node:
        return None
    value = node[key]
    if key in ("properties", "patternProperties", "dependentSchemas"):
        if not isinstance(value, dict) or following not in value:
            return None
        return value[following], 2, path + (f".{following}" if key == "properties" else ".*" if key == "patternProperties" else "")
    if key in ("allOf", "anyOf", "oneOf", "prefixItems"):
        if not isinstance(value, list) or not isinstance(following, int) or not 0 <= following < len(value):
            return None
        return value[following], 2, path + ("[]" if key == "prefixItems" else "")
    if key == "items":
        return value, 1, path + "[]"
    if key == "additionalProperties":
        return value, 1, path + ".*"
    return value, 1, path


def _missing_property(err: ValidationError) -> str | None:
    """The property a ``required`` error is about (jsonschema yields one error per missing property)."""
    if not isinstance(err.instance, dict):
        return None
    for prop in err.validator_value or ():
        if prop not in err.instance and err.message == f"{prop!r} is a required property":
            return str(prop)
    return None


def _union_wide(component: str, path: str, err: ValidationError, profile: str) -> tuple[str, str]:
    """Attribute a rule on a property every stream event requires to the stream-event union."""
    union, members, props = _stream_union(profile)
    if component not in members:
        return component, path
    if not path and err.validator == "required" and _missing_property(err) in props:
        return union, path
    head = path[1:].split(".", 1)[0].split("[", 1)[0] if path.startswith(".") else ""
    return (union, path) if head in props else (component, path)


@lru_cache(maxsize=None)
def _stream_union(profile: str) -> tuple[str, frozenset[str], frozenset[str]]:
    """``(union name, member components, properties every member requires)`` of the stream-event union."""
    union = index(profile).get("roles", {}).get("stream_event") or "ResponseStreamEvent"
    defs = _components(profile)["$defs"]
    members = frozenset(n for n in index(profile).get("events", {}).values() if n in defs)
    required = [_top_required(defs[m]) for m in sorted(members)]
    return union, members, frozenset(set.intersection(*required)) if required else frozenset()


def _top_required(node: Any) -> set[str]:
    """Properties a component requires at its top level (its own combinator parts included, refs not)."""
    if not isinstance(node, dict) or "$ref" in node:
        return set()
    out = {str(p) for p in node.get("required") or ()}
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(key) or ():
            out |= _top_required(sub)
    return out


def _leaves(err: ValidationError, depth: int = 0) -> list[ValidationError]:
    """Replace a union failure by the errors of its most plausible arm (recursively)."""
    if not err.context or depth > 20:
        return [err]
    arms: dict[Any, list[ValidationError]] = {}
    for sub in err.context:
        arms.setdefault(sub.relative_schema_path[0] if sub.relative_schema_path else None, []).append(sub)
    best = min(arms.values(), key=_arm_score)
    if _arm_score(best)[0] and len(arms) > 1:
        # the instance fits no arm's shape at all: one summary is more useful than arbitrary details
        return [err]
    out: list[ValidationError] = []
    for sub in best:
        out.extend(_leaves(sub, depth + 1))
    return out


def _arm_score(errors: list[ValidationError]) -> tuple[int, int, int]:
    mismatch = any(
        (not e.relative_path and e.validator == "type")
        or (list(e.relative_path) == ["type"] and e.validator in ("enum", "const"))
        for e in errors
    )
    return (int(mismatch), -max(len(e.relative_path) for e in errors), len(errors))


def _short(value: Any, limit: int = 60) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) <= limit:
        return text
    if isinstance(value, dict):
        return "{...}"
    if isinstance(value, list):
        return f"[... {len(value)} items]"
    return text[: limit - 3] + "..."


def _message(err: ValidationError) -> str:
    kw, inst, val = err.validator, err.instance, err.validator_value
    if kw == "type":
        expected = val if isinstance(val, str) else " or ".join(val)
        if inst is None:
            return f"{_subject(err)} is null, expected {expected}"
        return f"{_short(inst)} is not of type {expected}"
    if kw == "enum":
        allowed = _short(list(val), 200) if len(val) <= 12 else f"any of the {len(val)} allowed values"
        return f"{_short(inst)} is not one of {allowed}"
    if kw == "const":
        return f"{_short(inst)} is not {_short(val)}"
    if kw == "required":
        missing = _missing_property(err)
        return f"{missing!r} is missing (required)" if missing is not None else err.message
    if kw in ("anyOf", "oneOf"):
        return f"{_short(inst)} does not match any allowed form"
    if kw == "additionalProperties":
        return err.message
    msg = err.message
    return msg if len(msg) <= 300 else msg[:297] + "..."


def _subject(err: ValidationError) -> str:
    """What a null value is: the property's name, ``item N`` of an array, or ``value`` at the root."""
    where = list(err.path)
    if not where:
        return "value"
    return str(where[-1]) if isinstance(where[-1], str) else f"item {where[-1]}"
