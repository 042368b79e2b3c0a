"""Spec coverage: which elements of the Responses API surface the cases exercise, and how many.

* :mod:`.elements` - the denominator, per category, from ``schemas/<profile>/`` (never a hand list);
* :mod:`.claims` - what each case exercises, derived statically from its YAML, validated against the spec;
* :mod:`.observed` - what a recorded run (results JSON) actually showed;
* :mod:`.unreachable` - committed list of elements no request can exercise, with reasons;
* :mod:`.report` / :mod:`.render` / :mod:`.readme` - the joined report and its text, HTML, JSON and
  README renderings. See docs/coverage.md.
"""

from .claims import Claim, UnknownElementError, case_claims, claims_of
from .elements import CATEGORIES, CATEGORY_KEYS, Category, catalogue, known_anywhere
from .observed import ResultsError, observed_elements
from .readme import readme_section, update_readme
from .render import render_html, render_markdown, render_text
from .report import CategoryReport, CoverageReport, ElementRow, build_report
from .unreachable import unreachable_elements

__all__ = [
    "CATEGORIES", "CATEGORY_KEYS", "Category", "CategoryReport", "Claim", "CoverageReport", "ElementRow",
    "ResultsError", "UnknownElementError", "build_report", "case_claims", "catalogue", "claims_of",
    "known_anywhere", "observed_elements", "readme_section", "render_html", "render_markdown", "render_text",
    "unreachable_elements", "update_readme",
]
