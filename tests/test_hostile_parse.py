"""Hostile JSON: nesting deep enough to crash a recursive parser never loses a case or prints a traceback."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import _json
from conformance.judge.checks import CheckContext, run_checks
from conformance.record.exchange import Exchange, RecordedRequest
from conformance.suite import CASES_DIR
from tests._hostile import head, hostile_server, sse_head
from tests.test_cli import cli

DEEP = b"[" * 100_000


def _deep_json(conn: socket.socket, _: bytes) -> None:
    conn.sendall(head("200 OK", {"Content-Type": "application/json", "Content-Length": str(len(DEEP)),
                                 "Connection": "close"}) + DEEP)


@pytest.mark.parametrize("text", ["[" * 100_000, "[" * 300 + "]" * 300, '{"a":' * 201 + "1" + "}" * 201])
def test_nesting_past_the_bound_is_a_value_error(text: str) -> None:
    with pytest.raises(_json.JSONDepthError, match="deeper than 200"):
        _json.loads(text)


def test_brackets_inside_strings_and_shallow_documents_parse() -> None:
    text = json.dumps({"s": "[" * 5000, "a": [[1]] * 500})
    assert _json.loads(text)["s"] == "[" * 5000
    assert _json.loads("[" * 200 + "]" * 200) is not None
    assert _json.loads(b'{"a": 1}') == {"a": 1}


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


_TRICKY = st.text(alphabet='[]{}"\\ab\n', max_size=6)  # brackets, quotes and backslashes inside strings
_NESTED = st.recursive(st.none() | st.integers() | _TRICKY,
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TRICKY, inner, max_size=3),
                       max_leaves=40)


@settings(max_examples=300, deadline=None)
@given(_NESTED, st.integers(0, 12))
def test_the_depth_measure_is_the_nesting_of_the_value(value: object, bound: int) -> None:
    """too_deep (strings dropped, brackets counted) agrees with a walk of the parsed value, at every bound."""
    text = json.dumps(value)
    assert _json.too_deep(text, bound) == (_depth(value) > bound)


def test_a_deep_body_is_a_finding_not_a_crash() -> None:
    ex = Exchange("create", RecordedRequest("POST", "http://x/v1/responses", "/responses", {}, {"model": "m"}),
                  status=200, headers=[("content-type", "application/json")], body=DEEP)
    results = list(run_checks(ex, CheckContext(endpoint="create", request_body={"model": "m"})))
    assert any(r.outcome.value == "fail" and "deeper than 200" in r.message for r in results), \
        [(r.name, r.outcome.value, r.message) for r in results]


def test_run_against_a_deeply_nesting_server_keeps_every_case(tmp_path: Path) -> None:
    with hostile_server(_deep_json) as url:
        proc = cli("run", "--base-url", url, "--model", "m", "--provider", "deep", "-k", "basic",
                   "--assume-probes", cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert "RecursionError" not in out and "Traceback" not in out, out[-3000:]
    assert proc.returncode == 1, out[-3000:]
    doc = json.loads((tmp_path / "reports" / "deep__m.json").read_text())
    junit = (tmp_path / "reports" / "deep__m.junit.xml").read_text()
    assert len(doc["cases"]) == junit.count("<testcase ") > 0, (len(doc["cases"]), junit.count("<testcase "))
    assert all(c["outcome"] in ("fail", "error") for c in doc["cases"])


def test_judge_on_a_deep_file_is_one_line_exit_2(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_bytes(DEEP)
    proc = cli("judge", str(deep), cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"judge: {deep}: JSON nested deeper than 200 levels, not parsed further"]


def test_judge_on_deep_prose_and_deep_stream_never_crashes(tmp_path: Path) -> None:
    prose = tmp_path / "prose.txt"
    prose.write_text("Here is a response:\n" + '{"a":' * 5000 + "\n")
    stream = tmp_path / "stream.sse"
    stream.write_text('data: {"type":"response.created","sequence_number":0,"response":' + "[" * 5000 + "\n\n")
    for path in (prose, stream):
        proc = cli("judge", str(path), cwd=tmp_path)
        assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-2000:]
        assert proc.returncode in (1, 2), proc.stdout + proc.stderr


def _boom(*_: object, **__: object) -> list[object]:
    raise RecursionError("maximum recursion depth exceeded while walking a hostile value")


def test_a_case_whose_judging_raises_is_its_error_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.cases import load_cases
    from conformance.run import engine

    case = load_cases(CASES_DIR / "basic.yaml")[0]
    step = case.steps[0]
    ex = Exchange(step.name, RecordedRequest("POST", "http://x/v1/responses", "/responses", {}, {"model": "m"}),
                  status=200, headers=[("content-type", "application/json")], body=b"{}")
    monkeypatch.setattr(engine, "run_checks", _boom)
    result = engine.judge_safely(engine.CaseRecording(case, exchanges=[ex]))
    assert result.outcome.value == "error"
    assert result.message.startswith("internal error while judging (no verdict): RecursionError: maximum recursion")
    assert result.exchanges == [ex]


def test_judge_reports_an_internal_error_as_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.judge import offline

    body = tmp_path / "r.json"
    body.write_text(json.dumps({"object": "response", "id": "resp_1", "output": []}))
    monkeypatch.setattr(offline, "run_checks", _boom)
    with pytest.raises(offline.Unreadable, match="internal error while judging: RecursionError"):
        offline.judge_file(body)


# ---------------------------------------------------------------- judge: linear and bounded


def test_embedded_objects_keep_their_line_numbers() -> None:
    from conformance.judge.offline import embedded_json_objects

    text = 'a {"x": 1}\n\nb {} {"y": [2]}\n{"z": "{not json"}\n{broken\n{"w": 3}'
    assert embedded_json_objects(text) == [(1, {"x": 1}), (3, {}), (3, {"y": [2]}), (4, {"z": "{not json"}),
                                           (6, {"w": 3})]


def test_a_megabyte_of_prose_objects_is_judged_in_linear_time(tmp_path: Path) -> None:
    # ``x {}`` per line took 31 s for 1 MB (line numbers recounted from the start for every object); a bound
    # with a wide margin, not a benchmark (bench/bench_judge_files.py measures)
    prose = tmp_path / "prose.txt"
    prose.write_text("x {}\n" * (1024 * 1024 // 5))
    start = time.perf_counter()
    proc = cli("judge", str(prose), cwd=tmp_path)
    assert time.perf_counter() - start < 15
    assert proc.returncode == 2
    assert _lines(proc.stderr) == [f"judge: {prose}: no Response, error body or event stream found "
                                   "(text without Response-shaped JSON)"]


def test_embedded_responses_past_the_cap_are_counted_not_judged(tmp_path: Path) -> None:
    from conformance.judge.offline import MAX_EMBEDDED, judge_file

    one = json.dumps({"object": "response", "id": "resp_1", "output": []})
    prose = tmp_path / "prose.txt"
    prose.write_text("".join(f"example {i}: {one}\n" for i in range(MAX_EMBEDDED + 37)))
    docs = judge_file(prose)
    assert len(docs) == MAX_EMBEDDED and docs[-1].omitted == 37
    proc = cli("judge", str(prose), cwd=tmp_path)
    assert f"{prose}:{MAX_EMBEDDED}: 37 more Response-shaped objects in this file not judged" in proc.stdout


def test_finding_lines_per_document_are_capped_with_a_count(tmp_path: Path) -> None:
    from conformance.judge.offline import MAX_FINDING_LINES, format_document, judge_file

    log = tmp_path / "events.jsonl"
    log.write_text("".join(json.dumps({"type": "response.output_text.delta", "sequence_number": i, "delta": i})
                           + "\n" for i in range(400)))
    (doc,) = judge_file(log)
    total = sum(len(r.findings) for r in doc.results)
    lines = format_document(doc)
    assert total > MAX_FINDING_LINES
    assert len(lines) == MAX_FINDING_LINES + 2 and lines[-1].startswith("  … ")
    assert lines[-1].endswith("more finding lines not shown")


def test_an_oversized_input_is_one_line_exit_2(tmp_path: Path) -> None:
    from conformance.judge.offline import MAX_INPUT_BYTES

    big = tmp_path / "big.json"
    with big.open("wb") as fh:
        fh.truncate(MAX_INPUT_BYTES + 1)  # sparse: nothing is written, only its size is read
    proc = cli("judge", str(big), cwd=tmp_path)
    assert proc.returncode == 2
    assert _lines(proc.stderr) == [f"judge: {big}: too large ({MAX_INPUT_BYTES + 1} bytes; at most "
                                   f"{MAX_INPUT_BYTES} are judged)"]


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _deep_stream(conn: socket.socket, _: bytes) -> None:
    conn.sendall(sse_head() + b'data: {"type":"response.created","sequence_number":0,"response":' + DEEP
                 + b"\n\n" + b"data: " + DEEP + b"\n\n")


def test_run_against_deeply_nested_stream_events_keeps_every_case(tmp_path: Path) -> None:
    with hostile_server(_deep_stream) as url:
        proc = cli("run", "--base-url", url, "--model", "m", "--provider", "deeps", "-k", "streaming.text",
                   "--assume-probes", "--idle-timeout", "2", "--deadline", "10", cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert "RecursionError" not in out and "Traceback" not in out, out[-3000:]
    doc = json.loads((tmp_path / "reports" / "deeps__m.json").read_text())
    junit = (tmp_path / "reports" / "deeps__m.junit.xml").read_text()
    assert len(doc["cases"]) == junit.count("<testcase ") > 0
    assert [c["outcome"] for c in doc["cases"]] == ["fail"]
    assert "stream.event_json: events[0].data: data is not JSON (JSON nested deeper than 200 levels" \
        in doc["cases"][0]["message"]
    assert proc.returncode == 1


def test_coverage_reads_a_deep_recorded_body_as_no_document() -> None:
    from conformance.coverage.observed import _loads

    assert _loads("[" * 100_000) is None
    assert _loads('{"object": "response"}') == {"object": "response"}


def test_unterminated_nested_prose_stops_the_scan_within_its_budget(tmp_path: Path) -> None:
    from conformance.judge.offline import scan_embedded

    hostile = ('{"a":' * 150 + "x\n") * 400  # without the budget every '{' decodes ~150 levels before failing
    found, stopped = scan_embedded(hostile + '{"object": "response", "id": "resp_1", "output": []}')
    assert found == [] and stopped is not None and stopped < len(hostile)
    assert scan_embedded('{"a": x}\n{"b": 1}') == ([(2, {"b": 1})], None)
    prose = tmp_path / "prose.txt"
    prose.write_text(hostile * 3)
    proc = cli("judge", str(prose), cwd=tmp_path)
    assert proc.returncode == 2
    (line,) = _lines(proc.stderr)
    assert line.startswith(f"judge: {prose}: no Response-shaped JSON before offset ") and "where the scan stopped" in line


def test_judge_reports_an_internal_error_while_reading_as_one_line(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.judge import offline

    stream = tmp_path / "s.sse"
    stream.write_text('data: {"type": "response.created"}\n\n')
    monkeypatch.setattr(offline, "parse_sse", _boom)
    with pytest.raises(offline.Unreadable, match="internal error while reading: RecursionError"):
        offline.judge_file(stream)


def test_redacting_a_deep_body_with_escapes_leaves_it_as_is() -> None:
    from conformance.record._redact import Redactor

    body = DEEP + b'"\\n sk-SECRET-123456"'
    redactor = Redactor(("sk-SECRET-123456",))
    assert redactor.json_data(body) == DEEP + b'"\\n <redacted>"'  # the raw pass scrubs it; no RecursionError
    assert redactor.json_text(body.decode()) == redactor.json_data(body).decode()
