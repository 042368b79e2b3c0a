"""docs/DESIGN.md's layout section is generated from the code and kept current (conformance/_layout.py)."""

from __future__ import annotations

from pathlib import Path

from conformance import _layout

DESIGN = Path(__file__).resolve().parent.parent / "docs" / "DESIGN.md"


def test_the_layout_section_is_current() -> None:
    text = DESIGN.read_text(encoding="utf-8")
    section = text[text.index(_layout.START): text.index(_layout.END) + len(_layout.END)]
    assert section == _layout.render(), "docs/DESIGN.md layout is stale: run scripts/update-design"


def test_every_package_folder_is_a_named_stage() -> None:
    assert _layout.package_folders() == {name for name, _ in _layout.STAGES}


def test_every_module_says_why_it_exists() -> None:
    """A module without a docstring would be a blank line in the floor plan."""
    missing = [str(p.relative_to(_layout.PACKAGE)) for p in _layout.PACKAGE.rglob("*.py")
               if "__pycache__" not in p.parts and p.stat().st_size
               and not _layout.first_sentence(p)]
    assert missing == []


def test_render_reads_docstrings_without_importing(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('"""Does one thing. And more.\n\nDetails."""\nraise SystemExit("imported!")\n')
    assert _layout.first_sentence(module) == "Does one thing."
