"""libyaml composes the YAML files, and that changes nothing: same data, same line of every value, same errors.

Why it matters: every loader error names ``file:line``, and the case loader looks lines up by data path, so a
composer whose marks differ would move every error. The pure-Python loader stays the reference: these tests
load each shipped file both ways and compare everything the loaders keep.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
import yaml

from conformance import _yamlfile
from conformance.cases import CaseFormatError, load_cases
from conformance.cases import loader as case_loader

ROOT = Path(__file__).resolve().parents[1]
CASE_FILES = sorted({p for d in ("cases", "conformance/suite/cases") for p in (ROOT / d).rglob("*.yaml")})
CONFIG_FILES = sorted({*(ROOT / "baselines").rglob("*.yaml"), *ROOT.glob("*.yaml"), *(ROOT / "examples").rglob("*.yaml")})


def _pure_cases() -> mock._patch:  # type: ignore[type-arg]
    return mock.patch.object(case_loader, "_CaseYamlCLoader", None)


def test_libyaml_is_used() -> None:
    assert case_loader._CaseYamlCLoader is not None and _yamlfile._CLoader is not None
    assert len(CASE_FILES) >= 20 and CONFIG_FILES


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.name)
def test_case_file_composes_the_same_with_libyaml(path: Path) -> None:
    fast_data, fast = case_loader._parse(path, str(path))
    with _pure_cases():
        pure_data, pure = case_loader._parse(path, str(path))
    assert repr(fast_data) == repr(pure_data)
    assert fast.lines == pure.lines and fast.key_lines == pure.key_lines
    assert len(fast.lines) > 10  # a real file, not an empty map


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.name)
def test_config_file_composes_the_same_with_libyaml(path: Path) -> None:
    def walk(value: object) -> object:  # the data with the line of every value
        if isinstance(value, _yamlfile.LineDict):
            return {k: (value.line_of(k), walk(v)) for k, v in value.items()}, value.line
        if isinstance(value, _yamlfile.LineList):
            return [(value.line_of(i), walk(v)) for i, v in enumerate(value)], value.line
        return value

    fast = _yamlfile.load_yaml(path)
    with mock.patch.object(_yamlfile, "_CLoader", None):
        pure = _yamlfile.load_yaml(path)
    assert walk(fast) == walk(pure)


BROKEN = {
    "unclosed flow": "cases:\n  - id: a.b\n    title: [x\n",
    "bad indent": "cases:\n  - id: a.b\n   title: x\n",
    "tab": "cases:\n\t- id: a.b\n",
    "tag swallowing a comma": "cases:\n  - {id: !model, title: x}\n",
    "duplicate key": "cases:\n  - id: a.b\n    id: c.d\n",
    "deep nesting": "cases: " + "[" * 2000 + "]" * 2000 + "\n",
    "control character": "cases:\n  - id: a\x07b\n",
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_errors_are_the_pure_loaders(tmp_path: Path, name: str) -> None:
    """Whatever libyaml refuses (or reads differently) is composed again in Python: the same one-line error."""
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN[name], encoding="utf-8")

    def error() -> str:
        try:
            load_cases(path)
        except (CaseFormatError, yaml.YAMLError, RecursionError) as exc:
            return f"{type(exc).__name__}: {exc}"
        return "loaded"

    fast = error()
    with _pure_cases():
        pure = error()
    assert fast == pure and fast != "loaded"


def test_a_tag_followed_by_a_flow_comma_stays_with_the_pure_parser() -> None:
    """libyaml ends ``!model,`` at the comma; PyYAML keeps it in the tag (the loader then gives a hint)."""
    assert _yamlfile.compose_c("a: {m: !model, b: c}\n", case_loader._CaseYamlCLoader) is None
    fast = _yamlfile.compose_c("a: {m: !model , b: c}\n", case_loader._CaseYamlCLoader)
    assert fast is not None
    fast[0].dispose()
