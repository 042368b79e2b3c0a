"""Lossless recordings (issue 12): every run writes a HAR 1.2 file; ``judge --recording`` re-judges it offline.

Done means: a recorded run re-judged offline gives the same verdicts as the live run, on the reference server
(undeviated, a full run; deviated, so that fails are compared too) and on a peer's recording. The recording is
valid HAR 1.2, holds the exchanges exactly (rebuilt field by field), and a bad file is one line and exit 2.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance import cli
from conformance.cases import load_all
from conformance.record.exchange import Exchange, RecordedRequest, SSEEvent, WSMessage
from conformance.record.har import HarWriter, RecordingError, read_recording, recording_path
from conformance.record.http import Limits, Recorder, Target
from conformance.reference import MODEL_NAME, ReferenceServer
from conformance.report import RESULTS_SCHEMA_PATH
from conformance.run.engine import CaseResult, judge, record_case
from conformance.run.rejudge import case_record, case_recording
from conformance.suite import CASES_DIR

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-recording-test-key-0001"
#: every transport: HTTP JSON and SSE, WebSocket turns, the official SDK, errors and state
SUBSET = "basic or streaming or sdk or errors or state"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The live run and the re-judging share a working directory (case files are shown relative to it)."""
    monkeypatch.chdir(tmp_path)


