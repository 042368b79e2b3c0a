"""A reader that goes away (``run ... | head -3``, ``judge ... | head``) ends the printing, nothing else: the
command runs to its end, writes every report, prints no traceback and exits with the code it would have had.

Each test reads a few lines from a real pipe, closes it, and compares with the same command read to its end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = ["run", "-k", "basic.text or streaming.text or errors.missing_model", "--deviate", "chat_usage_names"]


def _head(args: list[str], cwd: Path, lines: int, merge_stderr: bool = False) -> tuple[int, str, list[bytes]]:
    """``responses-conformance ARGS | head -LINES``: the exit code, stderr, and the lines read."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "conformance", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE)
    assert proc.stdout is not None
    read = [proc.stdout.readline() for _ in range(lines)]
    proc.stdout.close()  # the reader goes away
    err = proc.stderr.read().decode() if proc.stderr is not None else ""
    return proc.wait(timeout=300), err, read


def _results(cwd: Path) -> dict:  # type: ignore[type-arg]
    (path,) = (cwd / "reports").glob("*.json")
    return json.loads(path.read_text())


def _reports(cwd: Path) -> set[str]:
    return {p.suffix for p in (cwd / "reports").iterdir()}


def test_run_into_a_closed_pipe_finishes_writes_every_report_and_keeps_its_exit_code(tmp_path: Path) -> None:
    full, piped = tmp_path / "full", tmp_path / "piped"
    full.mkdir()
    piped.mkdir()
    expected = subprocess.run([sys.executable, "-m", "conformance", *RUN], cwd=full, capture_output=True, text=True,
                              timeout=300)
    assert expected.returncode == 1, expected.stdout[-2000:] + expected.stderr[-2000:]  # a failing run: code 1
    code, err, read = _head(RUN, piped, 3)
    assert all(read) and len(read) == 3
    assert code == expected.returncode, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err, err
    assert _reports(piped) == _reports(full) == {".json", ".html", ".xml", ".gz"}  # .har.gz: the recording
    done, wanted = _results(piped), _results(full)
    assert done["run"]["complete"] is True
    assert sorted((c["id"], c["outcome"]) for c in done["cases"]) == sorted((c["id"], c["outcome"]) for c in wanted["cases"])
    assert "<testcase " in next((piped / "reports").glob("*.xml")).read_text()


def test_run_with_stderr_into_the_same_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """``run ... 2>&1 | head -3``: both streams go to the reader that left."""
    code, _, read = _head(RUN, tmp_path, 3, merge_stderr=True)
    assert code == 1 and len(read) == 3
    assert _results(tmp_path)["run"]["complete"] is True and len(_results(tmp_path)["cases"]) == 3


def test_judge_into_a_closed_pipe_judges_everything_and_keeps_its_exit_code(tmp_path: Path) -> None:
    bad = 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":"x"}\n\n'
    (tmp_path / "a.sse").write_text(bad * 200)
    (tmp_path / "b.json").write_text('{"object": "response", "id": "resp_1"}')
    (tmp_path / "c.bin").write_bytes(b"\0\1\2" * 100)  # unreadable: exit 2 once every input was read
    args = ["judge", "a.sse", "b.json", "c.bin"]
    expected = subprocess.run([sys.executable, "-m", "conformance", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=300)
    assert expected.returncode == 2 and "c.bin" in expected.stderr, expected.stderr
    code, err, read = _head(args, tmp_path, 1)
    assert code == expected.returncode and len(read) == 1
    assert "Traceback" not in err and "Exception ignored" not in err
    assert "judge: c.bin" in err  # the reason for exit 2 still reaches stderr, which is open
