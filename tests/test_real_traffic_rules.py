"""The rules changed for issue 10 raise no false alarm on genuine api.openai.com traffic.

``../shared/real-openai`` holds 229 bodies and streams that api.openai.com produced, recorded by public projects,
with their requests (``manifest.json``). Each is judged here as the live recorder would have seen it (method,
path, status, request body), and each rule below is checked on the captures that exercise it:

* ``response.echo``: never a finding on a genuine capture; in particular a function loaded by a
  ``tool_search_output`` comes back as a *namespace* (21 pydantic-ai captures), which used to be a fail;
* ``expect.status`` / ``expect.schema`` / ``expect.error_envelope`` on OpenAI's real 400s: a 400 where a
  case says 422 is a warning, ``schema: Response`` on an error body says so once (judged as ErrorResponse),
  and the shipped error case for the same mistake passes on OpenAI's own answer;
* ``stream.tool_events`` on the genuine MCP stream, and on the same stream with ``mcp_call.in_progress``
  repeated after the arguments delta as issue 10 reports api.openai.com doing (the repetition inserted into
  the real capture: no capture in the shared set shows it);
* ``response.item_status`` on a program-called ``function_call`` still ``in_progress`` in a completed
  response: no capture of programmatic tool calling exists in the shared set, so the response is the genuine
  function-call capture with the ``program`` item and ``caller`` of the spec's ``FunctionToolCall`` added.

Skipped when ``../shared/real-openai`` is not present (it is not part of the repository).
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from conformance._verdict import CheckResult, Outcome
from conformance.cases import evaluate, load_cases
from conformance.judge.checks import CheckContext, endpoint_of, run_checks
from conformance.record.exchange import Exchange, RecordedRequest
from conformance.record.sse import parse_sse
from conformance.suite import CASES_DIR

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "real-openai"

pytestmark = pytest.mark.skipif(not (REAL / "manifest.json").is_file(), reason="../shared/real-openai not present")


@lru_cache(maxsize=1)
def captures() -> list[dict[str, Any]]:
    with open(REAL / "manifest.json", encoding="utf-8") as fh:
        return list(json.load(fh)["captures"])


def capture(capture_id: str) -> dict[str, Any]:
    return next(c for c in captures() if c["id"] == capture_id)


def request_of(entry: dict[str, Any]) -> Any:
    name = entry["files"].get("request")
    return json.loads((REAL / name).read_text(encoding="utf-8")) if name else None


def exchange_of(entry: dict[str, Any], raw: bytes | None = None) -> tuple[Exchange, CheckContext]:
    """The capture as the live recorder would have recorded it, and the context its checks see."""
    body = raw if raw is not None else (REAL / entry["files"]["body"]).read_bytes()
    stream = entry["files"]["body"].endswith(".sse")
    path = entry["request_uri"].split("/v1", 1)[1]
    request = request_of(entry)
    recorded = RecordedRequest(entry["method"], entry["request_uri"], path, {}, request, stream)
    ex = Exchange(step=entry["id"], request=recorded, status=entry["http_status"],
                  headers=[("content-type", "text/event-stream" if stream else "application/json")], body=body,
                  events=parse_sse(body) if stream else None)
    return ex, CheckContext(endpoint=endpoint_of(entry["method"], path), request_body=request, stream=stream)


def judged(entry: dict[str, Any], raw: bytes | None = None) -> list[CheckResult]:
    return list(run_checks(*exchange_of(entry, raw)))


def flagged(results: list[CheckResult], name: str) -> list[str]:
    return [f"{f.path}: {f.message}" for r in results if r.name == name for f in r.findings]


# --------------------------------------------------------------------------- echo


def test_no_echo_finding_on_any_genuine_capture() -> None:
    found = {c["id"]: flagged(judged(c), "response.echo") for c in captures() if c["files"].get("request")}
    assert len(found) >= 200
    assert {k: v for k, v in found.items() if v} == {}


def _function_names(tools: Any, kind: str) -> set[str]:
    return {t["name"] for t in tools or [] if isinstance(t, dict) and t.get("type") == kind and "name" in t}


def test_functions_reshaped_into_namespaces_are_not_an_echo_deviation() -> None:
    """api.openai.com lists a deferred function that a tool_search_output loaded as a namespace of that name:
    the echo rule used to fail all of these genuine captures."""
    reshaped = []
    for entry in captures():
        request = request_of(entry)
        if not isinstance(request, dict) or entry["files"]["body"].endswith(".sse"):
            continue
        body = json.loads((REAL / entry["files"]["body"]).read_text(encoding="utf-8"))
        if not isinstance(body, dict) or "tools" not in body:
            continue
        sent = _function_names(request.get("tools"), "function")
        echoed = _function_names(body["tools"], "function")
        if sent - echoed and sent - echoed <= _function_names(body["tools"], "namespace"):
            reshaped.append(entry)
    assert len(reshaped) >= 15  # 19 JSON bodies in the 2026-12 set (and two streams)
    for entry in reshaped:
        results = judged(entry)
        echo = next(r for r in results if r.name == "response.echo")
        assert echo.outcome is Outcome.PASS and not echo.findings, (entry["id"], echo.message)


# --------------------------------------------------------------------------- error classes and error bodies

TEMPERATURE_400 = "pydantic-ai/test_openai_responses_model_http_error"
HISTORY_400 = "pydantic-ai/test_openai_responses_thinking_with_modified_history__1"


@pytest.mark.parametrize("capture_id", [TEMPERATURE_400, HISTORY_400])
def test_openai_400_where_a_case_says_422_is_a_warning(capture_id: str) -> None:
    ex, _ = exchange_of(capture(capture_id))
    assert ex.status == 400
    result = evaluate({"status": 422}, ex, {})
    assert result.outcome is Outcome.PASS and result.severity == "warning", result.message
    assert [f.basis for f in result.findings] == ["observed"]
    assert evaluate({"status": "4xx"}, ex, {}).outcome is Outcome.PASS
    for wrong_class in (200, 401, 404):  # documented classes stay fails
        assert evaluate({"status": wrong_class}, ex, {}).outcome is Outcome.FAIL


@pytest.mark.parametrize("capture_id", [TEMPERATURE_400, HISTORY_400])
def test_openai_error_bodies_are_judged_as_error_response_only(capture_id: str) -> None:
    ex, ctx = exchange_of(capture(capture_id))
    result = evaluate({"schema": "Response"}, ex, {})
    assert result.outcome is Outcome.FAIL and len(result.findings) == 1
    assert "expected a Response, but the server answered HTTP 400 with an error" in result.message
    assert "the error body is a valid ErrorResponse" in result.message
    assert "required property" not in result.message
    assert evaluate({"schema": "ErrorResponse"}, ex, {}).outcome is Outcome.PASS
    failed = {r.name: r.message for r in run_checks(ex, ctx) if r.outcome is Outcome.FAIL}
    assert failed == {}


def test_the_shipped_temperature_case_passes_on_openais_own_answer() -> None:
    """errors.temperature_out_of_range, judged on OpenAI's real answer to temperature -1: every expectation
    passes, the exact error strings (basis observed) included."""
    (case,) = [c for c in load_cases(CASES_DIR / "errors.yaml") if c.id == "errors.temperature_out_of_range"]
    ex, _ = exchange_of(capture(TEMPERATURE_400))
    results = [evaluate(exp, ex, {}) for exp in case.steps[0].expect]
    assert [r.outcome for r in results] == [Outcome.PASS] * len(results), [r.message for r in results]
    envelope = next(exp for exp in case.steps[0].expect if exp.name == "error_envelope")
    assert envelope.basis == "observed"
    other_param = evaluate(type(envelope)("error_envelope", {"param": "top_p"}, basis=envelope.basis), ex, {})
    assert other_param.outcome is Outcome.PASS and other_param.findings[0].basis == "observed"


# --------------------------------------------------------------------------- tool events

MCP_STREAM = "pydantic-ai/test_openai_responses_model_mcp_server_tool_stream"


def _repeat_in_progress(raw: bytes) -> bytes:
    """The genuine stream with ``response.mcp_call.in_progress`` sent again right after each arguments delta."""
    out: list[str] = []
    for block in raw.decode("utf-8").split("\n\n"):
        out.append(block)
        data = next((line[6:] for line in block.splitlines() if line.startswith("data: ")), None)
        event = json.loads(data) if data and data.startswith("{") else None
        if isinstance(event, dict) and event.get("type") == "response.mcp_call_arguments.delta":
            again = {"type": "response.mcp_call.in_progress", "sequence_number": event["sequence_number"],
                     "output_index": event["output_index"], "item_id": event["item_id"]}
            out.append(f"event: response.mcp_call.in_progress\ndata: {json.dumps(again)}")
    return "\n\n".join(out).encode("utf-8")


def test_tool_events_pass_the_genuine_mcp_stream() -> None:
    results = judged(capture(MCP_STREAM))
    assert any(r.name == "stream.tool_events" for r in results)
    assert flagged(results, "stream.tool_events") == [] and flagged(results, "stream.lifecycle") == []


def test_repeated_mcp_call_in_progress_is_not_a_finding() -> None:
    raw = _repeat_in_progress((REAL / capture(MCP_STREAM)["files"]["body"]).read_bytes())
    assert raw.count(b"event: response.mcp_call.in_progress") == 2 * raw.count(b"event: response.mcp_call.completed")
    results = judged(capture(MCP_STREAM), raw)
    assert flagged(results, "stream.tool_events") == []
    assert flagged(results, "stream.lifecycle") == []


# --------------------------------------------------------------------------- programmatic tool calling

FUNCTION_CALL = "pydantic-ai/test_openai_responses_model_simple_response_with_tool_call__0"


def _program_called(body: dict[str, Any]) -> dict[str, Any]:
    """The genuine completed response with its function call made by a program and still in_progress."""
    body = copy.deepcopy(body)
    calls = [i for i in body["output"] if i.get("type") == "function_call"]
    assert calls and body["status"] == "completed"
    program = {"id": "prg_1", "type": "program", "call_id": "call_program_1",
               "code": "return await tools.get_capital({});", "fingerprint": "ZnA="}
    for call in calls:
        call.update(status="in_progress", caller={"type": "program", "caller_id": program["call_id"]})
    body["output"].insert(0, program)
    return body


def test_program_called_function_call_in_progress_is_not_a_finding() -> None:
    entry = capture(FUNCTION_CALL)
    genuine = json.loads((REAL / entry["files"]["body"]).read_text(encoding="utf-8"))
    raw = json.dumps(_program_called(genuine)).encode()
    assert flagged(judged(entry, raw), "response.item_status") == []
    direct = copy.deepcopy(genuine)
    for item in direct["output"]:
        if item.get("type") == "function_call":
            item["status"] = "in_progress"
    results = judged(entry, json.dumps(direct).encode())
    status = next(r for r in results if r.name == "response.item_status")
    assert status.outcome is Outcome.PASS and status.findings  # a directly called one: a warning
    assert {f.basis for f in status.findings} == {"observed"}
