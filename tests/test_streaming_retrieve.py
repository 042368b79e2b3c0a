"""Streamed retrieve (``GET /responses/{id}?stream=true``) and resumption with ``starting_after``."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance._verdict import Outcome
from conformance.cases import load_all
from conformance.record.http import Limits
from conformance.run.engine import judge, record_case
from conformance.suite import CASES_DIR
from tests._helpers import reference_recorder

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-retrieve-test-key-0001"
CASES = {c.id: c for c in load_all(CASES_DIR) if c.id.startswith("streaming.retrieve_")}


def _run(case_id: str, deviations: tuple[str, ...] = (), variants: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    with reference_recorder(KEY, Limits(idle_timeout_s=5, deadline_s=20), deviations=deviations, variants=variants) as rec:
        return judge(record_case(CASES[case_id], rec))


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_replays_pass_and_are_judged_as_streams(case_id: str) -> None:
    result = _run(case_id)
    assert result.outcome is Outcome.PASS, result.message
    replay = result.exchanges[-1]
    assert replay.request.method == "GET" and replay.events
    judged = {c.name for c in result.checks if c.step == replay.step}
    assert {"stream.lifecycle", "stream.sequence_contiguous", "stream.text_accumulation"} <= judged


def test_resume_that_ignores_starting_after_fails() -> None:
    result = _run("streaming.retrieve_starting_after", deviations=("replay_ignores_starting_after",))
    assert result.outcome is Outcome.FAIL
    assert {c.name for c in result.failed_checks} >= {"expect.events", "expect.json"}
    warned = [c for c in result.checks if c.name == "stream.sequence_contiguous" and c.findings]
    assert warned and "starting_after=2" in warned[0].message


def test_replay_deviation_of_stream_rules_is_caught() -> None:
    result = _run("streaming.retrieve_replay", deviations=("delta_text_mismatch",))
    assert any(c.name == "stream.text_accumulation" and c.step == "replay" for c in result.failed_checks)
