"""Every named assertion passes and fails on hand-built exchanges, with precise messages."""

from __future__ import annotations

import json
import sys
import types
from typing import Any

import pytest

from conformance._verdict import Outcome
from conformance.cases import ASSERTIONS, Expectation, Var, evaluate
from conformance.judge.basis import JudgePolicy
from conformance.judge.expect import expected_statuses, normalize_token
from conformance.record.exchange import Exchange, RecordedRequest, SSEEvent


def response(text: str = "PONG", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            },
        ],
    }
    body.update(extra)
    return body


def exchange(body: Any = None, status: int = 200, headers: list[tuple[str, str]] | None = None,
             events: list[SSEEvent] | None = None, raw: bytes | None = None, **kw: Any) -> Exchange:
    return Exchange(
        step="s",
        request=RecordedRequest(method="POST", url="http://x/v1/responses", path="/responses", body={}),
        status=status,
        headers=headers if headers is not None else [("content-type", "application/json")],
        body=raw if raw is not None else (json.dumps(body).encode() if body is not None else b""),
        events=events,
        **kw,
    )


def sse(*items: dict[str, Any]) -> list[SSEEvent]:
    return [SSEEvent(data=json.dumps(item), event=item.get("type")) for item in items]


def run(exp: dict[str, Any], ex: Exchange, variables: dict[str, Any] | None = None) -> Any:
    return evaluate(exp, ex, variables or {})


def passes(exp: dict[str, Any], ex: Exchange, variables: dict[str, Any] | None = None) -> None:
    result = run(exp, ex, variables)
    assert result.outcome is Outcome.PASS, result.message
    assert result.severity == "error", result.message


def fails(exp: dict[str, Any], ex: Exchange, *fragments: str) -> str:
    result = run(exp, ex)
    assert result.outcome is Outcome.FAIL, f"expected a failure for {exp}"
    for fragment in fragments:
        assert fragment in result.message, result.message
    return result.message


def test_registry_is_documented() -> None:
    for name, spec in ASSERTIONS.items():
        assert spec.doc, name
        assert spec.spec_ref_for({"name": "Response"} if name == "schema" else None).startswith("openai-openapi.yaml#/")


def test_result_names_and_spec_refs() -> None:
    result = run({"status": 200}, exchange(response()))
    assert result.name == "expect.status" and result.step == "s"
    assert result.spec_ref == "openai-openapi.yaml#/paths/~1responses/post/responses"
    expectation = Expectation("status", 200, line=3, file="cases/x.yaml")
    assert dict(expectation) == {"status": 200} and expectation["status"] == 200
    assert evaluate(expectation, exchange(response()), {}).outcome is Outcome.PASS


# ------------------------------------------------------------------ status


def test_status() -> None:
    ex = exchange(response())
    passes({"status": 200}, ex)
    passes({"status": [400, 200]}, ex)
    passes({"status": "2xx"}, ex)
    fails({"status": 201}, ex, "expected HTTP status 201, got 200")
    fails({"status": "4xx"}, exchange(response(), status=500), "expected HTTP status 4xx, got 500")


def _error(status: int) -> Exchange:
    return exchange({"error": {"message": "nope", "type": "invalid_request_error", "param": None, "code": None}},
                    status=status)


@pytest.mark.parametrize("expected,got", [
    (400, 200), (400, 201), (400, 500), (400, 503), ([400, 404], 200), (422, 500),  # wrong class
    (401, 403), (401, 400), (404, 400), (404, 410), ([401, 404], 400),  # documented 401/404 classes
    (200, 400), (200, 404), (101, 403),
])
def test_status_fails_on_the_wrong_documented_class(expected: Any, got: int) -> None:
    result = run({"status": expected}, _error(got) if got >= 400 else exchange(response(), status=got))
    assert result.outcome is Outcome.FAIL, result.message
    assert result.findings[0].severity == "fail" and result.findings[0].basis == "error-class"


@pytest.mark.parametrize("expected,got", [(400, 422), (422, 400), (409, 400), ([400, 404], 422), ([400, 409], 404)])
def test_another_4xx_for_a_specific_4xx_is_an_observed_warning(expected: Any, got: int) -> None:
    """400 rather than 422 for a validation error is what OpenAI does, not what it documents."""
    result = run({"status": expected}, _error(got))
    assert result.outcome is Outcome.PASS and result.severity == "warning", result.message
    (finding,) = result.findings
    assert finding.basis == "observed" and finding.severity == "warning"
    assert f"got {got}" in finding.message and "nope" in finding.message
    strict = evaluate({"status": expected}, _error(got), {}, policy=JudgePolicy(strict_behaviour=True))
    assert strict.outcome is Outcome.FAIL


