"""The ``sdk_*`` assertions: what the official SDK made of a recorded exchange.

They read ``Exchange.sdk`` (recorded by ``conformance/record/sdk``), never the network. When the SDK raised, every
one of them fails with the exception, the stage where it was raised and - for a stream - a
diagnosis from the recorded bytes (``sdk_decoder.diagnose``): a valid stream that only the SDK's
decoder mis-reads is reported as *SDK decoder tolerance, not a spec violation*.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ... import _json
from ..._verdict import Finding
from ...record.exchange import Exchange
from .accessors import Fail
from .arguments import check_matches_arg, check_regex
from .behavioural import events_name_model_action
from .compare import json_contains, json_equal, short
from .events import event_type_findings
from .output import text_findings
from .registry import SPEC, ExpectContext, Problems, assertion

SDK_REF = SPEC + "/paths/~1responses/post"


def outcome_of(ex: Exchange) -> dict[str, Any]:
    sdk = ex.sdk
    if not isinstance(sdk, dict):
        raise Fail("no SDK outcome was recorded for this exchange (sdk_* assertions apply to transport: sdk steps)")
    return sdk


def failure_message(ex: Exchange, sdk: Mapping[str, Any], short: bool = False) -> str:
    """The SDK's exception, where it was raised, and what the recorded exchange says about it.

    ``short``: one line for the assertions that merely depend on the call having worked (the
    full diagnosis is ``sdk_ok``'s message).
    """
    from .sdk_decoder import TOLERANCE_PREFIX, diagnose

    exc = sdk.get("exception") or {}
    version = sdk.get("sdk_version")
    head = (f"openai-python {version} raised {exc.get('type')} ({exc.get('stage')}"
            + (f", {exc['where']}" if exc.get("where") and not short else "")
            + f"): {str(exc.get('message'))[:120 if short else 300]}")
    why = diagnose(ex, version)
    if short:
        return head + (f" - {TOLERANCE_PREFIX} (see sdk_ok)" if why.startswith(TOLERANCE_PREFIX) else "")
    if why.startswith(TOLERANCE_PREFIX):  # lead with the verdict's meaning: it is not the spec's failure
        return f"{why}. {head}"
    return head + (f"; {why}" if why else "")


def sdk_value(ex: Exchange) -> Any:
    """The object the SDK returned (dumped), or fail with why there is none."""
    sdk = outcome_of(ex)
    if not sdk.get("ok"):
        raise Fail(failure_message(ex, sdk, short=True))
    return sdk.get("value")


def _structured_output_rejected(arg: Any, ex: Exchange) -> bool:
    """``sdk_ok`` on a call that parses the model's reply into a schema (``parse()``, ``text_format``) and raised
    pydantic's ``ValidationError``: the reply was not the JSON asked for - the model's doing, not the wire's."""
    sdk = ex.sdk
    exc = sdk.get("exception") if isinstance(sdk, dict) else None
    if not isinstance(exc, dict) or exc.get("type") != "ValidationError":
        return False
    body = ex.request.body if isinstance(ex.request.body, dict) else {}
    fmt = (body.get("text") or {}).get("format") if isinstance(body.get("text"), dict) else None
    return isinstance(fmt, dict) and fmt.get("type") in ("json_schema", "json_object")


@assertion("sdk_ok", proof=("non_json_event_data", "sdk.create_stream"), basis="documented", spec_ref=SDK_REF, behavioural=_structured_output_rejected)
def _sdk_ok(arg: Any, ex: Exchange, ctx: ExpectContext) -> Problems:
    """The SDK call returned without raising (and, for streams, its events and final response were read).

    A failure names the exception and the stage (``call``, ``iterate``, ``final_response``,
    ``output_text``, ``output_parsed``); for a stream it also says whether the recorded stream is
    at fault or only the SDK's decoder (*SDK decoder tolerance, not a spec violation*).
    """
    sdk = outcome_of(ex)
    if not sdk.get("ok"):
        yield Finding(failure_message(ex, sdk))


@assertion("sdk_error", proof=("delete_not_effective", "sdk.delete"), basis="error-class", spec_ref=SPEC + "/components/schemas/ErrorResponse")
def _sdk_error(arg: Any, ex: Exchange, ctx: ExpectContext) -> Problems:
    """The SDK raised ``type`` (the class or one of its bases, e.g. ``NotFoundError``, ``APIStatusError``) with ``status``."""
    sdk = outcome_of(ex)
    exc = sdk.get("exception")
    if sdk.get("ok") or not isinstance(exc, dict):
        yield Finding(f"expected the SDK to raise {arg.get('type')}, but it returned {sdk.get('type')}: "
                      f"{short(sdk.get('value'))}")
        return
    names = [exc.get("type")] + list(exc.get("bases") or [])
    if "type" in arg and arg["type"] not in names:
        yield Finding(f"expected the SDK to raise {arg['type']}, got {exc.get('type')} "
                      f"(bases {exc.get('bases')}): {str(exc.get('message'))[:200]}")
    if "status" in arg and exc.get("status_code") != arg["status"]:
        yield Finding(f"expected an SDK error with status_code {arg['status']}, got {exc.get('status_code')}")


@assertion("sdk_output_text", proof=("probes_ignored", "sdk.create"), basis="documented", spec_ref=SPEC + "/components/schemas/OutputTextContent",
           validate=check_matches_arg, behavioural=True)
def _sdk_output_text(arg: Any, ex: Exchange, ctx: ExpectContext) -> Problems:
    """The SDK's ``response.output_text`` (of the returned or final response) satisfies equals/token/contains/not_contains/matches."""
    sdk_value(ex)
    text = outcome_of(ex).get("output_text")
    if not isinstance(text, str):
        raise Fail(f"the SDK produced no output_text (got {short(text)})")
    yield from text_findings(arg, text)


@assertion("sdk_parsed", proof=("json_format_ignored", "sdk.parse"), basis="documented", spec_ref=SPEC + "/components/schemas/TextResponseFormatJsonSchema",
           behavioural=True)
def _sdk_parsed(arg: Any, ex: Exchange, ctx: ExpectContext) -> Problems:
    """``response.output_parsed`` (``parse()`` or ``stream(text_format=...)``) ``equals`` / ``contains`` the given JSON."""
    sdk_value(ex)
    sdk = outcome_of(ex)
    if "output_parsed" not in sdk or sdk["output_parsed"] is None:
        raise Fail(f"the SDK produced no output_parsed (got {short(sdk.get('output_parsed'))}); "
                    f"output_text was {short(sdk.get('output_text'))}")
    parsed = sdk["output_parsed"]
    if "equals" in arg and not json_equal(parsed, arg["equals"]):
        yield Finding(f"expected output_parsed {short(arg['equals'])}, got {short(parsed)}")
    if "contains" in arg and not json_contains(parsed, arg["contains"]):
        yield Finding(f"expected output_parsed to contain {short(arg['contains'])}, got {short(parsed)}")


@assertion("sdk_events", proof=("events_after_terminal", "sdk.create_stream"), basis="event-contract", spec_ref=SPEC + "/components/schemas/ResponseStreamEvent", streamed_only=True,
           behavioural=events_name_model_action)
def _sdk_events(arg: Any, ex: Exchange, ctx: ExpectContext) -> Problems:
    """Types of the events the SDK yielded: ``first``, ``last``, ``includes``, ``excludes``, ``order`` (as ``events``)."""
    sdk = outcome_of(ex)
    types = sdk.get("events")
    if not isinstance(types, list):
        raise Fail("the SDK step recorded no events (not a streaming call)")
    if not sdk.get("ok"):
        raise Fail(failure_message(ex, sdk, short=True) + f" (after {len(types)} events)")
    yield from event_type_findings(arg, [str(t) for t in types])


def _validate_function_call_arg(arg: Any) -> Iterator[tuple[str, str]]:
    if isinstance(arg, dict):
        for key, pattern in (arg.get("arguments_matches") or {}).items():
            yield from check_regex(f"arguments_matches.{key}", pattern)


@assertion("sdk_function_call", proof=("function_arguments_object", "sdk.function_call_roundtrip"), basis="documented", spec_ref=SPEC + "/components/schemas/FunctionToolCall",
           validate=_validate_function_call_arg, behavioural=True)
def _sdk_function_call(arg: Any, ex: Exchange, ctx: ExpectContext) -> Problems:
    """A ``function_call`` item ``name`` in the SDK's ``response.output`` whose ``json.loads(item.arguments)``
    - what SDK users do - works and contains ``arguments`` (subset) / matches ``arguments_matches``."""
    value = sdk_value(ex)
    output = value.get("output") if isinstance(value, dict) else None
    if not isinstance(output, list):
        raise Fail(f"the SDK's response has no output list (got {short(output)})")
    calls = [it for it in output if isinstance(it, dict) and it.get("type") == "function_call"]
    named = [it for it in calls if it.get("name") == arg["name"]]
    if not named:
        yield Finding(f"no function_call named {arg['name']!r} in the SDK's response.output "
                      f"(function calls: {[it.get('name') for it in calls]})")
        return
    problems: list[str] = []
    for item in named:
        problems = []
        raw = item.get("arguments")
        try:
            args = _json.loads(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            problems.append(f"json.loads(item.arguments) raised {type(exc).__name__}: {exc} "
                            f"(arguments is {type(raw).__name__} {short(raw)})")
            continue
        if not isinstance(item.get("call_id"), str) or not item["call_id"]:
            problems.append(f"item.call_id must be a non-empty string, got {short(item.get('call_id'))}")
        for key, wanted in (arg.get("arguments") or {}).items():
            if not isinstance(args, dict) or key not in args or not json_contains(args[key], wanted):
                problems.append(f"argument {key!r}: expected {short(wanted)}, got {short(args)}")
        for key, pattern in (arg.get("arguments_matches") or {}).items():
            got = args.get(key) if isinstance(args, dict) else None
            if not isinstance(got, str) or not re.search(pattern, got):
                problems.append(f"argument {key!r}: expected a string matching /{pattern}/, got {short(got)}")
        if not problems:
            return
    for problem in problems:
        yield Finding(problem, "$.output")
