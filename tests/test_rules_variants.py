"""The benign variants behind issue 10's false alarms really do what they say, and the suite passes them.

tests/test_deviations.py runs every case under every variant; this file proves that the three variants added
for the changed rules are not vacuous: the recorded traffic shows the behaviour (optional echoes left out, a
repeated ``mcp_call.in_progress``, a program-called function call still ``in_progress``) that the old rules
failed, and the case that exercises it passes with no finding from the rule.
"""

from __future__ import annotations

import json
from pathlib import Path

from conformance._verdict import Outcome
from conformance.cases import Case, evaluate, load_all
from conformance.record.exchange import Exchange
from conformance.record.http import Limits, Recorder, Target
from conformance.reference import MODEL_NAME, ReferenceServer
from conformance.run.engine import CaseResult, judge, record_case
from conformance.suite import CASES_DIR

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-rules-variants-0001"
CASES: dict[str, Case] = {c.id: c for c in load_all(CASES_DIR)}


def record(case_id: str, variant: str) -> tuple[list[Exchange], CaseResult]:
    with ReferenceServer(api_key=KEY, variants=(variant,)) as server:
        with Recorder(Target(server.base_url, MODEL_NAME, api_key=KEY), Limits(idle_timeout_s=10, deadline_s=30)) as rec:
            recording = record_case(CASES[case_id], rec)
    return recording.exchanges, judge(recording)


def events(ex: Exchange) -> list[dict]:
    return [json.loads(e.data) for e in ex.events or [] if e.data.startswith("{")]


def quiet(result: CaseResult, *names: str) -> None:
    assert result.outcome is Outcome.PASS, result.message
    noisy = [(c.name, c.message) for c in result.checks if c.name in names and c.findings]
    assert not noisy


def test_sparse_echoes_leave_the_optional_echoes_out_and_pass() -> None:
    (ex,), result = record("parameters.truncation_auto", "sparse_echoes")
    body = ex.json()
    assert body["object"] == "response" and "truncation" not in body and "reasoning" not in body
    assert "temperature" in body and "metadata" in body  # required fields stay
    quiet(result, "response.echo", "expect.json")


def test_repeated_mcp_in_progress_is_sent_and_passes() -> None:
    exchanges, result = record("streaming.mcp", "mcp_in_progress_repeated")
    types = [e.get("type") for ex in exchanges for e in events(ex)]
    first_delta = types.index("response.mcp_call_arguments.delta")
    assert "response.mcp_call.in_progress" in types[:first_delta]
    assert "response.mcp_call.in_progress" in types[first_delta:]
    quiet(result, "stream.tool_events", "stream.lifecycle", "stream.sequence_contiguous")


def test_program_called_function_calls_stay_in_progress_and_pass() -> None:
    exchanges, result = record("tools.programmatic_tool_calling", "program_calls_in_progress")
    calls = [item for ex in exchanges if ex.json_or_none() for item in ex.json().get("output") or []
             if item.get("type") == "function_call" and (item.get("caller") or {}).get("type") == "program"]
    assert calls and all(c["status"] == "in_progress" for c in calls)
    assert any(ex.json()["status"] == "completed" for ex in exchanges if ex.json_or_none())
    quiet(result, "response.item_status")


def test_an_error_where_a_response_was_expected_is_judged_as_an_error_body() -> None:
    """The reference's 400 for temperature 5, judged by ``schema: Response``: one finding that says an error
    came (and that it is a valid ErrorResponse), never "'id' is a required property"."""
    (ex,), result = record("errors.temperature_out_of_range", "key_order")
    assert ex.status == 400 and result.outcome is Outcome.PASS
    judged = evaluate({"schema": "Response"}, ex, {})
    assert judged.outcome is Outcome.FAIL and len(judged.findings) == 1
    assert "expected a Response, but the server answered HTTP 400 with an error" in judged.message
    assert "the error body is a valid ErrorResponse" in judged.message
    assert "required property" not in judged.message
