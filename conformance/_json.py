"""The one JSON parser for bytes a server (or a saved capture) sent: bounded nesting depth.

``json.loads`` recurses once per nesting level, so ``[`` x 100,000 raises ``RecursionError`` (not a
``ValueError``) and a merely deep value (depth 900) parses but later breaks every recursive walk over it
(schema validation, path lookups). Either way a hostile server could make a case vanish from the results.
Every parse of server data goes through :func:`loads`, which turns nesting past :data:`MAX_DEPTH` into a
:class:`JSONDepthError`: a ``ValueError``, so every caller that already handles "not JSON" turns it into a
finding (or an ``error``) with a clear reason.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Deeper than any Responses API document (a Response nests a dozen levels; tool arguments a few more).
MAX_DEPTH = 200

# Strings (dropped: brackets inside them do not nest), then everything but brackets. Only run on text json.loads
# accepted, so every string is terminated and both scans stay linear (runs of plain characters are taken whole).
_STRINGS = re.compile(r'"(?:[^"\\]++|\\.)*+"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]++")


class JSONDepthError(ValueError):
    """JSON nested deeper than the bound: rejected rather than parsed (or recursed over) further."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"JSON nested deeper than {max_depth} levels, not parsed further")
        self.max_depth = max_depth


def too_deep(text: str, max_depth: int = MAX_DEPTH) -> bool:
    """Whether valid JSON ``text`` nests deeper than ``max_depth`` (linear; C-speed when few brackets)."""
    if text.count("[") + text.count("{") <= max_depth:
        return False
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))  # C-speed; the loop below sees brackets only
    if brackets.count("[") + brackets.count("{") <= max_depth:
        return False
    depth = 0
    for char in brackets:
        if char == "[" or char == "{":
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def loads(data: str | bytes | bytearray, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that raises :class:`JSONDepthError` (a ``ValueError``) past ``max_depth`` levels."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise JSONDepthError(max_depth) from None
    text = data if isinstance(data, str) else bytes(data).decode("utf-8", errors="replace")
    if too_deep(text, max_depth):
        raise JSONDepthError(max_depth)
    return value


def raw_decode(text: str, start: int, max_depth: int = MAX_DEPTH, *, measure: bool = True) -> tuple[Any, int]:
    """``JSONDecoder().raw_decode`` from ``start`` with the same bound: ``(value, end)``. ``measure=False``: for a
    value only stepped over, not kept or walked - nesting past what ``json`` itself decodes is still refused."""
    try:
        value, end = _DECODER.raw_decode(text, start)
    except RecursionError:
        raise JSONDepthError(max_depth) from None
    if measure and too_deep(text[start:end], max_depth):
        raise JSONDepthError(max_depth)
    return value, end


_DECODER = json.JSONDecoder()
