"""A target that stops answering mid-run: the run names the last answered request, stops sending, and marks
the rest ``error (target down)`` (conformance/run/outage.py, the Scheduler in conformance/run/engine.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema

from conformance._verdict import Outcome
from conformance.cli import main as judge_main
from conformance.record.exchange import Exchange, RecordedRequest
from conformance.record.http import Limits, Recorder, Target
from conformance.reference import MODEL_NAME, ReferenceServer
from conformance.report import RESULTS_SCHEMA_PATH
from conformance.run.engine import CaseResult, Scheduler, judge
from conformance.run.outage import OutageWatch
from tests._dying import dying_front
from tests.test_cli import cli
from tests.test_deviations import CASES

#: single-step cases, in the order errors.yaml defines them (the order a run records them in)
ORDER = ["errors.missing_model", "errors.temperature_out_of_range", "errors.top_p_out_of_range",
         "errors.max_output_tokens_below_minimum", "errors.input_wrong_type", "errors.invalid_role"]


def _run_through_front(answer: int, mode: str, limits: Limits) -> tuple[list[CaseResult], Scheduler, int]:
    """Record ORDER one case at a time through a front that dies after ``answer`` requests; (results, scheduler,
    connections the front took after it died)."""
    with ReferenceServer() as server, dying_front(server.base_url, answer=answer, mode=mode) as front:
        recorder = Recorder(Target(front.base_url, MODEL_NAME), limits)
        scheduler = Scheduler(recorder, concurrency=1)
        try:
            results = [judge(scheduler.submit(CASES[cid]).result()) for cid in ORDER]
        finally:
            scheduler.shutdown()
            recorder.close()
        return results, scheduler, front.dropped


def test_scheduler_stops_sending_once_the_target_is_down() -> None:
    results, scheduler, dropped = _run_through_front(3, "drop", Limits(idle_timeout_s=5, deadline_s=10))
    assert [r.outcome for r in results[:3]] == [Outcome.PASS] * 3
    assert all(r.outcome is Outcome.ERROR for r in results[3:])
    assert dropped == 2  # the two unanswered requests that showed the outage; nothing was sent after them
    down = scheduler.watch.down
    assert down is not None and down.last_answered is not None
    assert down.last_answered.case == ORDER[2] and down.last_answered.status == 400
    assert down.first_unanswered.case == ORDER[3]
    assert results[3].message.startswith("inconclusive (connect)")  # the first unanswered: named by the banner
    assert results[4].message.startswith("target down: unanswered: the target stopped answering")
    assert results[5].message.startswith("target down: not sent: the target stopped answering")
    assert ORDER[2] in results[5].message and not results[5].exchanges
    assert scheduler.watch.not_sent == [ORDER[5]]


def _ex(step: str, status: int | None, started: float, kind: str | None = None) -> Exchange:
    ex = Exchange(step=step, request=RecordedRequest("POST", "http://x/v1/responses", "/responses"), started_at=started)
    ex.status, ex.elapsed_s = status, 0.1
    if kind:
        ex.error_kind, ex.error = kind, "ConnectError: refused"
    return ex


def test_one_refused_request_between_answers_is_no_outage() -> None:
    watch = OutageWatch()
    watch.observe("a", [_ex("s", 200, 1.0)])
    watch.observe("b", [_ex("s", None, 2.0, "connect")])
    watch.observe("c", [_ex("s", 200, 3.0)])
    watch.observe("d", [_ex("s", None, 4.0, "connect")])
    assert watch.down is None and watch.skip("e") is None
    watch.observe("f", [_ex("s", None, 5.0, "timeout")])
    assert watch.down is not None
    assert (watch.down.last_answered.case if watch.down.last_answered else None, watch.down.first_unanswered.case) \
        == ("c", "d")
    # a late report of an answer given *before* the outage neither resets it nor moves "last answered" back
    watch.observe("g", [_ex("s", 200, 2.5)])
    assert watch.down.last_answered is not None and watch.down.last_answered.case == "c"
    assert watch.skip("h") is watch.down and watch.not_sent == ["h"]


def test_stalls_and_server_errors_are_answers_not_outages() -> None:
    """A stall after the status line, a 5xx or a protocol error is an answer of sorts: no outage."""
    watch = OutageWatch()
    for i, kind in enumerate(("idle_timeout", "server_error", "deadline", "protocol")):
        watch.observe(f"c{i}", [_ex("s", None if kind == "protocol" else 200 if kind != "server_error" else 500,
                                    float(i), kind)])
    assert watch.down is None


def test_a_target_that_accepts_and_stays_silent_is_down() -> None:
    """No status line before the idle limit, twice in a row: the process hangs; stop sending."""
    results, scheduler, dropped = _run_through_front(2, "silent", Limits(idle_timeout_s=1, deadline_s=3))
    assert [r.outcome for r in results[:2]] == [Outcome.PASS] * 2
    assert all(r.outcome is Outcome.ERROR for r in results[2:])
    assert dropped == 2  # two silent connections showed the outage; the remaining cases were never sent
    down = scheduler.watch.down
    assert down is not None and down.first_unanswered.case == ORDER[2]
    assert scheduler.watch.not_sent == ORDER[4:]


def test_run_reports_the_outage_once_and_marks_the_rest(tmp_path: Path) -> None:
    # requests answered: the reachability preflight, the probe preflight, then the first two cases
    with ReferenceServer() as server, dying_front(server.base_url, answer=4, mode="refuse") as front:
        proc = cli("run", "--base-url", front.base_url, "--model", MODEL_NAME, "--provider", "dying",
                   "--concurrency", "1", "-k", " or ".join(ORDER), cwd=tmp_path, env={**os.environ})
    assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr[-2000:]  # inconclusive, no failure
    assert proc.stdout.count("TARGET DOWN") == 1, proc.stdout[-3000:]
    banner = proc.stdout[proc.stdout.index("TARGET DOWN"):].splitlines()
    assert f"last answered request: case {ORDER[1]!r}" in banner[1]
    assert f"first unanswered:      case {ORDER[2]!r}" in banner[2]
    assert "2 case(s) not sent" in banner[3]
    doc = json.loads((tmp_path / "reports" / "dying__reference-1.json").read_text())
    jsonschema.validate(doc, json.loads(RESULTS_SCHEMA_PATH.read_text()))
    down = doc["run"]["target_down"]
    assert down["last_answered"]["case"] == ORDER[1] and down["first_unanswered"]["case"] == ORDER[2]
    assert down["cases_not_sent"] == 2
    outcomes = [(c["id"], c["outcome"], c["message"]) for c in doc["cases"]]
    assert [o for _, o, _ in outcomes] == ["pass", "pass", "error", "error", "error", "error"]
    assert all(m.startswith("target down: not sent") for _, _, m in outcomes[4:])
    again = tmp_path / "again.json"  # the recording, re-judged offline, says the same (tests/test_recording.py)
    assert judge_main(["judge", "--recording", str(tmp_path / "reports" / doc["run"]["recording"]), "--json", str(again)]) == 3
    assert [(c["id"], c["outcome"], c["message"]) for c in json.loads(again.read_text())["cases"]] == outcomes
