"""HTTP/1.1 transport: routing, auth, body limits, JSON replies and chunked SSE streams.

Standard library only.  Each SSE write is its own HTTP chunk sent with ``sendall`` on a
``TCP_NODELAY`` socket, so the ``tiny_chunks`` / ``split_events`` variants really reach the
client as small TCP writes.  No request can crash the server thread: every failure ends
as an error envelope (or its deviation), never a traceback or an HTML page.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, cast
from urllib.parse import parse_qs, unquote, urlsplit

from . import _websocket as ws
from ._api import Api, Json, Stream
from ._behaviours import Behaviour
from ._errors import ApiError, render_error
from ._streaming import dumps, writes

MAX_BODY = 8 * 1024 * 1024
DRAIN_LIMIT = 64 * 1024 * 1024
SLOW_STREAM_S = 0.02

ROUTES: list[tuple[re.Pattern[str], dict[str, str]]] = [
    (re.compile(r"^/v1/responses/input_tokens$"), {"POST": "input_tokens"}),
    (re.compile(r"^/v1/responses/compact$"), {"POST": "compact"}),
    (re.compile(r"^/v1/responses$"), {"POST": "create"}),
    (re.compile(r"^/v1/responses/([^/]+)/cancel$"), {"POST": "cancel"}),
    (re.compile(r"^/v1/responses/([^/]+)/input_items$"), {"GET": "input_items"}),
    (re.compile(r"^/v1/responses/([^/]+)$"), {"GET": "retrieve", "DELETE": "delete"}),
    (re.compile(r"^/v1/conversations$"), {"POST": "conversations.create"}),
    (re.compile(r"^/v1/conversations/([^/]+)$"), {"GET": "conversations.retrieve"}),
    (re.compile(r"^/v1/conversations/([^/]+)/items$"), {"GET": "conversations.items"}),
]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: Api, api_key: str | None, verbose: bool,
                 websocket: bool = True) -> None:
        super().__init__(address, _Handler)
        self.api = api
        self.api_key = api_key
        self.verbose = verbose
        self.websocket = websocket

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.verbose:
            super().handle_error(request, client_address)


class _BodyTooLarge(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "reference-responses/1.0"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.verbose:
            sys.stderr.write(f"[reference] {self.address_string()} {format % args}\n")

    def do_GET(self) -> None:
        if ws.is_upgrade(self.headers):
            self._upgrade()
            return
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Replace the stdlib's HTML error page (bad request line, unsupported method...) with JSON."""
        self.close_connection = True
        text = message or explain or self.responses.get(code, ("Error",))[0]
        self._send_error(ApiError(code, text, None, None), f"req_{uuid.uuid4().hex}")

    # -- plumbing -----------------------------------------------------------------------

    @property
    def behaviour(self) -> Behaviour:
        return self.server.api.behaviour

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise _BodyTooLarge
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            if length <= DRAIN_LIMIT:  # drain, so the client reads our 413 rather than a reset
                remaining = length
                while remaining > 0:
                    got = self.rfile.read(min(remaining, 1 << 20))
                    if not got:
                        break
                    remaining -= len(got)
            raise _BodyTooLarge
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self, method: str) -> None:
        request_id = f"req_{uuid.uuid4().hex}"
        try:
            try:
                raw = self._read_body()
            except _BodyTooLarge:
                self.close_connection = True
                raise ApiError(413, f"Request body too large (limit {MAX_BODY} bytes).", None,
                               "request_too_large") from None
            except ValueError:
                self.close_connection = True
                raise ApiError(400, "Malformed request body framing.", None, None) from None
            self._check_auth(raw)
            result = self._route(method, raw)
            if isinstance(result, Stream):
                self._send_stream(result, request_id)
            else:
                self._send_json(result, request_id)
        except ApiError as err:
            self._send_error(err, request_id)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # never let a request kill the thread or leak a traceback
            if self.server.verbose:
                traceback.print_exc()
            self._send_error(ApiError(500, "The server had an error while processing your request.", None,
                                      "server_error", "server_error"), request_id)

    def _upgrade(self) -> None:
        """Switch ``GET /v1/responses`` to the WebSocket transport (see ``_websocket``)."""
        request_id = f"req_{uuid.uuid4().hex}"
        self.close_connection = True
        if self.behaviour.dev("ws_upgrade_403"):  # what Starlette/uvicorn answer on a route without a handler
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            return
        try:
            self._check_auth()
            path = urlsplit(self.path).path.rstrip("/")
            if path != "/v1/responses" or not self.server.websocket:
                raise ApiError(404, f"Invalid URL (WebSocket {urlsplit(self.path).path}).", None, "unknown_url")
            problem = ws.handshake_problem(self.headers)
            if problem is not None:
                raise ApiError(problem[0], problem[1], None, "invalid_websocket_handshake")
        except ApiError as err:
            self._send_error(err, request_id)
            return
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", ws.accept_key(self.headers["Sec-WebSocket-Key"].strip()))
        self._common_headers(request_id)
        self.end_headers()
        ws.serve(ws.Connection(self.connection, cast(BinaryIO, self.rfile), self.behaviour), self.server.api)

    def _check_auth(self, raw: bytes = b"") -> None:
        key = self.server.api_key
        if key is None or self.behaviour.dev("no_auth_check"):
            return
        if self.behaviour.dev("stream_skips_auth") and _asks_stream(raw):
            return
        header = self.headers.get("Authorization") or ""
        if header == f"Bearer {key}":
            return
        status = 403 if self.behaviour.dev("auth_403") else 401
        message = ("You didn't provide an API key." if not header
                   else "Incorrect API key provided.")
        raise ApiError(status, message, None, "invalid_api_key")

    def _route(self, method: str, raw: bytes) -> Json | Stream:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = parse_qs(parts.query)
        for pattern, methods in ROUTES:
            m = pattern.match(path)
            if not m:
                continue
            action = methods.get(method)
            if action is None:
                raise ApiError(405, f"Method {method} is not allowed for {path}. Allowed: "
                               f"{', '.join(sorted(methods))}.", None, "method_not_allowed")
            api = self.server.api
            ident = unquote(m.group(1)) if m.groups() else ""
            if action.startswith("conversations."):
                handler = getattr(api.conversations, action.split(".", 1)[1])
                if action == "conversations.create":
                    return handler(_parse_json(raw, required=False))  # type: ignore[no-any-return]
                if action == "conversations.items":
                    return handler(ident, query)  # type: ignore[no-any-return]
                return handler(ident)  # type: ignore[no-any-return]
            if action in ("create", "input_tokens", "compact"):
                body = _parse_json(raw, required=action == "create",
                                   lenient=self.behaviour.dev("accept_malformed_json"))
                return getattr(api, action)(body)  # type: ignore[no-any-return]
            if action == "retrieve" and self.behaviour.dev("retrieve_route_missing"):
                raise ApiError(404, f"Invalid URL ({method} {parts.path}).", None, "unknown_url")
            if action in ("retrieve", "input_items"):
                return getattr(api, action)(ident, query)  # type: ignore[no-any-return]
            return getattr(api, action)(ident)  # type: ignore[no-any-return]
        raise ApiError(404, f"Invalid URL ({method} {parts.path}).", None, "unknown_url")

    def _common_headers(self, request_id: str) -> None:
        self.send_header("x-request-id", request_id)
        self.send_header("openai-processing-ms", "1")

    def _send_json(self, result: Json, request_id: str) -> None:
        payload = dumps(result.body, self.behaviour).encode()
        ctype = "text/plain; charset=utf-8" if self.behaviour.dev("json_wrong_content_type") else "application/json"
        self.send_response(result.status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in result.headers.items():
            self.send_header(name, value)
        self._common_headers(request_id)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _send_error(self, err: ApiError, request_id: str) -> None:
        status, ctype, payload = render_error(err, self.behaviour)
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self._common_headers(request_id)
            self.end_headers()
            if getattr(self, "command", None) != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def _send_stream(self, result: Stream, request_id: str) -> None:
        b = self.behaviour
        self.send_response(200)
        self.send_header("Content-Type", "application/json" if b.dev("wrong_stream_content_type")
                         else "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self._common_headers(request_id)
        self.end_headers()
        sock = self.connection
        for n, event_writes in enumerate(writes(result.events, b)):
            if n and b.var("slow_stream"):
                time.sleep(SLOW_STREAM_S)
            for data in event_writes:
                if data:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
        sock.sendall(b"0\r\n\r\n")


#: what the ``accept_malformed_json`` deviation makes of a body it cannot parse: an ordinary minimal request
_LENIENT_BODY = {"model": "reference-1", "input": "OK"}


def _asks_stream(raw: bytes) -> bool:
    """Does the (JSON) body ask for a stream? Unparseable bodies do not."""
    try:
        body = json.loads(raw.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    return isinstance(body, dict) and body.get("stream") is True


def _parse_json(raw: bytes, *, required: bool, lenient: bool = False) -> dict[str, Any]:
    if lenient and raw.strip():
        try:
            json.loads(raw.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            return dict(_LENIENT_BODY)
    if not raw.strip():
        if not required:
            return {}
        raise ApiError(400, "We could not parse the JSON body of your request: the body is empty. "
                       "(HINT: send a JSON object with Content-Type: application/json.)", None, None,
                       validation=True)
    try:
        body = json.loads(raw.decode("utf-8-sig"), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "We could not parse the JSON body of your request. (HINT: This likely means you "
                       "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
                       None, None, validation=True) from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.", None, "invalid_type", validation=True)
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def make_server(host: str, port: int, api: Api, api_key: str | None, verbose: bool,
                websocket: bool = True) -> _Server:
    if ":" in host:
        class _Server6(_Server):
            address_family = socket.AF_INET6
        return _Server6((host, port), api, api_key, verbose, websocket)
    return _Server((host, port), api, api_key, verbose, websocket)