def test_status_with_its_basis() -> None:
    """``{value: 400, basis: observed}``: the basis names what the case's expectation rests on."""
    result = run({"status": {"value": 200, "basis": "observed"}}, _error(400))
    assert result.outcome is Outcome.PASS and result.findings[0].basis == "observed"
    assert expected_statuses({"value": [400, "5xx"], "basis": "observed"})[:2] == (400, 500)
    loaded = Expectation("status", 400, basis="documented")
    assert evaluate(loaded, _error(422), {}).findings[0].basis == "observed"  # a same-class 4xx stays observed
    assert evaluate(loaded, _error(500), {}).findings[0].basis == "documented"


# ------------------------------------------------------------------ schema


@pytest.fixture()
def fake_schemas(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in for conformance.judge.schemas.validate: Response needs id/object, Error* needs error."""
    import jsonschema

    known = {
        "Response": {"type": "object", "required": ["id", "object"]},
        "ErrorResponse": {"type": "object", "required": ["error"]},
    }

    def validate(name: str, instance: Any) -> list[Any]:
        if name not in known:
            raise KeyError(name)
        return list(jsonschema.Draft202012Validator(known[name]).iter_errors(instance))

    module = types.ModuleType("conformance.judge.schemas")
    module.validate = validate  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "conformance.judge.schemas", module)
    import conformance.judge

    monkeypatch.setattr(conformance.judge, "schemas", module, raising=False)


def test_schema(fake_schemas: None) -> None:
    passes({"schema": "Response"}, exchange(response()))
    fails({"schema": "Response"}, exchange({"id": "x"}), "not a valid Response", "'object' is a required property")
    fails({"schema": "Response"}, exchange(raw=b"<html>", body=None), "response body is not JSON")
    passes({"schema": {"name": "ErrorResponse", "path": "nested"}}, exchange({"nested": {"error": {}}}))
    fails({"schema": {"name": "ErrorResponse", "path": "nope"}}, exchange({}), "matched nothing")
    result = run({"schema": "Nope"}, exchange(response()))
    assert result.outcome is Outcome.ERROR and "unknown schema 'Nope'" in result.message
    assert result.spec_ref == "openai-openapi.yaml#/components/schemas/Nope"


def test_error_bodies_are_judged_as_error_response_only(fake_schemas: None) -> None:
    """``schema: Response`` on a step that got an error: one finding that says so, never "'id' is a required
    property" about an error body that never claimed to be a Response."""
    for ex in (exchange(ENVELOPE, status=400), exchange(ENVELOPE, status=200)):
        message = fails({"schema": "Response"}, ex, "expected a Response, but the server answered HTTP",
                        "with an error (\"bad temperature\")", "the error body is a valid ErrorResponse")
        assert "required property" not in message
    message = fails({"schema": "Response"}, exchange({"detail": "boom"}, status=500), "HTTP 500",
                    "not a valid ErrorResponse either")
    assert "'id'" not in message
    fails({"schema": "Response"}, exchange(raw=b"<html>", body=None, status=502), "HTTP 502", "error body is not JSON")
    passes({"schema": "ErrorResponse"}, exchange(ENVELOPE, status=400))
    passes({"schema": {"value": "ErrorResponse", "basis": "schema"}}, exchange(ENVELOPE, status=400))
    # a failed Response (object + error) is a Response, judged as one
    passes({"schema": "Response"}, exchange(response(status="failed", error={"code": "x", "message": "m"})))


def test_schema_accepts_raising_validators(monkeypatch: pytest.MonkeyPatch) -> None:
    import jsonschema

    def validate(name: str, instance: Any) -> None:
        jsonschema.validate(instance, {"type": "object", "required": ["id"]})

    module = types.ModuleType("conformance.judge.schemas")
    module.validate = validate  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "conformance.judge.schemas", module)
    import conformance.judge

    monkeypatch.setattr(conformance.judge, "schemas", module, raising=False)
    passes({"schema": "Response"}, exchange({"id": 1}))
    fails({"schema": "Response"}, exchange({}), "'id' is a required property")


