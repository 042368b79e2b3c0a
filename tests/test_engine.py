"""The engine stands alone: it runs cases without pytest and emits events; options are declared once; ``-k``
selects what pytest's ``-k`` selects; every front end gates a result the same way (conformance/run/)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _pytest.mark.expression import Expression

from conformance._verdict import Outcome
from conformance.cases import load_all
from conformance.run.baseline import Baseline, Expectation
from conformance.run.engine import CaseResult
from conformance.run.options import OPTIONS, OptionError, add_to_argparse, add_to_pytest, run_options, values_from_pytest
from conformance.run.runner import case_status
from conformance.run.select import KeywordError, keywords_of, select
from conformance.suite import CASES_DIR

ROOT = Path(__file__).resolve().parent.parent

CASES = load_all(CASES_DIR)

ENGINE_ALONE = """
import json, sys
from pathlib import Path
from conformance.cases import load_all
from conformance.run.runner import Engine
from conformance.run.session import ConformanceSession, RunOptions

class Collect:
    def __init__(self): self.seen = []
    def handle(self, event): self.seen.append(event)

cases = [c for c in load_all(Path(sys.argv[1])) if c.id in ("basic.text", "errors.missing_model")]
collect = Collect()
engine = Engine(ConformanceSession(RunOptions(deviations=["accept_unknown_model"])), [collect])
finished = engine.run(cases, json_path=Path(sys.argv[2]))
print(json.dumps({
    "events": [type(e).__name__ for e in collect.seen],
    "cases": [e.result.case.id + ":" + e.status.kind for e in collect.seen if type(e).__name__ == "CaseFinished"],
    "outcomes": [c["outcome"] for c in finished.document["cases"]],
    "pytest_imported": any(m == "pytest" or m.startswith("_pytest") for m in sys.modules),
}))
"""


def test_the_engine_runs_cases_without_pytest_and_emits_events(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", ENGINE_ALONE, str(CASES_DIR), str(tmp_path / "r.json")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["pytest_imported"] is False
    assert out["events"] == ["RunStarted", "CaseFinished", "CaseFinished", "RunFinished"]
    assert out["cases"] == ["basic.text:passed", "errors.missing_model:passed"]
    assert out["outcomes"] == ["pass", "pass"]
    assert not (tmp_path / "r.json").exists(), "no reporter subscribed: the engine itself writes nothing"


def test_plain_pytest_writes_the_same_html_page_when_asked(tmp_path: Path) -> None:
    out, page = tmp_path / "plain.json", tmp_path / "plain.html"
    proc = subprocess.run([sys.executable, "-m", "pytest", str(CASES_DIR), "-q", "-p", "no:cacheprovider", "-k",
                           "basic.text or errors.unknown_model", "--conformance-deviate", "accept_unknown_model",
                           "--conformance-json", str(out), "--conformance-html", str(page)],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "1 failed, 1 passed" in proc.stdout
    text = page.read_text()
    assert '<tr id="case-basic.text" class="case" data-outcome="pass">' in text
    assert '<tr id="case-errors.unknown_model" class="case" data-outcome="fail">' in text
    assert {c["id"] for c in json.loads(out.read_text())["cases"]} == {"basic.text", "errors.unknown_model"}


class _Group:
    """Records pytest's ``addoption`` calls."""

    def __init__(self) -> None:
        self.options: dict[str, dict[str, Any]] = {}

    def addoption(self, flag: str, **kwargs: Any) -> None:
        self.options[flag] = kwargs


