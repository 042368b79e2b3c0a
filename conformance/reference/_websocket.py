"""The Responses WebSocket transport (``GET /v1/responses`` upgraded per RFC 6455), by hand.

Standard library only, and independent of the suite's client: the handshake, framing,
ping/pong and close handling are written from RFC 6455 so a misreading on either side is
caught by the other.

Protocol (spec: ``ResponsesClientEventResponseCreate`` / ``ResponsesServerEvent`` /
``ResponseWsError``; the OpenAI WebSocket-mode guide): the client sends text frames holding
``{"type": "response.create", ...create body...}``; the server answers each with the same
events an SSE stream carries, one JSON text frame per event, or with one ``error`` event
``{"type": "error", "status": 400, "error": {...}}``.  Turns are sequential.  The connection
keeps a *connection-local cache* of its most recent response, so a ``store: false`` response
can be continued with ``previous_response_id`` on the same socket, but not after a reconnect;
a turn that fails evicts the ``previous_response_id`` it named from that cache.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import json
import socket
import struct
import time
from typing import Any, BinaryIO

from ._behaviours import Behaviour
from ._errors import ApiError
from ._store import Record, Store
from ._streaming import TERMINAL_TYPES, deviate, dumps

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_MESSAGE = 8 * 1024 * 1024
SLOW_STREAM_S = 0.02

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class _Closed(Exception):
    """The peer closed the connection (or broke the protocol and we closed it)."""


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key`` (RFC 6455 section 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def is_upgrade(headers: Any) -> bool:
    """Did the client ask to switch to the WebSocket protocol?"""
    upgrade = (headers.get("Upgrade") or "").lower()
    connection = (headers.get("Connection") or "").lower()
    return upgrade == "websocket" and "upgrade" in [t.strip() for t in connection.split(",")]


def handshake_problem(headers: Any) -> tuple[int, str] | None:
    """Why an upgrade request cannot be accepted (status, message), or None when it can."""
    if (headers.get("Sec-WebSocket-Version") or "").strip() != "13":
        return 426, "Unsupported WebSocket version (use 13)."
    key = (headers.get("Sec-WebSocket-Key") or "").strip()
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError
    except ValueError:
        return 400, "Invalid Sec-WebSocket-Key."
    return None


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """One unmasked server frame."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 1 << 16:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


