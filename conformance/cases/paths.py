"""A tiny, documented path syntax into JSON documents (used by ``json:`` and ``capture:``).

Deliberately smaller than JSONPath: every construct below is listed in docs/cases.md, and a
path always returns *all* matches, so "every item ...", "some item ..." and "no item ..."
are explicit choices of the assertion, not accidents of the syntax.

Grammar::

    path     := ["$"] [first] rest*
    first    := name | "[" selector "]"
    rest     := "." (name | "*") | "[" selector "]"
    selector := integer            # output[0], output[-1] (from the end)
              | "*"                # every item (or every value of an object)
              | '"' key '"'        # ["key.with.dots"]
              | field ("=" | "!=") literal      # output[type=message], content[type!=refusal]
    field    := name ("." name)*
    name     := [A-Za-z_][A-Za-z0-9_-]*

A filter literal matches a string field by exact text and a number/boolean/null field by its
JSON spelling (``[index=0]``, ``[strict=true]``); write ``[type="a]b"]`` to quote odd text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Union

__all__ = ["Path", "PathSyntaxError", "find", "find_located", "lookup", "parse_path"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_INT = re.compile(r"-?\d+")


class PathSyntaxError(ValueError):
    """The path text does not follow the grammar (the message says where)."""


@dataclass(frozen=True)
class Key:
    name: str


@dataclass(frozen=True)
class Index:
    index: int


@dataclass(frozen=True)
class Wildcard:
    pass


@dataclass(frozen=True)
class Filter:
    fields: tuple[str, ...]
    negate: bool
    literal: str
    quoted: bool


Segment = Union[Key, Index, Wildcard, Filter]


@dataclass(frozen=True)
class Path:
    text: str
    segments: tuple[Segment, ...]


def _parse_selector(text: str, inner: str, pos: int) -> Segment:
    body = inner.strip()
    if body == "*":
        return Wildcard()
    if _INT.fullmatch(body):
        return Index(int(body))
    if len(body) >= 2 and body[0] == body[-1] == '"':
        return Key(body[1:-1])
    match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*)\s*(!=|=)\s*(.*)", body, re.S)
    if not match:
        raise PathSyntaxError(
            f"bad selector [{inner}] at column {pos + 1} of {text!r} "
            "(expected an integer, *, \"key\", or field=value)"
        )
    literal = match.group(3).strip()
    quoted = len(literal) >= 2 and literal[0] == literal[-1] == '"'
    if quoted:
        literal = literal[1:-1]
    elif not literal:
        raise PathSyntaxError(f"empty filter value in [{inner}] of {text!r}")
    return Filter(tuple(match.group(1).split(".")), match.group(2) == "!=", literal, quoted)


def _closing_bracket(text: str, start: int) -> int:
    in_quotes = False
    for pos in range(start, len(text)):
        char = text[pos]
        if char == '"':
            in_quotes = not in_quotes
        elif char == "]" and not in_quotes:
            return pos
    raise PathSyntaxError(f"unclosed '[' at column {start} of {text!r}")


@lru_cache(maxsize=1024)
def parse_path(text: str) -> Path:
    """Parse ``text`` (cached); raises :class:`PathSyntaxError` with the column of the problem."""
    if not isinstance(text, str):
        raise PathSyntaxError(f"a path must be a string, got {type(text).__name__}")
    segments: list[Segment] = []
    pos = 0
    if text.startswith("$"):
        pos = 1
    first = True
    while pos < len(text):
        char = text[pos]
        if char == "[":
            end = _closing_bracket(text, pos + 1)
            segments.append(_parse_selector(text, text[pos + 1 : end], pos))
            pos = end + 1
        elif char == "." or first:
            if char == ".":
                if first and pos == 0:
                    raise PathSyntaxError(f"path {text!r} must not start with '.'")
                pos += 1
            if text.startswith("*", pos):
                segments.append(Wildcard())
                pos += 1
            else:
                match = _NAME.match(text, pos)
                if not match:
                    raise PathSyntaxError(f"expected a field name at column {pos + 1} of {text!r}")
                segments.append(Key(match.group(0)))
                pos = match.end()
        else:
            raise PathSyntaxError(f"unexpected {char!r} at column {pos + 1} of {text!r}")
        first = False
    return Path(text, tuple(segments))


_MISSING = object()


def _field(item: Any, fields: tuple[str, ...]) -> Any:
    for name in fields:
        if not isinstance(item, dict) or name not in item:
            return _MISSING
        item = item[name]
    return item


def _filter_hit(item: Any, flt: Filter) -> bool:
    """``=`` needs the field present and equal; ``!=`` matches items where it is absent or differs."""
    value = _field(item, flt.fields)
    if value is _MISSING:
        equal = False
    elif isinstance(value, str):
        equal = value == flt.literal
    else:
        equal = not flt.quoted and json.dumps(value) == flt.literal
    return equal != flt.negate


def _step(located: list[tuple[str, Any]], seg: Segment) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for where, value in located:
        if isinstance(seg, Key):
            if isinstance(value, dict) and seg.name in value:
                if not _NAME.fullmatch(seg.name):
                    label = f'{where}["{seg.name}"]'
                else:
                    label = f"{where}.{seg.name}" if where else seg.name
                out.append((label, value[seg.name]))
        elif isinstance(seg, Index):
            if isinstance(value, list) and -len(value) <= seg.index < len(value):
                real = seg.index % len(value)
                out.append((f"{where}[{real}]", value[real]))
        elif isinstance(seg, Wildcard):
            if isinstance(value, list):
                out.extend((f"{where}[{i}]", item) for i, item in enumerate(value))
            elif isinstance(value, dict):
                out.extend((f"{where}.{k}" if where else str(k), item) for k, item in value.items())
        else:
            if isinstance(value, list):
                out.extend((f"{where}[{i}]", item) for i, item in enumerate(value) if _filter_hit(item, seg))
    return out


def find_located(document: Any, path: str | Path) -> list[tuple[str, Any]]:
    """All matches of ``path`` in ``document`` as ``(concrete location, value)`` pairs.

    A missing key, an out-of-range index or a type mismatch simply yields no match: whether
    "nothing" is acceptable is for the assertion to decide.
    """
    parsed = path if isinstance(path, Path) else parse_path(path)
    located: list[tuple[str, Any]] = [("", document)]
    for seg in parsed.segments:
        located = _step(located, seg)
        if not located:
            break
    return located


def find(document: Any, path: str | Path) -> list[Any]:
    """All values matched by ``path`` (see :func:`find_located`)."""
    return [value for _, value in find_located(document, path)]


lookup = find
"""Alias of :func:`find` (the engine's name for capture look-ups)."""