# ------------------------------------------------------------------ error_envelope

ENVELOPE = {"error": {"message": "bad temperature", "type": "invalid_request_error", "param": "temperature", "code": None}}


def test_error_envelope_shape() -> None:
    passes({"error_envelope": True}, exchange(ENVELOPE, status=400))
    fails({"error_envelope": True}, exchange({"detail": "x"}, status=400), 'expected an error envelope', '"detail"')
    fails({"error_envelope": True}, exchange({"error": {"message": 1, "type": "t", "param": None, "code": None}}),
          "error.message must be a string, got 1")
    fails({"error_envelope": True}, exchange({"error": {"message": "m", "type": "t"}}),
          "error.param is required (string or null) but missing", "error.code is required")
    fails({"error_envelope": True}, exchange(raw=b"Internal Server Error", body=None, status=500), "not JSON")


def test_error_envelope_sub_expectations_are_advisory_unless_strict() -> None:
    ex = exchange(ENVELOPE, status=400)
    passes({"error_envelope": {"param": "temperature", "type": "invalid_request_error", "code": [None, "x"]}}, ex)
    result = run({"error_envelope": {"param": "top_p"}}, ex)
    assert result.outcome is Outcome.PASS and result.severity == "warning"
    assert "expected error.param \"top_p\", got \"temperature\"" in result.message
    fails({"error_envelope": {"param": "top_p", "strict": True}}, ex, 'expected error.param "top_p"')


def test_error_envelope_basis_applies_to_the_values_never_to_the_envelope() -> None:
    """``basis: observed`` marks the exact type/param/code strings as what OpenAI does; the envelope itself
    (documented error class) still fails, and ``basis: documented`` makes a documented value a fail."""
    ex = exchange(ENVELOPE, status=400)
    result = run({"error_envelope": {"param": "top_p", "basis": "observed"}}, ex)
    assert result.outcome is Outcome.PASS and result.findings[0].basis == "observed"
    result = run({"error_envelope": {"param": "top_p", "basis": "documented"}}, ex)
    assert result.outcome is Outcome.FAIL and result.findings[0].basis == "documented"
    result = run({"error_envelope": {"param": "temperature", "basis": "observed"}}, exchange({"detail": "x"}, status=400))
    assert result.outcome is Outcome.FAIL and result.findings[0].basis == "error-class"


# ------------------------------------------------------------------ json


def test_json_operators() -> None:
    body = response(metadata={"a": "1"}, temperature=0.25, usage={"input_tokens": 5}, tools=[])
    ex = exchange(body)
    passes({"json": {"path": "object", "equals": "response"}}, ex)
    passes({"json": {"path": "output[*].type", "in": ["reasoning", "message"]}}, ex)
    passes({"json": {"path": "id", "matches": "^resp_", "type": "string", "length": 6}}, ex)
    passes({"json": {"path": "usage.input_tokens", "type": "integer", "gt": 0, "lte": 5}}, ex)
    passes({"json": {"path": "temperature", "type": "number", "equals": 0.25}}, ex)
    passes({"json": {"path": "metadata", "contains": {"a": "1"}}}, ex)
    passes({"json": {"path": "output", "length": {"min": 1, "max": 2}, "contains": {"type": "message"}}}, ex)
    passes({"json": {"path": "output[type=function_call]", "exists": False}}, ex)
    passes({"json": {"path": "output[type=message]", "exists": True, "count": 1}}, ex)
    passes({"json": {"path": "tools", "equals": []}}, ex)
    passes({"json": {"path": "id", "not_equals": "resp_2"}}, ex)
    fails({"json": {"path": "object", "equals": "chat.completion"}}, ex, 'object: expected "chat.completion", got "response"')
    fails({"json": {"path": "output[*].type", "equals": "message"}}, ex, 'output[0].type: expected "message", got "reasoning"')
    fails({"json": {"path": "missing", "equals": 1}}, ex, "'missing' matched nothing (needed for equals)")
    fails({"json": {"path": "output[type=message]", "exists": False}}, ex, "to match nothing, found 1", "output[1]")
    fails({"json": {"path": "usage.input_tokens", "gt": 5}}, ex, "expected > 5, got 5")
    fails({"json": {"path": "id", "type": "integer"}}, ex, "expected type integer, got string")
    fails({"json": {"path": "output", "count": 3}}, ex, "to match 3 values, got 1")


