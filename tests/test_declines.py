"""The one decline rule (conformance/judge/declines.py, docs/verdicts.md#declines) on HTTP, WebSocket and SDK steps.

A decline (``unsupported``) is only an optional capability clearly refused; a 404/405 the case's own traffic
contradicts (a route that answered before, an id the server itself returned) is a ``fail`` that says what is
missing; a 5xx that a retry reproduces is a ``fail``; auth cases need a key to mean anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance._verdict import Outcome
from conformance.cases import Case, load_all, load_cases
from conformance.judge.declines import contradicted_refusal, is_decline, no_key_reason
from conformance.record.exchange import Exchange, RecordedRequest
from conformance.record.http import Limits, Recorder, Target
from conformance.reference import MODEL_NAME, ReferenceServer
from conformance.run.engine import CaseResult, judge, record_case
from conformance.suite import CASES_DIR

ROOT = Path(__file__).resolve().parent.parent
CASES: dict[str, Case] = {c.id: c for c in load_all(CASES_DIR)}
KEY = "sk-declines-test-key-0001"
ENVELOPE = json.dumps({"error": {"message": "no route", "type": "invalid_request_error", "param": None,
                                 "code": None}}).encode()
AUTH_CASES = ("errors.missing_auth", "errors.invalid_auth", "errors.invalid_auth_retrieve",
              "errors.missing_auth_input_tokens", "sdk.auth_error")


def exchange(method: str, path: str, status: int, body: bytes = ENVELOPE, sent: Any = None,
             step: str = "s") -> Exchange:
    """An answered exchange; ``method`` ``"WS"`` stands for a WebSocket upgrade (a GET, transport websocket)."""
    websocket = method == "WS"
    return Exchange(step, RecordedRequest("GET" if websocket else method, "http://x/v1" + path, path, {}, sent),
                    status=status, headers=[("content-type", "application/json")], body=body,
                    transport="websocket" if websocket else "http")


def run(case_ids: Iterable[str], deviations: tuple[str, ...] = (), *, server_key: str | None = KEY,
        target_key: str | None = KEY, transport: httpx.BaseTransport | None = None) -> dict[str, CaseResult]:
    with ReferenceServer(api_key=server_key, deviations=deviations) as srv, \
            Recorder(Target(srv.base_url, MODEL_NAME, api_key=target_key), Limits(idle_timeout_s=10, deadline_s=30),
                     transport=transport) as rec:
        return {c: judge(record_case(CASES[c], rec)) for c in case_ids}


# ------------------------------------------------------------------ the rule, on single answers


@pytest.mark.parametrize("status", [404, 405, 501])
def test_a_missing_fixed_route_declines_the_error_cases_of_that_endpoint(status: int) -> None:
    case = CASES["errors.compact_missing_model"]
    (step,) = [s for s in case.steps if s.path == "/responses/compact"]
    assert is_decline(case, step, exchange("POST", "/responses/compact", status))
    # the body does not decide: a refusal without the envelope is still a refusal (the envelope check judges it)
    assert is_decline(case, step, exchange("POST", "/responses/compact", status, b'{"detail": "Not Found"}'))


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


@pytest.mark.parametrize("status", [400, 403, 404, 405, 422, 426, 501])
def test_one_set_of_refusal_statuses_for_http_websocket_and_sdk(status: int) -> None:
    http = CASES["state.status_background_queued_then_completed"]
    ws = CASES["streaming.websocket_sequential"]
    sdk = CASES["sdk.create"]
    body = b""  # a framework's bare refusal: the status decides, never the body
    assert is_decline(http, http.steps[0], exchange("POST", "/responses", status, body))
    assert is_decline(ws, ws.steps[0], exchange("WS", "/responses", status, body))
    assert "core" not in sdk.capabilities
    assert is_decline(sdk, sdk.steps[0], exchange("POST", "/responses", status, body))


@pytest.mark.parametrize("status", [401, 409, 413, 429])
def test_other_statuses_are_no_refusal_of_a_capability(status: int) -> None:
    http = CASES["state.status_background_queued_then_completed"]
    ws = CASES["streaming.websocket_sequential"]
    assert not is_decline(http, http.steps[0], exchange("POST", "/responses", status))
    assert not is_decline(ws, ws.steps[0], exchange("WS", "/responses", status))


# ------------------------------------------------------------------ contradicted refusals


def test_a_404_for_an_id_the_server_returned_is_a_failure_naming_what_is_missing() -> None:
    case = CASES["state.retrieve"]
    create, retrieve = case.steps[0], case.steps[1]
    assert create.capture == {"resp_id": "id"}
    earlier = [exchange("POST", "/responses", 200, b"{}", step="create")]
    ex = exchange("GET", "/responses/resp_123", 404, step=retrieve.name)
    why = contradicted_refusal(case, retrieve, ex, earlier, {"resp_id": "resp_123"})
    assert why == ("GET /responses/resp_123 -> 404 for an id this server returned in step 'create': the retrieve "
                   "route or the response store is missing: a stored response is retrievable (store defaults to "
                   "true)")
    # an id the case made up (not captured from the server) proves nothing
    assert contradicted_refusal(case, retrieve, ex, earlier, {"resp_id": "resp_other"}) is None


def test_an_id_sent_in_the_body_counts_and_a_400_that_says_not_found_too() -> None:
    case = CASES["state.previous_response_memory"]
    turn1, turn2 = case.steps[0], case.steps[1]
    capture = next(iter(turn1.capture))
    earlier = [exchange("POST", "/responses", 200, b"{}", step=turn1.name)]
    sent = {"model": "m", "previous_response_id": "resp_9", "input": "x"}
    not_found = json.dumps({"error": {"message": "Previous response with id 'resp_9' not found.",
                                      "type": "invalid_request_error", "param": "previous_response_id",
                                      "code": "previous_response_not_found"}}).encode()
    why = contradicted_refusal(case, turn2, exchange("POST", "/responses", 400, not_found, sent, turn2.name), earlier,
                               {capture: "resp_9"})
    assert why is not None and "400 (not found) for an id this server returned" in why and "store is missing" in why
    # a 400 that refuses the parameter itself is a clear refusal, not a contradiction
    refused = json.dumps({"error": {"message": "previous_response_id is not supported", "type": "invalid_request_error",
                                    "param": "previous_response_id", "code": "unsupported_parameter"}}).encode()
    assert contradicted_refusal(case, turn2, exchange("POST", "/responses", 400, refused, sent, turn2.name), earlier,
                                {capture: "resp_9"}) is None


def test_a_404_on_a_route_that_already_answered_is_a_failure() -> None:
    case = CASES["state.previous_response_memory"]
    turn2 = case.steps[1]
    earlier = [exchange("POST", "/responses", 200, b"{}", step="turn1")]
    why = contradicted_refusal(case, turn2, exchange("POST", "/responses", 404, step=turn2.name), earlier, {})
    assert why is not None and "the same route answered 200 in step 'turn1'" in why
    # the first request on a route may be refused: nothing contradicts it
    assert contradicted_refusal(case, turn2, exchange("POST", "/responses", 404, step=turn2.name), [], {}) is None


STORE_FALSE_CASE = """
cases:
  - id: state.t
    title: t
    group: state
    spec: [openai-openapi.yaml#/paths/~1responses/post]
    capabilities: [state]
    steps:
      - name: create
        request:
          body: {model: !model , store: false, input: x}
        capture: {resp_id: id}
        expect:
          - status: 200
      - name: retrieve
        request:
          method: GET
          path: !join ["/responses/", !var resp_id]
        expect:
          - status: 200
"""


def test_a_response_created_with_store_false_is_rightly_not_found(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(STORE_FALSE_CASE, encoding="utf-8")
    (case,) = load_cases(path)
    ex = exchange("GET", "/responses/resp_1", 404, step="retrieve")
    assert contradicted_refusal(case, case.steps[1], ex, [], {"resp_id": "resp_1"}) is None
    assert is_decline(case, case.steps[1], ex)


# ------------------------------------------------------------------ end to end, on the reference server


def test_a_missing_retrieve_route_fails_with_the_reason_never_declines() -> None:
    results = run(["state.retrieve", "sdk.retrieve"], ("retrieve_route_missing",))
    for result in results.values():
        assert result.outcome is Outcome.FAIL, result.message
        assert result.message.startswith("engine.decline_contradicted: GET /responses/resp_")
        assert "404 for an id this server returned in step 'create': the retrieve route or the response store" \
            in result.message
        assert [c.basis for c in result.failed_checks] == ["documented"]


def test_a_store_that_keeps_nothing_fails_chains_with_the_reason() -> None:
    results = run(["state.previous_response_memory", "state.delete_then_get", "input.item_reference"],
                  ("store_ignored",))
    for case_id, result in results.items():
        assert result.outcome is Outcome.FAIL, (case_id, result.message)
        assert "for an id this server returned in step" in result.message, (case_id, result.message)


def test_a_refusal_without_the_envelope_is_a_decline_that_fails_on_the_envelope_rule() -> None:
    results = run(["state.status_background_queued_then_completed", "streaming.background"],
                  ("refusal_without_envelope",))
    for result in results.values():
        assert result.outcome is Outcome.FAIL
        assert result.message.startswith("declined with HTTP 400, but: http.error_envelope: ")
        assert {c.name for c in result.failed_checks} <= {"http.error_envelope", "http.error_schema"}


def test_a_websocket_upgrade_refused_with_403_is_a_decline() -> None:
    ids = [c for c in CASES if c.startswith("streaming.websocket")]
    results = run(ids, ("ws_upgrade_403",))
    assert {r.outcome for r in results.values()} == {Outcome.UNSUPPORTED}
    assert all(r.message == "provider declined with HTTP 403: empty body" for r in results.values())


# ------------------------------------------------------------------ server errors


class Flaky(httpx.BaseTransport):
    """Answers the first POSTs with the given statuses, then passes requests through to the real server."""

    def __init__(self, statuses: Iterable[int]) -> None:
        self.statuses = list(statuses)
        self.inner = httpx.HTTPTransport()
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        if request.method == "POST" and self.statuses:
            body = json.dumps({"error": {"message": "boom", "type": "server_error", "param": None, "code": None}})
            return httpx.Response(self.statuses.pop(0), stream=httpx.ByteStream(body.encode()),
                                  headers={"Retry-After": "0", "Content-Type": "application/json"})
        return self.inner.handle_request(request)


def test_a_500_that_a_retry_reproduces_fails_the_case() -> None:
    result = run(["basic.text"], ("create_500",))["basic.text"]
    assert result.outcome is Outcome.FAIL
    assert result.message == ("engine.server_error: POST /responses -> HTTP 500, and again when retried: the server "
                              "cannot serve a valid request; the documented error classes allow no 5xx for it")
    assert [c.basis for c in result.failed_checks] == ["error-class"]
    (finding,) = result.failed_checks[0].findings  # one deviation, keyed by endpoint and status
    assert finding.severity == "fail" and finding.key == "engine.server_error||create answered 500"


def test_a_500_once_then_a_good_answer_is_no_failure() -> None:
    flaky = Flaky([500])
    result = run(["basic.text"], transport=flaky)["basic.text"]
    assert result.outcome is Outcome.PASS, result.message
    assert flaky.sent == 2 and not flaky.statuses


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_trouble_and_overload_stay_inconclusive(status: int) -> None:
    result = run(["basic.text"], transport=Flaky([status] * 5))["basic.text"]
    assert result.outcome is Outcome.ERROR
    assert result.message.startswith(f"inconclusive (server_error): HTTP {status} server error")


def test_a_500_then_a_503_is_not_reproduced_and_stays_inconclusive() -> None:
    result = run(["basic.text"], transport=Flaky([500, 503, 503, 503]))["basic.text"]
    assert result.outcome is Outcome.ERROR, result.message


# ------------------------------------------------------------------ auth cases need a key


def test_auth_cases_are_skipped_when_the_run_has_no_key() -> None:
    case = CASES["errors.missing_auth"]
    keyless, keyed = Target("http://x/v1", "m"), Target("http://x/v1", "m", api_key="k")
    assert no_key_reason(case, keyless) is not None and no_key_reason(case, keyed) is None
    assert no_key_reason(CASES["basic.text"], keyless) is None
    results = run([*AUTH_CASES, "basic.text"], server_key=None, target_key=None)
    for case_id in AUTH_CASES:
        assert results[case_id].outcome is Outcome.SKIPPED
        assert results[case_id].message.startswith("skipped (no key configured)")
        assert results[case_id].exchanges == []
    assert results["basic.text"].outcome is Outcome.PASS


def test_with_a_key_a_server_that_checks_none_fails_every_auth_case() -> None:
    for results in (run(AUTH_CASES, server_key=None), run(AUTH_CASES, ("no_auth_check",))):
        for case_id, result in results.items():
            assert result.outcome is Outcome.FAIL, case_id
            assert result.message.startswith("engine.auth: "), result.message
            assert "a missing or wrong API key is 401" in result.message
            assert [c.basis for c in result.failed_checks] == ["error-class"]


def test_with_a_key_a_server_that_checks_it_passes_every_auth_case() -> None:
    results = run(AUTH_CASES)
    assert {r.outcome for r in results.values()} == {Outcome.PASS}


def test_a_missing_sibling_route_declines_its_auth_case_too() -> None:
    # a server without /responses/input_tokens answers 404 before it looks at the key: the endpoint is missing
    case = CASES["errors.missing_auth_input_tokens"]
    assert is_decline(case, case.steps[0], exchange("POST", "/responses/input_tokens", 404))


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_command_skips_auth_cases_on_a_server_served_without_a_key(tmp_path: Path) -> None:
    """``serve`` without ``--api-key``, then ``run`` against it without a key: auth cases are skipped, the run
    passes; given a key, the same server fails them (it accepts a missing and a wrong key)."""
    import os
    import subprocess
    import sys
    import time

    port = _free_port()
    serve = subprocess.Popen([sys.executable, "-m", "conformance", "serve", "--port", str(port)], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/v1"
    select = "errors.missing_auth or errors.invalid_auth or basic.text"

    def run_cli(*extra: str) -> tuple[int, dict[str, dict[str, Any]]]:
        proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--base-url", base, "--model", MODEL_NAME,
                               "--provider", "open", "-k", select, *extra], cwd=tmp_path, capture_output=True,
                              text=True, timeout=240, env={**os.environ, "CONF_KEY": "sk-any-key-at-all"})
        doc = json.loads((tmp_path / "reports" / f"open__{MODEL_NAME}.json").read_text())
        return proc.returncode, {c["id"]: c for c in doc["cases"]}

    try:
        assert serve.stdout is not None and f"127.0.0.1:{port}/v1" in serve.stdout.readline()
        for _ in range(50):
            try:
                httpx.get(base + "/responses/x")
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        code, cases = run_cli()
        assert code == 0
        auth = {"errors.missing_auth", "errors.invalid_auth", "errors.invalid_auth_retrieve",
                "errors.missing_auth_input_tokens"}
        assert {k: v["outcome"] for k, v in cases.items()} == {**{k: "skipped" for k in auth}, "basic.text": "pass"}
        assert all(cases[k]["message"].startswith("skipped (no key configured)") for k in cases if k != "basic.text")
        code, cases = run_cli("--api-key-env", "CONF_KEY")
        assert code == 1
        assert {k: v["outcome"] for k, v in cases.items()} == {**{k: "fail" for k in auth}, "basic.text": "pass"}
        assert all(cases[k]["message"].startswith("engine.auth: ") for k in cases if k != "basic.text")
    finally:
        serve.terminate()
        serve.wait(timeout=10)


# ------------------------------------------------------------------ calibration on genuine api.openai.com traffic

REAL = ROOT.parent / "shared" / "real-openai"


def _real_chains() -> dict[str, list[tuple[dict[str, Any], Exchange]]]:
    """The captures of ``../shared/real-openai`` as exchanges, grouped by the test that recorded them, in order."""
    from conformance.record.sse import parse_sse

    manifest = json.loads((REAL / "manifest.json").read_text())
    chains: dict[str, list[tuple[dict[str, Any], Exchange]]] = {}
    for entry in sorted(manifest["captures"], key=lambda e: (e["id"].split("__")[0], e["interaction"])):
        raw = (REAL / entry["files"]["body"]).read_bytes()
        request = entry["files"].get("request")
        sent = json.loads((REAL / request).read_text()) if request else None
        path = "/" + entry["request_uri"].split("/v1/", 1)[1]
        stream = entry["files"]["body"].endswith(".sse")
        ex = Exchange(entry["id"], RecordedRequest(entry["method"], entry["request_uri"], path, {}, sent, stream),
                      status=entry["http_status"], body=raw, events=parse_sse(raw) if stream else None,
                      headers=[("content-type", "text/event-stream" if stream else "application/json")])
        chains.setdefault(entry["id"].split("__")[0], []).append((entry, ex))
    return chains


def _returned_id(ex: Exchange) -> str | None:
    from conformance.run.engine import final_body

    body = final_body(ex)
    if body is None and ex.events:  # a background stream: the id is on response.created
        first = json.loads(ex.events[0].data)
        body = first.get("response") if isinstance(first, dict) else None
    rid = body.get("id") if isinstance(body, dict) else None
    return rid if isinstance(rid, str) and rid.startswith("resp_") else None


@pytest.mark.skipif(not (REAL / "manifest.json").is_file(), reason="../shared/real-openai is not available")
def test_real_openai_serves_every_id_it_returned_and_no_decline_rule_fires_on_its_traffic() -> None:
    """The basis of the contradicted-refusal rule, and its false-alarm check, on 229 genuine exchanges.

    Every later request that names an id api.openai.com returned earlier in the same recording (a retrieve,
    a ``previous_response_id``) was answered 200: a stored response is retrievable and can be continued. And
    none of the rules of conformance/judge/declines.py turns a genuine answer into a failure: no contradicted
    refusal, no server fault, and the two genuine 400s (a validation error, a broken history) are refusals
    whose message is what a decline would report."""
    from conformance.cases import Expectation, Step
    from conformance.judge.declines import lead_failure, refusal_detail

    chains = _real_chains()
    assert sum(len(c) for c in chains.values()) == 229
    reuses = 0
    for chain in chains.values():
        steps: list[Step] = []
        variables: dict[str, str] = {}
        earlier: list[Exchange] = []
        for n, (entry, ex) in enumerate(chain):
            expected = 200 if entry["http_status"] == 200 else 400
            step = Step(f"s{n}", method=entry["method"], expect=(Expectation("status", expected),), capture={})
            case = Case("real", "real", "state", (), ("state",), (*steps, step))
            named = [v for v in variables.values() if v in ex.request.path or v in json.dumps(ex.request.body)]
            if named:
                reuses += 1
                assert ex.status == 200, entry["id"]
            assert contradicted_refusal(case, step, ex, earlier, variables) is None, entry["id"]
            assert lead_failure(step, ex) is None, entry["id"]
            if ex.status == 400:
                assert refusal_detail(ex) == json.loads(ex.body)["error"]["message"]
            rid = _returned_id(ex)
            if rid is not None:
                variables[f"id{n}"] = rid
                step = Step(step.name, method=step.method, expect=step.expect, capture={f"id{n}": "id"})
            steps.append(step)
            earlier.append(ex)
    assert reuses >= 10  # the retrieves of background responses and the previous_response_id chains
