"""Static checks of our own code: ruff (lint, import order) and mypy (types) must stay clean.

The brief asks for type hints and small, readable modules; these keep that true on every commit
instead of once. Both tools are pinned in the ``dev`` extra that ``scripts/test`` installs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed in this venv: pip install -e '.[dev]'", pytrace=False)
    return found


def test_ruff_is_clean() -> None:
    proc = subprocess.run([_tool("ruff"), "check", "conformance", "tests", "peers"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_mypy_is_clean() -> None:
    proc = subprocess.run([_tool("mypy"), "conformance"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
