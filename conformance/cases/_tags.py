"""Typed YAML tags for values only known at run time, and their resolution.

Tavern's string templating (``"{resp_id}"`` via ``str.format``) loses types and forces
every literal brace to be doubled. Here a later step refers to an earlier value with a
*typed node* instead: ``!var resp_id`` keeps whatever JSON type was captured, ``!join``
is the only way to build a string, and nothing in a plain string is ever interpreted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Env", "Join", "Model", "ResolveError", "Tag", "Var", "iter_tags", "resolve"]


class ResolveError(ValueError, LookupError):
    """A tag could not be resolved (undefined variable, unset environment variable...).

    A ``ValueError`` (so callers catching bad-input errors see it) and a ``LookupError``
    (it is a failed lookup); deliberately not a ``KeyError``, whose ``str()`` adds quotes.
    """


@dataclass(frozen=True)
class Tag:
    """Base of the tag nodes; ``file``/``line`` point at the tag in its YAML source."""

    file: str = ""
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}: " if self.file else ""


@dataclass(frozen=True)
class Var(Tag):
    """``!var name`` – a value captured by an earlier step, type preserved."""

    name: str = ""

    def __repr__(self) -> str:
        return f"!var {self.name}"


@dataclass(frozen=True)
class Env(Tag):
    """``!env NAME`` – an environment variable (a string), read when the step runs."""

    name: str = ""

    def __repr__(self) -> str:
        return f"!env {self.name}"


@dataclass(frozen=True)
class Model(Tag):
    """``!model`` – the model under test, chosen at run time (cases never hard-code one)."""

    def __repr__(self) -> str:
        return "!model"


@dataclass(frozen=True)
class Join(Tag):
    """``!join [a, !var b, ...]`` – string concatenation of scalar items (the only string building)."""

    items: tuple[Any, ...] = ()

    def __repr__(self) -> str:
        return "!join [" + ", ".join(repr(i) for i in self.items) + "]"


def iter_tags(value: Any) -> Iterator[Tag]:
    """Every tag node inside ``value`` (depth first, including those nested in ``!join``)."""
    if isinstance(value, Tag):
        yield value
        if isinstance(value, Join):
            for item in value.items:
                yield from iter_tags(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from iter_tags(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from iter_tags(item)


def _join_piece(value: Any, tag: Join) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ResolveError(f"{tag.where}!join items must be strings or numbers, got {type(value).__name__} {value!r}")


def resolve(value: Any, variables: Mapping[str, Any], model: str, env: Mapping[str, str]) -> Any:
    """Replace every tag in ``value`` by its run-time value and return plain JSON data.

    Raises :class:`ResolveError` naming the missing variable and where the tag is.
    Containers are copied, so the loaded case is never mutated.
    """
    if isinstance(value, Var):
        if value.name not in variables:
            known = ", ".join(sorted(variables)) or "none"
            raise ResolveError(f"{value.where}variable {value.name!r} is not defined (captured so far: {known})")
        return variables[value.name]
    if isinstance(value, Env):
        if value.name not in env:
            raise ResolveError(f"{value.where}environment variable {value.name!r} is not set")
        return env[value.name]
    if isinstance(value, Model):
        if not model:
            raise ResolveError(f"{value.where}!model used but no model under test was given")
        return model
    if isinstance(value, Join):
        return "".join(_join_piece(resolve(item, variables, model, env), value) for item in value.items)
    if isinstance(value, Mapping):
        return {key: resolve(item, variables, model, env) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve(item, variables, model, env) for item in value]
    return value
