"""The ``schema`` assertion: the step's Response (or each match of a path in it) validates against a named
schema of the run's profile; an error where a Response was expected is one finding, not a list of misfits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..._verdict import TRUNCATED, Finding
from ...cases.paths import find_located
from ...record.exchange import Exchange
from .accessors import document, error_event, is_error_body, terminal_event
from .arguments import check_path
from .behavioural import about_model_output
from .compare import short
from .registry import SPEC, ExpectContext, Inconclusive, NotInProfile, Problems, assertion
from .schema_adapter import is_error_schema, known_schema, schema_errors, schema_name


def _validate_schema_arg(arg: Any) -> Iterator[tuple[str, str]]:
    if isinstance(arg, dict):
        yield from check_path("path", arg.get("path"))
    name = schema_name(arg)
    if name and not known_schema(name):  # a typo would otherwise judge every case ``error`` (unknown schema)
        yield ("name" if isinstance(arg, dict) else ""), f"unknown schema {name!r} (no such component in any profile)"


@assertion(
    "schema", basis="schema", spec_ref=SPEC + "/components/schemas",
    ref_of=lambda arg: f"{SPEC}/components/schemas/{schema_name(arg)}",
    validate=_validate_schema_arg, behavioural=about_model_output,
    proof=("input_items_missing_pagination_fields", "endpoints.input_items"),
)
def _schema(arg: Any, ex: Exchange, ctx: ExpectContext) -> Problems:
    """The response (or ``{name, path}``: each match of ``path`` in it) validates against the named schema.

    The document is the JSON body, or for a streamed step the terminal event's ``response``.
    Schemas come from ``conformance.judge.schemas`` (generated from the OpenAPI document).
    """
    name = schema_name(arg)
    if ex.events is None and not is_error_schema(name) and is_error_body(ex):
        yield from _error_instead(name, ex, ctx.profile)
        return
    if ex.events is not None and not is_error_schema(name) and terminal_event(ex) is None:
        error = error_event(ex)
        if error is not None:  # judged as an error event by stream.event_schema, not as a Response
            yield Finding(f"expected a {name}, but the stream ended with an error event instead of a response "
                          f"({short(error, 200)})")
            return
    doc = document(ex)
    targets: list[tuple[str, Any]] = [("", doc)]
    if isinstance(arg, dict) and arg.get("path"):
        targets = find_located(doc, arg["path"])
        if not targets:
            yield Finding(f"path {arg['path']!r} matched nothing to validate against {name}")
            return
    for location, value in targets:
        errors = schema_errors(name, value, ctx.profile)
        for err in errors[:5]:
            prefix = f"{location}: " if location else ""
            yield Finding(f"{prefix}not a valid {name}: {err.message}", location, kind=err.kind, rule=err.rule)
        if len(errors) > 5:
            yield Finding(f"... and {len(errors) - 5} more schema errors", location, kind=TRUNCATED)


def _error_instead(name: str, ex: Exchange, profile: str | None) -> Problems:
    """One finding for an error where a ``name`` was expected; the error body is judged as ``ErrorResponse``
    only (listing its Response-schema errors would blame the error body for not being what it never claims)."""
    body = ex.json_or_none()
    verdict = "not JSON" if body is None else "a valid ErrorResponse"
    if body is not None:
        try:
            errors = schema_errors("ErrorResponse", body, profile)
        except (Inconclusive, NotInProfile):
            errors, verdict = [], "an error body"
        if errors:
            verdict = f"not a valid ErrorResponse either: {'; '.join(e.message for e in errors[:3])}"
    message = body.get("error", {}).get("message") if isinstance(body, dict) and isinstance(body.get("error"), dict) \
        else None
    said = f" ({short(message, 120)})" if isinstance(message, str) else ""
    yield Finding(f"expected a {name}, but the server answered HTTP {ex.status} with an error{said}; "
                  f"the error body is {verdict}", "$")
