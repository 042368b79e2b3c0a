"""When a provider's answer is a *decline* (``unsupported``) rather than a failure (engine.is_decline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance._exchange import Exchange, RecordedRequest
from conformance.cases import Case, load_all
from conformance.engine import is_decline

ROOT = Path(__file__).resolve().parent.parent
CASES: dict[str, Case] = {c.id: c for c in load_all(ROOT / "cases")}
ENVELOPE = json.dumps({"error": {"message": "no route", "type": "invalid_request_error", "param": None,
                                 "code": None}}).encode()


def exchange(method: str, path: str, status: int, body: bytes = ENVELOPE) -> Exchange:
    return Exchange("s", RecordedRequest(method, "http://x/v1" + path, path), status=status,
                    headers=[("content-type", "application/json")], body=body)


@pytest.mark.parametrize("status", [404, 405, 501])
def test_a_missing_fixed_route_declines_the_error_cases_of_that_endpoint(status: int) -> None:
    case = CASES["errors.compact_missing_model"]
    (step,) = [s for s in case.steps if s.path == "/responses/compact"]
    assert is_decline(case, step, exchange("POST", "/responses/compact", status))
    # the same answer without the error envelope is not a clean decline: it is judged (and fails)
    assert not is_decline(case, step, exchange("POST", "/responses/compact", status, b'{"detail": "Not Found"}'))


def test_the_endpoint_s_own_4xx_is_judged_not_declined() -> None:
    case = CASES["errors.compact_missing_model"]
    (step,) = [s for s in case.steps if s.path == "/responses/compact"]
    assert not is_decline(case, step, exchange("POST", "/responses/compact", 400))
    assert not is_decline(case, step, exchange("POST", "/responses/compact", 422))


def test_a_404_on_a_path_with_an_id_is_never_a_missing_route() -> None:
    # GET /responses/{id}/input_items answering 404 may mean "no such response": judged, not declined
    case = CASES["errors.input_items_limit_out_of_range"]
    step = next(s for s in case.steps if "input_items" in str(s.path))
    assert not is_decline(case, step, exchange("GET", "/responses/resp_1/input_items?limit=0", 404))


def test_core_cases_are_never_declined() -> None:
    case = CASES["errors.unknown_model"]
    assert "core" in case.capabilities
    assert not is_decline(case, case.steps[0], exchange("POST", "/responses", 404))
