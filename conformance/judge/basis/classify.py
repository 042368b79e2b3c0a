"""Turn a check's raw findings into verdicts under the run's policy: the one place a finding's severity is set.

basis ``observed`` -> warning (``--strict-behaviour``: fail); a known api.openai.com divergence -> warning
(``--spec-strict``: fail); a requirement first stated after ``--spec-as-of`` -> note; everything else rests
on a stated rule and fails. A requirement newer than the oldest spec snapshot says since when it holds.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from ..._verdict import TRUNCATED, CheckResult, Finding, Outcome
from . import dates, divergences
from .keys import finding_key, normalise_path
from .policy import JudgePolicy

DEFAULT_POLICY = JudgePolicy()
SEVERITY_RANK = {"fail": 0, "warning": 1, "note": 2}


def classify(check: str, basis: str, finding: Finding, policy: JudgePolicy = DEFAULT_POLICY) -> Finding:
    """``finding`` with ``severity``, ``note``, ``key`` and ``basis`` set (idempotent: re-classifying under another
    policy starts again from the check's facts)."""
    basis = finding.basis or basis or "schema"
    notes: list[str] = []
    severity = "fail"
    if basis == "observed":
        severity = "fail" if policy.strict_behaviour else "warning"
        notes.append("what api.openai.com does, not a documented rule" + (" (--strict-behaviour)" if policy.strict_behaviour else ""))
    else:
        div = _divergence(check, finding.rule, normalise_path(finding.path), finding.message, finding.kind)
        if div is not None:
            if policy.spec_strict:
                notes.append(f"api.openai.com does not meet this requirement either ({div.id}); failed by --spec-strict")
            else:
                severity = "warning"
                notes.append(f"api.openai.com does not meet this requirement either ({div.id}: {div.summary})")
    since = dates.requirement_since(finding.rule)
    if since is not None:
        stated = dates.describe(finding.rule) or f"required since {since}"
        if policy.spec_as_of is not None and since > policy.spec_as_of.isoformat():
            # not yet a requirement on that date: whatever else is said of it, it is information only
            severity = "note"
            notes.insert(0, f"{stated}, after --spec-as-of {policy.spec_as_of.isoformat()}")
        else:
            notes.append(stated)
    key = _key(check, finding.rule, normalise_path(finding.path), finding.message, finding.kind)
    return replace(finding, basis=basis, severity=severity, note="; ".join(notes), key=key)


# The divergence and the key of a finding depend on these facts alone (the path with its indices blanked:
# both only see it so), so the thousands of repeats of one deviation in a long stream are looked up once.
@lru_cache(maxsize=4096)
def _divergence(check: str, rule: str, path: str, message: str, kind: str) -> divergences.Divergence | None:
    return divergences.match(check, Finding(message, path, kind=kind, rule=rule))


@lru_cache(maxsize=4096)
def _key(check: str, rule: str, path: str, message: str, kind: str) -> str:
    return finding_key(check, Finding(message, path, kind=kind, rule=rule))


def classify_result(result: CheckResult, policy: JudgePolicy = DEFAULT_POLICY) -> CheckResult:
    """Re-derive a check result's outcome from its classified findings (results without findings are kept).

    A ``truncated`` finding ("N more not shown") is no deviation of its own: it takes the worst severity of the
    findings it follows, so counting the rest never turns a warning into a failure."""
    if not result.findings or result.outcome not in (Outcome.FAIL, Outcome.PASS):
        return result
    findings = [classify(result.name, result.basis, f, policy) for f in result.findings]
    shown = [f.severity for f in findings if f.kind != TRUNCATED]
    if shown:
        worst = min(shown, key=SEVERITY_RANK.__getitem__)
        findings = [replace(f, severity=worst) if f.kind == TRUNCATED else f for f in findings]
    severities = {f.severity for f in findings}
    outcome = Outcome.FAIL if "fail" in severities else Outcome.PASS
    severity = "error" if "fail" in severities else "warning" if "warning" in severities else "note"
    return replace(result, outcome=outcome, severity=severity, findings=findings)
