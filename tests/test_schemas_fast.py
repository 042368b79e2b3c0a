"""The compiled pre-check (jsonschema-rs) never changes a finding: it may only skip ``jsonschema`` for documents
that have none.

Why it matters: findings are verdicts. ``schemas.validate`` asks the compiled validator first and trusts only its
"valid"; these tests hold that answer to ``jsonschema``'s own on every document that judging the real OpenAI
captures validates, on thousands of seeded mutations of them, and on the data the two libraries read differently
(tuples, lone surrogates, NaN).
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from conformance.cases import loader as case_loader
from conformance.judge import schemas

REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "real-openai"
ROOT = Path(__file__).resolve().parents[1]
Call = tuple[str, Any, str]


def slow(name: str, instance: Any, profile: str = "openai") -> list[Any]:
    """``validate`` with the pre-check off: ``jsonschema`` alone, as before the pre-check existed."""
    mp = pytest.MonkeyPatch()
    mp.setattr(schemas, "surely_valid", lambda *_a, **_k: False)
    try:
        return schemas.validate(name, instance, profile=profile)
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def calls() -> list[Call]:
    """Every (schema, document, profile) that judging the real captures validates, deduplicated."""
    if not REAL.is_dir():
        pytest.skip("../shared/real-openai is absent")
    from conformance.judge.offline import judge_capture_dir

    seen: dict[str, Call] = {}
    real_validate = schemas.validate

    def record(name: str, instance: Any, profile: str = "openai") -> list[Any]:
        key = json.dumps([name, instance, profile], sort_keys=True, default=repr)
        seen.setdefault(key, (name, copy.deepcopy(instance), profile))
        return real_validate(name, instance, profile)

    mp = pytest.MonkeyPatch()
    mp.setattr(schemas, "validate", record)
    try:
        judge_capture_dir(REAL, spec_as_of_capture=True)
    finally:
        mp.undo()
    return list(seen.values())


def test_the_pre_check_is_there_and_used(calls: list[Call]) -> None:
    assert schemas.jsonschema_rs is not None and schemas.fast_validator("Response") is not None
    assert len(calls) > 500
    names = {name for name, _, _ in calls}
    assert "Response" in names and len(names) > 20
    fast = sum(schemas.surely_valid(*call) for call in calls)
    assert fast > len(calls) / 2  # most real documents are valid: that is where the time goes


def test_real_documents_get_the_same_findings(calls: list[Call]) -> None:
    differ = [(name, profile) for name, instance, profile in calls
              if schemas.validate(name, instance, profile) != slow(name, instance, profile)]
    assert not differ
    # and the sound direction, spelled out: what the pre-check accepts, jsonschema finds nothing in
    assert not [name for name, instance, profile in calls
                if schemas.surely_valid(name, instance, profile) and slow(name, instance, profile)]


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, here + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, here + (i,))
    return out


MUTATIONS = ("delete", "null", "int", "float", "string", "bool", "list", "dict", "extra", "negative", "empty")


def mutate(doc: Any, rng: random.Random) -> Any:
    """``doc`` with one value somewhere changed the way servers get things wrong."""
    doc = copy.deepcopy(doc)
    path = rng.choice(_paths(doc))
    kind = rng.choice(MUTATIONS)
    if not path:
        return {"extra": doc} if kind == "extra" else None
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    key = path[-1]
    old = parent[key]
    if kind == "delete":
        del parent[key]
    elif kind == "extra" and isinstance(old, dict):
        old["zz_unknown"] = 1
    else:
        parent[key] = {"null": None, "int": 7, "float": 1.5, "string": "nope", "bool": True, "list": [old],
                       "dict": {"value": old}, "negative": -1, "empty": "", "extra": [1, "a"]}[kind]
    return doc


def test_mutated_documents_get_the_same_findings(calls: list[Call]) -> None:
    rng = random.Random(12)
    sample = rng.sample(calls, min(len(calls), 250))
    checked = invalid = 0
    for name, instance, profile in sample:
        for _ in range(6):
            changed = mutate(instance, rng)
            expected = slow(name, changed, profile)
            assert schemas.validate(name, changed, profile) == expected, (name, changed)
            checked += 1
            invalid += bool(expected)
    assert checked == 6 * len(sample) and invalid > checked / 3  # the mutations do break things


REFERENCE_RESPONSE = {
    "id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "error": None,
    "incomplete_details": None, "instructions": None, "model": "m", "output": [], "parallel_tool_calls": True,
    "tool_choice": "auto", "tools": [], "temperature": 1.0, "top_p": 1.0, "metadata": {},
}


@pytest.mark.parametrize("odd, plain", [
    pytest.param(lambda d: {**d, "output": ()}, False, id="tuple-as-array"),  # an array to jsonschema-rs only
    pytest.param(lambda d: {**d, "metadata": {1: "a"}}, False, id="int-key"),
    pytest.param(lambda d: {**d, "model": b"m"}, False, id="bytes"),
    pytest.param(lambda d: {**d, "id": "\ud800"}, True, id="lone-surrogate"),
    pytest.param(lambda d: {**d, "temperature": float("nan")}, True, id="nan"),
])
def test_data_the_libraries_read_differently_is_left_to_jsonschema(odd: Any, plain: bool) -> None:
    doc = odd(dict(REFERENCE_RESPONSE))
    if not plain:  # not JSON data: never trusted to the pre-check
        assert not schemas.surely_valid("Response", doc)
    assert schemas.validate("Response", doc) == slow("Response", doc)


def test_every_shipped_case_file_passes_the_compiled_case_check() -> None:
    """The case loader's pre-check accepts the shipped files (so it is what loading them costs), and
    ``jsonschema`` agrees that they are valid."""
    files = sorted({p for d in ("cases", "conformance/suite/cases") for p in (ROOT / d).rglob("*.yaml")})
    assert len(files) >= 20
    for path in files:
        data, _ = case_loader._parse(path, str(path))
        view = case_loader._schema_view(data)
        assert case_loader._surely_valid(view), path
        assert not list(case_loader._case_validator().iter_errors(view)), path


SCHEMAS_IN_CASES = [
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False},
    {"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 1},
    {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]},
    {"type": "strin"},  # not a type
    {"required": "city"},  # not a list
    {"properties": {"a": {"minimum": "zero"}}},
    {"pattern": "^[a-z]+$"},
    {"pattern": "(?<name>x)"},  # an ECMA regex Python's re refuses: jsonschema's check_schema does too
    {"patternProperties": {"(": {}}},
    {"$ref": "#/$defs/missing", "$defs": {}},
    {"type": "object", "properties": {"$weird": {"type": "string"}}},
]


@pytest.mark.parametrize("schema", SCHEMAS_IN_CASES, ids=lambda s: json.dumps(s)[:40])
def test_a_case_schema_gets_jsonschemas_verdict(schema: dict[str, Any]) -> None:
    """``arguments_schema``/``json_output`` schemas in case files: same verdict and message as jsonschema's."""
    import jsonschema

    from conformance.judge.expect.arguments import schema_problem

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
        expected = None
    except jsonschema.SchemaError as exc:
        expected = exc.message
    assert schema_problem(schema) == expected


