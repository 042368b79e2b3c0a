"""Findings as the unit, end to end: one deviation repeated over many cases is one finding in the console summary,
the results JSON, JUnit and the matrix; warnings are shown and not counted; --spec-strict/--strict-behaviour move
them into the failures, and the baseline gate follows."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema

from conformance.report import RESULTS_SCHEMA_PATH
from tests.test_cli import cli

CASES = "basic.text or basic.distinct_ids or streaming.text or parameters.metadata_echo"


def _run(tmp_path: Path, *extra: str) -> tuple[int, str, dict, ET.Element]:
    proc = cli("run", "-q", "-k", CASES, *extra, cwd=tmp_path)
    doc = json.loads((tmp_path / "reports" / "reference__reference-1.json").read_text())
    jsonschema.validate(doc, json.loads(RESULTS_SCHEMA_PATH.read_text()))
    junit = ET.parse(tmp_path / "reports" / "reference__reference-1.junit.xml").getroot()
    return proc.returncode, proc.stdout, doc, junit


def test_one_root_cause_over_many_cases_is_one_deviation(tmp_path: Path) -> None:
    code, out, doc, junit = _run(tmp_path, "--deviate", "chat_usage_names")
    assert code == 1
    failing = [c["id"] for c in doc["cases"] if c["outcome"] == "fail"]
    assert len(failing) == 4
    fails = [f for f in doc["findings"] if f["severity"] == "fail"]
    # the same usage naming seen in plain and streamed responses, by several checks: one row per rule broken
    usage = [f for f in fails if f["key"].startswith("response.usage|$.usage|")]
    assert len(usage) == 1 and set(usage[0]["cases"]) == set(failing)
    status = [f for f in fails if f["key"] == "rule:ResponseUsage:required:input_tokens"]
    assert len(status) == 1 and set(failing) <= set(status[0]["cases"])  # one row, every failing case
    assert status[0]["basis"] == "schema" and status[0]["first_seen"] in failing
    assert doc["summary"]["deviations"]["fail"] == len(fails) == 3
    # the console leads with the distinct deviations, before the per-feature table
    section = out[out.index("Responses API conformance"):]
    assert section.index("distinct deviations") < section.index("feature ")
    assert f"{len(status[0]['cases'])} case(s), first {status[0]['first_seen']}" in section
    # JUnit: suite properties lead with them, each failing testcase names its deviation keys
    props = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert props["deviations"].startswith(f"{len(fails)} fail")
    assert any(v.startswith("[schema]") for k, v in props.items() if k.startswith("deviation."))
    case_props = [p.get("value") for tc in junit.iter("testcase") for p in tc.iter("property") if p.get("name") == "deviation"]
    assert case_props.count("rule:ResponseUsage:required:input_tokens") == len(failing)


def test_warnings_are_shown_not_counted_unless_asked(tmp_path: Path) -> None:
    # function_args_done_without_name: what api.openai.com itself does (a known divergence)
    lenient = tmp_path / "lenient"
    lenient.mkdir()
    code, out, doc, _ = _run(lenient, "-k", "streaming.function_call", "--deviate", "function_args_done_without_name")
    assert code == 0, out[-2000:]
    (case,) = [c for c in doc["cases"] if c["id"] == "streaming.function_call"]
    assert case["outcome"] == "pass" and case["warnings"] >= 1
    warned = [f for f in doc["findings"] if f["severity"] == "warning"]
    assert warned and "api.openai.com does not meet this requirement either" in warned[0]["note"]
    assert "warnings (not counted" in out
    strict = tmp_path / "strict"
    strict.mkdir()
    code, _, doc, _ = _run(strict, "-k", "streaming.function_call", "--deviate", "function_args_done_without_name",
                           "--spec-strict")
    assert code == 1 and doc["run"]["policy"]["spec_strict"] is True
    assert [c["outcome"] for c in doc["cases"] if c["id"] == "streaming.function_call"] == ["fail"]


def test_observed_behaviour_fails_only_with_strict_behaviour(tmp_path: Path) -> None:
    # validation_422: every validation error is a 422 where OpenAI answers 400: a warning by default
    lenient = tmp_path / "lenient"
    lenient.mkdir()
    proc = cli("run", "-q", "-k", "errors.input_wrong_type", "--deviate", "validation_422", cwd=lenient)
    assert proc.returncode == 0, proc.stdout[-2000:]
    strict = tmp_path / "strict"
    strict.mkdir()
    proc = cli("run", "-q", "-k", "errors.input_wrong_type", "--deviate", "validation_422", "--strict-behaviour",
               cwd=strict)
    assert proc.returncode == 1, proc.stdout[-2000:]
    doc = json.loads((strict / "reports" / "reference__reference-1.json").read_text())
    assert any(f["basis"] == "observed" and f["severity"] == "fail" for f in doc["findings"])


def test_bad_spec_as_of_is_one_line(tmp_path: Path) -> None:
    proc = cli("run", "-k", "basic.text", "--spec-as-of", "yesterday", cwd=tmp_path)
    assert proc.returncode == 2 and "--spec-as-of" in proc.stderr and "Traceback" not in proc.stderr


def test_console_total_scores_what_the_matrix_scores(tmp_path: Path) -> None:
    """The console total leaves out the sdk group and extensions, like the matrix (no 89.8% vs 88.7%)."""
    from conformance.report.matrix import load

    proc = cli("run", "-q", "-k", "basic.text or sdk.create or extensions.max_tokens_alias", "--deviate",
               "validation_500", cwd=tmp_path)
    out = proc.stdout[proc.stdout.index("Responses API conformance"):]
    total = next(line for line in out.splitlines() if line.startswith("total"))
    column = load([tmp_path / "reports" / "reference__reference-1.json"]).columns[0]
    score = column.score(load([tmp_path / "reports" / "reference__reference-1.json"]).rows)
    assert score["scored"] == 1 and f"{score['percent']:5.1f}%" in total and "(scored groups)" in total
    assert any(line.startswith("sdk") and line.endswith("(not scored)") for line in out.splitlines())
