"""A cut by the suite's own ``max_output_tokens`` is never a fail; ``--output-cap-floor`` raises those caps.

The reference variant ``reasoning_by_default`` behaves like OpenAI's gpt-5 family: 200 reasoning tokens before
every answer, counted against the cap. tests/test_deviations.py runs every case under it (pass or skipped for the
cut, never fail); this file proves the pieces: the variant really cuts, the skip names the cap and the remedy,
protocol checks still judge a cut Response, a case that tests the cap is judged as usual, the floor raises what is
sent and what is bounded, and the probe preflight's advisory.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conformance._verdict import Outcome
from conformance.cases import Case, load_all
from conformance.judge.output_cap import CUT_REASON, about_answer, cap_under_test
from conformance.record.exchange import Exchange
from conformance.record.http import Limits, Recorder, Target
from conformance.report import RESULTS_SCHEMA_PATH
from conformance.run.cost import (
    case_bound,
    parse_output_cap_floor,
    selection_bound,
    step_cap,
    with_output_floor,
)
from conformance.run.engine import CaseResult, judge, profile_skip_reason, record_case
from conformance.run.events import Event, RunNotice
from conformance.run.probes import ProbePreflight, run_preflight
from conformance.suite import CASES_DIR
from tests._helpers import reference_recorder
from tests._hostile import Script, head, hostile_server

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-output-caps-0001"
CASES: dict[str, Case] = {c.id: c for c in load_all(CASES_DIR)}
REASONS = ("reasoning_by_default",)


def record(case: Case, variants: tuple[str, ...] = REASONS,
           deviations: tuple[str, ...] = ()) -> tuple[list[Exchange], CaseResult]:
    with reference_recorder(KEY, variants=variants, deviations=deviations) as rec:
        recording = record_case(case, rec)
    return recording.exchanges, judge(recording)


def outcomes(result: CaseResult, outcome: Outcome) -> set[str]:
    return {c.name for c in result.checks if c.outcome is outcome}


# ------------------------------------------------------------------ judging a cut

def test_the_variant_spends_a_small_cap_reasoning_and_the_case_is_skipped_naming_the_cap() -> None:
    (ex,), result = record(CASES["basic.text"])
    body = ex.json()
    assert body["status"] == "incomplete" and body["incomplete_details"] == {"reason": "max_output_tokens"}
    assert [item["type"] for item in body["output"]] == ["reasoning"]
    assert body["usage"]["output_tokens"] == body["usage"]["output_tokens_details"]["reasoning_tokens"] == 32
    assert result.outcome is Outcome.SKIPPED and result.message.startswith(CUT_REASON), result.message
    assert "max_output_tokens=32 (the suite's cap) before answering" in result.message
    assert "--output-cap-floor" in result.message
    assert not result.failed_checks
    # the answer's expectations are skipped; the status, headers, schema, echoed fields and every automatic
    # check still judge the Response
    assert outcomes(result, Outcome.SKIPPED) == {"expect.output_text", "expect.response_status", "expect.json"}
    passed = outcomes(result, Outcome.PASS)
    assert {"expect.status", "expect.header", "expect.schema", "expect.json"} <= passed
    assert any(not name.startswith(("expect.", "engine.")) for name in passed)


def test_a_streamed_cut_keeps_the_stream_checks() -> None:
    (ex,), result = record(CASES["streaming.text"])
    assert ex.events and json.loads(ex.events[-1].data)["type"] == "response.incomplete"
    assert result.outcome is Outcome.SKIPPED and result.message.startswith(CUT_REASON), result.message
    assert {"expect.events", "expect.output_text"} <= outcomes(result, Outcome.SKIPPED)
    assert any(name.startswith("stream.") for name in outcomes(result, Outcome.PASS))


def test_a_cut_answer_that_later_steps_need_is_a_skipped_capture_not_a_failure() -> None:
    exchanges, result = record(CASES["tools.function_call_roundtrip"])
    assert len(exchanges) == 1  # nothing to capture: the call was never made, so the round trip is not sent
    assert result.outcome is Outcome.SKIPPED, result.message
    capture = [c for c in result.checks if c.name == "engine.capture"]
    assert capture and capture[0].outcome is Outcome.SKIPPED and capture[0].message.startswith(CUT_REASON)
    assert "max_output_tokens=64" in capture[0].message


@pytest.mark.parametrize(("case_id", "deviation"), [("basic.text", "object_not_response"),
                                                    ("streaming.text", "sequence_not_increasing")])
def test_a_cut_response_still_fails_what_breaks_the_protocol(case_id: str, deviation: str) -> None:
    _, result = record(CASES[case_id], deviations=(deviation,))
    assert result.outcome is Outcome.FAIL, result.message
    assert not any(c.name.startswith("expect.output_text") for c in result.failed_checks)


def test_a_case_that_tests_the_cap_is_judged_as_usual() -> None:
    """The cut is what parameters.max_output_tokens_incomplete asks for: nothing is excused, and it passes."""
    case = CASES["parameters.max_output_tokens_incomplete"]
    assert cap_under_test(case)
    (ex,), result = record(case)
    assert ex.json()["status"] == "incomplete"
    assert result.outcome is Outcome.PASS and not outcomes(result, Outcome.SKIPPED), result.message


def test_only_cases_about_the_cap_test_it() -> None:
    testing = sorted(cid for cid, case in CASES.items() if cap_under_test(case))
    assert testing == ["errors.max_output_tokens_below_minimum", "errors.max_output_tokens_wrong_type",
                       "parameters.max_output_tokens_incomplete", "state.status_background_incomplete",
                       "state.status_incomplete_item_status", "streaming.incomplete"]


@pytest.mark.parametrize(("name", "arg", "answer"), [
    ("output_text", {"token": "X"}, True),
    ("response_status", "completed", True),
    ("events", {"last": "response.completed"}, True),
    ("json", {"path": "output[type=message].role", "equals": "assistant"}, True),
    ("json", {"path": "completed_at", "type": "integer"}, True),
    ("json", {"source": "events", "path": "[0].type", "equals": "response.created"}, True),
    ("schema", {"name": "FunctionToolCall", "path": "output[type=function_call]"}, True),
    ("sdk_ok", True, True),
    ("status", 200, False),
    ("header", {"name": "content-type", "matches": "json"}, False),
    ("schema", "Response", False),
    ("json", {"path": "id", "type": "string"}, False),
    ("json", {"path": "metadata", "equals": {"a": "b"}}, False),
    ("json", {"path": "usage.output_tokens", "type": "integer"}, False),
])
def test_what_counts_as_the_answer(name: str, arg: object, answer: bool) -> None:
    assert about_answer(name, arg) is answer


# ------------------------------------------------------------------ --output-cap-floor

def test_the_floor_raises_the_suites_caps_in_the_request_sent_and_the_bound() -> None:
    floored = with_output_floor(CASES["basic.text"], 1024)
    assert case_bound(CASES["basic.text"]) == 32 and case_bound(floored) == 1024
    assert case_bound(with_output_floor(CASES["basic.distinct_ids"], 1024)) == 2048
    (ex,), result = record(floored)
    assert ex.request.body["max_output_tokens"] == 1024 and ex.json()["max_output_tokens"] == 1024
    assert result.outcome is Outcome.PASS, result.message  # the reasoning fits: the answer comes
    assert [item["type"] for item in ex.json()["output"]] == ["reasoning", "message"]
    echo = [c for c in result.checks if c.name == "response.echo"]
    assert echo and not any(c.findings for c in echo)  # the echo is compared with the request actually sent


def test_the_floor_keeps_the_caps_a_case_tests_higher_caps_and_uncapped_steps() -> None:
    for cid in ("parameters.max_output_tokens_incomplete", "errors.max_output_tokens_below_minimum"):
        assert with_output_floor(CASES[cid], 1024) is CASES[cid]
    high = [c for c in CASES.values() if any((step_cap(s) or 0) > 1024 for s in c.steps)]
    assert high
    for case in high:
        before = [step_cap(s) for s in case.steps]
        after = [step_cap(s) for s in with_output_floor(case, 1024).steps]
        assert all(a == b for a, b in zip(after, before, strict=True) if b is not None and b >= 1024)
    uncapped = [c for c in CASES.values() if any(s.uncapped for s in c.steps)]
    assert uncapped
    for case in uncapped:
        floored = with_output_floor(case, 1024)
        assert all(step_cap(f) is None for s, f in zip(case.steps, floored.steps, strict=True) if s.uncapped)
    sdk = with_output_floor(CASES["sdk.create"], 1024)  # an SDK step's cap is in its args
    assert [s.args["max_output_tokens"] for s in sdk.steps if s.transport == "sdk"] == [1024]


def test_the_bound_of_the_floored_suite_counts_every_raised_cap() -> None:
    cases = list(CASES.values())
    floored = [with_output_floor(c, 1024) for c in cases]
    expected = 0
    for case, raised in zip(cases, floored, strict=True):
        bound = case_bound(case)
        if bound is not None:
            caps = [(step_cap(s), step_cap(r)) for s, r in zip(case.steps, raised.steps, strict=True)]
            assert case_bound(raised) == bound + sum(r - s for s, r in caps if s is not None and r is not None)
            expected += case_bound(raised) or 0
    assert selection_bound(floored).tokens == expected > selection_bound(cases).tokens


def test_the_readme_states_the_floored_suites_bound() -> None:
    from conformance.run.cost import default_suite_bound

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`{default_suite_bound(floor=1024).line()}`" in readme


def test_with_the_floor_the_reasoning_model_passes_every_case() -> None:
    """The remedy works: floored to 1024, every case of the suite gets its answer from a model that spends 200
    tokens reasoning first, and passes (a case that assumed the first output item is the answer would fail here)."""
    cases = [with_output_floor(c, 1024) for c in CASES.values() if profile_skip_reason(c, "openai") is None]
    with reference_recorder(KEY, variants=REASONS) as rec:
        follows = run_preflight(rec, 1024).follows
        results = [judge(record_case(case, rec), follows_probes=follows) for case in cases]
    bad = [(r.case.id, r.outcome.value, r.message[:200]) for r in results if r.outcome is not Outcome.PASS]
    assert not bad


@pytest.mark.parametrize("raw", ["0", "15", "-1", "1.5", "lots", ""])
def test_a_floor_is_a_whole_number_of_at_least_16(raw: str) -> None:
    with pytest.raises(ValueError, match="--output-cap-floor"):
        parse_output_cap_floor(raw)
    assert parse_output_cap_floor(" 1024 ") == 1024


# ------------------------------------------------------------------ the probe preflight

def preflight(variants: tuple[str, ...], cap: int = 32) -> ProbePreflight:
    with reference_recorder(KEY, variants=variants) as rec:
        return run_preflight(rec, cap)


def test_the_preflight_probe_is_capped_and_says_when_the_model_reasons_by_default() -> None:
    plain = preflight(())
    assert plain.verdict == "follows" and plain.cap == 32 and plain.advisory == ""
    assert '"max_output_tokens": 32' in plain.attempts[0]["curl"]
    cut = preflight(REASONS)
    assert cut.verdict == "inconclusive" and cut.follows  # no text: judged as usual
    assert cut.output_tokens == 32
    assert cut.advisory == (
        "the model reasons by default: its probe replies need more than 32 output tokens (the preflight's probe: "
        "32 reasoning tokens; cut at max_output_tokens=32); consider --output-cap-floor 1024")
    raised = preflight(REASONS, cap=1024)  # answered within a generous cap: nothing more to advise
    assert raised.verdict == "follows" and raised.advisory == ""
    assert raised.attempts[0]["reasoning_tokens"] == 200


def _wrong_and_greedy(requests: list[dict]) -> Script:
    """A model that answers every probe with the wrong text and spends its whole cap doing so."""
    def script(conn: socket.socket, request: bytes) -> None:
        body = json.loads(request.partition(b"\r\n\r\n")[2] or b"{}")
        requests.append(body)
        cap = body.get("max_output_tokens") or 500
        reply = {"id": "resp_1", "object": "response", "status": "completed",
                 "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                             "content": [{"type": "output_text", "text": "nope", "annotations": []}]}],
                 "usage": {"input_tokens": 1, "output_tokens": cap, "total_tokens": cap + 1}}
        data = json.dumps(reply).encode()
        conn.sendall(head("200 OK", {"Content-Type": "application/json", "Content-Length": str(len(data)),
                                     "Connection": "close"}) + data)
    return script


@pytest.mark.parametrize(("budget", "sent", "verdict", "charged"), [
    (None, 2, "does_not_follow", 64),  # a miss is confirmed by a second probe
    (40, 1, "inconclusive", 32),  # the second probe would overshoot the budget: one miss concludes nothing
    (20, 0, "assumed", 0),  # not even one probe fits
])
def test_the_preflight_never_overshoots_the_token_budget(budget: int | None, sent: int, verdict: str,
                                                         charged: int) -> None:
    requests: list[dict] = []
    with hostile_server(_wrong_and_greedy(requests)) as url:
        with Recorder(Target(url, "greedy"), Limits(idle_timeout_s=5, deadline_s=10)) as rec:
            probes = run_preflight(rec, 32, budget=budget)
    assert len(requests) == sent and all(r["max_output_tokens"] == 32 for r in requests)
    assert probes.verdict == verdict and probes.output_tokens == charged
    assert probes.follows is (verdict != "does_not_follow")


# ------------------------------------------------------------------ the command and the pytest plugin

def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", "run", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


#: five cases: two token probes (32, 2 x 32), a function call (64 + 64), a stream (32), an SDK create (32)
SELECTION = ("basic.text or basic.distinct_ids or tools.function_call_roundtrip or streaming.text "
             "or (sdk.create and not stream)")


def results_of(reports: Path) -> dict:
    (path,) = reports.glob("*.json")
    doc = json.loads(path.read_text())
    jsonschema.validate(doc, json.loads(RESULTS_SCHEMA_PATH.read_text()))
    return doc


def test_a_run_on_a_reasoning_model_advises_the_floor_and_fails_nothing(tmp_path: Path) -> None:
    proc = run_cli("--variant", "reasoning_by_default", "-k", SELECTION, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    lines = proc.stdout.splitlines()
    bound = next(i for i, line in enumerate(lines) if "worst-case output tokens:" in line)
    advice = next(i for i, line in enumerate(lines) if line.startswith("the model reasons by default:"))
    first_case = next(i for i, line in enumerate(lines) if line.endswith("basic.text"))  # a case's line
    assert bound < advice < first_case, out[-3000:]
    assert lines[bound] == ("5 case(s) selected; worst-case output tokens: 288 over 5 bounded case(s) (+ at most 64 "
                            "for the probe preflight)")
    assert lines[advice].endswith("consider --output-cap-floor 1024")
    doc = results_of(tmp_path / "reports")
    assert {c["outcome"] for c in doc["cases"]} == {"skipped"}
    assert all(c["message"].startswith(CUT_REASON) for c in doc["cases"])
    run = doc["run"]
    assert run["probe_preflight"]["advisory"] == lines[advice] and run["probe_preflight"]["cap"] == 32
    assert run["output_cap_floor"] is None and run["cap_cut_skipped"] >= 5


def test_the_floor_raises_the_caps_sent_and_the_bound_printed(tmp_path: Path) -> None:
    proc = run_cli("--variant", "reasoning_by_default", "--output-cap-floor", "1024", "-k", SELECTION, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert ("worst-case output tokens: 7168 over 5 bounded case(s) (+ at most 2048 for the probe preflight)"
            in proc.stdout), out[-3000:]
    assert "the model reasons by default" not in proc.stdout
    doc = results_of(tmp_path / "reports")
    assert {c["outcome"] for c in doc["cases"]} == {"pass"}, [(c["id"], c["message"]) for c in doc["cases"]]
    sent = [ex["request"]["body"].get("max_output_tokens") for c in doc["cases"] for ex in c["exchanges"]
            if ex["request"]["method"] == "POST" and isinstance(ex["request"].get("body"), dict)]
    assert sent and set(sent) == {1024}
    assert doc["run"]["output_cap_floor"] == 1024 and doc["run"]["probe_preflight"]["cap"] == 1024
    assert doc["run"]["cap_cut_skipped"] == 0


class _Events:
    def __init__(self) -> None:
        self.seen: list[Event] = []

    def handle(self, event: Event) -> None:
        self.seen.append(event)


def test_the_engine_says_the_advice_after_the_preflight_and_before_the_first_case() -> None:
    from conformance.api import run

    events = _Events()
    finished = run(keyword="basic.text", variants=["reasoning_by_default"], subscribers=[events])
    kinds = [type(e).__name__ for e in events.seen]
    assert kinds == ["RunStarted", "RunNotice", "CaseFinished", "RunFinished"]
    notice = events.seen[1]
    assert isinstance(notice, RunNotice) and notice.line.endswith("consider --output-cap-floor 1024")
    assert not finished.failed and [r.outcome for r in finished.results] == [Outcome.SKIPPED]
    raised = run(keyword="basic.text", variants=["reasoning_by_default"], output_cap_floor=1024)
    assert [r.outcome for r in raised.results] == [Outcome.PASS]
    assert raised.document["run"]["output_cap_floor"] == 1024


@pytest.mark.parametrize("floor", [(), ("--output-cap-floor", "1024")], ids=["cut", "floored"])
def test_a_recorded_run_is_rejudged_alike(floor: tuple[str, ...], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """``judge --recording`` loads the cases from disk: it floors them as the live run did, and finds the same
    cuts (conformance/run/rejudge.py)."""
    from tests.test_recording import _assert_same_run, _rejudge, _run

    monkeypatch.chdir(tmp_path)
    live, har = _run(tmp_path, "-k", SELECTION, "--variant", "reasoning_by_default", *floor)
    code, again = _rejudge(har, tmp_path / "again.json")
    assert code == 0
    _assert_same_run(live, again)
    outcomes = {c["outcome"] for c in again["cases"]}
    assert outcomes == ({"pass"} if floor else {"skipped"})
    assert again["run"]["cap_cut_skipped"] == live["run"]["cap_cut_skipped"] == (0 if floor else 13)


def test_a_bad_floor_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = run_cli("--output-cap-floor", "8", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "--output-cap-floor '8'" in proc.stderr


def test_plain_pytest_takes_the_floor(tmp_path: Path) -> None:
    out = tmp_path / "plain.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance/suite/cases", "-q", "-p", "no:cacheprovider",
                           "-k", "basic.text", "--conformance-variant", "reasoning_by_default", "--conformance-output-cap-floor", "512",
                           "--conformance-json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "worst-case output tokens: 512 over 1 bounded case(s)" in proc.stdout
    doc = json.loads(out.read_text())
    assert [c["outcome"] for c in doc["cases"]] == ["pass"] and doc["run"]["output_cap_floor"] == 512
    bad = subprocess.run([sys.executable, "-m", "pytest", "conformance/suite/cases", "-q", "-p", "no:cacheprovider",
                          "-k", "basic.text", "--conformance-output-cap-floor", "ten"], cwd=ROOT, capture_output=True, text=True,
                         timeout=240)
    assert bad.returncode == 4 and "--conformance-output-cap-floor 'ten'" in bad.stderr and "Traceback" not in bad.stderr
