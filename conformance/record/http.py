"""The suite's only network seam: send one request, record everything, bound everything.

Why a pump thread: httpx read timeouts apply per chunk, so a slow-drip stream never
times out and a server that keeps the connection open after the terminal event would
hang us. Reading in a helper thread and waiting on a queue lets us enforce an idle
timeout, an overall deadline and a grace period after the terminal event exactly,
while keeping every byte received so far as evidence.
"""

from __future__ import annotations

import email.utils
import json
import queue
import socket
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from .. import _json
from ._decode import ACCEPT_ENCODING, BoundedDecoder, DecodeError, DecodeLimit
from ._redact import Redactor, safe_url
from .exchange import TERMINAL_EVENTS, Exchange, RecordedRequest, SSEEvent, TransportName
from .sse import SSEParser
from .transport import Recorded, StepRequest

_EOF = object()
#: chunks read ahead of the parser at most (iter_raw yields up to 64 KiB: a few MiB in flight)
_QUEUED_CHUNKS = 64


class ConfigError(ValueError):
    """A usage/configuration problem, reported as one line and exit code 2."""


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a run safe against slow, endless or huge answers."""

    connect_timeout_s: float = 10.0
    idle_timeout_s: float = 60.0
    deadline_s: float = 180.0
    after_terminal_grace_s: float = 1.0
    max_body_bytes: int = 16 * 1024 * 1024
    max_events: int = 50_000
    retries: int = 2
    max_retry_after_s: float = 30.0
    requests_per_minute: float | None = None


@dataclass(frozen=True)
class Target:
    """Where to send requests and how to authenticate; ``api_key`` never leaves this object unredacted."""

    base_url: str
    model: str
    api_key: str | None = None
    api_key_env: str | None = None
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    headers: Mapping[str, str] = field(default_factory=dict)
    provider: str = "custom"

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"--base-url {safe_url(self.base_url)!r}: expected an http(s) URL such as https://api.example.com/v1")

    def url(self, path: str) -> str:
        """``path`` under the base URL; a query on the base URL (``?api-version=...&api_key=...``) is kept last."""
        base, sep, query = self.base_url.partition("?")
        url = base.rstrip("/") + "/" + path.lstrip("/")
        return url + ("&" if "?" in url else "?") + query if sep and query else url

    def auth_headers(self, mode: str = "default") -> dict[str, str]:
        """Authentication headers for ``mode``: default (the real key), none, or invalid (a wrong key)."""
        if mode == "none" or (mode == "default" and not self.api_key):
            return {}
        key = self.api_key if mode == "default" else "sk-conformance-invalid-key-000000"
        value = f"{self.auth_scheme} {key}".strip() if self.auth_scheme else str(key)
        return {self.auth_header: value}


def _override(headers: dict[str, str], more: Mapping[str, str]) -> None:
    """Set ``more`` in ``headers``, replacing any header of the same name in another case (never sent twice)."""
    for name, value in more.items():
        for existing in [k for k in headers if k.lower() == name.lower()]:
            del headers[existing]
        headers[name] = value


def _is_stream_request(method: str, path: str, body: Any) -> bool:
    if isinstance(body, dict) and body.get("stream") is True:
        return True
    query = urlsplit(path).query
    return method.upper() == "GET" and "stream=true" in query


class Recorder:
    """Records exchanges against one :class:`Target`; safe to share between threads."""

    def __init__(self, target: Target, limits: Limits | None = None, transport: httpx.BaseTransport | None = None) -> None:
        self.target = target
        self.limits = limits or Limits()
        self.redactor = Redactor.for_target(target)
        # read: no byte for idle_timeout_s, headers included (a server that accepts and never answers);
        # the overall deadline over connect + headers is enforced by _send, over the body by _read_body
        idle = self.limits.idle_timeout_s
        timeout = httpx.Timeout(connect=self.limits.connect_timeout_s, read=idle, write=min(30.0, idle), pool=None)
        self._pace_lock = threading.Lock()
        self._next_send = 0.0
        #: the run's ``--max-time`` (a monotonic instant): no request starts after it, none runs past it
        self.stop_at: float | None = None
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()  # every connection opened, for abort()
        self._sockets_lock = threading.Lock()
        pool = httpx.Limits(max_connections=64, max_keepalive_connections=16)
        if transport is None and urlsplit(target.base_url).scheme.lower() == "http":
            # every request goes to the base URL (Target.url) and redirects are not followed, so a plain-http
            # target never negotiates TLS: no need for the verifying SSL context httpx would build (loading the
            # CA bundle is about 20 ms of every run's start-up)
            transport = httpx.HTTPTransport(verify=False, limits=pool)
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, transport=transport, limits=pool)

    def close(self) -> None:
        self._client.close()

    def abort(self) -> None:
        """Stop now (Ctrl-C, SIGTERM): nothing more is sent, and every open connection is shut so the
        threads reading them return at once instead of after an idle timeout or a deadline."""
        self.stop_at = time.monotonic()
        with self._sockets_lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(
        self,
        step: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        stream: bool | None = None,
        auth: str = "default",
        headers: Mapping[str, str] | None = None,
        raw_body: str | None = None,
    ) -> Exchange:
        """Send one request (retried by :class:`Retries`) and return the recorded exchange: the last answer.

        ``raw_body``: send these characters verbatim as the JSON body (a malformed-JSON case) instead of ``body``."""
        stream = _is_stream_request(method, path, body) if stream is None else stream
        retries = Retries(self.limits)
        while True:
            self._pace()
            if self.stop_at is not None and time.monotonic() >= self.stop_at:
                return self._not_sent(step, method, path, body, stream, raw_body)
            ex = self._record_once(step, method, path, body, stream, auth, headers or {}, raw_body)
            delay = retries.again(ex)
            if delay is None:
                return ex
            time.sleep(delay)

    def _not_sent(self, step: str, method: str, path: str, body: Any, stream: bool, raw_body: str | None) -> Exchange:
        request = RecordedRequest(method.upper(), self.redactor.text(self.target.url(path)), path, {},
                                  None if raw_body is not None else body,
                                  stream, raw_body)
        ex = Exchange(step=step, request=request, started_at=time.time())
        ex.error_kind, ex.error = "time_limit", "not sent: the run's --max-time had passed"
        return ex

    def _end(self, t0: float) -> float:
        """When an exchange started at ``t0`` must be over: its deadline, or the run's --max-time if sooner."""
        end = t0 + self.limits.deadline_s
        return end if self.stop_at is None else min(end, self.stop_at)

    def _mark_time_limit(self, ex: Exchange) -> None:
        """A wait cut short because the run's --max-time passed: the run's limit, not the server's fault."""
        if (self.stop_at is not None and time.monotonic() >= self.stop_at
                and ex.error_kind in ("deadline", "idle_timeout")):
            ex.error_kind, ex.error = "time_limit", "cut short: the run's --max-time passed during this exchange"

    def _pace(self) -> None:
        """Space requests to honour a provider's requests-per-minute limit (all threads share it)."""
        rpm = self.limits.requests_per_minute
        if not rpm:
            return
        with self._pace_lock:
            now = time.monotonic()
            wait = max(0.0, self._next_send - now)
            self._next_send = max(now, self._next_send) + 60.0 / rpm
        if wait:
            time.sleep(wait)

    def _record_once(
        self, step: str, method: str, path: str, body: Any, stream: bool, auth: str, extra: Mapping[str, str],
        raw_body: str | None = None,
    ) -> Exchange:
        url = self.target.url(path)
        sent_headers: dict[str, str] = {"Accept": "text/event-stream" if stream else "application/json",
                                        "Accept-Encoding": ACCEPT_ENCODING,  # only what _decode bounds
                                        "User-Agent": self._client.headers["user-agent"]}  # recorded, so curl sends it
        if body is not None or raw_body is not None:
            sent_headers["Content-Type"] = "application/json"
        for more in (self.target.headers, self.target.auth_headers(auth), extra):
            _override(sent_headers, more)
        content = raw_body.encode() if raw_body is not None else json.dumps(body).encode() if body is not None else None
        request = RecordedRequest(method.upper(), self.redactor.text(url), path, self.redactor.headers(sent_headers, auth_mode=auth),
                                  None if raw_body is not None else body, stream, raw_body)
        ex = Exchange(step=step, request=request, started_at=time.time())
        ex.curl = self.redactor.curl(request, auth_mode=auth)
        t0 = time.monotonic()
        try:
            http_request = self._client.build_request(method.upper(), url, content=content, headers=sent_headers)
            response = self._send(http_request, t0)
        except httpx.ConnectTimeout as exc:
            return self._fail(ex, t0, "timeout", f"connect timeout after {self.limits.connect_timeout_s}s: {exc}")
        except (httpx.ReadTimeout, _HeadDeadline):
            mark_stalled(ex, self.limits, t0, "response headers", "bytes")
            self._mark_time_limit(ex)
            ex.error = self.redactor.text(ex.error or "")
            ex.elapsed_s = time.monotonic() - t0
            return ex
        except httpx.TimeoutException as exc:
            return self._fail(ex, t0, "timeout", f"{type(exc).__name__}: {exc}")
        except httpx.HTTPError as exc:
            return self._fail(ex, t0, "connect", f"{type(exc).__name__}: {exc}")
        try:
            ex.ttfb_s = time.monotonic() - t0
            ex.status = response.status_code
            ex.headers = [(k, self.redactor.text(v)) for k, v in response.headers.multi_items()]
            self._read_body(response, ex, t0, parse_sse=stream and response.status_code == 200)
            self._mark_time_limit(ex)
        finally:
            response.close()
        ex.elapsed_s = time.monotonic() - t0
        self._classify(ex)
        received = len(ex.body)
        ex = self.redactor.exchange(ex)
        if ex.body_truncated or ex.error_kind == "too_large":
            ex.compact()  # never judged: keep head and tail as evidence, not up to max_body_bytes per case
            ex.body_omitted = max(0, received - len(ex.body) - len(ex.body_tail))  # as received, not as redacted
        return ex

    def _send(self, request: httpx.Request, t0: float) -> httpx.Response:
        """Send and wait for the status line and headers, within the overall deadline.

        httpx's read timeout bounds each silent wait (idle), but a header block dripped a byte at a
        time never goes idle; so the send runs in a helper thread and we stop waiting at the deadline,
        shutting the socket (captured through httpcore's ``trace`` extension) so the helper ends too."""
        sockets: list[socket.socket] = []

        def trace(event: str, info: Mapping[str, Any]) -> None:
            if event == "connection.connect_tcp.complete":
                stream = info.get("return_value")
                sock = stream.get_extra_info("socket") if stream is not None else None
                if isinstance(sock, socket.socket):
                    sockets.append(sock)
                    with self._sockets_lock:
                        self._sockets.add(sock)

        request.extensions = {**request.extensions, "trace": trace}
        done: queue.Queue[Any] = queue.Queue()
        abandoned = threading.Event()

        def send() -> None:
            try:
                response = self._client.send(request, stream=True)
            except BaseException as exc:  # handed to the waiting thread, which raises it
                done.put(exc)
                return
            if abandoned.is_set():
                response.close()
            else:
                done.put(response)

        threading.Thread(target=send, name="conformance-send", daemon=True).start()
        try:
            item = done.get(timeout=max(0.0, self._end(t0) - time.monotonic()))
        except queue.Empty:
            abandoned.set()
            for sock in sockets:
                _shutdown(sock)
            raise _HeadDeadline from None
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, httpx.Response)
        return item

    def _fail(self, ex: Exchange, t0: float, kind: str, message: str) -> Exchange:
        ex.error_kind, ex.error = kind, self.redactor.text(message)
        ex.elapsed_s = time.monotonic() - t0
        return ex

    def _read_body(self, response: httpx.Response, ex: Exchange, t0: float, parse_sse: bool) -> None:
        """Pump raw bytes through a queue so idle/deadline/grace are enforced by us, not by httpx.

        ``iter_raw`` yields the bytes as sent, so a compressed body is decoded here (``_decode``), with the
        body-size bound applied to the decoded size; ``ex.body`` and the SSE events are the decoded bytes."""
        # Bounded, so a server faster than we parse cannot park its whole (endless) body in the queue; the
        # pump gives up when we stop reading, so it never waits forever on a full queue.
        chunks: queue.Queue[Any] = queue.Queue(maxsize=_QUEUED_CHUNKS)
        done = threading.Event()

        def hand_over(item: Any) -> bool:
            while not done.is_set():
                try:
                    chunks.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def pump() -> None:
            try:
                for chunk in response.iter_raw():
                    if not hand_over(chunk):
                        return
                hand_over(_EOF)
            except Exception as exc:  # the reader reports, the main thread decides
                hand_over(exc)

        threading.Thread(target=pump, name="conformance-pump", daemon=True).start()
        try:
            self._consume(response, ex, t0, parse_sse, chunks)
        finally:
            done.set()

    def _consume(self, response: httpx.Response, ex: Exchange, t0: float, parse_sse: bool,
                 chunks: queue.Queue[Any]) -> None:
        """Decode, bound and parse what the pump hands over, until the end, a bound or a timeout."""
        parser = SSEParser() if parse_sse else None
        events: list[SSEEvent] = []
        body = bytearray()
        terminal_at: float | None = None
        limits = self.limits
        try:
            decoder = BoundedDecoder(response.headers.get("content-encoding"), limits.max_body_bytes)
        except DecodeError as exc:
            ex.error_kind, ex.error = "protocol", f"{exc}; body kept as received (not judged)"
            decoder = BoundedDecoder(None, limits.max_body_bytes)  # keep the raw bytes as evidence
        received = 0  # bytes on the wire (compressed when the body is)
        while True:
            now = time.monotonic()
            if terminal_at is not None:
                wait = terminal_at + limits.after_terminal_grace_s - now
            else:
                wait = min(limits.idle_timeout_s, self._end(t0) - now)
            if wait <= 0:
                if terminal_at is None:
                    ex.error_kind, ex.error = "deadline", f"no end of response within the {limits.deadline_s}s deadline"
                break
            try:
                item = chunks.get(timeout=wait)
            except queue.Empty:
                if terminal_at is None:
                    mark_stalled(ex, limits, t0, "response", "bytes")
                break
            if item is _EOF:
                if decoder.compressed and ex.error_kind is None and received:  # no body at all: nothing to decode
                    try:
                        tail = decoder.finish()
                    except DecodeLimit as exc:
                        body.extend(exc.partial)
                        self._too_large(ex, decoder)
                    except DecodeError as exc:
                        ex.error_kind, ex.error = "protocol", f"{decoder.encoding} body: {exc}"
                    else:
                        body.extend(tail)
                        if parser is not None:
                            events.extend(parser.feed(tail, arrival_s=time.monotonic() - t0))
                break
            if isinstance(item, httpx.ReadTimeout):  # httpx's own idle bound fired first: the same stall
                mark_stalled(ex, limits, t0, "response", "bytes")
                break
            if isinstance(item, Exception):
                ex.error_kind, ex.error = "protocol", f"connection broken while reading the body: {type(item).__name__}: {item}"
                break
            received += len(item)
            if decoder.compressed and received > limits.max_body_bytes:
                ex.body_truncated = True
                ex.error_kind, ex.error = "too_large", f"compressed body exceeded {limits.max_body_bytes} bytes; reading stopped"
                break
            try:
                item = decoder.feed(item)
            except DecodeLimit as exc:
                body.extend(exc.partial)  # decoded up to the bound: the head kept as evidence
                self._too_large(ex, decoder)
                break
            except DecodeError as exc:
                ex.error_kind, ex.error = "protocol", f"{decoder.encoding} body: {exc}"
                break
            if len(body) + len(item) > limits.max_body_bytes:
                body.extend(item[: limits.max_body_bytes - len(body)])
                ex.body_truncated = True
                ex.error_kind, ex.error = "too_large", f"body exceeded {limits.max_body_bytes} bytes; reading stopped"
                break
            body.extend(item)
            if parser is not None:
                for event in parser.feed(item, arrival_s=time.monotonic() - t0):
                    events.append(event)
                    if terminal_at is None and _event_type(event) in TERMINAL_EVENTS:
                        terminal_at = time.monotonic()
                if len(events) > limits.max_events:
                    ex.error_kind, ex.error = "too_large", f"more than {limits.max_events} events; reading stopped"
                    break
        if parser is not None:
            events.extend(parser.close())
            ex.events = events
        ex.body = bytes(body)

    def _too_large(self, ex: Exchange, decoder: BoundedDecoder) -> None:
        ex.body_truncated = True
        ex.error_kind, ex.error = "too_large", (
            f"{decoder.encoding} body decompressed past {self.limits.max_body_bytes} bytes; reading stopped "
            "(a decompression bomb or an oversized body: not judged)")

    @staticmethod
    def _classify(ex: Exchange) -> None:
        """Mark infrastructure outcomes as inconclusive: they are never conformance failures."""
        if ex.error_kind is not None or ex.status is None:
            return
        if 300 <= ex.status < 400:
            location = ex.header("location") or "?"
            ex.error_kind, ex.error = "redirect", f"HTTP {ex.status} redirect to {location}; redirects are not followed (use the final URL as --base-url)"
        elif ex.status >= 500 and ex.status != 501:  # 501 Not Implemented is a decline, judged as such
            ex.error_kind, ex.error = "server_error", f"HTTP {ex.status} server error (inconclusive)"
            # a 500 that a retry reproduces becomes conclusive (Retries.again); 502/503/504 never do


