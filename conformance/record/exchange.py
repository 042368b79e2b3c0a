"""The recorded facts of one HTTP exchange: what we sent, what came back, and when.

Everything a check may look at lives here, so that checks are pure functions over
recorded data and can be re-run offline (``judge``) or in tests without a network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .. import _json

#: The events that end a Responses API stream (exactly one per stream).
TERMINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")
#: what :meth:`Exchange.compact` keeps of a body cut short: this many bytes of head, and as many of tail
EVIDENCE_KEEP_BYTES = 64 * 1024
#: ... and of its events, the first this many (the results file shows no more: report.results.MAX_EVENTS)
MAX_KEPT_EVENTS = 2000


#: how an exchange went over the wire: an HTTP request, a turn on a WebSocket, or a call of the official SDK
TransportName = Literal["http", "websocket", "sdk"]
TRANSPORTS: tuple[TransportName, ...] = ("http", "websocket", "sdk")


@dataclass(frozen=True)
class WSMessage:
    """How one WebSocket message arrived: what its frames said beyond the text in :attr:`SSEEvent.data`."""

    opcode: int  # 1 text, 2 binary
    problem: str | None = None  # a framing violation seen while assembling this message


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched Server-Sent Event, with the raw bytes it was parsed from.

    ``event`` is the value of the last ``event:`` field, or ``None`` when the block had
    none (the WHATWG default type ``message`` is *not* substituted, so checks can tell
    "no event line" from "event: message").
    """

    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    raw: bytes = b""
    offset: int = 0
    arrival_s: float = 0.0
    # WebSocket turns: each message is recorded as an event; ``raw`` holds its frames' bytes.
    ws: WSMessage | None = None  # None: an SSE event

    def json(self) -> Any:
        """Parse ``data`` as JSON (raises ``ValueError`` when it is not)."""
        return _json.loads(self.data)


@dataclass
class RecordedRequest:
    """The request as sent, with secrets already redacted from ``headers``.

    ``method`` is the real HTTP method: a WebSocket turn records the GET that upgraded its connection, an SDK
    call the request the SDK made; it is ``""`` only when nothing went on the wire (an SDK call that raised
    before its first request). How the exchange travelled is :attr:`Exchange.transport`."""

    method: str
    url: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # the JSON body we sent (None for no body)
    stream: bool = False
    raw_body: str | None = None  # a body sent verbatim instead of JSON (``raw_body:`` steps); ``body`` is then None


@dataclass
class Exchange:
    """One request/response pair as recorded by the recorder.

    ``error_kind`` is set when the exchange is *inconclusive* because of infrastructure
    trouble (connect failure, timeout, stall, oversized body, rate limit): such an
    exchange must never be judged as non-conformant.
    """

    step: str
    request: RecordedRequest
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""  # the whole body; only its head once compacted (see :meth:`compact`)
    body_truncated: bool = False
    body_tail: bytes = b""  # a compacted body's last bytes
    body_omitted: int = 0  # bytes dropped between ``body`` and ``body_tail`` by :meth:`compact`
    events: list[SSEEvent] | None = None
    started_at: float = 0.0
    elapsed_s: float = 0.0
    ttfb_s: float | None = None
    error_kind: str | None = None  # connect|timeout|idle_timeout|deadline|too_large|rate_limited|server_error|protocol
    error: str | None = None
    curl: str = ""
    events_omitted: int = 0  # events dropped from the end of ``events`` by :meth:`compact`
    transport: TransportName = "http"
    #: ``transport == "sdk"``: what the official SDK made of the call (plain JSON, see record/sdk/_runner.py);
    #: None on an earlier request of a call that sent several (only the last one carries the outcome)
    sdk: dict[str, Any] | None = None

    @property
    def sent(self) -> bool:
        """False when nothing went on the wire: an SDK call that raised first (only :attr:`sdk` is recorded)."""
        return bool(self.request.method)

    @property
    def method_label(self) -> str:
        """The method as messages, outage notes and the results JSON show it: ``WS`` for a WebSocket exchange,
        ``SDK`` for an SDK call that sent nothing, else the HTTP method.

        Why not simply ``request.method``: results files, baselines and the results schema were written when the
        transport travelled as these pseudo-methods; deriving them here keeps them (and every message) unchanged."""
        if self.transport == "websocket":
            return "WS"
        if self.transport == "sdk" and not self.sent:
            return "SDK"
        return self.request.method

    @property
    def body_size(self) -> int:
        """Bytes of body received (decoded), including any that :meth:`compact` dropped."""
        return len(self.body) + self.body_omitted + len(self.body_tail)

    def compact(self, keep: int = EVIDENCE_KEEP_BYTES) -> None:
        """Keep ``keep`` bytes of head and of tail (and the first ``MAX_KEPT_EVENTS`` events), drop the rest.

        Why: an exchange cut short (``too_large``) is never judged, yet its body (up to the body bound, 16 MiB)
        and events would otherwise stay in memory for the whole run, once per case; evidence needs only how
        it starts and how it ends. Call it on redacted bytes, so no secret is split at the cut."""
        if len(self.body) > 2 * keep:
            self.body_omitted += len(self.body) - 2 * keep
            self.body, self.body_tail = self.body[:keep], self.body[-keep:]
        if self.events is not None and len(self.events) > MAX_KEPT_EVENTS:
            self.events_omitted += len(self.events) - MAX_KEPT_EVENTS
            self.events = self.events[:MAX_KEPT_EVENTS]

    def header(self, name: str) -> str | None:
        """First response header called ``name`` (case-insensitive), or None."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    @property
    def content_type(self) -> str:
        """The media type of the response without parameters, lower-cased ('' if absent)."""
        value = self.header("content-type") or ""
        return value.split(";", 1)[0].strip().lower()

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The response body parsed as JSON (raises ``ValueError`` when it is not JSON)."""
        return _json.loads(self.body.decode("utf-8"))

    def json_or_none(self) -> Any:
        try:
            return self.json()
        except (ValueError, UnicodeDecodeError):
            return None

    @property
    def is_stream(self) -> bool:
        return self.events is not None

    @property
    def inconclusive(self) -> bool:
        return self.error_kind is not None