def test_json_equality_is_json_not_python() -> None:
    ex = exchange({"flag": True, "one": 1, "one_f": 1.0})
    fails({"json": {"path": "flag", "equals": 1}}, ex, "expected 1, got true")
    passes({"json": {"path": "one", "equals": 1.0}}, ex)
    passes({"json": {"path": "one_f", "type": "integer"}}, ex)


def test_json_resolves_vars() -> None:
    ex = exchange(response(previous_response_id="resp_0"))
    passes({"json": {"path": "previous_response_id", "equals": Var(name="prev")}}, ex, {"prev": "resp_0"})
    result = run({"json": {"path": "previous_response_id", "equals": Var(name="prev")}}, ex)
    assert result.outcome is Outcome.ERROR and "variable 'prev' is not defined" in result.message


def test_json_compares_with_a_captured_number() -> None:
    ex = exchange({"object": "response.input_tokens", "input_tokens": 52})
    passes({"json": {"path": "input_tokens", "gt": Var(name="short")}}, ex, {"short": 20})
    result = run({"json": {"path": "input_tokens", "gt": Var(name="short")}}, ex, {"short": 52})
    assert result.outcome is Outcome.FAIL and "expected > 52, got 52" in result.message
    result = run({"json": {"path": "input_tokens", "lt": Var(name="short")}}, ex, {"short": "52"})
    assert result.outcome is Outcome.ERROR and "lt needs a number to compare with" in result.message


def test_json_on_streams_and_events() -> None:
    events = sse(
        {"type": "response.created", "sequence_number": 0, "response": {"status": "in_progress"}},
        {"type": "response.output_text.delta", "sequence_number": 1, "delta": "PO"},
        {"type": "response.completed", "sequence_number": 2, "response": response()},
    )
    ex = exchange(None, headers=[("content-type", "text/event-stream")], events=events)
    passes({"json": {"path": "status", "equals": "completed"}}, ex)
    passes({"json": {"source": "events", "path": "[*].sequence_number", "type": "integer"}}, ex)
    passes({"json": {"source": "events", "path": "[type=response.output_text.delta].delta", "equals": "PO"}}, ex)
    fails({"json": {"path": "status", "equals": "completed"}},
          exchange(None, events=events[:2]), "stream has no terminal event", "response.output_text.delta")


# ------------------------------------------------------------------ output_text


def test_normalize_token() -> None:
    assert normalize_token('  "PONG". ') == "PONG"
    assert normalize_token("`PONG`") == "PONG"
    assert normalize_token("'ZEBRA-7.'") == "ZEBRA-7"
    assert normalize_token("pong") == "pong"


def test_output_text() -> None:
    ex = exchange(response(" `PONG`.\n"))
    passes({"output_text": {"token": "PONG"}}, ex)
    passes({"output_text": {"contains": "PONG", "not_contains": "PING", "matches": "P.NG"}}, ex)
    passes({"output_text": {"equals": " `PONG`.\n"}}, ex)
    fails({"output_text": {"token": "pong"}}, ex, "expected the token 'pong', got")
    fails({"output_text": {"equals": "PONG"}}, ex, 'expected output text "PONG"')
    fails({"output_text": {"contains": "ZEBRA"}}, ex, 'to contain "ZEBRA"')
    two_parts = response()
    two_parts["output"][1]["content"].append({"type": "output_text", "text": "-7", "annotations": []})
    passes({"output_text": {"equals": "PONG-7"}}, exchange(two_parts))
    only_calls = {"output": [{"type": "function_call", "name": "f", "call_id": "c", "arguments": "{}"}]}
    fails({"output_text": {"token": "PONG"}}, exchange(only_calls), "no assistant message with output_text", "function_call")


# ------------------------------------------------------------------ function_call

CALL = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
        "arguments": '{"location": "Paris", "unit": "c"}', "status": "completed"}
SCHEMA = {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}


