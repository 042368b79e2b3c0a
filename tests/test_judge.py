"""``responses-conformance judge``: never passes what it could not read, judges streams in any saved form, and
judges real captures with the requests they answered (``--request``, capture directories with a manifest).

Synthetic inputs come from the reference server (a conformant body and stream) and are edited in ``tmp_path``;
real inputs come from ``../shared/real-openai`` (skipped with a reason when it is absent).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.cli import main
from conformance.judge import offline
from conformance.judge.basis import JudgePolicy, dates
from conformance.record.sse import parse_sse
from conformance.reference import ReferenceServer

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "real-openai"
needs_real = pytest.mark.skipif(not (REAL / "manifest.json").is_file(), reason="../shared/real-openai not present")
RESUMED = "pydantic-ai/test_background_mode_streaming_starting_after_vcr__1"
CACHE_WRITE_RULE = "ResponseUsage.input_tokens_details:required:cache_write_tokens"


@pytest.fixture(scope="module")
def reference() -> dict[str, bytes]:
    """A conformant Response body (temperature 0.5 requested) and a conformant SSE stream."""
    request = {"model": "reference-1", "input": "hi", "temperature": 0.5}
    with ReferenceServer() as server:
        body = httpx.post(f"{server.base_url}/responses", json=request).content
        stream = httpx.post(f"{server.base_url}/responses", json={**request, "stream": True}).content
    return {"body": body, "stream": stream, "request": json.dumps(request).encode()}


def judge(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, list[str]]:
    """Run the command in-process: exit code, stdout, non-empty stderr lines."""
    code = main(["judge", *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, [line for line in err.splitlines() if line.strip()]


def names(docs: list[offline.JudgedDocument]) -> dict[str, str]:
    return {r.name: r.outcome.value for doc in docs for r in doc.results}


# ---------------------------------------------------------------- nothing recognisable: exit 2, one line each


UNREADABLE: dict[str, tuple[bytes, str]] = {
    "empty.json": (b"", "empty file"),
    "blank.sse": (b"  \n\n\t\n", "empty file"),
    "image.json": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    "nul.txt": (b"text\x00with a NUL byte", "binary"),
    "config.json": (b'{"model": "gpt-4o", "input": "hi"}', "neither a Response, an error envelope nor a stream event"),
    "numbers.json": (b"[1, 2, 3]", "not of stream events"),
    "scalar.json": (b"42", "neither a Response"),
    "notes.md": (b"# Notes\n\nThe API answered {\"ok\": true} and that was it.\n", "no Response"),
}


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_each_unreadable_kind_exits_2_with_one_line_naming_the_file(
        name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content, reason = UNREADABLE[name]
    path = tmp_path / name
    path.write_bytes(content)
    code, out, err = judge(capsys, path)
    assert code == 2
    assert len(err) == 1 and err[0].startswith(f"judge: {path}: ") and reason in err[0], err
    assert "PASS" not in out


def test_a_directory_without_captures_and_a_missing_file_are_unreadable(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "empty_dir" / "README.txt").write_text("nothing here")
    code, _, err = judge(capsys, tmp_path / "empty_dir", tmp_path / "missing.json")
    assert code == 2
    assert err == [f"judge: {tmp_path / 'empty_dir'}: directory holds no captures (no *.json, *.sse or *.jsonl bodies)",
                   f"judge: {tmp_path / 'missing.json'}: no such file or directory"]


def test_other_files_of_the_call_are_still_judged_and_reported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], reference: dict[str, bytes]) -> None:
    (tmp_path / "good.json").write_bytes(reference["body"])
    (tmp_path / "empty.json").write_bytes(b"")
    (tmp_path / "good.sse").write_bytes(reference["stream"])
    code, out, err = judge(capsys, tmp_path / "good.json", tmp_path / "empty.json", tmp_path / "good.sse")
    assert code == 2, out
    assert err == [f"judge: {tmp_path / 'empty.json'}: empty file"]
    assert f"{tmp_path / 'good.json'}: response: PASS" in out and f"{tmp_path / 'good.sse'}: stream: PASS" in out
    assert out.rstrip().splitlines()[-1] == "distinct findings: 0 fail, 0 warning, 0 note (2 documents judged, 1 unreadable)"


def test_unreadable_beats_failures_in_the_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     reference: dict[str, bytes]) -> None:
    body = json.loads(reference["body"])
    body["status"] = "finished"  # not a Response status
    (tmp_path / "bad.json").write_text(json.dumps(body))
    (tmp_path / "blank.json").write_text("\n")
    code, out, _ = judge(capsys, tmp_path / "bad.json", tmp_path / "blank.json")
    assert code == 2 and ": response: FAIL" in out
    code, _, _ = judge(capsys, tmp_path / "bad.json")
    assert code == 1


# ---------------------------------------------------------------- streams in any saved form


def _jsonl(stream: bytes, blank_lines: bool = False) -> bytes:
    datas = [e.data for e in parse_sse(stream)]
    return ("\n\n" if blank_lines else "\n").join(datas).encode() + b"\n"


@pytest.mark.parametrize("blank_lines", [False, True])
def test_a_jsonl_event_log_is_judged_as_the_same_stream(
        tmp_path: Path, reference: dict[str, bytes], blank_lines: bool) -> None:
    (tmp_path / "s.sse").write_bytes(reference["stream"])
    (tmp_path / "s.jsonl").write_bytes(_jsonl(reference["stream"], blank_lines))
    sse, jsonl = offline.judge_file(tmp_path / "s.sse"), offline.judge_file(tmp_path / "s.jsonl")
    assert [d.kind for d in jsonl] == ["stream"]
    assert names(jsonl) == names(sse)
    assert "stream.lifecycle" in names(jsonl) and "stream.text_accumulation" in names(jsonl)
    assert not jsonl[0].failed


def test_a_broken_jsonl_event_log_fails_as_a_stream(tmp_path: Path, reference: dict[str, bytes]) -> None:
    lines = _jsonl(reference["stream"]).decode().splitlines()
    del lines[-1]  # no terminal event
    lines.insert(2, "{not json")
    (tmp_path / "cut.jsonl").write_text("\n".join(lines))
    [doc] = offline.judge_file(tmp_path / "cut.jsonl")
    failed = {r.name for r in doc.failed}
    assert doc.kind == "stream" and {"stream.event_json", "stream.terminal_event"} <= failed


def test_a_json_array_of_events_is_a_stream(tmp_path: Path, reference: dict[str, bytes]) -> None:
    events = [json.loads(e.data) for e in parse_sse(reference["stream"])]
    (tmp_path / "events.json").write_text(json.dumps(events))
    [doc] = offline.judge_file(tmp_path / "events.json")
    assert doc.kind == "stream" and not doc.failed and "stream.lifecycle" in names([doc])


# ---------------------------------------------------------------- the request as context


def _echo_mismatch(tmp_path: Path, reference: dict[str, bytes]) -> tuple[Path, Path]:
    body = json.loads(reference["body"])
    assert body["temperature"] == 0.5
    body["temperature"] = 0.9  # the request asked for 0.5
    (tmp_path / "r.json").write_text(json.dumps(body))
    (tmp_path / "r.request.json").write_bytes(reference["request"])
    return tmp_path / "r.json", tmp_path / "r.request.json"


def test_request_makes_response_echo_run(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         reference: dict[str, bytes]) -> None:
    body, request = _echo_mismatch(tmp_path, reference)
    code, out, err = judge(capsys, body, "--request", request)
    assert code == 1 and not err
    assert "✗ response.echo $.temperature: request set temperature=0.5 but the Response has 0.9" in out
    # without the request the body is a valid Response: echo has nothing to compare, so it does not run
    assert "response.echo" not in names(offline.judge_file(body))
    assert judge(capsys, body)[0] == 0


def test_request_applies_to_one_file_only(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          reference: dict[str, bytes]) -> None:
    body, request = _echo_mismatch(tmp_path, reference)
    code, _, err = judge(capsys, body, body, "--request", request)
    assert code == 2 and len(err) == 1 and "--request" in err[0]
    (tmp_path / "bad.request.json").write_text("[1]")
    code, out, err = judge(capsys, body, "--request", tmp_path / "bad.request.json")
    assert code == 2 and err == [f"judge: {tmp_path / 'bad.request.json'}: request body is JSON list, expected an object"]


def test_a_capture_dir_pairs_bodies_with_their_requests(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        reference: dict[str, bytes]) -> None:
    _echo_mismatch(tmp_path, reference)
    (tmp_path / "alone.json").write_text((tmp_path / "r.json").read_text())  # same body, no request beside it
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "s.sse").write_bytes(reference["stream"])
    (tmp_path / "sub" / "s.request.json").write_text(json.dumps({**json.loads(reference["request"]), "stream": True}))
    judged = {c.id: c for c in offline.judge_capture_dir(tmp_path)}
    assert set(judged) == {"r", "alone", "sub/s"}
    outcomes = {cid: {r.name: r.outcome.value for r in c.results} for cid, c in judged.items()}
    assert outcomes["r"]["response.echo"] == "fail"
    assert "response.echo" not in outcomes["alone"]
    assert outcomes["sub/s"]["response.echo"] == "pass" and "stream.lifecycle" in outcomes["sub/s"]
    code, out, _ = judge(capsys, tmp_path)
    assert code == 1 and out.count(": FAIL") == 1 and out.count(": PASS") == 2


def test_a_broken_request_file_in_a_capture_dir_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            reference: dict[str, bytes]) -> None:
    (tmp_path / "a.json").write_bytes(reference["body"])
    (tmp_path / "a.request.json").write_text("{broken")
    (tmp_path / "b.json").write_bytes(reference["body"])
    code, out, err = judge(capsys, tmp_path)
    assert code == 2 and err == [f"judge: {tmp_path / 'a.request.json'}: request body is not JSON"]
    assert f"{tmp_path / 'b.json'}: response: PASS" in out and f"{tmp_path / 'a.json'}:" not in out


def test_the_manifest_gives_the_real_status_and_endpoint(tmp_path: Path, reference: dict[str, bytes]) -> None:
    envelope = {"error": {"message": "bad", "type": "invalid_request_error", "param": None, "code": None}}
    (tmp_path / "err.json").write_text(json.dumps(envelope))
    (tmp_path / "get.json").write_bytes(reference["body"])
    resp_id = json.loads(reference["body"])["id"]
    manifest = {"captures": [
        {"id": "p/err", "request_uri": "https://api.example/v1/responses", "method": "POST", "http_status": 200,
         "capture_date": "2026-01-02T03:04:05Z", "model": "m1", "stream": False, "files": {"body": "err.json"}},
        {"id": "p/get", "request_uri": f"https://api.example/v1/responses/{resp_id}?stream=false", "method": "GET",
         "http_status": 200, "capture_date": "2026-01-03T00:00:00Z", "model": "m2", "stream": False,
         "files": {"body": "get.json"}},
    ]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    judged = {c.id: c for c in offline.judge_capture_dir(tmp_path)}
    assert (judged["p/err"].date, judged["p/err"].model) == ("2026-01-02T03:04:05Z", "m1")
    # recorded as a 200: an error envelope in a 200 is a failure (standalone it would be judged as a 400 error)
    assert {r.name: r.outcome.value for r in judged["p/err"].results}["http.no_error_in_200"] == "fail"
    assert not offline.judge_file(tmp_path / "err.json")[0].failed
    assert judged["p/get"].documents[0].kind == "response" and not judged["p/get"].documents[0].failed


def test_spec_as_of_capture_uses_each_capture_date(tmp_path: Path, reference: dict[str, bytes]) -> None:
    (tmp_path / "a.json").write_bytes(reference["body"])
    (tmp_path / "manifest.json").write_text(json.dumps({"captures": [
        {"id": "a", "request_uri": "https://x/v1/responses", "method": "POST", "http_status": 200,
         "capture_date": "2025-05-06T07:08:09Z", "model": "m", "files": {"body": "a.json"}}]}))
    [capture] = offline.judge_capture_dir(tmp_path, spec_as_of_capture=True)
    assert capture.spec_as_of == "2025-05-06"
    [capture] = offline.judge_capture_dir(tmp_path)
    assert capture.spec_as_of == ""


# ---------------------------------------------------------------- policy flags and output


def test_strict_behaviour_turns_warnings_into_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        reference: dict[str, bytes]) -> None:
    (tmp_path / "done.sse").write_bytes(reference["stream"] + b"data: [DONE]\n\n")  # observed: a warning
    code, out, _ = judge(capsys, tmp_path / "done.sse")
    assert code == 0 and ": stream: PASS (" in out and "1 warning)" in out
    assert "  ! warning: stream.done_sentinel events[" in out
    assert out.rstrip().endswith("distinct findings: 0 fail, 1 warning, 0 note (1 document judged)")
    code, out, _ = judge(capsys, tmp_path / "done.sse", "--strict-behaviour")
    assert code == 1 and "  ✗ stream.done_sentinel" in out and "(--strict-behaviour)" in out


def test_failures_come_before_warnings_and_distinct_findings_count_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], reference: dict[str, bytes]) -> None:
    stream = reference["stream"].replace(b'"sequence_number": 0,', b'"sequence_number": "0",', 1)
    assert stream != reference["stream"]
    for name in ("one.sse", "two.sse"):
        (tmp_path / name).write_bytes(stream + b"data: [DONE]\n\n")
    code, out, _ = judge(capsys, tmp_path / "one.sse")
    lines = out.splitlines()
    fails = [i for i, line in enumerate(lines) if line.startswith("  ✗")]
    warns = [i for i, line in enumerate(lines) if line.startswith("  !")]
    assert code == 1 and fails and warns and max(fails) < min(warns)
    single = lines[-1]
    code, out, _ = judge(capsys, tmp_path / "one.sse", tmp_path / "two.sse")
    assert out.count("  ✗") == 2 * len(fails)
    assert out.splitlines()[-1] == single.replace("(1 document judged)", "(2 documents judged)")


def test_spec_as_of_must_be_a_date_or_capture(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              reference: dict[str, bytes]) -> None:
    (tmp_path / "r.json").write_bytes(reference["body"])
    code, _, err = judge(capsys, tmp_path / "r.json", "--spec-as-of", "last tuesday")
    assert code == 2 and len(err) == 1 and "--spec-as-of" in err[0]
    assert judge(capsys, tmp_path / "r.json", "--spec-as-of", "2025-06-01")[0] == 0
    assert judge(capsys, tmp_path / "r.json", "--spec-as-of", "capture", "--spec-strict")[0] == 0


def test_policy_reaches_the_checks(tmp_path: Path, reference: dict[str, bytes]) -> None:
    (tmp_path / "done.sse").write_bytes(reference["stream"] + b"data: [DONE]\n\n")
    default = offline.judge_file(tmp_path / "done.sse")[0]
    strict = offline.judge_file(tmp_path / "done.sse", policy=JudgePolicy(strict_behaviour=True))[0]
    assert not default.failed and [r.name for r in strict.failed] == ["stream.done_sentinel"]


# ---------------------------------------------------------------- real captures


def _real(capture_id: str, captures: list[offline.JudgedCapture]) -> offline.JudgedCapture:
    return next(c for c in captures if c.id == capture_id)


@needs_real
def test_real_openai_dir_is_judged_with_its_manifest() -> None:
    captures = offline.judge_capture_dir(REAL)
    manifest = json.loads((REAL / "manifest.json").read_text())["captures"]
    assert [c.id for c in captures] == [m["id"] for m in manifest]
    assert not [c.problem for c in captures if c.problem]
    err = _real("pydantic-ai/test_openai_responses_model_http_error", captures)
    assert err.documents[0].kind == "error" and not err.documents[0].failed
    assert err.model == "gpt-4o" and err.date.startswith("2025-03-31")
    # request-dependent checks run on real traffic: a create capture with its request echoes it
    basic = _real("crewAI/test_openai_responses_api_basic_call", captures)
    assert {r.name: r.outcome.value for r in basic.results}.get("response.echo") == "pass"


@needs_real
def test_a_project_subdirectory_uses_the_parent_manifest() -> None:
    captures = offline.judge_capture_dir(REAL / "pydantic-ai")
    assert captures and all(c.id.startswith("pydantic-ai/") for c in captures)
    assert _real(RESUMED, captures).date  # manifest metadata, not a bare file pairing


@needs_real
@pytest.mark.parametrize("where", [REAL, REAL / "pydantic-ai"], ids=["real-openai", "pydantic-ai"])
def test_a_starting_after_replay_is_judged_with_the_stream_it_resumes(where: Path) -> None:
    resumed = _real(RESUMED, offline.judge_capture_dir(where))
    [doc] = resumed.documents
    assert doc.kind == "stream" and "resumed after sequence_number 0 of" in doc.label
    lifecycle = next(r for r in doc.results if r.name == "stream.lifecycle")
    assert not lifecycle.findings, lifecycle.findings
    assert not [r.name for r in doc.failed if r.name.startswith("stream.") and r.name != "stream.event_schema"
                and r.name != "stream.final_response"]
    # alone, the replay starts with response.queued: the finding the joined judgement removes
    [alone] = offline.judge_file(REAL / f"{RESUMED}.sse")
    assert any("must start with response.created" in f.message for r in alone.failed for f in r.findings)


@needs_real
@pytest.mark.xfail(dates.requirement_since(CACHE_WRITE_RULE) is None, strict=True,
                   reason="needs the rule on schema findings and requirement_dates.json (branch `dates`), not on main yet")
def test_spec_as_of_capture_turns_a_newer_requirement_into_a_note() -> None:
    capture_id = "crewAI/test_openai_responses_api_basic_call"
    current = _real(capture_id, offline.judge_capture_dir(REAL / "crewAI"))
    as_of = _real(capture_id, offline.judge_capture_dir(REAL / "crewAI", spec_as_of_capture=True))

    def cache_write(c: offline.JudgedCapture) -> list[Any]:
        return [f for r in c.results for f in r.findings if "cache_write_tokens" in f.message]

    assert cache_write(current) and {f.severity for f in cache_write(current)} == {"fail"}
    assert {f.severity for f in cache_write(as_of)} == {"note"}
    assert all("after --spec-as-of 2026-01-23" in f.note for f in cache_write(as_of))
    assert not as_of.documents[0].failed


@needs_real
def test_spec_as_of_capture_reaches_the_classifier(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plumbing of the test above, independent of the requirement dates: pretend every requirement dates
    from 2026-08-01; judged as of its capture date (2026-01-23) a crewAI capture then has notes, no failures."""
    monkeypatch.setattr(dates, "requirement_since", lambda rule: "2026-08-01")
    capture_id = "crewAI/test_openai_responses_api_basic_call"
    current = _real(capture_id, offline.judge_capture_dir(REAL / "crewAI"))
    as_of = _real(capture_id, offline.judge_capture_dir(REAL / "crewAI", spec_as_of_capture=True))
    assert current.documents[0].failed and as_of.spec_as_of == "2026-01-23"
    assert not as_of.documents[0].failed
    notes = as_of.documents[0].findings("note")
    assert notes and all("after --spec-as-of 2026-01-23" in f.note for _, f in notes)
