"""Noticing that the target went down mid-run, and saying which request came last.

A server that crashes (or is killed) part-way through a run would otherwise turn every later case into its
own connect error, each waiting out its timeouts, with nothing saying what happened. The scheduler feeds
every finished recording to an :class:`OutageWatch`; once :data:`THRESHOLD` requests in a row got no answer
at all (connection refused or dropped before a status line, a connect timeout, or an accepted connection that
stays silent, without a status line, past the idle limit or the deadline), the target is declared
down: no further case is sent, the rest are ``error (target down)``, and the run reports, once, the last
request that was answered and the first that was not (the request that preceded the outage, and the likely
culprit when the server died handling it).
"""

from __future__ import annotations

import datetime as _dt
import threading
from dataclasses import dataclass
from typing import Any

from ..record.exchange import Exchange

#: unanswered requests in a row (no answered one between them, across all threads) that mean "down"
THRESHOLD = 2
#: recorder error kinds that mean "no HTTP answer at all" when no status line came: refused or dropped, a connect
#: timeout, or a connection accepted and then silent until the idle limit or the deadline (a stall after the
#: status line, or a 5xx, is an answer of sorts)
UNANSWERED_KINDS = frozenset({"connect", "timeout", "idle_timeout", "deadline"})


def _stamp(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class RequestNote:
    """One request, as the outage report names it."""

    case: str
    step: str
    method: str
    path: str
    status: int | None
    at: float  # when it finished (answered) or started (unanswered), epoch seconds
    error: str = ""

    def describe(self) -> str:
        what = f"HTTP {self.status}" if self.status is not None else (self.error or "no answer")
        return f"case {self.case!r} step {self.step!r} ({self.method} {self.path}: {what}, {_stamp(self.at)})"

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.case, "step": self.step, "method": self.method, "path": self.path,
                "status": self.status, "at": _stamp(self.at), "error": self.error}


def _note(case: str, ex: Exchange, answered: bool) -> RequestNote:
    at = ex.started_at + (ex.elapsed_s if answered else 0.0)
    return RequestNote(case, ex.step, ex.method_label, ex.request.path, ex.status, at, "" if answered else ex.error or "")


@dataclass(frozen=True)
class TargetDown:
    """The outage: what was last answered, what first went unanswered, and what was then not sent."""

    last_answered: RequestNote | None
    first_unanswered: RequestNote

    def message(self) -> str:
        """The short line every case recorded after the outage carries (``error (target down)``); the run's
        summary gives the whole account once (:meth:`banner`)."""
        last = self.last_answered
        after = f"after case {last.case!r} step {last.step!r}" if last else "before answering any request"
        return f"the target stopped answering {after} (details once, in the run summary)"

    def banner(self, not_sent: int) -> list[str]:
        """The run's single, prominent account of the outage (console summary)."""
        last = self.last_answered.describe() if self.last_answered else "none (no request of the run was answered)"
        return [
            "TARGET DOWN: the target stopped answering mid-run (connections refused or dropped); requests stopped.",
            f"  last answered request: {last}",
            f"  first unanswered:      {self.first_unanswered.describe()}",
            f"  {not_sent} case(s) not sent: error (target down)",
        ]

    def to_dict(self, not_sent: int = 0) -> dict[str, Any]:
        return {"last_answered": self.last_answered.to_dict() if self.last_answered else None,
                "first_unanswered": self.first_unanswered.to_dict(), "cases_not_sent": not_sent}


class OutageWatch:
    """Thread-safe tally of answered and unanswered requests, in the order the cases finish."""

    def __init__(self, threshold: int = THRESHOLD) -> None:
        self.threshold = threshold
        self._lock = threading.Lock()
        self._last_answered: RequestNote | None = None
        self._first_unanswered: RequestNote | None = None
        self._unanswered_in_row = 0
        self.down: TargetDown | None = None
        self.not_sent: list[str] = []

    def observe(self, case: str, exchanges: list[Exchange]) -> None:
        """Account for one finished case's requests (SDK pseudo-exchanges that sent nothing are ignored)."""
        with self._lock:
            for ex in exchanges:
                if ex.status is not None:
                    note = _note(case, ex, answered=True)
                    if self._last_answered is None or note.at >= self._last_answered.at:
                        self._last_answered = note
                    first = self._first_unanswered
                    if self.down is None and (first is None or note.at > first.at):  # the target answered again
                        self._unanswered_in_row, self._first_unanswered = 0, None
                elif ex.error_kind in UNANSWERED_KINDS and ex.sent:
                    self._unanswered_in_row += 1
                    note = _note(case, ex, answered=False)
                    if self._first_unanswered is None or note.at < self._first_unanswered.at:
                        self._first_unanswered = note
                    if self.down is None and self._unanswered_in_row >= self.threshold:
                        self.down = TargetDown(self._last_answered, self._first_unanswered)

    def skip(self, case: str) -> TargetDown | None:
        """The outage if the target is down (the case is then not sent and is counted), else None."""
        with self._lock:
            if self.down is not None:
                self.not_sent.append(case)
            return self.down
