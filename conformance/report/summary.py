"""The per-feature console summary printed at the end of a run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ..engine import CaseResult

OUTCOMES = ("pass", "fail", "unsupported", "error", "skipped")
SYMBOLS = {"pass": "✓", "fail": "✗", "unsupported": "∅", "error": "!", "skipped": "-"}


def format_summary(results: Iterable[CaseResult]) -> str:
    by_group: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
    problems: list[str] = []
    for result in results:
        by_group[result.case.group][result.outcome.value] += 1
        if result.outcome.value in ("fail", "error", "unsupported"):
            problems.append(f"  {SYMBOLS[result.outcome.value]} {result.outcome.value:<11} {result.case.id}: {result.message[:160]}")
    width = max([len(g) for g in by_group] + [7])
    header = f"{'feature':<{width}}  " + "  ".join(f"{o:>11}" for o in OUTCOMES) + "   score"
    lines = [header, "-" * len(header)]
    totals = dict.fromkeys(OUTCOMES, 0)
    for group in sorted(by_group):
        counts = by_group[group]
        for k in OUTCOMES:
            totals[k] += counts[k]
        lines.append(f"{group:<{width}}  " + "  ".join(f"{counts[o]:>11}" for o in OUTCOMES) + f"   {_score(counts)}")
    lines.append("-" * len(header))
    lines.append(f"{'total':<{width}}  " + "  ".join(f"{totals[o]:>11}" for o in OUTCOMES) + f"   {_score(totals)}")
    if problems:
        lines.append("")
        lines.extend(problems)
    return "\n".join(lines)


def _score(counts: dict[str, int]) -> str:
    """Conformance score: passes over judged cases (unsupported, error and skipped are not judged)."""
    judged = counts["pass"] + counts["fail"]
    return f"{100.0 * counts['pass'] / judged:5.1f}%" if judged else "    -"
