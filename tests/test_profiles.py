"""Judging the cases under the Open Responses profile (docs/profiles.md).

* A case whose requests use elements only another profile's spec defines is ``skipped`` with
  ``not in the <profile> spec: ...`` (derived from the coverage claims); under ``openai`` none is.
* The reference server with ``profile="openresponses"`` passes every other case under that profile,
  and still passes everything under ``openai``.
* Open-Responses-specific deviations fail the right check under that profile, and only there.
* Schemas and error shapes a profile lacks are mapped or skipped with a reason, never a false fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance._verdict import Outcome
from conformance.cases import Case, evaluate, load_all
from conformance.judge import schemas
from conformance.judge.checks import CheckContext, run_checks
from conformance.record.exchange import Exchange, RecordedRequest
from conformance.reference import DEVIATIONS, ReferenceServer
from conformance.run.engine import CaseResult, judge, profile_skip_reason, record_case
from conformance.suite import CASES_DIR
from tests._helpers import reference_recorder

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-profile-test-key-0001"
OR = "openresponses"
CASES: dict[str, Case] = {c.id: c for c in load_all(CASES_DIR)}

#: Open-Responses-specific deviation -> (check that must fail under the openresponses profile, case id)
OR_PROOFS: dict[str, tuple[str, str]] = {
    "or_missing_penalties": ("response.schema", "basic.text"),
    "or_snapshot_without_usage": ("stream.event_schema", "streaming.text"),
    "or_openai_reasoning_event_names": ("stream.event_schema", "streaming.reasoning_text"),
    "or_penalties_not_echoed": ("response.echo", "parameters.penalties_openresponses"),
}

def run_cases(cases: list[Case], profile: str, server_profile: str | None = None,
              deviations: tuple[str, ...] = ()) -> list[CaseResult]:
    with reference_recorder(KEY, deviations=deviations, profile=server_profile or profile) as rec:
        return [judge(record_case(case, rec), profile) for case in cases]


# ---------------------------------------------------------------- which cases leave the profile


def test_only_the_open_responses_cases_leave_the_openai_profile() -> None:
    # cases/profile_openresponses.yaml exercises what only Open Responses defines; every other case is OpenAI's
    leaving = {cid: profile_skip_reason(c, "openai") for cid, c in CASES.items() if profile_skip_reason(c, "openai")}
    assert leaving == {"parameters.penalties_openresponses":
                       "not in the openai spec: request_parameters: presence_penalty, frequency_penalty"}


@pytest.mark.parametrize("case_id, fragment", [
    ("tools.web_search", "tools: web_search"),
    ("endpoints.input_tokens", "endpoints: input_tokens"),
    ("parameters.reasoning_effort_minimal", "parameter_options: reasoning.effort=minimal"),
])
def test_cases_using_openai_only_elements_are_skipped_with_the_elements(case_id: str, fragment: str) -> None:
    reason = profile_skip_reason(CASES[case_id], OR)
    assert reason is not None and reason.startswith("not in the openresponses spec: ") and fragment in reason


def test_invalid_values_of_error_cases_do_not_make_a_case_leave_the_profile() -> None:
    # a value no spec defines is deliberate (it must be rejected), so the case is judged under every profile
    assert profile_skip_reason(CASES["errors.tool_choice_invalid_string"], OR) is None
    assert profile_skip_reason(CASES["errors.text_format_invalid_type"], OR) is None


def test_open_responses_only_parameters_leave_the_openai_profile(tmp_path: Path) -> None:
    case = CASES["parameters.penalties_openresponses"]
    reason = profile_skip_reason(case, "openai")
    assert reason == "not in the openai spec: request_parameters: presence_penalty, frequency_penalty"
    assert profile_skip_reason(case, OR) is None


def test_a_case_keeps_its_own_profile_verdict_when_asked_again() -> None:
    """The claims behind the verdict are derived once per case object (a run asks three or four times): asked
    again, and for a different case object, even an equal one with other steps, each case gets its own."""
    from dataclasses import replace

    leaving = CASES["endpoints.input_tokens"]
    staying = replace(leaving, steps=CASES["basic.text"].steps)
    for _ in range(2):
        assert "endpoints: input_tokens" in (profile_skip_reason(leaving, OR) or "")
        assert profile_skip_reason(staying, OR) is None


# ---------------------------------------------------------------- the reference server under each profile


def test_openresponses_reference_passes_every_case_in_the_profile(tmp_path: Path) -> None:
    cases = list(CASES.values())
    results = run_cases(cases, OR)
    bad = [(r.case.id, r.outcome.value, r.message) for r in results if r.outcome not in (Outcome.PASS, Outcome.SKIPPED)]
    assert not bad
    skipped = [r for r in results if r.outcome is Outcome.SKIPPED]
    assert skipped and all(r.message.startswith("not in the openresponses spec: ") for r in skipped)
    assert sum(r.outcome is Outcome.PASS for r in results) > len(cases) // 2
    warnings = [(r.case.id, c.name, c.message) for r in results for c in r.checks if c.findings]
    assert not warnings


def test_openresponses_reference_objects_also_satisfy_openai_where_possible() -> None:
    # the Open Responses server's objects are judged by the OpenAI profile: its extra fields are additive
    ids = ["basic.text", "streaming.text", "tools.function_call_roundtrip", "errors.input_wrong_type"]
    results = run_cases([CASES[i] for i in ids], "openai", server_profile=OR)
    assert [(r.case.id, r.outcome.value, r.message) for r in results if r.outcome is not Outcome.PASS] == []


@pytest.mark.parametrize("deviation", sorted(OR_PROOFS))
def test_open_responses_deviation_fails_its_check_only_under_that_profile(deviation: str, tmp_path: Path) -> None:
    assert deviation in DEVIATIONS
    name, case_id = OR_PROOFS[deviation]
    case = CASES[case_id]
    (result,) = run_cases([case], OR, deviations=(deviation,))
    assert result.outcome is Outcome.FAIL and any(c.name == name and c.outcome is Outcome.FAIL for c in result.checks), (
        f"{name} did not fail under {deviation}: {result.outcome.value}: {result.message}")
    if case_id != "parameters.penalties_openresponses":  # that case is outside the openai profile
        (openai,) = run_cases([case], "openai", deviations=(deviation,))
        assert openai.outcome is Outcome.PASS, openai.message


def test_error_body_is_judged_against_the_open_responses_error_payload() -> None:
    (result,) = run_cases([CASES["errors.input_wrong_type"]], OR, deviations=("error_missing_fields",))
    failed = {c.name: c.message for c in result.checks if c.outcome is Outcome.FAIL}
    assert "http.error_schema" in failed and "$.error" in failed["http.error_schema"]
    # ErrorResponse does not exist in Open Responses: the assertion is skipped with the reason, never failed
    skipped = [c for c in result.checks if c.outcome is Outcome.SKIPPED]
    assert [c.message for c in skipped if c.name == "expect.schema"] == [
        "not in the openresponses spec: schema ErrorResponse"]


def test_openai_profile_server_fails_the_open_responses_profile() -> None:
    # the default (OpenAI-shaped) server lacks Open Responses' required fields: a real failure, not a skip
    (result,) = run_cases([CASES["basic.text"]], OR, server_profile="openai")
    assert result.outcome is Outcome.FAIL
    assert any("presence_penalty" in c.message for c in result.failed_checks if c.name == "response.schema")


# ---------------------------------------------------------------- offline: schemas and checks by profile


def test_schema_equivalents_across_profiles() -> None:
    assert schemas.equivalent("Response", OR) == "Response"  # alias of ResponseResource
    assert schemas.equivalent("ResponseError", OR) == "Error"  # role response_error
    assert schemas.equivalent("ReasoningItem", OR) == "ReasoningBody"  # output item type reasoning
    assert schemas.equivalent("ErrorResponse", OR) is None  # Open Responses declares no HTTP error body
    assert schemas.equivalent("ErrorResponse", "openai") == "ErrorResponse"


def _error_exchange(body: bytes) -> Exchange:
    req = RecordedRequest("POST", "http://x/v1/responses", "/responses", {}, {"model": "m"})
    return Exchange(step="s", request=req, status=400, headers=[("content-type", "application/json")], body=body)


@pytest.mark.parametrize("body, ok", [
    (b'{"error": {"message": "m", "type": "invalid_request_error", "param": null, "code": null}}', True),
    (b'{"error": {"message": "m", "type": "invalid_request_error"}}', False),  # ErrorPayload requires code, param
    (b'{"message": "m", "type": "invalid_request_error", "param": null, "code": null}', False),
])
def test_error_checks_judge_by_profile(body: bytes, ok: bool) -> None:
    for profile in ("openai", OR):
        ctx = CheckContext(endpoint="create", request_body={"model": "m"}, expect_status=(400,), profile=profile)
        results = {r.name: r for r in run_checks(_error_exchange(body), ctx, only=["http.error_schema", "http.error_envelope"])}
        assert (results["http.error_schema"].outcome is Outcome.PASS) is ok, (profile, results["http.error_schema"])


def test_schema_assertion_without_counterpart_is_skipped_not_failed() -> None:
    ex = _error_exchange(b'{"error": {"message": "m", "type": "t", "param": null, "code": null}}')
    result = evaluate({"schema": "ErrorResponse"}, ex, {}, profile=OR)
    assert result.outcome is Outcome.SKIPPED and result.message == "not in the openresponses spec: schema ErrorResponse"
    assert evaluate({"schema": "ErrorResponse"}, ex, {}, profile="openai").outcome is Outcome.PASS


def test_sdk_steps_name_their_endpoint() -> None:
    if "sdk.retrieve" not in CASES:
        pytest.skip("no sdk cases")
    assert profile_skip_reason(CASES["sdk.retrieve"], OR) == "not in the openresponses spec: endpoints: retrieve"
    assert profile_skip_reason(CASES["sdk.create"], OR) is None


def test_serve_and_run_take_a_profile() -> None:
    from conformance.cli import build_parser

    assert build_parser().parse_args(["serve", "--profile", OR]).profile == OR
    assert build_parser().parse_args(["run", "--profile", OR]).profile == OR
    with pytest.raises(ValueError, match="unknown profile"):
        ReferenceServer(profile="nope")
