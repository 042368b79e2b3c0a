"""One entry of a step's ``expect:`` list, the basis it may name, and the advisory finding."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..._verdict import BASES, Finding

__all__ = ["Advisory", "Expectation", "split_basis"]


@dataclass(frozen=True)
class Expectation(Mapping[str, Any]):
    """One entry of a step's ``expect:`` list: ``{name: arg}`` plus where it was written.

    It is also a read-only one-key mapping (``exp["status"]``), so code written against the
    plain YAML shape keeps working.
    """

    name: str
    arg: Any
    line: int = 0
    file: str = ""
    basis: str = ""  # what the case says this expectation rests on (its argument's ``basis:``), else ""

    def __getitem__(self, key: str) -> Any:
        if key != self.name:
            raise KeyError(key)
        return self.arg

    def __iter__(self) -> Iterator[str]:
        return iter((self.name,))

    def __len__(self) -> int:
        return 1


class Advisory(Finding):
    """A finding that is reported but does not fail the case (severity ``warning``)."""


def split_basis(arg: Any, default: str) -> tuple[Any, str]:
    """An expectation's argument without its ``basis:`` key, and the basis it asks for (else ``default``)."""
    if isinstance(arg, Mapping) and "basis" in arg:
        basis = str(arg["basis"])
        rest = {k: v for k, v in arg.items() if k != "basis"}
        if set(rest) == {"value"}:  # ``{value: 400, basis: observed}`` for a scalar argument
            return rest["value"], basis if basis in BASES else default
        return rest, basis if basis in BASES else default
    return arg, default
