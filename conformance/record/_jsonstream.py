"""One large JSON document read a value at a time, in memory bounded by its largest value, not by its size.

Why: a run's recording (conformance/record/har.py) is one JSON document that grows with the run; loading it
whole costs memory proportional to the run. Its writer emits one entry at a time, so the reader walks the
document's outer structure itself (the objects and arrays it chooses to enter, :meth:`JSONStream.members` and
:meth:`JSONStream.items`) and hands every inner value to ``json``'s C decoder (:func:`conformance._json.raw_decode`,
nesting bounded) over a buffer holding the value being read plus at most one read chunk. Nothing depends on
how the writer spaced its output: a pretty-printed or hand-edited file, keys in any order, reads the same.

A value that does not fit the buffer yet is decoded again once the buffer has doubled, so a value of ``n``
characters costs at most about ``2n`` characters of decoding. Errors read as ``json``'s own, with the line,
column and character counted from the start of the document.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import Any, Protocol

from .. import _json

#: a decode error this close to the end of the buffer may only mean "the value goes on in the next chunk"
_TAIL_MARGIN = 16
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class Readable(Protocol):
    """Where the bytes come from: a file, a ``gzip.GzipFile`` over one."""

    def read(self, size: int = -1, /) -> bytes: ...


class JSONStreamError(ValueError):
    """The document is not JSON (``json``'s message, and its position in the whole document)."""


class ValueTooLargeError(ValueError):
    """One value longer than the bound: refused rather than held."""


class NotUTF8Error(ValueError):
    """The bytes are not UTF-8 text; ``offset`` is the first byte that is not."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"not UTF-8 text (byte {offset})")
        self.offset = offset


class JSONStream:
    """A cursor over the JSON document in ``source`` (bytes, read ``chunk_bytes`` at a time).

    Read by walking: :meth:`members` enters the object at the cursor and yields each key with the cursor on its
    value, :meth:`items` enters the array at the cursor and yields each index with the cursor on the element;
    for each yield the caller reads exactly one value (:meth:`value`, :meth:`skip`, :meth:`members` or
    :meth:`items`). Then
    :meth:`end` checks that nothing but whitespace follows. Errors of ``source`` itself (``OSError``,
    ``EOFError``, ``zlib.error``...) pass through unchanged."""

    def __init__(self, source: Readable, *, max_value_chars: int, max_depth: int, chunk_bytes: int = 1 << 20) -> None:
        self._source = source
        self._max_value_chars = max_value_chars
        self._max_depth = max_depth
        self._chunk = chunk_bytes
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._bytes_read = 0
        self._eof = False
        self._buf = ""  # text read and not yet dropped; self._pos is the cursor in it
        self._pos = 0
        self._base = 0  # the document offset (characters) of self._buf[0]
        self._line = 1  # the line of self._buf[0]
        self._line_start = 0  # the document offset where that line starts

    # ------------------------------------------------------------ walking

    def peek(self) -> str:
        """The character at the cursor after skipping whitespace ('' at the end of the document)."""
        while True:
            self._pos = _WHITESPACE.match(self._buf, self._pos).end()  # type: ignore[union-attr]  # always matches
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._read(1):
                return ""

    def value(self) -> Any:
        """Decode the whole value at the cursor (nesting bounded) and move past it."""
        return self._decode(measure=True)

    def skip(self) -> None:
        """Move past the value at the cursor: decoded (so it must be JSON) but not kept, so its nesting is not
        measured (a value nested past what ``json`` decodes is still refused, as too deep)."""
        self._decode(measure=False)

    def _decode(self, *, measure: bool) -> Any:
        self.peek()
        while True:
            base = self._base  # reading more drops the text before the cursor: positions move by what is dropped
            try:
                value, end = _json.raw_decode(self._buf, self._pos, self._max_depth, measure=measure)
            except json.JSONDecodeError as exc:
                incomplete = exc.msg.startswith("Unterminated string") or exc.pos >= len(self._buf) - _TAIL_MARGIN
                if incomplete and self._more():
                    continue
                raise self._error(exc.msg, exc.pos - (self._base - base)) from None
            if len(self._buf) - end <= 2 and self._buf[self._pos] in "-0123456789" and self._more():
                continue  # a number may go on in the next chunk ("1" of "1.5", "1" of "1e+3"): decode it again
            self._pos = end - (self._base - base)
            return value

    def members(self) -> Iterator[str]:
        """Enter the object at the cursor: each key, with the cursor on its value (which the caller must read)."""
        self._take("{", "Expecting value")
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            if self.peek() != '"':
                raise self._error("Expecting property name enclosed in double quotes", self._pos)
            key = self.value()
            self._take(":", "Expecting ':' delimiter")
            self.peek()
            yield key
            if not self._after_item("}"):
                return

    def items(self) -> Iterator[int]:
        """Enter the array at the cursor: each index, with the cursor on the element (which the caller must read)."""
        self._take("[", "Expecting value")
        if self.peek() == "]":
            self._pos += 1
            return
        index = 0
        while True:
            self.peek()
            yield index
            index += 1
            if not self._after_item("]"):
                return

    def end(self) -> None:
        """Nothing but whitespace may follow the document."""
        if self.peek():
            raise self._error("Extra data", self._pos)

    # ------------------------------------------------------------ the buffer

    def _take(self, char: str, message: str) -> None:
        if self.peek() != char:
            raise self._error(message, self._pos)
        self._pos += 1

    def _after_item(self, close: str) -> bool:
        """Past the ``,`` before another item (True) or the closing bracket (False)."""
        char = self.peek()
        self._pos += 1
        if char == ",":
            return True
        if char == close:
            return False
        self._pos -= 1
        raise self._error("Expecting ',' delimiter", self._pos)

    def _more(self) -> bool:
        """Read at least as much again as the value being decoded holds so far (doubling); False at the end."""
        pending = len(self._buf) - self._pos
        if pending > self._max_value_chars:
            raise ValueTooLargeError(f"one JSON value longer than {self._max_value_chars} characters "
                                     f"(from char {self._base + self._pos}); not read")
        return self._read(max(1, min(pending, self._max_value_chars + 1 - pending)))

    def _read(self, chars: int) -> bool:
        """Append at least ``chars`` characters (or what is left) to the buffer; False when nothing was left."""
        if self._eof:
            return False
        self._drop_consumed()
        added: list[str] = []
        count = 0
        while count < chars and not self._eof:
            data = self._source.read(min(max(self._chunk, chars - count), 16 * self._chunk))
            self._eof = not data
            pending = len(self._utf8.getstate()[0])
            try:
                text = self._utf8.decode(data, final=self._eof)
            except UnicodeDecodeError as exc:
                raise NotUTF8Error(self._bytes_read - pending + exc.start) from None
            self._bytes_read += len(data)
            added.append(text)
            count += len(text)
        if added:
            first = not self._buf and self._base == 0
            self._buf += "".join(added)
            if first and self._buf.startswith("\ufeff"):  # as json.loads refuses a str that starts with one
                raise self._error("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0)
        return count > 0

    def _drop_consumed(self) -> None:
        """Forget the text before the cursor (keeping the line count for error positions)."""
        if self._pos == 0:
            return
        done = self._buf[: self._pos]
        newlines = done.count("\n")
        if newlines:
            self._line += newlines
            self._line_start = self._base + done.rfind("\n") + 1
        self._base += self._pos
        self._buf, self._pos = self._buf[self._pos:], 0

    def _error(self, message: str, pos: int) -> JSONStreamError:
        """``json``'s message at buffer position ``pos``, placed in the whole document."""
        line = self._line + self._buf.count("\n", 0, pos)
        newline = self._buf.rfind("\n", 0, pos)
        line_start = self._base + newline + 1 if newline >= 0 else self._line_start
        offset = self._base + pos
        return JSONStreamError(f"{message}: line {line} column {offset - line_start + 1} (char {offset})")
