"""Derivation of claims from case YAML: exactly the right elements, and unknown elements are errors."""

from __future__ import annotations

import textwrap
from collections import defaultdict
from pathlib import Path

import pytest

from conformance.cases import CaseFormatError, load_cases
from conformance.coverage import (
    UnknownElementError,
    build_report,
    case_claims,
    claims_of,
)
from conformance.coverage.claims import ALTERNATIVE, EXERCISED, REFERENCE

HEADER = "cases:\n"


def _write(tmp_path: Path, body: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + textwrap.indent(textwrap.dedent(body), "  "), encoding="utf-8")
    return path


def _by_kind(path: Path) -> dict[str, dict[str, set[str]]]:
    out: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for case in load_cases(path):
        for claim in case_claims(case):
            out[claim.kind][claim.category].add(claim.element)
    return out


REQUESTS = """
- id: t.requests
  title: t
  group: parameters
  spec: [openai-openapi.yaml#/components/schemas/Response]
  capabilities: [core]
  steps:
    - name: create
      request:
        body:
          model: !model
          seed: 7
          input:
            - {role: developer, content: Hi.}
            - type: message
              role: user
              content:
                - {type: input_text, text: a}
                - {type: input_image, image_url: "https://x/y.png"}
            - {type: function_call_output, call_id: c1, output: [{type: input_file, file_id: f}]}
          tools:
            - {type: function, name: f, parameters: {type: object}}
            - {type: web_search}
          tool_choice: {type: function, name: f}
          include: [reasoning.encrypted_content]
          reasoning: {effort: low, summary: auto}
          text: {format: {type: json_schema, name: n, schema: {type: object}}, verbosity: low}
          truncation: auto
          service_tier: flex
          stream_options: {include_obfuscation: true}
          prompt: {id: p1, version: "2"}
      capture: {rid: id}
      expect:
        - status: 200
    - name: get
      request: {method: GET, path: !join ["/responses/", !var rid, "?include=x"]}
      expect: [{status: 200}]
    - name: cancel
      request: {method: POST, path: !join ["/responses/", !var rid, "/cancel"]}
      expect: [{status: 200}]
    - name: delete
      request: {method: DELETE, path: !join ["/responses/", !var rid]}
      expect: [{status: 200}]
    - name: tokens
      request:
        path: /responses/input_tokens
        body: {model: !model , input: [{type: item_reference, id: !var rid}]}
      expect: [{status: 200}]
"""


def test_request_derivation_is_exact(tmp_path: Path) -> None:
    got = _by_kind(_write(tmp_path, REQUESTS))
    ex = got[EXERCISED]
    assert ex["endpoints"] == {"create", "retrieve", "cancel", "delete", "input_tokens"}
    assert ex["request_parameters"] == {
        "model", "seed", "input", "tools", "tool_choice", "include", "reasoning", "text", "truncation",
        "service_tier", "stream_options", "prompt",
    }
    assert ex["parameter_options"] == {
        "reasoning.effort=low", "reasoning.summary=auto", "text.format:json_schema", "text.verbosity=low",
        "truncation=auto", "service_tier=flex", "stream_options.include_obfuscation", "prompt.id", "prompt.version",
    }
    assert ex["tools"] == {"function", "web_search"}
    assert ex["tool_choice"] == {"type=function"}
    assert ex["include"] == {"reasoning.encrypted_content"}
    assert ex["input_items"] == {"message", "function_call_output", "item_reference"}
    assert ex["input_roles"] == {"developer", "user"}
    assert ex["input_content_parts"] == {"input_text", "input_image", "input_file"}
    assert not got[REFERENCE] and not got[ALTERNATIVE]
    # nothing from an expectation here
    assert not ex["output_items"] and not ex["response_status"] and not ex["stream_events"]


