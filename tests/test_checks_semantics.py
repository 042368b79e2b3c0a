"""``response.echo``: the Response reports the parameters it was created with."""

from __future__ import annotations

from typing import Any

import pytest
from _exchanges import (
    REQUEST,
    context,
    findings,
    function_call_item,
    function_request,
    json_exchange,
    make_response,
    messages,
    stream_events_for,
    stream_exchange,
)

from conformance.checks import REGISTRY


@pytest.mark.parametrize("overrides,expected", [
    ({"metadata": {"case": "other"}}, "request set metadata={\"case\": \"hello\"} but the Response has {\"case\": \"other\"}"),
    ({"instructions": None}, "request set instructions=\"Be brief.\" but the Response has null"),
    ({"max_output_tokens": 4096}, "request set max_output_tokens=64 but the Response has 4096"),
    ({"top_p": 1.0}, "request set top_p=0.9 but the Response has 1.0"),
    ({"model": ""}, "model is \"\", expected a non-empty string"),
    ({"parallel_tool_calls": "yes"}, "request set parallel_tool_calls=true but the Response has \"yes\""),
])
def test_echo_deviations(overrides: dict[str, Any], expected: str) -> None:
    request = {**REQUEST, "parallel_tool_calls": True}
    ex = json_exchange(make_response(request=request, **overrides), request=request)
    assert expected in messages("response.echo", ex)


def test_dropped_previous_response_id() -> None:
    request = {**REQUEST, "previous_response_id": "resp_0"}
    ex = json_exchange(make_response(request=request, previous_response_id=None), request=request)
    assert "request set previous_response_id=\"resp_0\" but the Response has null" in messages("response.echo", ex)


def test_required_field_missing_is_reported_but_optional_missing_is_not() -> None:
    body = make_response()
    del body["temperature"], body["max_output_tokens"]
    text = messages("response.echo", json_exchange(body))
    assert "request set temperature=0.7 but the Response has no temperature" in text
    assert "max_output_tokens" not in text


def test_nested_and_tools() -> None:
    request = {**function_request(), "text": {"format": {"type": "json_object"}}, "reasoning": {"effort": "low"}}
    body = make_response([function_call_item()], request=request, text={"format": {"type": "text"}},
                         reasoning={"effort": "high", "summary": None}, tools=[])
    text = messages("response.echo", json_exchange(body, request=request))
    assert "request set text.format.type=\"json_object\" but the Response has \"text\"" in text
    assert "request set reasoning.effort=\"low\" but the Response has \"high\"" in text
    assert "request declared function tool(s) ['get_weather']" in text


def test_model_alias_resolved_to_snapshot_is_fine() -> None:
    ex = json_exchange(make_response(model="gpt-4o-2024-08-06"))
    assert findings("response.echo", ex) == []


def test_echo_judges_the_streamed_terminal_response() -> None:
    events = stream_events_for(make_response())
    events[-1]["response"]["temperature"] = 1.0
    text = messages("response.echo", stream_exchange(events))
    assert "events[" in text and "request set temperature=0.7 but the Response has 1.0" in text


def test_echo_does_not_apply_to_retrieve() -> None:
    ex = json_exchange(make_response(temperature=1.5), method="GET", path="/responses/resp_1")
    assert not REGISTRY["response.echo"].applies(ex, context(ex))
