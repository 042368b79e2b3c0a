"""Cost: the worst-case output tokens of the selected cases (conformance/run/cost.py) and ``--token-budget``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance.cases import Case, load_cases
from conformance.record.http import Limits, Recorder, Target
from conformance.report import RESULTS_SCHEMA_PATH
from conformance.run.cost import case_bound, charged_output, parse_token_budget, selection_bound
from conformance.run.engine import Scheduler
from conformance.suite import CASES_DIR
from tests._helpers import send_json, serve_handler

ROOT = Path(__file__).resolve().parents[1]

CASES = """\
cases:
  - id: parameters.cost_capped_twice
    title: two capped generations and a free retrieval
    group: parameters
    spec: [openai-openapi.yaml#/paths/~1responses/post]
    capabilities: [core]
    steps:
      - name: first
        request: {body: {model: !model , input: hi, max_output_tokens: 16}}
        capture: {rid: id}
        expect: [{status: 200}]
      - name: again
        request: {body: {model: !model , input: hi, max_output_tokens: 20}}
        expect: [{status: 200}]
      - name: get
        request: {method: GET, path: !join ["/responses/", !var rid]}
        expect: [{status: 200}]
  - id: parameters.cost_rejected
    title: an uncapped request a conforming server rejects generates nothing
    group: parameters
    spec: [openai-openapi.yaml#/paths/~1responses/post]
    capabilities: [core]
    steps:
      - name: bad
        request: {body: {model: !model , input: hi, max_output_tokens: "many"}}
        expect: [{status: 400}]
  - id: parameters.cost_uncapped
    title: a capped step then an uncapped one
    group: parameters
    spec: [openai-openapi.yaml#/paths/~1responses/post]
    capabilities: [core]
    steps:
      - name: capped
        request: {body: {model: !model , input: hi, max_output_tokens: 16}}
        expect: [{status: 200}]
      - name: uncapped
        request: {body: {model: !model , input: hi}}
        expect: [{status: 200}]
"""


def _cases(tmp_path: Path) -> dict[str, Case]:
    path = tmp_path / "cost.yaml"
    path.write_text(CASES, encoding="utf-8")
    return {case.id: case for case in load_cases(path)}


def test_a_case_bound_sums_its_capped_generations_and_an_uncapped_one_unbounds_it(tmp_path: Path) -> None:
    cases = _cases(tmp_path)
    assert case_bound(cases["parameters.cost_capped_twice"]) == 36
    assert case_bound(cases["parameters.cost_rejected"]) == 0
    assert case_bound(cases["parameters.cost_uncapped"]) is None
    bound = selection_bound(cases.values())
    assert (bound.tokens, bound.cases, bound.unbounded) == (36, 3, ("parameters.cost_uncapped",))
    assert bound.line() == ("worst-case output tokens: 36 over 2 bounded case(s); 1 of 3 case(s) unbounded "
                            "(a generating step without max_output_tokens)")


DESIGNED = """\
cases:
  - id: parameters.cost_default_length
    title: the default output length, said so
    group: parameters
    spec: [openai-openapi.yaml#/paths/~1responses/post]
    capabilities: [core]
    steps:
      - name: capped
        request: {body: {model: !model , input: hi, max_output_tokens: 16}}
        expect: [{status: 200}]
      - name: default
        uncapped: the case tests the default output length
        request: {body: {model: !model , input: Count from 1 to 50.}}
        expect: [{status: 200}]
  - id: parameters.cost_sdk_rejected
    title: an SDK call a conforming server rejects with a 4xx generates nothing
    group: sdk
    spec: [openai-openapi.yaml#/paths/~1responses/post]
    capabilities: [sdk, auth]
    steps:
      - name: create
        request: {transport: sdk, call: responses.create, auth: invalid, args: {model: !model , input: hi}}
        expect: [{sdk_error: {type: AuthenticationError, status: 401}}]
"""


def test_a_case_uncapped_by_design_is_reported_apart_from_the_unbounded(tmp_path: Path) -> None:
    path = tmp_path / "designed.yaml"
    path.write_text(CASES + DESIGNED.removeprefix("cases:\n"), encoding="utf-8")
    cases = {case.id: case for case in load_cases(path)}
    assert case_bound(cases["parameters.cost_default_length"]) is None
    assert case_bound(cases["parameters.cost_sdk_rejected"]) == 0
    bound = selection_bound(cases.values())
    assert bound.unbounded == ("parameters.cost_uncapped",)
    assert bound.uncapped == ("parameters.cost_default_length",)
    assert bound.line() == ("worst-case output tokens: 36 over 3 bounded case(s); 1 case(s) uncapped by design; "
                            "1 of 5 case(s) unbounded (a generating step without max_output_tokens)")


def test_every_suite_case_bounds_its_output_or_says_why_not() -> None:
    """Issue 11: every case bounds its output unless it tests the default (or calls an endpoint that takes no cap)."""
    from conformance.cases import load_all
    from conformance.run.cost import uncapped_by_design

    cases = load_all(CASES_DIR)
    bound = selection_bound(cases)
    assert bound.unbounded == ()
    assert bound.uncapped and all(uncapped_by_design(c) for c in cases if c.id in bound.uncapped)
    assert "unbounded" not in bound.line()


def test_the_suite_cases_cut_by_max_output_tokens_are_bounded_by_it() -> None:
    case = {c.id: c for c in load_cases(CASES_DIR / "parameters.yaml")}["parameters.max_output_tokens_incomplete"]
    assert case_bound(case) == 16


@pytest.mark.parametrize("raw", ["0", "-5", "1.5", "ten", ""])
def test_a_token_budget_must_be_a_positive_whole_number(raw: str) -> None:
    with pytest.raises(ValueError, match="--token-budget"):
        parse_token_budget(raw)
    assert parse_token_budget(" 250 ") == 250


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", "run", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_a_bad_token_budget_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = run_cli("--token-budget", "0", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "--token-budget '0'" in proc.stderr
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_token_budget_skips_the_remaining_cases_and_writes_every_report(tmp_path: Path) -> None:
    """``-k basic``: basic.text (worst case 32 output tokens) and basic.distinct_ids (64). A budget of 40 holds the
    first, never the second: whichever comes first, one case runs and the other is skipped (budget)."""
    proc = run_cli("--token-budget", "40", "--concurrency", "1", "-k", "basic", cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert "worst-case output tokens:" in proc.stdout, out[-2000:]
    reports = tmp_path / "reports"
    files = list(reports.glob("*.json"))
    assert len(files) == 1, out[-2000:]
    doc = json.loads(files[0].read_text())
    jsonschema.validate(doc, json.loads(RESULTS_SCHEMA_PATH.read_text()))
    outcomes = [(c["outcome"], c["message"]) for c in doc["cases"]]
    limited = [m for o, m in outcomes if o == "skipped" and m.startswith("skipped (budget)")]
    assert len(limited) == 1 and "(64 tokens)" in limited[0] and len(outcomes) == 2, outcomes
    run = doc["run"]
    ran = [c for c in doc["cases"] if c["outcome"] != "skipped"]
    assert [c["id"] for c in ran] == ["basic.text"], outcomes
    assert run["token_budget"] == 40 and run["budget_limited"] == 1
    preflight = run["probe_preflight"]["output_tokens"]  # the token probe is charged too (capped at 32)
    assert 0 < preflight <= 2 * 32 and run["probe_preflight"]["cap"] == 32
    assert run["tokens_charged"] == ran[0]["tokens"]["output"] + preflight
    assert ran[0]["tokens"]["output"] <= 32 and run["tokens_billed"] >= run["tokens_charged"]
    assert run["complete"] is True
    stem = files[0].stem
    assert (reports / f"{stem}.html").is_file() and (reports / f"{stem}.junit.xml").is_file()
    assert proc.returncode in (0, 1), out[-2000:]


def test_the_readme_states_the_default_suites_bound() -> None:
    """Adding, capping or removing a case changes the bound: rerun ``default_suite_bound().line()`` into README.md."""
    from conformance.run.cost import default_suite_bound

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`{default_suite_bound().line()}`" in readme


# ------------------------------------------------------------------ the scheduler never overshoots the budget

class _GreedyModel:
    """A loopback ``POST /responses`` that always uses its whole cap: ``usage.output_tokens`` is the request's
    ``max_output_tokens`` (500 without one), answered after a short hold so that cases overlap in flight. It
    notes what a budget must prevent: how many requests were in flight at once, and whether any request was in
    flight beside an uncapped one."""

    UNCAPPED_BILL = 500

    def __init__(self, gather: int = 0) -> None:
        self.gather = gather  # hold every answer until this many requests have arrived (at most 5 s)
        self.lock = threading.Condition()
        self.in_flight = 0
        self.most_in_flight = 0
        self.uncapped_in_flight = 0
        self.beside_uncapped = 0  # requests that overlapped an uncapped one
        self.billed = 0
        self.requests = 0

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        cap = body.get("max_output_tokens")
        with self.lock:
            if self.uncapped_in_flight or (cap is None and self.in_flight):
                self.beside_uncapped += 1
            self.in_flight += 1
            self.uncapped_in_flight += cap is None
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.requests += 1
            self.lock.notify_all()
            # hold: the other workers' requests arrive meanwhile (a bound, not a timing assertion)
            self.lock.wait_for(lambda: self.requests >= self.gather, timeout=5 if self.gather else 0.1)
        out = cap if isinstance(cap, int) else self.UNCAPPED_BILL
        with self.lock:
            self.in_flight -= 1
            self.uncapped_in_flight -= cap is None
            self.billed += out
        return {"id": f"resp_{uuid.uuid4().hex}", "object": "response", "status": "completed", "output": [],
                "usage": {"input_tokens": 1, "output_tokens": out, "total_tokens": out + 1}}

    @contextmanager
    def serve(self) -> Iterator[str]:
        model = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                send_json(self, 200, model.answer(body))

            def log_message(self, *args: Any) -> None:
                pass

        with serve_handler(Handler) as url:
            yield url


def _budget_cases(tmp_path: Path, caps: list[int | None]) -> list[Case]:
    entries = []
    for i, cap in enumerate(caps):
        body = f"{{model: !model , input: hi{'' if cap is None else f', max_output_tokens: {cap}'}}}"
        uncapped = "" if cap is not None else "\n        uncapped: the case tests the default output length"
        entries.append(f"""\
  - id: parameters.budget_{i:02d}
    title: t
    group: parameters
    spec: [openai-openapi.yaml#/paths/~1responses/post]
    capabilities: [core]
    steps:
      - name: create{uncapped}
        request: {{body: {body}}}
        expect: [{{status: 200}}]
""")
    path = tmp_path / "budget.yaml"
    path.write_text("cases:\n" + "".join(entries), encoding="utf-8")
    return load_cases(path)


def _schedule(cases: list[Case], base_url: str, budget: int, concurrency: int = 4) -> tuple[Scheduler, list[str]]:
    recorder = Recorder(Target(base_url, "greedy"), Limits(idle_timeout_s=10, deadline_s=20))
    scheduler = Scheduler(recorder, concurrency=concurrency, token_budget=budget)
    try:
        futures = [scheduler.submit(case) for case in cases]  # all at once, as a run does
        skips = [f.result().skip_reason or "" for f in futures]
    finally:
        scheduler.shutdown()
        recorder.close()
    return scheduler, skips


def test_cases_in_flight_never_overshoot_the_budget(tmp_path: Path) -> None:
    """Twelve cases of at most 30 output tokens, four workers, a budget of 100, a model that always uses its whole
    cap. Starting whatever the budget had left would put four in flight (120); reserving each case's worst case
    lets three run (90), and the nine others no longer fit (10 left)."""
    greedy = _GreedyModel(gather=3)
    with greedy.serve() as url:
        scheduler, skips = _schedule(_budget_cases(tmp_path, [30] * 12), url, budget=100)
    assert greedy.billed == scheduler.output_charged == 90 <= 100
    assert greedy.requests == 3 and greedy.most_in_flight == 3  # the three did run side by side
    assert skips.count("") == 3
    assert [s for s in skips if s] == ["skipped (budget): its worst-case output (30 tokens) exceeds what the run's "
                                       "--token-budget has left (10)"] * 9
    assert len(scheduler.budget_limited) == 9


def test_a_case_without_a_bound_runs_alone_and_the_rest_fill_the_budget(tmp_path: Path) -> None:
    greedy = _GreedyModel()
    caps: list[int | None] = [16, 16, 16, 16, None, 16, 16, 16, 16]
    with greedy.serve() as url:
        scheduler, skips = _schedule(_budget_cases(tmp_path, caps), url, budget=10_000)
    assert skips == [""] * len(caps) and greedy.requests == len(caps)
    assert greedy.beside_uncapped == 0  # nothing started while the uncapped case ran, nor it beside another
    assert greedy.billed == scheduler.output_charged == 8 * 16 + _GreedyModel.UNCAPPED_BILL


def test_a_case_larger_than_the_whole_budget_is_skipped_without_a_request(tmp_path: Path) -> None:
    greedy = _GreedyModel()
    with greedy.serve() as url:
        scheduler, skips = _schedule(_budget_cases(tmp_path, [64, 16]), url, budget=40, concurrency=1)
    assert skips == ["skipped (budget): its worst-case output (64 tokens) exceeds what the run's --token-budget has "
                     "left (40)", ""]
    assert greedy.requests == 1 and scheduler.output_charged == 16


def test_a_step_that_reports_no_usage_is_charged_its_cap(tmp_path: Path) -> None:
    """A background response is created without usage: the budget charges what it may have generated."""
    case = _cases(tmp_path)["parameters.cost_capped_twice"]
    assert charged_output(case, {"first": 3, "again": None, "get": 7}) == 3 + 20  # the GET generates nothing
    assert charged_output(case, {"first": 3}) == 3  # the case stopped before "again"