class Connection:
    """One upgraded connection: reads masked client frames, writes (possibly bent) server frames."""

    def __init__(self, sock: socket.socket, rfile: BinaryIO, behaviour: Behaviour) -> None:
        self.sock = sock
        self.rfile = rfile
        self.b = behaviour
        self.closed = False

    # -- reading ---------------------------------------------------------------------------

    def _exact(self, n: int) -> bytes:
        data = self.rfile.read(n) if n else b""
        if len(data) < n:
            raise _Closed
        return data

    def _frame(self) -> tuple[bool, int, bytes]:
        b0, b1 = self._exact(2)
        fin, opcode, masked, n = bool(b0 & 0x80), b0 & 0x0F, bool(b1 & 0x80), b1 & 0x7F
        if b0 & 0x70:
            self.close(1002, "reserved bits set")
        if n == 126:
            n = struct.unpack("!H", self._exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._exact(8))[0]
        if not masked:
            self.close(1002, "client frames must be masked")
        if n > MAX_MESSAGE:
            self.close(1009, "message too big")
        mask = self._exact(4)
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(self._exact(n)))
        return fin, opcode, payload

    def receive(self) -> tuple[int, bytes]:
        """The next data message (opcode, payload), answering pings and closes on the way."""
        opcode: int | None = None
        parts: list[bytes] = []
        while True:
            fin, op, payload = self._frame()
            if op == OP_PING:
                self._send_raw(frame(OP_PONG, payload))
                continue
            if op == OP_PONG:
                continue
            if op == OP_CLOSE:
                code = payload[:2] if len(payload) >= 2 else b""
                self.close(struct.unpack("!H", code)[0] if code else 1000, "")
            if op == OP_CONT:
                if opcode is None:
                    self.close(1002, "continuation without a first frame")
            elif op in (OP_TEXT, OP_BINARY):
                if opcode is not None:
                    self.close(1002, "new message inside a fragmented one")
                opcode = op
            else:
                self.close(1002, f"unknown opcode {op}")
            parts.append(payload)
            if sum(len(p) for p in parts) > MAX_MESSAGE:
                self.close(1009, "message too big")
            if fin:
                assert opcode is not None
                return opcode, b"".join(parts)

    # -- writing ---------------------------------------------------------------------------

    def _send_raw(self, data: bytes) -> None:
        b = self.b
        writes = [data]
        if b.var("split_events") and len(data) > 1:
            writes = [data[: len(data) // 2], data[len(data) // 2:]]
        if b.var("tiny_chunks"):
            writes = [bytes([c]) for w in writes for c in w]
        try:
            for w in writes:
                self.sock.sendall(w)
        except OSError:
            raise _Closed from None

    def send_event(self, event: dict[str, Any], data: str | None = None) -> None:
        b = self.b
        payload = (data if data is not None else dumps(event, b)).encode()
        if b.var("ws_pings"):
            self._send_raw(frame(OP_PING, b"keep-alive"))
        opcode = OP_BINARY if b.dev("ws_binary_frames") else OP_TEXT
        if b.var("ws_fragmented") and len(payload) >= 3:
            third = len(payload) // 3
            pieces = [payload[:third], payload[third: 2 * third], payload[2 * third:]]
            self._send_raw(frame(opcode, pieces[0], fin=False))
            if b.var("ws_pings"):
                self._send_raw(frame(OP_PING, b"mid-message"))  # control frames may interleave (5.4)
            self._send_raw(frame(OP_CONT, pieces[1], fin=False))
            self._send_raw(frame(OP_CONT, pieces[2], fin=True))
            return
        self._send_raw(frame(opcode, payload))

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame (once) and stop the connection."""
        if not self.closed:
            self.closed = True
            try:
                self.sock.sendall(frame(OP_CLOSE, struct.pack("!H", code) + reason.encode()[:120]))
            except OSError:
                pass
        raise _Closed


class _ConnectionStore:
    """The server's store seen through one connection's cache of its latest response.

    A cached ``store: false`` response is usable as ``previous_response_id`` on this
    connection only (the WebSocket-mode guide's connection-local cache).
    """

    def __init__(self, store: Store, cached: Record | None) -> None:
        self._store = store
        self._cached = cached
        self.lock = store.lock

    def get(self, response_id: str) -> Record | None:
        if self._cached is not None and self._cached.id == response_id:
            return dataclasses.replace(self._cached, stored=True)
        return self._store.get(response_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def ws_error(err: ApiError, behaviour: Behaviour) -> dict[str, Any]:
    """The WebSocket ``error`` event (``ResponseWsError``) for an API error."""
    if behaviour.dev("ws_error_event_shape"):  # the SSE ResponseErrorEvent shape instead
        return {"type": "error", "code": err.code, "message": err.message, "param": err.param,
                "sequence_number": 0}
    code = err.code
    if code is None and behaviour.openresponses:  # Open Responses' WebSocketErrorEvent: code is a string
        code = err.type
    return {"type": "error", "status": err.status,
            "error": {"type": err.type, "code": code, "message": err.message, "param": err.param}}


def serve(conn: Connection, api: Any) -> None:
    """Answer ``response.create`` events until the client closes the connection."""
    b: Behaviour = api.behaviour
    cached: Record | None = None
    try:
        while True:
            opcode, payload = conn.receive()
            prev: Any = None
            stream_id: Any = None
            try:
                body, stream_id = _client_event(opcode, payload)
                prev = body.get("previous_response_id")
                result = api.create(body, store=_ConnectionStore(api.store, cached))
                record = getattr(result, "record", None)
                events = getattr(result, "events", None)
                if record is None or events is None:
                    raise ApiError(500, "The server had an error while processing your request.", None,
                                   "server_error", "server_error")
            except ApiError as err:
                if isinstance(prev, str) and cached is not None and cached.id == prev:
                    cached = None  # a failed continuation evicts its previous response
                conn.send_event(_lane(ws_error(err, b), stream_id))
                continue
            cached = record
            sent = [_lane(e, stream_id) for e in deviate(copy.deepcopy(events), b)]
            for n, event in enumerate(sent):
                if n and b.var("slow_stream"):
                    time.sleep(SLOW_STREAM_S)
                conn.send_event(event, repr(event) if b.dev("non_json_event_data") and n == 1 else None)
            if not any(e.get("type") in TERMINAL_TYPES for e in sent):
                conn.close(1000, "")  # the turn never ends otherwise; make the missing event visible
    except _Closed:
        return


def _lane(event: dict[str, Any], stream_id: Any) -> dict[str, Any]:
    """Events of a turn echo the ``stream_id`` its ``response.create`` named."""
    return {**event, "stream_id": stream_id} if isinstance(stream_id, str) else event


def _client_event(opcode: int, payload: bytes) -> tuple[dict[str, Any], Any]:
    if opcode != OP_TEXT:
        raise ApiError(400, "Client events must be sent as text frames holding JSON.", None, "invalid_event")
    try:
        event = json.loads(payload.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "We could not parse the JSON of your client event.", None, "invalid_json") from None
    if not isinstance(event, dict):
        raise ApiError(400, "A client event must be a JSON object.", None, "invalid_event")
    if event.get("type") != "response.create":
        raise ApiError(400, f"Unknown client event type {event.get('type')!r} (expected 'response.create').",
                       "type", "unknown_event_type")
    body = {k: v for k, v in event.items() if k not in ("type", "stream_id", "stream")}
    if body.get("background") is True:
        raise ApiError(400, "background is not supported over WebSocket.", "background", "unsupported_parameter")
    body.pop("background", None)
    body["stream"] = True
    return body, event.get("stream_id")