EXPECTATIONS = """
- id: t.expect
  title: t
  group: streaming
  spec: [openai-openapi.yaml#/components/schemas/Response]
  capabilities: [streaming]
  steps:
    - name: plain
      request:
        body: {model: !model , input: hi, tool_choice: auto}
      expect:
        - response_status: completed
        - incomplete_reason: [max_output_tokens, content_filter]
        - json: {path: "output[type=reasoning]", count: {min: 1}}
        - json: {path: "output[0].content[type=refusal].refusal", exists: true}
        - json: {path: "output[-1].status", equals: completed}
        - json: {path: "output[type=function_call]", exists: false}
        - json: {path: "output[0].type", in: [message, web_search_call]}
        - json: {path: status, equals: incomplete}
        - output_text: {token: X}
    - name: streamed
      request:
        body: {model: !model , input: hi, stream: true}
      expect:
        - events:
            first: response.created
            last: response.completed
            includes: [response.output_text.delta]
            order: [response.in_progress, response.output_item.added]
            excludes: [response.failed]
        - json: {source: events, path: "[type=response.content_part.added].part", count: {min: 1}}
        - schema: {name: ResponseTextDoneEvent, path: "output[0]"}
        - function_call: {name: f}
"""


def test_expectation_derivation_is_exact(tmp_path: Path) -> None:
    got = _by_kind(_write(tmp_path, EXPECTATIONS))
    ex = got[EXERCISED]
    assert ex["response_status"] == {"completed", "incomplete"}
    assert ex["incomplete_reasons"] == set()
    assert got[ALTERNATIVE]["incomplete_reasons"] == {"max_output_tokens", "content_filter"}
    assert got[ALTERNATIVE]["output_items"] == {"message", "web_search_call"}
    assert ex["output_items"] == {"reasoning", "message", "function_call"}
    assert ex["output_content_parts"] == {"refusal", "output_text"}
    assert ex["item_status"] == {"completed"}
    assert ex["stream_events"] == {
        "response.created", "response.completed", "response.output_text.delta", "response.in_progress",
        "response.output_item.added", "response.content_part.added", "response.output_text.done",
    }
    assert got[REFERENCE]["stream_events"] == {"response.failed"}
    assert got[REFERENCE]["output_items"] == {"function_call"}
    assert ex["tool_choice"] == {"auto"}
    assert ex["endpoints"] == {"create"}


@pytest.mark.parametrize(
    ("expectation", "element"),
    [
        ("response_status: done", "done"),
        ("incomplete_reason: too_long", "too_long"),
        ("events: {includes: [response.bogus]}", "response.bogus"),
        ("events: {excludes: [response.nope]}", "response.nope"),
        ("events: {first: response.started}", "response.started"),
        ('json: {path: "output[type=mesage]", exists: true}', "mesage"),
        ('json: {path: "output[0].type", equals: nonsense_item}', "nonsense_item"),
        ('json: {path: "output[0].content[type=outptu_text]", exists: false}', "outptu_text"),
        ('json: {source: events, path: "[type=response.made_up]", count: 1}', "response.made_up"),
    ],
)
def test_unknown_element_is_a_clear_error(tmp_path: Path, expectation: str, element: str) -> None:
    path = _write(tmp_path, f"""
    - id: t.bad
      title: t
      group: streaming
      spec: [openai-openapi.yaml#/components/schemas/Response]
      capabilities: [streaming]
      steps:
        - name: s
          request:
            body: {{model: !model , input: hi, stream: true}}
          expect:
            - status: 200
            - {expectation}
    """)
    # the case format itself may already reject some (enums in case.schema.json): either way one line
    with pytest.raises((UnknownElementError, CaseFormatError)) as info:
        claims_of(load_cases(path))
    message = str(info.value)
    assert f"{path.name}:14: " in message
    assert "case 't.bad'" in message
    assert element in message
    assert "steps[0].expect[1]" in message
    assert "\n" not in message


def test_request_values_outside_the_spec_are_not_errors(tmp_path: Path) -> None:
    path = _write(tmp_path, """
    - id: t.ext
      title: t
      group: errors
      spec: [openai-openapi.yaml#/components/schemas/Response]
      capabilities: [core]
      steps:
        - name: s
          request:
            body: {model: !model , input: [{role: wizard, content: x}], tools: [{type: teleport}], top_k: 3}
          expect: [{status: 400}]
    """)
    report = build_report(load_cases(path))
    assert report.category("input_roles").outside_spec == {"wizard": ["t.ext"]}
    assert report.category("tools").outside_spec == {"teleport": ["t.ext"]}
    assert report.category("request_parameters").outside_spec == {"top_k": ["t.ext"]}


