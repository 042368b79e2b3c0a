"""Line-aware YAML for the suite's small config files (providers file, baselines).

Why not ``yaml.safe_load``: every validation error must name the file and line, so the
loaded mappings and lists remember where each of their values came from. A private
SafeLoader subclass is used; PyYAML's global loaders are never touched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


class YamlFileError(ValueError):
    """A problem in a config file, rendered as ``file:line: message`` (one line)."""

    def __init__(self, file: str | Path, line: int, message: str) -> None:
        self.file, self.line, self.message = str(file), line, message
        super().__init__(f"{self.file}:{line}: {message}")


class LineDict(dict):  # type: ignore[type-arg]
    """A mapping that knows its own line and the line of each key's value."""

    line: int = 1
    lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)


class LineList(list):  # type: ignore[type-arg]
    line: int = 1
    lines: list[int]

    def line_of(self, index: int) -> int:
        return self.lines[index] if 0 <= index < len(self.lines) else self.line


def yaml12_resolvers() -> dict[Any, list[tuple[str, Any]]]:
    """YAML 1.2 booleans only (``no``/``on`` stay strings) and no timestamps."""
    bool_tag = "tag:yaml.org,2002:bool"
    out: dict[Any, list[tuple[str, Any]]] = {}
    for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items():
        kept = [(tag, rx) for tag, rx in entries if tag not in ("tag:yaml.org,2002:timestamp", bool_tag)]
        if first and first in "tTfF":
            kept.append((bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")))
        if kept:
            out[first] = kept
    return out


class _Loader(yaml.SafeLoader):
    """Private loader: mappings/sequences come back as LineDict/LineList; YAML 1.2 scalars."""

    yaml_implicit_resolvers = yaml12_resolvers()


def c_twin(pure: type[yaml.SafeLoader]) -> type[Any] | None:
    """A libyaml-backed copy of the private loader ``pure`` (same resolvers, same constructors), or None when
    this PyYAML was built without libyaml.

    Why: libyaml scans and composes about ten times faster than PyYAML's pure-Python parser, and its nodes carry
    the same ``start_mark`` lines (tests/test_cases_loader.py compares both on every shipped file), so loading
    a suite of cases costs milliseconds instead of a second. Only composing moves to C: scalars are still
    resolved and built by the Python resolver and constructors of ``pure``."""
    base = getattr(yaml, "CSafeLoader", None)
    if base is None:  # pragma: no cover - PyYAML wheels ship libyaml
        return None
    return type(f"{pure.__name__}C", (base,), {
        "yaml_implicit_resolvers": pure.yaml_implicit_resolvers,
        "yaml_constructors": dict(pure.yaml_constructors),
        "__doc__": f"libyaml twin of {pure.__name__}",
    })


#: a tag followed by ``,``, ``[`` or ``]``: PyYAML's own scanner keeps these in the tag (``{model: !model, a: b}``
#: gives the tag ``!model,``, which the case loader refuses with a hint); libyaml ends a tag there in flow style
_TAG_THEN_FLOW_CHAR = re.compile(r"![^\s,\[\]{}]*[,\[\]]")


def compose_c(text: str, twin: type[Any] | None) -> tuple[Any, yaml.Node | None] | None:
    """``(loader, node)`` of ``text`` composed by libyaml, or None when there is no ``twin``, the text holds
    something the two parsers read differently (:data:`_TAG_THEN_FLOW_CHAR`), or libyaml refuses it. The caller
    then composes with the pure-Python loader, which accepts what it always accepted and gives the error
    (message and line) it always gave: neither depends on how PyYAML was built. The returned loader is the
    caller's to ``dispose()``."""
    if twin is None or _TAG_THEN_FLOW_CHAR.search(text):
        return None
    loader = twin(text)
    try:
        return loader, loader.get_single_node()
    except yaml.YAMLError:
        loader.dispose()
        return None


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise YamlFileError(loader.name, key_node.start_mark.line + 1, f"duplicate key {key!r}")
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)  # type: ignore[arg-type]
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)  # type: ignore[arg-type]
_CLoader = c_twin(_Loader)


#: the most values a document may hold once its aliases are expanded (a "billion laughs" holds 10**9)
MAX_EXPANDED_NODES = 100_000


def check_expansion(node: yaml.Node | None, fail: Callable[[int, str], Exception],
                    limit: int = MAX_EXPANDED_NODES, text: str | None = None) -> None:
    """Refuse a document whose aliases expand past ``limit`` values, or an alias that contains itself.

    Why: PyYAML shares an aliased node, but everything downstream (line maps, validation, JSON dumps)
    walks the expanded tree, so nine levels of ten aliases make a 1 KiB file cost 10**9 steps. Sizes are
    memoised per node, so the check itself is linear in the composed nodes. Given the document's ``text``,
    a document with no anchor (so no alias) and too short to hold ``limit`` values is passed without the walk:
    every character starts at most two values (a key and its empty value)."""
    if text is not None and "&" not in text and 2 * len(text) + 1 <= limit:
        return
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(n: yaml.Node) -> int:
        key = id(n)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise fail(n.start_mark.line + 1, "recursive YAML alias (a value that contains itself) is not allowed")
        active.add(key)
        children: list[Any] = []
        if isinstance(n, yaml.SequenceNode):
            children = list(n.value)
        elif isinstance(n, yaml.MappingNode):
            children = [child for pair in n.value for child in pair]
        total = 1
        for child in children:
            total += size(child)
            if total > limit:
                raise fail(n.start_mark.line + 1, f"YAML aliases expand this document past {limit} values (refused)")
        active.discard(key)
        sizes[key] = total
        return total

    if node is not None:
        size(node)


def load_yaml(path: Path) -> Any:
    """Load ``path``; any read or syntax problem becomes a one-line :class:`YamlFileError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlFileError(path, 1, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlFileError(path, 1, f"cannot read: {exc}") from None
    if "\x00" in text:  # PyYAML would refuse it too, but from inside its reader, before any line is known
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise YamlFileError(path, line, "invalid YAML: a NUL byte (is this a binary file?)")
    fast = compose_c(text, _CLoader)
    try:
        loader = fast[0] if fast else _Loader(text)
    except yaml.YAMLError as exc:
        raise YamlFileError(path, 1, f"invalid YAML: {str(exc).splitlines()[0]}") from None
    loader.name = str(path)
    try:
        node = fast[1] if fast else loader.get_single_node()
        check_expansion(node, lambda line, message: YamlFileError(path, line, message), text=text)
        return None if node is None else loader.construct_document(node)
    except RecursionError:
        raise YamlFileError(path, 1, "invalid YAML: nested too deeply") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise YamlFileError(path, mark.line + 1 if mark else 1, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlFileError(path, 1, f"invalid YAML: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()


def line_of(container: Any, key: Any, default: int = 1) -> int:
    """Line of ``container[key]`` when known (plain dicts/lists fall back to ``default``)."""
    if isinstance(container, (LineDict, LineList)):
        return container.line_of(key)
    return getattr(container, "line", default)
