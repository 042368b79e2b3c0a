"""Bounded time against servers that never answer or never finish their headers (issue 11).

Every wait is bounded: a server that accepts and says nothing is an ``idle_timeout``, a header block
dripped forever runs into the overall deadline; both are inconclusive errors, recorded within their bound.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance.record.har import read_recording
from conformance.record.http import Limits, Recorder, Target
from conformance.record.websocket import WSRecorder
from conformance.report import RESULTS_SCHEMA_PATH
from conformance.suite import CASES_DIR
from tests._hostile import head, hostile_server, sleep_then_close

ROOT = Path(__file__).resolve().parent.parent


def headers_forever(conn: socket.socket, _: bytes) -> None:
    """A status line, then one header every 0.1s, never the blank line that ends the block."""
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for n in range(300):
        conn.sendall(f"X-Drip-{n}: {'a' * 8}\r\n".encode())
        time.sleep(0.1)


def _record(url: str, limits: Limits, stream: bool) -> tuple[object, float]:
    rec = Recorder(Target(url, "m"), limits)
    t0 = time.monotonic()
    try:
        ex = rec.record("s", "POST", "/responses", {"model": "m", "stream": stream})
    finally:
        rec.close()
    return ex, time.monotonic() - t0


@pytest.mark.parametrize("stream", [False, True])
def test_a_server_that_accepts_and_never_answers_is_an_idle_timeout(stream: bool) -> None:
    with hostile_server(sleep_then_close(30)) as url:
        ex, took = _record(url, Limits(idle_timeout_s=0.5, deadline_s=5, retries=0), stream)
    assert ex.error_kind == "idle_timeout", ex.error  # type: ignore[attr-defined]
    assert ex.status is None  # type: ignore[attr-defined]
    assert took < 2.0


@pytest.mark.parametrize("stream", [False, True])
def test_headers_that_never_end_hit_the_overall_deadline(stream: bool) -> None:
    with hostile_server(headers_forever) as url:
        ex, took = _record(url, Limits(idle_timeout_s=1.0, deadline_s=1.0, retries=0), stream)
    assert ex.error_kind == "deadline", ex.error  # type: ignore[attr-defined]
    assert took < 2.5


def test_the_idle_bound_fires_before_the_deadline_while_waiting_for_headers() -> None:
    with hostile_server(sleep_then_close(30)) as url:
        ex, took = _record(url, Limits(idle_timeout_s=0.4, deadline_s=20, retries=0), False)
    assert ex.error_kind == "idle_timeout"  # type: ignore[attr-defined]
    assert took < 1.5


def test_a_recorder_stays_usable_after_an_abandoned_header_wait() -> None:
    calls: list[int] = []

    def first_drips_then_answers(conn: socket.socket, request: bytes) -> None:
        calls.append(1)
        if len(calls) == 1:
            headers_forever(conn, request)
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")

    with hostile_server(first_drips_then_answers) as url:
        rec = Recorder(Target(url, "m"), Limits(idle_timeout_s=1.0, deadline_s=0.8, retries=0))
        try:
            first = rec.record("a", "POST", "/responses", {"model": "m"})
            second = rec.record("b", "POST", "/responses", {"model": "m"})
        finally:
            rec.close()
    assert first.error_kind == "deadline"
    assert second.status == 200 and second.error_kind is None and second.body == b"{}"


def _ws_connect(url: str, limits: Limits) -> tuple[object, float]:
    target = Target(url, "m")
    rec = Recorder(target, limits)
    t0 = time.monotonic()
    conn, refused = WSRecorder(target, limits, rec.redactor).connect("ws", "/responses")
    rec.close()
    assert conn.closed and refused is not None
    return refused, time.monotonic() - t0


def test_a_websocket_upgrade_that_is_never_answered_is_bounded() -> None:
    with hostile_server(sleep_then_close(30)) as url:
        ex, took = _ws_connect(url, Limits(connect_timeout_s=0.5, idle_timeout_s=0.5, deadline_s=5, retries=0))
    assert ex.error_kind == "timeout"  # type: ignore[attr-defined]
    assert took < 2.0


def test_a_websocket_upgrade_whose_headers_never_end_is_bounded() -> None:
    with hostile_server(headers_forever) as url:
        ex, took = _ws_connect(url, Limits(connect_timeout_s=0.5, idle_timeout_s=0.5, deadline_s=1.0, retries=0))
    assert ex.error_kind == "timeout"  # type: ignore[attr-defined]
    assert took < 2.5


@pytest.mark.parametrize("script", [sleep_then_close(30), headers_forever], ids=["never_answers", "headers_forever"])
def test_an_sdk_step_against_a_silent_server_is_a_bounded_error(script: Callable[[socket.socket, bytes], None]) -> None:
    from conformance._verdict import Outcome
    from conformance.cases import load_cases
    from conformance.run.engine import judge, record_case

    (case,) = [c for c in load_cases(CASES_DIR / "sdk.yaml") if c.id == "sdk.stream_helper"]
    with hostile_server(script) as url:
        rec = Recorder(Target(url, "m", api_key="sk-x"), Limits(idle_timeout_s=0.5, deadline_s=1.0, retries=0))
        t0 = time.monotonic()
        try:
            result = judge(record_case(case, rec))
        finally:
            rec.close()
    assert time.monotonic() - t0 < 4
    assert result.outcome is Outcome.ERROR, (result.outcome, result.message)
    assert result.exchanges[0].error_kind in ("idle_timeout", "deadline")
    sdk = result.exchanges[0].sdk
    assert sdk is not None and sdk["exception"]["type"] == "APITimeoutError"


def test_max_time_cuts_an_exchange_in_flight_and_sends_nothing_after_it() -> None:
    with hostile_server(sleep_then_close(30)) as url:
        rec = Recorder(Target(url, "m"), Limits(idle_timeout_s=20, deadline_s=30, retries=0))
        rec.stop_at = time.monotonic() + 0.5
        try:
            t0 = time.monotonic()
            cut = rec.record("a", "POST", "/responses", {"model": "m"})
            took = time.monotonic() - t0
            after = rec.record("b", "POST", "/responses", {"model": "m"})
        finally:
            rec.close()
    assert cut.error_kind == "time_limit" and took < 1.5
    assert after.error_kind == "time_limit" and after.error.startswith("not sent")  # type: ignore[union-attr]


# -- the whole run: --max-time ------------------------------------------------------------------

def slow_answer(seconds: float) -> Callable[[socket.socket, bytes], None]:
    """Every request answered after ``seconds`` with a 502 (inconclusive, so nothing is judged)."""

    def script(conn: socket.socket, _: bytes) -> None:
        time.sleep(seconds)
        body = b'{"error":{"message":"slow","type":"server_error","param":null,"code":null}}'
        conn.sendall(head("502 Bad Gateway", {"Content-Type": "application/json", "Content-Length": str(len(body)),
                                              "Connection": "close"}) + body)

    return script


def run_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", "run", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_max_time_skips_the_remaining_cases_and_writes_every_report(tmp_path: Path) -> None:
    with hostile_server(slow_answer(1.0)) as url:
        t0 = time.monotonic()
        proc = run_cli("--base-url", url, "--model", "m", "--provider", "slow", "--assume-probes", "--concurrency", "1",
                       "--max-time", "20", "-k", "basic or input or errors", cwd=tmp_path)
        took = time.monotonic() - t0
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    reports = tmp_path / "reports"
    doc = json.loads((reports / "slow__m.json").read_text())
    outcomes = [(c["outcome"], c["message"]) for c in doc["cases"]]
    limited = [m for o, m in outcomes if o == "skipped" and m.startswith("skipped (time limit)")]
    assert limited and len(limited) < len(outcomes), outcomes
    assert doc["run"]["time_limited"] == len(limited) and doc["run"]["max_time_s"] == 20
    assert doc["run"]["complete"] is True
    assert (reports / "slow__m.html").is_file() and (reports / "slow__m.junit.xml").is_file()
    assert took < 45


# -- Ctrl-C and SIGTERM ---------------------------------------------------------------------------------


def _answer_preflight_then_stall(posts: list[bytes]) -> Callable[[socket.socket, bytes], None]:
    """The preflight GET is answered (404), every case request is held unanswered for a minute."""

    def script(conn: socket.socket, request: bytes) -> None:
        if request.startswith(b"GET "):
            body = b'{"error":{"message":"no such response","type":"invalid_request_error","param":null,"code":null}}'
            conn.sendall(head("404 Not Found", {"Content-Type": "application/json", "Content-Length": str(len(body)),
                                                "Connection": "close"}) + body)
            return
        posts.append(request)
        time.sleep(60)

    return script


@contextmanager
def _spawned(args: list[str], **popen: Any) -> Iterator[subprocess.Popen[str]]:
    """``args`` started with its output piped as text, and killed at exit if still running (a failed wait or
    assertion must not leave it behind)."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()


