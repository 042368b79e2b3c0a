"""The schema adapter: an assertion's view of ``conformance.judge.schemas``.

It turns the schema module's answers into findings (message ``<json path>: <problem>``, keeping the ``kind`` and
``rule`` of schema findings, so the same missing field counts as one deviation whether ``response.schema`` or the
``schema`` assertion saw it), maps a schema name onto the selected profile's counterpart, and raises
:class:`~.registry.Inconclusive` / :class:`~.registry.NotInProfile` when it cannot judge. The profile is always
passed in: nothing here reads hidden state.
"""

from __future__ import annotations

from typing import Any

from ..._verdict import Finding
from .registry import Inconclusive, NotInProfile

__all__ = ["is_error_schema", "known_schema", "schema_errors", "schema_name"]


def schema_name(arg: Any) -> str:
    """The schema a ``schema:`` argument names (``Response`` or ``{name: Response, path: ...}``)."""
    return arg if isinstance(arg, str) else str(arg.get("name", ""))


def is_error_schema(name: str) -> bool:
    """Is ``name`` an error schema (an error body is then what is expected, not a failure to answer)?"""
    return "Error" in name


def known_schema(name: str) -> bool:
    """Whether ``name`` is a bundled component (or alias) of any profile; True when schemas cannot be loaded."""
    try:
        from .. import schemas
    except ImportError:  # pragma: no cover - judged (inconclusive) at run time instead
        return True
    return any(schemas.has_schema(name, profile) for profile in schemas.PROFILES)


def schema_errors(name: str, instance: Any, profile: str | None) -> list[Finding]:
    """Validate ``instance`` against schema ``name`` of ``profile`` (the schema module's default when None)
    via ``conformance.judge.schemas.validate``, whatever its error-reporting style: one Finding per error."""
    try:
        from .. import schemas
    except ImportError as exc:
        raise Inconclusive(f"conformance.judge.schemas is not available: {exc}") from None
    if profile is not None and not schemas.has_schema(name, profile) and hasattr(schemas, "equivalent"):
        counterpart = schemas.equivalent(name, profile)
        if counterpart is None and any(schemas.has_schema(name, p) for p in schemas.PROFILES):
            raise NotInProfile(f"not in the {profile} spec: schema {name}")
        name = counterpart or name
    try:
        result = schemas.validate(name, instance) if profile is None else schemas.validate(name, instance, profile=profile)
    except LookupError as exc:
        raise Inconclusive(f"unknown schema {name!r}: {exc}") from None
    except Exception as exc:
        try:  # only now: a run whose documents are valid never imports jsonschema (conformance/judge/schemas.py)
            import jsonschema
        except ImportError:  # pragma: no cover - jsonschema is a hard dependency
            jsonschema = None  # type: ignore[assignment]
        if jsonschema is not None and isinstance(exc, jsonschema.ValidationError):
            where = exc.json_path if hasattr(exc, "json_path") else "$"
            return [Finding(f"{where}: {exc.message}")]
        if isinstance(exc, ValueError):
            return [Finding(str(exc))]
        raise
    if result is None or result is True:
        return []
    if result is False:
        return [Finding("instance is not valid")]
    out: list[Finding] = []
    for err in result:
        if hasattr(err, "message"):
            where = getattr(err, "json_path", None) or getattr(err, "path", "")
            out.append(Finding(f"{where}: {err.message}" if where else str(err.message),
                               kind=str(getattr(err, "kind", "") or ""), rule=str(getattr(err, "rule", "") or "")))
        else:
            out.append(Finding(str(err)))
    return out
