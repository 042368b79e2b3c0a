"""The request fuzzer (conformance/fuzz): valid and one-mistake requests judged like cases, findings shrunk.

Against the undeviated reference server a few hundred examples find nothing; each fuzz-only deviation
(tests/test_deviations.py ``FUZZ_PROOFS``) is found with each of five seeds and shrunk to a request of a few fields; a
seed reproduces a run, whatever literals the rest of the suite holds;
the example database replays failures first; and the ``fuzz`` group is reported but never scored or gated.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings

from conformance._verdict import Outcome
from conformance.cases import Case, Step
from conformance.fuzz import FuzzOptions, FuzzRequest, run_fuzz
from conformance.fuzz._determinism import local_constants_can_be_disabled, no_local_constants
from conformance.fuzz.runner import _Budget, kind_results, run_kind
from conformance.fuzz.strategies import invalid_requests, valid_requests
from conformance.judge import schemas
from conformance.record.http import Limits, Recorder, Target
from conformance.reference import MODEL_NAME, ReferenceServer
from conformance.report import format_summary
from conformance.report._matrix_areas import EXCLUDED_FROM_SCORE, area_of
from conformance.run.engine import CaseResult
from tests.test_cli import cli
from tests.test_deviations import FUZZ_PROOFS

KEY = "sk-fuzz-test-key-0001"
#: a reproduced 500 is sent twice; the wait between (Retries) is shortened so shrinking a 500 stays quick
LIMITS = Limits(idle_timeout_s=10, deadline_s=30, max_retry_after_s=0.01)


@pytest.fixture
def recorder_for() -> Iterator[Any]:
    """A recorder on a fresh reference server with the given deviations (closed after the test)."""
    opened: list[tuple[ReferenceServer, Recorder]] = []

    def make(*deviations: str) -> Recorder:
        server = ReferenceServer(api_key=KEY, deviations=deviations).start()
        rec = Recorder(Target(server.base_url, MODEL_NAME, api_key=KEY), LIMITS)
        opened.append((server, rec))
        return rec

    yield make
    for server, rec in opened:
        rec.close()
        server.stop()


def _request_of(result: CaseResult) -> FuzzRequest:
    step = result.case.steps[0]
    return FuzzRequest("", step.body, raw_body=step.raw_body)


def _contains(actual: Any, wanted: Any) -> bool:
    """``wanted`` is part of ``actual``: a sub-dictionary, list items present, else equal."""
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(k in actual and _contains(actual[k], v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(actual, list) and all(any(_contains(a, w) for a in actual) for w in wanted)
    return bool(actual == wanted)


def test_undeviated_reference_server_gives_no_finding(recorder_for: Any) -> None:
    results = run_fuzz(recorder_for(), FuzzOptions(examples=150, seed=20261202))
    assert [(r.case.id, r.outcome) for r in results] == [("fuzz.valid", Outcome.PASS), ("fuzz.invalid", Outcome.PASS)]
    for r in results:
        ran = int(r.message.split(" example")[0])
        assert 140 <= ran <= 150 and "seed 20261202" in r.message and "no failure" in r.message, r.message
        assert r.case.group == "fuzz"


#: every FUZZ_PROOFS deviation is found with each of these seeds: a proof that does not rest on a lucky seed
PROOF_SEEDS = (1, 2, 3, 4, 5)


@pytest.mark.parametrize("run_seed", PROOF_SEEDS)
@pytest.mark.parametrize("deviation", sorted(FUZZ_PROOFS))
def test_fuzzer_finds_each_fuzz_deviation_and_shrinks_it(recorder_for: Any, deviation: str, run_seed: int) -> None:
    kind, check, max_fields, trigger, examples = FUZZ_PROOFS[deviation]
    results = run_fuzz(recorder_for(deviation), FuzzOptions(examples=examples, seed=run_seed, kinds=(kind,)))
    failed = [r for r in results if r.outcome is Outcome.FAIL]
    assert failed, [(r.case.id, r.message) for r in results]
    assert all(r.case.id.startswith(f"fuzz.{kind}.") and r.case.group == "fuzz" for r in failed)
    found = [r for r in failed if any(c.name == check and c.outcome is Outcome.FAIL for c in r.checks)]
    assert found, [(r.case.id, r.message) for r in failed]
    smallest = min((_request_of(r) for r in found), key=FuzzRequest.field_count)
    assert smallest.field_count() <= max_fields, smallest.text()
    assert _contains(smallest.body, trigger), smallest.text()
    # the evidence is the smallest example's own exchange, with the curl line that reproduces it
    result = next(r for r in found if _request_of(r).body == smallest.body)
    assert result.exchanges and result.exchanges[0].request.body == smallest.body
    assert "curl" in result.exchanges[0].curl and "smallest request" in result.message
    # every finding rests on a basis a fail may rest on (never observed)
    bases = {f.basis for c in result.checks if c.outcome is Outcome.FAIL for f in c.findings}
    assert bases and bases <= {"schema", "event-contract", "error-class", "documented"}, bases


def test_an_observed_rule_is_a_warning_row_never_a_fail(recorder_for: Any) -> None:
    """422 instead of OpenAI's 400 (deviation validation_422) is what api.openai.com does, not a documented rule."""
    results = run_fuzz(recorder_for("validation_422"), FuzzOptions(examples=30, seed=2, kinds=("invalid",)))
    assert not [r for r in results if r.outcome is Outcome.FAIL], [(r.case.id, r.message) for r in results]
    assert results[0].case.id == "fuzz.invalid" and results[0].outcome is Outcome.PASS
    warned = [r for r in results if r.message.startswith("warning: expect.status")]
    assert warned and all(r.outcome is Outcome.PASS for r in warned)
    assert all(f.basis == "observed" for r in warned for c in r.checks if c.name == "expect.status" for f in c.findings)


