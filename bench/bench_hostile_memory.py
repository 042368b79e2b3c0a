"""Benchmark: peak memory of a whole ``run`` against each hostile behaviour of the tests' loopback servers.

Measured here, never asserted in timed tests (the tests assert each bound on its own). Each behaviour is served
by ``tests._hostile.hostile_server`` on loopback and a ``responses-conformance run`` child process is pointed at
it; the child's peak resident set (``VmHWM`` of ``/proc/<pid>/status``, the kernel's high-water mark of its own
address space, read until it exits) is printed per behaviour, then the largest. (``ru_maxrss`` would not do: a
child starts from its parent's high-water mark at the fork, and this parent serves the bombs.) Run:

    .venv/bin/python bench/bench_hostile_memory.py [--only NAME,...] [--select EXPR | --full] [--bomb-gib 1]

The default selection (``-k``) takes a raw create, a stream, an error case and the SDK path (plain and
streamed): every transport a hostile answer can reach. ``--full`` runs the whole default suite against each
behaviour (slow: every case then meets the behaviour). The server answers the run's reachability preflight
(GET of a preflight id) with a plain 404 so that every behaviour reaches the cases; the probe preflight is
skipped (``--assume-probes``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' loopback server, run from anywhere

import brotli  # noqa: E402

from tests._hostile import head, hostile_server, sse_head  # noqa: E402
from tests.test_hostile_secrets import KEY, echo_script  # noqa: E402

Script = Callable[[socket.socket, bytes], None]
DEFAULT_SELECT = "basic.text or streaming.text or errors.missing_model or sdk.create or sdk.create_stream"
MIB = 1 << 20


def _body(conn: socket.socket, payload: bytes, headers: dict[str, str]) -> None:
    conn.sendall(head("200 OK", {**headers, "Content-Length": str(len(payload)), "Connection": "close"}) + payload)


def encoded(payload: bytes, encoding: str) -> Script:
    def script(conn: socket.socket, _: bytes) -> None:
        _body(conn, payload, {"Content-Type": "application/json", "Content-Encoding": encoding})

    return script


def huge(mib: int) -> Script:
    block = b"x" * MIB

    def script(conn: socket.socket, _: bytes) -> None:
        conn.sendall(head("200 OK", {"Content-Type": "application/json", "Content-Length": str(mib * MIB),
                                     "Connection": "close"}))
        for _count in range(mib):
            conn.sendall(block)

    return script


def endless_stream(conn: socket.socket, _: bytes) -> None:
    """SSE deltas as fast as loopback goes, never a terminal event (until the client hangs up)."""
    line = b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"xxxxxxxx"}\n\n'
    block = line * ((1 << 16) // len(line))
    conn.sendall(sse_head())
    while True:
        conn.sendall(block)


def many_events(conn: socket.socket, _: bytes) -> None:
    """A million tiny events, then the end."""
    conn.sendall(sse_head() + b'data: {"type":"response.in_progress","sequence_number":1}\n\n' * 1_000_000)


def deep_json(conn: socket.socket, _: bytes) -> None:
    _body(conn, b"[" * 100_000, {"Content-Type": "application/json"})


def deep_events(conn: socket.socket, _: bytes) -> None:
    conn.sendall(sse_head() + b"".join(b"data: " + b"[" * 50_000 + b"\n\n" for _ in range(20)))


def silent(conn: socket.socket, _: bytes) -> None:
    time.sleep(30)


def headers_forever(conn: socket.socket, _: bytes) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for i in range(3000):
        conn.sendall(f"X-Header-{i}: {'v' * 100}\r\n".encode())
        time.sleep(0.01)


def drip(conn: socket.socket, _: bytes) -> None:
    """The status line and headers, then one byte of body every 0.3 s."""
    conn.sendall(sse_head())
    for byte in b'data: {"type":"response.created","sequence_number":0}\n\n' * 10:
        conn.sendall(bytes([byte]))
        time.sleep(0.3)


def retry_after(conn: socket.socket, _: bytes) -> None:
    body = b'{"error":{"message":"later","type":"rate_limit_error","param":null,"code":null}}'
    conn.sendall(head("429 Too Many Requests", {"Content-Type": "application/json", "Retry-After": "3600",
                                                "Content-Length": str(len(body)), "Connection": "close"}) + body)


def escapes(conn: socket.socket, _: bytes) -> None:
    body = ('{"error":{"message":"' + "\x1b]0;pwned\x07\x1b[2J" * 1000 + '","type":"x"}}').encode()
    conn.sendall(head("400 Bad Request", {"Content-Type": "application/json", "Content-Length": str(len(body)),
                                          "Connection": "close"}) + body)


def _gzip_stream(pieces: Callable[[], Any], level: int = 9) -> bytes:
    """gzip of the concatenated ``pieces()``, compressed piece by piece (never all in memory)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return b"".join(compressor.compress(piece) for piece in pieces()) + compressor.flush()


