"""Real traffic, judged offline: zero false alarms on genuine OpenAI payloads, and real deviations caught.

``tests/fixtures/real/openai/`` holds payloads the OpenAI API itself produced, copied from public recordings
(VCR cassettes, SDK test transcripts, bug reports); ``tests/fixtures/real/deviant/`` holds payloads published
from third-party implementations. Provenance (repository + path or URL, capture date, trimming) is in
``tests/fixtures/real/SOURCES.md``.

Every genuine fixture must produce no ``fail`` at all, except the findings listed in ``EXPECTED`` below, each
with its justification. A finding is listed there only when the recorded OpenAI output really contradicts the
written spec (``../shared/specs/openai-openapi.yaml``, 2.3.0) *and* nothing in the spec (its examples or prose)
documents the real shape; where the spec does document it, the false alarm is fixed where it arises instead
(``documented_nulls`` in ``conformance/schemagen/_build.py`` is the model). The list is exact: a fixture that
starts passing a listed check, or fails an unlisted one, fails this test, so the list cannot go stale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance._verdict import CheckResult, Outcome
from conformance.judge import offline
from conformance.judge.checks import CheckContext, run_checks
from conformance.record.exchange import Exchange, RecordedRequest
from conformance.record.sse import parse_sse

REAL = Path(__file__).parent / "fixtures" / "real"

# --------------------------------------------------------------------------- why findings are expected

PRE_CACHE_WRITE = (
    "snapshot predates usage.input_tokens_details.cache_write_tokens: spec 2.3.0 requires it (ResponseUsage) and "
    "every spec example sends it; the live API sends it in every capture we found from 2026-08 on (gpt-5.6-sol "
    "cassette recorded 2026-10-05, Codex backend, /responses/compact) and in none up to 2026-02. The current spec "
    "applies to current servers, so the check stays; this old capture is simply older than the field."
)
PRE_SEQUENCE_NUMBER = (
    "March 2025 stream, before the API added sequence_number to every stream event and logprobs to the "
    "output_text delta/done events (both present in every capture from 2025-07 on, both required by the current "
    "spec; sequence_number is what starting_after resumption uses). The current spec applies to current servers, "
    "so the checks stay."
)
TOOL_CHOICE_NULL = (
    "computer-use-preview echoes tool_choice: null (the request did not set it). Response.tool_choice is not "
    "nullable in the spec and no spec example shows null; a real contradiction of the written spec, kept."
)
VERSIONED_TOOL_TYPE = (
    "computer-use-preview echoes the tool as type \"computer-use-preview-2025-03-11\" in response.created and "
    "response.completed (but \"computer_use_preview\" in response.in_progress). The spec's Tool union only knows "
    "\"computer_use_preview\" (the dated name exists only as a *model* id); a real contradiction, kept."
)

COMPUTER_USE = ("tool_choice", "null does not match", "\"computer-use-preview-2025-03-11\" is not one of",
                "cache_write_tokens")


@dataclass(frozen=True)
class Expect:
    """One expected failing check: substrings its findings must contain, and why it is acceptable."""

    contains: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class Real:
    """A genuine OpenAI payload and the context it was recorded in."""

    file: str
    request: dict[str, Any] | None = None
    method: str = "POST"
    path: str = "/responses"
    endpoint: str = "create"
    status: int | None = None  # default: 200, or 400 for an error envelope
    expected: dict[str, Expect] = field(default_factory=dict)


def _cache_write(*checks: str) -> dict[str, Expect]:
    return {name: Expect(("cache_write_tokens",), PRE_CACHE_WRITE) for name in checks}


GENUINE: list[Real] = [
    Real("2025-03_gpt-4o_simple_response.json",
         request={"model": "gpt-4o", "instructions": "",
                  "input": [{"role": "user", "content": "What is the capital of France?"}]},
         expected=_cache_write("response.schema")),
    Real("2025-03_gpt-4o_function_call.json",
         request={"model": "gpt-4o", "instructions": "", "tool_choice": "auto",
                  "input": [{"role": "user", "content": "What is the capital of PotatoLand?"}],
                  "tools": [{"type": "function", "name": "get_capital", "description": "", "strict": True,
                             "parameters": {"type": "object", "additionalProperties": False, "required": ["country"],
                                            "properties": {"country": {"type": "string"}}}}]},
         expected=_cache_write("response.schema")),
    Real("2025-03_gpt-4o_function_call_followup.json", expected=_cache_write("response.schema")),
    Real("2025-03_gpt-4o-mini_stream_pre_sequence_number.sse",
         request={"model": "gpt-4o-mini", "temperature": 0.5, "max_output_tokens": 20, "stream": True,
                  "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}]},
         expected={
             "stream.event_schema": Expect(("'sequence_number' is missing (required)", "'logprobs' is missing",
                                            "cache_write_tokens"), f"{PRE_SEQUENCE_NUMBER} / {PRE_CACHE_WRITE}"),
             "stream.sequence_number": Expect(("sequence_number is missing",), PRE_SEQUENCE_NUMBER),
             "stream.final_response": Expect(("cache_write_tokens",), PRE_CACHE_WRITE),
         }),
    Real("2025-06_gpt-4o-mini_sdk_object.json", expected=_cache_write("response.schema")),
    Real("2025-06_gpt-4.1_failed_rate_limit.json"),
    Real("2025-09_gpt-5_web_search.json",
         request={"model": "gpt-5", "instructions": "You are a helpful assistant.", "previous_response_id": None,
                  "stream": False, "tool_choice": "auto", "include": ["reasoning.encrypted_content"],
                  "input": [{"role": "user", "content": "What is the weather?"}],
                  "tools": [{"type": "web_search", "search_context_size": "medium",
                             "user_location": {"type": "approximate", "city": "Utrecht", "region": "NL"}}]},
         expected=_cache_write("response.schema")),
    Real("2025-11_computer-use-preview_stream.sse",
         request={"model": "computer-use-preview", "reasoning": {"summary": "concise"}, "stream": True,
                  "tools": [{"type": "computer_use_preview", "environment": "browser", "display_width": 1024,
                             "display_height": 768}],
                  "input": [{"type": "message", "role": "user", "content": [
                      {"type": "input_text", "text": "Search the web for the temperature today in Fremont"}]}]},
         expected={
             "stream.event_schema": Expect(COMPUTER_USE, f"{TOOL_CHOICE_NULL} / {VERSIONED_TOOL_TYPE} / {PRE_CACHE_WRITE}"),
             "stream.final_response": Expect(COMPUTER_USE, f"{TOOL_CHOICE_NULL} / {VERSIONED_TOOL_TYPE} / {PRE_CACHE_WRITE}"),
         }),
    Real("2026-01_gpt-5_custom_tool_call_stream.sse",
         request={"model": "gpt-5", "stream": True, "tool_choice": "auto", "include": ["reasoning.encrypted_content"],
                  "input": [{"role": "user", "content": "List the first 5 users from the users table"}],
                  "tools": [{"type": "custom", "name": "execute_sql", "description": "Execute SQL query on the database.",
                             "format": {"type": "text"}}]},
         expected=_cache_write("stream.event_schema", "stream.final_response")),
    Real("2026-02_gpt-4o_background_stream.sse",
         request={"model": "gpt-4o", "background": True, "stream": True,
                  "input": [{"role": "user", "content": "What is 2 + 2?"}]},
         expected=_cache_write("stream.event_schema", "stream.final_response")),
    Real("2026-02_gpt-4o_background_resume_starting_after_0.sse", method="GET", endpoint="retrieve",
         path="/responses/resp_0ab2139c1b01673300699cbc560c34819b971325e42d9b5c49?starting_after=0&stream=true",
         expected=_cache_write("stream.event_schema", "stream.final_response")),
    Real("2026-03_error_400_temperature.json", status=400,
         request={"model": "gpt-4o", "instructions": "", "stream": True, "temperature": -1,
                  "input": [{"role": "user", "content": "What is the capital of France?"}]}),
    Real("2026-10_gpt-5.6-sol_response.json",
         request={"model": "gpt-5.6-sol", "stream": False, "include": ["reasoning.encrypted_content"],
                  "reasoning": {"effort": "low", "context": "all_turns"},
                  "prompt_cache_options": {"mode": "implicit", "ttl": "30m"},
                  "input": [{"role": "user", "content": "What is the capital of France? Answer in one word."}]}),
]


# --------------------------------------------------------------------------- judging


def judge_in_context(real: Real) -> list[CheckResult]:
    """Judge a fixture as the live recorder would have seen it: with its request body, method and path."""
    raw = (REAL / "openai" / real.file).read_bytes()
    is_stream = real.file.endswith(".sse")
    body = None if is_stream else json.loads(raw)
    status = real.status or (400 if isinstance(body, dict) and "error" in body and "object" not in body else 200)
    request = RecordedRequest(real.method, "https://api.openai.com/v1" + real.path, real.path, {}, real.request,
                              is_stream)
    ex = Exchange(step=real.file, request=request, status=status,
                  headers=[("content-type", "text/event-stream; charset=utf-8" if is_stream else "application/json")],
                  body=raw, events=parse_sse(raw) if is_stream else None)
    ctx = CheckContext(endpoint=real.endpoint, request_body=real.request, stream=is_stream)
    return list(run_checks(ex, ctx))


def failures(results: list[CheckResult]) -> dict[str, str]:
    """Failed check -> every finding (path: message), not only the first five the summary message keeps."""
    return {r.name: " | ".join(f"{f.path}: {f.message}" for f in r.findings) for r in results
            if r.outcome is Outcome.FAIL}


def assert_as_expected(real: Real, failed: dict[str, str]) -> None:
    unexpected = {name: msg for name, msg in failed.items() if name not in real.expected}
    assert not unexpected, f"false alarm(s) on genuine OpenAI traffic {real.file}: {unexpected}"
    stale = sorted(set(real.expected) - set(failed))
    assert not stale, f"{real.file}: expected finding(s) no longer raised (remove them from EXPECTED): {stale}"
    for name, expect in real.expected.items():
        for needle in expect.contains:
            assert needle in failed[name], f"{real.file} {name}: expected {needle!r} in {failed[name]!r}"
        unexplained = [f for f in failed[name].split(" | ") if not any(n in f for n in expect.contains)]
        assert not unexplained, f"{real.file} {name}: finding(s) not covered by the expectation: {unexplained}"


@pytest.mark.parametrize("real", GENUINE, ids=lambda r: r.file)
def test_genuine_openai_traffic_in_context(real: Real) -> None:
    assert_as_expected(real, failures(judge_in_context(real)))


OFFLINE_CONTEXT_LOST = {
    # judge_file sees a POST /responses stream; this one is a GET ...?starting_after=0 replay, so it starts with
    # response.queued by design. Only judge_in_context knows the path; the offline view is allowed this one extra.
    "2026-02_gpt-4o_background_resume_starting_after_0.sse": {"stream.lifecycle"},
}


@pytest.mark.parametrize("real", GENUINE, ids=lambda r: r.file)
def test_genuine_openai_traffic_offline_judge(real: Real) -> None:
    """``responses-conformance judge FILE`` (no request known) raises nothing beyond the in-context findings."""
    docs = offline.judge_file(REAL / "openai" / real.file)
    assert len(docs) == 1
    failed = failures(docs[0].results)
    for name in OFFLINE_CONTEXT_LOST.get(real.file, ()):
        failed.pop(name, None)
    assert_as_expected(real, failed)


def test_every_genuine_fixture_is_listed() -> None:
    on_disk = {p.name for p in (REAL / "openai").iterdir() if p.suffix in (".json", ".sse")}
    assert on_disk == {r.file for r in GENUINE}


def test_every_fixture_has_a_source() -> None:
    sources = (REAL / "SOURCES.md").read_text(encoding="utf-8")
    for folder in ("openai", "deviant"):
        for p in (REAL / folder).iterdir():
            if p.suffix in (".json", ".sse"):
                assert f"`{folder}/{p.name}`" in sources, f"{folder}/{p.name} has no entry in SOURCES.md"


# --------------------------------------------------------------------------- third-party deviations


@dataclass(frozen=True)
class Deviant:
    file: str
    flagged: dict[str, str]  # check -> substring of its message (fail or warning finding)


DEVIANT: list[Deviant] = [
    # OpenRouter (openai/gpt-oss-20b), 2025-11: the reasoning item changes id between output_item.done and
    # response.completed, the completed response says output_text "" although its text part is "4", and the
    # stream ends with a Chat-style [DONE] sentinel.
    Deviant("2025-11_openrouter_gpt-oss-20b_stream.sse", {
        "stream.final_output_items": "streamed item id \"rs_tmp_2kbe7x16sax\" but the terminal response has "
                                     "\"rs_tmp_ku4i7pagjwn\"",
        "response.output_text_sdk_field": "output_text is \"\" but the output_text parts concatenate to \"4\"",
        "stream.done_sentinel": "[DONE]",
    }),
    # vLLM (MCP streaming PR), 2026-01: an event type the spec does not define.
    Deviant("2026-01_vllm_mcp_stream_excerpt.sse", {
        "stream.event_schema": "unknown event type 'response.reasoning_part.done'",
    }),
    # 9router, 2026-07: response.completed whose Response has no output (and no usage, model, tools...).
    Deviant("2026-07_9router_completed_without_output.json", {
        "response.schema": "'output' is missing (required)",
    }),
]


@pytest.mark.parametrize("dev", DEVIANT, ids=lambda d: d.file)
def test_third_party_deviations_are_flagged(dev: Deviant) -> None:
    docs = offline.judge_file(REAL / "deviant" / dev.file)
    assert len(docs) == 1
    findings = {r.name: " | ".join(f.message for f in r.findings) for r in docs[0].results if r.findings}
    for name, needle in dev.flagged.items():
        assert name in findings, f"{dev.file}: {name} did not flag it (flagged: {sorted(findings)})"
        assert needle in findings[name], f"{dev.file} {name}: {needle!r} not in {findings[name]!r}"


def test_every_deviant_fixture_is_listed() -> None:
    on_disk = {p.name for p in (REAL / "deviant").iterdir() if p.suffix in (".json", ".sse")}
    assert on_disk == {d.file for d in DEVIANT}
