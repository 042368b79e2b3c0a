"""The console summary printed at the end of a run: distinct deviations first, then the per-feature table.

A deviation is a finding counted once however many cases it touches (conformance/report/findings.py), so the
reader sees at once whether forty red cases are forty problems or one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..record._redact import inert
from ._matrix_areas import EXCLUDED_FROM_SCORE, area_of
from .findings import describe, distinct_findings

if TYPE_CHECKING:  # the engine imports the recorders (httpx...): `judge` and the matrix need none of them
    from ..run.engine import CaseResult

OUTCOMES = ("pass", "fail", "unsupported", "error", "skipped")
SYMBOLS = {"pass": "✓", "fail": "✗", "unsupported": "∅", "error": "!", "skipped": "-"}


#: distinct findings listed per severity before "... and N more"
MAX_LISTED = {"fail": 25, "warning": 15, "note": 5}


def format_deviations(results: Iterable[CaseResult]) -> list[str]:
    """Distinct deviations (fail), then warnings and notes, each with the cases it touches.

    Findings quote the server, so every line is made :func:`inert` (no terminal control sequences)."""
    entries = [{"id": r.case.id, "checks": [c.to_dict() for c in r.checks]} for r in results
               if not _excluded(r.case.group)]
    found = distinct_findings(entries)
    lines: list[str] = []
    titles = {"fail": "distinct deviations (fail: breaks a stated rule; scored groups, as the matrix counts them)",
              "warning": "warnings (not counted: what OpenAI does but nothing documents, or OpenAI does not meet either)",
              "note": "notes (requirements newer than --spec-as-of)"}
    for severity, title in titles.items():
        group = [f for f in found if f["severity"] == severity]
        if not group and severity != "fail":
            continue
        lines.append(f"{len(group)} {title}")
        for f in group[: MAX_LISTED[severity]]:
            cases = f["cases"]
            lines.append(f"  {SEVERITY_SYMBOLS[severity]} {describe(f)}")
            lines.append(f"      {len(cases)} case(s), first {f['first_seen']}" + (f" +{len(cases) - 1} more" if len(cases) > 1 else ""))
        if len(group) > MAX_LISTED[severity]:
            lines.append(f"  ... and {len(group) - MAX_LISTED[severity]} more (results JSON: findings)")
        lines.append("")
    return [inert(line) for line in lines]


SEVERITY_SYMBOLS = {"fail": "✗", "warning": "△", "note": "·"}


def format_summary(results: Iterable[CaseResult]) -> str:
    """The console summary; server text in it (messages, case ids) is made :func:`inert`."""
    results = list(results)
    by_group: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
    problems: list[str] = []
    for result in results:
        by_group[result.case.group][result.outcome.value] += 1
        if result.outcome.value in ("fail", "error", "unsupported"):
            problems.append(f"  {SYMBOLS[result.outcome.value]} {result.outcome.value:<11} {result.case.id}: {result.message[:160]}")
    width = max([len(g) for g in by_group] + [7])
    lead = format_deviations(results)
    header = f"{'feature':<{width}}  " + "  ".join(f"{o:>11}" for o in OUTCOMES) + "   score"
    lines = lead + [header, "-" * len(header)]
    totals = dict.fromkeys(OUTCOMES, 0)
    scored = dict.fromkeys(OUTCOMES, 0)  # the matrix's score: extensions, the sdk and fuzz groups left out
    for group in sorted(by_group):
        counts = by_group[group]
        excluded = _excluded(group)
        for k in OUTCOMES:
            totals[k] += counts[k]
            scored[k] += 0 if excluded else counts[k]
        lines.append(f"{group:<{width}}  " + "  ".join(f"{counts[o]:>11}" for o in OUTCOMES)
                     + f"   {_score(counts)}" + (" (not scored)" if excluded else ""))
    lines.append("-" * len(header))
    lines.append(f"{'total':<{width}}  " + "  ".join(f"{totals[o]:>11}" for o in OUTCOMES)
                 + f"   {_score(scored)} (scored groups)")
    if problems:
        lines.append("")
        lines.extend(problems)
    return inert("\n".join(lines))


def _excluded(group: str) -> bool:
    """Groups the score leaves out, as the matrix does (report/_matrix_areas.py)."""
    return area_of({"group": group}) in EXCLUDED_FROM_SCORE


def _score(counts: dict[str, int]) -> str:
    """Conformance score: passes over judged cases (unsupported, error and skipped are not judged)."""
    judged = counts["pass"] + counts["fail"]
    return f"{100.0 * counts['pass'] / judged:5.1f}%" if judged else "    -"
