"""``judge`` on a long malformed stream: findings are capped per check before classifying (the rest counted),
the verdict and the distinct deviations are those of the uncapped findings, and what is cached never mixes
one document's facts into another's. Speed is measured by bench/bench_judge_files.py, never asserted here."""

from __future__ import annotations

import json
from dataclasses import replace

from conformance._verdict import TRUNCATED, CheckResult, Finding, Outcome
from conformance.judge.basis import JudgePolicy, classify_result
from conformance.judge.checks import CheckContext, run_checks
from conformance.judge.checks._registry import KEEP_FIRST, KEEP_MAX
from conformance.judge.offline import Body, distinct_findings, judge_body
from conformance.record.exchange import Exchange, RecordedRequest, SSEEvent
from conformance.record.sse import parse_sse

BAD = '{"type":"response.output_text.delta","sequence_number":"x","delta":1}'


def _stream(datas: list[str]) -> Exchange:
    return Exchange("s", RecordedRequest("POST", "http://x/v1/responses", "/responses", {}, {"model": "m", "stream": True}, True),
                    status=200, headers=[("content-type", "text/event-stream")],
                    events=[SSEEvent(data=d, event="response.output_text.delta") for d in datas])


def _judge(datas: list[str]) -> list[CheckResult]:
    return list(run_checks(_stream(datas), CheckContext(endpoint="create", stream=True, request_body={"model": "m"})))


def test_repeats_past_the_cap_are_counted_not_kept_and_the_verdict_is_unchanged() -> None:
    few, many = _judge([BAD] * 5), _judge([BAD] * 5000)
    schema = next(r for r in many if r.name == "stream.event_schema")
    truncated = [f for f in schema.findings if f.kind == TRUNCATED]
    assert len(schema.findings) <= KEEP_MAX + 1 and len(truncated) == 1
    per_event = len(next(r for r in few if r.name == "stream.event_schema").findings) // 5
    kept = len(schema.findings) - 1
    assert truncated[0].message.startswith(f"{5000 * per_event - kept} more findings not kept"), truncated[0].message
    assert f"(+{5000 * per_event - 5} more)" in schema.message  # the message counts every finding
    assert [(r.name, r.outcome) for r in few] == [(r.name, r.outcome) for r in many]
    keys = {r.name: {f.key for f in r.findings if f.kind != TRUNCATED} for r in few}
    assert keys == {r.name: {f.key for f in r.findings if f.kind != TRUNCATED} for r in many}


def test_a_finding_unlike_the_kept_ones_is_kept_past_the_first() -> None:
    """After KEEP_FIRST findings, one that classifies differently (here a new path) is still kept."""
    odd = '{"type":"response.output_text.delta","sequence_number":1,"delta":"x","item_id":7,"output_index":0,' \
          '"content_index":0,"logprobs":[]}'
    results = _judge([BAD] * (KEEP_FIRST + 100) + [odd])
    schema = next(r for r in results if r.name == "stream.event_schema")
    assert any(f.path.endswith(".item_id") for f in schema.findings), [f.path for f in schema.findings][-5:]


def test_the_count_of_the_rest_never_outranks_the_findings_it_follows() -> None:
    """A check whose kept findings are warnings passes, its truncated count included."""
    raw = CheckResult("stream.x", Outcome.FAIL, "m", "ref", "s", "error",
                      [Finding("seen", "$.a", basis="observed"), Finding("9 more not shown", "$", kind=TRUNCATED)],
                      basis="schema")
    judged = classify_result(raw, JudgePolicy())
    assert judged.outcome is Outcome.PASS and {f.severity for f in judged.findings} == {"warning"}
    strict = classify_result(raw, JudgePolicy(strict_behaviour=True))
    assert strict.outcome is Outcome.FAIL and {f.severity for f in strict.findings} == {"fail"}


def test_a_long_malformed_stream_judges_to_the_same_distinct_findings_as_a_short_one() -> None:
    short = "".join(f"event: response.output_text.delta\ndata: {BAD}\n\n" for _ in range(30)).encode()
    long = short * 400  # 12,000 events
    docs = [judge_body(f"d{i}", Body(raw, events=parse_sse(raw))) for i, raw in enumerate((short, long))]
    assert [d.failed and True for d in docs] == [True, True]
    grouped = [{(g["key"], g["severity"]) for g in distinct_findings([d])} for d in docs]
    assert grouped[0] == grouped[1] and grouped[0]


def test_cached_parses_and_validations_never_cross_documents() -> None:
    """Two streams judged one after the other (the per-thread parse memo, the validation cache): each is judged on
    its own events, and an equal event validates to equal findings wherever it appears."""
    good = json.dumps({"type": "response.output_text.delta", "item_id": "m", "output_index": 0, "content_index": 0,
                       "delta": "x", "sequence_number": 0, "logprobs": []})
    bad_first = _judge([BAD, good])
    good_first = _judge([good, BAD])
    paths = [{f.path.split(".")[0] for r in res if r.name == "stream.event_schema" for f in r.findings}
             for res in (bad_first, good_first)]
    assert paths == [{"events[0]"}, {"events[1]"}]
    ex = _stream([BAD])
    one = [r for r in run_checks(ex, CheckContext(endpoint="create", stream=True)) if r.name == "stream.event_schema"]
    ex.events = [replace(e, data=good) for e in ex.events or []]  # a new list: the memo must not answer for it
    two = [r for r in run_checks(ex, CheckContext(endpoint="create", stream=True)) if r.name == "stream.event_schema"]
    assert one[0].outcome is Outcome.FAIL and two[0].outcome is Outcome.PASS
