"""What changed between two runs (results files): regressions, fixes, and everything else.

The question after a provider deploy or a suite upgrade is "what moved?", not "what is
the score?". A regression is a case that did not fail before and fails now; the command
exits 1 when there is one, so it can gate CI on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .matrix import read_results


@dataclass(frozen=True)
class Change:
    case_id: str
    old: str | None  # None: the case did not exist in the old run
    new: str | None
    detail: str = ""


@dataclass
class RunDiff:
    old_label: str
    new_label: str
    regressions: list[Change] = field(default_factory=list)
    fixes: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    failing_differently: list[Change] = field(default_factory=list)
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    unchanged: int = 0

    @property
    def has_regressions(self) -> bool:
        return bool(self.regressions)


def _failed_checks(case: Mapping[str, Any]) -> set[str]:
    return {str(c.get("name")) for c in case.get("checks") or [] if isinstance(c, Mapping) and c.get("outcome") == "fail"}


def _label(doc: Mapping[str, Any], path: str) -> str:
    run = doc.get("run", {})
    return f"{run.get('provider')}/{run.get('model')} ({path}, {run.get('finished_at', '?')})"


def diff_documents(old: Mapping[str, Any], new: Mapping[str, Any], old_name: str = "old", new_name: str = "new") -> RunDiff:
    old_cases = {c["id"]: c for c in old.get("cases", [])}
    new_cases = {c["id"]: c for c in new.get("cases", [])}
    out = RunDiff(_label(old, old_name), _label(new, new_name))
    for cid, case in new_cases.items():
        now = case["outcome"]
        before_case = old_cases.get(cid)
        if before_case is None:
            change = Change(cid, None, now, case.get("message", ""))
            (out.regressions if now == "fail" else out.added).append(change)
            continue
        before = before_case["outcome"]
        if before == now:
            if now == "fail" and _failed_checks(before_case) != _failed_checks(case):
                gone = sorted(_failed_checks(before_case) - _failed_checks(case))
                came = sorted(_failed_checks(case) - _failed_checks(before_case))
                detail = "; ".join(p for p in (f"newly failing: {', '.join(came)}" if came else "",
                                               f"no longer failing: {', '.join(gone)}" if gone else "") if p)
                out.failing_differently.append(Change(cid, before, now, detail))
            else:
                out.unchanged += 1
        elif now == "fail":
            out.regressions.append(Change(cid, before, now, case.get("message", "")))
        elif before == "fail" and now == "pass":
            out.fixes.append(Change(cid, before, now))
        else:
            out.changed.append(Change(cid, before, now, case.get("message", "")))
    for cid, case in old_cases.items():
        if cid not in new_cases:
            out.removed.append(Change(cid, case["outcome"], None))
    return out


def diff_files(old: Path, new: Path) -> RunDiff:
    return diff_documents(read_results(old), read_results(new), str(old), str(new))


def format_diff(d: RunDiff) -> str:
    lines = [f"old: {d.old_label}", f"new: {d.new_label}"]

    def section(title: str, changes: list[Change], mark: str) -> None:
        if not changes:
            return
        lines.append(f"{title} ({len(changes)}):")
        for c in sorted(changes, key=lambda c: c.case_id):
            detail = " ".join(c.detail.split())[:200]
            lines.append(f"  {mark} {c.case_id}: {c.old or '(new case)'} -> {c.new or '(removed)'}" + (f"  {detail}" if detail else ""))

    section("REGRESSIONS", d.regressions, "\u2717")
    section("fixed", d.fixes, "\u2713")
    section("still failing, different checks", d.failing_differently, "~")
    section("other changes", d.changed, "~")
    section("new cases", d.added, "+")
    section("removed cases", d.removed, "-")
    lines.append(f"{len(d.regressions)} regression(s), {len(d.fixes)} fixed, "
                 f"{len(d.changed) + len(d.failing_differently)} other change(s), {len(d.added)} new, "
                 f"{len(d.removed)} removed, {d.unchanged} unchanged")
    return "\n".join(lines)


__all__ = ["Change", "RunDiff", "diff_documents", "diff_files", "format_diff"]
