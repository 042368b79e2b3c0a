"""The recorder against hostile servers: every kind of infrastructure trouble is inconclusive, never a failure."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable

import pytest

from conformance.record.http import ConfigError, Limits, Recorder, Target
from tests._hostile import head, hostile_server, sse_head

KEY = "sk-test-SECRET-value-123456"


def _event(payload: dict) -> bytes:
    return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode()


def test_stalled_stream_is_idle_timeout_and_keeps_events() -> None:
    def script(conn: socket.socket, _: bytes) -> None:
        conn.sendall(sse_head() + _event({"type": "response.created", "sequence_number": 0}))
        time.sleep(3)

    with hostile_server(script) as url:
        rec = Recorder(Target(url, "m"), Limits(idle_timeout_s=0.5, deadline_s=10))
        t0 = time.monotonic()
        ex = rec.record("s", "POST", "/responses", {"model": "m", "stream": True})
        assert time.monotonic() - t0 < 2.5
    assert ex.error_kind == "idle_timeout"
    assert ex.events is not None and len(ex.events) == 1
    assert ex.events[0].json()["type"] == "response.created"


def test_slow_drip_stream_hits_overall_deadline() -> None:
    def script(conn: socket.socket, _: bytes) -> None:
        conn.sendall(sse_head())
        for _ in range(100):
            conn.sendall(b": drip\n")
            time.sleep(0.05)

    with hostile_server(script) as url:
        rec = Recorder(Target(url, "m"), Limits(idle_timeout_s=1.0, deadline_s=0.6))
        ex = rec.record("s", "POST", "/responses", {"model": "m", "stream": True})
    assert ex.error_kind == "deadline"
    assert ex.elapsed_s < 2.0


def test_endless_stream_after_terminal_event_is_not_an_error() -> None:
    def script(conn: socket.socket, _: bytes) -> None:
        conn.sendall(sse_head() + _event({"type": "response.completed", "sequence_number": 0}))
        for _ in range(60):
            conn.sendall(b": still here\n\n")
            time.sleep(0.05)

    with hostile_server(script) as url:
        rec = Recorder(Target(url, "m"), Limits(after_terminal_grace_s=0.3, idle_timeout_s=5, deadline_s=10))
        ex = rec.record("s", "POST", "/responses", {"model": "m", "stream": True})
    assert ex.error_kind is None
    assert ex.events is not None and [e.json()["type"] for e in ex.events] == ["response.completed"]


def test_huge_body_is_bounded() -> None:
    def script(conn: socket.socket, _: bytes) -> None:
        conn.sendall(head("200 OK", {"Content-Type": "application/json", "Connection": "close"}))
        for _ in range(64):
            conn.sendall(b"x" * 65536)

    with hostile_server(script) as url:
        rec = Recorder(Target(url, "m"), Limits(max_body_bytes=100_000))
        ex = rec.record("s", "POST", "/responses", {"model": "m"})
    assert ex.error_kind == "too_large"
    assert len(ex.body) == 100_000 and ex.body_truncated


def test_rate_limit_retries_then_is_inconclusive() -> None:
    calls = []

    def script(conn: socket.socket, _: bytes) -> None:
        calls.append(1)
        body = b'{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":null}}'
        conn.sendall(head("429 Too Many Requests", {"Content-Type": "application/json", "Retry-After": "0",
                                                    "Content-Length": str(len(body)), "Connection": "close"}) + body)

    with hostile_server(script) as url:
        rec = Recorder(Target(url, "m"), Limits(retries=2))
        ex = rec.record("s", "POST", "/responses", {"model": "m"})
    assert len(calls) == 3
    assert ex.error_kind == "rate_limited" and ex.status == 429


def test_redirect_is_recorded_not_followed() -> None:
    def script(conn: socket.socket, _: bytes) -> None:
        conn.sendall(head("307 Temporary Redirect", {"Location": "http://10.0.0.1/v1/responses", "Content-Length": "0",
                                                     "Connection": "close"}))

    with hostile_server(script) as url:
        ex = Recorder(Target(url, "m")).record("s", "POST", "/responses", {"model": "m"})
    assert ex.status == 307 and ex.error_kind == "redirect"
    assert "10.0.0.1" in (ex.error or "")


def _answer(status: str, calls: list[int] | None = None) -> Callable[[socket.socket, bytes], None]:
    def script(conn: socket.socket, _: bytes) -> None:
        if calls is not None:
            calls.append(1)
        conn.sendall(head(status, {"Content-Length": "2", "Retry-After": "0", "Connection": "close"}) + b"no")

    return script


def test_a_server_error_that_a_retry_reproduces_is_judged() -> None:
    """A 500 twice is the server's answer (engine.server_error fails it), no longer infrastructure trouble."""
    calls: list[int] = []
    with hostile_server(_answer("500 Internal Server Error", calls)) as url:
        ex = Recorder(Target(url, "m")).record("s", "GET", "/responses/x")
    assert len(calls) == 2
    assert ex.status == 500 and ex.error_kind is None and not ex.inconclusive


