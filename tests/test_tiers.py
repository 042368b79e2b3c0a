"""The tier rules of tests/conftest.py: one tier per test, the heavy ones found, the SLOW list current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import SLOW, TIERS

HERE = Path(__file__).resolve().parent


def test_every_slow_entry_names_a_test_that_exists() -> None:
    """A renamed test must not quietly rejoin the inner loop (nor a stale name linger)."""
    for entry in sorted(SLOW):
        module, _, function = entry.partition("::")
        source = (HERE / module).read_text(encoding="utf-8")
        assert re.search(rf"^def {re.escape(function)}\(", source, re.M), f"tests/conftest.py SLOW: {entry} is gone"


def test_this_test_is_unit_and_carries_exactly_one_tier(request: pytest.FixtureRequest) -> None:
    assert [m.name for m in request.node.iter_markers() if m.name in TIERS] == ["unit"]


def _spawn() -> None:
    import subprocess

    subprocess.run(["true"], check=False)


def _calls_spawn() -> None:
    _spawn()


def _pure() -> None:
    assert sorted([2, 1]) == [1, 2]


def test_what_reaches_a_process_is_end_to_end_through_helpers() -> None:
    from tests.conftest import _heavy_objects, _is_heavy

    heavy = _heavy_objects()
    assert _is_heavy(_spawn, heavy, set())
    assert _is_heavy(_calls_spawn, heavy, set())  # one module helper away
    assert not _is_heavy(_pure, heavy, set())
