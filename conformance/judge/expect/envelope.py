"""The ``error_envelope`` assertion: the shape of an error body, and (advisory) the values it carries."""

from __future__ import annotations

from typing import Any

from ..._verdict import Finding
from ...record.exchange import Exchange
from ..basis.keys import envelope_rule
from .accessors import body_json
from .compare import json_equal, short
from .expectation import Advisory
from .registry import SPEC, ExpectContext, Problems, assertion

_ENVELOPE_KEYS = ("type", "code", "param")


@assertion("error_envelope", basis="error-class", spec_ref=SPEC + "/components/schemas/ErrorResponse",
           proof=("error_detail_envelope", "errors.input_wrong_type"))
def _error_envelope(arg: Any, ex: Exchange, ctx: ExpectContext) -> Problems:
    """Body is ``{"error": {"message": str, "type": str, "param": str|null, "code": str|null}}``.

    ``Error`` lists all four keys as required, so a missing ``param``/``code`` fails. The
    optional sub-expectations ``type``/``code``/``param`` (a value or a list of accepted values)
    are *advisory* (basis ``observed``: warnings) because the OpenAPI document defines the envelope but
    not which values a given error carries; ``strict: true`` makes them hard (the expectation's basis), for a
    value OpenAI's documentation states. A ``basis:`` in the argument applies to the sub-expectations only:
    the envelope's shape is a documented error-class rule whatever the case says.
    """
    body = body_json(ex)
    error = body.get("error") if isinstance(body, dict) else None
    shape = "error-class"  # the envelope itself is documented whatever basis the case gives the sub-expectations
    profile = ctx.profile or "openai"
    if not isinstance(error, dict):
        problem = "missing" if error is None else "type"
        yield Finding(f'expected an error envelope {{"error": {{...}}}}, got {short(body)}', "$.error", kind=problem,
                      rule=envelope_rule(None, problem, profile), basis=shape)
        return
    for key in ("message", "type"):
        if not isinstance(error.get(key), str):
            problem = "missing" if key not in error else "type"
            got = "missing" if key not in error else short(error[key])
            yield Finding(f"error.{key} must be a string, got {got}", f"$.error.{key}", kind=problem,
                          rule=envelope_rule(key, problem, profile), basis=shape)
    for key in ("param", "code"):
        if key not in error:
            yield Finding(f"error.{key} is required (string or null) but missing", f"$.error.{key}", kind="missing",
                          rule=envelope_rule(key, "missing", profile), basis=shape)
        elif error[key] is not None and not isinstance(error[key], str):
            yield Finding(f"error.{key} must be a string or null, got {short(error[key])}", f"$.error.{key}",
                          kind="type", rule=envelope_rule(key, "type", profile), basis=shape)
    if not isinstance(arg, dict):
        return
    strict = bool(arg.get("strict", False))
    for key in _ENVELOPE_KEYS:
        if key not in arg:
            continue
        wanted = arg[key] if isinstance(arg[key], list) else [arg[key]]
        actual = error.get(key)
        if not any(json_equal(actual, w) for w in wanted):
            label = " or ".join(short(w) for w in wanted)
            message = f"expected error.{key} {label}, got {short(actual)}"
            yield Finding(message, f"$.error.{key}") if strict else Advisory(message, f"$.error.{key}")