def _wait_for(ready: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    """Poll until ``ready()``: at most 60 s, and no longer than ``proc`` runs."""
    waited = time.monotonic()
    while not ready() and time.monotonic() - waited < 60 and proc.poll() is None:
        time.sleep(0.05)


def _stop(proc: subprocess.Popen[str], sig: int, timeout: float) -> tuple[str, str, float]:
    """Send ``sig``; ``proc``'s stdout and stderr, and the seconds it took to end after the signal."""
    t0 = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=timeout)
    return out, err, time.monotonic() - t0


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_run_quickly_with_partial_reports(tmp_path: Path, sig: signal.Signals, code: int) -> None:
    posts: list[bytes] = []
    with hostile_server(_answer_preflight_then_stall(posts)) as url, _spawned(
            [sys.executable, "-m", "conformance", "run", "--base-url", url, "--model", "m", "--provider", "slow",
             "--assume-probes", "--concurrency", "2", "--idle-timeout", "100",
             "--deadline", "200", "-k", "basic or input"],
            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}) as proc:
        _wait_for(lambda: len(posts) >= 2, proc)
        assert len(posts) >= 2, "the run never sent a case request"
        time.sleep(0.3)
        out, err, took = _stop(proc, sig, timeout=10)
    assert proc.returncode == code, out[-2000:] + err[-2000:]
    assert took < 2.0, took
    assert "Traceback" not in err
    reports = tmp_path / "reports"
    doc = json.loads((reports / "slow__m.json").read_text())
    assert doc["run"]["complete"] is False and doc["run"]["interrupted"] is True
    jsonschema.validate(doc, json.loads(RESULTS_SCHEMA_PATH.read_text()))
    assert (reports / "slow__m.html").is_file() and (reports / "slow__m.junit.xml").is_file()
    assert not list(reports.glob("*.tmp")) and not list(reports.glob("*.partial"))
    recording = read_recording(reports / "slow__m.har.gz")  # the recording is finished too, with the same cases
    assert [c.id for c in recording.cases] == [c["id"] for c in doc["cases"]]
    assert recording.meta["run"]["interrupted"] is True


