"""Generated schemas: freshness, provenance, and validation behaviour of the loader."""

from __future__ import annotations

import copy
import hashlib
import json
import time

import pytest
from jsonschema import Draft202012Validator

from conformance._verdict import Finding
from conformance.judge import schemas as S
from conformance.schemagen import DEFAULT_SPEC_DIR, build_all, diff
from conformance.schemagen._convert import UnionAnalyzer, discriminated
from conformance.suite import SCHEMAS_DIR

SPEC_DIR = DEFAULT_SPEC_DIR
SEED = SPEC_DIR.parent / "seeds" / "002_53df93a851a5ecff.txt"
needs_specs = pytest.mark.skipif(not SPEC_DIR.is_dir(), reason=f"spec directory {SPEC_DIR} is absent")


def valid_response() -> dict:
    """A complete, realistic Response written from the spec (Response + ResponseUsage + OutputMessage)."""
    return {
        "id": "resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41",
        "object": "response",
        "created_at": 1741476777,
        "status": "completed",
        "completed_at": 1741476778,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": "gpt-4o-2024-08-06",
        "output": [
            {
                "type": "message",
                "id": "msg_67ccd3acc8d48190a77525dc6de64b4104becb25c45c1d41",
                "status": "completed",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "text": "The capital of France is Paris.", "annotations": [], "logprobs": []}
                ],
            }
        ],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": 328,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": 52,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 380,
        },
        "user": None,
        "metadata": {},
    }


def text_delta_event() -> dict:
    return {
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "Par",
        "sequence_number": 4,
        "logprobs": [],
    }


def seed_response() -> dict:
    text = SEED.read_text(encoding="utf-8")
    start = text.index('{\n  "id"')
    obj, _ = json.JSONDecoder().raw_decode(text, start)
    return obj


# --------------------------------------------------------------------------- generation


@needs_specs
def test_committed_schemas_equal_fresh_build() -> None:
    problems = diff(build_all(SPEC_DIR), S.schema_root("openai").parent)
    assert not problems, "run `python -m conformance.schemagen`: " + "; ".join(problems)


@needs_specs
def test_build_is_deterministic() -> None:
    assert build_all(SPEC_DIR) == build_all(SPEC_DIR)


@needs_specs
@pytest.mark.parametrize("profile", S.PROFILES)
def test_spec_sha256_matches_spec_file(profile: str) -> None:
    info = S.spec_info(profile)
    assert set(info) == {"title", "version", "sha256", "source", "generator"}
    assert info["sha256"] == hashlib.sha256((SPEC_DIR / info["source"]).read_bytes()).hexdigest()


