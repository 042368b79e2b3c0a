"""Every report a run writes from its verdicts alone, in one place: a live run and a re-judged recording
(``judge --recording``) both call :func:`write_reports`, so their results files (and the matrix columns and
diffs built from them) cannot drift apart.

pytest's own reports (the HTML page of pytest-html, JUnit XML) are written by pytest during a live run; a
re-judged run has no pytest session and writes the results JSON, from which ``matrix`` and ``diff`` work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..engine import CaseResult
from .results import build_results, write_results


def write_reports(results: Sequence[CaseResult], meta: Mapping[str, Any], json_path: Path) -> dict[str, Any]:
    """Build the results document of ``results`` under the ``run`` section ``meta``, write it to ``json_path``
    (atomically) and return it."""
    document = build_results(results, meta)
    write_results(json_path, document)
    return document
