"""Distinct deviations: the findings of a run grouped by their stable key, the unit every report leads with.

One missing usage field that fails every case is one deviation touching 200 cases, not 200 red cells to read.
Works on results entries (plain dicts, as written to the results JSON), so the console, the results file,
JUnit and the matrix (which reads results files from any machine) all group the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._verdict import FINDING_SEVERITIES, TRUNCATED, Finding
from ..judge.basis import finding_key, normalise_path

#: worst first: the order distinct findings are listed in
SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(FINDING_SEVERITIES)}


def _key_of(check: Mapping[str, Any], finding: Mapping[str, Any]) -> str:
    key = finding.get("key")
    if isinstance(key, str) and key:
        return key
    # results written before findings carried keys: derive the same way
    return finding_key(str(check.get("name", "")), Finding(str(finding.get("message", "")), str(finding.get("path", "")),
                                                          str(finding.get("kind", "")), str(finding.get("rule", ""))))


def _severity_of(check: Mapping[str, Any], finding: Mapping[str, Any]) -> str:
    sev = finding.get("severity")
    if sev in SEVERITY_ORDER:
        return str(sev)
    return "fail" if check.get("outcome") == "fail" else "warning"


def distinct_findings(cases: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every distinct finding of these results entries, worst and most widespread first.

    Each: ``key``, ``severity`` (fail, warning, note), ``basis``, ``checks``, ``path`` (normalised),
    ``message`` and ``note`` of its first occurrence, ``rule``, ``cases`` (ids, run order), ``first_seen``
    (the first case) and ``evidence`` (``{"case", "step"}`` of that occurrence, for a link).
    """
    groups: dict[str, dict[str, Any]] = {}
    for case in cases:
        cid = str(case.get("id", ""))
        for check in case.get("checks") or []:
            if not isinstance(check, Mapping) or check.get("outcome") not in ("fail", "pass"):
                continue
            findings = [f for f in check.get("findings") or [] if isinstance(f, Mapping)]
            if not findings and check.get("outcome") == "fail":  # an engine problem without findings
                findings = [{"message": check.get("message", ""), "severity": "fail"}]
            for finding in findings:
                if finding.get("kind") == TRUNCATED:  # "N more not shown": the shown ones are the deviations
                    continue
                severity = _severity_of(check, finding)
                if check.get("outcome") == "pass" and severity == "fail":
                    continue  # not reachable for classified results; guards hand-written files
                key = _key_of(check, finding)
                group = groups.get(key)
                if group is None:
                    group = groups[key] = {
                        "key": key, "severity": severity, "basis": finding.get("basis") or check.get("basis") or "",
                        "checks": [], "path": normalise_path(str(finding.get("path") or "")),
                        "message": str(finding.get("message", "")), "note": str(finding.get("note") or ""),
                        "rule": str(finding.get("rule") or ""), "cases": [], "first_seen": cid,
                        "evidence": {"case": cid, "step": str(check.get("step", ""))},
                    }
                elif SEVERITY_ORDER[severity] < SEVERITY_ORDER[group["severity"]]:
                    group["severity"] = severity
                if check.get("name") not in group["checks"]:
                    group["checks"].append(str(check.get("name")))
                if cid not in group["cases"]:
                    group["cases"].append(cid)
    ranked = sorted(groups.values(), key=lambda g: (SEVERITY_ORDER[g["severity"]], -len(g["cases"]), g["key"]))
    return ranked


def deviation_counts(findings: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITY_ORDER, 0)
    for f in findings:
        counts[str(f.get("severity"))] = counts.get(str(f.get("severity")), 0) + 1
    return counts


def describe(finding: Mapping[str, Any], limit: int = 200) -> str:
    """One line: ``[basis] check path: message (note)`` with server text cut to ``limit`` characters."""
    checks = ", ".join(finding.get("checks") or [])
    where = f" {finding['path']}" if finding.get("path") else ""
    text = f"[{finding.get('basis') or '?'}] {checks}{where}: {finding.get('message', '')}"
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    note = str(finding.get("note") or "")
    return text + (f" ({note[:200]})" if note else "")


__all__ = ["deviation_counts", "describe", "distinct_findings"]