def test_report_counts_only_exercised_and_reachable(tmp_path: Path) -> None:
    path = _write(tmp_path, """
    - id: t.report
      title: t
      group: streaming
      spec: [openai-openapi.yaml#/components/schemas/Response]
      capabilities: [streaming]
      steps:
        - name: s
          request:
            body: {model: !model , input: hi, stream: true}
          expect:
            - events: {includes: [response.audio.delta, response.created]}
            - response_status: [queued, in_progress]
    """)
    report = build_report(load_cases(path))
    events = {r.name: r for r in report.category("stream_events").rows}
    assert events["response.created"].covered and events["response.created"].cases == ["t.report"]
    audio = events["response.audio.delta"]
    assert audio.cases == ["t.report"] and audio.unreachable and not audio.covered
    status = {r.name: r for r in report.category("response_status").rows}
    assert status["queued"].alternatives == ["t.report"] and not status["queued"].covered
    assert report.category("stream_events").covered == 1


def test_websocket_body_counts_as_a_create_body(tmp_path: Path) -> None:
    path = _write(tmp_path, """
    - id: t.ws
      title: t
      group: streaming
      spec: [openai-openapi.yaml#/components/schemas/Response]
      capabilities: [websocket]
      steps:
        - name: s
          request:
            transport: websocket
            body: {model: !model , input: [{role: user, content: x}], truncation: auto}
          expect:
            - status: 101
            - events: {first: response.created}
    """)
    ex = _by_kind(path)[EXERCISED]
    assert ex["request_parameters"] == {"model", "input", "truncation"}
    assert ex["parameter_options"] == {"truncation=auto"}
    assert ex["input_items"] == {"message"} and ex["stream_events"] == {"response.created"}
    assert ex["endpoints"] == {"WS /responses"}  # outside the HTTP endpoint list


EVENT_CARRIED = """
- id: t.carried
  title: t
  group: streaming
  spec: [openai-openapi.yaml#/components/schemas/Response]
  capabilities: [streaming]
  steps:
    - name: create
      request:
        body:
          model: !model
          stream: true
          input:
            - {type: reasoning, id: rs_1, summary: [], content: [{type: reasoning_text, text: t}]}
            - {type: computer_call_output, call_id: c, output: {type: computer_screenshot, image_url: "https://x/y.png"}}
      expect:
        - json: {source: events, path: "[type=response.queued].response.status", equals: queued}
        - json: {source: events, path: "[type=response.created].response.status", in: [queued, in_progress]}
        - json: {source: events, path: "[type=response.output_item.added].item.status", equals: in_progress}
        - json: {source: events, path: "[type=response.output_item.added].item.type", equals: function_call}
        - json: {source: events, path: "[type=response.content_part.added].part.type", equals: refusal}
        - json: {source: events, path: "[type=response.reasoning_summary_part.added].part.type", equals: summary_text}
        - json: {path: "output[type=reasoning].summary[type=summary_text].text", type: string}
"""


def test_event_carried_elements_are_claimed(tmp_path: Path) -> None:
    """The Response / item / part an event carries claims its status or type; summaries claim their parts."""
    got = _by_kind(_write(tmp_path, EVENT_CARRIED))
    ex = got[EXERCISED]
    assert ex["response_status"] == {"queued"}
    assert got[ALTERNATIVE]["response_status"] == {"queued", "in_progress"}
    assert ex["item_status"] == {"in_progress"}
    assert ex["output_items"] == {"function_call", "reasoning"}
    assert ex["output_content_parts"] == {"refusal", "summary_text"}
    assert ex["input_content_parts"] == {"reasoning_text", "computer_screenshot"}
    with pytest.raises(UnknownElementError):
        claims_of(load_cases(_write(tmp_path, EVENT_CARRIED.replace("equals: in_progress", "equals: thinking"),
                                    "bad.yaml")))