def behaviours(bomb_gib: int) -> dict[str, Script]:
    zeros = b"\0" * MIB
    gzip_bomb = gzip.compress(zeros, compresslevel=9) * (bomb_gib << 10)
    compressor = brotli.Compressor(quality=5)
    br_bomb = b"".join(compressor.process(zeros) for _ in range(bomb_gib << 10)) + compressor.finish()
    inner = _gzip_stream(lambda: (zeros for _ in range(bomb_gib << 10)))  # 1 GiB of zeros: ~1 MiB of gzip
    nested = _gzip_stream(lambda: (inner for _ in range(16)))  # its middle layer is 16 MiB: past the bound
    conforming = json.dumps({"id": "resp_1", "object": "response", "status": "completed", "output": []}).encode()
    return {
        "gzip bomb": encoded(gzip_bomb, "gzip"),
        "br bomb": encoded(br_bomb, "br"),
        "nested bomb (gzip in gzip)": encoded(nested, "gzip, gzip"),
        "unknown coding": encoded(gzip.compress(conforming), "gzip, zstd"),
        "huge identity body": huge(256),
        "endless fast stream": endless_stream,
        "a million events": many_events,
        "deep JSON body": deep_json,
        "deep JSON events": deep_events,
        "accepts and never answers": silent,
        "header block never ends": headers_forever,
        "drips one byte at a time": drip,
        "Retry-After 3600": retry_after,
        "terminal escapes": escapes,
        "echoes the key in every encoding": echo_script([]),
    }


def passing_preflight(script: Script) -> Script:
    """``script``, except for the run's reachability preflight, answered with a plain 404."""

    def serve(conn: socket.socket, request: bytes) -> None:
        if request.startswith(b"GET ") and b"resp_conformance_preflight" in request.split(b"\r\n", 1)[0]:
            body = b'{"error":{"message":"not found","type":"invalid_request_error","param":null,"code":null}}'
            conn.sendall(head("404 Not Found", {"Content-Type": "application/json", "Content-Length": str(len(body)),
                                                "Connection": "close"}) + body)
            return
        script(conn, request)

    return serve


def _hwm(pid: int) -> int:
    """The process's VmHWM in bytes (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def run_child(args: list[str], cwd: Path) -> tuple[int, float, int]:
    """Exit code, wall seconds and peak RSS in bytes of one ``run`` child."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOSTILE_KEY": KEY}
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "conformance", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:  # the high-water mark only grows: the last reading before exit is the peak,
        peak = max(peak, _hwm(proc.pid))  # give or take what the last 50 ms (writing reports) added
        time.sleep(0.05)
    return proc.returncode, time.monotonic() - t0, peak


def measure(name: str, script: Script | None, select: str | None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        common = ["run", "--model", "m", "--provider", "bench", "--assume-probes", "--idle-timeout", "3",
                  "--deadline", "15", "--max-time", "300", "--no-matrix"] + (["-k", select] if select else [])
        if script is None:
            code, took, peak = run_child(common[:1] + common[5:], Path(tmp))  # the embedded reference server
        else:
            with hostile_server(passing_preflight(script)) as url:
                code, took, peak = run_child(common + ["--base-url", url, "--api-key-env", "HOSTILE_KEY"], Path(tmp))
        results = list((Path(tmp) / "reports").glob("*.json"))
        outcomes = ""
        if results:
            doc = json.loads(results[0].read_text())
            counts: dict[str, int] = {}
            for case in doc.get("cases", []):
                counts[case["outcome"]] = counts.get(case["outcome"], 0) + 1
            outcomes = " ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"{name:<34} peak {peak / MIB:7.1f} MiB  exit {code}  {took:6.1f} s  {outcomes or 'no results file'}",
          flush=True)
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated behaviour names (default: all)")
    parser.add_argument("--select", default=DEFAULT_SELECT, help="-k expression of the cases each run takes")
    parser.add_argument("--full", action="store_true", help="every case of the default suite (slow)")
    parser.add_argument("--bomb-gib", type=int, default=1, help="what each bomb inflates to")
    args = parser.parse_args()
    select = None if args.full else args.select
    chosen = behaviours(args.bomb_gib)
    if args.only:
        wanted = [n.strip() for n in args.only.split(",")]
        chosen = {n: s for n, s in chosen.items() if n in wanted}
    print(f"cases: {'the whole default suite' if select is None else select}")
    baseline = measure("conforming (embedded reference)", None, select)
    peaks = {name: measure(name, script, select) for name, script in chosen.items()}
    worst = max(peaks, key=peaks.__getitem__) if peaks else "-"
    print(f"overall peak {max(peaks.values(), default=0) / MIB:.1f} MiB ({worst}); a conforming run "
          f"{baseline / MIB:.1f} MiB")


if __name__ == "__main__":
    main()
