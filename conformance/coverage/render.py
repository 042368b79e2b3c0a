"""Renderings of a :class:`CoverageReport`: console text, an HTML fragment, and the README table.

The HTML is a self-contained ``<section>`` (every value escaped) so that the report/matrix pages can
embed it as is; the README table is Markdown generated here, never typed by hand.
"""

from __future__ import annotations

from html import escape

from .report import CategoryReport, CoverageReport, ElementRow, percent

__all__ = ["render_html", "render_markdown", "render_text"]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def _ids(ids: list[str], limit: int = 4) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f", +{len(ids) - limit} more" if len(ids) > limit else "")


def _title(report: CoverageReport) -> str:
    spec = report.spec
    return (f"Coverage of {spec.get('title', '?')} {spec.get('version', '')} (profile {report.profile}) "
            f"by {report.case_count} cases")


def _row_text(row: ElementRow, observable: bool) -> str:
    mark = "✓" if row.covered else "✗"
    text = f"  {mark} {row.name:<44}"
    if row.cases:
        text += f" {_ids(row.cases)}"
    if row.alternatives:
        text += f" (one of several accepted: {_ids(row.alternatives)})"
    if row.unreachable:
        text += f" [unreachable: {row.unreachable}]"
    if observable:
        text += f" [observed in {len(row.observed or [])} cases]" if row.observed else " [not observed]"
    return text.rstrip()


def render_text(report: CoverageReport, *, details: bool = True) -> str:
    """Console table: per category the covered count and, with ``details``, every element."""
    lines = [_title(report)]
    if report.results:
        lines.append(f"observed: elements seen in the recorded exchanges of {report.results}")
    for cat in report.categories:
        observed = f"  observed {cat.observed_covered}/{cat.total}" if cat.observable else ""
        lines.append(f"{cat.title:<40} {cat.covered:>3}/{cat.total:<3} {_pct(cat.percent):>6}{observed}")
        if details:
            lines.extend(_row_text(r, cat.observable) for r in cat.rows)
            for value, ids in sorted(cat.outside_spec.items()):
                lines.append(f"  · {value:<44} outside the spec/profile: {_ids(ids)}")
    lines.append(f"{'All elements':<40} {report.covered:>3}/{report.total:<3} {_pct(percent(report.covered, report.total)):>6}")
    return "\n".join(lines)


def _cat_html(cat: CategoryReport) -> str:
    head = "<tr><th>element</th><th>cases</th><th>note</th>" + ("<th>observed</th>" if cat.observable else "") + "</tr>"
    rows = []
    for r in cat.rows:
        note = []
        if r.unreachable:
            note.append(f"unreachable: {r.unreachable}")
        if r.alternatives:
            note.append("one of several accepted values in " + ", ".join(r.alternatives))
        if r.detail:
            note.append(r.detail)
        cells = [
            f'<td><code>{escape(r.name)}</code></td>',
            f"<td>{escape(', '.join(r.cases)) or '&mdash;'}</td>",
            f"<td>{escape('; '.join(note))}</td>",
        ]
        if cat.observable:
            cells.append(f"<td>{escape(', '.join(r.observed or [])) or '&mdash;'}</td>")
        state = "covered" if r.covered else "uncovered"
        rows.append(f'<tr class="{state}">' + "".join(cells) + "</tr>")
    outside = ""
    if cat.outside_spec:
        items = "".join(f"<li><code>{escape(v)}</code>: {escape(', '.join(ids))}</li>" for v, ids in sorted(cat.outside_spec.items()))
        outside = f"<p>Sent but outside this spec/profile:</p><ul>{items}</ul>"
    return (f'<details class="coverage-category" id="coverage-{escape(cat.key)}"><summary>{escape(cat.title)}: '
            f"{cat.covered}/{cat.total} ({escape(_pct(cat.percent))})</summary>"
            f"<table>{head}{''.join(rows)}</table>{outside}</details>")


def render_html(report: CoverageReport) -> str:
    """An escaped, self-contained ``<section class="coverage">`` for HTML reports."""
    summary = "".join(
        f'<tr><td><a href="#coverage-{escape(c.key)}">{escape(c.title)}</a></td><td>{c.covered}/{c.total}</td>'
        f"<td>{escape(_pct(c.percent))}</td>"
        + (f"<td>{c.observed_covered}/{c.total}</td>" if c.observable else "")
        + "</tr>"
        for c in report.categories
    )
    observed_head = "<th>observed</th>" if any(c.observable for c in report.categories) else ""
    return (
        f'<section class="coverage"><h2>{escape(_title(report))}</h2>'
        f"<p>spec sha256 <code>{escape(str(report.spec.get('sha256', '')))}</code>; elements derived from the "
        f"generated schemas, claims derived from the case YAML (docs/coverage.md).</p>"
        f"<table><tr><th>category</th><th>covered</th><th>%</th>{observed_head}</tr>{summary}</table>"
        + "".join(_cat_html(c) for c in report.categories)
        + "</section>"
    )


def render_markdown(reports: list[CoverageReport]) -> str:
    """README table: one row per category, one column per profile."""
    head = "| category | " + " | ".join(f"{r.profile} ({r.spec.get('version', '')})" for r in reports) + " |"
    lines = [head, "|---|" + "---|" * len(reports)]
    for i, cat in enumerate(reports[0].categories):
        cells = []
        for rep in reports:
            c = rep.categories[i]
            cells.append("n/a (none in spec)" if not c.total else f"{c.covered}/{c.total} ({_pct(c.percent)})")
        lines.append(f"| {cat.title} | " + " | ".join(cells) + " |")
    totals = " | ".join(f"**{r.covered}/{r.total} ({_pct(percent(r.covered, r.total))})**" for r in reports)
    lines.append(f"| **all elements** | {totals} |")
    return "\n".join(lines)
