"""The compatibility matrix, built from real runs against the reference server and a deviated one."""

from __future__ import annotations

import functools
import html
import json
import re
import secrets
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from conformance.cases import load_all
from conformance.record.http import Recorder, Target
from conformance.reference import ReferenceServer
from conformance.report import build_results, write_results
from conformance.report.matrix import MatrixInputError, load, page_data, render
from conformance.run.engine import judge, profile_skip_reason, record_case, skipped
from conformance.suite import CASES_DIR

ROOT = Path(__file__).resolve().parent.parent
DEVIATIONS = ("accept_unknown_model", "no_metadata_echo", "missing_sequence_number")
XSS_SCRIPT = "<script>document.documentElement.setAttribute('data-pwned','script')</script>"
XSS_IMG = "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','img')\">"
XSS_BREAKOUT = "</script><script>document.documentElement.setAttribute('data-pwned','breakout')</script>\u2028"


@functools.lru_cache(maxsize=None)
def _cases() -> tuple[Any, ...]:
    """Loaded once, so every run of a test session compares the same case set."""
    return tuple(load_all(CASES_DIR))


@functools.lru_cache(maxsize=None)
def reference_document(provider: str, model: str, deviations: tuple[str, ...] = (),
                       declared_unavailable: tuple[str, ...] = ()) -> dict[str, Any]:
    """A real run of every case, in-process: the reference server (optionally deviated) → results document."""
    cases = _cases()
    key = "sk-matrix-" + secrets.token_hex(8)
    with ReferenceServer(api_key=key, deviations=deviations) as srv:
        target = Target(srv.base_url, model, api_key=key, provider=provider)
        with Recorder(target) as recorder, ThreadPoolExecutor(max_workers=8) as pool:
            def run(case: Any) -> Any:
                declined = sorted(set(case.capabilities) & set(declared_unavailable))
                if declined:
                    return skipped(case, f"skipped (declared): target declares {', '.join(declined)} unavailable")
                return judge(record_case(case, recorder))

            results = list(pool.map(run, cases))
        meta = {"provider": provider, "model": model, "base_url": srv.base_url, "embedded_reference": True,
                "profile": "openai", "spec": {"version": "test", "sha256": "0"}, "suite_version": "test",
                "started_at": "2026-01-01T00:00:00+00:00", "finished_at": "2026-01-01T00:00:01+00:00",
                "complete": True, "deviations": list(deviations), "variants": []}
    return build_results(results, meta)


def four_runs() -> list[dict[str, Any]]:
    """Two providers × two models: the reference server and a deviated one (tools declared unavailable on mini)."""
    return [
        reference_document("reference", "reference-1"),
        reference_document("reference", "reference-mini"),
        reference_document("deviated", "reference-1", DEVIATIONS),
        reference_document("deviated", "reference-mini", DEVIATIONS, ("tools",)),
    ]


def write_runs(tmp_path: Path, docs: Sequence[dict[str, Any]]) -> list[Path]:
    paths = []
    for doc in docs:
        path = tmp_path / f"{doc['run']['provider']}__{doc['run']['model']}.json"
        write_results(path, doc)
        paths.append(path)
    return paths


def with_hostile_payloads(doc: dict[str, Any]) -> dict[str, Any]:
    """What a hostile server could make us record: markup in output text, error messages and events."""
    doc = json.loads(json.dumps(doc))
    for case in doc["cases"]:
        if case["id"] == "errors.unknown_model":
            case["message"] = f"expect.status: got 200 {XSS_SCRIPT}"
            case["checks"].append({"name": "expect.status", "outcome": "fail", "message": XSS_IMG, "spec_ref": XSS_BREAKOUT,
                                   "step": "create", "findings": [{"message": XSS_SCRIPT, "path": "$.error"}]})
            ex = case["exchanges"][0]
            ex["body"] = json.dumps({"output": [{"content": [{"type": "output_text", "text": XSS_SCRIPT + XSS_BREAKOUT}]}],
                                     "error": {"message": XSS_IMG}})
        if case["id"] == "streaming.text":
            for event in case["exchanges"][0]["events"] or []:
                if event["event"] == "response.output_text.delta":
                    event["data"] = json.dumps({"type": event["event"], "delta": XSS_IMG + XSS_BREAKOUT}, ensure_ascii=False)
    return doc


def cell_classes(page: str) -> dict[str, str]:
    return {html.unescape(m.group(2)): m.group(1)
            for m in re.finditer(r'<td class="cell o-([a-z]+)" data-cell="([^"]+)"', page)}


