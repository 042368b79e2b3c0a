"""Every file path and dotted module the docs and docstrings name exists.

Issue 12 moved most modules into folders; the README, docs/*.md and a dozen docstrings went on naming
``conformance/recorder.py``, ``conformance.cost`` and the like for weeks, and a newcomer following them found
nothing. Names drift silently (no import breaks), so this reads the prose itself: each repository path
(``conformance/...``, ``tests/...``, ``scripts/...``, ``bench/...``, ``examples/...``, ``docs/...``), each
dotted name ``conformance.x.y`` (a module, or an attribute of one), each relative Markdown link and each
case file's ``yaml-language-server`` schema line must resolve. Placeholders (``<profile>``, ``*``, ``{name}``)
must match at least one file.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "conformance"

#: prose read: the README, every doc, the package's source (docstrings and comments) and its data files'
#: descriptions (the generated schemas are the spec's text, not ours)
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: what the project file's comments name (its dependencies say where they are used)
PROJECT = [ROOT / "pyproject.toml"]
SOURCES = [p for p in sorted(PACKAGE.rglob("*"))
           if p.suffix in {".py", ".json", ".yaml"} and "__pycache__" not in p.parts
           and not p.is_relative_to(PACKAGE / "suite" / "schemas")]

#: Stale names in files another worker owns (docs/fuzz.md is being rewritten with the fuzzer); each entry must
#: still be there (so the list shrinks as they are fixed) and nothing else may be stale.
KNOWN_STALE: set[tuple[str, str]] = {
    ("docs/fuzz.md", "conformance/declines.py"),
    ("docs/fuzz.md", "conformance/basis/keys.py"),
    ("docs/fuzz.md", "conformance.engine.judge"),
}

_PATH = re.compile(r"(?<![\w/.~-])((?:conformance|tests|scripts|bench|examples|docs)/(?:[\w./*{}:-]|<\w+>)*)")
_DOTTED = re.compile(r"(?<![\w.-])(conformance(?:\.[A-Za-z_]\w*)+)")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_SCHEMA_LINE = re.compile(r"#\s*yaml-language-server:\s*\$schema=(\S+)")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _mentions(pattern: re.Pattern[str], files: list[Path]) -> Iterator[tuple[str, int, str]]:
    for file in files:
        for lineno, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            for match in pattern.finditer(line):
                yield _rel(file), lineno, match.group(1)


def _path_exists(raw: str) -> bool:
    """A repository path, maybe with a placeholder (``<profile>``, ``{provider}``, ``*``) or a trailing slash."""
    path = raw.rstrip(".,:;'\"`")
    if "::" in path:  # tests/test_x.py::test_name
        path = path.split("::", 1)[0]
    path = re.sub(r":\d*$", "", path)  # conformance/x.py:12
    pattern = re.sub(r"<[^>]*>|\{[^}]*\}", "*", path).rstrip("/")
    if "*" in pattern:
        return any(ROOT.glob(pattern))
    return (ROOT / pattern).exists()


def _dotted_exists(name: str) -> bool:
    """A module (found without importing it), or an attribute chain on the longest importable prefix."""
    parts = name.split(".")
    try:
        if importlib.util.find_spec(name) is not None:
            return True
    except (ImportError, ValueError):
        pass
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def _stale(found: list[tuple[str, int, str]]) -> list[str]:
    return [f"{file}:{line}: {name}" for file, line, name in found if (file, name) not in KNOWN_STALE]


def test_every_repository_path_named_in_docs_and_docstrings_exists() -> None:
    found = [(f, n, p) for f, n, p in _mentions(_PATH, DOCS + SOURCES + PROJECT) if not _path_exists(p)]
    assert _stale(found) == []


def test_every_dotted_conformance_name_exists() -> None:
    found = [(f, n, d) for f, n, d in _mentions(_DOTTED, DOCS + SOURCES + PROJECT) if not _dotted_exists(d)]
    assert _stale(found) == []


def test_relative_markdown_links_resolve() -> None:
    broken = []
    for file, lineno, target in _mentions(_LINK, DOCS):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        if not (ROOT / file).parent.joinpath(target.split("#", 1)[0]).exists():
            broken.append(f"{file}:{lineno}: {target}")
    assert broken == []


def test_case_files_point_their_editor_at_the_case_schema() -> None:
    cases = sorted((PACKAGE / "suite" / "cases").glob("*.yaml"))
    assert cases
    wrong = []
    for file, lineno, target in _mentions(_SCHEMA_LINE, cases):
        if (ROOT / file).parent.joinpath(target).resolve() != PACKAGE / "cases" / "case.schema.json":
            wrong.append(f"{file}:{lineno}: {target}")
    assert wrong == []


def test_the_known_stale_entries_are_still_stale() -> None:
    """An entry fixed by its owner must leave :data:`KNOWN_STALE`, or it would hide the next regression."""
    for file, name in sorted(KNOWN_STALE):
        assert name in (ROOT / file).read_text(encoding="utf-8"), f"{file} no longer names {name}: drop it"
        assert not (_dotted_exists(name) if "/" not in name else _path_exists(name))


@pytest.mark.parametrize("raw, exists", [
    ("conformance/run/cost.py", True), ("conformance/cost.py", False), ("conformance/suite/schemas/<profile>/", True),
    ("conformance/suite/cases/*.yaml", True), ("tests/test_design.py::test_x", True), ("conformance/run/", True),
])
def test_path_resolution(raw: str, exists: bool) -> None:
    assert _path_exists(raw) is exists


@pytest.mark.parametrize("name, exists", [
    ("conformance.run.cost", True), ("conformance.run.cost.charged_output", True), ("conformance.cost", False),
    ("conformance.report.write_reports", False), ("conformance.cases.load_all", True),
])
def test_dotted_resolution(name: str, exists: bool) -> None:
    assert _dotted_exists(name) is exists
