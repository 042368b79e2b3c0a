"""Line-aware YAML for the suite's small config files (providers file, baselines).

Why not ``yaml.safe_load``: every validation error must name the file and line, so the
loaded mappings and lists remember where each of their values came from. A private
SafeLoader subclass is used; PyYAML's global loaders are never touched.
"""

from __future__ import annotations

import re
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


def load_yaml(path: Path) -> Any:
    """Load ``path``; any read or syntax problem becomes a one-line :class:`YamlFileError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlFileError(path, 1, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlFileError(path, 1, f"cannot read: {exc}") from None
    loader = _Loader(text)
    loader.name = str(path)
    try:
        return loader.get_single_data()
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
