"""Checks on the Response object: a non-streamed 200 body, or a stream's terminal ``response``.

``response.schema`` and ``response.object_type`` judge non-streamed bodies only (a stream's final Response
is ``stream.final_response``'s); the semantic checks judge the Response wherever it arrives, so a rule
is stated once and holds for both transports.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ... import _json
from ..._verdict import Finding
from ...record.exchange import Exchange
from ._registry import CheckContext, check
from ._util import (
    RESPONSE_ENDPOINTS,
    RESPONSE_REF,
    SPEC,
    has_schema,
    is_int,
    nonempty_str,
    path_id,
    plain_json_200,
    response_of,
    short,
    too_deep_note,
    validate,
)

# Allowed ``status`` values per output item type, from the spec's OutputItem members
# (OutputMessage, FunctionToolCall, FileSearchToolCall, ...). Types not listed are left to the schema.
ITEM_STATUS: dict[str, frozenset[str]] = {
    "message": frozenset({"in_progress", "completed", "incomplete"}),
    "function_call": frozenset({"in_progress", "completed", "incomplete"}),
    "function_call_output": frozenset({"in_progress", "completed", "incomplete"}),
    "reasoning": frozenset({"in_progress", "completed", "incomplete"}),
    "file_search_call": frozenset({"in_progress", "searching", "completed", "incomplete", "failed"}),
    "web_search_call": frozenset({"in_progress", "searching", "completed", "failed"}),
    "computer_call": frozenset({"in_progress", "completed", "incomplete"}),
    "image_generation_call": frozenset({"in_progress", "completed", "generating", "failed"}),
    "code_interpreter_call": frozenset({"in_progress", "completed", "incomplete", "interpreting", "failed"}),
    "local_shell_call": frozenset({"in_progress", "completed", "incomplete"}),
    "shell_call": frozenset({"in_progress", "completed", "incomplete"}),
    "shell_call_output": frozenset({"in_progress", "completed", "incomplete"}),
    "apply_patch_call": frozenset({"in_progress", "completed"}),
    "apply_patch_call_output": frozenset({"completed", "failed"}),
    "mcp_call": frozenset({"in_progress", "completed", "incomplete", "calling", "failed"}),
    "custom_tool_call_output": frozenset({"in_progress", "completed", "incomplete"}),
    "tool_search_call": frozenset({"in_progress", "completed", "incomplete"}),
    "tool_search_output": frozenset({"in_progress", "completed", "incomplete"}),
}
INCOMPLETE_REASONS = frozenset({"max_output_tokens", "content_filter"})
CHAT_USAGE_NAMES = ("prompt_tokens", "completion_tokens")


def carries_response(ex: Exchange, ctx: CheckContext) -> bool:
    """A 200 from create/retrieve/cancel that carries a Response (body, or a stream's terminal event)."""
    ok = ex.status == 200 or (ctx.transport == "websocket" and ex.status == 101)  # a turn on an open socket
    return ctx.endpoint in RESPONSE_ENDPOINTS and ok and response_of(ex, ctx) is not None


def carried_response(ex: Exchange, ctx: CheckContext) -> tuple[dict[str, Any], str]:
    """The Response an exchange carries and its JSON path (applies only where :func:`carries_response` holds)."""
    found = response_of(ex, ctx)
    assert found is not None  # guaranteed by carries_response
    return found


def output_items(body: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """``(index, item)`` for every object in a Response's ``output`` (nothing when there is no list)."""
    output = body.get("output")
    if not isinstance(output, list):
        return []
    return [(i, item) for i, item in enumerate(output) if isinstance(item, dict)]


def error_envelope_body(ex: Exchange) -> bool:
    """A JSON ``{"error": {...}}`` envelope that is no Response (a failed Response has ``object``/``output``)."""
    body = ex.json_or_none()
    return isinstance(body, dict) and isinstance(body.get("error"), dict) and "object" not in body \
        and "output" not in body


def response_200(ex: Exchange, ctx: CheckContext) -> bool:
    """A non-streamed 200 that is not an error envelope: error bodies are judged as ``ErrorResponse`` only
    (``http.no_error_in_200`` reports a 200 that carries one), never as a Response missing its ``id``."""
    return plain_json_200(ex, ctx) and not error_envelope_body(ex)


@check("response.schema", proof=("created_at_string", "basic.text"), basis="schema", spec_ref=RESPONSE_REF, applies=response_200)
def response_schema(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """The body validates against the spec's ``Response`` schema."""
    body = ex.json_or_none()
    if body is None:
        yield Finding(f"body is not JSON{too_deep_note(ex)}")
        return
    yield from validate("Response", body, ctx.profile)


@check("response.object_type", proof=("object_not_response", "basic.text"), basis="schema", spec_ref=RESPONSE_REF, applies=response_200)
def object_type(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """``object`` is ``"response"`` and ``id`` a non-empty string: how clients recognise what they got."""
    body = ex.json_or_none()
    if not isinstance(body, dict):
        yield Finding(f"body is {short(body) if body is not None else 'not JSON'}, expected a Response object")
        return
    if body.get("object") != "response":
        hint = " (a Chat Completions object)" if body.get("object") == "chat.completion" else ""
        yield Finding(f"object is {short(body.get('object'))}, expected \"response\"{hint}", "$.object")
    if not nonempty_str(body.get("id")):
        yield Finding(f"id is {short(body.get('id'))}, expected a non-empty string", "$.id")


@check("response.status_consistency", proof=("incomplete_without_details", "parameters.max_output_tokens_incomplete"), basis="documented", spec_ref=RESPONSE_REF, applies=carries_response)
def status_consistency(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """``status`` agrees with ``incomplete_details`` and ``error``.

    ``incomplete`` ⇔ ``incomplete_details`` is an object with a ``reason``; ``completed`` has
    ``incomplete_details`` and ``error`` null; ``failed`` has a non-null ``error``. A missing ``status``
    (optional in the schema) is not judged. The spec makes ``reason`` optional, but an
    ``incomplete_details`` without one tells the client nothing, so its absence is reported.
    """
    body, at = carried_response(ex, ctx)
    status = body.get("status")
    details = body.get("incomplete_details")
    error = body.get("error")
    if status is None:
        return
    if status == "incomplete":
        if not isinstance(details, dict):
            yield Finding(f"status is \"incomplete\" but incomplete_details is {short(details)}",
                          f"{at}.incomplete_details")
        elif not isinstance(details.get("reason"), str):
            yield Finding("status is \"incomplete\" but incomplete_details has no reason "
                          f"(expected one of {sorted(INCOMPLETE_REASONS)})", f"{at}.incomplete_details.reason")
    elif details is not None:
        yield Finding(f"status is {short(status)} but incomplete_details is {short(details)} (expected null)",
                      f"{at}.incomplete_details")
    if status == "completed" and error is not None:
        yield Finding(f"status is \"completed\" but error is {short(error)} (expected null)", f"{at}.error")
    if status == "failed" and error is None:
        yield Finding("status is \"failed\" but error is null or missing", f"{at}.error")


@check("response.item_status", proof=("wrong_item_status", "basic.distinct_ids"), basis="documented", spec_ref=f"{SPEC}#/components/schemas/OutputItem", applies=carries_response)
def item_status(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Each output item's ``status`` is allowed for its type; a completed Response has no unfinished message.

    Enums come from the spec's item schemas (a fail). That a ``completed`` Response holds no message or
    function call still ``in_progress`` is what api.openai.com does, not a rule the spec states: basis
    ``observed`` (a warning). A function call made by a program (``caller.type`` ``program``, programmatic
    tool calling) is exempt: it waits for the client's output while the response that carries it is
    complete, and api.openai.com was reported (issue 10) leaving it ``in_progress``.
    """
    body, at = carried_response(ex, ctx)
    for index, item in output_items(body):
        if "status" not in item:
            continue
        allowed = ITEM_STATUS.get(str(item.get("type")))
        status = item["status"]
        where = f"{at}.output[{index}].status"
        if allowed is not None and (not isinstance(status, str) or status not in allowed):
            yield Finding(f"{item.get('type')} item has status {short(status)}, allowed: {sorted(allowed)}", where)
        elif (body.get("status") == "completed" and status == "in_progress"
              and item.get("type") in ("message", "function_call") and not program_called(item)):
            yield Finding(f"response is completed but its {item.get('type')} item is still in_progress", where,
                          kind="in_progress-in-completed", basis="observed")


def program_called(item: dict[str, Any]) -> bool:
    """A call made by a program (programmatic tool calling): ``caller`` ``{"type": "program", ...}``."""
    caller = item.get("caller")
    return isinstance(caller, dict) and caller.get("type") == "program"


@check("response.usage", proof=("chat_usage_names", "basic.text"), basis="documented", spec_ref=f"{SPEC}#/components/schemas/ResponseUsage", applies=carries_response)
def usage(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """``usage`` (optional) has non-negative integer counts with ``total == input + output``, and its details.

    Chat Completions names (``prompt_tokens``/``completion_tokens``) are named explicitly: it is the most
    common gateway slip and SDKs read ``input_tokens``/``output_tokens``. ``cache_write_tokens`` is only
    type-checked here; whether it must be present is ``response.schema``'s call.
    """
    body, at = carried_response(ex, ctx)
    if "usage" not in body or body["usage"] is None:
        return
    use = body["usage"]
    where = f"{at}.usage"
    if not isinstance(use, dict):
        yield Finding(f"usage is {short(use)}, expected an object", where)
        return
    chat = [name for name in CHAT_USAGE_NAMES if name in use]
    if chat and not {"input_tokens", "output_tokens"} & use.keys():
        yield Finding(f"usage uses Chat Completions names {chat}; the Responses API names are input_tokens/"
                      "output_tokens/total_tokens", where)
        return
    counts: dict[str, int] = {}
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        value = use.get(key)
        if not is_int(value) or value < 0:
            extra = f" (found Chat name(s) {chat})" if chat else ""
            yield Finding(f"usage.{key} is {short(value) if key in use else 'missing'}, "
                          f"expected an integer >= 0{extra}", f"{where}.{key}")
        else:
            counts[key] = value
    if len(counts) == 3 and counts["total_tokens"] != counts["input_tokens"] + counts["output_tokens"]:
        yield Finding(f"usage.total_tokens is {counts['total_tokens']} but input_tokens + output_tokens = "
                      f"{counts['input_tokens'] + counts['output_tokens']}", f"{where}.total_tokens")
    for details, required, optional in (("input_tokens_details", "cached_tokens", "cache_write_tokens"),
                                        ("output_tokens_details", "reasoning_tokens", None)):
        value = use.get(details)
        if not isinstance(value, dict):
            yield Finding(f"usage.{details} is {short(value) if details in use else 'missing'}, expected an object",
                          f"{where}.{details}")
            continue
        for field in (required, optional):
            if field is None or (field == optional and field not in value):
                continue
            count = value.get(field)
            if not is_int(count) or count < 0:
                yield Finding(f"usage.{details}.{field} is {short(count) if field in value else 'missing'}, "
                              "expected an integer >= 0", f"{where}.{details}.{field}")
    cached = (use.get("input_tokens_details") or {}).get("cached_tokens") if isinstance(
        use.get("input_tokens_details"), dict) else None
    if is_int(cached) and "input_tokens" in counts and cached > counts["input_tokens"]:
        yield Finding(f"usage.input_tokens_details.cached_tokens ({cached}) exceeds input_tokens "
                      f"({counts['input_tokens']})", f"{where}.input_tokens_details.cached_tokens")
    reasoning = (use.get("output_tokens_details") or {}).get("reasoning_tokens") if isinstance(
        use.get("output_tokens_details"), dict) else None
    if is_int(reasoning) and "output_tokens" in counts and reasoning > counts["output_tokens"]:
        yield Finding(f"usage.output_tokens_details.reasoning_tokens ({reasoning}) exceeds output_tokens "
                      f"({counts['output_tokens']})", f"{where}.output_tokens_details.reasoning_tokens")


def request_function_names(request: Any) -> set[str] | None:
    """Names of the request's function tools, or None when membership cannot be judged.

    ``namespace`` and ``tool_search`` tools make functions callable that are not listed at the top level,
    so with those present any name could be legitimate.
    """
    tools = request.get("tools") if isinstance(request, dict) else None
    if not isinstance(tools, list):
        return None
    types = {t.get("type") for t in tools if isinstance(t, dict)}
    if types & {"namespace", "tool_search"}:
        return None
    names = {t["name"] for t in tools if isinstance(t, dict) and t.get("type") == "function"
             and isinstance(t.get("name"), str)}
    return names or None


@check("response.function_call_arguments", proof=("function_arguments_object", "tools.function_call_roundtrip"), basis="documented", spec_ref=f"{SPEC}#/components/schemas/FunctionToolCall",
       applies=carries_response)
def function_call_arguments(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Every ``function_call`` has JSON-object ``arguments`` (a string), a ``call_id``, and a declared ``name``.

    ``name`` must be one of the request's function tools when the request declared any.

    ``arguments`` is a *string* of JSON ("A JSON string of the arguments"): gateways that pass the Chat
    object through, or truncate it, break every tool loop.
    """
    body, at = carried_response(ex, ctx)
    names = request_function_names(ctx.request_body)
    for index, item in output_items(body):
        if item.get("type") != "function_call":
            continue
        where = f"{at}.output[{index}]"
        for key in ("call_id", "name"):
            if not nonempty_str(item.get(key)):
                yield Finding(f"function_call.{key} is {short(item.get(key))}, expected a non-empty string",
                              f"{where}.{key}")
        args = item.get("arguments")
        incomplete = item.get("status") == "incomplete" or body.get("status") == "incomplete"
        if not isinstance(args, str):
            kind = "an object (must be a JSON *string*)" if isinstance(args, dict) else short(args)
            yield Finding(f"function_call.arguments is {kind}", f"{where}.arguments")
        elif not incomplete:
            try:
                parsed = _json.loads(args)
            except ValueError as exc:
                yield Finding(f"function_call.arguments is not valid JSON ({exc}): {short(args)}",
                              f"{where}.arguments")
            else:
                if not isinstance(parsed, dict):
                    yield Finding(f"function_call.arguments parses to {short(parsed)}, expected a JSON object",
                                  f"{where}.arguments")
        name = item.get("name")
        if names is not None and isinstance(name, str) and name and "namespace" not in item and name not in names:
            yield Finding(f"function_call.name {name!r} is not one of the request's function tools {sorted(names)}",
                          f"{where}.name")


@check("response.content_parts", proof=("text_type_instead_of_output_text", "basic.text"), basis="schema", spec_ref=f"{SPEC}#/components/schemas/OutputMessageContent",
       applies=carries_response)
def content_parts(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Assistant message content parts are ``output_text`` (text + annotations list) or ``refusal``.

    ``{"type": "text"}`` is the Chat/Assistants part shape and is named as such: SDKs that switch on
    ``output_text`` silently drop it.
    """
    body, at = carried_response(ex, ctx)
    for index, item in output_items(body):
        if item.get("type") != "message":
            continue
        where = f"{at}.output[{index}].content"
        content = item.get("content")
        if not isinstance(content, list):
            yield Finding(f"message content is {short(content)}, expected an array of parts", where)
            continue
        for ci, part in enumerate(content):
            here = f"{where}[{ci}]"
            if not isinstance(part, dict):
                yield Finding(f"content part is {short(part)}, expected an object", here)
                continue
            kind = part.get("type")
            if kind == "output_text":
                if not isinstance(part.get("text"), str):
                    yield Finding(f"output_text.text is {short(part.get('text'))}, expected a string", f"{here}.text")
                if not isinstance(part.get("annotations"), list):
                    yield Finding(f"output_text.annotations is {short(part.get('annotations'))}, expected an array",
                                  f"{here}.annotations")
            elif kind == "refusal":
                if not isinstance(part.get("refusal"), str):
                    yield Finding(f"refusal.refusal is {short(part.get('refusal'))}, expected a string",
                                  f"{here}.refusal")
            elif kind == "text":
                yield Finding("content part type is \"text\" (Chat/Assistants-style part type); assistant output "
                              "uses \"output_text\"", f"{here}.type")
            else:
                yield Finding(f"content part type {short(kind)} is not allowed in assistant output "
                              "(expected output_text or refusal)", f"{here}.type")


def concatenated_output_text(body: dict[str, Any]) -> str:
    """What the SDKs compute as ``output_text``: every output_text part of every message, in order."""
    texts: list[str] = []
    for _, item in output_items(body):
        if item.get("type") == "message" and isinstance(item.get("content"), list):
            texts.extend(p["text"] for p in item["content"]
                         if isinstance(p, dict) and p.get("type") == "output_text" and isinstance(p.get("text"), str))
    return "".join(texts)


@check("response.output_text_sdk_field", proof=("output_text_mismatch", "basic.distinct_ids"), basis="observed", spec_ref=f"{RESPONSE_REF}/properties/output_text",
       applies=lambda ex, ctx: carries_response(ex, ctx) and carried_response(ex, ctx)[0].get("output_text") is not None)
def output_text_sdk_field(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """A top-level ``output_text``, when sent, equals the concatenated ``output_text`` parts.

    The spec marks it SDK-only (computed client-side); a server that sends it anyway must not disagree.
    """
    body, at = carried_response(ex, ctx)
    expected = concatenated_output_text(body)
    if body["output_text"] != expected:
        yield Finding(f"output_text is {short(body['output_text'])} but the output_text parts concatenate to "
                      f"{short(expected)}", f"{at}.output_text")


SUCCESS_SCHEMAS = {
    "input_items": ("ResponseItemList", f"{SPEC}#/paths/~1responses~1{{response_id}}~1input_items/get"),
    "input_tokens": ("TokenCountsResource", f"{SPEC}#/paths/~1responses~1input_tokens/post"),
    "compact": ("CompactResource", f"{SPEC}#/paths/~1responses~1compact/post"),
}


@check("endpoint.schema", proof=("input_items_missing_pagination_fields", "endpoints.input_items"), basis="schema", spec_ref=f"{SPEC}#/paths/~1responses~1{{response_id}}~1input_items/get",
       applies=lambda ex, ctx: plain_json_200(ex, ctx, frozenset(SUCCESS_SCHEMAS)) and not error_envelope_body(ex)
       and has_schema(SUCCESS_SCHEMAS[ctx.endpoint][0], ctx.profile))
def endpoint_schema(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """A 200 from input_items / input_tokens / compact validates against the schema its operation declares.

    (``ResponseItemList``, ``TokenCountsResource``, ``CompactResource``; Response bodies are ``response.schema``'s.)
    Not applied under a profile whose spec lacks the operation (Open Responses has only create and compact).
    """
    name, _ = SUCCESS_SCHEMAS[ctx.endpoint]
    body = ex.json_or_none()
    if body is None:
        yield Finding(f"body is not JSON{too_deep_note(ex)}, so it cannot be a {name}")
        return
    yield from validate(name, body, ctx.profile)


@check("delete.result", proof=("delete_wrong_shape", "state.delete_then_get"), basis="observed", spec_ref=f"{SPEC}#/paths/~1responses~1{{response_id}}/delete",
       applies=lambda ex, ctx: ctx.endpoint == "delete" and ex.status == 200)
def delete_result(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """DELETE 200: an empty body, or ``{"id": <path id>, "object": "response.deleted", "deleted": true}``.

    The spec declares *no* content for this 200 (a known ambiguity), and openai-python's
    ``responses.delete`` returns ``None`` without reading the body, so an empty body passes. A body that is
    sent is compared with the de-facto shape the real API returns (the same shape as every other ``*.deleted``
    object in the spec), because clients that do read it expect exactly that. Warning severity: the spec
    itself declares no body, so a different shape is reported but is not non-conformance (seen on
    fastresponses 0.1.0: ``"object": "response"``).
    """
    if not ex.body.strip():
        return
    body = ex.json_or_none()
    if not isinstance(body, dict):
        yield Finding(f"DELETE 200 body is {short(body) if body is not None else 'not JSON'}, expected "
                      "{\"id\", \"object\": \"response.deleted\", \"deleted\": true} or no body")
        return
    expected_id = path_id(ex)
    if body.get("id") != expected_id:
        yield Finding(f"id is {short(body.get('id'))}, expected the deleted id {expected_id!r}", "$.id")
    if body.get("object") != "response.deleted":
        yield Finding(f"object is {short(body.get('object'))}, expected \"response.deleted\"", "$.object")
    if body.get("deleted") is not True:
        yield Finding(f"deleted is {short(body.get('deleted'))}, expected true", "$.deleted")
