"""The case loader: every shipped file loads; malformed files give one-line file:line errors."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from conformance.cases import (
    ASSERTIONS,
    CaseFormatError,
    Env,
    Join,
    Model,
    ResolveError,
    Var,
    load_all,
    load_cases,
    resolve,
)
from conformance.cases.loader import CAPABILITIES, GROUPS, SCHEMA_PATH, case_schema
from conformance.suite import CASES_DIR

ROOT = Path(__file__).resolve().parents[1]
CASES = CASES_DIR


def write(tmp_path: Path, text: str, name: str = "foo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


GOOD = """
cases:
  - id: input.string
    title: t
    group: input
    spec: [openai-openapi.yaml#/components/schemas/InputParam]
    capabilities: [core]
    steps:
      - name: create
        request:
          body:
            model: !model
            input: Reply with exactly the token X.
        capture: {resp_id: id}
        expect:
          - status: 200
          - output_text: {token: X}
      - name: get
        request:
          method: GET
          path: !join ["/responses/", !var resp_id]
        expect:
          - json: {path: id, equals: !var resp_id}
"""


def error_of(path: Path) -> CaseFormatError:
    with pytest.raises(CaseFormatError) as info:
        load_cases(path)
    text = str(info.value)
    assert "\n" not in text, text
    return info.value


# ------------------------------------------------------------------ shipped cases


def test_every_shipped_file_loads() -> None:
    cases = load_all(CASES)
    assert len(cases) >= 30
    assert len({c.id for c in cases}) == len(cases)
    for path in sorted(CASES.glob("*.yaml")):
        assert load_cases(path), path


def test_shipped_cases_check_schema_and_behaviour() -> None:
    """Each case validates a schema somewhere and makes at least one behavioural assertion."""
    for case in load_all(CASES):
        names = [e.name for s in case.steps for e in s.expect]
        if case.group == "extensions":
            # accepted-or-cleanly-rejected by design: the automatic checks judge the schema of whichever
            # came back (response.schema on a 200, http.error_envelope/error_schema on a 4xx)
            assert [n for n in names if n != "status"] == [], case.id
            assert case.id.split(".")[0] == case.group, case.id
            continue
        if case.group == "sdk":
            # the SDK's traffic is schema-checked by the automatic checks (as warnings: tests/test_sdk.py);
            # each step says whether the SDK call must work or raise
            for step in case.steps:
                assert {e.name for e in step.expect} & {"sdk_ok", "sdk_error"}, (case.id, step.name)
            assert case.id.split(".")[0] == case.group, case.id
            continue
        assert "schema" in names, case.id
        assert any(n not in ("status", "schema", "header") for n in names), case.id
        assert case.id.split(".")[0] == case.group, case.id


#: cases whose point is a wrong model value
MODEL_ERROR_CASES = frozenset({"errors.unknown_model", "errors.compact_unknown_model", "errors.model_wrong_type"})


def test_shipped_cases_never_hard_code_a_model() -> None:
    for case in load_all(CASES):
        for step in case.steps:
            if isinstance(step.body, dict) and "model" in step.body and case.id not in MODEL_ERROR_CASES:
                assert isinstance(step.body["model"], Model), (case.id, step.name)


def _spec_file() -> Path | None:
    for candidate in (
        os.environ.get("RESPONSES_CONFORMANCE_SPEC", ""),
        str(ROOT / "specs" / "openai-openapi.yaml"),
        "/work/shared/specs/openai-openapi.yaml",
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def test_spec_refs_resolve_in_the_openapi_document() -> None:
    spec_file = _spec_file()
    if spec_file is None:
        pytest.skip("openai-openapi.yaml not available")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with spec_file.open(encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=loader)  # noqa: S506 - a safe loader
    docs = {"openai-openapi.yaml": doc}
    or_file = spec_file.parent / "openresponses-openapi.json"
    if or_file.is_file():
        docs["openresponses-openapi.json"] = json.loads(or_file.read_text(encoding="utf-8"))
    refs = {ref for case in load_all(CASES) for ref in case.spec}
    refs |= {a.spec_ref for a in ASSERTIONS.values() if isinstance(a.spec_ref, str)}
    for ref in sorted(refs):
        file, _, pointer = ref.partition("#")
        assert file in ("openai-openapi.yaml", "openresponses-openapi.json"), ref
        if file not in docs:
            continue
        node = docs[file]
        for token in pointer.strip("/").split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            node = node[int(token)] if isinstance(node, list) else node[token]


def test_case_schema_is_a_valid_schema_in_sync_with_the_registry() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["$defs"]["expectation"]["properties"]) == set(ASSERTIONS)
    assert case_schema() == schema
    assert "basic" in GROUPS and "core" in CAPABILITIES


def test_good_file_builds_typed_steps(tmp_path: Path) -> None:
    (case,) = load_cases(write(tmp_path, GOOD))
    assert case.id == "input.string" and case.line == 2 and case.file.endswith("foo.yaml")
    create, get = case.steps
    assert (create.method, create.path, create.stream, create.auth) == ("POST", "/responses", False, "default")
    assert isinstance(create.body["model"], Model)
    assert create.capture == {"resp_id": "id"}
    assert [(e.name, e.line) for e in create.expect] == [("status", 15), ("output_text", 16)]
    assert create.expected_statuses() == (200,)
    assert isinstance(get.path, Join) and isinstance(get.path.items[1], Var)
    assert (get.method, resolve(get.path, {"resp_id": "resp_1"}, "m", {}), get.body) == ("GET", "/responses/resp_1", None)
    assert resolve(create.body, {}, "gpt-x", {}) == {"model": "gpt-x", "input": "Reply with exactly the token X."}


def test_stream_defaults_to_body_stream(tmp_path: Path) -> None:
    text = GOOD.replace("            input: Reply", "            stream: true\n            input: Reply")
    (case,) = load_cases(write(tmp_path, text))
    assert case.steps[0].stream is True


def test_yaml12_booleans_and_no_dates(tmp_path: Path) -> None:
    text = GOOD.replace("{token: X}", "{token: NO}").replace("input: Reply with exactly the token X.", "input: 2024-01-01")
    (case,) = load_cases(write(tmp_path, text))
    assert case.steps[0].expect[1].arg == {"token": "NO"}
    assert case.steps[0].body["input"] == "2024-01-01"


# ------------------------------------------------------------------ one-line errors


def test_broken_yaml_gives_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("        expect:\n          - json", "        expect:\n          - json: {path: [\n"))
    err = error_of(path)
    assert str(err).startswith(f"{err.file}:")
    assert "invalid YAML" in str(err)
    assert err.line >= 23


def test_tag_swallowing_comma_gets_a_hint(tmp_path: Path) -> None:
    text = GOOD.replace("          body:\n            model: !model\n            input: Reply with exactly the token X.",
                        "          body: {model: !model, input: hi}")
    err = error_of(write(tmp_path, text))
    assert err.line == 10 and "hint" in str(err)


def test_comma_splitting_an_unquoted_flow_value_is_rejected(tmp_path: Path) -> None:
    # {content: a, b c} silently sent {"content": "a", "b c": null}: two shipped cases did (docs/peers.md)
    text = GOOD.replace("            input: Reply with exactly the token X.",
                        "            input: [{role: user, content: Reply with the token X, nothing else.}]")
    err = error_of(write(tmp_path, text))
    assert err.line == 12 and "'nothing else.' is a key without a value" in str(err)
    load_cases(write(tmp_path, text.replace("content: Reply with the token X, nothing else.",
                                            'content: "Reply with the token X, nothing else."')))


def test_unknown_assertion(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, GOOD.replace("- status: 200", "- statuss: 200")))
    assert str(err).startswith(f"{err.file}:15: case 'input.string': steps[0].expect[0]")
    assert "unknown assertion 'statuss' (known: " in str(err)
    assert "output_text" in str(err)


def test_duplicate_id_within_a_file(tmp_path: Path) -> None:
    body = GOOD.split("cases:\n", 1)[1]
    err = error_of(write(tmp_path, "cases:\n" + body + body))
    assert err.line == 23 and "duplicate case id 'input.string' (first defined at " in str(err)
    assert ":2)" in str(err)


def test_duplicate_id_across_files(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(CaseFormatError) as info:
        load_all(tmp_path)
    assert str(info.value).startswith(f"{info.value.file}:2: case 'input.string': id: duplicate case id")
    assert info.value.file.endswith("b.yaml") and "a.yaml:2" in str(info.value)


def test_var_before_capture(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, GOOD.replace("capture: {resp_id: id}", "capture: {other: id}")))
    assert err.line == 20
    assert "steps[1]: !var 'resp_id' is used before an earlier step captures it (captured so far: other)" in str(err)


def test_var_in_same_step_as_capture_is_rejected(tmp_path: Path) -> None:
    text = GOOD.replace("- output_text: {token: X}", "- json: {path: id, equals: !var resp_id}")
    err = error_of(write(tmp_path, text))
    assert err.line == 16 and "!var 'resp_id'" in str(err)


def test_unknown_group(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, GOOD.replace("group: input", "group: inputs")))
    assert str(err).startswith(f"{err.file}:4: case 'input.string': group: unknown group 'inputs' (known: basic,")


def test_unknown_key_points_at_the_key(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, GOOD.replace("        capture:", "        captur:")))
    assert err.line == 13 and "unknown key 'captur'" in str(err) and "steps[0]" in str(err)


def test_missing_required_key(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, GOOD.replace("    title: t\n", "")))
    assert err.line == 1 + 1 and "missing required key 'title'" in str(err)


def test_bad_assertion_argument(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, GOOD.replace("- status: 200", "- status: 2x")))
    assert err.line == 15 and "steps[0].expect[0].status" in str(err) and "4xx" in str(err)


def test_bad_regex_and_bad_path(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, GOOD.replace("{token: X}", "{matches: '(unclosed'}")))
    assert err.line == 16 and "invalid regular expression" in str(err)
    err = error_of(write(tmp_path, GOOD.replace("{resp_id: id}", "{resp_id: 'output[type=message'}")))
    assert err.line == 13 and "bad capture path" in str(err)
    err = error_of(write(tmp_path, GOOD.replace("{path: id,", "{path: 'a..b',")))
    assert err.line == 22 and "expected a field name" in str(err)


def test_events_need_a_streamed_step(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, GOOD.replace("- status: 200", "- events: {last: response.completed}")))
    assert err.line == 15 and "needs a streamed step" in str(err)


def test_core_is_exclusive(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, GOOD.replace("capabilities: [core]", "capabilities: [core, tools]")))
    assert err.line == 6 and "'core' cannot be combined" in str(err)


def test_duplicate_yaml_key_and_unknown_tag(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, GOOD.replace("    title: t\n", "    title: t\n    title: u\n")))
    assert err.line == 4 and "duplicate key 'title'" in str(err)
    err = error_of(write(tmp_path, GOOD.replace("!var resp_id]", "!vars resp_id]")))
    assert err.line == 20 and "unknown tag '!vars'" in str(err)


def test_tags_outside_request_and_expect(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, GOOD.replace("title: t", "title: !env TITLE")))
    assert err.line == 3 and "not allowed here" in str(err)


def test_empty_file(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, "# nothing\n"))
    assert err.line == 1 and "empty file" in str(err)


# ------------------------------------------------------------------ resolve


def test_resolve_preserves_types() -> None:
    value = {
        "n": Var(name="count"),
        "obj": Var(name="obj"),
        "flag": Var(name="flag"),
        "path": Join(items=("/responses/", Var(name="rid"), "/n", 3)),
        "model": Model(),
        "key": Env(name="API_KEY"),
        "list": [1, Var(name="count"), None, "{not a template}"],
    }
    variables = {"count": 3, "obj": {"a": [1, 2]}, "flag": False, "rid": "resp_9"}
    out = resolve(value, variables, "gpt-x", {"API_KEY": "k"})
    assert out == {
        "n": 3,
        "obj": {"a": [1, 2]},
        "flag": False,
        "path": "/responses/resp_9/n3",
        "model": "gpt-x",
        "key": "k",
        "list": [1, 3, None, "{not a template}"],
    }
    assert type(out["n"]) is int and out["flag"] is False
    assert isinstance(value["n"], Var)  # the loaded case is not mutated


def test_resolve_errors_name_what_is_missing() -> None:
    with pytest.raises(ResolveError, match=r"foo.yaml:7: variable 'rid' is not defined \(captured so far: a\)"):
        resolve({"p": Var("foo.yaml", 7, "rid")}, {"a": 1}, "m", {})
    with pytest.raises(ResolveError, match="environment variable 'NOPE' is not set"):
        resolve(Env(name="NOPE"), {}, "m", {})
    with pytest.raises(ResolveError, match="!join items must be strings or numbers"):
        resolve(Join(items=("/x/", Var(name="o"))), {"o": {"a": 1}}, "m", {})
    with pytest.raises(ResolveError, match="no model"):
        resolve(Model(), {}, "", {})


def test_basis_is_accepted_in_mapping_arguments_and_validated(tmp_path: Path) -> None:
    """``basis:`` names what one expectation rests on: in any mapping argument, or ``{value, basis}`` for a
    scalar one; the loader keeps it on the Expectation (the argument the assertion sees has none)."""
    text = (GOOD.replace("- status: 200", "- status: {value: [400, 422], basis: observed}")
            .replace("{token: X}", "{token: X, basis: documented}")
            .replace("{path: id, equals: !var resp_id}", "{path: id, equals: !var resp_id, basis: observed}"))
    (case,) = load_cases(write(tmp_path, text))
    create, get = case.steps
    assert [(e.name, e.arg, e.basis) for e in create.expect] == [
        ("status", [400, 422], "observed"), ("output_text", {"token": "X"}, "documented")]
    assert create.expected_statuses() == (400, 422)
    (json_exp,) = get.expect
    assert json_exp.basis == "observed" and "basis" not in json_exp.arg
    err = error_of(write(tmp_path, GOOD.replace("{token: X}", "{token: X, basis: hearsay}")))
    assert err.line == 16 and "steps[0].expect[1].output_text" in str(err)
    err = error_of(write(tmp_path, GOOD.replace("- status: 200", "- status: {value: 200}")))
    assert err.line == 15 and "steps[0].expect[0].status" in str(err)


def test_case_schema_bases_match_the_verdict_vocabulary() -> None:
    from conformance._verdict import BASES

    assert tuple(case_schema()["$defs"]["basis"]["enum"]) == BASES
    for name, prop in case_schema()["$defs"]["expectation"]["properties"].items():
        alternatives = prop.get("anyOf", [prop])
        objects = [a for a in alternatives if a.get("type") == "object"]
        assert all("basis" in a["properties"] for a in objects), name


def test_if_present_needs_value_operators(tmp_path: Path) -> None:
    ok = GOOD.replace("{path: id, equals: !var resp_id}", "{path: truncation, equals: auto, if_present: true}")
    (case,) = load_cases(write(tmp_path, ok))
    assert case.steps[1].expect[0].arg["if_present"] is True
    bad = GOOD.replace("{path: id, equals: !var resp_id}", "{path: truncation, exists: true, if_present: true}")
    err = error_of(write(tmp_path, bad))
    assert "if_present needs value operators" in str(err)


# ------------------------------------------------------------------ uncapped: a generating step without a cap says why

UNCAPPED = """
cases:
  - id: parameters.default_length
    title: t
    group: parameters
    spec: [openai-openapi.yaml#/components/schemas/CreateResponse]
    capabilities: [core]
    steps:
      - name: create
        uncapped: {reason}
        request:
          {request}
        expect:
          - status: {status}
"""


def _uncapped(tmp_path: Path, reason: str, request: str, status: str = "200") -> Path:
    text = UNCAPPED.replace("{reason}", reason).replace("{request}", request).replace("{status}", status)
    return write(tmp_path, text)


def test_uncapped_is_kept_on_the_step_it_explains(tmp_path: Path) -> None:
    (case,) = load_cases(_uncapped(tmp_path, "it tests the default output length",
                                   "{body: {model: !model , input: Count from 1 to 50.}}"))
    assert case.steps[0].uncapped == "it tests the default output length"


@pytest.mark.parametrize(("reason", "request_", "status", "message"), [
    ("why", "{body: {model: !model , input: x, max_output_tokens: 16}}", "200", "contradicts the step's max_output_tokens"),
    ("why", "{method: GET, path: /responses/resp_1}", "200", "applies only to a step that generates"),
    ("why", "{body: {model: !model , input: x, temperature: 9}}", "400", "not expected to be rejected with a 4xx"),
    ('""', "{body: {model: !model , input: x}}", "200", "uncapped"),
    ('"  "', "{body: {model: !model , input: x}}", "200", "uncapped"),
])
def test_a_misplaced_or_empty_uncapped_is_one_line_naming_the_step(tmp_path: Path, reason: str, request_: str,
                                                                   status: str, message: str) -> None:
    err = error_of(_uncapped(tmp_path, reason, request_, status))
    assert message in str(err) and "steps[0]" in str(err) and err.case_id == "parameters.default_length", str(err)


DISABLING = GOOD.replace("    capabilities: [core]\n", "    capabilities: [core]\n    checks:\n      disable: [NAMES]\n      reason: known quirk\n")


def test_checks_disable_names_registered_checks(tmp_path: Path) -> None:
    from conformance.judge.checks import REGISTRY

    real = sorted(REGISTRY)[:2]
    case, = load_cases(write(tmp_path, DISABLING.replace("NAMES", ", ".join(real))))
    assert case.disabled_checks == tuple(real) and case.disabled_reason == "known quirk"


def test_a_mistyped_check_in_checks_disable_is_an_error_at_its_line(tmp_path: Path) -> None:
    """A typo used to disable nothing and say nothing."""
    from conformance.judge.checks import REGISTRY

    real = sorted(REGISTRY)[0]
    err = error_of(write(tmp_path, DISABLING.replace("NAMES", f"{real}, http.status_consistancy")))
    assert err.line == 8 and err.case_id == "input.string"
    assert "unknown check 'http.status_consistancy'" in str(err) and "list-checks" in str(err)
