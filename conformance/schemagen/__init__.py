"""Generate the committed JSON Schemas (`conformance/suite/schemas/<profile>/`) from the OpenAPI documents.

Run ``python -m conformance.schemagen [--spec-dir DIR] [--out DIR] [--check]``.
"""

from __future__ import annotations

from pathlib import Path

from ..suite import SCHEMAS_DIR
from ._build import GENERATOR_VERSION, PROFILES, build_all, build_profile

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_SPEC_DIR = REPO_ROOT.parent / "shared" / "specs"
DEFAULT_OUT = SCHEMAS_DIR


def write(files: dict[str, bytes], out: Path) -> list[str]:
    """Write files that differ; returns the relative paths written."""
    written = []
    for rel, data in sorted(files.items()):
        path = out / rel
        if path.exists() and path.read_bytes() == data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(rel)
    return written


def diff(files: dict[str, bytes], out: Path) -> list[str]:
    """Relative paths whose committed bytes differ from `files` (missing, changed or stale)."""
    problems = []
    for rel, data in sorted(files.items()):
        path = out / rel
        if not path.exists():
            problems.append(f"missing {rel}")
        elif path.read_bytes() != data:
            problems.append(f"changed {rel}")
    for profile in PROFILES:
        d = out / profile
        if d.is_dir():
            for p in sorted(d.rglob("*.json")):
                rel = p.relative_to(out).as_posix()
                if rel not in files:
                    problems.append(f"stale {rel}")
    return problems


__all__ = [
    "DEFAULT_OUT", "DEFAULT_SPEC_DIR", "GENERATOR_VERSION", "PROFILES", "build_all", "build_profile",
    "diff", "write",
]
