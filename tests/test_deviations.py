"""Every check can fail, and nothing fails on valid traffic.

For each named check (automatic registry checks and case assertions alike) this file
names a reference-server deviation and a case under which that exact check must fail.
The undeviated server must pass every case, and so must every benign variant
(comments, CRLF, 1-byte chunks, ``id:``/``retry:`` lines, extra fields, ...).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance._verdict import Outcome
from conformance.cases import ASSERTIONS, Case, load_all
from conformance.checks import REGISTRY
from conformance.engine import CaseResult, judge, record_case
from conformance.recorder import Limits, Recorder, Target
from conformance.reference import DEVIATIONS, MODEL_NAME, VARIANTS, ReferenceServer

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-deviation-test-key-0001"

#: check or assertion name -> (deviation, case id) under which it must fail.
PROOFS: dict[str, tuple[str, str]] = {}

CASES: dict[str, Case] = {c.id: c for c in load_all(ROOT / "cases")}


def run_cases(cases: list[Case], deviations: tuple[str, ...] = (), variants: tuple[str, ...] = ()) -> list[CaseResult]:
    with ReferenceServer(api_key=KEY, deviations=deviations, variants=variants) as server:
        with Recorder(Target(server.base_url, MODEL_NAME, api_key=KEY), Limits(idle_timeout_s=10, deadline_s=30)) as rec:
            return [judge(record_case(case, rec)) for case in cases]


def _flagged(result: CaseResult, name: str) -> bool:
    """A check 'fails' when it has outcome fail, or (warning severity) reports findings."""
    return any(c.name == name and (c.outcome is Outcome.FAIL or (c.severity == "warning" and c.findings))
               for c in result.checks)


def test_every_check_and_assertion_has_a_deviation_proof() -> None:
    names = set(REGISTRY) | {f"expect.{a}" for a in ASSERTIONS}
    missing = sorted(names - set(PROOFS))
    assert not missing, f"checks without a deviation proving they can fail: {missing}"
    unknown = sorted(set(PROOFS) - names)
    assert not unknown, f"proofs for checks that do not exist: {unknown}"


@pytest.mark.parametrize("name", sorted(PROOFS))
def test_deviation_makes_check_fail(name: str) -> None:
    deviation, case_id = PROOFS[name]
    assert deviation in DEVIATIONS, f"unknown deviation {deviation}"
    (result,) = run_cases([CASES[case_id]], deviations=(deviation,))
    assert _flagged(result, name), (
        f"{name} did not fail under deviation {deviation} on case {case_id}; "
        f"outcome {result.outcome.value}: {result.message}; failing: {[c.name for c in result.failed_checks]}"
    )
    if REGISTRY.get(name, None) is None or REGISTRY[name].severity == "error":
        assert result.outcome is Outcome.FAIL


def test_undeviated_server_passes_every_case() -> None:
    results = run_cases(list(CASES.values()))
    bad = [(r.case.id, r.outcome.value, r.message) for r in results if r.outcome is not Outcome.PASS]
    assert not bad
    warnings = [(r.case.id, c.name, c.message) for r in results for c in r.checks if c.findings]
    assert not warnings


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_benign_variant_passes_every_case(variant: str) -> None:
    results = run_cases(list(CASES.values()), variants=(variant,))
    bad = [(r.case.id, r.outcome.value, r.message) for r in results if r.outcome is not Outcome.PASS]
    assert not bad
