"""The package's floor plan, derived from the code: the layout section of docs/DESIGN.md.

A hand-written module list drifted from the code within weeks (it named modules that no longer existed). This
one is generated: the folders in pipeline order, each module with the first sentence of its docstring, read
with ``ast`` (nothing is imported). ``scripts/update-design`` rewrites the section between the markers;
tests/test_design.py fails while it is stale.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
#: a full stop that ends a sentence (not an ellipsis, not inside ``a.b``): followed by a capital or an opening
_SENTENCE_END = re.compile(r"(?<!\.)\.\s+(?=[A-Z(`*])")
START, END = "<!-- layout:start -->", "<!-- layout:end -->"

#: The pipeline, in the order data flows through it; every package folder must be named here (a test checks).
STAGES: tuple[tuple[str, str], ...] = (
    ("suite", "the data that ships: YAML cases and the generated JSON Schemas"),
    ("cases", "the case format: YAML to `Case`"),
    ("record", "recording: the transports, the only place server bytes enter"),
    ("judge", "judging: pure functions from recordings to verdicts"),
    ("run", "running: the engine, without pytest, emitting events"),
    ("report", "reporting: subscribers of the engine's events, and the matrix"),
    ("fuzz", "property-based request fuzzing (`--fuzz`)"),
    ("reference", "the embedded reference server (test double; imports nothing of the checker)"),
    ("coverage", "how much of the spec's surface the cases exercise"),
    ("schemagen", "generates suite/schemas from the OpenAPI documents"),
)


def first_sentence(path: Path) -> str:
    """The first sentence of a module's docstring, on one line ('' without one)."""
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    except (SyntaxError, UnicodeDecodeError):
        return ""
    text = " ".join(doc.split("\n\n")[0].split())
    end = _SENTENCE_END.search(text)
    return text if end is None else text[: end.start() + 1]


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if p.name != "__init__.py" and "__pycache__" not in p.parts)


def render() -> str:
    """The section's Markdown, markers included."""
    lines = [START, "", "Generated from the code by `scripts/update-design` (module docstrings); do not edit by hand.", ""]
    top = sorted(p for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    lines.append("**Front ends and shared pieces** (`conformance/`)")
    lines.append("")
    for path in top:
        lines.append(f"* `{path.name}` – {first_sentence(path)}")
    for name, role in STAGES:
        folder = PACKAGE / name
        lines += ["", f"**`{name}/`** – {role}.", ""]
        for path in _modules(folder):
            rel = path.relative_to(folder).as_posix()
            lines.append(f"* `{rel}` – {first_sentence(path)}")
    lines += ["", END]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def package_folders() -> set[str]:
    """Every folder of the package that holds Python modules (what STAGES must name)."""
    return {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}


def update(doc: Path) -> bool:
    """Rewrite the section in ``doc``; True if it changed."""
    text = doc.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise ValueError(f"{doc}: no {START} ... {END} section")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = head + render() + tail
    if new == text:
        return False
    doc.write_text(new, encoding="utf-8")
    return True
