"""Map a case's ``group`` onto the matrix's feature areas.

Cases are grouped by whoever writes them (``basic``, ``tools``, ``state`` ...); readers of a
comparison want the spec's areas. Unknown groups keep their own name as an area, after the
known ones, so a new group never disappears from the matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

AREAS: tuple[tuple[str, str], ...] = (
    ("parameters", "Parameters"),
    ("input", "Input items"),
    ("output", "Output items"),
    ("streaming", "Streaming events"),
    ("endpoints", "Endpoints"),
    ("errors", "Errors"),
    ("sdk", "Official SDK"),
    ("extensions", "Extensions"),
    ("fuzz", "Request fuzzing"),
)
AREA_TITLES = dict(AREAS)
# not spec conformance: vendor extensions, and whether the official SDK copes (reported separately); the request
# fuzzer's findings depend on its seed and example count, so they are reported, never scored (docs/fuzz.md)
EXCLUDED_FROM_SCORE = frozenset({"extensions", "sdk", "fuzz"})

#: every case group (the ``group`` enum of case.schema.json, ``conformance.cases.GROUPS``) and the fuzzer's results
#: group (``conformance/fuzz/runner.py``), each with its area; tests/test_judge_layout.py keeps them in step
GROUP_AREAS: Mapping[str, str] = {
    "basic": "output", "input": "input", "parameters": "parameters", "tools": "output",
    "structured_output": "parameters", "state": "endpoints", "endpoints": "endpoints", "streaming": "streaming",
    "errors": "errors", "extensions": "extensions", "sdk": "sdk",
    "fuzz": "fuzz",
}


def area_of(case: Mapping[str, Any]) -> str:
    """An explicit ``area`` field wins; else the group is mapped (an unknown group is its own area)."""
    explicit = case.get("area")
    if isinstance(explicit, str) and explicit:
        return explicit
    group = str(case.get("group") or "other").lower()
    return GROUP_AREAS.get(group, group)


def area_title(area: str) -> str:
    return AREA_TITLES.get(area, area.replace("_", " ").capitalize())


def area_order(area: str) -> tuple[int, str]:
    keys = [a for a, _ in AREAS]
    # unknown areas sort before sdk and extensions (always last: they are not scored)
    if area in keys:
        idx = keys.index(area)
        return (1000 + idx if area in EXCLUDED_FROM_SCORE else idx, area)
    return (len(keys), area)


__all__ = ["AREAS", "EXCLUDED_FROM_SCORE", "area_of", "area_order", "area_title"]
