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


@dataclass(frozen=True)
class Finding:
    """One concrete problem a check found: where (JSON path / event index) and what."""

    message: str
    path: str = ""


@dataclass
class CheckResult:
    name: str
    outcome: Outcome
    message: str = ""
    spec_ref: str = ""
    step: str = ""
    severity: str = "error"
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "outcome": self.outcome.value,
            "message": self.message,
            "spec_ref": self.spec_ref,
            "step": self.step,
            "severity": self.severity,
            "findings": [{"message": f.message, "path": f.path} for f in self.findings],
        }
