"""Checking and reading an assertion's argument when a case file is loaded: regular expressions, paths,
and the statuses a ``status:`` argument accepts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from itertools import islice
from typing import Any

from ...cases.paths import PathSyntaxError, parse_path
from .expectation import split_basis

__all__ = ["check_matches_arg", "check_path", "check_regex", "expected_statuses", "schema_problem"]


def check_regex(where: str, pattern: Any) -> Iterator[tuple[str, str]]:
    """``(where, problem)`` when ``pattern`` is a string that is no valid regular expression."""
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as exc:
            yield where, f"invalid regular expression {pattern!r}: {exc}"


def check_matches_arg(arg: Any) -> Iterator[tuple[str, str]]:
    """The ``matches:`` regex of a mapping argument (``header``, ``output_text``, ``sdk_text``) compiles."""
    if isinstance(arg, dict):
        yield from check_regex("matches", arg.get("matches"))


def check_path(where: str, path: Any) -> Iterator[tuple[str, str]]:
    """``(where, problem)`` when ``path`` is a string that is no valid path (conformance/cases/paths.py)."""
    if isinstance(path, str):
        try:
            parse_path(path)
        except PathSyntaxError as exc:
            yield where, str(exc)


def schema_problem(schema: dict[str, Any]) -> str | None:
    """``jsonschema``'s complaint about ``schema`` as a 2020-12 JSON Schema, or None when it is one.

    Why the detour: importing ``jsonschema`` is a sizeable share of a one-case run's start-up, and case files
    are checked at every start. jsonschema-rs's meta-validation answers for a schema holding no keyword whose
    value ``jsonschema`` also checks as a format (``pattern*`` as Python regexes, ``$``-keywords as URIs); any
    other schema, and any it refuses, goes to ``jsonschema`` for the verdict and its message."""
    if _meta_valid(schema):
        return None
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return str(exc.message)
    return None


#: keys whose meta-validation jsonschema-rs and ``jsonschema`` may answer differently: ``$``-keywords (URIs),
#: ``pattern*`` (regexes, which ``jsonschema`` checks as Python's)
_META_UNSHARED = ("$", "pattern")
#: keys whose validation they may answer differently: those, and ``multipleOf`` (exact vs. float division)
_UNSHARED = (*_META_UNSHARED, "multipleOf")


def _plain_schema(node: Any, unshared: tuple[str, ...] = _UNSHARED) -> bool:
    """A schema both libraries read alike: plain JSON, no key starting with one of ``unshared`` (at any depth)."""
    if isinstance(node, dict):
        return all(isinstance(k, str) and not k.startswith(unshared) and _plain_schema(v, unshared)
                   for k, v in node.items())
    if isinstance(node, list):
        return all(_plain_schema(v, unshared) for v in node)
    return node is None or isinstance(node, (str, int, float))


def _meta_valid(schema: Any) -> bool:
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - a declared dependency
        return False
    try:
        return _plain_schema(schema, _META_UNSHARED) and bool(jsonschema_rs.meta.is_valid(schema))
    except Exception:  # noqa: BLE001 - anything odd: jsonschema decides
        return False


def surely_matches(schema: Any, instance: Any) -> bool:
    """True when jsonschema-rs accepts ``instance`` against a case's own ``schema`` (``arguments_schema``,
    ``json_output.schema``); False means "ask ``jsonschema``", not a mismatch.

    Why: a matching answer then needs no ``jsonschema`` at all (its import alone is about 0.1 s of a run's CPU);
    a mismatch still gets ``jsonschema``'s findings, word for word. Trusted on the terms of :func:`schema_problem`'s
    pre-check (no ``$``-, ``pattern*``- or ``multipleOf`` keyword) and only with plain JSON data; formats are
    annotations for both. Each schema is compiled once per run."""
    from ..schemas import plain_json

    if not isinstance(schema, dict) or not _plain_schema(schema) or not plain_json(instance):
        return False
    try:
        validator = _compiled(json.dumps(schema, sort_keys=True, allow_nan=False))
        return validator is not None and bool(validator.is_valid(instance))
    except Exception:  # noqa: BLE001 - anything odd (a float it cannot read...): jsonschema decides
        return False


def schema_errors(schema: Any, instance: Any, limit: int) -> list[Any]:
    """The first ``limit`` of ``jsonschema``'s errors for ``instance`` against a case's own ``schema`` (none when
    it matches). ``jsonschema`` is imported only when :func:`surely_matches` cannot vouch for the instance."""
    if surely_matches(schema, instance):
        return []
    import jsonschema

    return list(islice(jsonschema.Draft202012Validator(schema).iter_errors(instance), limit))


@lru_cache(maxsize=256)
def _compiled(schema_text: str) -> Any | None:
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    try:
        return jsonschema_rs.Draft202012Validator(json.loads(schema_text), validate_formats=False)
    except Exception:  # noqa: BLE001 - a schema it refuses: jsonschema decides
        return None


def expected_statuses(arg: Any) -> tuple[int, ...]:
    """The concrete status codes a ``status:`` argument accepts (``4xx`` expands to 400..499).

    ``{value: 400, basis: observed}`` (an argument with its basis) accepts what its ``value`` accepts."""
    arg, _ = split_basis(arg, "")
    items = arg if isinstance(arg, list) else [arg]
    out: list[int] = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            out.append(item)
        elif isinstance(item, str) and re.fullmatch(r"[1-5]xx", item, re.I):
            base = int(item[0]) * 100
            out.extend(range(base, base + 100))
    return tuple(out)
