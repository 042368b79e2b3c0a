"""Every report a run writes, in one place: a live run (the engine's subscribers) and a re-judged recording
(``judge --recording``) get the same reporters from :func:`run_reporters`, fed the same
:class:`~conformance.run.events.RunFinished`, so their results file, JUnit XML, HTML page and console summary
(and the matrix columns and diffs built from the results) cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..run.engine import CaseResult
    from ..run.events import RunFinished, Subscriber

__all__ = ["report_rejudged", "run_reporters"]


def run_reporters(html_path: Path | None, junit_path: Path | None, *, console: bool = True,
                  quiet: bool = False) -> list[Subscriber]:
    """The reporters of a run: the results JSON (at the event's ``json_path``), then the JUnit XML, the HTML page
    and the console summary. Every front end takes its list from here so that a report added once is written by
    all of them; each leaves out what it has of its own: ``None`` paths for files not asked for (pytest writes
    its own JUnit), ``console=False`` where there is no console (the Python API, pytest's terminal)."""
    from .console import ConsoleReporter
    from .files import JUnitReporter, ResultsReporter
    from .html import HTMLReporter

    reporters: list[Subscriber] = [ResultsReporter()]
    if junit_path is not None:
        reporters.append(JUnitReporter(junit_path))
    if html_path is not None:
        reporters.append(HTMLReporter(html_path))
    if console:
        reporters.append(ConsoleReporter(quiet=quiet))
    return reporters


def report_rejudged(results: Sequence[CaseResult], meta: Mapping[str, Any], json_path: Path,
                    subscribers: Sequence[Subscriber], notices: Sequence[str] = ()) -> RunFinished:
    """Hand a re-judged run to ``subscribers`` as the engine hands a live one: one :class:`RunFinished` with the
    results document built from ``results`` under the ``run`` section ``meta`` (no baseline: plain verdicts).
    The recording is named relative to ``json_path``'s folder, as a live run names it beside its results."""
    from ..record.http import Target
    from ..run.events import RunFinished
    from ..run.runner import case_status
    from .results import build_results

    if isinstance(meta.get("recording"), str):
        meta = {**meta, "recording": os.path.relpath(meta["recording"], json_path.resolve().parent)}
    document = build_results(results, meta)
    target = Target(str(meta.get("base_url") or "http://recorded.invalid/"), str(meta.get("model")),
                    provider=str(meta.get("provider")))
    finished = RunFinished(list(results), document, {r.case.id: case_status(r, None) for r in results}, target,
                           bool(meta.get("embedded_reference")), json_path, notices=list(notices))
    for subscriber in subscribers:
        subscriber.handle(finished)
    return finished