#: Answers worth sending again: rate limited, or overloaded for now (``Retry-After`` honoured).
RETRY_STATUSES = frozenset({429, 503})
#: 5xx that say "not now" (a gateway or upstream failed, overload, a gateway timeout): inconclusive however often.
TRANSIENT_SERVER_STATUSES = frozenset({502, 503, 504})


def is_server_fault(status: int | None) -> bool:
    """A 5xx that is the server's own failure (500, 505...): not 501 (a decline) nor a transient 502/503/504."""
    return status is not None and status >= 500 and status != 501 and status not in TRANSIENT_SERVER_STATUSES


class Retries:
    """The one retry rule, for HTTP requests and WebSocket handshakes alike (docs/verdicts.md#declines).

    429 and 503 are sent again within ``Limits.retries`` (a 429 that outlasts them is ``rate_limited``,
    inconclusive). A server fault (:func:`is_server_fault`, e.g. 500) is sent once more: a fault that comes back
    is *reproduced* and the exchange becomes conclusive, so the engine judges it (``engine.server_error``: the
    server cannot serve this request, and the documented error classes never allow a 5xx); one that does not
    come back was a blip, and the later answer is the one judged. A fault that cannot be retried (no retries
    left) stays inconclusive, as do 502/503/504, timeouts and resets.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.attempt = 0
        self.faults = 0

    def again(self, ex: Exchange) -> float | None:
        """Seconds to wait before sending the request again, or None when ``ex`` is the answer to keep."""
        if ex.status in RETRY_STATUSES and self.attempt < self.limits.retries:
            return self._next(ex)
        if ex.error_kind == "server_error" and is_server_fault(ex.status):
            self.faults += 1
            if self.faults >= 2:
                ex.error_kind, ex.error = None, None  # reproduced: judged, no longer inconclusive
                return None
            if self.attempt < self.limits.retries:
                return self._next(ex)
            ex.error = f"HTTP {ex.status} server error, not retried (no retries left): inconclusive"
        if ex.status == 429 and ex.error_kind is None:
            ex.error_kind, ex.error = "rate_limited", f"HTTP 429 after {self.attempt + 1} attempts"
        return None

    def _next(self, ex: Exchange) -> float | None:
        """The wait before the next attempt; None (and ``ex`` marked) when the server asks for more than the bound.

        A ``Retry-After`` past ``Limits.max_retry_after_s`` is not waited for at all (nor cut to the bound: a
        server saying "in an hour" is not ready in 30 s, and waiting would cost every request of the run)."""
        asked = retry_after_s(ex.header("retry-after"))
        bound = self.limits.max_retry_after_s
        if asked is not None and asked > bound:
            kind = "rate_limited" if ex.status == 429 else ex.error_kind or "server_error"
            ex.error_kind, ex.error = kind, (
                f"HTTP {ex.status} with Retry-After {ex.header('retry-after')!r} ({asked:.0f}s), past the {bound:g}s "
                "bound on waiting: not retried (inconclusive)")
            return None
        self.attempt += 1
        return asked if asked is not None else min(0.5 * 2**self.attempt, bound)


def retry_after_s(raw: str | None) -> float | None:
    """Seconds a ``Retry-After`` value asks for (delta-seconds or an HTTP-date), None when absent or unreadable."""
    if raw is None:
        return None
    try:
        return max(0.0, float(raw.strip()))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def mark_stalled(ex: Exchange, limits: Limits, t0: float, what: str, unit: str) -> None:
    """Nothing arrived in time: past the overall deadline, or idle too long (a stall). Both inconclusive."""
    if time.monotonic() - t0 >= limits.deadline_s:
        ex.error_kind, ex.error = "deadline", f"{what} not finished within the {limits.deadline_s}s deadline"
    else:
        ex.error_kind, ex.error = "idle_timeout", f"no {unit} received for {limits.idle_timeout_s}s ({what} stalled)"


class _HeadDeadline(Exception):
    """The status line and headers did not arrive within the overall deadline."""


def _shutdown(sock: socket.socket) -> None:
    """Wake a thread blocked reading ``sock`` (close alone does not, on Linux)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _event_type(event: SSEEvent) -> str | None:
    try:
        data = _json.loads(event.data)
    except ValueError:
        return None
    return data.get("type") if isinstance(data, dict) else None



class HTTPTransport:
    """``transport: http`` (conformance/record/transport.py): one plain request through the :class:`Recorder`."""

    name: TransportName = "http"

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def send(self, request: StepRequest) -> Recorded:
        ex = self.recorder.record(request.step, request.method, request.path, request.body, stream=request.stream,
                                  auth=request.auth, headers=request.headers, raw_body=request.raw_body)
        return Recorded([ex])

    def close(self) -> None:
        """Nothing per case: the connection pool belongs to the run's :class:`Recorder`."""
