"""Run-time access to the committed, generated JSON Schemas in ``schemas/<profile>/``.

Only the committed files are read (never ``../shared``). Validators are built once per
(name, profile) and share one ``referencing.Registry`` per profile.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conformance._verdict import Finding

__all__ = [
    "MAX_FINDINGS", "PROFILES", "equivalent", "event_schema_name", "has_schema", "index", "schema_root",
    "spec_info", "validate", "validator",
]

PROFILES = ("openai", "openresponses")
MAX_FINDINGS = 20
_SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"


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
    resolved = _resolve_name(name, profile)
    if resolved is None:
        raise KeyError(f"no schema named {name!r} in profile {profile!r}")
    schema = {"$ref": f"{_components(profile)['$id']}#/$defs/{resolved}"}
    return Draft202012Validator(schema, registry=_registry(profile))


def event_schema_name(event_type: str, profile: str = "openai") -> str | None:
    """Schema name for a streaming event ``type`` value, or None if the spec defines no such event."""
    return index(profile)["events"].get(event_type)


def validate(name: str, instance: Any, profile: str = "openai") -> list[Finding]:
    """Validate ``instance`` against component ``name``; an empty list means valid.

    One finding per independent violation (at most ``MAX_FINDINGS``), each with a JSON path such as
    ``$.output[0].content[0].type`` and a short message. For unions the most relevant branch error
    is reported (the dispatched branch for ``type``-discriminated unions)."""
    v = validator(name, profile)
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    total = 0
    for err in v.iter_errors(instance):
        for leaf in _leaves(err):
            f = Finding(_message(leaf), leaf.json_path)
            key = (f.path, f.message)
            if key in seen:
                continue
            seen.add(key)
            total += 1
            if len(findings) < MAX_FINDINGS:
                findings.append(f)
    if total > MAX_FINDINGS:
        findings[-1] = Finding(f"{total - MAX_FINDINGS + 1} more schema violations not shown", "$")
    return findings


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
        return f"{_short(inst)} is not of type {expected}"
    if kw == "enum":
        allowed = _short(list(val), 200) if len(val) <= 12 else f"any of the {len(val)} allowed values"
        return f"{_short(inst)} is not one of {allowed}"
    if kw == "const":
        return f"{_short(inst)} is not {_short(val)}"
    if kw == "required":
        return err.message
    if kw in ("anyOf", "oneOf"):
        return f"{_short(inst)} does not match any allowed form"
    if kw == "additionalProperties":
        return err.message
    msg = err.message
    return msg if len(msg) <= 300 else msg[:297] + "..."