def test_a_seed_reproduces_the_examples_and_the_findings(recorder_for: Any, tmp_path: Path) -> None:
    rec = recorder_for("accept_malformed_json")  # a cut body answered 200: one invalid example in ten meets it
    options = FuzzOptions(examples=80, seed=99, replay=False, database=tmp_path / "db")
    first = run_kind("invalid", rec, options, 99, _Budget(None))
    second = run_kind("invalid", rec, options, 99, _Budget(None))
    assert any(o.outcome is Outcome.FAIL for o in first.observations.values())
    assert [r.text() for r in first.sent] == [r.text() for r in second.sent]
    assert sorted(first.observations) == sorted(second.observations)
    assert run_kind("invalid", rec, FuzzOptions(examples=80, seed=100, replay=False), 100, _Budget(None)).sent \
        != first.sent  # another seed, other examples


def test_the_database_replays_a_failure_first(recorder_for: Any, tmp_path: Path) -> None:
    rec = recorder_for("stream_skips_range_checks")  # needs stream and a range mistake together: never the first try
    db = tmp_path / "db"
    found = run_fuzz(rec, FuzzOptions(examples=FUZZ_PROOFS["stream_skips_range_checks"][4], seed=1, database=db,
                                      kinds=("invalid",)))
    assert any(r.outcome is Outcome.FAIL for r in found)
    # one example per kind of mistake, another seed: without the database nothing fails, with it the stored
    # (shrunk) failure is tried before anything else
    fresh = run_kind("invalid", rec, FuzzOptions(examples=1, seed=6), 6, _Budget(None))
    assert not any(o.outcome is Outcome.FAIL for o in fresh.observations.values())
    again = run_kind("invalid", rec, FuzzOptions(examples=1, seed=6, database=db), 6, _Budget(None))
    assert any(o.outcome is Outcome.FAIL and o.request.stream for o in again.observations.values())


