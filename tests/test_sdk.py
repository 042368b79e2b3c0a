"""The official-SDK group (conformance/record/sdk): recording, limits, key handling, the decoder diagnosis.

The deviation proofs of the sdk_* assertions and the benign-variant exemption live in
tests/test_deviations.py; this file covers what they do not: the SDK's traffic goes through the
recorder (same evidence, same bounds, the key never given to the SDK), the step format, the
results metadata, and how SDK-tolerance findings are told apart from spec violations.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest

from conformance._verdict import Outcome
from conformance.cases import CaseFormatError, load_all, load_cases
from conformance.judge.expect.sdk_decoder import TOLERANCE_PREFIX, diagnose
from conformance.record.exchange import Exchange, RecordedRequest
from conformance.record.http import Limits, Target
from conformance.record.sdk import CALLS, sdk_version
from conformance.record.sdk._runner import PLACEHOLDER_KEY
from conformance.record.sse import SSEParser
from conformance.report.results import RESULTS_SCHEMA_PATH, build_results
from conformance.run.engine import CaseResult, judge, record_case
from conformance.suite import CASES_DIR
from tests._helpers import SDK_CREATE_RESPONSE, mock_recorder, reference_recorder

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-sdk-test-secret-0123456789"
SDK_CASES = {c.id: c for c in load_cases(CASES_DIR / "sdk.yaml")}
ALL_CASES = {c.id: c for c in load_all(CASES_DIR)}


def run(case_ids: list[str], deviations: tuple[str, ...] = (), variants: tuple[str, ...] = (),
        limits: Limits | None = None) -> list[CaseResult]:
    with reference_recorder(KEY, limits, deviations=deviations, variants=variants) as rec:
        return [judge(record_case(ALL_CASES[cid], rec)) for cid in case_ids]


# ------------------------------------------------------------------ the pin and the metadata


def test_sdk_version_is_pinned_and_installed() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    pinned = re.search(r'"openai==([^"]+)"', pyproject)
    assert pinned, "pyproject.toml must pin the official SDK exactly (openai==X.Y.Z)"
    assert sdk_version() == pinned.group(1)


def test_run_metadata_records_the_sdk_version(tmp_path: Path) -> None:
    from conformance.run.session import ConformanceSession, RunOptions

    session = ConformanceSession(RunOptions(json_path=tmp_path / "r.json"))
    try:
        meta = session.run_meta(complete=True)
    finally:
        session.close()
    assert meta["sdk_version"] == sdk_version()
    results = run(["sdk.create", "sdk.create_stream", "sdk.delete"])
    doc = build_results(results, meta)
    jsonschema.validate(doc, json.loads(RESULTS_SCHEMA_PATH.read_text(encoding="utf-8")))
    sdk = [ex["sdk"] for case in doc["cases"] for ex in case["exchanges"] if "sdk" in ex]
    assert sdk and all(s["sdk_version"] == sdk_version() for s in sdk)
    assert {s["call"] for s in sdk} >= {"responses.create", "responses.delete", "responses.retrieve"}


def test_the_sdk_version_is_read_as_importlib_metadata_reads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dist-info fast path (it spares every run importing importlib.metadata) gives the same versions, and
    leaves whatever it cannot read unambiguously to importlib.metadata (None)."""
    from importlib import metadata

    from conformance.record.sdk import _dist_info_version

    for name in ("openai", "httpx", "typing_extensions", "PyYAML", "jsonschema-rs"):
        assert _dist_info_version(name) == metadata.version(name), name
    assert _dist_info_version("no-such-package-anywhere") is None
    for folders in (["openai-1.0.0.dist-info", "openai-2.0.0.dist-info"], ["openai-1.0.0.egg-info"]):
        here = tmp_path / str(len(folders)) / folders[0].rpartition(".")[2]
        for folder in folders:
            (here / folder).mkdir(parents=True)
            (here / folder / "METADATA").write_text("Metadata-Version: 2.1\nName: openai\nVersion: 9\n\n")
        monkeypatch.setattr(sys, "path", [str(here)])
        assert _dist_info_version("openai") is None, folders
    (tmp_path / "one" / "OpenAI-9.9.dist-info").mkdir(parents=True)
    (tmp_path / "one" / "OpenAI-9.9.dist-info" / "METADATA").write_text("Name: OpenAI\nVersion: 9.9\n\nbody\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "missing"), str(tmp_path / "one")])
    assert _dist_info_version("openai") == "9.9"


# ------------------------------------------------------------------ recording through the recorder


def test_reference_server_passes_every_sdk_case() -> None:
    results = run(list(SDK_CASES))
    bad = [(r.case.id, r.outcome.value, r.message) for r in results if r.outcome is not Outcome.PASS]
    assert not bad
    for r in results:
        assert r.case.group == "sdk" and "sdk" in r.case.capabilities and "core" not in r.case.capabilities
        assert r.exchanges and all(ex.sdk is not None for ex in r.exchanges)


def test_sdk_traffic_is_recorded_like_a_raw_step_and_the_key_never_reaches_the_sdk() -> None:
    (result,) = run(["sdk.create_stream"])
    (ex,) = result.exchanges
    assert ex.request.method == "POST" and ex.request.path == "/responses" and ex.request.stream
    assert ex.events and ex.body.startswith(b"event: ") and ex.curl.startswith("curl ")
    headers = {k.lower(): v for k, v in ex.request.headers.items()}
    assert headers["user-agent"].startswith("OpenAI/Python")  # the SDK's own headers are sent and recorded
    assert headers.get("x-stainless-lang") == "python"
    assert KEY not in headers["authorization"] and PLACEHOLDER_KEY not in headers["authorization"]
    assert ex.transport == "sdk" and ex.request.method == "POST" and ex.method_label == "POST"
    assert ex.sdk is not None and ex.sdk["ok"] and ex.sdk["call"] == "responses.create"
    # automatic checks ran on the SDK's traffic
    assert any(c.name == "stream.sequence_number" for c in result.checks)
    text = json.dumps(build_results([result], {"provider": "p", "model": "m"}), default=str)
    assert KEY not in text and PLACEHOLDER_KEY not in text


def test_the_targets_auth_header_and_scheme_are_what_goes_on_the_wire() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"content-type": "application/json"},
                              stream=httpx.ByteStream(json.dumps(SDK_CREATE_RESPONSE).encode()))

    target = Target("http://gw.invalid/v1", "m", api_key=KEY, auth_header="api-key", auth_scheme="",
                    headers={"X-Gateway": "g1"})
    with mock_recorder(handler, target) as rec:
        result = judge(record_case(SDK_CASES["sdk.create"], rec))
    assert result.outcome is Outcome.PASS, result.message
    (request,) = seen
    assert request.url == "http://gw.invalid/v1/responses"
    assert request.headers["api-key"] == KEY and request.headers["x-gateway"] == "g1"
    assert "authorization" not in request.headers  # the SDK's bearer placeholder is never sent
    assert json.loads(request.content)["input"] == "Reply with exactly the token SDK-CREATE-1."


