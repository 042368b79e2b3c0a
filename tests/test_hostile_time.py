"""Bounded time against servers that never answer or never finish their headers (issue 11).

Every wait is bounded: a server that accepts and says nothing is an ``idle_timeout``, a header block
dripped forever runs into the overall deadline; both are inconclusive errors, recorded within their bound.
"""

from __future__ import annotations

import socket
import time

import pytest

from conformance.recorder import Limits, Recorder, Target
from conformance.ws_recorder import WSRecorder
from tests._hostile import hostile_server, sleep_then_close


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