def test_one_table_builds_the_run_parser_and_the_pytest_options() -> None:
    parser = argparse.ArgumentParser()
    add_to_argparse(parser)
    run_flags = {flag for action in parser._actions for flag in action.option_strings} - {"-h", "--help"}
    group = _Group()
    add_to_pytest(group)
    assert run_flags == {f for o in OPTIONS if o.scope != "pytest" for f in (o.flag, *o.aliases)}
    assert set(group.options) == {o.pytest_name for o in OPTIONS if o.scope != "run"}
    # the few flags that differ, and pytest's own names left alone
    assert "--conformance-json" in group.options and "--conformance-baseline-strict" in group.options
    assert all(flag.startswith("--conformance-") for flag in group.options)  # never another plugin's --base-url
    assert not {"-k", "--strict", "--json", "-q"} & set(group.options)
    # the same words give the same RunOptions through either front end
    words = ["--model", "m", "--concurrency", "2", "--shard", "2/3", "--header", "X-A: b", "--spec-strict",
             "--token-budget", "1000", "--deadline", "9", "--baseline", "b.yaml", "--update-baseline"]
    from_run = run_options(vars(parser.parse_args(words)))
    pytest_parser = argparse.ArgumentParser()
    for flag, kwargs in group.options.items():
        pytest_parser.add_argument(flag, **kwargs)
    namespace = pytest_parser.parse_args([w.replace("--", "--conformance-", 1) if w.startswith("--") else w for w in words])
    from_pytest = run_options(values_from_pytest(lambda dest: getattr(namespace, dest)))
    assert from_run == from_pytest
    assert (from_run.concurrency, str(from_run.shard), from_run.token_budget, from_run.limits.deadline_s) == (2, "2/3", 1000, 9.0)


@pytest.mark.parametrize("values, flag", [
    ({"concurrency": 0}, "--concurrency"), ({"deadline": float("nan")}, "--deadline"),
    ({"max_time": -1.0}, "--max-time"), ({"shard": "3/2"}, "--shard"), ({"token_budget": "0"}, "--token-budget"),
    ({"base_url": " "}, "--base-url"), ({"spec_as_of": "yesterday"}, "--spec-as-of"),
    ({"baseline_strict": True}, "--strict"),
])
def test_a_bad_value_is_one_line_naming_its_flag(values: dict[str, Any], flag: str) -> None:
    with pytest.raises(OptionError, match=f"^{flag}"):
        run_options(values)


@pytest.mark.parametrize("expression", [
    "basic", "basic.text", "basic or errors.missing_auth or streaming.text", "not streaming", "errors and not auth",
    "(basic or input) and not text", "streaming.yaml", "capability", "BASIC.TEXT", "cases and sdk",
    "not (basic or errors) and stream",
])
def test_keyword_selection_agrees_with_pytest(expression: str) -> None:
    expected = [c.id for c in CASES
                if Expression.compile(expression).evaluate(lambda name, c=c: any(name.lower() in k for k in keywords_of(c)))]
    assert [c.id for c in select(CASES, expression)] == expected
    if expression in ("basic", "not streaming", "capability", "cases and sdk"):
        assert expected


@pytest.mark.parametrize("expression", ["basic and", "(basic", "or", "basic )", "basic $"])
def test_a_malformed_keyword_is_a_one_line_error(expression: str) -> None:
    with pytest.raises(KeywordError, match=r"^-k "):
        select(CASES, expression)


def _result(outcome: Outcome, message: str = "why") -> CaseResult:
    return CaseResult(CASES[0], outcome, message)


def test_gating_one_rule_for_every_front_end(tmp_path: Path) -> None:
    cid = CASES[0].id
    base = Baseline(tmp_path / "b.yaml", "p", "m", {cid: Expectation(cid, "fail", "known", 3, str(tmp_path / "b.yaml"))})
    assert case_status(_result(Outcome.FAIL), None).kind == "failed"
    assert case_status(_result(Outcome.ERROR), None).kind == "error"
    assert case_status(_result(Outcome.UNSUPPORTED), None).message == "unsupported: why"
    assert case_status(_result(Outcome.PASS), None).kind == "passed"
    expected = case_status(_result(Outcome.FAIL), base)
    assert (expected.kind, expected.baseline) == ("skipped", "expected") and "expected by baseline" in expected.message
    assert "b.yaml:3" in expected.message
    assert case_status(_result(Outcome.PASS), base).kind == "passed"
    stale = case_status(_result(Outcome.PASS), base, strict=True)
    assert stale.kind == "failed" and stale.message.startswith("unexpected pass")
    assert case_status(_result(Outcome.ERROR), base).kind == "error"
