"""The command as a user runs it: exit codes, one-line errors, reports written, secrets kept out."""

from __future__ import annotations

import gzip
import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from conformance.reference import ReferenceServer
from conformance.report import RESULTS_SCHEMA_PATH
from tests._hostile import head, hostile_server

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
SECRET = "sk-cli-test-SECRET-0123456789"


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    return lines[0]


def test_run_embedded_writes_valid_reports(tmp_path: Path) -> None:
    proc = cli("run", "-q", "-k", "basic or errors.missing_auth or streaming.text", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "Responses API conformance" in proc.stdout and "basic" in proc.stdout
    reports = tmp_path / "reports"
    doc = json.loads((reports / "reference__reference-1.json").read_text())
    jsonschema.validate(doc, json.loads(RESULTS_SCHEMA_PATH.read_text()))
    assert doc["run"]["embedded_reference"] is True and doc["run"]["complete"] is True
    assert doc["run"]["spec"]["sha256"] and doc["run"]["spec"]["version"]
    ids = {c["id"] for c in doc["cases"]}
    assert {"basic.text", "errors.missing_auth", "streaming.text"} <= ids
    assert all(c["outcome"] == "pass" for c in doc["cases"])
    assert all(c["exchanges"] and c["exchanges"][0]["curl"].startswith("curl ") for c in doc["cases"])
    assert (reports / "reference__reference-1.html").stat().st_size > 1000
    junit = (reports / "reference__reference-1.junit.xml").read_text()
    assert "<failure" not in junit and "<error" not in junit


def test_run_with_deviation_fails_with_evidence(tmp_path: Path) -> None:
    proc = cli("run", "-k", "basic.text", "--deviate", "chat_usage_names", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "response.usage" in proc.stdout and "curl " in proc.stdout
    doc = json.loads((tmp_path / "reports" / "reference__reference-1.json").read_text())
    (case,) = doc["cases"]
    assert case["outcome"] == "fail"
    failed = {c["name"] for c in case["checks"] if c["outcome"] == "fail"}
    assert "response.usage" in failed
    assert all(c["spec_ref"] for c in case["checks"] if c["outcome"] == "fail" and c["name"].startswith("response."))
    assert "<failure" in (tmp_path / "reports" / "reference__reference-1.junit.xml").read_text()


ENTRY = """
import atexit, sys, threading, time
atexit.register(lambda: print("atexit ran", flush=True))
if sys.argv[1] == "thread":  # a non-daemon thread still working when the command is done: it is waited for
    threading.Thread(target=lambda: (time.sleep(0.3), print("thread done", flush=True))).start()
sys.argv = ["responses-conformance", *sys.argv[2:]]
from conformance.cli import entry
entry()
"""


@pytest.mark.parametrize(("mode", "args", "code"), [
    ("plain", ["list-checks"], 0),
    ("plain", ["run", "-q", "-k", "no_such_case_anywhere"], 2),
    ("thread", ["list-checks"], 0),
])
def test_the_command_leaves_without_teardown_but_as_it_always_left(tmp_path: Path, mode: str, args: list[str],
                                                                     code: int) -> None:
    """The installed command skips the interpreter's teardown (CPU: bench/bench_cpu.py), not what it leaves: the
    exit code, everything printed, the atexit handlers, a non-daemon thread finishing its work."""
    proc = subprocess.run([sys.executable, "-c", ENTRY, mode, *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == code, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert proc.stdout.rstrip().endswith("atexit ran")
    assert ("response.schema" in proc.stdout) == (args[0] == "list-checks")
    assert ("selects no case" in proc.stderr) == (code == 2)
    assert ("thread done" in proc.stdout) == (mode == "thread")


def test_broken_yaml_case_is_one_line_exit_2(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "bad.yaml").write_text("cases:\n  - id: x\n    title: [unclosed\n")
    proc = cli("run", "--cases", str(cases), cwd=tmp_path)
    assert proc.returncode == 2
    line = _one_error_line(proc)
    assert "bad.yaml:" in line


def test_unknown_assertion_names_file_case_and_line(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "c.yaml").write_text(
        "cases:\n  - id: a.b\n    title: t\n    group: basic\n    spec: [openai-openapi.yaml#/paths/~1responses/post]\n    capabilities: [core]\n"
        "    steps:\n      - name: s\n        request: {body: {input: hi}}\n        expect:\n          - statuss: 200\n")
    proc = cli("run", "--cases", str(cases), cwd=tmp_path)
    assert proc.returncode == 2
    line = _one_error_line(proc)
    assert "c.yaml:11" in line and "statuss" in line


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--base-url", "ftp://example/v1", "--model", "m"], "--base-url"),
        (["--base-url", "http://127.0.0.1:9/v1"], "--model"),
        (["--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--api-key-env", "CONFORMANCE_UNSET_VAR"], "CONFORMANCE_UNSET_VAR"),
        (["--header", "no colon here"], "--header"),
        (["--deviate", "no_such_deviation"], "no_such_deviation"),
        (["--concurrency", "0"], "--concurrency"),
        (["--idle-timeout", "-1"], "--idle-timeout"),
        (["--deadline", "0"], "--deadline"),
        (["--deadline", "nan"], "--deadline"),
        (["--max-time", "inf"], "--max-time"),
        (["--base-url", "http://[::1/v1", "--model", "m"], "--base-url"),
        (["--base-url", "http://127.0.0.1:99999/v1", "--model", "m"], "--base-url"),
        (["--skip-capability", "no_such_capability"], "no_such_capability"),
    ],
)
def test_bad_configuration_is_one_line_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    proc = cli("run", *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert needle in _one_error_line(proc)


def test_unreachable_host_is_one_line_exit_2(tmp_path: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    proc = cli("run", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "m", cwd=tmp_path)
    assert proc.returncode == 2
    assert "cannot reach" in _one_error_line(proc)


def test_rejected_key_is_one_line_exit_2_and_never_printed(tmp_path: Path) -> None:
    with ReferenceServer(api_key="sk-the-right-key") as server:
        proc = cli("run", "--base-url", server.base_url, "--model", "reference-1", "--api-key-env", "CONF_KEY",
                   cwd=tmp_path, env={"CONF_KEY": SECRET})
    assert proc.returncode == 2
    line = _one_error_line(proc)
    assert "authentication rejected" in line and "$CONF_KEY" in line
    assert SECRET not in proc.stdout + proc.stderr


def test_real_endpoint_run_keeps_key_out_of_every_report(tmp_path: Path) -> None:
    with ReferenceServer(api_key=SECRET) as server:
        proc = cli("run", "--base-url", server.base_url, "--model", "reference-1", "--api-key-env", "CONF_KEY",
                   "--provider", "local", "-k", "basic.text or errors.invalid_auth or streaming.text",
                   cwd=tmp_path, env={"CONF_KEY": SECRET})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert SECRET not in proc.stdout + proc.stderr
    files = list((tmp_path / "reports").iterdir())
    assert len(files) == 4  # results JSON, HTML, JUnit, and the recording (.har.gz)
    for path in files:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        assert SECRET not in raw.decode("utf-8", errors="replace"), path
    doc = json.loads((tmp_path / "reports" / "local__reference-1.json").read_text())
    assert any("$CONF_KEY" in ex["curl"] for c in doc["cases"] for ex in c["exchanges"])


def test_server_errors_are_inconclusive_not_failures(tmp_path: Path) -> None:
    def script(conn: socket.socket, _: bytes) -> None:
        body = b'{"error":{"message":"upstream down","type":"server_error","param":null,"code":null}}'
        conn.sendall(head("502 Bad Gateway", {"Content-Type": "application/json", "Content-Length": str(len(body)),
                                              "Connection": "close"}) + body)

    with hostile_server(script) as url:
        proc = cli("run", "--base-url", url, "--model", "m", "--provider", "down", "-k", "basic or input.string",
                   cwd=tmp_path)
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    doc = json.loads((tmp_path / "reports" / "down__m.json").read_text())
    assert doc["cases"] and all(c["outcome"] == "error" for c in doc["cases"])
    junit = (tmp_path / "reports" / "down__m.junit.xml").read_text()
    assert "<error" in junit and "<failure" not in junit


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds not present")
def test_judge_flags_the_nonconformant_seed(tmp_path: Path) -> None:
    proc = cli("judge", str(SEEDS / "002_53df93a851a5ecff.txt"), cwd=tmp_path)
    assert proc.returncode == 1
    assert "response.content_parts" in proc.stdout and '"text"' in proc.stdout
    assert "prompt_tokens" in proc.stdout


def test_judge_passes_a_recorded_reference_response_and_stream(tmp_path: Path) -> None:
    import httpx

    with ReferenceServer() as server:
        body = httpx.post(f"{server.base_url}/responses", json={"model": "reference-1", "input": "hi"}).content
        stream = httpx.post(f"{server.base_url}/responses",
                            json={"model": "reference-1", "input": "hi", "stream": True}).content
    (tmp_path / "r.json").write_bytes(body)
    (tmp_path / "s.sse").write_bytes(stream)
    proc = cli("judge", "r.json", "s.sse", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.count("PASS") == 2


def test_plain_pytest_collects_and_runs_cases(tmp_path: Path) -> None:
    out = tmp_path / "plain.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance/suite/cases", "-q", "-k", "basic.text or input.string",
                           "--conformance-json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "2 passed" in proc.stdout
    assert {c["id"] for c in json.loads(out.read_text())["cases"]} == {"basic.text", "input.string"}


@pytest.mark.parametrize("args", [["--conformance-skip-capability", "no_such_capability"],
                                  ["--conformance-deadline", "nan"], ["--conformance-max-time", "-3"]])
def test_plain_pytest_refuses_bad_run_options_in_one_line(args: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance/suite/cases", "-q", "-k", "basic.text", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 4, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert args[0] in proc.stderr and "Traceback" not in proc.stdout + proc.stderr


def test_results_never_replace_a_special_file(tmp_path: Path) -> None:
    from conformance.report import write_results

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        write_results(fifo, {"x": 1})
    assert fifo.is_fifo()


def test_serve_requires_the_key_and_lists_deviations(tmp_path: Path) -> None:
    import time

    import httpx

    listing = cli("serve", "--list-deviations", cwd=tmp_path)
    assert listing.returncode == 0
    assert "chat_usage_names" in listing.stdout and "crlf" in listing.stdout
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen([sys.executable, "-m", "conformance", "serve", "--port", str(port), "--api-key", "sk-serve"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert f"127.0.0.1:{port}/v1" in proc.stdout.readline()
        url = f"http://127.0.0.1:{port}/v1/responses"
        body = {"model": "reference-1", "input": "Reply with exactly the token SERVED."}
        for _ in range(50):
            try:
                denied = httpx.post(url, json=body)
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert denied.status_code == 401 and "error" in denied.json()
        ok = httpx.post(url, json=body, headers={"Authorization": "Bearer sk-serve"})
        assert ok.status_code == 200
        assert ok.json()["output"][0]["content"][0]["text"] == "SERVED"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_bad_port_is_one_line_exit_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        proc = cli("serve", "--port", str(busy.getsockname()[1]), cwd=tmp_path)
    assert proc.returncode == 2
    assert "--port" in _one_error_line(proc)


# -- hostile inputs: one line, exit 2, never a traceback (issue 11) -------------------------------------------------

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join(['*' + chr(97 + n)] * 10)}]\n" for n in range(8))


@pytest.mark.parametrize("kind", ["providers", "baseline", "case"])
@pytest.mark.parametrize("content", ["nul", "alias_bomb"])
def test_a_nul_byte_or_an_alias_bomb_in_a_yaml_file_is_one_line_exit_2(tmp_path: Path, kind: str, content: str) -> None:
    text = "providers:\n  - name: a\x00b\n" if content == "nul" else ALIAS_BOMB
    path = tmp_path / ("cases" if kind == "case" else ".") / "f.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    args = {"providers": ["--config", str(path)], "baseline": ["--baseline", str(path), "-k", "basic.text"],
            "case": ["--cases", str(path.parent)]}[kind]
    t0 = time.monotonic()
    proc = cli("run", *args, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    line = _one_error_line(proc)
    assert "f.yaml:" in line and ("NUL" in line if content == "nul" else "alias" in line), line
    assert time.monotonic() - t0 < 30


def test_reports_must_be_a_writable_directory(tmp_path: Path) -> None:
    a_file = tmp_path / "afile"
    a_file.write_text("")
    proc = cli("run", "--reports", str(a_file), "-k", "basic.text", cwd=tmp_path)
    assert proc.returncode == 2 and "not a directory" in _one_error_line(proc)
    proc = cli("run", "--reports", "/proc/conformance-reports", "-k", "basic.text", cwd=tmp_path)
    assert proc.returncode == 2 and "not writable" in _one_error_line(proc)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in read-only folders")
def test_reports_in_a_read_only_folder_is_one_line_exit_2(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    proc = cli("run", "--reports", str(folder), "-k", "basic.text", cwd=tmp_path)
    assert proc.returncode == 2 and "not writable" in _one_error_line(proc)


def test_a_closed_pipe_is_no_traceback(tmp_path: Path) -> None:
    """``serve --list-deviations | head``: the reader is gone before we write."""
    proc = subprocess.Popen([sys.executable, "-m", "conformance", "serve", "--list-deviations"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert err == ""


def test_a_full_disk_leaves_no_tmp_results_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from conformance.report import results

    out = tmp_path / "r.json"
    out.write_text('{"old": true}\n')

    def full(document: object, fh: io.TextIOBase, **_: object) -> None:
        fh.write('{"half": ')
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(results.json, "dump", full)
    with pytest.raises(OSError, match="No space left"):
        results.write_results(out, {"x": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
    assert out.read_text() == '{"old": true}\n'
