"""Merge any number of results files into one static compatibility-matrix page.

Results files are the unit of scale-out: each machine or CI shard writes its own, and the
matrix merges them afterwards (shards of the same provider/model become one column). The
page is a single self-contained HTML file: no external assets, the table rendered
server-side (escaped), the evidence embedded as JSON and rendered on demand with
``textContent`` only, so nothing a server returned can ever run as markup.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._atomic import write_text_atomically
from ._matrix_areas import EXCLUDED_FROM_SCORE, area_of, area_order, area_title
from ._matrix_evidence import slim_case
from .findings import deviation_counts, distinct_findings
from .results import clip

OUTCOMES = ("pass", "fail", "unsupported", "error", "skipped")


class MatrixInputError(ValueError):
    """A results file that cannot be used: names the file and field (exit 2)."""


@dataclass
class Column:
    provider: str
    model: str
    base_url: str = ""
    embedded: bool = False
    deviations: list[str] = field(default_factory=list)
    profile: str = ""
    complete: bool = True
    files: list[str] = field(default_factory=list)
    finished_at: str = ""
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    _stamp: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.provider, self.model)

    def score(self, rows: Iterable[Row]) -> dict[str, Any]:
        """Conformance score: passes over judged cases, leaving out extensions, the sdk and fuzz groups, declines, skips and errors."""
        counts = {o: 0 for o in OUTCOMES}
        scored_pass = scored_total = 0
        for row in rows:
            case = self.cases.get(row.id)
            if case is None:
                continue
            outcome = case["outcome"]
            counts[outcome] = counts.get(outcome, 0) + 1
            if row.area in EXCLUDED_FROM_SCORE or outcome not in ("pass", "fail"):
                continue
            scored_total += 1
            scored_pass += outcome == "pass"
        pct = round(100.0 * scored_pass / scored_total, 1) if scored_total else None
        found = self.distinct_findings(rows)
        return {"counts": counts, "passed": scored_pass, "scored": scored_total, "percent": pct,
                "deviations": deviation_counts(found)}

    def distinct_findings(self, rows: Iterable[Row]) -> list[dict[str, Any]]:
        """This column's distinct findings over the scored rows (the same areas the score counts)."""
        return distinct_findings(self.cases[row.id] for row in rows
                                 if row.id in self.cases and row.area not in EXCLUDED_FROM_SCORE)


@dataclass
class Row:
    id: str
    title: str
    group: str
    area: str
    spec: list[str]
    capabilities: list[str]


@dataclass
class Matrix:
    columns: list[Column]
    rows: list[Row]
    sources: list[str]

    def cell(self, col: int, case_id: str) -> dict[str, Any] | None:
        return self.columns[col].cases.get(case_id)


def _require(cond: bool, file: str, message: str) -> None:
    if not cond:
        raise MatrixInputError(f"{file}: {message}")


def read_results(path: Path) -> dict[str, Any]:
    """Load one results file and check the fields the matrix relies on (one-line errors)."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MatrixInputError(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MatrixInputError(f"{file}: cannot read: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MatrixInputError(f"{file}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    _require(isinstance(doc, dict), file, "not a results file (expected a JSON object)")
    _require(doc.get("schema_version") == 1, file, f"schema_version: expected 1, got {doc.get('schema_version')!r}")
    run = doc.get("run")
    _require(isinstance(run, dict), file, "run: missing or not an object")
    for key in ("provider", "model"):
        _require(isinstance(run.get(key), str) and bool(run.get(key)), file, f"run.{key}: missing or not a string")
    cases = doc.get("cases")
    _require(isinstance(cases, list), file, "cases: missing or not a list")
    for i, case in enumerate(cases):
        _require(isinstance(case, dict), file, f"cases[{i}]: not an object")
        _require(isinstance(case.get("id"), str) and bool(case.get("id")), file, f"cases[{i}].id: missing or not a string")
        _require(case.get("outcome") in OUTCOMES, file, f"cases[{i}].outcome: {case.get('outcome')!r} is not one of {', '.join(OUTCOMES)}")
    return doc


def merge(documents: Sequence[tuple[str, Mapping[str, Any]]]) -> Matrix:
    """Columns per (provider, model) in first-seen order; rows per case id, ordered by area."""
    columns: dict[tuple[str, str], Column] = {}
    rows: dict[str, Row] = {}
    for file, doc in documents:
        run = doc["run"]
        key = (str(run["provider"]), str(run["model"]))
        col = columns.get(key)
        if col is None:
            col = columns[key] = Column(key[0], key[1], str(run.get("base_url", "")), bool(run.get("embedded_reference")),
                                        [str(d) for d in run.get("deviations") or []], str(run.get("profile", "")))
        col.files.append(file)
        col.complete = col.complete and run.get("complete", True) is not False
        finished = str(run.get("finished_at", ""))
        col.finished_at = max(col.finished_at, finished)
        for case in doc["cases"]:
            cid = case["id"]
            # shards are disjoint; if a case appears twice, the most recent run wins
            if cid in col.cases and col._stamp.get(cid, "") > finished:
                continue
            col.cases[cid] = case
            col._stamp[cid] = finished
            if cid not in rows:
                rows[cid] = Row(cid, str(case.get("title", "")), str(case.get("group", "")), area_of(case),
                                [str(s) for s in case.get("spec") or []], [str(c) for c in case.get("capabilities") or []])
    ordered = sorted(rows.values(), key=lambda r: (area_order(r.area), r.group, r.id))
    return Matrix(list(columns.values()), ordered, [f for f, _ in documents])


def load(paths: Iterable[Path]) -> Matrix:
    files = list(paths)
    if not files:
        raise MatrixInputError("no results files given")
    return merge([(str(p), read_results(p)) for p in files])


def _json_for_script(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``</script>``, no U+2028/9 surprises."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def page_data(matrix: Matrix) -> dict[str, Any]:
    """The embedded blob: column and row metadata plus per-cell evidence keyed ``"<col>:<case id>"``."""
    evidence: dict[str, Any] = {}
    for ci, col in enumerate(matrix.columns):
        for row in matrix.rows:
            case = col.cases.get(row.id)
            if case is not None:
                evidence[f"{ci}:{row.id}"] = slim_case(case)
    return {
        "columns": [{"provider": clip(c.provider, 200), "model": clip(c.model, 200), "base_url": clip(c.base_url, 300),
                     "embedded": c.embedded, "deviations": c.deviations[:50], "complete": c.complete,
                     "files": [clip(f, 300) for f in c.files]} for c in matrix.columns],
        "rows": {r.id: {"title": r.title, "group": r.group, "area": r.area, "area_title": area_title(r.area),
                        "spec": r.spec, "capabilities": r.capabilities} for r in matrix.rows},
        "evidence": evidence,
    }


def render(matrix: Matrix, title: str = "Responses API compatibility matrix") -> str:
    from ._matrix_page import render_page

    return render_page(matrix, _json_for_script(page_data(matrix)), title)


def write_matrix(paths: Iterable[Path], out: Path, title: str = "Responses API compatibility matrix") -> Matrix:
    """Build the page from results files and write it atomically-enough (one write)."""
    matrix = load(paths)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(out, render(matrix, title))
    return matrix


__all__ = ["Column", "Matrix", "MatrixInputError", "OUTCOMES", "Row", "load", "merge", "page_data", "read_results",
           "render", "write_matrix"]
