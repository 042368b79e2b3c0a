"""Commands import only what they use: ``--help``, ``serve`` and ``judge`` load no HTTP client, SDK or pytest.

Why: start-up CPU is paid on every command (issue 12 bounds a one-case run at 0.5 s), and the official SDK,
httpx and pytest cost more to import than these commands cost to run. Checked in a fresh interpreter, since
this test process has long imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("openai", "httpx", "httpx2", "pytest", "_pytest", "pytest_html", "hypothesis", "pydantic")

PROBE = """
import contextlib, io, json, sys
from conformance.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
print(json.dumps(len(out.getvalue())))
"""


def loaded(*argv: str) -> tuple[set[str], int]:
    """Top-level modules loaded by ``responses-conformance ARGV`` in a fresh interpreter, and its output size."""
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    modules, size = proc.stdout.strip().splitlines()[-2:]
    return set(json.loads(modules)), int(json.loads(size))


RESPONSE = {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "error": None,
            "incomplete_details": None, "instructions": None, "model": "m", "output": [], "parallel_tool_calls": True,
            "tool_choice": "auto", "tools": [], "temperature": 1.0, "top_p": 1.0, "metadata": {}}


@pytest.mark.parametrize("argv", [
    pytest.param(("--help",), id="help"),
    pytest.param(("run", "--help"), id="run-help"),
    pytest.param(("serve", "--list-deviations"), id="serve"),
    pytest.param(("list-checks",), id="list-checks"),
    pytest.param(("judge", "{body}"), id="judge"),
])
def test_command_imports_no_heavy_dependency(tmp_path: Path, argv: tuple[str, ...]) -> None:
    body = tmp_path / "response.json"
    body.write_text(json.dumps(RESPONSE), encoding="utf-8")
    modules, printed = loaded(*(arg.format(body=body) for arg in argv))
    assert printed > 0  # the command did its work (help text, deviations, checks, a verdict)
    assert "conformance" in modules and not modules & set(HEAVY), sorted(modules & set(HEAVY))
