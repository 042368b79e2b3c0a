"""Cost: the worst-case output tokens of the selected cases (conformance/cost.py) and ``--token-budget``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conformance.cases import Case, load_cases
from conformance.cost import case_bound, parse_token_budget, selection_bound
from conformance.report import RESULTS_SCHEMA_PATH
from conformance.suite import CASES_DIR

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
    """The embedded server bills one token per word: a budget of 5 is spent by the first case answered."""
    proc = run_cli("--token-budget", "5", "--concurrency", "1", "-k", "basic", cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert "worst-case output tokens:" in proc.stdout, out[-2000:]
    reports = tmp_path / "reports"
    files = list(reports.glob("*.json"))
    assert len(files) == 1, out[-2000:]
    doc = json.loads(files[0].read_text())
    jsonschema.validate(doc, json.loads(RESULTS_SCHEMA_PATH.read_text()))
    outcomes = [(c["outcome"], c["message"]) for c in doc["cases"]]
    limited = [m for o, m in outcomes if o == "skipped" and m.startswith("skipped (budget)")]
    assert limited and len(limited) < len(outcomes), outcomes
    run = doc["run"]
    assert run["token_budget"] == 5 and run["budget_limited"] == len(limited) and run["tokens_billed"] >= 5
    assert run["complete"] is True
    stem = files[0].stem
    assert (reports / f"{stem}.html").is_file() and (reports / f"{stem}.junit.xml").is_file()
    assert proc.returncode in (0, 1), out[-2000:]


def test_the_readme_states_the_default_suites_bound() -> None:
    """Adding, capping or removing a case changes the bound: rerun ``default_suite_bound().line()`` into README.md."""
    from conformance.cost import default_suite_bound

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`{default_suite_bound().line()}`" in readme
