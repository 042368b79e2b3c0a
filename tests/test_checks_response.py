"""Checks on the Response object (non-streamed bodies and a stream's terminal response)."""

from __future__ import annotations

from typing import Any

import pytest
from _exchanges import (
    context,
    findings,
    function_call_item,
    function_request,
    function_response,
    index_of,
    json_exchange,
    make_response,
    message_item,
    messages,
    stream_events_for,
    stream_exchange,
)

from conformance.judge.checks import REGISTRY


def _fc(request: dict[str, Any] | None = None, **item: Any) -> Any:
    req = function_request() if request is None else request
    return json_exchange(make_response([{**function_call_item(), **item}], request=req), request=req)


# ---------------------------------------------------------------- object_type / status_consistency


def test_empty_id() -> None:
    assert "id is \"\", expected a non-empty string" in messages("response.object_type", json_exchange(make_response(id="")))


def test_object_type_on_non_object_body() -> None:
    ex = json_exchange(["not", "a", "response"])
    assert "expected a Response object" in messages("response.object_type", ex)
    assert not REGISTRY["response.status_consistency"].applies(ex, context(ex))


@pytest.mark.parametrize("overrides,expected", [
    ({"status": "completed", "error": {"code": "server_error", "message": "x"}},
     "status is \"completed\" but error is"),
    ({"status": "failed", "error": None}, "status is \"failed\" but error is null or missing"),
    ({"status": "incomplete", "incomplete_details": {}}, "incomplete_details has no reason"),
    ({"status": "completed", "incomplete_details": {"reason": "max_output_tokens"}},
     "status is \"completed\" but incomplete_details is {\"reason\": \"max_output_tokens\"} (expected null)"),
])
def test_status_consistency_deviations(overrides: dict[str, Any], expected: str) -> None:
    assert expected in messages("response.status_consistency", json_exchange(make_response(**overrides)))


def test_status_consistency_on_streamed_terminal_response() -> None:
    events = stream_events_for(make_response())
    events[-1]["response"]["incomplete_details"] = {"reason": "max_output_tokens"}
    found = findings("response.status_consistency", stream_exchange(events))
    assert found and found[0].path == f"events[{len(events) - 1}].response.incomplete_details"


# ---------------------------------------------------------------- item_status


def test_completed_response_with_in_progress_message() -> None:
    ex = json_exchange(make_response([message_item(status="in_progress")]))
    assert "response is completed but its message item is still in_progress" in messages("response.item_status", ex)


def test_item_status_enum_per_type() -> None:
    ex = _fc(status="searching")
    assert "function_call item has status \"searching\"" in messages("response.item_status", ex)
    web = {"id": "ws_1", "type": "web_search_call", "status": "searching", "action": {"type": "search", "query": "q"}}
    assert findings("response.item_status", json_exchange(make_response([web], status="in_progress"))) == []


def test_unknown_item_types_are_left_to_the_schema() -> None:
    odd = {"id": "x_1", "type": "vendor_widget", "status": "spinning"}
    assert findings("response.item_status", json_exchange(make_response([odd]))) == []


# ---------------------------------------------------------------- usage


def _usage(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"input_tokens": 3, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                            "output_tokens": 2, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 5}
    base.update(fields)
    return base


@pytest.mark.parametrize("usage,expected", [
    (_usage(total_tokens=6), "usage.total_tokens is 6 but input_tokens + output_tokens = 5"),
    (_usage(input_tokens=-1, total_tokens=1), "usage.input_tokens is -1, expected an integer >= 0"),
    (_usage(output_tokens=2.0), "usage.output_tokens is 2.0, expected an integer >= 0"),
    (_usage(output_tokens=True), "usage.output_tokens is true"),
    ({k: v for k, v in _usage().items() if k != "input_tokens_details"}, "usage.input_tokens_details is missing"),
    (_usage(output_tokens_details={}), "usage.output_tokens_details.reasoning_tokens is missing"),
    (_usage(input_tokens_details={"cached_tokens": 9}), "cached_tokens (9) exceeds input_tokens (3)"),
    (_usage(input_tokens_details={"cached_tokens": 0, "cache_write_tokens": "0"}),
     "usage.input_tokens_details.cache_write_tokens is \"0\""),
    (_usage(prompt_tokens=3), ""),
    ({**_usage(), "input_tokens": None, "prompt_tokens": 3}, "(found Chat name(s) ['prompt_tokens'])"),
    ("17", "usage is \"17\", expected an object"),
])
def test_usage_deviations(usage: Any, expected: str) -> None:
    text = messages("response.usage", json_exchange(make_response(usage=usage)))
    assert (expected in text) if expected else text == ""


