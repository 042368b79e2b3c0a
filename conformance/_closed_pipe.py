"""A reader that goes away (``responses-conformance run ... | head -3``) must not stop the run.

Python ignores SIGPIPE, so the first write after the reader closed the pipe raises ``BrokenPipeError``
wherever it happens: in a progress line, in pytest's terminal reporter, in the summary. Left alone it
aborts the run half-way, its reports empty and its exit code a lie. Here the console streams are wrapped
so that a closed pipe only ends the printing: the run goes on, every report is written and the exit code
is the one the run would have had. The lines the reader did not wait for are dropped, as ``head``
intends.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO


class QuietWhenClosed:
    """A console stream that drops what it is given once its reader has gone (EPIPE), instead of raising."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.gone = False

    def _closed(self) -> None:
        """Point the descriptor at /dev/null: the text already buffered, and whatever writes to the
        descriptor itself, then go nowhere instead of raising again (at exit too)."""
        self.gone = True
        silence(self._stream)

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._closed()
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._closed()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno, buffer...: the real stream's
        return getattr(self._stream, name)


def silence(stream: TextIO) -> None:
    """Redirect ``stream``'s descriptor to /dev/null and drop its buffered text without raising."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
        stream.flush()
    except (OSError, ValueError):
        pass


def guard_console() -> tuple[QuietWhenClosed, QuietWhenClosed]:
    """Wrap ``sys.stdout`` and ``sys.stderr`` (once); returns the wrappers."""
    out, err = sys.stdout, sys.stderr
    if not isinstance(out, QuietWhenClosed):
        out = sys.stdout = QuietWhenClosed(out)  # type: ignore[assignment]
    if not isinstance(err, QuietWhenClosed):
        err = sys.stderr = QuietWhenClosed(err)  # type: ignore[assignment]
    assert isinstance(out, QuietWhenClosed) and isinstance(err, QuietWhenClosed)
    return out, err


def settle(*streams: QuietWhenClosed) -> None:
    """At the end of a command: a stream whose reader went away is silenced again (a library may have put the
    pipe back on its descriptor meanwhile, as pytest's capture does), so the interpreter's last flush is quiet."""
    for stream in streams:
        if stream.gone:
            silence(stream._stream)
