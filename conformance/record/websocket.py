"""The WebSocket side of the network seam: record Responses WebSocket turns as :class:`Exchange` s.

Hand-rolled (RFC 6455 client: handshake, masked text frames, fragmentation, ping/pong, close)
rather than a library, because the evidence needs what libraries hide: the raw bytes of each
frame, its opcode, masking and fragmentation, and a per-turn idle timeout / deadline / size
bound enforced exactly like the HTTP recorder's.

A *turn* is one ``response.create`` client event and the server events that answer it, up to
the terminal event (``response.completed|incomplete|failed``) or a WebSocket ``error`` event,
plus a short grace period for stray events. Each turn becomes one ``Exchange`` with transport
``websocket`` (method: the upgrade's GET), ``status`` = the handshake status (101), ``events`` = one :class:`SSEEvent` per
message (``data`` = the text, ``raw`` = the frames' bytes, ``ws``: opcode and framing problems), so the stream
checks judge WebSocket turns and SSE streams with the same rules.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .. import _json
from ._redact import Redactor
from .exchange import Exchange, RecordedRequest, SSEEvent, TransportName, WSMessage
from .http import TERMINAL_EVENTS, Limits, Recorder, Retries, Target, mark_stalled
from .transport import Recorded, StepRequest

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TURN_GRACE_S = 0.1
MAX_HANDSHAKE = 64 * 1024
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class _Timeout(Exception):
    pass


class _TooLarge(Exception):
    pass


@dataclass
class _Frame:
    fin: bool
    opcode: int
    payload: bytes
    raw: bytes
    problem: str | None = None


@dataclass
class WSConnection:
    """One open client connection (shared by the steps that name it)."""

    sock: socket.socket | None
    url: str
    status: int | None
    headers: list[tuple[str, str]] = field(default_factory=list)
    closed: bool = False
    close_info: str = ""
    buffer: bytearray = field(default_factory=bytearray)

    def close(self) -> None:
        if self.sock is not None and not self.closed:
            try:
                self.sock.sendall(_client_frame(OP_CLOSE, struct.pack("!H", 1000)))
            except OSError:
                pass
        self.closed = True
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass


def _client_frame(opcode: int, payload: bytes) -> bytes:
    """One masked client frame (RFC 6455 5.3: clients must mask)."""
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    return head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))


def ws_url(target: Target, path: str) -> str:
    url = target.url(path)
    return "wss" + url[len("https"):] if url.startswith("https") else "ws" + url[len("http"):]


class WSRecorder:
    """Opens connections and records turns on them, bounded by :class:`Limits`."""

    def __init__(self, target: Target, limits: Limits, redactor: Redactor, stop_at: float | None = None) -> None:
        self.target = target
        self.limits = limits
        self.redactor = redactor
        self.stop_at = stop_at  # the run's --max-time (monotonic): nothing starts after it, no wait runs past it

    def _end(self, t0: float, span: float) -> float:
        end = t0 + span
        return end if self.stop_at is None else min(end, self.stop_at)

    def _time_up(self) -> bool:
        return self.stop_at is not None and time.monotonic() >= self.stop_at

    # -- connections ------------------------------------------------------------------------

    def connect(self, step: str, path: str, *, auth: str = "default", headers: Mapping[str, str] | None = None,
                body: Any = None) -> tuple[WSConnection, Exchange | None]:
        """Open a connection; on failure also return the recorded exchange of the refused upgrade.

        A refused upgrade is retried like an HTTP request (recorder.Retries: 429/503, and a server fault once,
        so that a reproduced 500 is judged); a refusal with a 4xx is the server's answer, judged by the
        engine's one decline rule (engine.is_decline)."""
        retries = Retries(self.limits)
        while True:
            conn, refused = self._connect_once(step, path, auth, headers, body)
            delay = retries.again(refused) if refused is not None else None
            if delay is None:
                return conn, refused
            time.sleep(delay)

    def _connect_once(self, step: str, path: str, auth: str, headers: Mapping[str, str] | None,
                      body: Any) -> tuple[WSConnection, Exchange | None]:
        url = ws_url(self.target, path)
        parts = urlsplit(self.target.url(path))
        sent = self._handshake_headers(auth, headers or {})
        request = RecordedRequest("GET", self.redactor.text(url), path, self.redactor.headers(sent, auth_mode=auth),
                                  body, True)
        ex = Exchange(step=step, request=request, started_at=time.time(), transport="websocket")
        ex.curl = self._reproduce(request)
        t0 = time.monotonic()
        conn = WSConnection(None, url, None)
        if self._time_up():
            ex.error_kind, ex.error = "time_limit", "not sent: the run's --max-time had passed"
            conn.closed = True
            return conn, ex
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            sock = socket.create_connection((parts.hostname or "", port), timeout=self.limits.connect_timeout_s)
            if parts.scheme == "https":
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, ssl.SSLError) as exc:
            ex.error_kind, ex.error = "connect", self.redactor.text(f"{type(exc).__name__}: {exc}")
            ex.elapsed_s = time.monotonic() - t0
            conn.closed = True
            return conn, ex
        conn.sock = sock
        key = base64.b64encode(os.urandom(16)).decode()
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rsplit("@", 1)[-1]
        lines = [f"GET {target} HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in sent.items()]
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            head = self._read_until(conn, b"\r\n\r\n", t0)
        except (OSError, _Timeout) as exc:
            kind = ("time_limit" if self._time_up() else "timeout") if isinstance(exc, _Timeout) else "connect"
            ex.error_kind, ex.error = kind, f"WebSocket handshake failed: {exc or 'no answer'}"
            ex.elapsed_s = time.monotonic() - t0
            conn.close()
            return conn, ex
        status, resp_headers = _parse_head(head)
        conn.status, conn.headers = status, [(k, self.redactor.text(v)) for k, v in resp_headers]
        ex.status, ex.headers, ex.ttfb_s = status, conn.headers, time.monotonic() - t0
        if status == 101:
            accept = next((v for k, v in resp_headers if k.lower() == "sec-websocket-accept"), "")
            expected = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
            if accept.strip() != expected:
                conn.close_info = f"Sec-WebSocket-Accept is {accept!r}, expected {expected!r} (RFC 6455 4.2.2)"
            return conn, None
        ex.body = self.redactor.data(self._read_error_body(conn, resp_headers, t0))
        ex.elapsed_s = time.monotonic() - t0
        if status is None:
            ex.error_kind, ex.error = "protocol", "the upgrade answer is not HTTP"
        elif status >= 500:
            ex.error_kind, ex.error = "server_error", f"HTTP {status} server error on the WebSocket upgrade (inconclusive)"
        elif 300 <= status < 400:
            ex.error_kind, ex.error = "redirect", f"HTTP {status} redirect on the WebSocket upgrade (not followed)"
        conn.close()
        return conn, ex

    def _handshake_headers(self, auth: str, extra: Mapping[str, str]) -> dict[str, str]:
        sent: dict[str, str] = {}
        sent.update(self.target.headers)
        sent.update(self.target.auth_headers(auth))
        sent.update(extra)
        return sent

    def _reproduce(self, request: RecordedRequest) -> str:
        """A websocat line that replays the turn (the key only as ``$ENV`` / ``<redacted>``)."""
        import shlex

        parts = ["websocat", "-n1"]
        for name, value in request.headers.items():
            quoted = f'"{name}: {value}"' if "$" in value else shlex.quote(f"{name}: {value}")
            parts += ["-H", quoted]
        parts.append(shlex.quote(request.url))
        if request.body is None:
            return " ".join(parts)
        payload = shlex.quote(self.redactor.text(json.dumps(request.body, ensure_ascii=False)))
        return f"echo {payload} | " + " ".join(parts)

    # -- turns ------------------------------------------------------------------------------

    def turn(self, conn: WSConnection, step: str, path: str, event: Any, *, auth: str = "default",
             headers: Mapping[str, str] | None = None) -> Exchange:
        """Send one client event on ``conn`` and record the server events answering it."""
        sent = self._handshake_headers(auth, headers or {})
        # method: the GET that upgraded the connection this turn runs on
        request = RecordedRequest("GET", conn.url, path, self.redactor.headers(sent, auth_mode=auth), event, True)
        ex = Exchange(step=step, request=request, started_at=time.time(), status=conn.status,
                      headers=list(conn.headers), transport="websocket")
        ex.curl = self._reproduce(request)
        ex.events = []
        t0 = time.monotonic()
        if conn.closed or conn.sock is None:
            ex.error = f"the connection was already closed before this turn ({conn.close_info or 'by the server'})"
            return ex
        if self._time_up():
            ex.error_kind, ex.error = "time_limit", "not sent: the run's --max-time had passed"
            return ex
        try:
            conn.sock.sendall(_client_frame(OP_TEXT, json.dumps(event, ensure_ascii=False).encode()))
        except OSError as exc:
            conn.closed = True
            ex.error = f"the connection was closed before this turn could be sent: {exc}"
            return ex
        self._read_turn(conn, ex, t0)
        ex.elapsed_s = time.monotonic() - t0
        return self.redactor.exchange(ex)

    def _read_turn(self, conn: WSConnection, ex: Exchange, t0: float) -> None:
        limits = self.limits
        assert ex.events is not None
        body = bytearray()
        message: list[_Frame] = []
        ended_at: float | None = None
        while True:
            now = time.monotonic()
            if ended_at is not None:
                wait = ended_at + TURN_GRACE_S - now
                if wait <= 0:
                    break
            else:
                wait = min(limits.idle_timeout_s, self._end(t0, limits.deadline_s) - now)
                if wait <= 0:
                    ex.error_kind, ex.error = "deadline", f"turn not finished within the {limits.deadline_s}s deadline"
                    if self._time_up():
                        ex.error_kind, ex.error = "time_limit", "cut short: the run's --max-time passed during this turn"
                    break
            try:
                frame = self._read_frame(conn, wait)
            except _Timeout:
                if ended_at is None:
                    mark_stalled(ex, limits, t0, "turn", "frame")
                    if self._time_up():
                        ex.error_kind, ex.error = "time_limit", "cut short: the run's --max-time passed during this turn"
                break
            except _TooLarge as exc:
                ex.body_truncated = True
                ex.error_kind, ex.error = "too_large", f"{exc}; reading stopped"
                conn.close()
                break
            except OSError as exc:
                conn.closed = True
                conn.close_info = f"connection lost: {exc}"
                break
            if frame is None:  # EOF
                conn.closed = True
                conn.close_info = conn.close_info or "the server closed the TCP connection"
                break
            body.extend(frame.raw)
            if len(body) > limits.max_body_bytes:
                ex.body_truncated = True
                ex.error_kind, ex.error = "too_large", f"turn exceeded {limits.max_body_bytes} bytes; reading stopped"
                conn.close()
                break
            if frame.opcode == OP_PING:
                try:
                    assert conn.sock is not None
                    conn.sock.sendall(_client_frame(OP_PONG, frame.payload))
                except OSError:
                    pass
                continue
            if frame.opcode == OP_PONG:
                continue
            if frame.opcode == OP_CLOSE:
                code = struct.unpack("!H", frame.payload[:2])[0] if len(frame.payload) >= 2 else None
                conn.close_info = f"the server sent a close frame (code {code})"
                conn.close()
                break
            message.append(frame)
            if not frame.fin:
                continue
            event = _assemble(message, offset=len(body) - sum(len(f.raw) for f in message),
                              arrival_s=time.monotonic() - t0)
            message = []
            ex.events.append(event)
            if len(ex.events) > limits.max_events:
                ex.error_kind, ex.error = "too_large", f"more than {limits.max_events} events; reading stopped"
                conn.close()
                break
            if ended_at is None and _ends_turn(event):
                ended_at = time.monotonic()
        ex.body = bytes(body)

    # -- bytes ------------------------------------------------------------------------------

    def _recv(self, conn: WSConnection, deadline: float) -> bool:
        assert conn.sock is not None
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Timeout
        conn.sock.settimeout(remaining)
        try:
            chunk = conn.sock.recv(65536)
        except TimeoutError:
            raise _Timeout from None
        if not chunk:
            return False
        conn.buffer.extend(chunk)
        return True

    def _read_until(self, conn: WSConnection, marker: bytes, t0: float) -> bytes:
        deadline = self._end(t0, min(self.limits.deadline_s, self.limits.connect_timeout_s + self.limits.idle_timeout_s))
        while marker not in conn.buffer:
            if len(conn.buffer) > MAX_HANDSHAKE or not self._recv(conn, deadline):
                raise OSError("no complete HTTP answer to the upgrade request")
        end = conn.buffer.index(marker) + len(marker)
        head = bytes(conn.buffer[:end])
        del conn.buffer[:end]
        return head

    def _read_error_body(self, conn: WSConnection, headers: list[tuple[str, str]], t0: float) -> bytes:
        length = next((v for k, v in headers if k.lower() == "content-length"), None)
        deadline = time.monotonic() + min(5.0, self.limits.idle_timeout_s)
        try:
            want = int(length) if length is not None else MAX_HANDSHAKE
            while len(conn.buffer) < min(want, MAX_HANDSHAKE) and self._recv(conn, deadline):
                pass
        except (OSError, ValueError, _Timeout):
            pass
        return bytes(conn.buffer[:MAX_HANDSHAKE])

    def _read_frame(self, conn: WSConnection, wait: float) -> _Frame | None:
        deadline = time.monotonic() + wait

        def need(n: int) -> bool:
            while len(conn.buffer) < n:
                if not self._recv(conn, deadline):
                    return False
            return True

        if not need(2):
            return None
        b0, b1 = conn.buffer[0], conn.buffer[1]
        n, pos = b1 & 0x7F, 2
        if n == 126:
            if not need(4):
                return None
            n, pos = struct.unpack("!H", bytes(conn.buffer[2:4]))[0], 4
        elif n == 127:
            if not need(10):
                return None
            n, pos = struct.unpack("!Q", bytes(conn.buffer[2:10]))[0], 10
        masked = bool(b1 & 0x80)
        mask_at = pos
        pos += 4 if masked else 0
        if n > self.limits.max_body_bytes:
            raise _TooLarge(f"a frame of {n} bytes exceeds the {self.limits.max_body_bytes}-byte bound")
        if not need(pos + n):
            return None
        raw = bytes(conn.buffer[: pos + n])
        del conn.buffer[: pos + n]
        payload = raw[pos:]
        problems = []
        if masked:
            mask = raw[mask_at: mask_at + 4]
            payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
            problems.append("the server masked a frame (RFC 6455 5.1: servers must not)")
        if b0 & 0x70:
            problems.append("reserved bits RSV1-3 set without a negotiated extension")
        return _Frame(bool(b0 & 0x80), b0 & 0x0F, payload, raw, "; ".join(problems) or None)


def _assemble(frames: list[_Frame], offset: int, arrival_s: float) -> SSEEvent:
    first = frames[0]
    payload = b"".join(f.payload for f in frames)
    problems = [f.problem for f in frames if f.problem]
    if first.opcode == OP_CONT:
        problems.append("a continuation frame without a preceding text/binary frame")
    if any(f.opcode != OP_CONT for f in frames[1:]):
        problems.append("a new data frame inside a fragmented message")
    try:
        data = payload.decode("utf-8")
    except UnicodeDecodeError:
        data = payload.decode("utf-8", errors="replace")
        if first.opcode == OP_TEXT:
            problems.append("a text message that is not valid UTF-8 (RFC 6455 8.1)")
    return SSEEvent(data=data, raw=b"".join(f.raw for f in frames), offset=offset, arrival_s=arrival_s,
                    ws=WSMessage(first.opcode, "; ".join(problems) or None))


def _ends_turn(event: SSEEvent) -> bool:
    try:
        data = _json.loads(event.data)
    except ValueError:
        return False
    kind = data.get("type") if isinstance(data, dict) else None
    return kind in TERMINAL_EVENTS or kind == "error"


def _parse_head(head: bytes) -> tuple[int | None, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1]) if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit() else None
    headers = []
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers.append((name.strip(), value.strip()))
    return status, headers


