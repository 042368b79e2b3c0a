"""The one seam between the engine and the wire: a :class:`Transport` records one step.

A case's step names how it travels (``transport: http | websocket | sdk``); the engine resolves the step's tags
into a :class:`StepRequest`, hands it to that transport's :meth:`Transport.send`, and gets back the recorded
exchanges, already bounded (idle timeout, deadline, body size, ``--max-time``) and redacted. Everything that
differs between transports - a WebSocket's shared connections, the official SDK's client, an HTTP request's
method - stays behind this seam; the engine judges every transport's exchanges the same way.

Why this shape (httpx's one ``BaseTransport.handle_request`` is the model): a new transport is one class and one
line in :data:`_FACTORIES`, and nothing else in the engine asks which transport it is talking to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .exchange import TRANSPORTS, Exchange, TransportName

if TYPE_CHECKING:
    from .http import Recorder

__all__ = ["Recorded", "StepRequest", "Transport", "open_transport"]


@dataclass(frozen=True)
class StepRequest:
    """One step's request with its tags resolved: what a transport needs to send it.

    ``method``, ``path``, ``body``, ``headers``, ``stream`` and ``raw_body`` describe an HTTP request (on a
    WebSocket: the upgrade's path and headers, and ``body`` the client event); ``connection`` names the
    WebSocket a turn shares with its case's other steps; ``call`` and ``args`` name an official-SDK call."""

    step: str
    method: str = "POST"
    path: str = "/responses"
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    stream: bool = False
    auth: str = "default"
    raw_body: str | None = None
    connection: str | None = None
    call: str | None = None
    args: Any = None


@dataclass
class Recorded:
    """What sending one step produced.

    ``exchanges``: in the order they happened, never empty (an SDK call may send several requests; the last one
    carries the step's answer). ``notes``: trouble the step met that no exchange shows (a WebSocket closed under
    a later turn, a bad ``Sec-WebSocket-Accept``); the engine reports each as a failed ``engine.<transport>``
    check of the step."""

    exchanges: list[Exchange]
    notes: list[str] = field(default_factory=list)


class Transport(Protocol):
    """Sends the steps of one case; :meth:`close` at the end of the case releases what they shared."""

    name: TransportName

    def send(self, request: StepRequest) -> Recorded:
        """Record ``request`` (bounded by the run's limits; never raises for anything the server does)."""
        ...

    def close(self) -> None:
        """Release per-case state (a WebSocket transport closes its connections)."""
        ...


def _http(recorder: Recorder) -> Transport:
    from .http import HTTPTransport

    return HTTPTransport(recorder)


def _websocket(recorder: Recorder) -> Transport:
    from .websocket import WebSocketTransport

    return WebSocketTransport(recorder)


def _sdk(recorder: Recorder) -> Transport:
    from .sdk._runner import SDKTransport  # imports neither openai nor httpx2 until a call is made

    return SDKTransport(recorder)


#: a step's ``transport:`` -> how to open it for one case (on the run's :class:`Recorder`: its target,
#: limits, redactor, pacing and ``--max-time`` bound every transport alike)
_FACTORIES: dict[str, Callable[[Recorder], Transport]] = {"http": _http, "websocket": _websocket, "sdk": _sdk}
assert tuple(_FACTORIES) == TRANSPORTS


def open_transport(name: str, recorder: Recorder) -> Transport:
    """A fresh transport for one case (the loader has already rejected unknown ``transport:`` values)."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ValueError(f"unknown transport {name!r} (known: {', '.join(TRANSPORTS)})")
    return factory(recorder)
