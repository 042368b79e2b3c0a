"""``raw_body`` steps: a body sent verbatim (malformed-JSON cases), checked at load, shown in curl and results."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import pytest

from conformance.cases import CaseFormatError, load_cases
from conformance.record.http import Limits, Recorder, Target
from conformance.report.results import exchange_evidence
from conformance.run.engine import judge, record_case
from tests._hostile import head, hostile_server

CASE = """
cases:
  - id: errors.raw
    title: raw
    group: errors
    spec: [openai-openapi.yaml#/components/schemas/ErrorResponse]
    capabilities: [core]
    steps:
      - name: create
        request:
{request}
        expect:
          - status: 4xx
          - error_envelope: true
"""


def _write(tmp_path: Path, request: str) -> Path:
    path = tmp_path / "raw.yaml"
    body = textwrap.indent(textwrap.dedent(request).strip("\n"), " " * 10)
    path.write_text(textwrap.dedent(CASE).lstrip("\n").replace("{request}", body), encoding="utf-8")
    return path


def test_raw_body_loads_as_a_string(tmp_path: Path) -> None:
    (case,) = load_cases(_write(tmp_path, """raw_body: '{"model": "m", "input": '"""))
    step = case.steps[0]
    assert step.raw_body == '{"model": "m", "input": ' and step.body is None and step.method == "POST"


@pytest.mark.parametrize("request_yaml, needle", [
    ("raw_body: 'x'\nbody: {model: m}", "exclude each other"),
    ("transport: websocket\nraw_body: 'x'", "raw_body needs an http step"),
    ("transport: sdk\ncall: responses.create\nraw_body: 'x'", "does not apply to an sdk step"),
    ("raw_body: {a: 1}", "raw_body"),  # not a string: the case schema
    ("raw_body: !model", "not allowed here"),
])
def test_raw_body_misuse_is_a_one_line_error(tmp_path: Path, request_yaml: str, needle: str) -> None:
    with pytest.raises(CaseFormatError) as err:
        load_cases(_write(tmp_path, request_yaml))
    assert needle in str(err.value) and "raw.yaml:" in str(err.value)


def test_raw_body_is_sent_verbatim_and_shown_as_sent(tmp_path: Path) -> None:
    raw = '{"model": "m", "input": "it\'s cut'
    seen: list[bytes] = []

    def script(conn: socket.socket, request: bytes) -> None:
        seen.append(request)
        data = b'{"error": {"message": "We could not parse the JSON body", "type": "invalid_request_error", ' \
               b'"param": null, "code": null}}'
        conn.sendall(head("400 Bad Request", {"Content-Type": "application/json", "Content-Length": str(len(data)),
                                              "Connection": "close"}) + data)

    (case,) = load_cases(_write(tmp_path, f"raw_body: {raw!r}".replace("\\'", "''")))
    with hostile_server(script) as url, Recorder(Target(url, "m"), Limits(idle_timeout_s=5, deadline_s=10)) as rec:
        result = judge(record_case(case, rec))
    assert result.outcome.value == "pass", result.message
    request = seen[0]
    assert request.endswith(raw.encode()) and b"content-type: application/json" in request.lower()
    (ex,) = result.exchanges
    assert ex.request.raw_body == raw and ex.request.body is None
    assert "--data-raw" in ex.curl and "it'\"'\"'s cut" in ex.curl  # shell-quoted, not JSON-encoded
    assert exchange_evidence(ex)["request"]["raw_body"] == raw
