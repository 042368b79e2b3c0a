"""No check crashes on odd input: whatever the server sends, a check reports findings, never a traceback."""

from __future__ import annotations

import json
from typing import Any

from _exchanges import function_request, json_exchange, make_response, run, stream_events_for, stream_exchange
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.record.exchange import Exchange

JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                    max_leaves=8)
KEYS = st.sampled_from(["type", "output_index", "content_index", "item_id", "item", "part", "delta", "text",
                        "arguments", "response", "sequence_number", "output", "status", "usage", "error", "content",
                        "incomplete_details", "name", "tools", "metadata", "model", "id", "object"])


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _replace(doc: Any, path: tuple[Any, ...], new: Any) -> Any:
    doc = json.loads(json.dumps(doc))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return doc


def _no_crash(ex: Exchange) -> None:
    for result in run(ex):
        assert not any(f.message.startswith("check crashed") for f in result.findings), result


BODY = make_response([*make_response()["output"], *stream_events_for(make_response())[-1]["response"]["output"]],
                     request=function_request())
BODY_PATHS = _paths(BODY)
EVENTS = stream_events_for(make_response())
EVENT_PATHS = [(i, *p) for i, e in enumerate(EVENTS) for p in _paths(e)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(BODY_PATHS), JSON, st.sampled_from([200, 400, 404]))
def test_response_checks_survive_any_value(path: tuple[Any, ...], value: Any, status: int) -> None:
    _no_crash(json_exchange(_replace(BODY, path, value), status=status, request=function_request()))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EVENT_PATHS), JSON)
def test_stream_checks_survive_any_value(path: tuple[Any, ...], value: Any) -> None:
    events = _replace(EVENTS, path, value)
    _no_crash(stream_exchange(events))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.fixed_dictionaries({"type": st.sampled_from(sorted({e["type"] for e in EVENTS}) + ["error"])},
                                      optional={k: JSON for k in ["output_index", "content_index", "item_id", "item",
                                                                  "response", "sequence_number", "delta", "part"]}),
                max_size=12))
def test_lifecycle_survives_arbitrary_event_sequences(events: list[dict[str, Any]]) -> None:
    _no_crash(stream_exchange(events))


@settings(max_examples=80, deadline=None)
@given(JSON, st.sampled_from(["/responses", "/responses/r1", "/responses/r1/input_items", "/responses/input_tokens"]),
       st.sampled_from(["GET", "POST", "DELETE"]), st.sampled_from([200, 400, 404, 422]))
def test_any_body_on_any_endpoint(body: Any, path: str, method: str, status: int) -> None:
    _no_crash(json_exchange(body, status=status, method=method, path=path))
