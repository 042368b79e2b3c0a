"""Verdict vocabulary: outcomes, findings, and per-check / per-case results.

Outcomes are not booleans: infrastructure trouble (``error``) and a provider clearly
declining a feature (``unsupported``) must never be confused with non-conformance (``fail``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Outcome(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    UNSUPPORTED = "unsupported"
    ERROR = "error"
    SKIPPED = "skipped"

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


# Severity of a check: "error" findings fail the case; "warning" findings are reported
# (outcome "pass" with a warning note) but do not fail it.
SEVERITIES = ("error", "warning")

#: What a finding rests on (docs/verdicts.md). Only the first four can make a ``fail``: they are rules the spec
#: or OpenAI's published API documentation states. ``observed`` is what api.openai.com does but nothing
#: documents (400 rather than 422, exact error ``type``/``code`` strings, event repetitions): a warning.
BASES = ("schema", "event-contract", "error-class", "documented", "observed")

#: Per-finding severity after the run's policy (conformance/judge/basis): ``fail`` counts against conformance;
#: ``warning`` is shown everywhere but kept out of the score and of baseline gating; ``note`` is information
#: (a requirement newer than ``--spec-as-of``).
FINDING_SEVERITIES = ("fail", "warning", "note")

#: ``kind`` of a finding that only says how many more were not shown: it is no deviation of its own
TRUNCATED = "truncated"


@dataclass(frozen=True)
class Finding:
    """One concrete problem a check found: where (JSON path / event index) and what.

    ``kind`` and ``rule`` make the finding's stable key (conformance/judge/basis/keys.py): ``kind`` is a short class
    of problem (``missing``, ``null``, ``type``, ``enum``...), ``rule`` the requirement broken when it is a schema
    rule (``ResponseUsage.input_tokens_details:required:cache_write_tokens``), so one root cause seen by several
    checks is one deviation. ``basis`` overrides the check's basis for this finding. ``severity``, ``note`` and
    ``key`` are filled in by the run's policy (conformance/judge/basis/classify.py), never by a check.
    """

    message: str
    path: str = ""
    kind: str = ""
    rule: str = ""
    basis: str = ""
    severity: str = ""
    note: str = ""
    key: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "path": self.path}
        for name in ("kind", "rule", "basis", "severity", "note", "key"):
            value = getattr(self, name)
            if value:
                out[name] = value
        return out


@dataclass
class CheckResult:
    name: str
    outcome: Outcome
    message: str = ""
    spec_ref: str = ""
    step: str = ""
    severity: str = "error"
    findings: list[Finding] = field(default_factory=list)
    basis: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "outcome": self.outcome.value,
            "message": self.message,
            "spec_ref": self.spec_ref,
            "step": self.step,
            "severity": self.severity,
            "basis": self.basis,
            "findings": [f.to_dict() for f in self.findings],
        }