def test_a_stalled_stream_is_an_error_not_a_failure_and_is_bounded() -> None:
    release = threading.Event()

    class Stalling(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield b'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":{}}\n\n'
            release.wait(10)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Stalling())

    target = Target("http://stall.invalid/v1", "m", api_key=KEY)
    t0 = time.monotonic()
    try:
        with mock_recorder(handler, target, Limits(idle_timeout_s=0.5, deadline_s=5)) as rec:
            result = judge(record_case(SDK_CASES["sdk.stream_helper"], rec))
    finally:
        release.set()
    assert time.monotonic() - t0 < 5
    assert result.outcome is Outcome.ERROR, (result.outcome, result.message)
    (ex,) = result.exchanges
    assert ex.error_kind == "idle_timeout" and len(ex.events or []) == 1
    assert ex.sdk is not None and ex.sdk["exception"]["type"] == "APITimeoutError"


def test_an_sdk_error_before_any_request_is_judged_without_automatic_checks(tmp_path: Path) -> None:
    path = tmp_path / "cases" / "s.yaml"
    path.parent.mkdir()
    path.write_text(textwrap.dedent("""
        cases:
          - id: sdk.bad_format
            title: t
            group: sdk
            spec: [openai-openapi.yaml#/components/schemas/Response]
            capabilities: [sdk]
            steps:
              - name: parse
                request:
                  transport: sdk
                  call: responses.parse
                  args: {model: !model , input: x, text_format: {name: M, fields: {a: date}}}
                expect:
                  - sdk_ok: true
        """), encoding="utf-8")
    (case,) = load_cases(path)
    with mock_recorder(lambda r: httpx.Response(500), Target("http://x.invalid/v1", "m")) as rec:
        result = judge(record_case(case, rec))
    (ex,) = result.exchanges
    assert ex.transport == "sdk" and not ex.sent and ex.method_label == "SDK" and ex.status is None
    assert result.outcome is Outcome.FAIL
    assert [c.name for c in result.checks] == ["expect.sdk_ok"]
    assert "SDKStepError" in result.message and "date" in result.message


