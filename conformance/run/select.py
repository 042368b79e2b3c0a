"""``-k EXPRESSION``: which cases a run selects, matched as pytest's ``-k`` matches them, without pytest.

Why our own: ``run`` no longer starts pytest (0.1 s of CPU to import, and a second parse of every case file),
yet ``-k`` must keep its meaning: ``and``/``or``/``not``/parentheses over names, each a case-insensitive
substring of one of the case's keywords (its id, its file's name, that file's folder, ``capability``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..cases import Case

__all__ = ["KeywordError", "keywords_of", "matches", "select"]

_TOKEN = re.compile(r"\s*(?:(\()|(\))|((?:\w|:|\+|-|\.|\[|\]|\\|/)+))")


class KeywordError(ValueError):
    """A ``-k`` expression that does not parse: one line."""


def keywords_of(case: Case) -> list[str]:
    """What a ``-k`` name may match in: as a pytest item's keywords would hold them."""
    file = Path(case.file)
    names = [case.id, file.name, file.parent.name]
    if case.capabilities:
        names.append("capability")
    return [n.lower() for n in names if n]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[str] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if m is None:
                raise KeywordError(f"-k {text!r}: unexpected character {text[pos:].lstrip()[:1]!r}")
            self.tokens.append(m.group(0).strip())
            pos = m.end()
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise KeywordError(f"-k {self.text!r}: expression ends too soon")
        self.pos += 1
        return token

    def parse(self, names: Sequence[str]) -> bool:
        self.pos = 0
        value = self.expr(names)
        if self.peek() is not None:
            raise KeywordError(f"-k {self.text!r}: unexpected {self.peek()!r}")
        return value

    def expr(self, names: Sequence[str]) -> bool:
        value = self.conj(names)
        while self.peek() == "or":
            self.take()
            right = self.conj(names)
            value = value or right
        return value

    def conj(self, names: Sequence[str]) -> bool:
        value = self.neg(names)
        while self.peek() == "and":
            self.take()
            right = self.neg(names)
            value = value and right
        return value

    def neg(self, names: Sequence[str]) -> bool:
        token = self.take()
        if token == "not":
            return not self.neg(names)
        if token == "(":
            value = self.expr(names)
            if self.take() != ")":
                raise KeywordError(f"-k {self.text!r}: missing ')'")
            return value
        if token in (")", "and", "or"):
            raise KeywordError(f"-k {self.text!r}: unexpected {token!r}")
        needle = token.lower()
        return any(needle in name for name in names)


def matches(expression: str, case: Case) -> bool:
    return _Parser(expression).parse(keywords_of(case))


def select(cases: Iterable[Case], expression: str | None) -> list[Case]:
    """The cases ``expression`` selects, in their order (all of them without one)."""
    cases = list(cases)
    if not expression or not expression.strip():
        return cases
    parser = _Parser(expression)
    return [case for case in cases if parser.parse(keywords_of(case))]