def test_a_server_error_that_cannot_be_retried_stays_inconclusive() -> None:
    calls: list[int] = []
    with hostile_server(_answer("500 Internal Server Error", calls)) as url:
        ex = Recorder(Target(url, "m"), Limits(retries=0)).record("s", "GET", "/responses/x")
    assert len(calls) == 1
    assert ex.status == 500 and ex.error_kind == "server_error" and "not retried" in (ex.error or "")


@pytest.mark.parametrize(("status", "sends"), [("502 Bad Gateway", 1), ("503 Service Unavailable", 3),
                                               ("504 Gateway Timeout", 1)])
def test_gateway_trouble_and_overload_are_inconclusive_however_often(status: str, sends: int) -> None:
    calls: list[int] = []
    with hostile_server(_answer(status, calls)) as url:
        ex = Recorder(Target(url, "m"), Limits(retries=2)).record("s", "GET", "/responses/x")
    assert len(calls) == sends
    assert ex.status == int(status[:3]) and ex.error_kind == "server_error" and ex.inconclusive


def test_a_refused_websocket_upgrade_is_retried_like_a_request() -> None:
    from conformance.record._redact import Redactor
    from conformance.record.websocket import WSRecorder

    calls: list[int] = []
    with hostile_server(_answer("500 Internal Server Error", calls)) as url:
        target = Target(url, "m")
        _, refused = WSRecorder(target, Limits(), Redactor.for_target(target)).connect("s", "/responses")
    assert len(calls) == 2
    assert refused is not None and refused.status == 500 and not refused.inconclusive


def test_unreachable_host_is_connect_error() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    ex = Recorder(Target(f"http://127.0.0.1:{port}/v1", "m")).record("s", "GET", "/responses/x")
    assert ex.error_kind == "connect" and ex.status is None


def test_key_never_recorded_even_when_echoed() -> None:
    def script(conn: socket.socket, request: bytes) -> None:
        body = json.dumps({"error": {"message": f"bad key {KEY}", "type": "x", "param": None, "code": None}}).encode()
        conn.sendall(head("401 Unauthorized", {"Content-Type": "application/json", "X-Echo": KEY,
                                               "Content-Length": str(len(body)), "Connection": "close"}) + body)

    with hostile_server(script) as url:
        rec = Recorder(Target(url, "m", api_key=KEY, api_key_env="MY_KEY"))
        ex = rec.record("s", "POST", "/responses", {"model": "m"})
    blob = repr(ex)
    assert KEY not in blob
    assert "$MY_KEY" in ex.curl and KEY not in ex.curl
    assert ex.request.headers["Authorization"] == "Bearer $MY_KEY"


def test_custom_auth_header_is_used_and_redacted() -> None:
    seen: list[bytes] = []

    def script(conn: socket.socket, request: bytes) -> None:
        seen.append(request)
        conn.sendall(head("404 Not Found", {"Content-Length": "0", "Connection": "close"}))

    with hostile_server(script) as url:
        target = Target(url, "m", api_key=KEY, auth_header="api-key", auth_scheme="", headers={"X-Team": "blue"})
        ex = Recorder(target).record("s", "GET", "/responses/x")
    sent = {k.strip().lower(): v.strip() for k, _, v in
            (line.partition(b":") for line in seen[0].split(b"\r\n\r\n")[0].split(b"\r\n")[1:])}
    assert sent[b"api-key"] == KEY.encode()
    assert sent[b"x-team"] == b"blue"
    assert b"authorization" not in sent
    assert KEY not in ex.curl and KEY not in repr(ex.request)


@pytest.mark.parametrize("url", ["ftp://x/v1", "not a url", "http://", ""])
def test_bad_base_url_is_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="--base-url"):
        Target(url, "m")


def test_requests_per_minute_spaces_requests_across_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    def script(conn: socket.socket, _: bytes) -> None:
        conn.sendall(head("404 Not Found", {"Content-Length": "0", "Connection": "close"}))

    with hostile_server(script) as url:
        rec = Recorder(Target(url, "m"), Limits(requests_per_minute=600))  # one request per 0.1 s
        t0 = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: rec.record(f"s{i}", "GET", "/responses/x"), range(5)))
        assert time.monotonic() - t0 >= 0.38
