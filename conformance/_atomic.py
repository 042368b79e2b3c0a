"""Every file the tool writes for a reader (results, JUnit, HTML, matrix, coverage, baselines) is written beside
its final name and then renamed, so that an interrupted run, a full disk or Ctrl-C never leaves half a report that
a CI step or a browser would then read as whole.

One writer, so that every report also gets the same mode: the mode any new file would get under the umask.
``tempfile.mkstemp`` creates 0600, which hid the results file (and only it) from a CI artifact server running as
another user.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

__all__ = ["write_atomically", "write_text_atomically"]


def write_atomically(path: Path, write: Callable[[TextIO], None]) -> None:
    """Create ``path``'s folder, hand ``write`` a text file beside ``path``, then rename it over ``path``.
    Nothing is left beside it when ``write`` raises."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0o022)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomically(path: Path, text: str) -> None:
    """:func:`write_atomically` of one string."""

    def put(fh: TextIO) -> None:
        fh.write(text)

    write_atomically(path, put)
