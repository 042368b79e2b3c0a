"""The README's coverage table is generated; this fails when it is stale.

Fix: ``scripts/update-readme-coverage`` (= ``responses-conformance coverage --readme``), then commit.
"""

from __future__ import annotations

from pathlib import Path

from conformance.coverage.readme import (
    END,
    START,
    current_section,
    readme_section,
    update_readme,
)
from conformance.suite import CASES_DIR

REPO = Path(__file__).resolve().parent.parent


def test_committed_readme_section_is_current() -> None:
    committed = current_section((REPO / "README.md").read_text(encoding="utf-8"))
    assert committed is not None, f"README.md has no {START} ... {END} section: run scripts/update-readme-coverage"
    assert committed == readme_section(CASES_DIR), (
        "README coverage section is stale (cases or schemas changed): run scripts/update-readme-coverage"
    )


def test_update_inserts_then_is_idempotent(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# title\n\nfirst lines\n\n## Layout\n\ntable\n", encoding="utf-8")
    assert update_readme(readme, CASES_DIR) is True
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# title\n\nfirst lines\n\n" + START)
    assert text.index(END) < text.index("## Layout")
    assert "| Streaming event types |" in text and "| **all elements** |" in text
    assert update_readme(readme, CASES_DIR) is False
    # a stale section is replaced in place, the rest untouched
    readme.write_text(text.replace("| Streaming event types |", "| Streaming event typos |"), encoding="utf-8")
    assert update_readme(readme, CASES_DIR) is True
    assert readme.read_text(encoding="utf-8") == text
