"""The one rule for declines, server faults and auth refusals, shared by the HTTP, WebSocket and SDK steps.

docs/verdicts.md (``## Declines``) states the rule; this module is its only implementation. The engine asks
it three questions about each recorded answer, in this order:

1. :func:`contradicted_refusal`: is this 404/405 contradicted by the case's own earlier traffic (a route
   that already answered, an id the server itself returned)? Then it is a ``fail`` that says what is
   missing, never a decline.
2. :func:`is_decline`: is it a clear refusal of an optional capability? Then the case is ``unsupported``.
3. :func:`lead_failure` (at judging time): does the answer alone make the step fail for a reason the step's
   expectations would only restate (a reproduced server fault, a key that was not checked)? Then that one
   finding stands for the step.

Everything here is a pure function of the case and its recorded exchanges.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from .._verdict import CheckResult, Finding, Outcome
from ..cases import Case, Step
from ..record.exchange import Exchange
from ..record.http import Target, is_server_fault
from .checks import endpoint_of

SPEC = "openai-openapi.yaml"

#: Statuses with which a provider can *clearly refuse* an optional capability, on every transport: a bad or
#: unprocessable request (400, 422: "this parameter/tool is not supported"), not permitted (403: also what
#: most web frameworks answer a WebSocket upgrade on a route without one), no such route or method (404, 405),
#: upgrade required (426: this endpoint speaks no WebSocket) and not implemented (501).
DECLINE_STATUSES = frozenset({400, 403, 404, 405, 422, 426, 501})

#: sibling endpoints at a fixed path (no id in it): a 404/405/501 there can only mean the route is missing
FIXED_ROUTE_ENDPOINTS = frozenset({"compact", "input_tokens"})

#: ``auth:`` modes that send no key or a wrong one: only meaningful when the run has a key
UNAUTHENTICATED = frozenset({"none", "invalid"})

NO_KEY_REASON = ("skipped (no key configured): this case sends a request without a key or with a wrong one, "
                 "which tells nothing when the run itself sends none (give the target a key: --api-key-env VAR)")


def expects_success(step: Step) -> bool:
    """The step expects the request to succeed: a 2xx (101 for a WebSocket upgrade), or the SDK call to return."""
    if step.transport == "sdk":
        return any(e.name == "sdk_ok" and e.arg is True for e in step.expect)
    statuses = step.expected_statuses()
    if step.transport == "websocket":  # every turn needs its connection's upgrade to succeed
        return all(s == 101 or 200 <= s < 300 for s in statuses)
    return bool(statuses) and all(200 <= s < 300 for s in statuses)


def upgrade_ignored(ex: Exchange) -> bool:
    """A 2xx (not 101) answer to the WebSocket handshake: the server ignored ``Upgrade`` (RFC 9110 7.8
    allows that) and answered the plain ``GET`` over HTTP, e.g. with a list of stored responses."""
    return ex.transport == "websocket" and ex.status is not None and 200 <= ex.status < 300


def route_missing(step: Step, ex: Exchange) -> bool:
    """An error-case step on a fixed-path sibling endpoint that expects its own 4xx (a 400 for a missing
    model, say) but is told the route does not exist: the provider lacks the endpoint, so the case's optional
    capability is declined; it never reached the validation the case judges."""
    statuses = step.expected_statuses()
    return (bool(statuses) and all(400 <= s < 500 and s not in (404, 405) for s in statuses)
            and ex.status in (404, 405, 501) and _endpoint(ex) in FIXED_ROUTE_ENDPOINTS)


def is_decline(case: Case, step: Step, ex: Exchange) -> bool:
    """The provider clearly refused an optional capability: the case becomes ``unsupported``.

    Only a non-core case (a core feature refused is non-conformance), only a step that expected to succeed
    (or, on a fixed-path sibling endpoint, to reach its own validation), only a refusal status
    (:data:`DECLINE_STATUSES`) or a WebSocket upgrade answered over plain HTTP. The body does not decide:
    on HTTP (and the SDK's HTTP) the error-envelope checks still judge it, so a refusal without the
    ``{"error": {...}}`` envelope fails on that rule, with the refusal named in the case's message.
    :func:`contradicted_refusal` is asked first: a 404/405 the case's own traffic contradicts is no decline.
    """
    if "core" in case.capabilities or ex.inconclusive or ex.status is None:
        return False
    if upgrade_ignored(ex):
        return expects_success(step)
    return ex.status in DECLINE_STATUSES and (expects_success(step) or route_missing(step, ex))


def _path_of(ex: Exchange) -> str:
    return urlsplit(ex.request.path).path.rstrip("/") or "/"


def _server_ids(case: Case, step: Step, variables: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(value, variable, capturing step) for every id an earlier step of ``case`` captured from the server.

    Only ``id`` fields (a response's or an item's own id, not a ``call_id``), only from steps that did not ask
    for ``store: false`` (a response that was not stored is rightly not found)."""
    out: list[tuple[str, str, str]] = []
    for earlier in case.steps:
        if earlier is step:
            break
        body = earlier.body if earlier.transport != "sdk" else earlier.args
        if isinstance(body, Mapping) and body.get("store") is False:
            continue
        for name, path in earlier.capture.items():
            value = variables.get(name)
            if isinstance(value, str) and value and (path == "id" or path.endswith(".id")):
                out.append((value, name, earlier.name))
    return out


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


#: endpoints whose path names a stored response
_RESPONSE_ROUTES = frozenset({"retrieve", "delete", "cancel", "input_items"})


def _what_is_missing(ex: Exchange, in_path: bool) -> str:
    endpoint = endpoint_of(ex.request.method, ex.request.path)  # a WebSocket's: its upgrade GET
    route = f"the {endpoint} route" if endpoint in _RESPONSE_ROUTES else "this route"
    if ex.status == 405:
        return f"{route} is missing (the method is not allowed on it)"
    if not in_path:
        return ("the response store is missing: a stored response can be referenced later (store defaults to "
                "true)")
    if endpoint in _RESPONSE_ROUTES:
        return f"{route} or the response store is missing: a stored response is retrievable (store defaults to true)"
    return f"{route} or the store behind it is missing: the server returned this id itself"


def _says_not_found(ex: Exchange) -> bool:
    """The error says something was not found (``error.code`` ``*not_found``, or "not found" in its message):
    OpenAI answers an unknown ``previous_response_id`` with 400 ``previous_response_not_found``."""
    body = ex.json_or_none()
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return False
    text = f"{err.get('code') or ''} {err.get('message') or ''}".lower()
    return "not_found" in text or "not found" in text


def contradicted_refusal(case: Case, step: Step, ex: Exchange, earlier: Iterable[Exchange],
                         variables: Mapping[str, Any]) -> str | None:
    """Why a refusal of a step that expected to succeed cannot be a decline, or None.

    A 404/405 (or a 400/422 whose error says "not found") for an id this server returned earlier in the case
    (in the path, or in the body: ``previous_response_id``, an ``item_reference``...); or a 404/405 on a
    method and path that already succeeded earlier in the case. A provider that lacks a capability refuses
    it every time; one that answers and then says the route or the stored object does not exist is broken.
    Basis: documented (a stored response is retrievable and can be continued; ``store`` defaults to true).
    """
    if ex.inconclusive or not (expects_success(step) or route_missing(step, ex)):
        return None
    missing = ex.status in (404, 405)
    if not missing and not (ex.status in (400, 422) and _says_not_found(ex)):
        return None
    shown = f"{_label(ex)} -> {ex.status}"
    if not missing:
        shown += " (not found)"
    segments = {unquote(s) for s in _path_of(ex).split("/") if s}
    sent = set(_strings(ex.request.body))
    for value, name, where in _server_ids(case, step, variables):
        if value in segments:
            return f"{shown} for an id this server returned in step {where!r}: {_what_is_missing(ex, True)}"
        if value in sent:
            return (f"{shown} for an id this server returned in step {where!r} (sent as !var {name}): "
                    f"{_what_is_missing(ex, False)}")
    if not missing:
        return None
    route = _route(ex)
    for prior in earlier:
        if prior.inconclusive or prior.status is None or _route(prior) != route:
            continue
        if 200 <= prior.status < 300 or (prior.transport == "websocket" and prior.status == 101):
            return (f"{shown}, but the same route answered {prior.status} in step {prior.step!r}: the route "
                    "exists, so this is no missing capability (a provider declines an optional capability "
                    "every time, with 400/422/501 for a request it will not serve)")
    return None


def contradicted_result(step: str, ex: Exchange, why: str) -> CheckResult:
    """The failure a contradicted refusal is judged as (basis documented), one finding keyed by endpoint."""
    return CheckResult("engine.decline_contradicted", Outcome.FAIL, why,
                       f"{SPEC}#/paths/~1responses~1{{response_id}}/get", step,
                       findings=[Finding(why, kind=f"{_endpoint(ex)} answered {ex.status}")], basis="documented")


def _endpoint(ex: Exchange) -> str:
    return "websocket" if ex.transport == "websocket" else endpoint_of(ex.request.method, ex.request.path)


def _route(ex: Exchange) -> tuple[bool, str, str]:
    """What makes two exchanges the same route: a WebSocket upgrade is no plain GET of the same path."""
    return ex.transport == "websocket", ex.request.method, _path_of(ex)


def _label(ex: Exchange) -> str:
    return f"{ex.method_label} {ex.request.path}"


def _server_fault(step: Step, ex: Exchange) -> CheckResult | None:
    """A 5xx that the recorder's retry reproduced (recorder.Retries): the server cannot serve this request."""
    if ex.inconclusive or not is_server_fault(ex.status) or ex.status in step.expected_statuses():
        return None
    statuses = step.expected_statuses()
    if statuses and all(400 <= s < 500 for s in statuses):
        why = "a client error is a 4xx with the error envelope, never a 5xx"
    else:
        why = "the server cannot serve a valid request; the documented error classes allow no 5xx for it"
    message = f"{_label(ex)} -> HTTP {ex.status}, and again when retried: {why}"
    kind = f"{_endpoint(ex)} answered {ex.status}"
    return CheckResult("engine.server_error", Outcome.FAIL, message, f"{SPEC}#/components/schemas/ErrorResponse",
                       ex.step, findings=[Finding(message, kind=kind)], basis="error-class")


def _key_not_checked(step: Step, ex: Exchange) -> CheckResult | None:
    """An ``auth: none|invalid`` request the server served (2xx) or processed (a 4xx other than 401/403)."""
    if step.auth not in UNAUTHENTICATED or ex.inconclusive or ex.status is None:
        return None
    if not (200 <= ex.status < 300 or (400 <= ex.status < 500 and ex.status not in (401, 403, 407))):
        return None
    how = "without a key" if step.auth == "none" else "with a wrong key"
    did = "served" if ex.status < 300 else "processed"
    message = (f"{_label(ex)} {how} -> HTTP {ex.status}: the server {did} it instead of rejecting it; "
               "a missing or wrong API key is 401")
    return CheckResult("engine.auth", Outcome.FAIL, message, f"{SPEC}#/components/schemas/ErrorResponse", ex.step,
                       findings=[Finding(message, kind=f"{how} {did}")], basis="error-class")


def lead_failure(step: Step, ex: Exchange) -> CheckResult | None:
    """The one failure that stands for this step's answer, when its expectations would only restate it."""
    return _server_fault(step, ex) or _key_not_checked(step, ex)


def stops_case(ex: Exchange) -> bool:
    """A reproduced server fault ends the case: later steps would only fail on what it did not produce."""
    return not ex.inconclusive and is_server_fault(ex.status)


def no_key_reason(case: Case, target: Target) -> str | None:
    """``skipped (no key configured)`` for a case that sends no key or a wrong one, when the run has no key:
    against a server that wants none, such a request rightly succeeds, and a wrong key cannot be told from
    the right one."""
    if not any(s.auth in UNAUTHENTICATED for s in case.steps):
        return None
    return None if target.api_key else NO_KEY_REASON


def refusal_detail(ex: Exchange) -> str:
    """What the refusal said: the envelope's message, else the start of the body."""
    if upgrade_ignored(ex):
        return "the WebSocket upgrade was ignored (answered over HTTP)"
    body = ex.json_or_none()
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict) and err.get("message"):
        return str(err["message"])[:300]
    if isinstance(err, str) and err:
        return err[:300]
    text = re.sub(r"\s+", " ", ex.text).strip()
    return f"body {text[:200]!r}" if text else "empty body"