def test_committed_files_are_canonical_json() -> None:
    for profile in S.PROFILES:
        for path in sorted(S.schema_root(profile).glob("*.json")):
            raw = path.read_bytes()
            assert raw.endswith(b"\n") and not raw.endswith(b"\n\n")
            canon = json.dumps(json.loads(raw), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
            assert raw == canon.encode("utf-8"), path


@pytest.mark.parametrize("profile", S.PROFILES)
def test_components_are_valid_2020_12_without_openapi_isms(profile: str) -> None:
    components = json.loads((S.schema_root(profile) / "components.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(components)
    banned = {"nullable", "discriminator", "oneOf", "$recursiveRef", "$recursiveAnchor", "example", "examples"}

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("enum", "const", "default"):
                    continue
                is_name_map = k in ("properties", "$defs", "patternProperties")
                assert is_name_map or not (k in banned or k.startswith("x-")), f"{where}/{k}"
                if k == "$ref":
                    assert v.startswith("#/$defs/") or v.startswith(components["$id"]), f"{where}: {v}"
                if is_name_map:
                    for name, sub in v.items():
                        walk(sub, f"{where}/{k}/{name}")
                else:
                    walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, x in enumerate(node):
                walk(x, f"{where}/{i}")

    walk(components, "#")
    idx = S.index(profile)
    for root in idx["roots"]:
        assert S.has_schema(root, profile), root


def test_openai_index_coverage_lists() -> None:
    idx = S.index("openai")
    assert idx["spec"]["title"] == "OpenAI API"
    assert len(idx["request_parameters"]) == 31
    assert {"model", "input", "instructions", "tools", "tool_choice", "stream", "include"} <= set(idx["request_parameters"])
    assert len(idx["include"]) == 8 and "reasoning.encrypted_content" in idx["include"]
    assert len(idx["events"]) == 58 == len(idx["stream_event_types"])
    assert len(idx["output_items"]) == 28 and idx["output_items"]["message"] == "OutputMessage"
    assert len(idx["input_items"]) == 30 and "EasyInputMessage" in idx["input_items"]["message"]
    assert idx["tools"]["function"] == "FunctionTool"
    assert {"none", "auto", "required"} <= set(idx["tool_choice"][0]["values"])
    assert set(idx["response_status"]) == {"completed", "failed", "in_progress", "cancelled", "queued", "incomplete"}
    assert idx["incomplete_reasons"] == ["max_output_tokens", "content_filter"]
    assert {"input_text", "input_image", "input_file"} <= set(idx["input_content_parts"])
    assert {"output_text", "refusal"} <= set(idx["output_content_parts"])
    ops = {(e["method"], e["path"], e["operationId"]) for e in idx["endpoints"] if not e["beta"]}
    assert ops == {
        ("POST", "/responses", "createResponse"),
        ("GET", "/responses/{response_id}", "getResponse"),
        ("DELETE", "/responses/{response_id}", "deleteResponse"),
        ("POST", "/responses/{response_id}/cancel", "cancelResponse"),
        ("GET", "/responses/{response_id}/input_items", "listInputItems"),
        ("POST", "/responses/input_tokens", "Getinputtokencounts"),
        ("POST", "/responses/compact", "Compactconversation"),
    }
    kinds = {r["kind"] for r in idx["relaxations"]}
    assert {"oneOf_to_anyOf", "additionalProperties_false_removed"} <= kinds
    assert all(r["where"].startswith("#/$defs/") and r["reason"] for r in idx["relaxations"])


@needs_specs
def test_every_inventory_event_has_a_schema() -> None:
    import yaml

    inv = yaml.safe_load((SPEC_DIR.parent / "spec-inventory.yaml").read_text(encoding="utf-8"))
    types = [e["type"] for e in inv["streaming_events"]]
    assert len(types) == 58
    for t in types:
        name = S.event_schema_name(t)
        assert name and S.has_schema(name), t


def test_every_event_type_maps_to_a_schema_pinning_it() -> None:
    for profile in S.PROFILES:
        for event_type, name in S.index(profile)["events"].items():
            assert S.has_schema(name, profile)
            findings = S.validate(name, {"type": event_type}, profile)
            assert not any(f.path == "$.type" for f in findings), (profile, event_type, findings)
    assert S.event_schema_name("response.output_text.delta") == "ResponseTextDeltaEvent"
    assert S.event_schema_name("response.output_text.delta", "openresponses") == "ResponseOutputTextDeltaStreamingEvent"
    assert S.event_schema_name("response.not_a_thing") is None


# --------------------------------------------------------------------------- validation


def test_valid_response_validates_fast() -> None:
    resp = valid_response()
    assert S.validate("Response", resp) == []
    S.validate("Response", resp)
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        S.validate("Response", resp)
    per_call = (time.perf_counter() - t0) / n
    assert per_call < 0.005, f"{per_call * 1000:.2f} ms per Response"


def test_unknown_fields_at_every_level_are_tolerated() -> None:
    resp = valid_response()
    resp["x_vendor"] = {"anything": [1, 2]}
    resp["output"][0]["x_extra"] = True
    resp["output"][0]["content"][0]["x_extra"] = "x"
    resp["usage"]["x_cost"] = 0.01
    resp["usage"]["input_tokens_details"]["audio_tokens"] = 0
    resp["usage"]["output_tokens_details"]["x"] = 1
    resp["text"]["format"]["x"] = 1
    assert S.validate("Response", resp) == []
    event = {"type": "response.completed", "sequence_number": 9, "response": resp, "x_extra": 1}
    assert S.validate("ResponseStreamEvent", event) == []
    assert S.validate("ResponseCompletedEvent", event) == []


@needs_specs
def test_chat_shaped_seed_is_rejected_precisely() -> None:
    findings = S.validate("Response", seed_response())
    assert all(isinstance(f, Finding) for f in findings)
    paths = {f.path for f in findings}
    assert "$.output[0].content[0].type" in paths
    part = next(f for f in findings if f.path == "$.output[0].content[0].type")
    assert '"text"' in part.message and "output_text" in part.message
    usage = [f for f in findings if f.path == "$.usage"]
    assert any("input_tokens" in f.message for f in usage)
    assert len(findings) <= S.MAX_FINDINGS


def test_text_delta_event() -> None:
    assert S.validate("ResponseTextDeltaEvent", text_delta_event()) == []
    assert S.validate("ResponseStreamEvent", text_delta_event()) == []
    missing = text_delta_event()
    del missing["sequence_number"]
    for name in ("ResponseTextDeltaEvent", "ResponseStreamEvent"):
        findings = S.validate(name, missing)
        assert findings == [Finding("'sequence_number' is missing (required)", "$", kind="missing",
                                    rule="ResponseStreamEvent:required:sequence_number")], findings


def test_stream_event_union_reports_unknown_type_at_type() -> None:
    findings = S.validate("ResponseStreamEvent", {"type": "response.bogus", "sequence_number": 1})
    assert [f.path for f in findings] == ["$.type"]
    assert S.validate("ResponseStreamEvent", "nope")[0].path == "$"


def test_error_response_envelope() -> None:
    ok = {"error": {"message": "m", "type": "invalid_request_error", "param": None, "code": None}}
    assert S.validate("ErrorResponse", ok) == []
    bad = S.validate("ErrorResponse", {"detail": "x"})
    assert bad and bad[0].path == "$" and "error" in bad[0].message


def test_findings_are_capped() -> None:
    findings = S.validate("Response", {"output": [{"type": "message"}] * 30, "usage": {}})
    assert len(findings) == S.MAX_FINDINGS
    assert "more schema violations" in findings[-1].message


def test_request_schemas_stay_closed_and_server_schemas_open() -> None:
    assert S.validate("CreateResponse", {"model": "gpt-4o", "input": "hi"}) == []
    findings = S.validate("CreateResponse", {"model": "gpt-4o", "tool_choice": {"type": "function"}})
    assert findings == [Finding("'name' is missing (required)", "$.tool_choice", kind="missing",
                                rule="ToolChoiceFunction:required:name")]
    removed = [r for r in S.index("openai")["relaxations"] if r["kind"] == "additionalProperties_false_removed"]
    server = set(S.index("openai")["server_reachable"])
    assert all(r["where"].split("/")[2] in server for r in removed)


def test_validator_is_cached_and_api_surface() -> None:
    assert S.validator("Response") is S.validator("Response")
    assert S.has_schema("Response") and not S.has_schema("NoSuchSchema")
    assert S.schema_root("openai").name == "openai"
    with pytest.raises(KeyError):
        S.validator("NoSuchSchema")
    with pytest.raises(ValueError):
        S.schema_root("bogus")


def test_openresponses_profile_roles_and_aliases() -> None:
    idx = S.index("openresponses")
    assert idx["spec"]["title"] == "Open Responses"
    assert S.has_schema("Response", "openresponses") and S.has_schema("ResponseResource", "openresponses")
    assert not S.has_schema("ErrorResponse", "openresponses")
    assert idx["roles"]["error_envelope"] is None and "error_envelope" in idx["absent"]
    assert len(idx["events"]) == 24
    event = text_delta_event()
    assert S.validate("ResponseStreamEvent", event, "openresponses") == []
    del event["sequence_number"]
    assert S.validate("ResponseStreamEvent", event, "openresponses") == [
        Finding("'sequence_number' is missing (required)", "$", kind="missing",
                rule="ResponseStreamEvent:required:sequence_number")
    ]


# --------------------------------------------------------------------------- union rewrite


def _obj(t: list[str], required: bool = True) -> dict:
    schema = {"type": "object", "properties": {"type": {"enum": t}, "v": {"type": "integer"}}}
    if required:
        schema["required"] = ["type", "v"]
    return schema


def test_discriminated_rewrite_is_equivalent_to_anyof() -> None:
    arms = [_obj(["a"]), _obj(["b", "c"]), {"allOf": [_obj(["c"]), {"required": ["w"]}]}]
    analyzer = UnionAnalyzer({})
    facts = [analyzer.facts(a) for a in arms]
    assert all(f.pinned for f in facts)
    disc = Draft202012Validator(discriminated(arms, facts))
    plain = Draft202012Validator({"anyOf": arms})
    samples = [
        {"type": "a", "v": 1}, {"type": "a"}, {"type": "b", "v": 1}, {"type": "c", "v": 1},
        {"type": "c", "v": 1, "w": 0}, {"type": "d", "v": 1}, {"v": 1}, {"type": 1}, "a", None, [],
    ]
    for s in samples:
        assert disc.is_valid(s) == plain.is_valid(s), s


def test_unpinned_arm_is_not_discriminated() -> None:
    analyzer = UnionAnalyzer({})
    assert not analyzer.facts(_obj(["a"], required=False)).pinned
    assert not analyzer.may_be_object({"type": "string"})
    assert analyzer.may_be_object({"properties": {}})


def test_input_is_not_mutated() -> None:
    resp = valid_response()
    before = copy.deepcopy(resp)
    S.validate("Response", resp)
    assert resp == before


def test_schemas_dir_is_self_contained() -> None:
    root = SCHEMAS_DIR
    assert S.schema_root("openai") == root / "openai"
    assert (root / "openai" / "index.json").is_file() and (root / "openresponses" / "components.json").is_file()


# --------------------------------------------------------------------------- finding kinds and rules


def test_findings_name_their_kind_and_rule() -> None:
    """Each finding says what is wrong (``kind``) and which spec requirement it breaks (``rule``), the identity
    ``scripts/requirement-dates`` dates: ``Component[.prop.path]:keyword[:value]``, ``$ref`` starting a new one."""
    body = valid_response()
    body["usage"]["input_tokens_details"] = {"cached_tokens": 0}
    body["status"] = "weird"
    body["created_at"] = "yesterday"
    body["instructions"] = 5
    body["output"][0]["content"][0]["text"] = None
    found = {f.path: f for f in S.validate("Response", body)}
    expected = {
        "$.usage.input_tokens_details": ("missing", "ResponseUsage.input_tokens_details:required:cache_write_tokens",
                                         "'cache_write_tokens' is missing (required)"),
        "$.status": ("enum", "Response.status:enum", None),
        "$.created_at": ("type", "Response.created_at:type", '"yesterday" is not of type number'),
        "$.instructions": ("union", "Response.instructions:anyOf", "5 does not match any allowed form"),
        "$.output[0].content[0].text": ("null", "OutputTextContent.text:type", "text is null, expected string"),
    }
    for path, (kind, rule, message) in expected.items():
        assert (found[path].kind, found[path].rule) == (kind, rule), found[path]
        if message is not None:
            assert found[path].message == message
    assert set(found) == set(expected)
    items = S.validate("WebSearchActionSearch", {"type": "search", "query": "q", "sources": [{"type": "web"}]})
    assert {f.rule for f in items} == {"WebSearchActionSearch.sources[].type:enum", "WebSearchActionSearch.sources[]:required:url"}


def test_missing_and_null_are_never_confused() -> None:
    event = text_delta_event()
    del event["delta"]
    absent = S.validate("ResponseTextDeltaEvent", event)
    assert [(f.kind, f.message) for f in absent] == [("missing", "'delta' is missing (required)")]
    event["delta"] = None
    null = S.validate("ResponseTextDeltaEvent", event)
    assert [(f.kind, f.path, f.message) for f in null] == [("null", "$.delta", "delta is null, expected string")]
    assert absent[0].rule == "ResponseTextDeltaEvent:required:delta" and null[0].rule == "ResponseTextDeltaEvent.delta:type"
    assert S.validate("ResponseUsage", None)[0].message == "value is null, expected object"


def test_event_schema_and_union_agree_on_rules() -> None:
    """The same event judged through its member schema or the union names the same rules."""
    event = text_delta_event()
    del event["sequence_number"]
    event["output_index"] = None
    direct = [(f.kind, f.rule) for f in S.validate("ResponseTextDeltaEvent", event)]
    union = [(f.kind, f.rule) for f in S.validate("ResponseStreamEvent", event)]
    assert direct == union
    assert set(direct) == {("missing", "ResponseStreamEvent:required:sequence_number"),
                           ("null", "ResponseTextDeltaEvent.output_index:type")}


def test_kind_of_other_keywords() -> None:
    cases = [({"const": 1}, 2, "const"), ({"additionalProperties": False}, {"a": 1}, "extra"),
             ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, None, "union"), ({"minimum": 3}, 1, "minimum"),
             ({"enum": ["a"]}, "b", "enum"), ({"type": "string"}, None, "null"), ({"type": "string"}, 1, "type")]
    for schema, instance, kind in cases:
        error = next(Draft202012Validator(schema).iter_errors(instance))
        assert S.finding_kind(error) == kind, schema
