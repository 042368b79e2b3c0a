"""Spec-exact, incremental Server-Sent Events parser (WHATWG HTML, "event stream interpretation").

Why our own parser: the usual Python SSE readers are wrong in ways that matter for a conformance
suite (see ``../shared/design-notes.md``, "SSE in Python: the traps"). httpx's ``iter_lines`` and
anything built on ``str.splitlines`` break lines at U+2028, U+0085, form feed and friends, which truncates
JSON data; httpx-sse and the official SDK decoder dispatch phantom events (an ``event:`` block without
``data:``, or a blank line / keep-alive after an ``id:`` line); a leading BOM can eat the first event;
CRLF streams confuse other testers. A conformance verdict must never blame a server for the client's
parsing bug, so this module follows the spec to the letter and keeps the raw bytes as evidence.

What the parser does, per the spec:

* Lines end with CRLF, a lone LF or a lone CR, freely mixed. Lines are split at the *byte* level (CR and
  LF never occur inside a multi-byte UTF-8 sequence) and each line is then decoded as UTF-8 with U+FFFD
  replacement; invalid lines are counted in :attr:`SSEParser.decode_errors`.
* One leading UTF-8 BOM is stripped, only at the very start of the stream (it may arrive split across
  chunks).
* ``field:value`` with a single leading space of the value removed; a line without a colon is a field
  name with an empty value; a line starting with ``:`` is a comment (counted in
  :attr:`SSEParser.comments`). Field names are case-sensitive; unknown fields are ignored.
* ``data`` appends ``value + "\\n"`` to the data buffer, ``event`` sets the event type buffer, ``id`` sets
  the last event id unless the value contains NUL (and it persists across events), ``retry`` is honoured
  only when the value is a non-empty run of ASCII digits.
* A blank line dispatches the block, unless the data buffer is empty: then nothing is dispatched and the
  event type buffer is reset (no phantom events). The trailing ``"\\n"`` of the data buffer is removed.
* At end of stream an unterminated final block is *not* dispatched; its bytes are kept in
  :attr:`SSEParser.trailing` as evidence of "stream ended mid-event".

Choices where the spec leaves our representation open (``SSEEvent`` is defined in ``exchange.py``):

* ``SSEEvent.event`` is ``None`` when the block had no ``event:`` field (the default type ``message`` is
  not substituted) and ``""`` when it had an empty one.
* ``SSEEvent.id`` is ``None`` until the stream has carried any valid ``id`` field, then the last event id
  in effect at dispatch (``""`` after an empty ``id`` reset it).
* ``SSEEvent.retry`` is the valid ``retry`` value set *within this block*, else ``None``; the stream-wide
  reconnection time is :attr:`SSEParser.reconnection_ms`.

Chunk boundaries and ``raw``: a chunk that ends in CR completes its line *immediately* (a lone-CR
server that then pauses must not have its event held back until the next byte arrives), and an LF that
opens the next chunk is swallowed as the second half of that CRLF. ``raw`` must not depend on how the
stream was chunked, so it cannot depend on the byte after a CR either: **the raw bytes of a block end
at the line terminator of its blank line, and for a CRLF blank line that is the CR**. The LF that
follows is a separator that belongs to no block (the next block starts after it). So for a CRLF stream
``raw`` ends in ``b"\\r\\n\\r"``; everything else about ``raw`` is literal. Every byte of the stream is in
exactly one of: the stripped BOM, one event's ``raw``, a non-dispatched block (comments, blank lines,
blocks without data), such a separator LF, or :attr:`SSEParser.trailing`.

``offset`` is the position of ``raw`` in the stream, counting the BOM. ``arrival_s`` is the value given to
the :meth:`SSEParser.feed` call that completed the event.

Memory and time: the parser keeps only the unfinished block (for ``raw``) and the unfinished line,
scans each chunk once with a compiled regex, and never re-scans earlier bytes, so feeding a stream one
byte at a time is linear. A server that never sends a blank line makes the unfinished block grow; the
recorder's body-size limit is what bounds that.
"""

from __future__ import annotations

import re

from conformance.record.exchange import SSEEvent

__all__ = ["SSEParser", "parse_sse", "BOM"]

BOM: bytes = b"\xef\xbb\xbf"
"""The UTF-8 byte order mark that the spec's UTF-8 decode strips once at the start of the stream."""

