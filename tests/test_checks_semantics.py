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

from conformance.judge.checks import REGISTRY


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


def test_absent_echoes_are_never_findings() -> None:
    """Absence is not a contradiction: optional echoes may be left out, and a missing required one is
    response.schema's finding (one root cause, one finding)."""
    request = {**REQUEST, "truncation": "auto", "background": False, "prompt_cache_key": "k-1",
               "reasoning": {"effort": "low"}, "text": {"format": {"type": "text"}}, "service_tier": "auto"}
    body = make_response(request=request)
    for field in ("temperature", "max_output_tokens", "truncation", "background", "prompt_cache_key", "reasoning",
                  "text", "service_tier"):
        body.pop(field, None)
    assert findings("response.echo", json_exchange(body, request=request)) == []
    assert "response.echo" in REGISTRY


def test_present_but_different_optional_echoes_are_findings() -> None:
    request = {**REQUEST, "truncation": "auto", "background": False, "prompt_cache_key": "k-1"}
    body = make_response(request=request, truncation="disabled", background=True, prompt_cache_key="k-2")
    text = messages("response.echo", json_exchange(body, request=request))
    for expected in ("request set truncation=\"auto\" but the Response has \"disabled\"",
                     "request set background=false but the Response has true",
                     "request set prompt_cache_key=\"k-1\" but the Response has \"k-2\""):
        assert expected in text


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


def test_tools_listing_is_observed_and_namespaces_count() -> None:
    """A function loaded by tool_search_output comes back as a namespace of that name (api.openai.com,
    pydantic-ai cassettes in ../shared/real-openai): not a finding; a function that is simply gone is a
    warning (basis observed), not a fail."""
    request = function_request()
    reshaped = make_response([function_call_item()], request=request,
                             tools=[{"type": "namespace", "name": "get_weather", "description": "", "tools": []}])
    assert findings("response.echo", json_exchange(reshaped, request=request)) == []
    gone = make_response([function_call_item()], request=request, tools=[])
    (finding,) = findings("response.echo", json_exchange(gone, request=request))
    assert finding.basis == "observed" and "get_weather" in finding.message


def test_an_echo_mismatch_is_one_finding_key_per_field_whatever_the_values() -> None:
    """The key blanked quoted values, but a long value is cut short in the message and its quote left open: fuzzing
    LiteLLM-mock (which echoes metadata as {}) made a "distinct" finding of every generated metadata value."""
    from conformance.judge.basis.keys import finding_key

    keys = set()
    for value in ("0" * 40, "dprIUn1kTWdPIhzr" * 3):
        request = {**REQUEST, "metadata": {"a": value, "aaaaaaaa": value, "b": value}}
        ex = json_exchange(make_response(request=request, metadata={}), request=request)
        (finding,) = [f for f in findings("response.echo", ex) if f.path.endswith("metadata")]
        keys.add(finding_key("response.echo", finding))
    assert keys == {"response.echo|$.metadata|echo differs from the request"}
