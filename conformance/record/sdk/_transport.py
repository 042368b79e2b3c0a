"""An ``httpx2`` transport (the HTTP client the ``openai`` package uses) that sends through the Recorder.

Why the Recorder rather than a tee around a real transport: the Recorder already is the suite's
only network seam - it enforces the idle timeout, the overall deadline, the body-size bound and
the grace period after the terminal event, retries 429/503 within bounds and a 500 once
(``conformance.record.http.Retries``), never follows redirects, paces requests and scrubs the key - so an SDK step
gets exactly the same evidence
(exchange, curl line, SSE transcript) and the same limits as a raw step. The SDK then reads the
recorded bytes: a stall or an oversized body reaches it as the read error a live connection
would have raised, after the bytes received before it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2

from ..exchange import Exchange
from ..http import Recorder

#: headers the recorder sets itself (or the transport below must not duplicate)
_DROP = frozenset({"host", "content-length", "connection", "accept-encoding", "content-type", "authorization",
                   "transfer-encoding", "openai-organization", "openai-project"})
_CHUNK = 16 * 1024
#: response headers that describe the bytes on the wire, not ``ex.body``: the recorder already decoded the body
#: within its bound, so the SDK must not decode it again (unbounded, and twice) nor check a compressed length
_DECODED = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class _RecordedStream(httpx2.SyncByteStream):
    """The recorded body; an exchange cut short (stall, deadline, size, broken connection) ends in a read error."""

    def __init__(self, ex: Exchange, request: httpx2.Request) -> None:
        self.ex = ex
        self.request = request

    def __iter__(self) -> Iterator[bytes]:
        body = self.ex.body
        for start in range(0, len(body), _CHUNK):
            yield body[start : start + _CHUNK]
        kind = self.ex.error_kind
        if kind in ("idle_timeout", "deadline", "time_limit"):
            raise httpx2.ReadTimeout(f"recorder: {self.ex.error}", request=self.request)
        if kind in ("too_large", "protocol"):
            raise httpx2.RemoteProtocolError(f"recorder: {self.ex.error}", request=self.request)


class RecordingTransport(httpx2.BaseTransport):
    """Hands each SDK request to ``recorder`` as step ``step``; keeps the exchanges in order."""

    def __init__(self, recorder: Recorder, step: str, auth: str = "default") -> None:
        self.recorder = recorder
        self.step = step
        self.auth = auth
        self.exchanges: list[Exchange] = []
        target = recorder.target
        self._drop = _DROP | {target.auth_header.lower()} | {k.lower() for k in target.headers}

    def _path(self, url: httpx2.URL) -> str:
        # the base URL's own query (?api-version=...&api_key=...) is the recorder's to add (Target.url): the SDK
        # is given the base without it, else it would splice the query into the path and leak it into ``path``
        base = self.recorder.target.base_url.partition("?")[0].rstrip("/")
        full = str(url)
        if full.startswith(base + "/"):
            return full[len(base):]
        raw = url.raw_path.decode("ascii", "replace")  # another host: keep path + query (recorded as asked)
        return raw

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        content = request.read()
        body: Any = None
        if content:
            try:
                body = json.loads(content)
            except ValueError as exc:  # every Responses call the suite makes has a JSON body
                raise httpx2.LocalProtocolError(f"SDK request body is not JSON: {exc}", request=request) from None
        headers: dict[str, str] = {}
        for name, value in request.headers.multi_items():
            low = name.lower()
            if low in self._drop:
                continue
            headers["Accept" if low == "accept" else name] = value
        ex = self.recorder.record(self.step, request.method, self._path(request.url), body, auth=self.auth,
                                  headers=headers)
        self.exchanges.append(ex)
        if ex.status is None:
            message = f"recorder: {ex.error_kind}: {ex.error}"
            if ex.error_kind == "timeout":
                raise httpx2.ConnectTimeout(message, request=request)
            if ex.error_kind in ("idle_timeout", "deadline", "time_limit"):  # no status line within the bound
                raise httpx2.ReadTimeout(message, request=request)
            raise httpx2.ConnectError(message, request=request)
        wire = [(k, v) for k, v in ex.headers if k.lower() not in _DECODED]
        return httpx2.Response(ex.status, headers=wire, stream=_RecordedStream(ex, request), request=request)
