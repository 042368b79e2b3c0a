"""HTTP-level checks: media types and the error envelope, on every endpoint of the Responses API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..._verdict import Finding
from ...record.exchange import Exchange
from ..basis.keys import envelope_rule
from ._registry import CheckContext, check
from ._util import SPEC, is_json_media, role_schema, short, validate

ERROR_RESPONSE_REF = f"{SPEC}#/components/schemas/ErrorResponse"


def _on_api(ctx: CheckContext) -> bool:
    return ctx.endpoint != "other"


def _json_body_expected(ex: Exchange, ctx: CheckContext) -> bool:
    if not _on_api(ctx) or ex.status is None or not ex.body:
        return False
    if 400 <= ex.status < 500:
        return True
    # 2xx: streamed successes are stream.content_type's job; an empty 2xx body (DELETE) has no media type.
    return 200 <= ex.status < 300 and not ctx.stream and not ex.is_stream


@check("http.json_content_type", proof=("json_wrong_content_type", "basic.distinct_ids"), basis="schema", spec_ref=f"{SPEC}#/paths/~1responses/post",
       applies=_json_body_expected)
def json_content_type(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """A non-streamed JSON body (2xx or 4xx) is labelled ``application/json`` (``+json`` and charset allowed).

    Every operation declares ``application/json`` content; SDKs pick their decoder from this header.
    """
    if not is_json_media(ex.content_type):
        shown = ex.header("content-type")
        yield Finding(f"Content-Type is {shown!r}, expected application/json" if shown is not None
                      else "no Content-Type header, expected application/json", "headers.content-type")


def _is_error_status(ex: Exchange, ctx: CheckContext) -> bool:
    """A client error (4xx) or a 501 refusal. A judged 5xx (a server fault the recorder's retry reproduced;
    502/503/504 are never judged) is the engine's ``engine.server_error`` finding, not an envelope one: a
    server that cannot serve the request is one deviation, whatever body it sends with the 500."""
    return _on_api(ctx) and ex.status is not None and (400 <= ex.status < 500 or ex.status == 501)


def _describe_non_envelope(body: Any, profile: str = "openai") -> str:
    if isinstance(body, dict) and "detail" in body:
        return f"body is {short(body)} (FastAPI-style 'detail'), not the error envelope"
    if isinstance(body, dict) and {"message", "type"} <= body.keys():
        why = ("the spec's 404 for delete/cancel lists bare Error, but 429 and every SDK use the envelope"
               if role_schema("error_envelope", profile) else
               f"the {profile} spec's error payload travels under an 'error' key, as in its error events")
        return f"body is a bare Error object {short(body)}; expected the envelope {{\"error\": {{...}}}} ({why})"
    return f"body {short(body)} is not the error envelope {{\"error\": {{\"message\": ..., \"type\": ...}}}}"


@check("http.error_envelope", proof=("error_detail_envelope", "errors.input_wrong_type"), basis="error-class", spec_ref=ERROR_RESPONSE_REF, applies=_is_error_status)
def error_envelope(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """An error status carries ``{"error": {"message": str, "type": str, "code": str|null, "param": str|null}}``.

    Decision on the spec's inconsistency: DELETE and cancel list their 404 body as the bare ``Error``
    object, while 429 on every operation uses ``ErrorResponse`` (``{"error": Error}``). The real API answers
    every error with the envelope, and the SDKs (openai-python, openai-node) read ``body["error"]`` to build
    their exception: a bare ``Error`` loses the message and type for every client. We therefore require the
    envelope everywhere and name the bare-``Error`` case explicitly in the finding, so a provider that
    followed the 404 schema literally sees why. ``code``/``param`` may be absent here (their presence is
    ``http.error_schema``'s business), but if present they are strings or null.

    Under a profile whose spec declares no HTTP error body (Open Responses: errors are specified only as
    the ``error`` streaming event's ``ErrorPayload`` and the WebSocket error envelope, both under an
    ``error`` key), the same envelope is required: it is the only error shape that spec gives clients.
    """
    if not ex.body:
        yield Finding(f"HTTP {ex.status} with an empty body; expected the error envelope")
        return
    body = ex.json_or_none()
    if body is None:
        snippet = ex.text[:60].replace("\n", " ")
        yield Finding(f"HTTP {ex.status} body is not JSON (Content-Type {ex.header('content-type')!r}, "
                      f"starts {snippet!r}); expected the error envelope")
        return
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        problem = "missing" if error is None else "type"
        yield Finding(_describe_non_envelope(body, ctx.profile), "$.error", kind=problem,
                      rule=envelope_rule(None, problem, ctx.profile))
        return
    for key in ("message", "type"):
        if key not in error:
            yield Finding(f"error.{key} is missing", f"$.error.{key}", kind="missing",
                          rule=envelope_rule(key, "missing", ctx.profile))
        elif not isinstance(error[key], str):
            yield Finding(f"error.{key} is {short(error[key])}, expected a string", f"$.error.{key}", kind="type",
                          rule=envelope_rule(key, "type", ctx.profile))
    for key in ("code", "param"):
        if key in error and error[key] is not None and not isinstance(error[key], str):
            yield Finding(f"error.{key} is {short(error[key])}, expected a string or null", f"$.error.{key}",
                          kind="type", rule=envelope_rule(key, "type", ctx.profile))


@check("http.error_schema", proof=("error_missing_fields", "errors.input_wrong_type"), basis="schema", spec_ref=ERROR_RESPONSE_REF,
       applies=lambda ex, ctx: _on_api(ctx) and ex.status is not None and 400 <= ex.status < 500)
def error_schema(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """A 4xx body validates against ``ErrorResponse`` (``param`` and ``code`` are required, nullable).

    Judged by the active profile: where the spec has an HTTP error envelope (openai ``ErrorResponse``) the
    body is validated against it; where it has none (Open Responses) the body's ``error`` object is validated
    against the spec's error payload (``ErrorPayload``: ``type``, ``message``, ``code``, ``param``).
    """
    envelope = role_schema("error_envelope", ctx.profile)
    payload = role_schema("error_object", ctx.profile)
    name = envelope or payload or "ErrorResponse"
    body = ex.json_or_none()
    if body is None:
        yield Finding(f"HTTP {ex.status} body is not JSON, so it cannot be an {name}")
        return
    if envelope is not None or payload is None:
        yield from validate(name, body, ctx.profile)
        return
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        yield Finding(f"body {short(body)} has no 'error' object to hold the {ctx.profile} spec's {payload}", "$.error")
        return
    yield from validate(payload, error, ctx.profile, "$.error")


@check("http.no_error_in_200", proof=("error_status_200", "errors.input_wrong_type"), basis="error-class", spec_ref=f"{SPEC}#/paths/~1responses/post",
       applies=lambda ex, ctx: ctx.endpoint in {"create", "retrieve"} and ex.status == 200
       and not ctx.stream and not ex.is_stream)
def no_error_in_200(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """A 200 does not smuggle an error envelope: clients treat 200 as success and would parse garbage.

    A failed Response (``"object": "response"`` with ``"error": {...}``) is legitimate and not flagged.
    """
    body = ex.json_or_none()
    if isinstance(body, dict) and isinstance(body.get("error"), dict) and body.get("object") != "response":
        message = body["error"].get("message")
        yield Finding(f"HTTP 200 carries an error envelope instead of a Response (error.message={short(message)})",
                      "$.error")
