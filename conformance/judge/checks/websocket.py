"""WebSocket framing of Responses turns (RFC 6455 as the Responses WebSocket transport uses it).

The event rules themselves (schemas, lifecycle, accumulation) are the stream checks', which judge a
WebSocket turn exactly like an SSE stream; this module judges only what is WebSocket-specific.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..._verdict import Finding
from ...record.exchange import Exchange
from ._registry import CheckContext, check
from ._util import SPEC, sse_200

SERVER_EVENT_REF = f"{SPEC}#/components/schemas/ResponsesServerEvent"


@check("ws.text_frames", proof=("ws_binary_frames", "streaming.websocket_sequential"), basis="documented", spec_ref=SERVER_EVENT_REF,
       applies=lambda ex, ctx: ctx.transport == "websocket" and sse_200(ex, ctx))
def text_frames(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Every server event is one JSON *text* message, framed as RFC 6455 requires of a server.

    Binary messages, masked server frames, reserved bits and invalid UTF-8 in text are protocol errors
    (RFC 6455 5.1, 5.2, 8.1) that browser and SDK clients fail the connection on. Fragmented messages
    and interleaved pings are legal and not judged.
    """
    for index, event in enumerate(ex.events or []):
        if event.ws is None:  # an SSE event: no frames to judge
            continue
        if event.ws.opcode == 0x2:
            yield Finding("a binary message; Responses events are JSON text frames (opcode 1)",
                          f"events[{index}]")
        elif event.ws.opcode != 0x1:
            yield Finding(f"a message with opcode {event.ws.opcode}", f"events[{index}]")
        if event.ws.problem:
            yield Finding(event.ws.problem, f"events[{index}]")
