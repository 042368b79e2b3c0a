"""The most common failing findings of each matrix column: what explains most of a provider's failures.

A buyer reading a column of red cells needs to know whether that is one deviation repeated (a field the
spec requires on every Response) or many; the per-cell evidence answers it only cell by cell. Findings
are grouped by check name and finding path with indices and ids normalised (``output[3]`` ->
``output[*]``), and counted once per case. Server text stays data: the caller escapes it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

_INDEX = re.compile(r"\[\d+\]")
_IDS = re.compile(r"\b(resp|msg|fc|call|item|rs|ws|ci|ig|mcp|tsc|tso|prg|po)_[A-Za-z0-9_=-]{6,}")


def _key(check: Mapping[str, Any], finding: Mapping[str, Any]) -> str:
    path = _INDEX.sub("[*]", str(finding.get("path") or ""))
    message = _IDS.sub(r"\1_…", _INDEX.sub("[*]", str(finding.get("message") or "")))
    return f"{check.get('name')}: {path + ' ' if path else ''}{message}"[:300]


def top_findings(cases: Iterable[Mapping[str, Any]], limit: int = 8) -> list[tuple[str, int]]:
    """The ``limit`` most frequent failing findings of these result cases: ``(finding, number of cases)``."""
    seen: dict[str, set[str]] = defaultdict(set)
    for case in cases:
        if case.get("outcome") != "fail":
            continue
        for check in case.get("checks") or []:
            if not isinstance(check, Mapping) or check.get("outcome") != "fail":
                continue
            findings = [f for f in check.get("findings") or [] if isinstance(f, Mapping)]
            for finding in findings or [{"message": check.get("message", "")}]:
                seen[_key(check, finding)].add(str(case.get("id")))
    ranked = sorted(seen.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [(key, len(ids)) for key, ids in ranked[:limit]]


__all__ = ["top_findings"]
