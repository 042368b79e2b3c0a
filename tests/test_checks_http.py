"""HTTP-level checks: media types and the error envelope."""

from __future__ import annotations

from typing import Any

import pytest
from _exchanges import context, findings, json_exchange, make_response, messages

from conformance._verdict import Finding
from conformance.judge.checks import REGISTRY


def _error(**fields: Any) -> dict[str, Any]:
    return {"error": {"message": "bad", "type": "invalid_request_error", "param": None, "code": None, **fields}}


def test_valid_error_passes_envelope_and_schema() -> None:
    ex = json_exchange(_error(code="invalid_value", param="temperature"), status=400)
    assert findings("http.error_envelope", ex) == [] and findings("http.error_schema", ex) == []
    assert findings("http.json_content_type", ex) == []


def test_bare_error_object_names_the_spec_ambiguity() -> None:
    ex = json_exchange(_error()["error"], status=404, method="DELETE", path="/responses/resp_x")
    text = messages("http.error_envelope", ex)
    assert "bare Error object" in text and "404 for delete/cancel" in text


def test_html_error_body_is_reported_as_not_json() -> None:
    ex = json_exchange(None, status=401, raw=b"<html><body>Unauthorized</body></html>", content_type="text/html")
    assert "body is not JSON (Content-Type 'text/html', starts '<html>" in messages("http.error_envelope", ex)
    assert "cannot be an ErrorResponse" in messages("http.error_schema", ex)
    assert "Content-Type is 'text/html'" in messages("http.json_content_type", ex)


@pytest.mark.parametrize("field,value,expected", [
    ("code", 400, "error.code is 400, expected a string or null"),
    ("param", ["x"], "error.param is [\"x\"], expected a string or null"),
    ("message", None, "error.message is null, expected a string"),
    ("type", 3, "error.type is 3, expected a string"),
])
def test_envelope_field_types(field: str, value: Any, expected: str) -> None:
    ex = json_exchange(_error(**{field: value}), status=400)
    assert expected in messages("http.error_envelope", ex)


def test_envelope_missing_message() -> None:
    ex = json_exchange({"error": {"type": "invalid_request_error"}}, status=422)
    assert "error.message is missing" in messages("http.error_envelope", ex)


def test_empty_error_body() -> None:
    ex = json_exchange(None, status=404, method="GET", path="/responses/r")
    assert "HTTP 404 with an empty body" in messages("http.error_envelope", ex)


def test_missing_content_type_header() -> None:
    ex = json_exchange(make_response(), content_type=None)
    assert "no Content-Type header" in messages("http.json_content_type", ex)


def test_json_error_to_a_stream_request_is_still_judged() -> None:
    ex = json_exchange(_error(), status=400, request={"model": "m", "input": "x", "stream": True})
    ex.request.stream = True
    ctx = context(ex)
    assert REGISTRY["http.json_content_type"].applies(ex, ctx)
    assert not REGISTRY["stream.content_type"].applies(ex, ctx)


def test_non_api_paths_are_not_judged() -> None:
    ex = json_exchange({"detail": "nope"}, status=404, method="GET", path="/models")
    assert not REGISTRY["http.error_envelope"].applies(ex, context(ex))


def test_failed_response_is_not_an_error_in_200() -> None:
    body = make_response([], status="failed", error={"code": "server_error", "message": "x"})
    assert findings("http.no_error_in_200", json_exchange(body)) == []


def test_error_schema_routes_through_conformance_schemas(monkeypatch: pytest.MonkeyPatch) -> None:
    import conformance.judge.schemas as schemas

    calls: list[tuple[str, Any, str]] = []

    def fake(name: str, instance: Any, profile: str = "openai") -> list[Finding]:
        calls.append((name, instance, profile))
        return [Finding("fake violation", "$.error.code")]

    monkeypatch.setattr(schemas, "validate", fake)
    ex = json_exchange(_error(), status=400)
    found = findings("http.error_schema", ex, context(ex, profile="openai"))
    assert calls == [("ErrorResponse", _error(), "openai")]
    assert found == [Finding("fake violation", "$.error.code")]
    # Open Responses declares no HTTP error envelope: the "error" object is judged as its ErrorPayload
    calls.clear()
    found = findings("http.error_schema", ex, context(ex, profile="openresponses"))
    assert calls == [("ErrorPayload", _error()["error"], "openresponses")]
    assert found == [Finding("fake violation", "$.error.error.code")]
