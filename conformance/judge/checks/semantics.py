"""Request/response consistency: the Response reports the parameters it was created with.

Only fields that the spec's ``Response`` schema actually carries are compared (``store``, ``stream``,
``input`` and ``include`` are request-only: see the spec's ``CreateResponse`` vs ``Response``). A field
the request did not set is never judged, and a field the response omits is never judged: the spec lets a
server leave the optional echoes out (``truncation``, ``reasoning``, ``service_tier``, ``text``,
``prompt_cache_key``, ``background``...), and a missing *required* one is ``response.schema``'s finding,
not a second one here. A present value that contradicts the request is a finding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..._verdict import Finding
from ...record.exchange import Exchange
from ._registry import CheckContext, check
from ._util import RESPONSE_REF, nonempty_str, numbers_close, response_properties, short
from .response import carried_response, carries_response

Same = Callable[[Any, Any], bool]

#: the finding kind of an echo that differs from the request: its key is the check and field, not the values
ECHO_MISMATCH = "echo differs from the request"


def _equal(sent: Any, got: Any) -> bool:
    return bool(sent == got and type(sent) is type(got)) or (
        isinstance(sent, (int, float)) and numbers_close(sent, got) and not isinstance(sent, bool))


def _float(sent: Any, got: Any) -> bool:
    return numbers_close(sent, got)


def _subset(sent: Any, got: Any) -> bool:
    """``got`` agrees with every key the request set (the server may add defaults, e.g. ``strict``)."""
    if isinstance(sent, dict):
        return isinstance(got, dict) and all(k in got and _subset(v, got[k]) for k, v in sent.items())
    if isinstance(sent, list):
        return isinstance(got, list) and len(sent) == len(got) and all(map(_subset, sent, got))
    return _equal(sent, got)


# field -> comparison (fields the Response omits are not compared)
ECHOED: dict[str, Same] = {
    "temperature": _float,
    "top_p": _float,
    "metadata": _equal,
    "instructions": _equal,
    "parallel_tool_calls": _equal,
    "tool_choice": _subset,
    "max_output_tokens": _equal,
    "previous_response_id": _equal,
    "top_logprobs": _equal,
    "max_tool_calls": _equal,
    "truncation": _equal,
    "background": _equal,
    "safety_identifier": _equal,
    "prompt_cache_key": _equal,
    "presence_penalty": _float,  # Open Responses only (not on OpenAI's Response)
    "frequency_penalty": _float,
}


def _applies(ex: Exchange, ctx: CheckContext) -> bool:
    return ctx.endpoint == "create" and isinstance(ctx.request_body, dict) and carries_response(ex, ctx)


@check("response.echo", proof=("no_metadata_echo", "parameters.metadata_echo"), basis="documented", spec_ref=RESPONSE_REF, applies=_applies)
def echo(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Request parameters come back unchanged in the Response (floats within float32 tolerance).

    ``model`` must be a non-empty string but is *not* compared: providers resolve aliases to snapshots
    (``gpt-4o`` → ``gpt-4o-2024-08-06``). Array-form ``instructions`` in the response (a stored prompt) is
    not compared. For ``text.format`` and ``reasoning`` only the discriminating keys (``type``,
    ``effort``) are compared, since servers normalise schemas and add defaults. Tools are compared by
    function name. A null request value means "default" and is not compared. Only fields the active
    profile's Response declares are compared (``presence_penalty``/``frequency_penalty``: Open Responses),
    and only when the Response carries them: absence is not a contradiction. That every declared function
    tool is listed in the Response's ``tools`` is what api.openai.com does, not a stated rule (it re-shapes
    tools a ``tool_search_output`` loaded as namespaces): basis ``observed``.
    """
    sent: dict[str, Any] = ctx.request_body
    body, at = carried_response(ex, ctx)
    if not nonempty_str(body.get("model")):
        yield Finding(f"model is {short(body.get('model'))}, expected a non-empty string", f"{at}.model")
    declared = response_properties(ctx.profile)
    for field, same in ECHOED.items():
        if field not in sent or sent[field] is None or field not in declared or field not in body:
            continue
        got = body[field]
        if field == "instructions" and isinstance(got, list):
            continue
        if not same(sent[field], got):
            # kind: one finding per echoed field, whatever the values (a key blanking them broke on long,
            # cut-short values: generated metadata gave a "distinct" finding per value, peers/fuzz)
            yield Finding(f"request set {field}={short(sent[field])} but the Response has {short(got)}",
                          f"{at}.{field}", kind=ECHO_MISMATCH)
    yield from _nested(sent, body, at, "text", "format", "type")
    yield from _nested(sent, body, at, "reasoning", "effort", None)
    yield from _tools(sent, body, at)


def _nested(sent: dict[str, Any], body: dict[str, Any], at: str, outer: str, inner: str,
            key: str | None) -> Iterator[Finding]:
    want = sent.get(outer)
    want = want.get(inner) if isinstance(want, dict) else None
    if key is not None:
        want = want.get(key) if isinstance(want, dict) else None
    if want is None or not isinstance(body.get(outer), dict):
        return
    got = body[outer].get(inner)
    if key is not None:
        got = got.get(key) if isinstance(got, dict) else None
    if got is not None and got != want:
        path = f"{outer}.{inner}" + (f".{key}" if key else "")
        yield Finding(f"request set {path}={short(want)} but the Response has {short(got)}", f"{at}.{path}",
                      kind=ECHO_MISMATCH)


def _function_names(tools: Any, nested: bool = False) -> set[str]:
    """Function names among ``tools``; with ``nested``, also those inside a tool's own ``tools`` list and the
    names of namespaces: api.openai.com echoes a deferred function that tool search loaded as a namespace-like
    entry holding it (pydantic-ai captures, 2026-05 to 2026-08), and a namespace's functions are declared that
    way anyway."""
    if not isinstance(tools, list):
        return set()
    names = {t["name"] for t in tools if isinstance(t, dict) and t.get("type") == "function"
             and isinstance(t.get("name"), str)}
    if nested:
        for t in tools:
            if isinstance(t, dict) and isinstance(t.get("tools"), list):
                names |= _function_names(t["tools"])
            if isinstance(t, dict) and t.get("type") == "namespace" and isinstance(t.get("name"), str):
                names.add(t["name"])
    return names


def _tools(sent: dict[str, Any], body: dict[str, Any], at: str) -> Iterator[Finding]:
    wanted = _function_names(sent.get("tools"))
    if not wanted or not isinstance(body.get("tools"), list):
        return
    missing = wanted - _function_names(body["tools"], nested=True)
    if missing:
        yield Finding(f"request declared function tool(s) {sorted(missing)} but the Response's tools do not list "
                      "them", f"{at}.tools", basis="observed")
