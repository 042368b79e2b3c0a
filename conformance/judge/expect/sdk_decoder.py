"""Tell an SDK decoder quirk from a broken stream: replay the recorded bytes through both parsers.

The suite's SSE parser (``conformance.record.sse``) follows the WHATWG event-stream algorithm exactly;
the SDK's ``SSEDecoder`` started as a copy of httpx-sse and keeps its quirk: once an ``id:`` line
was seen, a blank line that ends no event (the blank line after a ``: keep-alive`` comment, or a
second blank line) dispatches an event with empty data, which the SDK then fails to JSON-decode.
Such a stream is valid SSE: the failure is an SDK-tolerance finding, not a spec violation. This
module says which of the two it is, from the recorded bytes alone (a pure function).
"""

from __future__ import annotations

from typing import Any

from ... import _json
from ...record.exchange import Exchange

TOLERANCE_PREFIX = "SDK decoder tolerance, not a spec violation"


def _is_json(text: str) -> bool:
    try:
        _json.loads(text)
    except ValueError:
        return False
    return True


def sdk_decoded_events(body: bytes) -> list[Any]:
    """The events the SDK's own decoder yields for ``body`` (its ``SSEDecoder``, fed the recorded bytes)."""
    from openai._streaming import SSEDecoder

    return list(SSEDecoder().iter_bytes(iter([body])))


def diagnose(ex: Exchange, version: str | None = None) -> str:
    """Why the SDK may have failed on this exchange's stream ('' when the stream gives no reason)."""
    if ex.events is None or not ex.body:
        return ""
    ours = ex.events
    bad_ours = [i for i, e in enumerate(ours) if not e.data.startswith("[DONE]") and not _is_json(e.data)]
    if bad_ours:
        return (f"the stream itself is at fault: {len(bad_ours)} of its {len(ours)} events carry data that is not "
                f"JSON (first: event #{bad_ours[0]}: {ours[bad_ours[0]].data[:80]!r}); see stream.event_json")
    try:
        theirs = sdk_decoded_events(ex.body)
    except Exception as exc:  # the decoder itself raised (e.g. bytes that are not UTF-8)
        return f"the SDK's SSE decoder raised {type(exc).__name__} on the recorded bytes: {str(exc)[:200]}"
    phantom = [i for i, e in enumerate(theirs) if e.data == "" and not (e.event or "").strip()]
    if len(theirs) > len(ours) and phantom:
        ids = sum(1 for e in ours if e.id is not None)
        sdk = f"openai-python {version}" if version else "the openai package"
        comments = ex.body.lstrip(b"\xef\xbb\xbf").startswith(b":") or any(
            sep + b":" in ex.body for sep in (b"\n", b"\r"))
        trigger = "the blank line after a comment line (': keep-alive')" if comments else "an extra blank line"
        return (f"{TOLERANCE_PREFIX}: the recorded stream is valid SSE ({len(ours)} events, all JSON), but "
                f"{sdk}'s SSE decoder yields {len(theirs)} events, {len(phantom)} of them with empty data "
                f"(first at #{phantom[0]}): after an id: line ({ids} events carry one) it dispatches an empty event "
                f"on a blank line that ends no event - here {trigger} - and then fails to JSON-decode it. WHATWG "
                "SSE dispatches nothing there; the raw-protocol checks judge the stream itself. Users of the "
                "official SDK cannot read this stream")
    return ""