def test_function_call() -> None:
    ex = exchange({"output": [CALL]})
    passes({"function_call": {"name": "get_weather"}}, ex)
    passes({"function_call": {"name": "get_weather", "arguments_schema": SCHEMA,
                              "arguments": {"location": "Paris"}, "arguments_matches": {"location": "^Par"}, "count": 1}}, ex)
    fails({"function_call": {"name": "get_time"}}, ex, "no function_call named 'get_time'", "['get_weather']")
    fails({"function_call": {"name": "get_weather", "arguments": {"location": "Rome"}}}, ex,
          "argument 'location': expected \"Rome\", got \"Paris\"")
    bad_json = dict(CALL, arguments="{location: Paris")
    fails({"function_call": {"name": "get_weather"}}, exchange({"output": [bad_json]}), "arguments are not valid JSON")
    no_id = dict(CALL, call_id="")
    fails({"function_call": {"name": "get_weather"}}, exchange({"output": [no_id]}), "call_id must be a non-empty string")
    wrong = dict(CALL, arguments='{"city": "Paris"}')
    fails({"function_call": {"name": "get_weather", "arguments_schema": SCHEMA}}, exchange({"output": [wrong]}),
          "do not match the schema", "'location' is a required property")


def test_function_call_any_matching_item_suffices() -> None:
    other = dict(CALL, arguments='{"location": "Rome"}')
    ex = exchange({"output": [other, CALL]})
    passes({"function_call": {"name": "get_weather", "arguments": {"location": "Paris"}}}, ex)
    fails({"function_call": {"name": "get_weather", "count": 1}}, ex, "expected 1 call(s) of 'get_weather', got 2")


# ------------------------------------------------------------------ json_output


def test_json_output() -> None:
    ex = exchange(response('{"city": "Paris"}'))
    strict = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False}
    passes({"json_output": {"schema": strict, "equals": {"city": "Paris"}}}, ex)
    passes({"json_output": {"contains": {"city": "Paris"}}}, ex)
    fails({"json_output": {"equals": {"city": "Rome"}}}, ex, 'expected output JSON {"city": "Rome"}, got {"city": "Paris"}')
    fails({"json_output": {"schema": {"type": "array"}}}, exchange(response('{"a": 1}')), "does not match the schema")
    fails({"json_output": {"schema": strict}}, exchange(response('```json\n{"city": "Paris"}\n```')), "output text is not JSON")


# ------------------------------------------------------------------ status fields


def test_response_status_and_incomplete_reason() -> None:
    done = exchange(response())
    cut = exchange(response(status="incomplete", incomplete_details={"reason": "max_output_tokens"}))
    passes({"response_status": "completed"}, done)
    passes({"response_status": ["completed", "incomplete"]}, cut)
    passes({"incomplete_reason": "max_output_tokens"}, cut)
    fails({"response_status": "incomplete"}, done, 'expected response status incomplete, got "completed"')
    fails({"response_status": "completed"}, cut, "got \"incomplete\"", "max_output_tokens")
    fails({"incomplete_reason": "max_output_tokens"}, done, "got incomplete_details null", 'status "completed"')


# ------------------------------------------------------------------ events

STREAM = sse(
    {"type": "response.created", "response": {}},
    {"type": "response.in_progress", "response": {}},
    {"type": "response.output_item.added"},
    {"type": "response.output_text.delta", "delta": "A"},
    {"type": "response.output_text.delta", "delta": "B"},
    {"type": "response.output_text.done"},
    {"type": "response.output_item.done"},
    {"type": "response.completed", "response": response("AB")},
) + [SSEEvent(data="[DONE]")]


def test_events() -> None:
    ex = exchange(None, headers=[("content-type", "text/event-stream")], events=STREAM)
    passes({"events": {"first": "response.created", "last": "response.completed",
                       "includes": ["response.output_text.delta"], "excludes": ["error"],
                       "order": ["response.created", "response.output_text.delta", "response.completed"]}}, ex)
    passes({"output_text": {"equals": "AB"}}, ex)
    fails({"events": {"last": "response.incomplete"}}, ex, "expected last event response.incomplete, got response.completed",
          "response.output_text.delta×2")
    fails({"events": {"first": "response.in_progress"}}, ex, "expected first event response.in_progress")
    fails({"events": {"includes": ["response.refusal.done"]}}, ex, "missing event types ['response.refusal.done']")
    fails({"events": {"excludes": ["response.in_progress"]}}, ex, "unexpected event types ['response.in_progress']")
    fails({"events": {"order": ["response.output_text.done", "response.output_text.delta"]}}, ex,
          "response.output_text.delta does not occur after the previous ones")
    fails({"events": {"order": ["response.created", "response.failed"]}}, ex, "response.failed is missing")
    fails({"events": {"last": "response.completed"}}, exchange(response()), "no events were recorded")


