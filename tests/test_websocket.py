"""The Responses WebSocket transport: reference server (RFC 6455 by hand), client recorder, case format, engine.

The server and the client are written independently (neither imports the other), so these tests pit them
against each other and against raw sockets.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
from pathlib import Path

import pytest
from _exchanges import context, make_response, run, stream_events_for, ws_exchange

from conformance._verdict import Outcome
from conformance.cases import CaseFormatError, load_all, load_cases
from conformance.record.exchange import Exchange
from conformance.record.http import Limits, Recorder, Target
from conformance.record.websocket import WSRecorder
from conformance.reference import MODEL_NAME, ReferenceServer
from conformance.reference._websocket import accept_key
from conformance.run.engine import judge, record_case
from conformance.suite import CASES_DIR
from tests._helpers import reference_recorder, send_json, serve_handler

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-websocket-test-key-0001"
CASES = {c.id: c for c in load_all(CASES_DIR) if c.id.startswith("streaming.websocket_")}


def _run(case_ids: list[str], limits: Limits | None = None, **server: object) -> list:
    with reference_recorder(KEY, limits or Limits(idle_timeout_s=5, deadline_s=20), **server) as rec:
        return [judge(record_case(CASES[c], rec)) for c in case_ids]


# ------------------------------------------------------------------ raw protocol against the reference


def _masked(opcode: int, payload: bytes, fin: bool = True, mask: bool = True) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    m = 0x80 if mask else 0
    head += bytes([m | n]) if n < 126 else bytes([m | 126]) + struct.pack("!H", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


class _Raw:
    """A bare-socket client, to poke at the server with frames no library would send."""

    def __init__(self, srv: ReferenceServer, key: str | None = KEY, version: str = "13") -> None:
        host, port = srv.base_url.split("//")[1].split("/")[0].rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.nonce = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET /v1/responses HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: keep-alive, Upgrade",
                 f"Sec-WebSocket-Key: {self.nonce}", f"Sec-WebSocket-Version: {version}"]
        if key:
            lines.append(f"Authorization: Bearer {key}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.head = head.decode()
        self.status = int(self.head.split(" ")[1])

    def _need(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self) -> tuple[int, bytes]:
        b0, b1 = self._need(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._need(8))[0]
        assert not b1 & 0x80, "server frames must not be masked"
        return b0 & 0x0F, self._need(n)

    def event(self) -> dict:
        while True:
            opcode, payload = self.frame()
            if opcode == 1:
                return json.loads(payload)

    def turn(self, body: dict) -> list[dict]:
        self.sock.sendall(_masked(1, json.dumps(body).encode()))
        events = [self.event()]
        while events[-1]["type"] not in ("response.completed", "response.incomplete", "response.failed", "error"):
            events.append(self.event())
        return events


@pytest.fixture(scope="module")
def server():
    with ReferenceServer(api_key=KEY) as srv:
        yield srv


def test_accept_key_matches_rfc6455_example() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_handshake_and_one_turn(server: ReferenceServer) -> None:
    raw = _Raw(server)
    assert raw.status == 101 and accept_key(raw.nonce) in raw.head
    events = raw.turn({"type": "response.create", "model": MODEL_NAME, "input": "Reply with exactly the token RAW-1."})
    assert events[0]["type"] == "response.created" and events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "RAW-1"


def test_handshake_refusals(server: ReferenceServer) -> None:
    assert _Raw(server, key=None).status == 401
    assert _Raw(server, version="8").status == 426
    with ReferenceServer(api_key=KEY, websocket=False) as off:
        assert _Raw(off).status == 404


def test_fragmented_client_message_and_ping(server: ReferenceServer) -> None:
    raw = _Raw(server)
    raw.sock.sendall(_masked(9, b"hello?"))
    assert raw.frame() == (0xA, b"hello?")
    body = json.dumps({"type": "response.create", "model": MODEL_NAME, "input": "Reply with exactly the token FRAG-2."}).encode()
    raw.sock.sendall(_masked(1, body[:10], fin=False) + _masked(9, b"x") + _masked(0, body[10:]))
    assert raw.frame() == (0xA, b"x")
    events = [raw.event()]
    while events[-1]["type"] != "response.completed":
        events.append(raw.event())
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "FRAG-2"


@pytest.mark.parametrize("payload,opcode,code", [
    (b"not json", 1, "invalid_json"),
    (b'{"type": "session.update"}', 1, "unknown_event_type"),
    (b'{"type": "response.create"}', 2, "invalid_event"),
    (json.dumps({"type": "response.create", "model": MODEL_NAME, "input": "x", "background": True}).encode(), 1,
     "unsupported_parameter"),
])
def test_bad_client_events_get_error_events(server: ReferenceServer, payload: bytes, opcode: int, code: str) -> None:
    raw = _Raw(server)
    raw.sock.sendall(_masked(opcode, payload))
    event = raw.event()
    assert event["type"] == "error" and event["status"] == 400 and event["error"]["code"] == code
    ok = raw.turn({"type": "response.create", "model": MODEL_NAME, "input": "hi"})
    assert ok[-1]["type"] == "response.completed"  # the connection survives a bad event


def test_unmasked_client_frame_closes_with_1002(server: ReferenceServer) -> None:
    raw = _Raw(server)
    raw.sock.sendall(_masked(1, b"{}", mask=False))
    opcode, payload = raw.frame()
    assert opcode == 8 and struct.unpack("!H", payload[:2])[0] == 1002


def test_stream_id_is_echoed(server: ReferenceServer) -> None:
    raw = _Raw(server)
    events = raw.turn({"type": "response.create", "stream_id": "lane_1", "model": MODEL_NAME, "input": "hi"})
    assert {e.get("stream_id") for e in events} == {"lane_1"}


def test_close_handshake(server: ReferenceServer) -> None:
    raw = _Raw(server)
    raw.sock.sendall(_masked(8, struct.pack("!H", 1000)))
    opcode, payload = raw.frame()
    assert opcode == 8 and struct.unpack("!H", payload[:2])[0] == 1000


# ------------------------------------------------------------------ client recorder


def _recorder(srv: ReferenceServer, limits: Limits) -> WSRecorder:
    target = Target(srv.base_url, MODEL_NAME, api_key=KEY, api_key_env="KEY_ENV")
    return WSRecorder(target, limits, Recorder(target, limits).redactor)


def _turn_saying_hi(srv: ReferenceServer, limits: Limits) -> Exchange:
    """One ``response.create`` turn on a fresh connection, closed after it."""
    ws = _recorder(srv, limits)
    conn, _ = ws.connect("s", "/responses")
    ex = ws.turn(conn, "s", "/responses", {"type": "response.create", "model": MODEL_NAME, "input": "hi"})
    conn.close()
    return ex


def test_turn_records_raw_frames_and_redacts_the_key() -> None:
    with ReferenceServer(api_key=KEY, variants=("ws_fragmented", "ws_pings")) as srv:
        ws = _recorder(srv, Limits(idle_timeout_s=5, deadline_s=10))
        conn, refused = ws.connect("s", "/responses")
        assert refused is None and conn.status == 101
        ex = ws.turn(conn, "s", "/responses", {"type": "response.create", "model": MODEL_NAME, "input": f"say {KEY}"})
        conn.close()
    assert ex.transport == "websocket" and ex.request.method == "GET" and ex.method_label == "WS"
    assert ex.status == 101 and ex.error_kind is None
    assert ex.events and all(e.ws is not None and e.ws.opcode == 1 and e.ws.problem is None for e in ex.events)
    assert all(e.raw[0] == 0x01 for e in ex.events)  # first fragment: text, FIN clear
    assert KEY not in ex.curl and "$KEY_ENV" in ex.curl and ex.curl.startswith("echo ")
    assert KEY.encode() not in ex.body and all(KEY not in e.data for e in ex.events)


def test_stalled_turn_is_an_idle_timeout_with_events_kept() -> None:
    with ReferenceServer(api_key=KEY, variants=("slow_stream",)) as srv:
        ex = _turn_saying_hi(srv, Limits(idle_timeout_s=0.005, deadline_s=10))
    assert ex.error_kind == "idle_timeout" and ex.events


def test_deadline_and_size_bound_apply_to_turns() -> None:
    with ReferenceServer(api_key=KEY, variants=("slow_stream",)) as srv:
        ex = _turn_saying_hi(srv, Limits(idle_timeout_s=5, deadline_s=0.05))
        assert ex.error_kind == "deadline"
        ex = _turn_saying_hi(srv, Limits(max_body_bytes=300))
        assert ex.error_kind == "too_large" and ex.body_truncated


# ------------------------------------------------------------------ case format


def _load(tmp_path: Path, request: str) -> list:
    path = tmp_path / "ws.yaml"
    path.write_text(f"""cases:
  - id: ws.x
    title: t
    group: streaming
    spec: [openai-openapi.yaml#/components/schemas/ResponsesServerEvent]
    capabilities: [websocket]
    steps:
      - name: a
        request:
{request}
        expect:
          - events: {{last: response.completed}}
""")
    return load_cases(path)


def test_loader_accepts_websocket_steps(tmp_path: Path) -> None:
    (case,) = _load(tmp_path, "          transport: websocket\n          connection: main\n          body: {input: hi}")
    step = case.steps[0]
    assert (step.transport, step.connection, step.method, step.stream) == ("websocket", "main", "GET", True)
    (case,) = _load(tmp_path, "          transport: websocket\n          body: {input: hi}")
    assert case.steps[0].connection == "default"


@pytest.mark.parametrize("request_yaml,message", [
    ("          connection: main\n          stream: true", "connection needs transport: websocket"),
    ("          transport: websocket\n          method: POST", "method does not apply to a websocket step"),
    ("          transport: websocket\n          stream: true", "stream does not apply to a websocket step"),
    ("          transport: carrier-pigeon", "carrier-pigeon"),
    ("          transport: websocket\n          connection: Main", "Main"),
])
def test_loader_rejects_bad_websocket_steps(tmp_path: Path, request_yaml: str, message: str) -> None:
    with pytest.raises(CaseFormatError, match=message):
        _load(tmp_path, request_yaml)


# ------------------------------------------------------------------ engine + checks


def test_websocket_cases_pass_against_the_reference() -> None:
    results = _run(sorted(CASES))
    assert [(r.case.id, r.outcome.value, r.message) for r in results if r.outcome is not Outcome.PASS] == []
    sequential = next(r for r in results if r.case.id == "streaming.websocket_sequential")
    turn = sequential.exchanges[0]
    names = {c.name for c in sequential.checks}
    assert {"stream.lifecycle", "stream.text_accumulation", "stream.event_schema", "stream.final_response",
            "response.echo", "ws.text_frames"} <= names, names
    assert "stream.content_type" not in names and turn.transport == "websocket"


def test_a_provider_without_websocket_is_unsupported_never_failed() -> None:
    results = _run(sorted(CASES), websocket=False)
    assert {r.outcome for r in results} == {Outcome.UNSUPPORTED}
    assert all("HTTP 404" in r.message for r in results)



def test_a_provider_ignoring_the_upgrade_is_unsupported_never_failed() -> None:
    """A server without WebSocket mode may ignore ``Upgrade`` (RFC 9110 7.8) and answer the GET over HTTP
    (llama-stack lists its stored responses with 200 JSON): a decline, not a failed stream."""
    from http.server import BaseHTTPRequestHandler

    class Plain(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            send_json(self, 200, {"object": "list", "data": [{"id": "resp_x" * 20000}]})  # > 64 KiB

        def log_message(self, *args: object) -> None:
            pass

    with serve_handler(Plain) as base, \
            Recorder(Target(base, "m", api_key=KEY), Limits(idle_timeout_s=5, deadline_s=20)) as rec:
        results = [judge(record_case(CASES[c], rec)) for c in sorted(CASES) if "compaction" not in CASES[c].capabilities]
    assert results and [(r.case.id, r.outcome.value, r.message) for r in results
                        if r.outcome is not Outcome.UNSUPPORTED] == []
    assert all("HTTP 200: the WebSocket upgrade was ignored" in r.message for r in results)


WS_PROOFS = [
    ("ws.text_frames", "ws_binary_frames", "streaming.websocket_sequential"),
    ("stream.event_schema", "ws_error_event_shape", "streaming.websocket_previous_response_not_found"),
    ("stream.terminal_event", "no_terminal_event", "streaming.websocket_sequential"),
    ("stream.lifecycle", "delta_before_item_added", "streaming.websocket_sequential"),
    ("stream.text_accumulation", "delta_text_mismatch", "streaming.websocket_continuation"),
    ("stream.sequence_number", "missing_sequence_number", "streaming.websocket_sequential"),
    ("stream.event_json", "non_json_event_data", "streaming.websocket_sequential"),
    ("stream.final_response", "terminal_status_mismatch", "streaming.websocket_sequential"),
    ("expect.output_text", "store_ignored", "streaming.websocket_continuation"),
    ("expect.json", "accept_unknown_previous_response", "streaming.websocket_previous_response_not_found"),
]


@pytest.mark.parametrize("check,deviation,case_id", WS_PROOFS)
def test_websocket_deviation_fails_the_check(check: str, deviation: str, case_id: str) -> None:
    (result,) = _run([case_id], deviations=(deviation,))
    assert result.outcome is Outcome.FAIL
    assert any(c.name == check and c.outcome is Outcome.FAIL for c in result.checks), result.message


def test_server_closing_between_turns_fails_the_sequential_case() -> None:
    (result,) = _run(["streaming.websocket_sequential"], deviations=("no_terminal_event",))
    assert any(c.name == "engine.websocket" and "already closed" in c.message for c in result.checks)


def test_ws_error_event_is_judged_by_the_websocket_error_schema() -> None:
    error = {"type": "error", "status": 400,
             "error": {"type": "invalid_request_error", "code": "previous_response_not_found", "message": "gone",
                       "param": "previous_response_id"}}
    ex = ws_exchange([error])
    assert [r.name for r in run(ex, context(ex)) if r.outcome is Outcome.FAIL] == []
    sse_shaped = {"type": "error", "code": "x", "message": "m", "param": None, "sequence_number": 0}
    ex = ws_exchange([sse_shaped])
    failed = {r.name: r.message for r in run(ex) if r.outcome is Outcome.FAIL}
    assert "'error' is missing (required)" in failed["stream.event_schema"]


def test_ws_framing_problems_are_reported() -> None:
    events = stream_events_for(make_response())
    ex = ws_exchange(events, problems={1: "the server masked a frame (RFC 6455 5.1: servers must not)"})
    failed = {r.name: r.message for r in run(ex) if r.outcome is Outcome.FAIL}
    assert list(failed) == ["ws.text_frames"] and "masked" in failed["ws.text_frames"]