# ------------------------------------------------------------------ judging: SDK tolerance vs spec


def _stream_exchange(body: bytes) -> Exchange:
    parser = SSEParser()
    events = parser.feed(body) + parser.close()
    return Exchange(step="s", request=RecordedRequest("POST", "u", "/responses", {}, {}, True), status=200,
                    headers=[("content-type", "text/event-stream")], body=body, events=events)


EVENTS = [{"type": "response.created", "sequence_number": 0}, {"type": "response.completed", "sequence_number": 1}]


def test_diagnose_tells_a_decoder_quirk_from_a_broken_stream() -> None:
    plain = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in EVENTS)
    assert diagnose(_stream_exchange(plain)) == ""
    with_ids = b"".join(f": keep-alive\n\nid: {n}\ndata: {json.dumps(e)}\n\n".encode() for n, e in enumerate(EVENTS))
    verdict = diagnose(_stream_exchange(with_ids), "9.9.9")
    assert verdict.startswith(TOLERANCE_PREFIX) and "openai-python 9.9.9" in verdict and "comment" in verdict
    extra_blank = b"".join(f"id: {n}\ndata: {json.dumps(e)}\n\n\n".encode() for n, e in enumerate(EVENTS))
    assert "an extra blank line" in diagnose(_stream_exchange(extra_blank))
    broken = b"data: {'type': 'response.created'}\n\n"
    assert diagnose(_stream_exchange(broken)).startswith("the stream itself is at fault")


def test_id_lines_with_comments_fail_only_the_sdk_streaming_cases_as_sdk_tolerance() -> None:
    ids = ["streaming.text", "sdk.create", "sdk.create_stream", "sdk.stream_helper"]
    results = {r.case.id: r for r in run(ids, variants=("id_retry_lines", "sse_comments"))}
    assert results["streaming.text"].outcome is Outcome.PASS  # the stream is valid: spec cases pass
    assert results["sdk.create"].outcome is Outcome.PASS
    for cid in ("sdk.create_stream", "sdk.stream_helper"):
        r = results[cid]
        assert r.outcome is Outcome.FAIL
        assert r.message.startswith(f"expect.sdk_ok: {TOLERANCE_PREFIX}"), r.message
        # the other sdk_* assertions point at it in one line instead of repeating it
        others = [c for c in r.failed_checks if c.name != "expect.sdk_ok"]
        assert others and all("(see sdk_ok)" in c.message for c in others)