def test_two_providers_two_models_show_the_differences(tmp_path: Path) -> None:
    paths = write_runs(tmp_path, four_runs())
    matrix = load(paths)
    assert [(c.provider, c.model) for c in matrix.columns] == [
        ("reference", "reference-1"), ("reference", "reference-mini"), ("deviated", "reference-1"), ("deviated", "reference-mini")]
    page = render(matrix)
    cells = cell_classes(page)
    ids = [r.id for r in matrix.rows]
    assert len(cells) == 4 * len(ids)
    # the undeviated server passes everything, for both models (the Open-Responses-only cases are skipped)
    outside = {c.id for c in _cases() if profile_skip_reason(c, "openai")}
    assert outside and all(cells[f"{c}:{i}"] == ("skipped" if i in outside else "pass") for c in (0, 1) for i in ids)
    # each deviation shows up as a failure in both deviated columns, and only there
    for c in (2, 3):
        assert cells[f"{c}:errors.unknown_model"] == "fail"
        assert cells[f"{c}:parameters.metadata_echo"] == "fail"
        assert cells[f"{c}:streaming.text"] == "fail"
    assert cells["2:basic.text"] == "pass"
    # declared-unavailable capability: skipped on deviated/reference-mini, run on deviated/reference-1
    tools = [r.id for r in matrix.rows if "tools" in r.capabilities]
    assert tools and all(cells[f"3:{i}"] == "skipped" for i in tools)
    assert all(cells[f"2:{i}"] in ("pass", "fail") for i in tools)
    # scores: 100% for the reference columns; skipped cases are left out of the deviated/mini score
    scores = [c.score(matrix.rows) for c in matrix.columns]
    assert scores[0]["percent"] == scores[1]["percent"] == 100.0
    assert scores[2]["percent"] is not None and scores[2]["percent"] < 100.0
    scored_tools = [r.id for r in matrix.rows if "tools" in r.capabilities and r.area not in ("sdk", "extensions")]
    assert scores[3]["scored"] == scores[2]["scored"] - len(scored_tools)
    assert 'data-differs="1"' in page and 'data-differs="0"' in page
    # symbols as well as colours: readable without colour
    assert "\u2713" in page and "\u2717" in page and "\u2013" in page
    # rows are grouped by area, in the documented order
    areas = re.findall(r'<tbody data-area="([^"]+)"', page)
    assert areas.index("parameters") < areas.index("streaming") < areas.index("errors")


def test_evidence_has_checks_spec_transcript_and_curl(tmp_path: Path) -> None:
    matrix = load(write_runs(tmp_path, four_runs()))
    data = page_data(matrix)
    ev = data["evidence"]["2:errors.unknown_model"]
    assert ev["outcome"] == "fail" and ev["checks"]
    assert any(c["name"] == "expect.status" and c["spec_ref"] for c in ev["checks"])
    assert ev["exchanges"][0]["curl"].startswith("curl ") and "sk-matrix-" not in json.dumps(ev)
    stream = data["evidence"]["2:streaming.text"]["exchanges"][0]
    assert stream["events"] and stream["events_total"] >= len(stream["events"])
    assert data["rows"]["errors.unknown_model"]["spec"]


def test_server_text_cannot_break_out_of_the_page(tmp_path: Path) -> None:
    docs = four_runs()
    docs[2] = with_hostile_payloads(docs[2])
    docs[2]["run"]["provider"] = "<b>evil</b>"
    page = render(load(write_runs(tmp_path, docs)))
    blob = page.split('<script type="application/json" id="matrix-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in blob and ">" not in blob and "\u2028" not in blob
    assert XSS_SCRIPT not in page and XSS_IMG not in page and "<b>evil</b>" not in page
    assert "&lt;b&gt;evil&lt;/b&gt;" in page
    data = json.loads(blob)
    ev = data["evidence"]["2:errors.unknown_model"]
    assert XSS_SCRIPT in ev["message"] and XSS_SCRIPT in ev["exchanges"][0]["body"]
    assert page.count("<script") == 2  # the JSON blob and our own script, nothing else


def test_shards_merge_into_one_column(tmp_path: Path) -> None:
    doc = reference_document("reference", "reference-1")
    half = len(doc["cases"]) // 2
    a = {**doc, "cases": doc["cases"][:half]}
    b = {**doc, "cases": doc["cases"][half:]}
    write_results(tmp_path / "a.json", a)
    write_results(tmp_path / "b.json", b)
    matrix = load([tmp_path / "a.json", tmp_path / "b.json"])
    assert len(matrix.columns) == 1 and len(matrix.columns[0].cases) == len(doc["cases"])
    assert matrix.columns[0].files == [str(tmp_path / "a.json"), str(tmp_path / "b.json")]


def test_huge_bodies_are_clipped(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(reference_document("reference", "reference-1")))
    doc["cases"][0]["outcome"] = "fail"
    doc["cases"][0]["exchanges"][0]["body"] = "x" * 500_000
    doc["cases"][1]["exchanges"][0]["body"] = "y" * 500_000
    write_results(tmp_path / "r.json", doc)
    page = render(load([tmp_path / "r.json"]))
    assert "x" * 16_000 in page and "x" * 16_100 not in page and "more characters clipped" in page
    assert "y" * 900 not in page  # passing cells carry a smaller budget


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"r.json:1: invalid JSON"),
        ('{"schema_version": 2}', r"r.json: schema_version: expected 1, got 2"),
        ('{"schema_version": 1, "run": {"provider": "p"}, "cases": []}', r"r.json: run.model: missing"),
        ('{"schema_version": 1, "run": {"provider": "p", "model": "m"}, "cases": [{"id": "x", "outcome": "great"}]}',
         r"r.json: cases\[0\].outcome: 'great' is not one of"),
    ],
)
def test_bad_results_files_are_named(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "r.json").write_text(content)
    with pytest.raises(MatrixInputError, match=message):
        load([tmp_path / "r.json"])


