"""The probe preflight and behavioural expectations (conformance/run/probes.py, ``Assertion.behavioural``).

A model that ignores the probes (a mock, random weights) must not fail the server on its own account: the
preflight finds it, the behavioural expectations are skipped, and every protocol check still judges.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance._verdict import Outcome
from conformance.cases import ASSERTIONS
from conformance.record.http import Limits, Recorder, Target
from conformance.report import RESULTS_SCHEMA_PATH
from conformance.run.engine import judge, record_case
from conformance.run.probes import SKIP_REASON, run_preflight
from tests._exchanges import json_exchange, make_response
from tests._helpers import reference_recorder
from tests._hostile import head, hostile_server
from tests.test_cli import cli
from tests.test_deviations import CASES, KEY, run_cases

LIMITS = Limits(idle_timeout_s=10, deadline_s=30)


def _preflight(**server: Any) -> Any:
    with reference_recorder(KEY, LIMITS, **server) as rec:
        return run_preflight(rec)


def test_preflight_finds_the_reference_model_follows_probes() -> None:
    pf = _preflight()
    assert (pf.checked, pf.follows, pf.verdict) == (True, True, "follows")
    assert len(pf.attempts) == 1 and pf.attempts[0]["reply"] == pf.attempts[0]["token"]


@pytest.mark.parametrize("server", [{"variants": ["mock_model"]}, {"deviations": ["probes_ignored"]}])
def test_preflight_finds_a_model_that_ignores_probes(server: dict[str, Any]) -> None:
    pf = _preflight(**server)
    assert (pf.checked, pf.follows, pf.verdict) == (True, False, "does_not_follow")
    assert len(pf.attempts) == 2  # a miss is confirmed with a second token before it counts
    assert pf.attempts[0]["token"] != pf.attempts[1]["token"]
    assert pf.attempts[-1]["reply"] in ("This is a mock response.", "OK") and pf.attempts[-1]["reply"] in pf.detail


def _json_server(payload: dict[str, Any] | None, status: str = "200 OK") -> Any:
    """A loopback server answering every request with ``payload`` (or, None, echoing the request's input)."""

    def script(conn: socket.socket, request: bytes) -> None:
        body = payload
        if body is None:  # an echo mock: repeats what it was sent
            sent = json.loads(request.partition(b"\r\n\r\n")[2] or b"{}")
            body = {"id": "resp_1", "object": "response", "output": [
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": sent.get("input", "")}]}]}
        data = json.dumps(body).encode()
        conn.sendall(head(status, {"Content-Type": "application/json", "Content-Length": str(len(data)),
                                   "Connection": "close"}) + data)

    return hostile_server(script)


@pytest.mark.parametrize("payload, status, verdict", [
    (None, "200 OK", "does_not_follow"),  # an echo of the directive is no probe reply
    ({"error": {"message": "boom", "type": "server_error", "param": None, "code": None}}, "500 Internal Server Error",
     "inconclusive"),
    ({"error": {"message": "bad", "type": "invalid_request_error", "param": None, "code": None}}, "400 Bad Request",
     "inconclusive"),
    ({"id": "resp_1", "object": "response", "output": []}, "200 OK", "inconclusive"),  # no text to judge
])
def test_only_a_clean_wrong_answer_means_does_not_follow(payload: Any, status: str, verdict: str) -> None:
    with _json_server(payload, status) as url, Recorder(Target(url, "m"), LIMITS) as rec:
        pf = run_preflight(rec)
    assert pf.verdict == verdict
    assert pf.follows is (verdict != "does_not_follow")  # an error never silences the behavioural checks


def test_behavioural_flags_per_assertion() -> None:
    """The documented table (docs/cases.md "Behavioural expectations"), asserted."""
    ex = json_exchange(make_response())
    always = {n for n, a in ASSERTIONS.items() if a.behavioural is True}
    assert always == {"output_text", "function_call", "json_output", "incomplete_reason",
                      "sdk_output_text", "sdk_parsed", "sdk_function_call"}
    never = {n for n, a in ASSERTIONS.items() if a.behavioural is False}
    assert never == {"status", "error_envelope", "header", "sdk_error"}
    rule = {n: a for n, a in ASSERTIONS.items() if callable(a.behavioural)}
    assert set(rule) == {"json", "schema", "events", "response_status", "sdk_events", "sdk_ok"}
    cases = [
        ("json", {"path": "metadata", "equals": {"a": "b"}}, False),
        ("json", {"path": "usage.output_tokens", "gt": 0}, False),
        ("json", {"path": "output[type=message].content[*].type", "equals": "output_text"}, False),
        ("json", {"path": "output[type=function_call]", "count": 1}, True),
        ("json", {"path": "output[type=web_search_call].status", "in": ["completed"]}, True),
        ("json", {"path": "output[0].status", "equals": "incomplete"}, True),
        ("json", {"source": "events", "path": "[type=response.output_item.done].item.error", "type": "object"}, True),
        ("json", {"source": "events", "path": "[type=response.output_item.done].item.type", "equals": "message"},
         False),
        ("json", {"source": "body", "path": "data[type=function_call].call_id", "type": "string"}, False),
        ("schema", "Response", False),
        ("schema", {"name": "FunctionToolCall", "path": "output[type=function_call]"}, True),
        ("events", {"first": "response.created", "last": "response.completed"}, False),
        ("events", {"includes": ["response.function_call_arguments.delta"]}, True),
        ("events", {"includes": ["response.refusal.done"]}, True),
        ("events", {"last": "response.incomplete"}, True),
        ("response_status", "completed", False),
        ("response_status", "incomplete", True),
        ("response_status", ["completed", "incomplete"], False),
        ("response_status", "cancelled", False),
        ("sdk_ok", True, False),  # no SDK exception: the call worked
    ]
    wrong = [(name, arg) for name, arg, want in cases if ASSERTIONS[name].is_behavioural(arg, ex) is not want]
    assert not wrong


def test_protocol_checks_still_judge_when_probes_are_ignored() -> None:
    """A model that ignores probes skips the token check, but a broken usage object still fails the case."""
    (clean,) = run_cases([CASES["basic.text"]], variants=("mock_model",), preflight=True)
    assert clean.outcome is Outcome.SKIPPED and clean.message.startswith(SKIP_REASON)
    assert [c.name for c in clean.checks if c.outcome is Outcome.SKIPPED] == ["expect.output_text"]
    assert all(c.outcome is Outcome.PASS for c in clean.checks if c.outcome is not Outcome.SKIPPED)
    (broken,) = run_cases([CASES["basic.text"]], deviations=("chat_usage_names",), variants=("mock_model",),
                          preflight=True)
    assert broken.outcome is Outcome.FAIL
    assert "response.usage" in {c.name for c in broken.failed_checks}
    assert any(c.name == "expect.output_text" and c.outcome is Outcome.SKIPPED for c in broken.checks)


def test_protocol_only_case_passes_and_capture_gap_is_skipped() -> None:
    """A case with no behavioural expectation passes as usual; a case whose later steps need a call id the model
    never produced stops with a skipped capture, not a failure."""
    with reference_recorder(KEY, LIMITS, variants=["mock_model"]) as rec:
        protocol = judge(record_case(CASES["errors.missing_model"], rec), follows_probes=False)
        roundtrip = judge(record_case(CASES["tools.function_call_roundtrip"], rec), follows_probes=False)
        judged_anyway = judge(record_case(CASES["tools.function_call_roundtrip"], rec), follows_probes=True)
    assert protocol.outcome is Outcome.PASS
    assert roundtrip.outcome is Outcome.SKIPPED, roundtrip.message
    assert any(c.name == "engine.capture" and c.outcome is Outcome.SKIPPED for c in roundtrip.checks)
    assert judged_anyway.outcome is Outcome.FAIL  # --assume-probes: the same recording fails


def _doc(tmp_path: Path) -> dict[str, Any]:
    doc = json.loads((tmp_path / "reports" / "reference__reference-1.json").read_text())
    jsonschema.validate(doc, json.loads(RESULTS_SCHEMA_PATH.read_text()))
    return doc


SELECTION = "basic.text or errors.missing_model or streaming.function_call"


def test_run_says_once_that_the_model_does_not_follow_probes(tmp_path: Path) -> None:
    proc = cli("run", "-k", SELECTION, "--variant", "mock_model", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    doc = _doc(tmp_path)
    pf = doc["run"]["probe_preflight"]
    assert (pf["checked"], pf["follows_probes"], pf["verdict"]) == (True, False, "does_not_follow")
    skipped = sum(1 for c in doc["cases"] for chk in c["checks"]
                  if chk["outcome"] == "skipped" and chk["message"].startswith(SKIP_REASON))
    assert pf["behavioural_skipped"] == skipped >= 3
    assert proc.stdout.count("model does not follow probes:") == 1
    assert f"model does not follow probes: {skipped} behavioural assertions skipped" in proc.stdout
    outcomes = {c["id"]: c["outcome"] for c in doc["cases"]}
    assert outcomes == {"basic.text": "skipped", "errors.missing_model": "pass", "streaming.function_call": "skipped"}


def test_assume_probes_sends_no_preflight_and_judges_everything(tmp_path: Path) -> None:
    proc = cli("run", "-k", SELECTION, "--variant", "mock_model", "--assume-probes", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout[-3000:]
    doc = _doc(tmp_path)
    assert doc["run"]["probe_preflight"]["verdict"] == "assumed"
    assert doc["run"]["probe_preflight"]["attempts"] == []
    assert "model does not follow probes" not in proc.stdout
    assert {c["id"]: c["outcome"] for c in doc["cases"]}["basic.text"] == "fail"


def test_undisturbed_server_follows_probes_and_nothing_is_skipped(tmp_path: Path) -> None:
    proc = cli("run", "-q", "-k", SELECTION, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    doc = _doc(tmp_path)
    assert doc["run"]["probe_preflight"]["verdict"] == "follows"
    assert doc["run"]["probe_preflight"]["behavioural_skipped"] == 0
    assert doc["run"]["target_down"] is None
    assert all(c["outcome"] == "pass" for c in doc["cases"])
    assert "model does not follow probes" not in proc.stdout
