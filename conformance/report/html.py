"""The per-run HTML report: one self-contained page (no script, no external file) a reader opens from CI.

It leads with the distinct deviations (severity, basis, how many cases, the first one), then one row per case
with its verdict, area, group and baseline status, and under it the evidence: the checks that failed or
warned with their basis and spec reference, the curl line and the bounded exchange
(conformance/report/_matrix_evidence.py). Everything a server sent is escaped; the page runs no script at all, so nothing it
quotes can execute.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._atomic import write_text_atomically
from ..record._redact import safe_url
from ..run.events import Event, RunFinished
from ._matrix_areas import area_of, area_title
from ._matrix_evidence import evidence_html
from .findings import describe

__all__ = ["HTMLReporter", "render_page"]

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.5em}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.o-pass{color:#176f2c}.o-fail{color:#b00020;font-weight:bold}.o-error{color:#a05a00}
.o-unsupported,.o-skipped{color:#666}.s-fail{color:#b00020}.s-warning{color:#a05a00}.s-note{color:#666}
tr.evidence>td{background:#fafafa}details>summary{cursor:pointer}code{font-size:.95em}
.notice{background:#fff3cd;border:1px solid #e0c36a;padding:.4em .8em;margin:.4em 0}
"""

OUTCOMES = ("pass", "fail", "unsupported", "error", "skipped")


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _findings_section(findings: list[Mapping[str, Any]]) -> list[str]:
    parts = [f"<h2>Distinct deviations ({sum(1 for f in findings if f['severity'] == 'fail')} fail)</h2>"]
    if not findings:
        return parts + ["<p>none: no check found anything.</p>"]
    parts.append('<table class="findings"><thead><tr><th>Severity</th><th>Basis</th><th>Finding</th><th>Cases</th>'
                  "<th>First seen</th></tr></thead><tbody>")
    for f in findings:
        first = str(f.get("first_seen", ""))
        parts.append(f'<tr data-severity="{_esc(f["severity"])}"><td class="s-{_esc(f["severity"])}">'
                     f'{_esc(f["severity"])}</td><td>{_esc(f.get("basis") or "?")}</td><td>{_esc(describe(f, 400))}'
                     f'<br><small>key {_esc(f.get("key"))}</small></td><td>{len(f.get("cases") or [])}</td>'
                     f'<td><a href="#case-{_esc(first)}">{_esc(first)}</a></td></tr>')
    parts.append("</tbody></table>")
    return parts


def _cases_section(event: RunFinished) -> list[str]:
    parts = ['<h2>Cases</h2><table class="cases"><thead><tr><th>Case</th><th>Title</th><th>Area</th><th>Group</th>'
             "<th>Verdict</th><th>Baseline</th><th>Message</th></tr></thead><tbody>"]
    for entry in event.document["cases"]:
        cid = str(entry["id"])
        status = event.statuses.get(cid)
        baseline = status.baseline.replace("_", " ") if status is not None else ""
        outcome = str(entry["outcome"])
        parts.append(
            f'<tr id="case-{_esc(cid)}" class="case" data-outcome="{_esc(outcome)}"><td><code>{_esc(cid)}</code></td>'
            f'<td>{_esc(entry.get("title"))}</td><td>{_esc(area_title(area_of({"group": entry.get("group", "")})))}</td>'
            f'<td>{_esc(entry.get("group"))}</td><td class="o-{_esc(outcome)}">{_esc(outcome)}</td>'
            f'<td>{_esc(baseline)}</td><td>{_esc(str(entry.get("message", ""))[:300])}</td></tr>')
        parts.append(f'<tr class="evidence"><td colspan="7"><details{" open" if outcome in ("fail", "error") else ""}>'
                     f'<summary>evidence ({_esc(entry.get("file"))}:{_esc(entry.get("line"))})</summary>'
                     f"{evidence_html(entry)}</details></td></tr>")
    parts.append("</tbody></table>")
    return parts


def render_page(event: RunFinished) -> str:
    """The whole page for one finished run."""
    doc = event.document
    run: Mapping[str, Any] = doc["run"]
    counts: Mapping[str, int] = doc["summary"]["counts"]
    title = f"Responses API conformance: {run.get('provider')} / {run.get('model')}"
    spec = run.get("spec") or {}
    policy = run.get("policy") or {}
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">',
             f"<title>{_esc(title)}</title><style>{STYLE}</style></head><body>", f"<h1>{_esc(title)}</h1>",
             '<table class="run"><tbody>',
             f"<tr><th>Target</th><td>{_esc(safe_url(str(run.get('base_url', ''))))}"
             + (" (embedded reference server)" if run.get("embedded_reference") else "") + "</td></tr>",
             f"<tr><th>Profile / spec</th><td>{_esc(run.get('profile'))}: {_esc(spec.get('version'))} "
             f"<small>sha256 {_esc(str(spec.get('sha256', ''))[:16])}</small></td></tr>",
             f"<tr><th>Policy</th><td>{_esc(', '.join(k for k, v in policy.items() if v) or 'default')}</td></tr>",
             f"<tr><th>Started / finished</th><td>{_esc(run.get('started_at'))} / {_esc(run.get('finished_at'))}"
             + ("" if run.get("complete") else " <b>(incomplete)</b>") + "</td></tr>",
             "<tr><th>Outcomes</th><td>" + ", ".join(f'<span class="o-{o}">{counts.get(o, 0)} {o}</span>'
                                                      for o in OUTCOMES) + "</td></tr>",
             "</tbody></table>"]
    parts.extend(f'<p class="notice">{_esc(line)}</p>' for line in event.notices)
    parts.extend(_findings_section(doc["findings"]))
    parts.extend(_cases_section(event))
    parts.append("</body></html>\n")
    return "\n".join(parts)


class HTMLReporter:
    """Writes ``path`` when the run finishes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def handle(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            write_text_atomically(self.path, render_page(event))
            event.written.append(self.path)
