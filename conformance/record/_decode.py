"""Bounded, incremental ``Content-Encoding`` decoding for the recorder.

Why our own decoder rather than httpx's: the recorder reads the raw stream (``iter_raw``) to enforce
its own timeouts, so it must decode itself; and httpx decodes without a bound, so a gzip bomb (a few
KiB that inflate to GiBs) would cost unbounded memory. Here every call produces at most the bytes
still allowed, and going past the bound is :class:`DecodeLimit` (carrying what was decoded up to the bound,
kept as evidence of an exchange that is never judged).

Only encodings with a bounded decoder are asked for (:data:`ACCEPT_ENCODING`): gzip and deflate,
bounded by zlib's ``max_length``.
"""

from __future__ import annotations

import zlib
from typing import Protocol


class DecodeLimit(Exception):
    """The decoded body would exceed the bound; ``partial`` is what was decoded up to it (evidence)."""

    def __init__(self, partial: bytes = b"") -> None:
        super().__init__("decoded body past the bound")
        self.partial = partial


class DecodeError(Exception):
    """The body is not valid in its declared encoding, or the encoding is one we did not ask for."""


class _Inflater(Protocol):
    def feed(self, data: bytes, room: int) -> bytes: ...

    def finish(self, room: int) -> bytes: ...


#: What we ask for: only encodings decoded with a bound on their output. Not br: the brotli package is no
#: dependency, and its older releases cannot bound a decompression step (a br bomb would be unbounded).
ACCEPT_ENCODING = "gzip, deflate"


_GZIP_MAGIC = b"\x1f\x8b"


class _Zlib:
    """gzip (multi-member) or deflate (zlib-wrapped, or raw as some servers send it)."""

    def __init__(self, encoding: str) -> None:
        self.gzip = encoding in ("gzip", "x-gzip")
        self.wbits = zlib.MAX_WBITS | 16 if self.gzip else zlib.MAX_WBITS
        self.obj = zlib.decompressobj(self.wbits)
        self.started = False  # a deflate body that fails at once may be raw deflate (no zlib header)

    def feed(self, data: bytes, room: int) -> bytes:
        out = bytearray()
        while data:
            try:
                piece = self.obj.decompress(data, room - len(out) + 1)  # max_length >= 1: never "unlimited"
            except zlib.error as exc:
                if not self.gzip and not self.started:
                    self.obj, self.wbits, self.started = zlib.decompressobj(-zlib.MAX_WBITS), -zlib.MAX_WBITS, True
                    continue
                raise DecodeError(f"invalid {'gzip' if self.gzip else 'deflate'} data: {exc}") from None
            self.started = True
            out += piece
            if len(out) > room:
                raise DecodeLimit(bytes(out[:room]))
            data = self.obj.unconsumed_tail
            if self.obj.eof:
                rest = self.obj.unused_data
                if not (self.gzip and rest and _GZIP_MAGIC.startswith(rest[:2])):
                    break  # trailing bytes (padding) after the stream are ignored, as httpx and browsers do
                self.obj = zlib.decompressobj(self.wbits)  # the next gzip member
                data = rest
        return bytes(out)

    def finish(self, room: int) -> bytes:
        out = self.obj.flush(room + 1)
        if len(out) > room:
            raise DecodeLimit(out[:room])
        if not self.obj.eof:
            raise DecodeError(f"the {'gzip' if self.gzip else 'deflate'} stream ended before its end marker")
        return out


class BoundedDecoder:
    """Decodes one body chunk by chunk; the total output never exceeds ``limit`` bytes (else DecodeLimit)."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        self.encoding = ", ".join(codings)
        self.limit = limit
        self.size = 0
        self._inflater: _Inflater | None = None
        if len(codings) > 1:
            raise DecodeError(f"stacked Content-Encoding {self.encoding!r} is not decoded")
        if codings:
            name = codings[0]
            if name in ("gzip", "x-gzip", "deflate"):
                self._inflater = _Zlib(name)
            else:
                raise DecodeError(f"Content-Encoding {name!r} was not asked for (Accept-Encoding: {ACCEPT_ENCODING})")

    @property
    def compressed(self) -> bool:
        return self._inflater is not None

    def feed(self, data: bytes) -> bytes:
        if self._inflater is None:
            out = data
        else:
            out = self._inflater.feed(data, self.limit - self.size)
        self.size += len(out)
        return out

    def finish(self) -> bytes:
        """The last decoded bytes; DecodeError when a compressed stream stopped short."""
        if self._inflater is None:
            return b""
        out = self._inflater.finish(self.limit - self.size)
        self.size += len(out)
        return out
