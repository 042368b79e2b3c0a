"""Join the denominator (elements), the claims of the cases and optional observations into one report.

The report is plain data (dataclasses) with one JSON form (:meth:`CoverageReport.to_json`); the text,
HTML and README renderings all read it, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..cases import Case
from ..judge import schemas
from .claims import ALTERNATIVE, EXERCISED, Claim, claims_of
from .elements import catalogue
from .unreachable import unreachable_elements

__all__ = ["JSON_VERSION", "CategoryReport", "CoverageReport", "ElementRow", "build_report"]

JSON_VERSION = 1


def percent(covered: int, total: int) -> float | None:
    """Covered share in percent, one decimal; None when the spec defines no element of the kind."""
    return round(100.0 * covered / total, 1) if total else None


@dataclass
class ElementRow:
    """One element: the cases that exercise it, those that merely accept it, and what a run saw."""

    name: str
    detail: str = ""
    cases: list[str] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)  # cases accepting it as one of several values
    unreachable: str | None = None
    observed: list[str] | None = None  # case ids whose recorded exchanges showed it (None: no results)

    @property
    def covered(self) -> bool:
        return bool(self.cases) and self.unreachable is None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name, "covered": self.covered, "cases": self.cases,
            "alternatives": self.alternatives, "unreachable": self.unreachable, "detail": self.detail,
        }
        if self.observed is not None:
            out["observed"] = self.observed
        return out


@dataclass
class CategoryReport:
    """Coverage of one category."""

    key: str
    title: str
    source: str
    rows: list[ElementRow]
    outside_spec: dict[str, list[str]] = field(default_factory=dict)  # request values the spec does not define
    observable: bool = False

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def covered(self) -> int:
        return sum(r.covered for r in self.rows)

    @property
    def percent(self) -> float | None:
        return percent(self.covered, self.total)

    @property
    def observed_covered(self) -> int | None:
        if not self.observable:
            return None
        return sum(bool(r.observed) for r in self.rows)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "title": self.title, "source": self.source, "total": self.total,
            "covered": self.covered, "percent": self.percent,
            "unreachable": sum(r.unreachable is not None for r in self.rows),
            "observed_covered": self.observed_covered,
            "elements": [r.to_json() for r in self.rows],
            "outside_spec": self.outside_spec,
        }


@dataclass
class CoverageReport:
    """Coverage of one profile by a set of cases (and optionally one recorded run)."""

    profile: str
    spec: dict[str, Any]
    case_count: int
    categories: list[CategoryReport]
    results: str | None = None

    @property
    def total(self) -> int:
        return sum(c.total for c in self.categories)

    @property
    def covered(self) -> int:
        return sum(c.covered for c in self.categories)

    def category(self, key: str) -> CategoryReport:
        for cat in self.categories:
            if cat.key == key:
                return cat
        raise KeyError(key)

    def to_json(self) -> dict[str, Any]:
        return {
            "coverage_version": JSON_VERSION,
            "profile": self.profile,
            "spec": self.spec,
            "case_count": self.case_count,
            "results": self.results,
            "summary": {"total": self.total, "covered": self.covered, "percent": percent(self.covered, self.total)},
            "categories": [c.to_json() for c in self.categories],
        }


def _append(ids: list[str], case_id: str) -> None:
    if case_id not in ids:
        ids.append(case_id)


def build_report(
    cases: Iterable[Case],
    profile: str = "openai",
    observed: Mapping[str, Mapping[str, list[str]]] | None = None,
    results_name: str | None = None,
) -> CoverageReport:
    """Coverage of ``profile`` by ``cases``; raises ``UnknownElementError`` for a bad claim."""
    case_list = list(cases)
    claims: list[Claim] = claims_of(case_list)
    skipped = unreachable_elements(profile)
    categories: list[CategoryReport] = []
    for cat in catalogue(profile):
        rows = {name: ElementRow(name, detail, unreachable=skipped.get(cat.key, {}).get(name))
                for name, detail in cat.elements.items()}
        seen = (observed or {}).get(cat.key)
        report = CategoryReport(cat.key, cat.title, cat.source, list(rows.values()), observable=seen is not None)
        for claim in claims:
            if claim.category != cat.key:
                continue
            row = rows.get(claim.element)
            if row is None:
                if claim.kind == EXERCISED:  # a request extension, an error case, or another profile's element
                    _append(report.outside_spec.setdefault(claim.element, []), claim.case_id)
            elif claim.kind == EXERCISED:
                _append(row.cases, claim.case_id)
            elif claim.kind == ALTERNATIVE:
                _append(row.alternatives, claim.case_id)
        if seen is not None:
            for row in report.rows:
                row.observed = list(seen.get(row.name, []))
        for row in report.rows:
            row.alternatives = [c for c in row.alternatives if c not in row.cases]
        categories.append(report)
    return CoverageReport(profile, schemas.spec_info(profile), len(case_list), categories, results_name)