@pytest.mark.parametrize("script", [sleep_then_close(60), headers_forever], ids=["never_answers", "headers_forever"])
def test_the_run_against_a_silent_server_ends_within_its_bounds(tmp_path: Path,
                                                                  script: Callable[[socket.socket, bytes], None]) -> None:
    """The issue's report: ``--deadline 10 --idle-timeout 5`` hung forever; now the preflight gives up in time."""
    with hostile_server(script) as url:
        t0 = time.monotonic()
        proc = run_cli("--base-url", url, "--model", "m", "--deadline", "10", "--idle-timeout", "5", cwd=tmp_path,
                       timeout=60)
        took = time.monotonic() - t0
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot reach" in lines[0] and "Traceback" not in proc.stderr
    assert took < 10 + 8  # the bound, plus interpreter start-up on a loaded machine


def test_max_time_cuts_a_websocket_upgrade_in_flight_and_opens_nothing_after_it() -> None:
    limits = Limits(connect_timeout_s=20, idle_timeout_s=20, deadline_s=30, retries=0)
    with hostile_server(sleep_then_close(30)) as url:
        target = Target(url, "m")
        rec = Recorder(target, limits)
        ws = WSRecorder(target, limits, rec.redactor, stop_at=time.monotonic() + 0.5)
        t0 = time.monotonic()
        _, cut = ws.connect("a", "/responses")
        took = time.monotonic() - t0
        _, after = ws.connect("b", "/responses")
        rec.close()
    assert cut is not None and cut.error_kind == "time_limit" and took < 1.5
    assert after is not None and after.error_kind == "time_limit"


def test_ctrl_c_during_the_preflight_still_writes_the_results_file(tmp_path: Path) -> None:
    seen: list[bytes] = []

    def script(conn: socket.socket, request: bytes) -> None:
        seen.append(request)
        time.sleep(60)

    with hostile_server(script) as url, _spawned(
            [sys.executable, "-m", "conformance", "run", "--base-url", url, "--model", "m", "--provider", "slow",
             "--idle-timeout", "100", "--deadline", "200"],
            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}) as proc:
        _wait_for(lambda: bool(seen), proc)
        assert seen and seen[0].startswith(b"GET "), "no preflight request arrived"
        out, err, took = _stop(proc, signal.SIGINT, timeout=10)
    assert proc.returncode == 130, out[-2000:] + err[-2000:]
    assert took < 2.0 and "Traceback" not in err
    doc = json.loads((tmp_path / "reports" / "slow__m.json").read_text())
    assert doc["run"]["complete"] is False and doc["run"]["interrupted"] is True and doc["cases"] == []


def test_ctrl_c_stops_plain_pytest_quickly_too(tmp_path: Path) -> None:
    """``pytest cases/`` has no os._exit behind it: the recorder's abort must end the cases in flight."""
    posts: list[bytes] = []
    out = tmp_path / "plain.json"
    with hostile_server(_answer_preflight_then_stall(posts)) as url, _spawned(
            [sys.executable, "-m", "pytest", "conformance/suite/cases", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "--conformance-base-url", url, "--conformance-model", "m",
             "--conformance-assume-probes", "--conformance-concurrency", "2", "--conformance-idle-timeout", "100",
             "--conformance-deadline", "200", "-k",
             "basic or input", "--conformance-json", str(out)],
            cwd=ROOT) as proc:
        _wait_for(lambda: len(posts) >= 2, proc)
        assert len(posts) >= 2, "the run never sent a case request"
        stdout, stderr, took = _stop(proc, signal.SIGINT, timeout=20)
    assert proc.returncode == 2, stdout[-2000:] + stderr[-2000:]  # pytest's "interrupted"
    assert took < 8.0, took  # no watchdog here: the bound is "not an idle timeout (100s)", on a loaded machine
    doc = json.loads(out.read_text())
    assert doc["run"]["complete"] is False and doc["run"]["interrupted"] is True
