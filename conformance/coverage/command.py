"""The ``coverage`` sub-command's work, kept out of cli.py (which only parses and dispatches)."""

from __future__ import annotations

import json
from pathlib import Path

from .._atomic import write_text_atomically
from ..cases import CaseFormatError, load_all
from .claims import UnknownElementError
from .observed import ResultsError, observed_elements
from .readme import update_readme
from .render import render_html, render_text
from .report import build_report

__all__ = ["CoverageUsageError", "run_coverage"]


class CoverageUsageError(Exception):
    """Bad input (cases, results file, paths): one line for the CLI's exit code 2."""


def run_coverage(
    cases_dir: Path,
    profile: str = "openai",
    json_path: Path | None = None,
    html_path: Path | None = None,
    results: Path | None = None,
    readme: Path | None = None,
    details: bool = True,
) -> str:
    """Compute coverage, write the requested files, and return the console text."""
    if not cases_dir.is_dir():
        raise CoverageUsageError(f"--cases {cases_dir}: not a directory")
    try:
        if readme is not None:
            changed = update_readme(readme, cases_dir)
            return f"{readme}: coverage section {'updated' if changed else 'already current'}"
        cases = load_all(cases_dir)
        observed = observed_elements(results) if results is not None else None
        report = build_report(cases, profile, observed, str(results) if results else None)
    except (CaseFormatError, UnknownElementError, ResultsError, OSError) as exc:
        raise CoverageUsageError(str(exc)) from None
    if json_path is not None:
        write_text_atomically(json_path, json.dumps(report.to_json(), indent=1, ensure_ascii=False) + "\n")
    if html_path is not None:
        write_text_atomically(html_path, render_html(report) + "\n")
    return render_text(report, details=details)
