"""Built-in tools: the reference server's deterministic tools (over HTTP, asserted naively from the spec),
and the tool checks of ``conformance/judge/checks/tools.py`` on valid and broken streams.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from _exchanges import Json, failures, findings, index_of, json_exchange, messages, mutate, renumber, stream_exchange

from conformance.reference import MODEL_NAME, ReferenceServer
from conformance.suite import CASES_DIR
from tests._helpers import reference_recorder

WEB = {"input": "Use the web search tool to find the Python website.", "tools": [{"type": "web_search_preview"}],
       "tool_choice": {"type": "web_search_preview"}}
FILE = {"input": "Use the file search tool.", "tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}],
        "tool_choice": {"type": "file_search"}, "include": ["file_search_call.results"]}
CODE = {"input": "Compute 6 * 7.", "tools": [{"type": "code_interpreter", "container": {"type": "auto"}}],
        "tool_choice": {"type": "code_interpreter"}, "include": ["code_interpreter_call.outputs"]}
IMAGE = {"input": "Draw a square.", "tools": [{"type": "image_generation", "partial_images": 2}],
         "tool_choice": {"type": "image_generation"}}
MCP_TOOL = {"type": "mcp", "server_label": "deepwiki", "server_url": "https://mcp.deepwiki.com/mcp",
            "require_approval": "never", "allowed_tools": ["read_wiki_structure"]}
MCP = {"input": "Use the read_wiki_structure tool with repoName set to a/b.", "tools": [MCP_TOOL]}
CUSTOM = {"input": 'Call it with input set to "SELECT 1".', "tools": [{"type": "custom", "name": "run_sql"}],
          "tool_choice": {"type": "custom", "name": "run_sql"}}
SHELL = {"input": 'Run the command set to "echo HI".', "tools": [{"type": "shell",
                                                                 "environment": {"type": "container_auto"}}],
         "tool_choice": {"type": "shell"}}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with ReferenceServer() as srv, httpx.Client(base_url=srv.base_url, timeout=10) as c:
        yield c


def create(c: httpx.Client, status: int = 200, **body: Any) -> dict[str, Any]:
    body.setdefault("model", MODEL_NAME)
    r = c.post("/responses", json=body)
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


def stream(c: httpx.Client, **body: Any) -> list[dict[str, Any]]:
    body.update(model=MODEL_NAME, stream=True)
    r = c.post("/responses", json=body)
    assert r.status_code == 200, r.text
    return [json.loads(line[6:]) for line in r.text.split("\n") if line.startswith("data: ")]


def types(output: list[dict[str, Any]]) -> list[str]:
    return [item["type"] for item in output]


def kinds(events: list[dict[str, Any]], prefix: str = "") -> list[str]:
    return [e["type"] for e in events if e["type"].startswith(prefix)]


# ------------------------------------------------------------------------------ items


def test_web_search_call_and_url_citation(client: httpx.Client) -> None:
    out = create(client, **WEB, include=["web_search_call.action.sources"])["output"]
    assert types(out) == ["web_search_call", "message"]
    call, message = out
    assert call["status"] == "completed" and call["id"].startswith("ws_")
    assert call["action"]["type"] == "search" and call["action"]["sources"][0]["type"] == "url"
    part = message["content"][0]
    (cite,) = part["annotations"]
    assert cite["type"] == "url_citation" and 0 <= cite["start_index"] <= cite["end_index"] <= len(part["text"])
    assert {"url", "title"} <= cite.keys()


def test_web_search_by_instruction_and_not_with_tool_choice_none(client: httpx.Client) -> None:
    body = {"input": "Please use the web search tool.", "tools": [{"type": "web_search"}]}
    assert types(create(client, **body)["output"])[0] == "web_search_call"
    assert types(create(client, **body, tool_choice="none")["output"]) == ["message"]
    assert types(create(client, input="Hello.", tools=[{"type": "web_search"}])["output"]) == ["message"]


def test_file_search_results_only_when_included(client: httpx.Client) -> None:
    call, message = create(client, **FILE)["output"]
    assert call["type"] == "file_search_call" and call["queries"] and call["results"][0]["file_id"]
    assert message["content"][0]["annotations"][0]["type"] == "file_citation"
    plain = create(client, **{**FILE, "include": []})["output"][0]
    assert plain["results"] is None


def test_code_interpreter_outputs_only_when_included(client: httpx.Client) -> None:
    call = create(client, **CODE)["output"][0]
    assert call["type"] == "code_interpreter_call" and call["code"] and call["container_id"]
    assert call["outputs"] == [{"type": "logs", "logs": "42\n"}]
    body = {**CODE, "include": [], "tools": [{"type": "code_interpreter", "container": "cntr_given"}]}
    call = create(client, **body)["output"][0]
    assert call["outputs"] is None and call["container_id"] == "cntr_given"


def test_image_generation_result_is_a_png(client: httpx.Client) -> None:
    call = create(client, **IMAGE)["output"][0]
    assert call["type"] == "image_generation_call" and call["status"] == "completed"
    assert base64.b64decode(call["result"]).startswith(b"\x89PNG\r\n\x1a\n")


def test_mcp_without_approval_lists_then_calls(client: httpx.Client) -> None:
    out = create(client, **MCP)["output"]
    assert types(out) == ["mcp_list_tools", "mcp_call", "message"]
    listed, call, _ = out
    assert [t["name"] for t in listed["tools"]] == ["read_wiki_structure"]
    assert all("input_schema" in t for t in listed["tools"])
    assert call["server_label"] == "deepwiki" and json.loads(call["arguments"]) == {"repoName": "a/b"}
    assert call["status"] == "completed" and call["error"] is None and call["approval_request_id"] is None


def test_mcp_approval_round_trip_and_denial(client: httpx.Client) -> None:
    tools = [{**MCP_TOOL, "require_approval": "always"}]
    first = create(client, input=MCP["input"], tools=tools)
    assert types(first["output"]) == ["mcp_list_tools", "mcp_approval_request"]
    request = first["output"][1]
    approve = {"type": "mcp_approval_response", "approval_request_id": request["id"], "approve": True}
    second = create(client, previous_response_id=first["id"], input=[approve], tools=tools)
    assert types(second["output"]) == ["mcp_call", "message"]  # tools already listed in the chain
    assert second["output"][0]["approval_request_id"] == request["id"]
    denied = create(client, previous_response_id=first["id"], input=[{**approve, "approve": False}], tools=tools)
    assert types(denied["output"]) == ["message"]
    unknown = {**approve, "approval_request_id": "mcpr_unknown"}
    create(client, 400, input=[unknown], tools=tools)


def test_client_side_calls_end_the_response_and_outputs_are_answered(client: httpx.Client) -> None:
    cases = [
        ({"type": "computer_use_preview", "environment": "browser", "display_width": 800, "display_height": 600},
         "computer_call", "action"),
        ({"type": "computer"}, "computer_call", "actions"),
        ({"type": "local_shell"}, "local_shell_call", "action"),
        ({"type": "shell"}, "shell_call", "action"),
        ({"type": "apply_patch"}, "apply_patch_call", "operation"),
    ]
    for tool, item_type, field in cases:
        (item,) = create(client, input="Go.", tools=[tool], tool_choice="required")["output"]
        assert item["type"] == item_type and item["call_id"] and field in item, item
    outputs = [
        {"type": "custom_tool_call_output", "call_id": "c1", "output": "CUSTOM-1"},
        {"type": "local_shell_call_output", "id": "c1", "call_id": "c1", "output": "LS-1"},
        {"type": "shell_call_output", "call_id": "c1",
         "output": [{"stdout": "SH-1\n", "stderr": "", "outcome": {"type": "exit", "exit_code": 0}}]},
        {"type": "apply_patch_call_output", "call_id": "c1", "status": "completed", "output": "AP-1"},
    ]
    for output in outputs:
        resp = create(client, input=[{"role": "user", "content": "Go."}, output])
        text = resp["output"][0]["content"][0]["text"]
        assert text.strip() in ("CUSTOM-1", "LS-1", "SH-1", "AP-1")


def test_forced_function_still_wins_over_hosted_tools(client: httpx.Client) -> None:
    fn = {"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}
    out = create(client, input="Use the web search tool.", tools=[{"type": "web_search"}, fn],
                 tool_choice={"type": "function", "name": "f"})["output"]
    assert types(out) == ["function_call"]


@pytest.mark.parametrize("tool, param", [
    ({"type": "file_search"}, "tools[0].vector_store_ids"),
    ({"type": "code_interpreter"}, "tools[0].container"),
    ({"type": "mcp", "server_url": "https://x.test/mcp"}, "tools[0].server_label"),
    ({"type": "mcp", "server_label": "x"}, "tools[0].server_url"),
    ({"type": "computer_use_preview", "display_width": 1, "display_height": 1}, "tools[0].environment"),
    ({"type": "custom"}, "tools[0].name"),
    ({"type": "image_generation", "partial_images": 5}, "tools[0].partial_images"),
])
def test_builtin_tool_validation(client: httpx.Client, tool: dict[str, Any], param: str) -> None:
    body = create(client, 400, input="x", tools=[tool])
    assert body["error"]["param"] == param and body["error"]["type"] == "invalid_request_error"


# ------------------------------------------------------------------------------ events


def _sequence_ok(events: list[dict[str, Any]]) -> None:
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[-1]["type"] == "response.completed"


@pytest.mark.parametrize("body, family, expected", [
    (WEB, "response.web_search_call.", ["in_progress", "searching", "completed"]),
    (FILE, "response.file_search_call.", ["in_progress", "searching", "completed"]),
    (CODE, "response.code_interpreter_call", None),
    (IMAGE, "response.image_generation_call.", ["in_progress", "generating", "partial_image", "partial_image",
                                                 "completed"]),
    (MCP, "response.mcp_", None),
    (CUSTOM, "response.custom_tool_call_input.", None),
    (SHELL, "response.shell_call", None),
])
def test_tool_event_sequences(client: httpx.Client, body: dict[str, Any], family: str,
                              expected: list[str] | None) -> None:
    events = stream(client, **body)
    _sequence_ok(events)
    got = kinds(events, family)
    if expected is not None:
        assert [k[len(family):] for k in got] == expected
    assert got, f"no {family}* events"
    # every tool event sits between its item's output_item.added and output_item.done
    for n, e in enumerate(events):
        if e["type"].startswith(family):
            out = e["output_index"]
            added = next(i for i, x in enumerate(events) if x["type"] == "response.output_item.added"
                         and x["output_index"] == out)
            done = next(i for i, x in enumerate(events) if x["type"] == "response.output_item.done"
                        and x["output_index"] == out)
            assert added < n < done
            if "item_id" in e:
                assert e["item_id"] == events[added]["item"]["id"]


def test_code_and_mcp_and_custom_deltas_accumulate(client: httpx.Client) -> None:
    for body, delta, done, field in ((CODE, "response.code_interpreter_call_code.delta",
                                      "response.code_interpreter_call_code.done", "code"),
                                     (MCP, "response.mcp_call_arguments.delta", "response.mcp_call_arguments.done",
                                      "arguments"),
                                     (CUSTOM, "response.custom_tool_call_input.delta",
                                      "response.custom_tool_call_input.done", "input")):
        events = stream(client, **body)
        joined = "".join(e["delta"] for e in events if e["type"] == delta)
        (final,) = [e for e in events if e["type"] == done]
        assert joined == final[field]
        item = next(i for i in events[-1]["response"]["output"] if i["id"] == final["item_id"])
        assert item[field] == joined


def test_annotation_added_before_text_done(client: httpx.Client) -> None:
    events = stream(client, **WEB)
    names = kinds(events)
    at = names.index("response.output_text.annotation.added")
    assert names.index("response.output_text.delta") < at < names.index("response.output_text.done")
    assert events[at]["annotation"]["type"] == "url_citation" and events[at]["annotation_index"] == 0


# ------------------------------------------------------------------------------ checks


@pytest.fixture(scope="module")
def streams(client: httpx.Client) -> dict[str, tuple[list[Json], Json]]:
    out = {}
    for name, body in (("web", WEB), ("image", IMAGE), ("mcp", MCP), ("custom", CUSTOM), ("shell", SHELL),
                       ("code", CODE)):
        request = {"model": MODEL_NAME, **body}
        out[name] = (stream(client, **request), request)
    return out


TOOL_CHECKS = ("stream.tool_events", "stream.tool_input_accumulation", "stream.partial_images", "response.tool_items",
               "stream.lifecycle", "stream.text_accumulation", "stream.final_output_items", "stream.event_schema")


def test_reference_tool_streams_pass_every_check(streams: dict[str, tuple[list[Json], Json]]) -> None:
    for name, (events, request) in streams.items():
        assert failures(stream_exchange(events, request=request)) == {}, name


def test_openai_style_orders_are_tolerated(streams: dict[str, tuple[list[Json], Json]]) -> None:
    """MCP argument events before mcp_call.in_progress, and no in_progress at all, are not judged."""
    events, request = streams["mcp"]

    def args_first(ev: list[Json]) -> None:
        start = index_of(ev, "response.mcp_call.in_progress")
        moved = ev.pop(start)
        ev.insert(index_of(ev, "response.mcp_call_arguments.done") + 1, moved)
        renumber(ev)

    assert failures(stream_exchange(mutate(events, args_first), request=request)) == {}
    dropped = mutate(events, lambda ev: (ev.pop(index_of(ev, "response.mcp_call.in_progress")), renumber(ev)))
    assert failures(stream_exchange(dropped, request=request)) == {}


def _set(event_type: str, **fields: Any) -> Any:
    return lambda ev: ev[index_of(ev, event_type)].update(fields)


BROKEN: dict[str, tuple[str, Any, str, str]] = {
    "family on wrong item": ("web", _set("response.web_search_call.searching", type="response.mcp_call.failed"),
                             "stream.tool_events", "a web_search_call item (expected mcp_call)"),
    # moved, not repeated: a repeated .in_progress is tolerated (issue 10), a first one after searching is not
    "in_progress after searching": (
        "web", lambda ev: ev.insert(index_of(ev, "response.web_search_call.completed") - 1,
                                    ev.pop(index_of(ev, "response.web_search_call.in_progress"))),
        "stream.tool_events", "in_progress (the call is initiated) comes first"),
    "arguments after completed": (
        "mcp", lambda ev: ev.insert(index_of(ev, "response.mcp_call.completed") + 1,
                                    dict(ev[index_of(ev, "response.mcp_call_arguments.delta")], delta="")),
        "stream.tool_events", "after response.mcp_call.completed"),
    "done status contradicts completed": (
        "code", lambda ev: ev[index_of(ev, "response.output_item.done")]["item"].update(status="failed"),
        "stream.tool_events", "said the call completed"),
    "code done differs": ("code", _set("response.code_interpreter_call_code.done", code="print(1)"),
                          "stream.tool_input_accumulation", "concatenated deltas is \"print(6 * 7)\""),
    "mcp item arguments differ": (
        "mcp", lambda ev: ev[index_of(ev, "response.output_item.done", 1)]["item"].update(arguments="{}"),
        "stream.tool_input_accumulation", "response.output_item.done is \"{}\""),
    "shell command differs": ("shell", _set("response.shell_call_command.done", command="rm -rf /"),
                              "stream.tool_input_accumulation", "command_index 0"),
    "partial image not base64": ("image", _set("response.image_generation_call.partial_image",
                                               partial_image_b64="not base64!"),
                                 "stream.partial_images", "not base64"),
    "too many partial images": (
        "image", lambda ev: ev.insert(index_of(ev, "response.image_generation_call.completed"),
                                      dict(ev[index_of(ev, "response.image_generation_call.partial_image", 1)],
                                           partial_image_index=2)),
        "stream.partial_images", "more partial images than the request's partial_images=2"),
}


@pytest.mark.parametrize("label", sorted(BROKEN))
def test_broken_tool_streams_are_reported(streams: dict[str, tuple[list[Json], Json]], label: str) -> None:
    name, change, check, expected = BROKEN[label]
    events, request = streams[name]
    broken = mutate(events, change)
    renumber(broken)
    assert expected in messages(check, stream_exchange(broken, request=request))


def test_repeated_in_progress_is_tolerated(streams: dict[str, tuple[list[Json], Json]]) -> None:
    """``mcp_call.in_progress`` again after the arguments delta (reported on api.openai.com, issue 10)."""
    events, request = streams["mcp"]
    repeated = mutate(events, lambda ev: ev.insert(index_of(ev, "response.mcp_call_arguments.done"),
                                                   dict(ev[index_of(ev, "response.mcp_call.in_progress")])))
    renumber(repeated)
    assert len(repeated) == len(events) + 1
    assert findings("stream.tool_events", stream_exchange(repeated, request=request)) == []


def _response_with(output: list[Json], request: Json) -> Json:
    return {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": "m",
            "output": output, "error": None, "incomplete_details": None}


@pytest.mark.parametrize("items, request_tools, expected", [
    ([{"type": "message", "id": "m", "role": "assistant", "status": "completed",
       "content": [{"type": "output_text", "text": "Hi", "annotations": [
           {"type": "file_citation", "file_id": "f", "filename": "a", "index": 9}]}]}], [],
     "file_citation index 9 lies outside the text"),
    ([{"type": "custom_tool_call", "call_id": "c", "name": "other", "input": "x"}],
     [{"type": "custom", "name": "run_sql"}], "not one of the request's custom tools"),
    ([{"type": "custom_tool_call", "call_id": "", "name": "run_sql", "input": "x"}],
     [{"type": "custom", "name": "run_sql"}], "call_id is \"\""),
    ([{"type": "apply_patch_call", "id": "a", "call_id": "c", "status": "completed",
       "operation": {"type": "delete_file", "path": "x"}},
      {"type": "apply_patch_call", "id": "b", "call_id": "c", "status": "completed",
       "operation": {"type": "delete_file", "path": "y"}}], [{"type": "apply_patch"}], "repeats output[0]"),
    ([{"type": "mcp_call", "id": "m", "server_label": "elsewhere", "name": "t", "arguments": "[1]"}],
     [{"type": "mcp", "server_label": "deepwiki"}], "not one of the request's MCP servers"),
    ([{"type": "mcp_approval_request", "id": "m", "server_label": "deepwiki", "name": "t", "arguments": "[1]"}],
     [{"type": "mcp", "server_label": "deepwiki"}], "arguments is not a JSON object"),
    ([{"type": "image_generation_call", "id": "i", "status": "completed", "result": None}],
     [{"type": "image_generation"}], "expected base64 image data"),
])
def test_tool_item_rules(items: list[Json], request_tools: list[Json], expected: str) -> None:
    request = {"model": "m", "input": "x", "tools": request_tools}
    ex = json_exchange(_response_with(items, request), request=request)
    assert expected in messages("response.tool_items", ex)


# ------------------------------------------------------------------------------ cases


def test_every_builtin_tool_case_needs_the_tool() -> None:
    """Under ``builtin_tools_ignored`` (the model answers in text) every built-in tool case fails: each one
    asserts on its tool's items or events, not only on generic structure."""
    from pathlib import Path

    from conformance._verdict import Outcome
    from conformance.cases import load_all
    from conformance.run.engine import judge, record_case

    root = CASES_DIR
    cases = [c for c in load_all(root) if Path(c.file).name in ("builtin_tools.yaml", "streaming_tools.yaml")]
    assert len(cases) >= 20
    with reference_recorder("sk-builtin-test", deviations=("builtin_tools_ignored",)) as rec:
        outcomes = {c.id: judge(record_case(c, rec)).outcome for c in cases}
    assert all(o is Outcome.FAIL for o in outcomes.values()), outcomes
