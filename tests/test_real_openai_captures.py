"""Replaying ../shared/real-openai (229 genuine api.openai.com captures) with their requests: rules the real API
meets raise nothing (each fix of a false alarm found there keeps a test here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.judge.offline import judge_capture_dir

REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "real-openai"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real-openai is absent")


@pytest.fixture(scope="module")
def judged() -> list:
    return judge_capture_dir(REAL, spec_as_of_capture=True)


def _findings(judged: list, check: str) -> list[tuple[str, str, str]]:
    return [(c.id, f.path, f.message) for c in judged for d in c.documents for r in d.results if r.name == check
            for f in r.findings]


def test_every_capture_is_read(judged: list) -> None:
    assert len(judged) == 229 and not [c.id for c in judged if c.problem]


def test_deferred_functions_loaded_by_tool_search_count_as_echoed(judged: list) -> None:
    """OpenAI echoes a function that tool search loaded inside a namespace-like tool entry: not a missing tool."""
    tools = [f for f in _findings(judged, "response.echo") if f[1].endswith(".tools")]
    assert not tools
    # the captures that showed the false alarm are judged (with their requests) and do declare the functions
    ids = {c.id for c in judged}
    assert "pydantic-ai/test_openai_promotes_local_search_history_round_trip__0" in ids
