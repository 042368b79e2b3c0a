"""The transport seam (conformance/record/transport.py) and the ``Exchange.transport`` field.

Why these tests: the engine must reach the wire only through the one seam (a step's ``transport:`` names the
implementation), and the results JSON must keep showing ``WS`` / ``SDK`` where it did before the field existed.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.cases import load_cases
from conformance.record import transport as transport_module
from conformance.record.exchange import TRANSPORTS, Exchange, RecordedRequest
from conformance.record.http import Recorder, Target
from conformance.record.transport import Recorded, StepRequest, Transport, open_transport
from conformance.report.results import exchange_evidence
from conformance.run.engine import record_case
from tests._helpers import mock_recorder


def test_every_transport_name_opens_its_own_implementation() -> None:
    with mock_recorder(lambda r: httpx.Response(200)) as rec:
        for name in TRANSPORTS:
            transport = open_transport(name, rec)
            assert transport.name == name
            transport.close()


def test_an_unknown_transport_is_one_clear_error() -> None:
    with mock_recorder(lambda r: httpx.Response(200)) as rec, pytest.raises(ValueError, match="unknown transport 'grpc'"):
        open_transport("grpc", rec)


def test_the_http_transport_sends_the_real_method_and_a_raw_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(400, json={"error": {"message": "bad", "type": "invalid_request_error"}})

    with mock_recorder(handler) as rec:
        sent = open_transport("http", rec).send(StepRequest("s", "PUT", "/responses", raw_body="{oops"))
    (ex,) = sent.exchanges
    assert sent.notes == []
    assert (ex.transport, ex.request.method, ex.method_label, ex.status) == ("http", "PUT", "PUT", 400)
    assert seen[0].method == "PUT" and seen[0].content == b"{oops"


@pytest.mark.parametrize(("transport", "method", "label"), [
    ("http", "DELETE", "DELETE"),
    ("websocket", "GET", "WS"),  # a turn: the upgrade was a GET, the results JSON says WS
    ("sdk", "POST", "POST"),  # the request the SDK made
    ("sdk", "", "SDK"),  # the SDK raised before sending anything
])
def test_the_results_json_keeps_the_method_labels_it_had(transport: Any, method: str, label: str) -> None:
    ex = Exchange("s", RecordedRequest(method, "http://api.test/v1/responses", "/responses"), transport=transport)
    assert ex.sent is bool(method)
    assert exchange_evidence(ex)["request"]["method"] == label


class _Scripted:
    """A transport that answers from a script: proves the engine records through the seam and nothing else."""

    name = "http"

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.sent: list[StepRequest] = []
        self.closed = False

    def send(self, request: StepRequest) -> Recorded:
        self.sent.append(request)
        body = b'{"id": "resp_1", "status": "%s"}' % (b"completed" if len(self.sent) > 2 else b"queued")
        ex = Exchange(request.step, RecordedRequest(request.method, "scripted:" + request.path, request.path),
                      status=self.statuses.pop(0), headers=[("content-type", "application/json")], body=body)
        return Recorded([ex], ["a note from the transport"] if len(self.sent) == 1 else [])

    def close(self) -> None:
        self.closed = True


def test_the_engine_records_every_step_through_its_transport(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cases" / "t.yaml"
    path.parent.mkdir()
    path.write_text(textwrap.dedent("""
        cases:
          - id: t.poll
            title: t
            group: state
            spec: [openai-openapi.yaml#/components/schemas/Response]
            capabilities: [core]
            steps:
              - name: create
                request: {body: {model: !model , input: x}}
                capture: {rid: id}
                expect: [{status: 200}]
              - name: poll
                request: {method: GET, path: !join ["/responses/", !var rid]}
                repeat_until: {path: status, in: [completed], timeout_s: 5, interval_s: 0.01}
                expect: [{status: 200}]
        """), encoding="utf-8")
    (case,) = load_cases(path)
    scripted = _Scripted([200, 200, 200])
    opened: list[Recorder] = []

    def factory(recorder: Recorder) -> Transport:
        opened.append(recorder)
        return scripted

    monkeypatch.setitem(transport_module._FACTORIES, "http", factory)
    with mock_recorder(lambda r: pytest.fail("the engine went around its transport")) as rec:
        recording = record_case(case, rec)
    assert opened == [rec] and scripted.closed  # opened once for the case, closed at its end
    assert [(r.step, r.method, r.path) for r in scripted.sent] == [
        ("create", "POST", "/responses"), ("poll", "GET", "/responses/resp_1"), ("poll", "GET", "/responses/resp_1")]
    # polling keeps only the last answer; a transport's notes become the step's engine.<transport> failures
    assert [ex.step for ex in recording.exchanges] == ["create", "poll"]
    assert [(p.name, p.message, p.step) for p in recording.problems] == [
        ("engine.http", "a note from the transport", "create")]


def test_an_https_target_is_verified_and_a_plain_http_one_loads_no_ca_bundle() -> None:
    """A plain-http target never negotiates TLS (every request goes to the base URL; redirects are not followed),
    so its recorder skips loading the CA bundle (start-up CPU); an https target keeps certificate and host checks."""
    import ssl

    def context(base_url: str) -> ssl.SSLContext:
        return Recorder(Target(base_url, "m"))._client._transport._pool._ssl_context  # type: ignore[attr-defined]

    for url in ("https://api.test/v1", "HTTPS://api.test/v1?api-version=1"):
        assert context(url).verify_mode is ssl.CERT_REQUIRED and context(url).check_hostname, url
        assert context(url).cert_store_stats()["x509_ca"] > 0, url
    for url in ("http://api.test/v1", "HTTP://127.0.0.1:8080/v1"):
        assert context(url).cert_store_stats()["x509_ca"] == 0, url