class WebSocketTransport:
    """``transport: websocket`` (conformance/record/transport.py): each step is one turn on the connection it names.

    Steps naming the same ``connection`` share one socket, opened by the first of them (its refused upgrade is
    that step's exchange) and closed at the end of the case (:meth:`close`)."""

    name: TransportName = "websocket"

    def __init__(self, recorder: Recorder) -> None:
        self.ws = WSRecorder(recorder.target, recorder.limits, recorder.redactor, stop_at=recorder.stop_at)
        self.connections: dict[str, WSConnection] = {}

    def send(self, request: StepRequest) -> Recorded:
        body = request.body
        event = body if isinstance(body, dict) and "type" in body else {"type": "response.create", **(body or {})}
        name = request.connection or "default"
        notes: list[str] = []
        conn = self.connections.get(name)
        if conn is None:
            conn, refused = self.ws.connect(request.step, request.path, auth=request.auth, headers=request.headers,
                                            body=event)
            self.connections[name] = conn
            if refused is not None:
                return Recorded([refused])
            if conn.close_info:
                notes.append(conn.close_info)
        ex = self.ws.turn(conn, request.step, request.path, event, auth=request.auth, headers=request.headers)
        if ex.error and not ex.error_kind:
            notes.append(f"connection {name!r}: {ex.error}; sequential turns share one open connection")
        return Recorded([ex], notes)

    def close(self) -> None:
        for conn in self.connections.values():
            conn.close()
