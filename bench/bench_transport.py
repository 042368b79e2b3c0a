"""Benchmark: peak and retained memory of recording huge, compressed and bomb bodies on loopback.

Measured here, never asserted in timed tests (tests/test_hostile_transport.py asserts the bounds). Run:

    .venv/bin/python bench/bench_transport.py [--huge-mib 256] [--bomb-gib 1] [--limit-mib 16] [--keep 8]

Prints one line per scenario: what the server sent, the outcome, time, tracemalloc peak while recording,
and memory still held by ``--keep`` recorded exchanges (what a full run keeps per case).
"""

from __future__ import annotations

import argparse
import gzip
import socket
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' loopback server, run from anywhere

import brotli  # noqa: E402

from conformance.record.http import Limits, Recorder, Target  # noqa: E402
from tests._hostile import hostile_server  # noqa: E402

Sender = Callable[[socket.socket], None]


def head(headers: dict[str, str]) -> bytes:
    return ("HTTP/1.1 200 OK\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()


def huge(mib: int) -> Sender:
    block = b"x" * (1 << 20)

    def send(conn: socket.socket) -> None:
        conn.sendall(head({"Content-Type": "application/json", "Connection": "close"}))
        for _ in range(mib):
            conn.sendall(block)

    return send


def encoded(payload: bytes, encoding: str = "gzip") -> Sender:
    def send(conn: socket.socket) -> None:
        conn.sendall(head({"Content-Type": "application/json", "Content-Encoding": encoding,
                           "Content-Length": str(len(payload)), "Connection": "close"}))
        conn.sendall(payload)

    return send


def fast_stream(mib: int) -> Sender:
    """SSE deltas sent as fast as loopback goes: faster than we parse them (the pump must not read ahead)."""
    line = b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"xxxxxxxx"}\n\n'
    block = line * ((1 << 20) // len(line))

    def send(conn: socket.socket) -> None:
        conn.sendall(head({"Content-Type": "text/event-stream", "Connection": "close"}))
        for _ in range(mib):
            conn.sendall(block)

    return send


def measure(name: str, send: Sender, limits: Limits, keep: int, stream: bool = False) -> None:
    with hostile_server(lambda conn, _request: send(conn)) as url:
        rec = Recorder(Target(url, "bench"), limits)
        tracemalloc.start()
        t0 = time.perf_counter()
        kept = [rec.record("bench", "POST", "/responses", {"model": "bench", "stream": True}) if stream
                else rec.record("bench", "GET", "/responses/x") for _ in range(keep)]
        took = time.perf_counter() - t0
        held, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rec.close()
    ex = kept[0]
    print(f"{name:<34} {ex.error_kind or 'ok':<10} body {ex.body_size / 2**20:8.2f} MiB  "
          f"{took / keep:6.2f} s/request  peak {peak / 2**20:7.2f} MiB  held x{keep} {held / 2**20:7.2f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--huge-mib", type=int, default=256)
    parser.add_argument("--bomb-gib", type=int, default=1)
    parser.add_argument("--limit-mib", type=int, default=16)
    parser.add_argument("--keep", type=int, default=8)
    args = parser.parse_args()
    limits = Limits(max_body_bytes=args.limit_mib << 20, idle_timeout_s=30, deadline_s=120)
    member = gzip.compress(b"\0" * (1 << 20), compresslevel=9)
    bomb = member * (args.bomb_gib << 10)
    br_bomb = brotli.compress(b"\0" * (args.bomb_gib << 30), quality=5)
    plain = b'{"id":"resp_1","object":"response","pad":"' + b"y" * (4 << 20) + b'"}'
    print(f"bound {args.limit_mib} MiB; gzip bomb {len(bomb) / 2**20:.2f} MiB on the wire, br bomb "
          f"{len(br_bomb) / 2**10:.2f} KiB, each {args.bomb_gib} GiB inflated")
    measure(f"identity {args.huge_mib} MiB", huge(args.huge_mib), limits, args.keep)
    measure(f"gzip bomb {args.bomb_gib} GiB", encoded(bomb), limits, args.keep)
    measure(f"br bomb {args.bomb_gib} GiB", encoded(br_bomb, "br"), limits, args.keep)
    measure("gzip conforming 4 MiB", encoded(gzip.compress(plain)), limits, args.keep)
    measure("br conforming 4 MiB", encoded(brotli.compress(plain), "br"), limits, args.keep)
    measure(f"SSE deltas {args.huge_mib} MiB, fast", fast_stream(args.huge_mib), limits, 1, stream=True)


if __name__ == "__main__":
    main()
