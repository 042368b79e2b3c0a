"""Bounded, incremental ``Content-Encoding`` decoding for the recorder.

Why our own decoder rather than httpx's: the recorder reads the raw stream (``iter_raw``) to enforce
its own timeouts, so it must decode itself; and httpx decodes without a bound, so a gzip bomb (a few
KiB that inflate to GiBs) would cost unbounded memory. Here every call produces at most the bytes
still allowed, and going past the bound is :class:`DecodeLimit` (carrying what was decoded up to the bound,
kept as evidence of an exchange that is never judged).

Only encodings with a bounded decoder are asked for (:data:`ACCEPT_ENCODING`): gzip and deflate,
bounded by zlib's ``max_length``, and br when the installed ``brotli`` can bound a step
(``output_buffer_limit``, brotli >= 1.2).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any, Protocol

try:
    import brotli as _brotli
except ImportError:  # a dependency, but an environment may lack it: then br is simply not asked for
    _brotli = None


class DecodeLimit(Exception):
    """The decoded body would exceed the bound; ``partial`` is what was decoded up to it (evidence)."""

    def __init__(self, partial: bytes = b"") -> None:
        super().__init__("decoded body past the bound")
        self.partial = partial


class DecodeError(Exception):
    """The body is not valid in its declared encoding, or the encoding is one we did not ask for."""


class _Inflater(Protocol):
    """One coding's decoder, yielding its output in pieces of at most :data:`_STEP` bytes; ``room`` is how
    many more output bytes are allowed (more is DecodeLimit, carrying the part of the last piece that fits)."""

    def feed(self, data: bytes, room: int) -> Iterator[bytes]: ...

    def finish(self, room: int) -> Iterator[bytes]: ...


#: the most one decoding step produces: pieces this small flow through a stack of codings (``gzip, gzip``)
#: one at a time, so no layer is ever held whole, whatever the bound
_STEP = 64 * 1024


class _Counter:
    """Output so far against the room: a piece past it is DecodeLimit with the part that fits."""

    def __init__(self, room: int) -> None:
        self.left = room

    def take(self, piece: bytes) -> bytes:
        if len(piece) > self.left:
            raise DecodeLimit(piece[: self.left])
        self.left -= len(piece)
        return piece


def _brotli_bounded() -> bool:
    """Whether the installed brotli bounds one decompression step: releases before 1.2 have no
    ``output_buffer_limit``, and with them a br bomb would inflate unbounded in one call."""
    if _brotli is None:
        return False
    try:
        _brotli.Decompressor().process(b"", output_buffer_limit=1)
    except TypeError:
        return False
    return True


BROTLI = _brotli_bounded()
#: What we ask for: only encodings decoded with a bound on their output.
ACCEPT_ENCODING = "gzip, deflate, br" if BROTLI else "gzip, deflate"


_GZIP_MAGIC = b"\x1f\x8b"


class _Zlib:
    """gzip (multi-member) or deflate (zlib-wrapped, or raw as some servers send it)."""

    def __init__(self, encoding: str) -> None:
        self.gzip = encoding in ("gzip", "x-gzip")
        self.wbits = zlib.MAX_WBITS | 16 if self.gzip else zlib.MAX_WBITS
        self.obj = zlib.decompressobj(self.wbits)
        self.started = False  # a deflate body that fails at once may be raw deflate (no zlib header)

    def feed(self, data: bytes, room: int) -> Iterator[bytes]:
        count = _Counter(room)
        while data:
            try:  # max_length >= 1: never "unlimited"
                piece = self.obj.decompress(data, max(1, min(count.left + 1, _STEP)))
            except zlib.error as exc:
                if not self.gzip and not self.started:
                    self.obj, self.wbits, self.started = zlib.decompressobj(-zlib.MAX_WBITS), -zlib.MAX_WBITS, True
                    continue
                raise DecodeError(f"invalid {'gzip' if self.gzip else 'deflate'} data: {exc}") from None
            self.started = True
            if piece:
                yield count.take(piece)
            data = self.obj.unconsumed_tail
            if self.obj.eof:
                rest = self.obj.unused_data
                if not (self.gzip and rest and _GZIP_MAGIC.startswith(rest[:2])):
                    break  # trailing bytes (padding) after the stream are ignored, as httpx and browsers do
                self.obj = zlib.decompressobj(self.wbits)  # the next gzip member
                data = rest

    def finish(self, room: int) -> Iterator[bytes]:
        piece = self.obj.flush()  # what zlib still holds: at most a window, every input having been fed
        if piece:
            yield _Counter(room).take(piece)
        if not self.obj.eof:
            raise DecodeError(f"the {'gzip' if self.gzip else 'deflate'} stream ended before its end marker")


class _Brotli:
    """br, decoded in steps of at most :data:`_STEP` output bytes, so a bomb stops at the bound."""

    def __init__(self) -> None:
        assert _brotli is not None
        self.obj: Any = _brotli.Decompressor()

    def _step(self, data: bytes, count: _Counter) -> bytes:
        try:  # with output_buffer_limit L a step yields at most about max(2L, 32 KiB)
            piece: bytes = self.obj.process(data, output_buffer_limit=max(1, min(count.left + 1, _STEP)))
        except _brotli.error as exc:  # type: ignore[union-attr]
            raise DecodeError(f"invalid br data: {exc}") from None
        return count.take(piece)

    def _drain(self, count: _Counter) -> Iterator[bytes]:
        # A step stops at its output limit with work pending, which ``can_accept_more_data`` does not always
        # report: drain until a step yields nothing (the decoder then needs input), bounded by the room.
        while piece := self._step(b"", count):
            yield piece

    def feed(self, data: bytes, room: int) -> Iterator[bytes]:
        if not data:
            return
        if self.obj.is_finished():  # brotli itself rejects bytes after the end in the same call
            raise DecodeError("invalid br data: bytes after the end of the stream")
        count = _Counter(room)
        first = self._step(data, count)
        if first:
            yield first
        yield from self._drain(count)

    def finish(self, room: int) -> Iterator[bytes]:
        yield from self._drain(_Counter(room))
        if not self.obj.is_finished():
            raise DecodeError("the br stream ended before its end marker")


def _inflater(name: str, listed: str) -> _Inflater:
    if name in ("gzip", "x-gzip", "deflate"):
        return _Zlib(name)
    if name == "br" and BROTLI:
        return _Brotli()
    where = f" in {listed!r}" if listed != name else ""
    raise DecodeError(f"Content-Encoding {name!r}{where} was not asked for (Accept-Encoding: {ACCEPT_ENCODING})")


class BoundedDecoder:
    """Decodes one body chunk by chunk; the total output never exceeds ``limit`` bytes (else DecodeLimit).

    A stacked ``Content-Encoding: gzip, br`` lists the codings in the order they were applied, so they are
    undone in reverse (br first, then gzip), each stage fed the previous one's output as it comes. The bound
    is on the final (decoded) size, and every intermediate layer is held to it too: a layer larger than the
    bound is a nested bomb (gzip of a gzip bomb inflates its middle layer first), never buffered."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        self.encoding = ", ".join(codings)
        self.limit = limit
        self.size = 0
        self._stages = [_inflater(name, self.encoding) for name in reversed(codings)]
        self._sizes = [0] * len(self._stages)  # decoded bytes out of each stage so far

    @property
    def compressed(self) -> bool:
        return bool(self._stages)

    def _pipe(self, i: int, data: bytes, finishing: bool) -> Iterator[bytes]:
        """The final output of ``data`` fed to stage ``i`` (and finished, when ``finishing``), piece by piece:
        each piece of a stage goes through the stages after it before the next is decoded."""
        last = i == len(self._stages) - 1
        own = self._own(i, data, finishing)
        while True:
            try:
                piece = next(own)
            except StopIteration:
                break
            except DecodeLimit as exc:
                if last:
                    raise
                # a middle layer past the bound (a nested bomb): what fits still goes on through, as evidence
                raise DecodeLimit(b"".join(self._quietly(i + 1, exc.partial))) from None
            self._sizes[i] += len(piece)
            if last:
                yield piece
            else:
                yield from self._pipe(i + 1, piece, False)
        if finishing and not last:
            yield from self._pipe(i + 1, b"", True)

    def _own(self, i: int, data: bytes, finishing: bool) -> Iterator[bytes]:
        """Stage ``i``'s own pieces; the room of its finish is what its feed left (its pieces counted by then)."""
        yield from self._stages[i].feed(data, self.limit - self._sizes[i])
        if finishing:
            yield from self._stages[i].finish(self.limit - self._sizes[i])

    def _quietly(self, i: int, data: bytes) -> Iterator[bytes]:
        try:
            yield from self._pipe(i, data, False)
        except DecodeLimit as exc:
            yield exc.partial
        except DecodeError:
            return

    def _run(self, data: bytes, finishing: bool) -> bytes:
        out = bytearray()
        try:
            for piece in self._pipe(0, data, finishing):
                out += piece
        except DecodeLimit as exc:
            raise DecodeLimit(bytes(out) + exc.partial) from None
        return bytes(out)

    def feed(self, data: bytes) -> bytes:
        out = self._run(data, finishing=False) if self._stages else data
        self.size += len(out)
        return out

    def finish(self) -> bytes:
        """The last decoded bytes; DecodeError when a compressed stream stopped short."""
        if not self._stages:
            return b""
        out = self._run(b"", finishing=True)
        self.size += len(out)
        return out