# ------------------------------------------------------------------ header


def test_header() -> None:
    ex = exchange(response(), headers=[("Content-Type", "text/event-stream; charset=utf-8"), ("x-request-id", "req_1")])
    passes({"header": {"name": "content-type", "matches": "^text/event-stream"}}, ex)
    passes({"header": {"name": "X-Request-Id"}}, ex)
    passes({"header": {"name": "x-request-id", "equals": "req_1", "contains": "REQ"}}, ex)
    passes({"header": {"name": "retry-after", "exists": False}}, ex)
    fails({"header": {"name": "content-type", "matches": "^application/json"}}, ex, "got 'text/event-stream; charset=utf-8'")
    fails({"header": {"name": "openai-version"}}, ex, "expected header 'openai-version', but it is absent")
    fails({"header": {"name": "x-request-id", "exists": False}}, ex, "expected no header 'x-request-id'")


# ------------------------------------------------------------------ robustness


def test_inconclusive_exchange_is_never_judged() -> None:
    ex = exchange(None, status=None, error_kind="timeout", error="read timed out")
    result = run({"status": 200}, ex)
    assert result.outcome is Outcome.ERROR and "inconclusive (timeout" in result.message


def test_odd_bodies_fail_instead_of_crashing() -> None:
    for body in ([1, 2], "text", None, {"output": "nope"}, {"output": [1, None, {"type": "message", "content": 3}]}):
        for exp in ({"output_text": {"token": "X"}}, {"function_call": {"name": "f"}}, {"json_output": {"equals": 1}},
                    {"response_status": "completed"}, {"incomplete_reason": "max_output_tokens"},
                    {"json": {"path": "output[0].x", "equals": 1}}, {"error_envelope": True}):
            result = run(exp, exchange(body) if body is not None else exchange(raw=b"", body=None))
            assert result.outcome is Outcome.FAIL, (body, exp)
            assert "crashed" not in result.message, result.message


def test_unknown_assertion_is_an_error_result() -> None:
    result = run({"statuss": 200}, exchange(response()))
    assert result.outcome is Outcome.ERROR and "unknown assertion 'statuss'" in result.message


def test_schema_with_the_real_schema_module() -> None:
    pytest.importorskip("conformance.judge.schemas")
    from conformance.judge import schemas

    if not schemas.has_schema("ErrorResponse"):
        pytest.skip("generated schemas not available")
    passes({"schema": "ErrorResponse"}, exchange(ENVELOPE, status=400))
    fails({"schema": "ErrorResponse"}, exchange({"detail": "nope"}, status=400), "not a valid ErrorResponse")


def test_json_if_present_judges_only_fields_that_are_there() -> None:
    """Optional echoes (truncation, reasoning, service_tier...) may be left out; present ones must agree."""
    sparse = exchange(response())
    passes({"json": {"path": "truncation", "equals": "auto", "if_present": True}}, sparse)
    passes({"json": {"path": "reasoning.effort", "equals": "low", "if_present": True}}, sparse)
    fails({"json": {"path": "truncation", "equals": "auto"}}, sparse, "'truncation' matched nothing")
    echoed = exchange(response(truncation="disabled", reasoning={"effort": "high"}))
    fails({"json": {"path": "truncation", "equals": "auto", "if_present": True}}, echoed,
          'expected "auto", got "disabled"')
    fails({"json": {"path": "reasoning.effort", "equals": "low", "if_present": True}}, echoed,
          'expected "low", got "high"')
    passes({"json": {"path": "truncation", "equals": "disabled", "if_present": True}}, echoed)


def test_schema_on_a_stream_that_ended_with_an_error_event(fake_schemas: None) -> None:
    ex = exchange(events=sse({"type": "error", "status": 400,
                              "error": {"type": "invalid_request_error", "code": "previous_response_not_found",
                                        "message": "Previous response not found.", "param": "previous_response_id"}}))
    message = fails({"schema": "Response"}, ex, "expected a Response, but the stream ended with an error event",
                    "previous_response_not_found")
    assert "required property" not in message