def _generated(strategy: Any, run_seed: int, examples: int, guarded: bool = True) -> list[str]:
    """The requests hypothesis generates from ``strategy`` with ``run_seed``, as the runner runs it (``guarded``:
    with local constants off)."""
    out: list[str] = []

    @settings(max_examples=examples, database=None, deadline=None, suppress_health_check=list(HealthCheck),
              phases=(Phase.generate,))
    @seed(run_seed)
    @given(strategy)
    def collect(request: FuzzRequest) -> None:
        out.append(request.text())

    with no_local_constants() if guarded else contextlib.nullcontext():
        collect()
    return out


def test_a_seed_generates_the_same_examples_whatever_else_the_suite_contains(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """hypothesis draws constants from every loaded local module; the runner turns that off (fuzz/_determinism.py),
    so new literals anywhere in the suite leave a seed's examples as they were. Fails if the swap stops working."""
    assert local_constants_can_be_disabled()  # the pinned hypothesis has the function the runner swaps
    strategies = [valid_requests(MODEL_NAME), invalid_requests(MODEL_NAME)]
    before = [_generated(s, 7, 80) for s in strategies]
    unguarded = _generated(strategies[0], 7, 150, guarded=False)
    # a new local module full of literals of every kind a strategy draws (ints, floats, strings), then loaded
    # (values the strategies' draws permit: floats in [0, 2], short alphanumeric strings, integers; under 1024
    # constants, as hypothesis skips a larger module)
    literals = "\n".join(f"V{i} = ({i * 7919 - 5000}, {i * 0.0097!r}, {i * 0.0061 + 0.003!r}, 'fuzzlit{i}', 'k{i}')"
                          for i in range(150))
    (tmp_path / "fuzz_new_literals.py").write_text(literals + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fuzz_new_literals", raising=False)
    importlib.import_module("fuzz_new_literals")
    from hypothesis.internal.conjecture import providers
    assert "fuzzlit7" in providers._get_local_constants().strings  # hypothesis does see the new literals
    assert [_generated(s, 7, 80) for s in strategies] == before
    # the test can tell: without the swap, the same seed now generates other examples
    assert _generated(strategies[0], 7, 150, guarded=False) != unguarded


def test_the_token_budget_stops_the_fuzzer_without_overshooting(recorder_for: Any) -> None:
    budget = _Budget(200)
    state = run_kind("valid", recorder_for(), FuzzOptions(examples=300, seed=1), 1, budget)
    assert state.stop_reason.startswith("skipped (budget)")
    assert 0 < state.examples < 300 and 0 < budget.spent <= 200
    (summary,) = kind_results(state, 1, True)
    assert summary.outcome is Outcome.PASS and "skipped (budget)" in summary.message


@settings(max_examples=300, database=None, suppress_health_check=list(HealthCheck))
@seed(4)
@given(valid_requests(MODEL_NAME))
def test_valid_requests_validate_against_the_request_schema(request: FuzzRequest) -> None:
    assert not schemas.validate("CreateResponse", request.body), request.text()
    assert 16 <= request.body["max_output_tokens"] <= 64 and "token" in json.dumps(request.body["input"])


#: mistakes the request schema cannot express (an id that does not exist, limits its descriptions state, model
#: being required by the create operation's documentation): the schema accepts the body, the server must not
SEMANTIC_MISTAKES = ("an unknown previous_response_id", "no model", "metadata with", "a metadata value", "a metadata key")


@settings(max_examples=300, database=None, suppress_health_check=list(HealthCheck))
@seed(4)
@given(invalid_requests(MODEL_NAME))
def test_invalid_requests_break_the_schema_or_a_documented_limit(request: FuzzRequest) -> None:
    if request.raw_body is not None:
        with pytest.raises(ValueError):
            json.loads(request.raw_body)
        return
    if not request.mutation.startswith(SEMANTIC_MISTAKES):
        assert schemas.validate("CreateResponse", request.body), request.text()
    assert request.status != 200 and request.mutated


def test_fuzz_rows_are_reported_but_not_scored() -> None:
    assert area_of({"group": "fuzz"}) in EXCLUDED_FROM_SCORE
    step = Step(name="create")
    ok = CaseResult(Case("basic.text", "t", "basic", (), (), (step,)), Outcome.PASS)
    bad = CaseResult(Case("fuzz.invalid.0123456789", "t", "fuzz", (), ("fuzz",), (step,)), Outcome.FAIL, "a 500")
    summary = format_summary([ok, bad])
    assert "(not scored)" in next(line for line in summary.splitlines() if line.startswith("fuzz"))
    assert "100.0% (scored groups)" in summary


def test_run_fuzz_option_reports_and_gates_only_when_asked(tmp_path: Path) -> None:
    # accept_malformed_json: a malformed body is answered 200 (basic.text sends none, so only the fuzzer sees it)
    args = ("run", "-q", "-k", "basic.text", "--deviate", "accept_malformed_json", "--reports", str(tmp_path),
            "--fuzz", "--fuzz-examples", "80", "--fuzz-seed", "1")  # one invalid example in ten meets the fault
    proc = cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    doc = json.loads((tmp_path / "reference__reference-1.json").read_text())
    assert doc["run"]["fuzz"]["seed"] == 1 and doc["run"]["fuzz"]["replayed_database"] is False
    fuzz = [c for c in doc["cases"] if c["group"] == "fuzz"]
    failed = [c for c in fuzz if c["outcome"] == "fail"]
    assert [c["id"][:13] for c in failed] == ["fuzz.invalid."], fuzz
    assert failed[0]["exchanges"][0]["request"]["raw_body"] == "{"  # shrunk to the smallest malformed body
    assert next(c for c in doc["cases"] if c["id"] == "basic.text")["outcome"] == "pass"
    assert any(c["id"] == "fuzz.valid" and c["outcome"] == "pass" for c in fuzz)
    # the stored failures, and hypothesis's own files, live under the reports, not in the working directory
    assert (tmp_path / ".hypothesis-fuzz" / "examples").is_dir() and not (tmp_path / ".hypothesis").exists()
    gated = cli(*args, "--fuzz-gate", cwd=tmp_path)
    assert gated.returncode == 1, gated.stdout[-2000:]
    # gated, a baseline can expect the finding: its id is stable per finding key
    baseline = tmp_path / "baseline.yaml"
    updated = cli(*args, "--fuzz-gate", "--baseline", str(baseline), "--update-baseline", cwd=tmp_path)
    assert updated.returncode == 0, updated.stdout[-2000:]
    assert failed[0]["id"] in baseline.read_text()
    bad = cli("run", "-q", "-k", "basic.text", "--fuzz", "--fuzz-examples", "0", cwd=tmp_path)
    assert bad.returncode == 2 and "--fuzz-examples 0" in bad.stderr


def test_a_run_without_fuzz_never_imports_hypothesis() -> None:
    """The engine's seam (fuzz/wiring.py) loads hypothesis only when fuzzing: no startup cost for plain runs."""
    import subprocess
    import sys

    code = ("import sys, conformance.run.runner, conformance.fuzz.wiring, conformance.cli; "
            "assert 'hypothesis' not in sys.modules, sorted(m for m in sys.modules if 'hypothesis' in m)[:5]")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_fuzz_only_sends_no_case_and_refuses_a_selection(tmp_path: Path) -> None:
    """``--fuzz-only`` (peers/fuzz): the results hold the fuzz group alone; -k beside it would select nothing sent."""
    proc = cli("run", "-q", "--fuzz-only", "--fuzz-examples", "10", "--fuzz-seed", "3", "--reports", str(tmp_path),
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    doc = json.loads((tmp_path / "reference__reference-1.json").read_text())
    assert [(c["id"], c["outcome"]) for c in doc["cases"]] == [("fuzz.valid", "pass"), ("fuzz.invalid", "pass")]
    assert doc["run"]["fuzz"]["seed"] == 3
    bad = cli("run", "-q", "--fuzz-only", "-k", "basic", "--reports", str(tmp_path), cwd=tmp_path)
    assert bad.returncode == 2 and "--fuzz-only" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("run_seed", (1, 2))
def test_a_finding_every_example_shows_does_not_end_the_exploration(recorder_for: Any, monkeypatch: pytest.MonkeyPatch,
                                                                    run_seed: int) -> None:
    """A peer missing a required field in every Response fails every example; hypothesis stops generating soon
    after a failure, so alone it ran about ten examples and never met the rare combination. Later rounds treat the
    findings so far as known: the share of examples runs and the rare one is found."""
    from conformance.fuzz import runner

    rec = recorder_for("chat_usage_names", "json_logprobs_stream_missing_created_at")
    rare = "rule:Response:required:created_at"
    state = run_kind("valid", rec, FuzzOptions(examples=300, seed=run_seed), run_seed, _Budget(None))
    assert state.quiet >= 300 and rare in state.observations, sorted(state.observations)
    assert state.observations[rare].outcome is Outcome.FAIL
    monkeypatch.setattr(runner, "MAX_ROUNDS", 1)  # the test can tell: one hypothesis run stops early and misses it
    alone = run_kind("valid", rec, FuzzOptions(examples=300, seed=run_seed), run_seed, _Budget(None))
    assert alone.examples < 30 and rare not in alone.observations


def test_an_accepted_invalid_request_is_one_finding_per_kind_of_mistake(recorder_for: Any) -> None:
    """Every accepted mistake fails expect.status alike: keyed by the mistake and its parameter, a missing model and
    an out-of-range temperature are two findings, not one; what fails on the accepted body (the echoed value breaking
    the Response schema) is their evidence, not findings of their own."""
    rec = recorder_for("stream_skips_range_checks", "accept_missing_model")
    state = run_kind("invalid", rec, FuzzOptions(examples=100, seed=1), 1, _Budget(None))
    failing = sorted(k for k, o in state.observations.items() if o.outcome is Outcome.FAIL)
    assert failing == ["expect.status|accepted|missing_model:model", "expect.status|accepted|out_of_range:temperature"]
    rows = [r for r in kind_results(state, 1, True) if r.outcome is Outcome.FAIL]
    assert [r.message.split(" was accepted")[0] for r in rows] == [
        "expect.status: an invalid request (missing_model:model)", "expect.status: an invalid request (out_of_range:temperature)"]
    streamed = rows[1]
    assert {c.name for c in streamed.checks if c.outcome is Outcome.FAIL} > {"expect.status"}  # the consequences


def test_mistake_site_names_the_kind_of_mistake_and_its_parameter() -> None:
    assert FuzzRequest("invalid", {}, param="input[3].content[0].type", mistake="unknown_type").mistake_site() \
        == "unknown_type:input[*].content[*].type"
    assert FuzzRequest("invalid", {}, mutated=("metadata",), mistake="oversized_metadata").mistake_site() \
        == "oversized_metadata:metadata"
    assert FuzzRequest("invalid", {}, raw_body="{", mistake="malformed_json").mistake_site() == "malformed_json:body"


def test_a_declined_valid_request_is_minimised_like_a_failure() -> None:
    """hypothesis never shrinks a decline (no failure): the runner drops the parts the refusal does not need, so the
    row names the smallest valid request the server refuses (LiteLLM's allowed_tools tool_choice came with 20 fields)."""
    from types import SimpleNamespace

    from conformance.fuzz.runner import _KindRun, example_case

    state = _KindRun("valid", SimpleNamespace(stop_at=None), FuzzOptions(), _Budget(None))  # type: ignore[arg-type]

    def judge(request: FuzzRequest) -> CaseResult:  # the server refuses tool_choice allowed_tools, whatever else
        choice = request.body.get("tool_choice")
        declined = isinstance(choice, dict) and choice.get("type") == "allowed_tools"
        return CaseResult(example_case("valid", request), Outcome.UNSUPPORTED if declined else Outcome.PASS, "")

    state.judge = judge  # type: ignore[method-assign]
    big = FuzzRequest("valid", {"model": "m", "input": "x", "max_output_tokens": 16, "instructions": "Be brief.",
                                "reasoning": {}, "store": True, "tools": [{"type": "function", "name": "lookup"}],
                                "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": []}})
    state.observe(big, judge(big))
    state.minimise()
    (obs,) = state.observations.values()
    assert obs.outcome is Outcome.UNSUPPORTED
    assert sorted(obs.request.body) == ["input", "max_output_tokens", "model", "tool_choice", "tools"]


def _needs_of(body: dict[str, Any]) -> set[str]:
    """The capabilities a generated body needs (strategies.CAPABILITY_PARTS)."""
    text = json.dumps(body)
    needs = {cap for cap, marker in (("vision", "input_image"), ("files", "input_file")) if marker in text}
    include = body.get("include") or []
    if "top_logprobs" in body or "message.output_text.logprobs" in include:
        needs.add("logprobs")
    if "reasoning" in body or "reasoning.encrypted_content" in include:
        needs.add("reasoning")
    return needs


def _needs_generated(skip: frozenset[str]) -> set[str]:
    """Every capability 300 valid and 300 invalid examples (seed 5) need, a mistake's own parameter aside."""
    found: set[str] = set()

    @settings(max_examples=300, database=None, suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @seed(5)
    @given(valid_requests(MODEL_NAME, skip), invalid_requests(MODEL_NAME, skip=skip))
    def collect(valid: FuzzRequest, invalid: FuzzRequest) -> None:
        found.update(_needs_of(valid.body))
        if invalid.raw_body is None:  # top_logprobs out of range, reasoning of the wrong type: the mistake itself
            found.update(_needs_of({k: v for k, v in invalid.body.items() if k not in invalid.mutated}))

    collect()
    return found


def test_a_declared_capability_is_never_needed_by_a_generated_request() -> None:
    """A target declaring vision/files/logprobs/reasoning unavailable is sent none of it, as no case needing it is
    sent (llama.cpp without a vision projector answered the fuzzer's image parts with 500: the model's declared
    limit, not a finding); without the declaration every one of them is generated (the test can tell)."""
    from conformance.fuzz.strategies import CAPABILITY_PARTS

    assert _needs_generated(frozenset(CAPABILITY_PARTS)) == set()
    assert _needs_generated(frozenset()) == set(CAPABILITY_PARTS)


def test_the_note_on_findings_not_kept_is_no_finding_of_its_own() -> None:
    """A check keeps at most so many findings and adds "N more findings not kept" (kind truncated): the results'
    findings skip it, so must the fuzzer (llama.cpp's streams had a row "46 more findings not kept")."""
    from conformance._verdict import TRUNCATED, CheckResult, Finding
    from conformance.fuzz.runner import example_case, example_keys

    request = FuzzRequest("valid", {"model": "m", "input": "x", "max_output_tokens": 16, "stream": True})
    shown = Finding("'sequence_number' is missing (required)", "events[0]", severity="fail",
                    key="rule:E:required:sequence_number")
    note = Finding("46 more findings not kept (repeats of the 70 above, or past 500)", "$", kind=TRUNCATED, severity="fail",
                   key="stream.event_schema|$|N more findings not kept")
    check = CheckResult("stream.event_schema", Outcome.FAIL, "", "", "create", findings=[shown, note])
    result = CaseResult(example_case("valid", request), Outcome.FAIL, "", [check])
    keys, failing = example_keys(result, request)
    assert keys == ["rule:E:required:sequence_number"] and failing == frozenset(keys)


def test_a_5xx_a_valid_part_causes_is_not_filed_as_the_mistakes() -> None:
    """llama-stack answers truncation auto (valid) with 500 whatever else the request holds: an invalid request with
    17 metadata keys and truncation auto is no "5xx for oversized metadata". The control request (the mistake undone)
    gets the 500 too, so the finding is filed under the plain 5xx key with the control as its request; a 5xx only
    the mistake causes keeps its mistake key."""
    from types import SimpleNamespace

    from conformance._verdict import CheckResult, Finding
    from conformance.fuzz.runner import _KindRun, example_case

    fault = "engine.server_error||a 5xx"

    def judge(request: FuzzRequest) -> CaseResult:  # 500 for truncation auto, and for a tool without a name
        tools = request.body.get("tools") or []
        broken = request.body.get("truncation") == "auto" or any("name" not in t for t in tools)
        checks = [CheckResult("engine.server_error", Outcome.FAIL, "a 500", "", "create",
                              findings=[Finding("a 500", "", severity="fail", key=fault)])] if broken else []
        return CaseResult(example_case("invalid", request), Outcome.FAIL if broken else Outcome.PASS, "", checks)

    recorder = SimpleNamespace(stop_at=None, target=SimpleNamespace(model="m"))
    state = _KindRun("invalid", recorder, FuzzOptions(), _Budget(None))  # type: ignore[arg-type]
    state.judge = judge  # type: ignore[method-assign]
    base = {"model": "m", "input": "x", "max_output_tokens": 16}
    metadata = FuzzRequest("invalid", {**base, "truncation": "auto", "metadata": {f"k{i}": "v" for i in range(17)}},
                           param="metadata", mutated=("metadata",), mistake="oversized_metadata")
    nameless = FuzzRequest("invalid", {**base, "tools": [{"type": "function"}]}, param="tools[0].name",
                           mutated=("tools",), mistake="malformed_tool")
    for request in (metadata, nameless):
        state.observe(request, judge(request))
    assert sorted(state.observations) == ["engine.server_error|answered|malformed_tool:tools[*].name",
                                          "engine.server_error|answered|oversized_metadata:metadata"]
    state.reattribute()
    assert set(state.observations) == {fault, "engine.server_error|answered|malformed_tool:tools[*].name"}
    assert state.observations[fault].request.body == {**base, "truncation": "auto"}  # the control: no metadata


def test_without_mistake_undoes_the_mistake_only() -> None:
    model_gone = FuzzRequest("invalid", {"input": "x", "top_p": 0.5}, mutated=("model",), mistake="missing_model")
    assert model_gone.without_mistake("m").body == {"input": "x", "top_p": 0.5, "model": "m"}  # type: ignore[union-attr]
    tools = FuzzRequest("invalid", {"model": "m", "input": [{"type": "bogus"}], "tools": [{}], "tool_choice": "auto"},
                        mutated=("input",), mistake="unknown_type")
    assert tools.without_mistake("m").body == {"model": "m", "input": "Reply with exactly the token OK.",  # type: ignore[union-attr]
                                               "tools": [{}], "tool_choice": "auto"}
    assert FuzzRequest("invalid", {}, raw_body="{", mistake="malformed_json").without_mistake("m") is None


def test_minimising_files_no_new_finding() -> None:
    """A smaller candidate of a finding may be answered otherwise (the 5xx gone, a served body breaking another rule):
    it may become the finding's request, never a finding of its own (LiteLLM-mock's invalid kind listed the missing
    cache_write_tokens of a served candidate)."""
    from types import SimpleNamespace

    from conformance._verdict import CheckResult, Finding
    from conformance.fuzz.runner import _KindRun, example_case

    fault, other = "engine.server_error||a 5xx", "rule:Usage:required:cache_write_tokens"

    def judge(request: FuzzRequest) -> CaseResult:  # 500 when streamed; served otherwise, with a missing field
        key, name = (fault, "engine.server_error") if request.body.get("stream") else (other, "response.schema")
        check = CheckResult(name, Outcome.FAIL, "x", "", "create", findings=[Finding("x", "", severity="fail", key=key)])
        return CaseResult(example_case("invalid", request), Outcome.FAIL, "", [check])

    state = _KindRun("invalid", SimpleNamespace(stop_at=None), FuzzOptions(), _Budget(None))  # type: ignore[arg-type]
    state.judge = judge  # type: ignore[method-assign]
    control = FuzzRequest("valid", {"model": "m", "input": "x", "stream": True, "top_p": 0.5})
    state.observe(control, judge(control))
    state.minimise()
    assert sorted(state.observations) == [fault]
    assert state.observations[fault].request.body == {"model": "m", "input": "x", "stream": True}