def _run(tmp: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[dict[str, Any], Path]:
    """A live run through the command; its results document and its recording."""
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--reports", str(tmp), "-q", *extra],
                          cwd=Path.cwd(), capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode in (0, 1, 3), proc.stdout[-3000:] + proc.stderr[-3000:]
    [results] = [p for p in tmp.glob("*.json")]
    doc = json.loads(results.read_text())
    har = recording_path(results)
    assert har.is_file() and doc["run"]["recording"] == har.name, (doc["run"].get("recording"), list(tmp.iterdir()))
    return doc, har


def _rejudge(har: Path, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = cli.main(["judge", "--recording", str(har), "--json", str(out), *extra])
    return code, json.loads(out.read_text())


def _verdicts(doc: dict[str, Any]) -> dict[str, tuple[str, frozenset[str]]]:
    """Case id -> (outcome, distinct finding keys): the verdict the brief compares."""
    return {c["id"]: (c["outcome"], frozenset(f["key"] for chk in c["checks"] for f in chk["findings"] if f.get("key")))
            for c in doc["cases"]}


def _assert_same_run(live: dict[str, Any], again: dict[str, Any]) -> None:
    assert _verdicts(again) == _verdicts(live)
    for a, b in zip(live["cases"], again["cases"], strict=True):  # and every case entry, evidence included
        assert a == b, a["id"]
    assert again["findings"] == live["findings"] and again["summary"] == live["summary"]
    assert again["run"]["rejudged_from"] and "rejudged_from" not in live["run"]
    assert again["run"]["recording"].endswith(live["run"]["recording"])  # relative to the results file's folder
    schema = json.loads(RESULTS_SCHEMA_PATH.read_text())
    jsonschema.validate(live, schema)
    jsonschema.validate(again, schema)


# ---------------------------------------------------------------- the reference server


def test_full_reference_run_rejudged_gives_the_live_verdicts(tmp_path: Path) -> None:
    live, har = _run(tmp_path)
    assert len(live["cases"]) > 250 and live["summary"]["counts"]["pass"] > 250
    code, again = _rejudge(har, tmp_path / "again.json")
    assert code == cli.EXIT_OK
    _assert_same_run(live, again)
    groups = {c["group"] for c in again["cases"]}
    assert {"sdk", "streaming", "errors"} <= groups
    assert any(ex["request"]["method"] == "WS" for c in again["cases"] for ex in c["exchanges"])
    assert _har_problems(json.loads(gzip.decompress(har.read_bytes()))) == []


DEVIATIONS = ("delta_text_mismatch", "ws_binary_frames", "non_json_event_data", "chat_usage_names", "auth_403",
              "unknown_id_500", "error_detail_envelope")


def test_deviated_run_rejudged_gives_the_same_fails(tmp_path: Path) -> None:
    args = [a for d in DEVIATIONS for a in ("--deviate", d)]
    live, har = _run(tmp_path, "-k", SUBSET, *args)
    counts = live["summary"]["counts"]
    assert counts["fail"] >= 20 and live["summary"]["deviations"]["fail"] >= 5, counts
    code, again = _rejudge(har, tmp_path / "again.json")
    assert code == cli.EXIT_FAIL
    _assert_same_run(live, again)
    assert again["run"]["deviations"] == list(DEVIATIONS)
    junit = "reference__reference-1.junit.xml"  # the same failures, errors and deviation keys in CI's vocabulary
    assert _junit_cases(tmp_path / "reports" / junit) == _junit_cases(tmp_path / junit)
    assert any("failure" in tags for _, tags, _ in _junit_cases(tmp_path / junit))


def test_rejudging_applies_the_current_policy(tmp_path: Path) -> None:
    """Not a replay of the old verdicts: the judge runs again (here under --spec-strict, a warning becomes a fail)."""
    live, har = _run(tmp_path, "-k", "streaming.function_call", "--deviate", "function_args_done_without_name")
    [case] = [c for c in live["cases"] if c["id"] == "streaming.function_call"]
    assert case["outcome"] == "pass" and case["warnings"] >= 1
    code, strict = _rejudge(har, tmp_path / "strict.json", "--spec-strict")
    assert code == cli.EXIT_FAIL
    assert {c["id"]: c["outcome"] for c in strict["cases"]}["streaming.function_call"] == "fail"
    assert strict["run"]["policy"]["spec_strict"] is True and live["run"]["policy"]["spec_strict"] is False


def test_a_model_that_ignored_the_probes_is_rejudged_as_the_live_run_judged_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The recorded probe preflight is what the re-judging assumes: behavioural expectations skipped alike."""
    live, har = _run(tmp_path, "-k", "basic or parameters.instructions", "--deviate", "probes_ignored")
    assert live["run"]["probe_preflight"]["follows_probes"] is False
    assert any(c["outcome"] == "skipped" for c in live["cases"])
    capsys.readouterr()
    code, again = _rejudge(har, tmp_path / "again.json")
    _assert_same_run(live, again)
    assert "model does not follow probes (recorded preflight)" in capsys.readouterr().out


def test_rejudged_results_make_the_same_matrix_column(tmp_path: Path) -> None:
    live_dir, again_dir = tmp_path / "live", tmp_path / "again"
    live_dir.mkdir()
    live, har = _run(live_dir, "-k", "basic")
    code = cli.main(["judge", "--recording", str(har), "--reports", str(again_dir)])
    assert code == cli.EXIT_OK
    again = json.loads((again_dir / "reference__reference-1.json").read_text())  # the live run's file name
    _assert_same_run(live, again)
    out = tmp_path / "matrix.html"
    assert cli.main(["matrix", str(again_dir / "reference__reference-1.json"), "-o", str(out)]) == cli.EXIT_OK
    assert "reference-1" in out.read_text()
    for name in ("reference__reference-1.html", "reference__reference-1.junit.xml"):  # the live run's other reports
        assert (again_dir / name).is_file() and (live_dir / name).is_file()
    assert _junit_cases(again_dir / "reference__reference-1.junit.xml") == \
        _junit_cases(live_dir / "reference__reference-1.junit.xml")


def _junit_cases(path: Path) -> list[tuple[str, list[str], list[tuple[str, str]]]]:
    """Each testcase's name, verdict elements and properties (its timings aside)."""
    import xml.etree.ElementTree as ET

    return [(tc.get("name", ""), [child.tag for child in tc if child.tag != "properties"],
             [(p.get("name", ""), p.get("value", "")) for p in tc.iter("property")])
            for tc in ET.parse(path).getroot().iter("testcase")]


def test_a_case_gone_from_the_cases_is_named_and_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    live, har = _run(tmp_path, "-k", "basic.text or basic.distinct_ids")
    cases = tmp_path / "cases"
    cases.mkdir()
    source = (CASES_DIR / "basic.yaml").read_text()
    shutil.copy(CASES_DIR / "basic.yaml", cases / "basic.yaml")
    assert "distinct_ids" in source
    capsys.readouterr()
    code, again = _rejudge(har, tmp_path / "again.json", "--cases", str(cases))
    assert code == cli.EXIT_OK and {c["id"] for c in again["cases"]} == {c["id"] for c in live["cases"]}
    empty = tmp_path / "other"
    empty.mkdir()
    (empty / "x.yaml").write_text((cases / "basic.yaml").read_text().replace("id: basic.text\n", "id: basic.text_renamed\n"))
    capsys.readouterr()
    code, again = _rejudge(har, tmp_path / "again2.json", "--cases", str(empty))
    err = capsys.readouterr().err
    assert "basic.text" in err and "not in the current cases" in err
    assert "basic.text" not in {c["id"] for c in again["cases"]}


# ---------------------------------------------------------------- exactness


def _odd_exchanges() -> list[Exchange]:
    """What the reference server never sends: bytes that are not UTF-8, a compacted body, events whose raw bytes are
    not the body's (redacted), WebSocket opcodes and framing problems, an SDK outcome, a request never answered."""
    body = b"data: {\"a\": 1}\n\n\xff\xfe not utf-8"
    events = [SSEEvent('{"a": 1}', None, None, None, b"data: {\"a\": 1}\n\n", 0, 0.25),
              SSEEvent("x", "e", "7", 1500, b"<redacted>\xff", 99, 1.5, ws=WSMessage(2, "unmasked")),
              SSEEvent("\ud800 lone surrogate", "", "", None, b"", 0, 0.0)]
    sent = RecordedRequest("POST", "http://h/v1/responses?x=1&y", "/responses?x=1&y",
                           {"Authorization": "Bearer $K", "Content-Type": "application/json"},
                           {"model": "m", "n": 1.5, "nested": [{"a": None}]}, True)
    compacted = Exchange("s2", RecordedRequest("GET", "http://h/v1/responses/r", "/responses/r"), status=200,
                         body=b"head", body_truncated=True, body_tail=b"\x00tail", body_omitted=123456,
                         error_kind="too_large", error="body exceeded", events_omitted=3)
    return [
        Exchange("s1", sent, 200, [("content-type", "text/event-stream"), ("x-dup", "1"), ("x-dup", "2")], body,
                 events=events, started_at=1764633600.123456, elapsed_s=2.5, ttfb_s=0.125, curl="curl -sS ..."),
        compacted,
        Exchange("s3", RecordedRequest("POST", "http://h/v1/responses", "/responses", {}, None, False, "{not json"),
                 400, [("content-type", "application/json")], b'{"error": {}}'),
        Exchange("s4", RecordedRequest("POST", "http://h:1/v1/responses", "/responses", {}, {"a": 1}),
                 error_kind="connect", error="ConnectError: refused", elapsed_s=0.01),
        Exchange("ws", RecordedRequest("GET", "ws://h/v1/responses", "/responses", {}, {"type": "response.create"}, True),
                 101, [("upgrade", "websocket")], b"\x81\x02hi", events=[SSEEvent("hi", raw=b"\x81\x02hi", ws=WSMessage(1))],
                 transport="websocket"),
        Exchange("sdk", RecordedRequest("POST", "http://h/v1/responses", "/responses", {}, {"a": 1}), 200,
                 body=b"{}", transport="sdk", sdk=None),
        Exchange("sdk", RecordedRequest("", "http://h/v1/", "responses.create", {}, {"model": "m"}), transport="sdk",
                 sdk={"call": "responses.create", "ok": False, "exception": {"type": "APIError"}}),
    ]


def _write(path: Path, cases: list[tuple[str, list[Exchange]]]) -> None:
    writer = HarWriter(path)
    for case_id, exchanges in cases:
        writer.add(case_id, {"outcome": "pass"}, exchanges)
    writer.close({"judge": {"profile": "openai"}, "run": {"provider": "p", "model": "m"}})


def test_odd_exchanges_are_rebuilt_exactly(tmp_path: Path) -> None:
    odd = _odd_exchanges()
    path = tmp_path / "x.har.gz"
    _write(path, [("c1", odd[:3]), ("c2", []), ("c3", odd[3:])])
    got = read_recording(path)
    assert [c.id for c in got.cases] == ["c1", "c2", "c3"]
    rebuilt = [ex for c in got.cases for ex in c.exchanges]
    assert rebuilt == odd and [type(e) for e in rebuilt] == [type(e) for e in odd]
    doc = json.loads(gzip.decompress(path.read_bytes()))
    assert _har_problems(doc) == []
    content = doc["log"]["entries"][0]["response"]["content"]
    assert content["encoding"] == "base64" and base64.b64decode(content["text"]) == odd[0].body
    assert doc["log"]["entries"][4]["_resourceType"] == "websocket"
    plain = tmp_path / "x.har"  # gunzipped (as a browser imports it), it reads the same
    plain.write_bytes(gzip.decompress(path.read_bytes()))
    assert [ex for c in read_recording(plain).cases for ex in c.exchanges] == odd


def _reference_recordings() -> Iterator[tuple[Any, Any]]:
    wanted = ("basic.text", "streaming.text", "streaming.websocket_sequential", "sdk.create_stream",
              "state.delete_then_get", "errors.input_wrong_type")
    cases = {c.id: c for c in load_all(CASES_DIR)}
    with ReferenceServer(api_key=KEY) as server, \
            Recorder(Target(server.base_url, MODEL_NAME, api_key=KEY), Limits(idle_timeout_s=10, deadline_s=30)) as rec:
        for case_id in wanted:
            recording = record_case(cases[case_id], rec, env={})
            yield recording, judge(recording)


def test_recorded_cases_are_rebuilt_exactly_and_judged_alike(tmp_path: Path) -> None:
    pairs = list(_reference_recordings())
    path = tmp_path / "ref.har.gz"
    writer = HarWriter(path)
    for rec, result in pairs:
        writer.add(rec.case.id, case_record(rec, result), rec.exchanges)
    writer.close({"judge": {"profile": "openai"}, "run": {}})
    got = read_recording(path)
    for (rec, result), recorded in zip(pairs, got.cases, strict=True):
        again = case_recording(rec.case, recorded.record, recorded.exchanges, "case", env={})
        assert again.exchanges == rec.exchanges and [type(e) for e in again.exchanges] == [type(e) for e in rec.exchanges]
        assert {k: v for k, v in vars(again).items() if k != "env"} == {k: v for k, v in vars(rec).items() if k != "env"}
        rejudged: CaseResult = judge(again)
        assert (rejudged.outcome, [c.to_dict() for c in rejudged.checks]) == \
            (result.outcome, [c.to_dict() for c in result.checks]), rec.case.id
    assert any(ex.transport == "websocket" for rec, _ in pairs for ex in rec.exchanges)
    assert any(ex.transport == "sdk" and ex.sdk for rec, _ in pairs for ex in rec.exchanges)


def test_each_case_is_on_disk_once_handed_over(tmp_path: Path) -> None:
    """Streamed, not held: after add() the case's entries are in the (still open) file, readable so far."""
    path = tmp_path / "x.har.gz"
    writer = HarWriter(path)
    writer.add("first.case", {}, _odd_exchanges()[:1])
    [partial_file] = tmp_path.glob("*.partial")
    partial = partial_file.read_bytes()
    text = zlib.decompressobj(31).decompress(partial).decode("utf-8", errors="replace")
    assert '"case": "first.case"' in text and '"_conformance": {"format"' not in text
    writer.close({})
    assert not list(tmp_path.glob("*.partial")) and path.is_file()


# ---------------------------------------------------------------- HAR 1.2


def _har_problems(doc: Any) -> list[str]:
    """The HAR 1.2 required fields and their types (http://www.softwareishard.com/blog/har-12-spec/): what a
    browser's HAR import needs."""
    problems: list[str] = []

    def need(obj: Any, where: str, **fields: Any) -> None:
        if not isinstance(obj, dict):
            problems.append(f"{where}: not an object")
            return
        for name, kind in fields.items():
            if name not in obj:
                problems.append(f"{where}.{name}: missing")
            elif not isinstance(obj[name], kind) or isinstance(obj[name], bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
                problems.append(f"{where}.{name}: {type(obj[name]).__name__}")

    def pairs(items: Any, where: str) -> None:
        for i, pair in enumerate(items if isinstance(items, list) else []):
            need(pair, f"{where}[{i}]", name=str, value=str)

    need(doc, "$", log=dict)
    log = doc.get("log", {})
    need(log, "log", version=str, creator=dict, entries=list)
    need(log.get("creator"), "log.creator", name=str, version=str)
    if log.get("version") != "1.2":
        problems.append(f"log.version: {log.get('version')!r}")
    number = (int, float)
    for i, e in enumerate(log.get("entries", [])):
        w = f"log.entries[{i}]"
        need(e, w, startedDateTime=str, time=number, request=dict, response=dict, cache=dict, timings=dict)
        req, resp, timings = e.get("request", {}), e.get("response", {}), e.get("timings", {})
        need(req, f"{w}.request", method=str, url=str, httpVersion=str, cookies=list, headers=list, queryString=list,
             headersSize=int, bodySize=int)
        pairs(req.get("headers"), f"{w}.request.headers")
        pairs(req.get("queryString"), f"{w}.request.queryString")
        if "postData" in req:
            need(req["postData"], f"{w}.request.postData", mimeType=str, text=str)
        need(resp, f"{w}.response", status=int, statusText=str, httpVersion=str, cookies=list, headers=list,
             content=dict, redirectURL=str, headersSize=int, bodySize=int)
        pairs(resp.get("headers"), f"{w}.response.headers")
        need(resp.get("content"), f"{w}.response.content", size=int, mimeType=str)
        need(timings, f"{w}.timings", send=number, wait=number, receive=number)
        if any(timings.get(k, 0) < -1 for k in ("blocked", "dns", "connect", "ssl", "send", "wait", "receive")):
            problems.append(f"{w}.timings: below -1")
        total = sum(v for k, v in timings.items() if k in ("blocked", "dns", "connect", "send", "wait", "receive") and v != -1)
        if abs(total - e.get("time", 0)) > 0.01:
            problems.append(f"{w}.time {e.get('time')} is not the sum of its timings ({total})")
        try:
            from datetime import datetime

            datetime.fromisoformat(str(e.get("startedDateTime")).replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"{w}.startedDateTime: not ISO 8601")
        if any(k.startswith("_") is False and k not in ("startedDateTime", "time", "request", "response", "cache",
                                                         "timings", "serverIPAddress", "connection", "comment", "pageref")
               for k in e):
            problems.append(f"{w}: a custom field without a leading underscore")
    return problems


def test_the_har_check_catches_what_browsers_refuse() -> None:
    assert _har_problems({"log": {"version": "1.1", "creator": {"name": "x", "version": "1"}, "entries": []}})
    entry = {"startedDateTime": "2026-01-01T00:00:00.000Z", "time": 1, "request": {}, "response": {}, "cache": {},
             "timings": {"send": 0, "wait": 1, "receive": 0}, "conformance": {}}
    found = _har_problems({"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}, "entries": [entry]}})
    assert "log.entries[0].request.method: missing" in found and any("underscore" in p for p in found)


# ---------------------------------------------------------------- bad recordings


def _good_doc() -> dict[str, Any]:
    odd = _odd_exchanges()
    buf = Path(os.environ.get("TMPDIR", "/tmp")) / f"conformance-good-{os.getpid()}.har.gz"
    try:
        _write(buf, [("basic.text", odd[:1])])
        return dict(json.loads(gzip.decompress(buf.read_bytes())))
    finally:
        buf.unlink(missing_ok=True)


def _bad(kind: str, tmp: Path) -> Path:
    path = tmp / "bad.har.gz"
    doc = _good_doc()
    if kind == "garbage":
        path.write_bytes(b"\x00\x01 not a recording")
    elif kind == "truncated":
        path.write_bytes(gzip.compress(json.dumps(doc).encode())[:-40])
    elif kind == "directory":
        path.mkdir()
    elif kind == "missing":
        pass
    elif kind == "not_har":
        path.write_bytes(gzip.compress(b'{"cases": []}'))
    elif kind == "foreign_har":
        doc["log"].pop("_conformance")
        path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    elif kind == "newer_format":
        doc["log"]["_conformance"]["format"] = 99
        path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    elif kind == "field_type":
        doc["log"]["entries"][0]["_conformance"]["events"][0]["offset"] = "zero"
        path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    elif kind == "raw_outside_body":
        doc["log"]["entries"][0]["_conformance"]["events"][0]["raw_len"] = 10**9
        path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    elif kind == "deep":
        doc["log"]["_conformance"]["run"]["x"] = "DEEP"
        deep = json.dumps(doc).replace('"DEEP"', "[" * 5000 + "]" * 5000)
        path.write_bytes(gzip.compress(deep.encode()))
    elif kind == "bad_profile":
        doc["log"]["_conformance"]["judge"]["profile"] = "nope"
        path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    elif kind == "count_mismatch":
        doc["log"]["_conformance"]["cases"][0]["exchanges"] = 2
        path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    return path


BAD = {"garbage": "not JSON", "truncated": "unreadable gzip", "directory": "is a directory", "missing": "no such file",
       "not_har": "$.log: missing", "foreign_har": "log._conformance: missing", "newer_format": "format: 99",
       "field_type": "log.entries[0]._conformance.events[0].offset: expected int",
       "raw_outside_body": "lie outside the body", "deep": "nested deeper", "count_mismatch": "2 recorded, 1 entries",
       "bad_profile": "judge.profile: 'nope'"}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_recording_is_one_line_and_exit_2(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _bad(kind, tmp_path)
    code = cli.main(["judge", "--recording", str(path), "--json", str(tmp_path / "out.json")])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_USAGE and out == "", (out, err)
    assert err.count("\n") == 1 and err.startswith(f"judge: {path}: ") and BAD[kind] in err, err
    assert not (tmp_path / "out.json").exists()


def test_a_value_too_deep_to_write_leaves_the_case_an_error_not_a_crash(tmp_path: Path) -> None:
    """A hostile server's deep JSON reaches the SDK outcome; the recording must still be written and readable."""
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    path = tmp_path / "x.har.gz"
    ex = Exchange("sdk", RecordedRequest("", "http://h/v1/", "responses.create", {}, {}), transport="sdk",
                  sdk={"value": deep})
    writer = HarWriter(path)
    writer.add("c.deep", {"outcome": "fail"}, [ex])
    writer.add("c.fine", {"outcome": "pass"}, _odd_exchanges()[:1])
    writer.close({})
    got = read_recording(path)
    assert [len(c.exchanges) for c in got.cases] == [0, 1]
    assert got.cases[0].record["internal_error"] is True and "RecursionError" in got.cases[0].record["not_recorded"]


def test_a_value_over_the_size_bound_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader holds one JSON value at a time (an entry, the log-level object), each bounded; the file is not."""
    from conformance.record import har

    path = tmp_path / "x.har.gz"
    _write(path, [(f"c{i}", _odd_exchanges()) for i in range(20)])
    monkeypatch.setattr(har, "_CHUNK_BYTES", 64)
    monkeypatch.setattr(har, "MAX_VALUE_CHARS", 1000)  # the first entry is longer
    with pytest.raises(RecordingError, match=r"x\.har\.gz: one JSON value longer than 1000 characters \(from char \d+\)"):
        read_recording(path)
    monkeypatch.setattr(har, "MAX_VALUE_CHARS", 4000)  # every value fits; the file (100+ kB) would not
    assert len(gzip.decompress(path.read_bytes())) > 25 * 4000
    assert [ex for c in read_recording(path).cases for ex in c.exchanges] == _odd_exchanges() * 20


def test_judge_recording_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.har.gz"
    _write(path, [])
    assert cli.main(["judge", "--recording", str(path), str(tmp_path)]) == cli.EXIT_USAGE
    assert cli.main(["judge", "--recording", str(path), "--spec-as-of", "capture"]) == cli.EXIT_USAGE
    assert cli.main(["judge"]) == cli.EXIT_USAGE
    assert cli.main(["judge", "--json", "x.json", str(path)]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 4 and all(line.startswith("responses-conformance: error: ") for line in err.splitlines())


# ---------------------------------------------------------------- a peer's recording


def _peer_venv(name: str) -> Path | None:
    """The peer's venv (peers/up NAME installs it): this checkout's, else one in ``$CONFORMANCE_PEER_VENVS`` (another
    checkout's peers/ folder, used read-only)."""
    roots = [ROOT / "peers"] + ([Path(os.environ["CONFORMANCE_PEER_VENVS"])] if os.environ.get("CONFORMANCE_PEER_VENVS") else [])
    for root in roots:
        venv = root / f".venv-{name}"
        if (venv / "bin" / name).exists():
            return venv
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_peer_recording_rejudged_gives_the_live_verdicts(tmp_path: Path) -> None:
    """fastresponses (peers/fastresponses) on a port of its own: its fails and passes, recorded, then re-judged."""
    venv = _peer_venv("fastresponses")
    if venv is None:
        pytest.skip("no peers/.venv-fastresponses (peers/up fastresponses installs it; or point CONFORMANCE_PEER_VENVS "
                    "at another checkout's peers/)")
    port, key = _free_port(), "sk-recording-peer-5e1d"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "peers"), "PEER_KEY": key}
    server = subprocess.Popen(
        [str(venv / "bin" / "fastresponses"), "serve", str(ROOT / "peers" / "fastresponses" / "agent.py") + ":agent",
         "--host", "127.0.0.1", "--port", str(port), "--api-key", key, "--model-name", "probe-agent",
         "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=1).close()
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"fastresponses exited: {server.stderr.read().decode()[-2000:] if server.stderr else ''}")
                time.sleep(0.1)
        live, har = _run(tmp_path, "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "probe-agent",
                         "--provider", "fastresponses", "--api-key-env", "PEER_KEY", "-k", SUBSET + " and not sdk",
                         env=env)
    finally:
        server.terminate()
        server.wait(timeout=30)
    counts = live["summary"]["counts"]
    assert counts["fail"] >= 5 and counts["pass"] >= 5, counts
    code, again = _rejudge(har, tmp_path / "again.json")
    assert code == cli.EXIT_FAIL
    _assert_same_run(live, again)
    assert key not in gzip.decompress(har.read_bytes()).decode()


def test_a_run_whose_recording_path_is_a_folder_stops_in_one_line(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "reports" / "reference__reference-1.har.gz").mkdir(parents=True)
    assert cli.main(["run", "-k", "basic.text"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "recording reports/reference__reference-1.har.gz: not a regular file" in err, err
