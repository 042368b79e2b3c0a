"""Spec coverage: which elements of the Responses API surface the cases exercise, and how many.

* :mod:`.elements` - the denominator, per category, from ``suite/schemas/<profile>/`` (never a hand list);
* :mod:`.claims` - what each case exercises, derived statically from its YAML, validated against the spec;
* :mod:`.observed` - what a recorded run (results JSON) actually showed;
* :mod:`.unreachable` - committed list of elements no request can exercise, with reasons;
* :mod:`.report` / :mod:`.render` / :mod:`.readme` - the joined report and its text, HTML, JSON and
  README renderings. See docs/coverage.md.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .claims import Claim, UnknownElementError, case_claims, claims_of
    from .elements import CATEGORIES, CATEGORY_KEYS, Category, catalogue, known_anywhere
    from .observed import ResultsError, observed_elements
    from .readme import readme_section, update_readme
    from .render import render_html, render_markdown, render_text
    from .report import CategoryReport, CoverageReport, ElementRow, build_report
    from .unreachable import unreachable_elements

#: where each public name lives: imported on first use, so a run that only asks :mod:`.profile` whether a case
#: fits a profile does not load the report, renderers and README machinery (a tenth of its start-up)
_HOMES = {
    ".claims": ("Claim", "UnknownElementError", "case_claims", "claims_of"),
    ".elements": ("CATEGORIES", "CATEGORY_KEYS", "Category", "catalogue", "known_anywhere"),
    ".observed": ("ResultsError", "observed_elements"),
    ".readme": ("readme_section", "update_readme"),
    ".render": ("render_html", "render_markdown", "render_text"),
    ".report": ("CategoryReport", "CoverageReport", "ElementRow", "build_report"),
    ".unreachable": ("unreachable_elements",),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "CATEGORIES", "CATEGORY_KEYS", "Category", "CategoryReport", "Claim", "CoverageReport", "ElementRow",
    "ResultsError", "UnknownElementError", "build_report", "case_claims", "catalogue", "claims_of",
    "known_anywhere", "observed_elements", "readme_section", "render_html", "render_markdown", "render_text",
    "unreachable_elements", "update_readme",
]
