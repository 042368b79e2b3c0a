"""Tests for ``conformance.record.sse``: the WHATWG event-stream rules, chunking, raw bytes and offsets.

Three layers: hand-written cases (the spec's own examples and every trap from the design notes),
a realistic Responses API stream, and hypothesis properties that compare the incremental parser,
under arbitrary chunking, with itself in one piece and with an independent whole-buffer reference
implementation written below (``reference_parse``), which shares no code with the parser.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.record.exchange import SSEEvent
from conformance.record.sse import BOM, SSEParser, parse_sse

# --------------------------------------------------------------------------- helpers


def fields(events: list[SSEEvent]) -> list[tuple[str, str | None, str | None, int | None]]:
    """The spec-visible part of events: (data, event, id, retry)."""
    return [(e.data, e.event, e.id, e.retry) for e in events]


def full(events: list[SSEEvent]) -> list[tuple[Any, ...]]:
    """Everything except ``arrival_s`` (which depends on the feed call, by design)."""
    return [(e.data, e.event, e.id, e.retry, e.raw, e.offset) for e in events]


def feed_in(stream: bytes, cuts: list[int]) -> tuple[list[SSEEvent], SSEParser]:
    """Feed ``stream`` split at the given cut positions, then close; return events and the parser."""
    parser = SSEParser()
    events: list[SSEEvent] = []
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < len(stream))), len(stream)]
    for lo, hi in zip(bounds, bounds[1:]):
        events += parser.feed(stream[lo:hi])
    events += parser.close()
    return events, parser


def all_chunkings(stream: bytes) -> list[list[SSEEvent]]:
    """Results for a few fixed chunkings: whole, 1-byte, 2-byte, 3-byte and every single cut."""
    results = [parse_sse(stream)] + [parse_sse(stream, n) for n in (1, 2, 3, 7)]
    results += [feed_in(stream, [cut])[0] for cut in range(1, len(stream))]
    return results


def assert_chunking_invariant(stream: bytes) -> list[SSEEvent]:
    results = all_chunkings(stream)
    for other in results[1:]:
        assert full(other) == full(results[0])
    return results[0]


# --------------------------------------------------------------------------- the spec's examples


def test_spec_stock_example_multiline_data() -> None:
    stream = b"data: YHOO\ndata: +2\ndata: 10\n\n"
    events = assert_chunking_invariant(stream)
    assert fields(events) == [("YHOO\n+2\n10", None, None, None)]
    assert events[0].raw == stream and events[0].offset == 0


def test_spec_comment_data_id_example() -> None:
    stream = (
        b": test stream\n\n"
        b"data: first event\nid: 1\n\n"
        b"data:second event\nid\n\n"
        b"data:  third event\n\n"
    )
    events = assert_chunking_invariant(stream)
    assert fields(events) == [
        ("first event", None, "1", None),
        ("second event", None, "", None),  # `id` with no value resets the last event id
        (" third event", None, "", None),  # only one leading space is removed
    ]
    parser = SSEParser()
    parser.feed(stream)
    assert parser.comments == 1


def test_spec_example_last_block_needs_blank_line() -> None:
    stream = b"data: first event\nid: 1\n\ndata:  third event\n"
    parser = SSEParser()
    events = parser.feed(stream) + parser.close()
    assert [e.data for e in events] == ["first event"]
    assert parser.trailing == b"data:  third event\n"
    assert parser.ended_mid_event


def test_spec_empty_data_examples() -> None:
    # "The first block fires events with the data set to the empty string, as would the last block if
    # it was followed by a blank line. The middle block fires an event with the data set to a single
    # newline character. The last block is discarded because it is not followed by a blank line."
    stream = b"data\n\ndata\ndata\n\ndata:"
    events = assert_chunking_invariant(stream)
    assert [e.data for e in events] == ["", "\n"]
    parser = SSEParser()
    parser.feed(stream)
    parser.close()
    assert parser.trailing == b"data:"


def test_spec_space_after_colon_example() -> None:
    events = assert_chunking_invariant(b"data:test\n\ndata: test\n\n")
    assert fields(events) == [("test", None, None, None), ("test", None, None, None)]


def test_spec_event_types_example() -> None:
    stream = b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n"
    events = assert_chunking_invariant(stream)
    assert [(e.event, e.data) for e in events] == [("add", "73857293"), ("remove", "2153"), ("add", "113411")]


# --------------------------------------------------------------------------- line endings


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_each_line_ending(eol: bytes) -> None:
    stream = eol.join([b"event: a", b"data: 1", b"data: 2", b"", b"data: 3", b"", b""])
    events = assert_chunking_invariant(stream)
    assert fields(events) == [("1\n2", "a", None, None), ("3", None, None, None)]


def test_mixed_line_endings_in_one_stream() -> None:
    stream = b"event: a\r\ndata: 1\rdata: 2\n\r\ndata: 3\r\r" b"data: 4\n\n"
    events = assert_chunking_invariant(stream)
    assert fields(events) == [("1\n2", "a", None, None), ("3", None, None, None), ("4", None, None, None)]


def test_lf_cr_is_two_line_endings() -> None:
    # "\n\r" is LF then CR: the CR is a blank line, so it dispatches.
    events = assert_chunking_invariant(b"data: x\n\r")
    assert [e.data for e in events] == ["x"]


def test_crlf_split_across_chunks_is_one_line_ending() -> None:
    # If the LF opening the second chunk were taken as a blank line, the block would end there and the
    # event type "a" would be lost.
    parser = SSEParser()
    assert parser.feed(b"event: a\r") == []
    assert parser.feed(b"\ndata: x\r") == []
    events = parser.feed(b"\n\r\n")
    assert fields(events) == [("x", "a", None, None)]


def test_chunk_ending_in_cr_completes_the_line_immediately() -> None:
    parser = SSEParser()
    # lone-CR server: the event must be dispatched without waiting for the next byte
    events = parser.feed(b"data: x\r\r", arrival_s=1.0)
    assert [(e.data, e.arrival_s) for e in events] == [("x", 1.0)]
    # CRLF server whose blank line's LF comes in the next chunk: also dispatched at once ...
    events = parser.feed(b"data: y\r\n\r", arrival_s=2.0)
    assert [(e.data, e.raw, e.offset) for e in events] == [("y", b"data: y\r\n\r", 9)]
    # ... and the LF is swallowed: it is a separator, so the next block starts after it
    events = parser.feed(b"\nevent: z\r\ndata: z\r\n\r\n", arrival_s=3.0)
    assert [(e.data, e.event, e.raw, e.offset, e.arrival_s) for e in events] == [
        ("z", "z", b"event: z\r\ndata: z\r\n\r", 20, 3.0)
    ]


def test_swallow_only_applies_to_the_very_next_byte() -> None:
    parser = SSEParser()
    parser.feed(b"event: a\r")
    parser.feed(b"")  # an empty chunk changes nothing
    events = parser.feed(b"\ndata: x\r\n\r\n")
    assert fields(events) == [("x", "a", None, None)]
    parser = SSEParser()
    parser.feed(b"event: a\r")
    events = parser.feed(b"data: x\n\n")  # not an LF: ordinary next line
    assert fields(events) == [("x", "a", None, None)]


def test_no_str_splitlines_breaks() -> None:
    # U+2028, U+2029, U+0085 (NEL), form feed, vertical tab, FS/GS/RS are not SSE line breaks.
    data = "a\u2028b\u2029c\u0085d\x0ce\x0bf\x1cg\x1dh\x1ei"
    payload = json.dumps({"text": data}, ensure_ascii=False)
    stream = f"event: response.output_text.delta\ndata: {payload}\n\n".encode()
    events = assert_chunking_invariant(stream)
    assert len(events) == 1
    assert events[0].json() == {"text": data}


# --------------------------------------------------------------------------- BOM


def test_leading_bom_stripped() -> None:
    stream = BOM + b"data: x\n\n"
    events = assert_chunking_invariant(stream)
    assert fields(events) == [("x", None, None, None)]
    assert events[0].offset == 3 and events[0].raw == b"data: x\n\n"


def test_bom_split_across_chunks() -> None:
    stream = BOM + b"data: x\n\n"
    for cuts in ([1], [2], [1, 2], [1, 2, 3], [3]):
        events, parser = feed_in(stream, cuts)
        assert fields(events) == [("x", None, None, None)]
        assert parser.bytes_seen == len(stream)


def test_only_one_bom_is_stripped() -> None:
    # The second BOM becomes part of the first field name ("\ufeffdata" is unknown), so the first
    # block has no data and dispatches nothing.
    stream = BOM + BOM + b"data: x\n\ndata: y\n\n"
    events = assert_chunking_invariant(stream)
    assert [e.data for e in events] == ["y"]


def test_bom_not_at_start_is_data() -> None:
    stream = b"data: " + BOM + b"x\n\n"
    events = assert_chunking_invariant(stream)
    assert [e.data for e in events] == ["\ufeffx"]


def test_bom_after_first_byte_is_not_stripped() -> None:
    stream = b":" + BOM + b"\ndata: x\n\n"  # a comment that contains a BOM
    events = assert_chunking_invariant(stream)
    assert [(e.data, e.raw, e.offset) for e in events] == [("x", stream, 0)]  # the comment is in raw


def test_partial_bom_then_eof_is_ordinary_bytes() -> None:
    parser = SSEParser()
    assert parser.feed(b"\xef\xbb") == []
    assert parser.trailing == b"\xef\xbb"
    assert parser.close() == []
    assert parser.trailing == b"\xef\xbb"
    assert parser.bytes_seen == 2


def test_bom_prefix_lookalike_is_not_stripped() -> None:
    stream = b"\xef\xbbXdata: x\n\n"  # not a BOM: first line is an invalid-UTF-8 field name
    events, parser = feed_in(stream, [1, 2])
    assert events == []
    assert parser.decode_errors == 1


# --------------------------------------------------------------------------- dispatch rules


def test_event_without_data_dispatches_nothing() -> None:
    stream = b"event: ping\n\ndata: x\n\n"
    events = assert_chunking_invariant(stream)
    assert fields(events) == [("x", None, None, None)]  # the type buffer was reset by the blank line


def test_keepalive_comments_and_blank_lines_dispatch_nothing() -> None:
    stream = b": ping\n\n:\n\n\n\n\r\n\r: keep-alive\r\n\r\n"
    parser = SSEParser()
    assert parser.feed(stream) == []
    assert parser.close() == []
    assert parser.comments == 3
    assert parser.trailing == b""
    assert not parser.ended_mid_event


def test_no_phantom_event_after_id_line() -> None:
    # httpx-sse / the official SDK dispatch an empty event here; the spec does not.
    stream = b"id: 7\n\n: keep-alive\n\n\ndata: x\n\n"
    events = assert_chunking_invariant(stream)
    assert fields(events) == [("x", None, "7", None)]


def test_id_persists_across_events_and_resets() -> None:
    stream = b"id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 2\n\ndata: d\n\n"
    events = assert_chunking_invariant(stream)
    assert [(e.data, e.id) for e in events] == [("a", "1"), ("b", "1"), ("c", ""), ("d", "2")]


def test_id_none_until_set() -> None:
    events = assert_chunking_invariant(b"data: a\n\n")
    assert events[0].id is None


def test_id_with_nul_is_ignored() -> None:
    stream = b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n"
    events = assert_chunking_invariant(stream)
    assert [(e.data, e.id) for e in events] == [("a", "1"), ("b", "1")]


def test_nul_in_data_is_kept() -> None:
    events = assert_chunking_invariant(b"data: a\x00b\n\n")
    assert events[0].data == "a\x00b"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"retry: 3000", 3000),
        (b"retry:0", 0),
        (b"retry:  3000", None),  # only one space is removed; " 3000" is not all digits
        (b"retry: 30.5", None),
        (b"retry: -1", None),
        (b"retry: 1e3", None),
        (b"retry:", None),
        (b"retry", None),
        (b"retry: 3000 ", None),
        ("retry: \u0663\u0660".encode(), None),  # Arabic-Indic digits are not ASCII digits
        ("retry: \uff13".encode(), None),  # fullwidth digit
    ],
)
def test_retry_valid_and_invalid(line: bytes, expected: int | None) -> None:
    parser = SSEParser()
    events = parser.feed(line + b"\ndata: x\n\n")
    assert [(e.data, e.retry) for e in events] == [("x", expected)]
    assert parser.reconnection_ms == expected


def test_retry_is_per_block_but_reconnection_time_persists() -> None:
    parser = SSEParser()
    events = parser.feed(b"retry: 10\n\ndata: a\n\nretry: 20\ndata: b\n\ndata: c\n\n")
    assert [(e.data, e.retry) for e in events] == [("a", None), ("b", 20), ("c", None)]
    assert parser.reconnection_ms == 20


def test_field_without_colon() -> None:
    stream = b"data\n\nevent\ndata\n\n"
    events = assert_chunking_invariant(stream)
    assert fields(events) == [("", None, None, None), ("", "", None, None)]


def test_field_parsing_details() -> None:
    stream = (
        b"data:a:b: c\n"  # only the first colon separates
        b"data:\tx\n"  # a tab is not a space
        b"Data: ignored\n"  # field names are case-sensitive
        b"data : ignored\n"  # the field name is "data " (with a space): unknown
        b"foo: bar\n"  # unknown field
        b"event: first\n"
        b"event: second\n"  # last event: wins
        b"\n"
    )
    events = assert_chunking_invariant(stream)
    assert fields(events) == [("a:b: c\n\tx", "second", None, None)]


def test_data_empty_value_vs_no_data() -> None:
    events = assert_chunking_invariant(b"data:\n\ndata: \n\n")
    assert [e.data for e in events] == ["", ""]


def test_only_one_trailing_newline_removed() -> None:
    events = assert_chunking_invariant(b"data: a\ndata:\ndata:\n\n")
    assert events[0].data == "a\n\n"


def test_event_field_empty_value() -> None:
    events = assert_chunking_invariant(b"event:\ndata: x\n\n")
    assert fields(events) == [("x", "", None, None)]  # seen but empty: "" (not None, not "message")


# --------------------------------------------------------------------------- decoding


def test_invalid_utf8_counted_and_replaced() -> None:
    stream = b"data: a\xffb\n: \xfe comment\ndata: ok\ndata: \xe2\x82\n\n"
    events, parser = feed_in(stream, [])
    assert events[0].data == "a\ufffdb\nok\n\ufffd"
    assert parser.decode_errors == 3


def test_multibyte_char_split_across_chunks() -> None:
    text = "h\u00e9llo \u20ac \U0001f600"
    stream = f"data: {text}\n\n".encode()
    for results in all_chunkings(stream):
        assert [e.data for e in results] == [text]
    _, parser = feed_in(stream, list(range(len(stream))))
    assert parser.decode_errors == 0


# --------------------------------------------------------------------------- end of stream


def test_unterminated_final_event_not_dispatched() -> None:
    stream = b"data: a\n\nevent: response.completed\ndata: {\"type\": \"response.comp"
    parser = SSEParser()
    events = parser.feed(stream)
    assert parser.close() == []
    assert [e.data for e in events] == ["a"]
    assert parser.trailing == b"event: response.completed\ndata: {\"type\": \"response.comp"
    assert parser.ended_mid_event


def test_unterminated_after_complete_data_line() -> None:
    parser = SSEParser()
    events = parser.feed(b"data: a\n")
    events += parser.close()
    assert events == []
    assert parser.trailing == b"data: a\n"
    assert parser.ended_mid_event


def test_trailing_keepalive_is_not_mid_event() -> None:
    parser = SSEParser()
    parser.feed(b"data: a\n\n: ping\n")
    parser.close()
    assert parser.trailing == b": ping\n"
    assert not parser.ended_mid_event
    parser = SSEParser()
    parser.feed(b"data: a\n\n: pi")
    parser.close()
    assert parser.trailing == b": pi"
    assert not parser.ended_mid_event


def test_clean_end_has_no_trailing() -> None:
    for stream in (b"data: a\n\n", b"data: a\r\n\r\n", b"data: a\r\r", b""):
        for chunk in (None, 1):
            parser = SSEParser()
            if chunk is None:
                parser.feed(stream)
            else:
                for i in range(len(stream)):
                    parser.feed(stream[i : i + 1])
            parser.close()
            assert parser.trailing == b"" and not parser.ended_mid_event


def test_close_is_idempotent_and_feed_after_close_fails() -> None:
    parser = SSEParser()
    parser.feed(b"data: a\n\n")
    assert parser.close() == []
    assert parser.close() == []
    with pytest.raises(ValueError):
        parser.feed(b"data: b\n\n")


def test_arrival_and_bytes_seen() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\n", arrival_s=0.5) == []
    events = parser.feed(b"\ndata: b\n\nda", arrival_s=0.75)
    events += parser.feed(b"ta: c\n\n", arrival_s=1.25)
    assert [(e.data, e.arrival_s) for e in events] == [("a", 0.75), ("b", 0.75), ("c", 1.25)]
    assert parser.bytes_seen == 8 + 12 + 7


def test_feed_accepts_bytearray_and_memoryview() -> None:
    parser = SSEParser()
    events = parser.feed(bytearray(b"data: a\n\n")) + parser.feed(memoryview(b"data: b\n\n"))  # type: ignore[arg-type]
    assert [e.data for e in events] == ["a", "b"]
    assert all(isinstance(e.raw, bytes) for e in events)


def test_parse_sse_rejects_bad_chunk_size() -> None:
    with pytest.raises(ValueError):
        parse_sse(b"data: a\n\n", 0)


# --------------------------------------------------------------------------- raw bytes and offsets


def check_accounting(stream: bytes, events: list[SSEEvent], parser: SSEParser) -> None:
    """Every byte is in exactly one place: BOM, an event's raw, a skipped region, or trailing.

    Skipped regions (between events) may only hold what dispatches nothing: blank lines, comments,
    field lines of blocks without data, and CRLF separator LFs; parsing a skipped region on its own
    must therefore yield no events.
    """
    pos = 3 if stream.startswith(BOM) else 0
    rebuilt = [stream[:pos]]
    for event in events:
        assert event.offset >= pos
        gap = stream[pos : event.offset]
        # (a "\n" in front keeps a second BOM from being stripped as if it started a stream)
        assert parse_sse(b"\n" + gap) == []
        rebuilt += [gap, event.raw]
        assert stream[event.offset : event.offset + len(event.raw)] == event.raw
        pos = event.offset + len(event.raw)
    tail = stream[pos:]
    assert tail.endswith(parser.trailing)
    rebuilt.append(tail)
    assert b"".join(rebuilt) == stream


def test_raw_concatenation_reproduces_typical_stream() -> None:
    blocks = [b"event: response.created\ndata: {\"a\": 1}\n\n", b": keep\ndata: x\n\n", b"id: 9\ndata: y\n\n"]
    stream = b"".join(blocks)
    events = assert_chunking_invariant(stream)
    assert [e.raw for e in events] == blocks  # comment lines inside a block belong to its raw
    assert b"".join(e.raw for e in events) == stream
    assert [e.offset for e in events] == [0, len(blocks[0]), len(blocks[0]) + len(blocks[1])]


def test_raw_with_skipped_blocks_and_bom() -> None:
    stream = BOM + b": hello\n\nevent: ping\n\ndata: a\r\n\r\n\r\nid: 1\r\n\r\ndata: b\r\r: trailing"
    events, parser = feed_in(stream, [])
    assert [e.raw for e in events] == [b"data: a\r\n\r", b"data: b\r\r"]
    assert events[0].offset == stream.index(b"data: a")
    assert events[1].offset == stream.index(b"data: b")
    assert parser.trailing == b": trailing"
    check_accounting(stream, events, parser)
    for cut in range(len(stream)):
        other, other_parser = feed_in(stream, [cut])
        assert full(other) == full(events)
        assert other_parser.trailing == parser.trailing


def test_crlf_raw_ends_at_cr_of_blank_line() -> None:
    # Documented choice: raw must be chunk-invariant while a chunk ending in CR dispatches at once,
    # so the raw of a block ends at the CR of its CRLF blank line and the LF is a separator.
    stream = b"data: a\r\n\r\ndata: b\r\n\r\n"
    events = assert_chunking_invariant(stream)
    assert [(e.raw, e.offset) for e in events] == [(b"data: a\r\n\r", 0), (b"data: b\r\n\r", 11)]


# --------------------------------------------------------------------------- a realistic stream


def responses_stream(deltas: list[str], eol: bytes = b"\n") -> tuple[bytes, list[dict[str, Any]]]:
    """A Responses API stream for a text reply made of ``deltas``: (bytes, the event payloads)."""
    text = "".join(deltas)
    response = {"id": "resp_1", "object": "response", "status": "in_progress", "output": []}
    item = {"id": "msg_1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}
    part = {"type": "output_text", "text": "", "annotations": []}
    payloads: list[dict[str, Any]] = [
        {"type": "response.created", "response": response},
        {"type": "response.in_progress", "response": response},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.content_part.added", "item_id": "msg_1", "output_index": 0, "content_index": 0,
         "part": part},
    ]
    payloads += [
        {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0,
         "delta": delta, "logprobs": []}
        for delta in deltas
    ]
    done_part = {**part, "text": text}
    done_item = {**item, "status": "completed", "content": [done_part]}
    payloads += [
        {"type": "response.output_text.done", "item_id": "msg_1", "output_index": 0, "content_index": 0,
         "text": text, "logprobs": []},
        {"type": "response.content_part.done", "item_id": "msg_1", "output_index": 0, "content_index": 0,
         "part": done_part},
        {"type": "response.output_item.done", "output_index": 0, "item": done_item},
        {"type": "response.completed",
         "response": {**response, "status": "completed", "output": [done_item]}},
    ]
    out = bytearray()
    for seq, payload in enumerate(payloads):
        payload["sequence_number"] = seq
        out += b"event: " + payload["type"].encode() + eol
        out += b"data: " + json.dumps(payload, ensure_ascii=False).encode() + eol + eol
    return bytes(out), payloads


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
def test_realistic_responses_stream(eol: bytes) -> None:
    deltas = ["Hel", "lo", ",\u2028wor", "ld \U0001f30d", "\u0085!"]
    stream, payloads = responses_stream(deltas, eol)
    stream = b": connected\n\n" + stream  # a leading keep-alive, as some gateways send
    for n in (None, 1, 5, 64, 1024):
        events = parse_sse(stream, n)
        assert [e.event for e in events] == [p["type"] for p in payloads]
        assert [e.json() for e in events] == payloads
        assert all(e.json()["type"] == e.event for e in events)
    text = "".join(e.json()["delta"] for e in events if e.event == "response.output_text.delta")
    assert text == "".join(deltas)


# --------------------------------------------------------------------------- reference implementation
#
# Deliberately naive and independent of conformance.record.sse: the whole stream is in memory, lines are found
# by scanning byte by byte, and the spec's steps are applied one line at a time. It follows the same
# documented conventions for the *representation* (raw ends at the CR of a CRLF blank line; event None
# when absent; id None until set; retry per block).


@dataclass
class RefResult:
    events: list[tuple[str, str | None, str | None, int | None, bytes, int]]
    trailing: bytes
    comments: int
    decode_errors: int


def reference_parse(stream: bytes) -> RefResult:
    pos = 3 if stream[:3] == b"\xef\xbb\xbf" else 0
    block_start = pos
    events: list[tuple[str, str | None, str | None, int | None, bytes, int]] = []
    data_buffer = ""
    event_type: str | None = None
    retry: int | None = None
    last_id: str | None = None
    comments = 0
    decode_errors = 0
    while True:
        end = pos
        while end < len(stream) and stream[end] not in (13, 10):
            end += 1
        if end == len(stream):
            break  # an unterminated line is never processed
        terminator = 2 if stream[end] == 13 and stream[end + 1 : end + 2] == b"\n" else 1
        line_bytes = stream[pos:end]
        next_pos = end + terminator
        try:
            line = line_bytes.decode("utf-8")
        except UnicodeDecodeError:
            decode_errors += 1
            line = line_bytes.decode("utf-8", "replace")
        if line == "":
            if data_buffer != "":
                if data_buffer.endswith("\n"):
                    data_buffer = data_buffer[:-1]
                events.append((data_buffer, event_type, last_id, retry, stream[block_start : end + 1], block_start))
            data_buffer = ""
            event_type = None
            retry = None
            block_start = next_pos
        elif line.startswith(":"):
            comments += 1
        else:
            if ":" in line:
                name = line[: line.index(":")]
                value = line[line.index(":") + 1 :]
                if value.startswith(" "):
                    value = value[1:]
            else:
                name, value = line, ""
            if name == "event":
                event_type = value
            elif name == "data":
                data_buffer += value + "\n"
            elif name == "id":
                if "\0" not in value:
                    last_id = value
            elif name == "retry":
                if value != "" and all(c in "0123456789" for c in value):
                    retry = int(value)
        pos = next_pos
    return RefResult(events, stream[block_start:], comments, decode_errors)


def test_reference_agrees_on_spec_examples() -> None:
    # Sanity check of the reference itself against hand-derived answers.
    ref = reference_parse(b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n")
    assert [e[:4] for e in ref.events] == [
        ("first event", None, "1", None),
        ("second event", None, "", None),
        (" third event", None, "", None),
    ]
    ref = reference_parse(b"data: a\r\n\r\ndata: b\r\n\r\n")
    assert [e[4:] for e in ref.events] == [(b"data: a\r\n\r", 0), (b"data: b\r\n\r", 11)]


# --------------------------------------------------------------------------- hypothesis properties

EOLS = st.sampled_from([b"\n", b"\r\n", b"\r"])
FIELD_NAMES = st.sampled_from(["data", "data", "data", "data", "data", "event", "event", "id", "retry", "Data", "foo", "", "dat"])
TRICKY_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(" :\x00\t\u2028\u2029\u0085\x0c\x0b\ufeff\u00e9\u20ac\U0001f600ab0123456789")),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=12,
)
VALUES = st.one_of(
    TRICKY_TEXT.map(lambda s: s.encode("utf-8")),
    st.sampled_from(  # values that matter for id / retry: NUL, non-ASCII digits, spacing
        [b"1\x002", b"\x00", "\u0663\u0660".encode(), "\uff13".encode(), b" 12", b"12 ", b"007", b"-1", b""]
    ),
    st.integers(0, 10**6).map(lambda n: str(n).encode()),
    st.binary(max_size=6),  # may hold invalid UTF-8, and CR/LF (extra line structure)
)


@st.composite
def field_lines(draw: st.DrawFn) -> bytes:
    name = draw(FIELD_NAMES).encode()
    sep = draw(st.sampled_from([b":", b": ", b":  ", b""]))
    value = draw(VALUES) if sep else b""
    return name + sep + value


SPECIAL_LINES = st.sampled_from(
    [b"id: 5", b"id: 1\x002", b"id", b"retry: 12", "retry: \u0663".encode(), b"retry:  7", b"data", b"event"]
)
LINES = st.one_of(
    field_lines(),
    field_lines(),
    SPECIAL_LINES,
    st.just(b""),  # blank line
    TRICKY_TEXT.map(lambda s: b":" + s.encode("utf-8")),  # comment
    st.binary(max_size=5),
)


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    """Arbitrary streams: blocks of random lines, usually (not always) closed by a blank line."""
    out = bytearray(draw(st.sampled_from([b"", b"", BOM, BOM + BOM, b"\xef\xbb", b":" + BOM, b"\n" + BOM])))
    for _ in range(draw(st.integers(0, 8))):
        for line in draw(st.lists(LINES, max_size=5)):
            out += line + draw(EOLS)
        if draw(st.integers(0, 4)):
            out += draw(EOLS)
    out += draw(st.sampled_from([b"", b"", b"data: unterminated", b"data: x\n", b"\r", b"\n"]))
    return bytes(out)


@st.composite
def chunkings(draw: st.DrawFn, stream: bytes) -> list[int]:
    if not stream:
        return []
    mode = draw(st.sampled_from(["random", "bytes", "fixed"]))
    if mode == "bytes":
        return list(range(1, len(stream)))
    if mode == "fixed":
        size = draw(st.integers(1, 8))
        return list(range(size, len(stream), size))
    return draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=20))


PROPERTY_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(data=st.data())
def test_any_chunking_equals_one_piece_and_reference(data: st.DataObject) -> None:
    stream = data.draw(streams(), label="stream")
    cuts = data.draw(chunkings(stream), label="cuts")
    whole, whole_parser = feed_in(stream, [])
    chunked, chunked_parser = feed_in(stream, cuts)
    ref = reference_parse(stream)
    assert full(chunked) == full(whole)
    assert full(whole) == ref.events
    for parser in (whole_parser, chunked_parser):
        assert parser.trailing == ref.trailing
        assert parser.comments == ref.comments
        assert parser.decode_errors == ref.decode_errors
        assert parser.bytes_seen == len(stream)
    check_accounting(stream, whole, whole_parser)


PLAIN_TEXT = TRICKY_TEXT.filter(lambda s: "\r" not in s and "\n" not in s)


@st.composite
def event_streams(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str | None]]]:
    """Streams built from intended events, with the expected (data, event) of each.

    The blank line after a data line that ended in a lone CR is itself a lone CR: a CR followed by an
    LF would be one CRLF line ending, not a line ending plus a blank line.
    """
    out = bytearray()
    expected: list[tuple[str, str | None]] = []
    for _ in range(draw(st.integers(0, 8))):
        if draw(st.booleans()):
            out += b": " + draw(PLAIN_TEXT).encode() + draw(EOLS)
        event = draw(st.none() | st.sampled_from(["response.created", "response.output_text.delta", "x"]))
        if event is not None:
            out += b"event: " + event.encode() + draw(EOLS)
        lines = draw(st.lists(PLAIN_TEXT, min_size=1, max_size=3))
        eol = b"\n"
        for line in lines:
            eol = draw(EOLS)
            out += b"data: " + line.encode() + eol
        out += b"\r" if eol == b"\r" else draw(EOLS)
        expected.append(("\n".join(lines), event))
    return bytes(out), expected


@PROPERTY_SETTINGS
@given(data=st.data())
def test_intended_events_are_recovered(data: st.DataObject) -> None:
    stream, expected = data.draw(event_streams(), label="stream")
    cuts = data.draw(chunkings(stream), label="cuts")
    events, parser = feed_in(stream, cuts)
    assert [(e.data, e.event) for e in events] == expected
    assert full(events) == reference_parse(stream).events
    assert parser.trailing == b""
    check_accounting(stream, events, parser)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"data: x", b"event: e", b"id: 1", b":c"]), max_size=30))
def test_line_ending_soup(parts: list[bytes]) -> None:
    stream = b"".join(parts)
    ref = reference_parse(stream)
    assert full(parse_sse(stream)) == ref.events
    assert full(parse_sse(stream, 1)) == ref.events


# --------------------------------------------------------------------------- performance sanity


def test_large_stream_in_1kib_chunks() -> None:
    # ~5 MB, 50k events: linear work by construction (each chunk scanned once).
    payload = b'{"type":"response.output_text.delta","delta":"' + b"x" * 40 + b'","sequence_number":0}'
    block = b"event: response.output_text.delta\ndata: " + payload + b"\n\n"
    count = 50_000
    stream = block * count
    assert len(stream) > 5_000_000
    parser = SSEParser()
    n = 0
    for i in range(0, len(stream), 1024):
        n += len(parser.feed(stream[i : i + 1024]))
    parser.close()
    assert n == count
    assert parser.trailing == b""


def test_large_stream_in_one_piece() -> None:
    block = b"data: " + b"y" * 90 + b"\n\n"
    events = parse_sse(block * 50_000)
    assert len(events) == 50_000
    assert events[-1].offset == len(block) * 49_999


def test_long_line_fed_one_byte_at_a_time_is_linear() -> None:
    # A quadratic parser (re-scanning or re-copying the unfinished line per feed) would take minutes.
    line = b"data: " + b"z" * 200_000 + b"\n\n"
    parser = SSEParser()
    events: list[SSEEvent] = []
    for i in range(len(line)):
        events += parser.feed(line[i : i + 1])
    assert len(events) == 1 and len(events[0].data) == 200_000
    assert events[0].raw == line
