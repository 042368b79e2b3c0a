"""Baselines and gating: clean runs, regressions, stale entries; JUnit truth; `diff` between runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.report.diff import diff_documents, format_diff
from conformance.run.baseline import (
    CHANGED,
    EXPECTED,
    OK,
    REGRESSION,
    UNEXPECTED_PASS,
    Baseline,
    BaselineError,
    Expectation,
    classify,
    gate,
    load_baseline,
    updated,
    write_baseline,
)

KEYWORD = "basic.text or errors.unknown_model or errors.missing_model or parameters.metadata_echo"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, env=dict(os.environ),
                          capture_output=True, text=True, timeout=300)


def exp(case_id: str, outcome: str = "fail") -> Expectation:
    return Expectation(case_id, outcome, "known", 3, "b.yaml")


@pytest.mark.parametrize(
    ("expected", "outcome", "kind"),
    [
        (None, "pass", OK), (None, "fail", REGRESSION), (None, "unsupported", OK), (None, "skipped", OK),
        ("fail", "fail", EXPECTED), ("fail", "pass", UNEXPECTED_PASS), ("unsupported", "fail", REGRESSION),
        ("fail", "unsupported", CHANGED), ("unsupported", "unsupported", EXPECTED),
    ],
)
def test_classify(expected: str | None, outcome: str, kind: str) -> None:
    assert classify(exp("x", expected) if expected else None, outcome) == kind


def test_gate_regression_stale_and_clean() -> None:
    base = Baseline(Path("b.yaml"), entries={"a": exp("a"), "b": exp("b"), "gone": exp("gone")})
    clean = gate(base, [("a", "fail", ""), ("b", "fail", ""), ("c", "pass", "")], known_ids=["a", "b", "c", "gone"])
    assert not clean.failed and not clean.regressions and not clean.stale and not clean.unknown
    regressed = gate(base, [("a", "fail", ""), ("b", "fail", ""), ("c", "fail", "boom")], known_ids=["a", "b", "c", "gone"])
    assert regressed.failed and [i.case_id for i in regressed.regressions] == ["c"]
    stale = gate(base, [("a", "pass", ""), ("b", "fail", ""), ("c", "pass", "")], known_ids=["a", "b", "c"])
    assert not stale.failed and [i.case_id for i in stale.stale] == ["a"] and [e.case_id for e in stale.unknown] == ["gone"]
    strict = gate(base, [("a", "pass", ""), ("b", "fail", "")], strict=True, known_ids=["a", "b", "gone"])
    assert strict.failed
    text = "\n".join(strict.summary_lines())
    assert "UNEXPECTED PASS a" in text and "b.yaml:3" in text


def test_load_validates_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text("provider: p\nmodel: m\nexpected:\n  a.case: {outcome: fail, reason: known bug}\n  b.case: just a reason\n")
    base = load_baseline(path)
    assert base.entries["a.case"].line == 4 and base.entries["b.case"].outcome == "fail"
    path.write_text("expected:\n  a.case: {outcome: pass, reason: x}\n")
    with pytest.raises(BaselineError, match=r"b.yaml:2: expected.a.case.outcome: 'pass' is not one of"):
        load_baseline(path)
    path.write_text("expected:\n  a.case: {outcome: fail}\n")
    with pytest.raises(BaselineError, match=r"b.yaml:2: expected.a.case.reason: say why"):
        load_baseline(path)
    path.write_text("expectd: {}\n")
    with pytest.raises(BaselineError, match=r"b.yaml:1: unknown key 'expectd'"):
        load_baseline(path)


def test_update_keeps_reasons_and_deselected_entries(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    old = Baseline(path, "p", "m", {"a": Expectation("a", "fail", "tracked in #12"), "z": Expectation("z", "fail", "other")})
    new = updated(old, [("a", "fail", "x"), ("b", "unsupported", "declined (body: secret)"), ("c", "pass", ""), ("d", "error", "t")],
                  path, "p", "m")
    assert new.entries["a"].reason == "tracked in #12"
    assert new.entries["b"].outcome == "unsupported" and "body" not in new.entries["b"].reason
    assert "c" not in new.entries and "d" not in new.entries and "z" in new.entries  # z was not run: kept
    write_baseline(new)
    again = load_baseline(path)
    assert {k: (v.outcome, v.reason) for k, v in again.entries.items()} == {k: (v.outcome, v.reason) for k, v in new.entries.items()}
    # a comment a person added to the header survives the next update
    path.write_text(path.read_text().replace("provider:", "# Reasons written by hand.\nprovider:", 1))
    write_baseline(updated(again, [("a", "fail", "x")], path, "p", "m"))
    text = path.read_text()
    assert text.count("# Reasons written by hand.\n") == 1 and text.count("# responses-conformance baseline") == 1


def test_cli_gating_end_to_end(tmp_path: Path) -> None:
    """Record a baseline from a deviated run, then: clean (0), regression (1), stale (0, strict 1)."""
    base = ["run", "-q", "-k", KEYWORD, "--provider", "gw", "--baseline", "baselines/"]
    rec = cli(*base, "--deviate", "accept_unknown_model", "--update-baseline", cwd=tmp_path)
    assert rec.returncode == 0, rec.stdout[-3000:] + rec.stderr
    path = tmp_path / "baselines" / "gw" / "reference-1.yaml"
    baseline = load_baseline(path)
    assert list(baseline.entries) == ["errors.unknown_model"] and baseline.provider == "gw"

    clean = cli(*base, "--deviate", "accept_unknown_model", cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout[-3000:]
    assert "1 expected non-pass, 0 regression(s)" in clean.stdout
    junit = ET.parse(tmp_path / "reports" / "gw__reference-1.junit.xml").getroot()
    case = next(tc for tc in junit.iter("testcase") if tc.get("name") == "errors.unknown_model")
    skipped = case.find("skipped")
    assert skipped is not None and "expected by baseline" in (skipped.get("message") or "")
    assert case.find("failure") is None

    regression = cli(*base, "--deviate", "accept_unknown_model", "--deviate", "no_metadata_echo", cwd=tmp_path)
    assert regression.returncode == 1, regression.stdout[-3000:]
    assert "REGRESSION parameters.metadata_echo" in regression.stdout

    stale = cli(*base, cwd=tmp_path)
    assert stale.returncode == 0, stale.stdout[-3000:]
    assert "UNEXPECTED PASS errors.unknown_model" in stale.stdout
    strict = cli(*base, "--strict", cwd=tmp_path)
    assert strict.returncode == 1 and "remove the stale entry" in strict.stdout

    missing = cli("run", "-q", "-k", "basic.text", "--baseline", "nope.yaml", cwd=tmp_path)
    assert missing.returncode == 2 and "nope.yaml:1: no such baseline file" in missing.stderr
    usage = cli("run", "-q", "--strict", cwd=tmp_path)
    assert usage.returncode == 2 and "--baseline" in usage.stderr


def doc(*cases: tuple[str, str, list[str]]) -> dict[str, object]:
    return {"schema_version": 1, "run": {"provider": "p", "model": "m"},
            "cases": [{"id": cid, "outcome": o, "message": "", "checks": [{"name": n, "outcome": "fail"} for n in checks]}
                      for cid, o, checks in cases]}


def test_diff_documents() -> None:
    old = doc(("a", "pass", []), ("b", "fail", ["x"]), ("c", "fail", ["x"]), ("d", "pass", []), ("gone", "pass", []))
    new = doc(("a", "fail", ["y"]), ("b", "pass", []), ("c", "fail", ["z"]), ("d", "error", []), ("new", "pass", []))
    d = diff_documents(old, new)
    assert [c.case_id for c in d.regressions] == ["a"] and [c.case_id for c in d.fixes] == ["b"]
    assert [c.case_id for c in d.failing_differently] == ["c"] and "newly failing: z" in d.failing_differently[0].detail
    assert [c.case_id for c in d.changed] == ["d"] and [c.case_id for c in d.added] == ["new"]
    assert [c.case_id for c in d.removed] == ["gone"]
    assert "REGRESSIONS (1)" in format_diff(d)


def test_diff_command_exit_codes(tmp_path: Path) -> None:
    from conformance.cli import main

    (tmp_path / "old.json").write_text(json.dumps(doc(("a", "pass", []))))
    (tmp_path / "new.json").write_text(json.dumps(doc(("a", "fail", ["x"]))))
    assert main(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 1
    assert main(["diff", str(tmp_path / "new.json"), str(tmp_path / "old.json")]) == 0
    assert main(["diff", str(tmp_path / "old.json"), str(tmp_path / "nope.json")]) == 2