#: instances a model might answer with, against the case schemas above (valid or not, plain or odd)
ANSWERS = [{"city": "Paris"}, {"city": 3}, {"city": "Paris", "extra": 1}, {}, ["a"], ["c"], [], 0, -1, None,
           "Paris", 1.5, True, {"city": ("Paris",)}, [float("nan")], {"a": "b"}, {"a": 1}]


@pytest.mark.parametrize("schema", SCHEMAS_IN_CASES + [{"multipleOf": 0.1}, {"type": "number", "maximum": 1}],
                         ids=lambda s: json.dumps(s)[:40])
def test_a_case_schema_match_is_left_to_jsonschema_unless_surely_valid(schema: dict[str, Any]) -> None:
    """``arguments_schema``/``json_output`` matching: what the compiled pre-check accepts, ``jsonschema`` finds
    nothing in (so skipping it changes no finding), and every plain schema's matching answer is accepted (so
    the pre-check does spare ``jsonschema``); ``$``-, ``pattern*``- and ``multipleOf`` schemas are never
    pre-checked."""
    import jsonschema

    from conformance.judge.expect.arguments import surely_matches

    unshared = any(key.startswith(("$", "pattern", "multipleOf")) for key in json.dumps(schema).split('"'))
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError:
        unshared = True  # not a schema: jsonschema's verdict, always
    if unshared:
        assert not any(surely_matches(schema, answer) for answer in ANSWERS)
        return
    accepted = 0
    for answer in ANSWERS:
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(answer))
        if surely_matches(schema, answer):
            assert not errors, answer
            accepted += 1
        elif not errors and schemas.plain_json(answer) and answer == answer:
            pytest.fail(f"the pre-check refused {answer!r}, which jsonschema accepts")
    assert accepted


def test_a_run_whose_answers_match_imports_no_jsonschema() -> None:
    """function_call ``arguments_schema`` and ``json_output`` judged on matching answers: no ``jsonschema``
    import (about 0.1 s of a run's CPU); a mismatch gets its findings, word for word (tests/test_assertions*)."""
    import subprocess
    import sys

    probe = """
import sys
from conformance.judge.expect.output import _function_call_problems
from conformance.judge.expect.arguments import surely_matches
arg = {"name": "get_weather", "arguments_schema": {"type": "object", "required": ["location"]}}
assert _function_call_problems(arg, {"call_id": "c1", "arguments": '{"location": "Paris"}'}) == []
assert "jsonschema" not in sys.modules
assert _function_call_problems(arg, {"call_id": "c1", "arguments": '{"place": "Paris"}'})
assert "jsonschema" in sys.modules
"""
    proc = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
