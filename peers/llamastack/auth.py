#!/usr/bin/env python3
"""The key check behind llama-stack's ``custom`` auth provider (stdlib only, loopback).

llama-stack has no static API key setting: its auth providers (OAuth2, GitHub, Kubernetes, custom)
delegate the check. With ``server.auth.provider_config: {type: custom, endpoint: ...}`` it POSTs
``{"api_key": ..., "request": {...}}`` for every request and accepts the request when the endpoint
answers 200 with ``{"principal": ...}``. This endpoint accepts exactly ``PEERS_LLAMASTACK_KEY``, so
what the suite sees for a missing or wrong key is llama-stack's own answer.

    python peers/llamastack/auth.py --port 18131    # POST /validate, GET /health
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    key = ""

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self._send(200, {"status": "ok"}) if self.path == "/health" else self._send(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            api_key = body.get("api_key") if isinstance(body, dict) else None
        except ValueError:
            api_key = None
        if self.path == "/validate" and isinstance(api_key, str) and hmac.compare_digest(api_key, self.key):
            self._send(200, {"principal": "conformance", "attributes": {"roles": ["conformance"]}})
        else:
            self._send(401, {"error": "invalid key"})

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18131)
    args = parser.parse_args()
    Handler.key = os.environ["PEERS_LLAMASTACK_KEY"]
    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