def test_usage_absent_or_null_is_not_judged_here() -> None:
    body = make_response()
    del body["usage"]
    assert findings("response.usage", json_exchange(body)) == []
    assert findings("response.usage", json_exchange(make_response(usage=None))) == []


# ---------------------------------------------------------------- function_call_arguments


@pytest.mark.parametrize("item,expected", [
    ({"arguments": '{"city": "Par'}, "function_call.arguments is not valid JSON"),
    ({"arguments": '["Paris"]'}, "function_call.arguments parses to [\"Paris\"], expected a JSON object"),
    ({"call_id": ""}, "function_call.call_id is \"\", expected a non-empty string"),
    ({"name": "get_time"}, "function_call.name 'get_time' is not one of the request's function tools ['get_weather']"),
])
def test_function_call_deviations(item: dict[str, Any], expected: str) -> None:
    assert expected in messages("response.function_call_arguments", _fc(**item))


def test_truncated_arguments_of_an_incomplete_call_are_not_parsed() -> None:
    assert findings("response.function_call_arguments", _fc(arguments='{"ci', status="incomplete")) == []


def test_function_name_not_judged_without_declared_functions() -> None:
    plain = {"model": "gpt-4o", "input": "x"}
    assert findings("response.function_call_arguments", _fc(request=plain, name="anything")) == []
    ns = {**function_request(), "tools": [*function_request()["tools"], {"type": "namespace", "name": "ns",
                                                                          "tools": []}]}
    assert findings("response.function_call_arguments", _fc(request=ns, name="ns_fn")) == []


def test_function_call_in_streamed_terminal_response() -> None:
    events = stream_events_for(function_response())
    events[-1]["response"]["output"][0]["arguments"] = "not json"
    ex = stream_exchange(events, request=function_request())
    found = findings("response.function_call_arguments", ex)
    assert found and found[0].path.endswith(".response.output[0].arguments")
    assert index_of(events, "response.completed") == len(events) - 1


# ---------------------------------------------------------------- content_parts / output_text


@pytest.mark.parametrize("part,expected", [
    ({"type": "input_text", "text": "x"}, "content part type \"input_text\" is not allowed in assistant output"),
    ({"type": "output_text", "text": "x"}, "output_text.annotations is null, expected an array"),
    ({"type": "output_text", "text": None, "annotations": []}, "output_text.text is null, expected a string"),
    ({"type": "refusal"}, "refusal.refusal is null, expected a string"),
    ("hello", "content part is \"hello\", expected an object"),
])
def test_content_part_deviations(part: Any, expected: str) -> None:
    ex = json_exchange(make_response([{**message_item(), "content": [part]}]))
    assert expected in messages("response.content_parts", ex)


def test_message_content_as_string() -> None:
    ex = json_exchange(make_response([{**message_item(), "content": "Hello"}]))
    assert "message content is \"Hello\", expected an array of parts" in messages("response.content_parts", ex)


def test_output_text_field_is_a_warning_and_only_when_present() -> None:
    assert REGISTRY["response.output_text_sdk_field"].severity == "warning"
    ex = json_exchange(make_response())
    assert not REGISTRY["response.output_text_sdk_field"].applies(ex, context(ex))


# ---------------------------------------------------------------- delete.result


@pytest.mark.parametrize("body,expected", [
    ({"id": "resp_1", "object": "response", "deleted": True}, "object is \"response\", expected \"response.deleted\""),
    ({"id": "resp_1", "object": "response.deleted", "deleted": False}, "deleted is false, expected true"),
    ({"id": "resp_1", "object": "response.deleted"}, "deleted is null, expected true"),
])
def test_delete_deviations(body: dict[str, Any], expected: str) -> None:
    ex = json_exchange(body, method="DELETE", path="/responses/resp_1")
    assert expected in messages("delete.result", ex)


def test_delete_non_json_body() -> None:
    ex = json_exchange(None, method="DELETE", path="/responses/resp_1", raw=b"OK", content_type="text/plain")
    assert "DELETE 200 body is not JSON" in messages("delete.result", ex)
