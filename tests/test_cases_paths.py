"""The tiny path syntax used by ``json:`` and ``capture:``."""

from __future__ import annotations

import pytest

from conformance.cases.paths import PathSyntaxError, find, find_located, lookup, parse_path

DOC = {
    "id": "resp_1",
    "output": [
        {"type": "reasoning", "summary": []},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hi"}]},
        {"type": "function_call", "name": "f", "index": 0, "strict": True},
        {"type": "message", "role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]},
    ],
    "usage": {"input_tokens": 3, "output_tokens": 1},
    "a.b": 1,
    "nothing": None,
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("id", ["resp_1"]),
        ("$.id", ["resp_1"]),
        ("$", [DOC]),
        ("usage.input_tokens", [3]),
        ("output[0].type", ["reasoning"]),
        ("output[-1].type", ["message"]),
        ("output[*].type", ["reasoning", "message", "function_call", "message"]),
        ("output[type=message].content[0].text", ["hi"]),
        ("output[type=message].content[*].type", ["output_text", "refusal"]),
        ("output[type!=message].type", ["reasoning", "function_call"]),
        ("output[index=0].name", ["f"]),
        ("output[strict=true].name", ["f"]),
        ('output[type="message"].role', ["assistant", "assistant"]),
        ('["a.b"]', [1]),
        ("usage.*", [3, 1]),
        ("nothing", [None]),
        ("missing", []),
        ("output[9]", []),
        ("id[0]", []),
        ("usage.input_tokens.deeper", []),
        ("output[role=assistant].content[type=refusal].refusal", ["no"]),
    ],
)
def test_find(path: str, expected: list[object]) -> None:
    assert find(DOC, path) == expected
    assert lookup(DOC, path) == expected


def test_locations_are_concrete() -> None:
    assert [loc for loc, _ in find_located(DOC, "output[type=message].content[0].text")] == ["output[1].content[0].text"]
    assert [loc for loc, _ in find_located(DOC, "output[-1]")] == ["output[3]"]
    assert [loc for loc, _ in find_located(DOC, '["a.b"]')] == ['["a.b"]']


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        (".id", "must not start"),
        ("a..b", "expected a field name"),
        ("output[", "unclosed"),
        ("output[type message]", "bad selector"),
        ("output[type=]", "empty filter value"),
        ("a b", "unexpected ' '"),
    ],
)
def test_syntax_errors(path: str, fragment: str) -> None:
    with pytest.raises(PathSyntaxError, match=fragment):
        parse_path(path)