def test_spec_violations_in_the_sdks_traffic_are_warnings_in_the_sdk_group() -> None:
    """The sdk group judges whether the SDK copes; the spec cases judge the same traffic's conformance."""
    results = {r.case.id: r for r in run(["streaming.text", "sdk.create_stream"], deviations=("wrong_stream_content_type",))}
    assert results["streaming.text"].outcome is Outcome.FAIL
    sdk = results["sdk.create_stream"]
    assert sdk.outcome is Outcome.PASS, sdk.message
    (warning,) = [c for c in sdk.checks if c.name == "stream.content_type"]
    assert warning.severity == "warning" and warning.findings and "judged by the spec cases" in warning.message


# ------------------------------------------------------------------ the step format


def _case(tmp_path: Path, request: str, expect: str = "- sdk_ok: true") -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent("""
        cases:
          - id: sdk.x
            title: t
            group: sdk
            spec: [openai-openapi.yaml#/components/schemas/Response]
            capabilities: [sdk]
            steps:
              - name: s
                request:
        {request}
                expect:
        {expect}
        """).format(request=textwrap.indent(textwrap.dedent(request).strip(), " " * 10),
                    expect=textwrap.indent(textwrap.dedent(expect).strip(), " " * 10)), encoding="utf-8")
    return path


@pytest.mark.parametrize(("request_yaml", "expect_yaml", "message"), [
    ("transport: sdk\nargs: {model: m}", "- sdk_ok: true", "transport: sdk needs call"),
    ("transport: sdk\ncall: responses.create\nmethod: GET", "- sdk_ok: true", "method does not apply to an sdk step"),
    ("transport: sdk\ncall: responses.create\nbody: {}", "- sdk_ok: true", "body does not apply to an sdk step"),
    ("call: responses.create", "- status: 200", "call needs transport: sdk"),
    ("transport: sdk\ncall: responses.frobnicate", "- sdk_ok: true", "responses.frobnicate"),
    ("transport: sdk\ncall: responses.create\nargs: {stream: !model }", "- sdk_ok: true", "args.stream must be true or false"),
    ("transport: sdk\ncall: responses.create", "- sdk_events: {last: response.completed}", "needs a streamed step"),
    ("transport: sdk\ncall: responses.create", "- sdk_error: {}", "sdk_error"),
    ("transport: sdk\ncall: responses.create\nargs: {input: !var nope}", "- sdk_ok: true", "!var 'nope' is used before"),
])
def test_sdk_step_format_errors(tmp_path: Path, request_yaml: str, expect_yaml: str, message: str) -> None:
    with pytest.raises(CaseFormatError) as info:
        load_cases(_case(tmp_path, request_yaml, expect_yaml))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_sdk_step_loads_with_tags_and_streaming_is_known_at_load(tmp_path: Path) -> None:
    (case,) = load_cases(_case(tmp_path, "transport: sdk\ncall: responses.stream\nargs: {model: !model , input: x}",
                               "- sdk_events: {last: response.completed}"))
    (step,) = case.steps
    assert step.transport == "sdk" and step.call == "responses.stream" and step.stream and step.method == ""
    assert set(CALLS) >= {"responses.create", "responses.stream", "responses.parse", "responses.retrieve",
                          "responses.delete", "responses.input_items.list"}


def test_every_sdk_assertion_is_documented() -> None:
    from conformance.cases import ASSERTIONS

    names = sorted(n for n in ASSERTIONS if n.startswith("sdk_"))
    assert names == ["sdk_error", "sdk_events", "sdk_function_call", "sdk_ok", "sdk_output_text", "sdk_parsed"]
    cases_md = (ROOT / "docs" / "cases.md").read_text(encoding="utf-8")
    sdk_md = (ROOT / "docs" / "sdk.md").read_text(encoding="utf-8")
    for name in names:
        assert re.search(f"`{name}[`:]", cases_md) and f"`{name}`" in sdk_md, name
