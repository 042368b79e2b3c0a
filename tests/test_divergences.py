"""Known api.openai.com divergences (conformance/judge/basis/divergences.yaml): each entry is backed by its evidence,
matches it, and turns the finding into a warning that says so; --spec-strict restores the letter of the spec.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance._verdict import Outcome
from conformance.cases import load_all
from conformance.judge import offline
from conformance.judge.basis import JudgePolicy, classify_result
from conformance.judge.basis.divergences import Divergence, divergences, match
from conformance.record.http import Limits
from conformance.run.engine import judge, record_case
from conformance.suite import CASES_DIR
from tests._helpers import reference_recorder

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "real-openai"
FIXTURES = ROOT / "tests" / "fixtures" / "real"
ENTRIES = divergences()


def _manifest() -> dict[str, dict]:
    if not (REAL / "manifest.json").is_file():
        return {}
    return {c["id"]: c for c in json.loads((REAL / "manifest.json").read_text())["captures"]}


def _evidence_file(div: Divergence, index: int) -> Path | None:
    ev = div.evidence[index]
    if ev.fixture:
        return FIXTURES / ev.fixture
    if ev.capture:
        capture = _manifest().get(ev.capture)
        if capture is None:
            pytest.skip("../shared/real-openai is not beside the checkout")
        return REAL / capture["files"]["body"]
    return None


def test_every_entry_is_well_formed() -> None:
    ids = [d.id for d in ENTRIES]
    assert len(ids) == len(set(ids)) and len(ids) >= 8
    for div in ENTRIES:
        assert div.summary and (div.rule or div.path or div.message), div.id
        assert div.evidence, f"{div.id}: no evidence"
        for ev in div.evidence:
            assert sum(bool(x) for x in (ev.capture, ev.fixture, ev.report)) == 1, div.id
            assert ev.date[:2] == "20", f"{div.id}: evidence without a date"
            assert not ev.report or ev.report.startswith("https://"), div.id


CAPTURED = [(d, i) for d in ENTRIES for i, e in enumerate(d.evidence) if not e.report]


@pytest.mark.parametrize(("div", "index"), CAPTURED, ids=[f"{d.id}-{i}" for d, i in CAPTURED])
def test_entry_matches_its_evidence(div: Divergence, index: int) -> None:
    """Replayed, the capture shows the finding; by default it is a warning naming the entry, strictly a fail."""
    path = _evidence_file(div, index)
    assert path is not None and path.is_file(), path
    ev = div.evidence[index]
    if ev.capture:
        assert _manifest()[ev.capture]["capture_date"][:10] == ev.date, "evidence date differs from the manifest"
    strict = JudgePolicy(spec_strict=True)
    matched = []
    for doc in offline.judge_file(path):
        for result in doc.results:
            for finding in result.findings:
                if match(result.name, finding) is div:
                    matched.append((result, finding))
    assert matched, f"{div.id}: no finding in {path.name} matches the entry any more"
    for result, finding in matched:
        assert finding.severity == "warning" and div.id in finding.note
        assert "api.openai.com does not meet this requirement either" in finding.note
        again = classify_result(result, strict)
        assert any(f.severity == "fail" and "--spec-strict" in f.note for f in again.findings if match(result.name, f) is div)


def _run_case(case_id: str, deviation: str, policy: JudgePolicy) -> object:
    case = {c.id: c for c in load_all(CASES_DIR)}[case_id]
    with reference_recorder("sk-divergence", Limits(10, 30), deviations=(deviation,)) as rec:
        return judge(record_case(case, rec), policy=policy)


def test_a_server_that_copies_openai_warns_by_default_and_fails_with_spec_strict() -> None:
    lenient = _run_case("streaming.function_call", "function_args_done_without_name", JudgePolicy())
    assert lenient.outcome is Outcome.PASS
    notes = [f.note for c in lenient.checks for f in c.findings if f.severity == "warning"]
    assert any("function_call_arguments_done_name" in n for n in notes), notes
    strict = _run_case("streaming.function_call", "function_args_done_without_name", JudgePolicy(spec_strict=True))
    assert strict.outcome is Outcome.FAIL
    assert "stream.event_schema" in [c.name for c in strict.failed_checks]