_EOL = re.compile(rb"\r\n?|\n")
_CR = 0x0D
_LF = 0x0A


class SSEParser:
    """Incremental ``text/event-stream`` parser: feed bytes as they arrive, get events as they complete.

    One instance parses one stream. :meth:`feed` returns the events completed by that chunk;
    :meth:`close` marks the end of the stream (an unterminated final block is not dispatched, per
    spec) after which :attr:`trailing` holds its bytes.
    """

    def __init__(self) -> None:
        # BOM detection: bytes held back until we know whether the stream starts with a BOM.
        self._head = b""
        self._bom_decided = False
        # Position bookkeeping (absolute byte offsets in the stream, BOM included).
        self._bytes_seen = 0
        self._pos = 0  # absolute offset of the next byte to be processed (after BOM handling)
        self._block_offset = 0  # absolute offset of the first byte of the unfinished block
        # Unfinished block (raw bytes carried over from earlier chunks) and unfinished line.
        self._block = bytearray()
        self._line = bytearray()
        self._swallow_lf = False  # previous chunk ended in CR: an LF opening the next chunk ends nothing
        # Spec buffers.
        self._data: list[str] = []  # values of the block's data lines (joined with "\n" at dispatch)
        self._event_type: str | None = None
        self._block_retry: int | None = None
        self._block_has_field = False  # the unfinished block holds a non-comment line
        self._last_event_id: str | None = None
        self._reconnection_ms: int | None = None
        # Counters and end state.
        self._decode_errors = 0
        self._comments = 0
        self._closed = False
        self._trailing = b""

    # ------------------------------------------------------------------ public API

    def feed(self, chunk: bytes, arrival_s: float = 0.0) -> list[SSEEvent]:
        """Consume the next bytes of the stream; return the events this chunk completed, in order.

        ``arrival_s`` (e.g. seconds since the request started) is stamped on those events so that
        timing checks see when an event became available, not when the stream ended.
        """
        if self._closed:
            raise ValueError("SSEParser.feed() called after close()")
        chunk = bytes(chunk)
        self._bytes_seen += len(chunk)
        if not self._bom_decided:
            self._head += chunk
            if len(self._head) < len(BOM) and BOM.startswith(self._head):
                return []  # could still be a BOM split across chunks: wait for more bytes
            chunk = self._decide_bom()
        return self._process(chunk, arrival_s)

    def close(self) -> list[SSEEvent]:
        """Mark the end of the stream and return the events it completes (per spec: always none).

        The spec discards an unterminated final block ("the end of the stream is not enough to trigger
        the dispatch of the last event"); its bytes are kept in :attr:`trailing`. Idempotent.
        """
        events: list[SSEEvent] = []
        if self._closed:
            return events
        if not self._bom_decided:  # a proper prefix of the BOM followed by EOF: ordinary bytes
            events = self._process(self._decide_bom(), 0.0)
        self._closed = True
        self._trailing = bytes(self._block)
        return events

    @property
    def trailing(self) -> bytes:
        """Bytes of the unfinished block: after :meth:`close`, the unterminated final block.

        Non-empty means the stream did not end on a block boundary. It may hold only comments (a
        keep-alive after the last event); :attr:`ended_mid_event` tells whether it held more.
        """
        if self._closed:
            return self._trailing
        return bytes(self._block) + (b"" if self._bom_decided else self._head)

    @property
    def ended_mid_event(self) -> bool:
        """True when the unfinished block contains anything but comments (a field line, even a partial one).

        That is the evidence for "the stream ended in the middle of an event"; a trailing keep-alive
        comment does not count.
        """
        if self._block_has_field:
            return True
        return bool(self._line) and self._line[0] != ord(":")

    @property
    def decode_errors(self) -> int:
        """Number of lines that were not valid UTF-8 (they were decoded with U+FFFD replacement)."""
        return self._decode_errors

    @property
    def comments(self) -> int:
        """Number of comment lines (``:`` first) seen so far: keep-alives and the like."""
        return self._comments

    @property
    def bytes_seen(self) -> int:
        """Total bytes fed so far, BOM included."""
        return self._bytes_seen

    @property
    def last_event_id(self) -> str | None:
        """The stream's last event id (``None`` if no valid ``id`` field was seen)."""
        return self._last_event_id

    @property
    def reconnection_ms(self) -> int | None:
        """The stream's reconnection time from the last valid ``retry`` field, dispatched or not."""
        return self._reconnection_ms

    # ------------------------------------------------------------------ internals

    def _decide_bom(self) -> bytes:
        """Resolve the held-back stream head: strip one BOM if present, return the bytes to process."""
        head, self._head = self._head, b""
        self._bom_decided = True
        if head.startswith(BOM):
            head = head[len(BOM) :]
            self._pos = self._block_offset = len(BOM)
        return head

    def _process(self, chunk: bytes, arrival_s: float) -> list[SSEEvent]:
        """Split ``chunk`` into lines (continuing the carried-over line) and interpret each one."""
        events: list[SSEEvent] = []
        n = len(chunk)
        if n == 0:
            return events
        base = self._pos  # absolute offset of chunk[0]
        self._pos += n
        start = 0  # start (in chunk) of the part of the unfinished block that lies in this chunk
        line_start = 0  # start (in chunk) of the unfinished line's part in this chunk
        if self._swallow_lf:
            self._swallow_lf = False
            if chunk[0] == _LF:
                line_start = 1
                if not self._block:  # the CR ended a block: the LF is a separator outside any block
                    start = 1
                    self._block_offset = base + 1
        for match in _EOL.finditer(chunk, line_start):
            eol_start, eol_end = match.span()
            if self._line:
                self._line += chunk[line_start:eol_start]
                line = bytes(self._line)
                self._line.clear()
            else:
                line = chunk[line_start:eol_start]
            line_start = eol_end
            if eol_end == n and chunk[eol_start] == _CR and eol_end - eol_start == 1:
                self._swallow_lf = True  # a CRLF may be split here: swallow an LF that comes next
            if line:
                self._interpret(line)
                continue
            # Blank line: the block ends here. For CRLF the block ends at the CR (see module docstring).
            block_end = eol_start + 1
            event = self._end_block(chunk, start, block_end, arrival_s)
            if event is not None:
                events.append(event)
            start = eol_end
            self._block_offset = base + eol_end
        if start < n:
            self._block += chunk[start:]
        if line_start < n:
            self._line += chunk[line_start:]
        return events

    def _end_block(self, chunk: bytes, start: int, end: int, arrival_s: float) -> SSEEvent | None:
        """Finish the current block at ``chunk[end]``; dispatch it if its data buffer is non-empty."""
        data, event_type, retry = self._data, self._event_type, self._block_retry
        self._data = []
        self._event_type = None
        self._block_retry = None
        self._block_has_field = False
        if not data:  # spec: empty data buffer -> reset buffers, dispatch nothing
            self._block.clear()
            return None
        if self._block:
            raw = bytes(self._block) + chunk[start:end]
            self._block.clear()
        else:
            raw = chunk[start:end]
        return SSEEvent(
            data="\n".join(data),
            event=event_type,
            id=self._last_event_id,
            retry=retry,
            raw=raw,
            offset=self._block_offset,
            arrival_s=arrival_s,
        )

    def _interpret(self, line_bytes: bytes) -> None:
        """Apply one non-blank line (without its terminator) to the spec buffers."""
        try:
            line = line_bytes.decode("utf-8")
        except UnicodeDecodeError:
            self._decode_errors += 1
            line = line_bytes.decode("utf-8", errors="replace")
        if line[0] == ":":
            self._comments += 1
            return
        self._block_has_field = True
        colon = line.find(":")
        if colon < 0:
            name, value = line, ""
        else:
            name, value = line[:colon], line[colon + 1 :]
            if value[:1] == " ":
                value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event_type = value
        elif name == "id":
            if "\x00" not in value:
                self._last_event_id = value
        elif name == "retry":
            if value and value.isascii() and value.isdigit():
                self._block_retry = self._reconnection_ms = int(value)
        # any other field name is ignored, per spec


def parse_sse(data: bytes, chunk_size: int | None = None) -> list[SSEEvent]:
    """Parse a complete ``text/event-stream`` body (optionally fed in ``chunk_size`` pieces).

    Convenience for tests and offline re-judging; an unterminated final block is dropped, per spec.
    """
    parser = SSEParser()
    events: list[SSEEvent] = []
    if chunk_size is None:
        events += parser.feed(data)
    else:
        if chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")
        for i in range(0, len(data), chunk_size):
            events += parser.feed(data[i : i + chunk_size])
    events += parser.close()
    return events
