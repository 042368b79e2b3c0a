"""What several test modules build the same way: a recorder aimed at a fresh reference server, a recorder over a
scripted wire, and a loopback server for a ``BaseHTTPRequestHandler`` (tests/_hostile.py is the raw-socket one,
for servers that misbehave byte by byte).

Why shared: each copy had drifted only in its defaults; one place keeps the recorder's bounds and the server's
shutdown the same for every test that leans on them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from conformance.record.http import Limits, Recorder, Target
from conformance.reference import MODEL_NAME, ReferenceServer

#: A conforming non-streamed answer to the shipped ``sdk.create`` case (its token is SDK-CREATE-1).
SDK_CREATE_RESPONSE = {
    "id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": "m", "output": [
        {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "SDK-CREATE-1", "annotations": []}]}],
}


@contextmanager
def reference_recorder(api_key: str | None, limits: Limits | None = None, **server: Any) -> Iterator[Recorder]:
    """A recorder aimed at a fresh reference server started with ``api_key`` and ``server`` (deviations, variants,
    profile...), the same key sent; the server stops once the recorder is closed. ``limits``: idle 10 s,
    deadline 30 s unless given (the reference answers at once: the bounds only end a hang)."""
    with ReferenceServer(api_key=api_key, **server) as srv, \
            Recorder(Target(srv.base_url, MODEL_NAME, api_key=api_key), limits or Limits(idle_timeout_s=10, deadline_s=30)) as rec:
        yield rec


def mock_recorder(handler: Callable[[httpx.Request], httpx.Response], target: Target | None = None,
                  limits: Limits | None = None) -> Recorder:
    """A recorder whose wire is ``handler`` (``httpx.MockTransport``): the recorder's own code, no socket."""
    return Recorder(target or Target("http://api.test/v1", "m"), limits or Limits(idle_timeout_s=5, deadline_s=10),
                    transport=httpx.MockTransport(handler))


def send_json(handler: BaseHTTPRequestHandler, status: int, body: object) -> None:
    """Answer ``body`` as JSON, with its Content-Length (the connection may stay open)."""
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


@contextmanager
def serve_handler(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a loopback port in a thread; yields the base URL (…/v1), shuts the server at exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
