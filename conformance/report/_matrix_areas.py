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
    ("statuses", "Statuses"),
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

GROUP_AREAS: Mapping[str, str] = {
    "parameters": "parameters", "params": "parameters", "structured_output": "parameters", "sampling": "parameters",
    "input": "input", "input_items": "input", "inputs": "input",
    "output": "output", "output_items": "output", "basic": "output", "tools": "output", "function_calling": "output",
    "status": "statuses", "statuses": "statuses", "lifecycle": "statuses", "background": "statuses",
    "streaming": "streaming", "stream": "streaming", "events": "streaming", "streaming_events": "streaming",
    "endpoints": "endpoints", "state": "endpoints", "conversation": "endpoints", "compaction": "endpoints",
    "errors": "errors", "error": "errors", "auth": "errors",
    "extensions": "extensions", "extension": "extensions", "openresponses": "extensions",
    "sdk": "sdk",
    "fuzz": "fuzz",
}


def area_of(case: Mapping[str, Any]) -> str:
    """An explicit ``area`` field wins; else the group (or its prefix before ``.``/``/``) is mapped."""
    explicit = case.get("area")
    if isinstance(explicit, str) and explicit:
        return explicit
    group = str(case.get("group") or "other").lower()
    for candidate in (group, group.split(".")[0], group.split("/")[0], group.split("_")[0]):
        if candidate in GROUP_AREAS:
            return GROUP_AREAS[candidate]
    return group


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
