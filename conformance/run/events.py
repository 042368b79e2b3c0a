"""What the engine tells its subscribers: a run started, a case finished, the run finished.

Why events: the console, the results JSON, JUnit, the HTML page and the matrix input each want the same
facts at the same moments; the engine emits them once and knows nothing of who listens (schemathesis's
engine events feeding separate reporters). A reporter is any object with ``handle(event)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..cases import Case
    from ..record.http import Target
    from .baseline import Expectation, Gate
    from .engine import CaseResult

__all__ = ["CaseFinished", "CaseStatus", "Event", "RunFinished", "RunNotice", "RunStarted", "Subscriber"]

#: how a case's result counts once the baseline is applied: JUnit's and pytest's vocabulary
PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"


@dataclass(frozen=True)
class CaseStatus:
    """A result after gating: ``passed``/``failed``/``error``/``skipped`` and the one line that says why.

    ``error`` is inconclusive (never a conformance failure); a result the baseline expects is ``skipped``."""

    kind: str
    message: str = ""
    baseline: str = ""  # how the result compares with the baseline ('' without one): conformance/run/baseline.py


@dataclass(frozen=True)
class RunStarted:
    """Before the first case is sent (the probe preflight may follow)."""

    target: Target
    embedded: bool
    cases: tuple[Case, ...]  # selected, in run order
    bound: str  # the worst-case output tokens line (conformance/run/cost.py)


@dataclass(frozen=True)
class RunNotice:
    """One line to say before the cases, once the probe preflight has answered (a model that reasons by default:
    conformance/run/probes.py ``ProbePreflight.advisory``)."""

    line: str


@dataclass(frozen=True)
class CaseFinished:
    """One case judged (or skipped): its result, with the evidence, and how it counts."""

    result: CaseResult
    status: CaseStatus
    expected: Expectation | None = None


@dataclass
class RunFinished:
    """The run is over (complete, limited or interrupted); the session is still open while reporters write."""

    results: list[CaseResult]
    document: dict[str, Any]  # the results JSON (conformance/report/results.py)
    statuses: dict[str, CaseStatus]
    target: Target
    embedded: bool
    json_path: Path
    notices: list[str] = field(default_factory=list)  # said once, at the top of the summary
    #: the verdict against the baseline (None without one); after --update-baseline, against the file as
    #: rewritten (``gate.before``: against the old one, ``gate.updated_to``: what was written)
    gate: Gate | None = None
    interrupted: bool = False
    #: report files written so far, by reporters that write one (JSON, JUnit, HTML), in order
    written: list[Path] = field(default_factory=list)
    #: results shown but kept out of the verdict: fuzz findings without --fuzz-gate (conformance/fuzz)
    ungated: frozenset[str] = frozenset()

    @property
    def failed(self) -> bool:
        """Does the run fail (exit 1)? Against its baseline when it has one, else any ``fail``."""
        if self.gate is not None:
            return self.gate.failed
        return any(r.outcome.value == "fail" for r in self.results if r.case.id not in self.ungated)

    @property
    def inconclusive(self) -> bool:
        return self.interrupted or any(r.outcome.value == "error" for r in self.results
                                       if r.case.id not in self.ungated)


Event = RunStarted | RunNotice | CaseFinished | RunFinished


class Subscriber(Protocol):
    """Anything that reacts to the engine's events (conformance/report/)."""

    def handle(self, event: Event) -> None: ...
