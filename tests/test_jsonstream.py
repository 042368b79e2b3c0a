"""conformance/record/_jsonstream.py: one JSON document read a value at a time reads as ``json.loads`` reads it.

Whatever the read chunk (one byte up), however deep the walk enters objects and arrays before decoding whole
values, the values are ``json.loads``'s; a document ``json`` refuses is refused with ``json``'s own message and
position in the whole document; bytes that are not UTF-8 are named by their offset; a value over the bound is
refused before the buffer grows past it.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.record._jsonstream import JSONStream, JSONStreamError, NotUTF8Error, ValueTooLargeError

CHUNKS = (1, 2, 3, 7, 64, 1 << 20)


def _stream(data: bytes, chunk: int, max_value_chars: int = 1 << 30) -> JSONStream:
    return JSONStream(io.BytesIO(data), max_value_chars=max_value_chars, max_depth=1100, chunk_bytes=chunk)


def _walk(stream: JSONStream, depth: int) -> Any:
    """The value at the cursor: objects and arrays entered ``depth`` levels deep, whole values below that."""
    char = stream.peek()
    if depth and char == "{":
        return {key: _walk(stream, depth - 1) for key in stream.members()}
    if depth and char == "[":
        return [_walk(stream, depth - 1) for _ in stream.items()]
    return stream.value()


def _read(text: str, chunk: int, depth: int) -> Any:
    stream = _stream(text.encode("utf-8"), chunk)
    value = _walk(stream, depth)
    stream.end()
    return value


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(JSON, st.sampled_from(CHUNKS), st.integers(0, 4), st.sampled_from([None, 1, 2]))
def test_any_document_reads_as_json_loads_reads_it(value: Any, chunk: int, depth: int, indent: int | None) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    assert _read(f" \n{text}\n ", chunk, depth) == json.loads(text)


@pytest.mark.parametrize("text", [
    '{"a": 1,}', "[1 2]", '{"a" 1}', '{"a": tru}', "[1,]", '{"a": "unterminated', '{"a": 1} x', "", "  \n [\n1,\n2\n",
    "{1: 2}", "[1] [2]", '{"a":\n  [1, 2 3]}', '"\\x"', '{"log": {"entries": [{}, {"a": 1.}]}}', "[-]", "\ufeff{}",
    '{"a": "tab\tinside"}', "[" * 10 + "]" * 9,
])
def test_what_json_refuses_is_refused_with_its_message_and_position(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as want:
        json.loads(text)
    for chunk in CHUNKS:
        for depth in (0, 1, 2, 20):
            with pytest.raises(JSONStreamError) as got:
                _read(text, chunk, depth)
            assert str(got.value) == str(want.value), (chunk, depth)


def test_a_position_is_counted_from_the_start_of_the_document_across_chunks() -> None:
    entries = [{"i": i, "text": "line\n" * i} for i in range(200)]
    text = json.dumps({"log": {"entries": entries}}, indent=1).replace('"i": 150', '"i": 150 150')
    with pytest.raises(json.JSONDecodeError) as want:
        json.loads(text)
    assert want.value.lineno > 500
    with pytest.raises(JSONStreamError) as got:
        _read(text, 61, 3)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("chunk", CHUNKS)
def test_bytes_that_are_not_utf8_are_named_by_offset(chunk: int) -> None:
    good = json.dumps({"a": ["é€😀" * 5]}).encode("utf-8")
    bad = good[:-3] + b"\xff" + good[-3:]
    with pytest.raises(NotUTF8Error, match=f"byte {len(good) - 3}"):
        _read_bytes(bad, chunk)
    split = good[:5] + "😀".encode()[:2]  # a character cut by the end of the file
    with pytest.raises(NotUTF8Error, match="byte 5"):
        _read_bytes(split, chunk)


def _read_bytes(data: bytes, chunk: int) -> Any:
    stream = _stream(data, chunk)
    value = _walk(stream, 3)
    stream.end()
    return value


def test_a_value_over_the_bound_is_refused_and_values_under_it_are_not() -> None:
    text = json.dumps([{"body": "x" * 900} for _ in range(50)])  # 45 kB, each value about 915 characters
    stream = _stream(text.encode(), 16, max_value_chars=1000)
    assert len([stream.value() for _ in stream.items()]) == 50
    stream = _stream(text.encode(), 16, max_value_chars=500)
    with pytest.raises(ValueTooLargeError, match="longer than 500 characters \\(from char 1\\)"):
        stream.value() if stream.peek() != "[" else [stream.value() for _ in stream.items()]


def test_the_buffer_holds_one_value_and_a_chunk_not_the_document() -> None:
    """What makes the memory bound: after each value the text before the cursor is dropped at the next read."""
    body = "y" * 5000
    text = json.dumps({"entries": [{"n": i, "body": body} for i in range(400)]})  # 2 MB
    stream = _stream(text.encode(), 4096)
    largest = 0
    for key in stream.members():
        assert key == "entries"
        for _ in stream.items():
            stream.value()
            largest = max(largest, len(stream._buf))
    stream.end()
    assert largest < 2 * (len(body) + 100) + 4096 < len(text) // 100
