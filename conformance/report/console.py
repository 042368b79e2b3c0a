"""The console: the worst case before the run, one line per case as it finishes, then failures and the summary.

A subscriber of the engine's events (conformance/run/events.py). Every line may quote the server, so each is
made :func:`inert` (no terminal control sequences) before it is written.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ..record._redact import inert, safe_url
from ..run.events import ERROR, FAILED, PASSED, SKIPPED, CaseFinished, Event, RunFinished, RunNotice, RunStarted
from .failure import format_failure
from .summary import SYMBOLS, format_summary

__all__ = ["ConsoleReporter", "summary_lines"]

TITLE = "Responses API conformance"


def summary_lines(event: RunFinished) -> list[str]:
    """The summary section (also what the pytest plugin prints): target, notices, deviations and the per-feature
    table, where the results went, and the verdict against the baseline."""
    target = event.target
    lines = [f"{target.provider} / {target.model} at {safe_url(target.base_url)}"
             + (" (embedded reference server)" if event.embedded else "")]
    lines.extend(event.notices)
    lines.extend(format_summary(event.results).splitlines())
    if event.json_path in event.written:
        lines.append(f"results: {event.json_path}")
    verdict = event.gate
    if verdict is not None:
        lines.extend((verdict.before or verdict).summary_lines())
        fresh = verdict.updated_to
        if fresh is not None:
            lines.append(f"baseline updated: {fresh.path} now expects {len(fresh.entries)} non-passing case(s)")
    return [inert(line) for line in lines]


def _rule(title: str, width: int = 100) -> str:
    return f" {title} ".center(width, "=")


class ConsoleReporter:
    """Writes to ``out`` (stdout); ``quiet`` drops the per-case lines."""

    def __init__(self, out: TextIO | None = None, quiet: bool = False) -> None:
        self.out = out or sys.stdout
        self.quiet = quiet
        self.t0 = time.monotonic()

    def line(self, text: str = "") -> None:
        self.out.write(inert(text) + "\n")
        self.out.flush()

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.t0 = time.monotonic()
            self.line(f"{len(event.cases)} case(s) selected; {event.bound}")
        elif isinstance(event, RunNotice):
            self.line(event.line)
        elif isinstance(event, CaseFinished):
            if not self.quiet:
                r = event.result
                self.line(f"{SYMBOLS[r.outcome.value]} {r.outcome.value:<11} {r.case.id}"
                          + (f" [{event.status.kind}: {event.status.message[:120]}]"
                             if event.status.kind in (FAILED, ERROR) or event.status.baseline else ""))
        elif isinstance(event, RunFinished):
            self._finished(event)

    def _finished(self, event: RunFinished) -> None:
        failures = [r for r in event.results if event.statuses.get(r.case.id) is not None
                    and event.statuses[r.case.id].kind in (FAILED, ERROR)]
        if failures:
            self.line(_rule("failures and errors"))
            for r in failures:
                status = event.statuses[r.case.id]
                self.line(_rule(r.case.id, 60).replace("=", "_"))
                if status.kind == FAILED and r.outcome.value == "fail":
                    self.line(format_failure(r))
                else:
                    self.line(f"{r.case.file}:{r.case.line}: {r.case.id}: {status.message}")
        self.line(_rule(TITLE))
        for text in summary_lines(event):
            self.line(text)
        counts = {kind: 0 for kind in (PASSED, FAILED, ERROR, SKIPPED)}
        for status in event.statuses.values():
            counts[status.kind] += 1
        said = ", ".join(f"{n} {'errors' if k == ERROR and n != 1 else k}" for k, n in counts.items() if n)
        stopped = " (interrupted)" if event.interrupted else ""
        self.line(_rule(f"{said or 'no cases'}{stopped} in {time.monotonic() - self.t0:.2f}s"))