def test_matrix_command(tmp_path: Path) -> None:
    from conformance.cli import main

    paths = write_runs(tmp_path / "reports", four_runs()[:2])
    out = tmp_path / "m.html"
    assert main(["matrix", *map(str, paths), "-o", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert main(["matrix", str(tmp_path / "reports"), "-o", str(out)]) == 0  # a directory of results files
    assert main(["matrix", str(tmp_path / "missing.json"), "-o", str(out)]) == 2


def test_distinct_findings_count_each_deviation_once_however_many_cases_and_checks() -> None:
    from conformance.report.findings import deviation_counts, distinct_findings

    def check(name: str, outcome: str, *findings: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "outcome": outcome, "message": "x", "step": "create", "findings": list(findings)}

    rule = "ResponseUsage.input_tokens_details:required:cache_write_tokens"
    missing = {"message": "'cache_write_tokens' is missing (required)", "path": "$.usage.input_tokens_details",
               "rule": rule, "severity": "fail", "basis": "schema"}
    cases = [
        {"id": "a", "outcome": "fail", "checks": [check("response.schema", "fail", missing,
                                                        {"message": "bad", "path": "$.output[0].id", "severity": "fail"},
                                                        {"message": "bad", "path": "$.output[3].id", "severity": "fail"})]},
        {"id": "b", "outcome": "fail", "checks": [check("stream.final_response", "fail", dict(missing, path="events[9].response.usage")),
                                                  check("stream.event_schema", "fail", missing)]},
        {"id": "c", "outcome": "pass", "checks": [check("stream.done_sentinel", "pass",
                                                        {"message": "[DONE] sent", "severity": "warning", "basis": "observed"})]},
    ]
    found = distinct_findings(cases)
    # the same schema rule under three checks in two cases is one deviation; output[0] and output[3] are one
    assert [(f["key"], f["severity"], f["cases"]) for f in found] == [
        (f"rule:{rule}", "fail", ["a", "b"]),
        ("response.schema|$.output[*].id|bad", "fail", ["a"]),
        ("stream.done_sentinel||[DONE] sent", "warning", ["c"]),
    ]
    assert found[0]["checks"] == ["response.schema", "stream.final_response", "stream.event_schema"]
    assert found[0]["first_seen"] == "a" and found[0]["evidence"] == {"case": "a", "step": "create"}
    assert deviation_counts(found) == {"fail": 2, "warning": 1, "note": 0}


def test_the_page_leads_each_column_with_its_distinct_deviations(tmp_path: Path) -> None:
    page = render(load(write_runs(tmp_path, four_runs())))
    section = page[page.index('<section id="findings">'):page.index("</section>")]
    assert section.count("<details") == 4
    # the reference columns fail nothing; the deviated ones name what the deviations broke
    assert "reference / reference-1: 0 distinct deviation(s) in 0 failing case(s)" in section
    deviated = section.split("deviated / reference-1")[1].split("</details>")[0]
    assert "sequence_number" in deviated and "[schema]" in deviated  # missing_sequence_number, with its basis
    head = page[page.index("<thead>"):page.index("</thead>")]
    assert head.count('class="distinct" data-deviations="0"') == 2  # the two reference columns
    counts = [int(x.split('"')[0]) for x in head.split('data-deviations="')[1:]]
    assert counts[2] > 0 and counts[3] > 0
