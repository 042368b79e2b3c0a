"""The ``coverage`` command: output shape, files written, --results, errors, and the committed cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance import cli
from conformance.cases import load_all
from conformance.coverage import CATEGORY_KEYS, build_report, claims_of, render_html
from conformance.coverage.report import CategoryReport, CoverageReport, ElementRow
from conformance.judge import schemas
from conformance.suite import CASES_DIR

REPO = Path(__file__).resolve().parent.parent

CASE = """cases:
  - id: t.one
    title: t
    group: streaming
    spec: [openai-openapi.yaml#/components/schemas/Response]
    capabilities: [streaming]
    steps:
      - name: s
        request:
          body: {model: !model , input: hi, stream: true}
        expect:
          - events: {includes: [response.created, response.output_text.delta]}
          - response_status: completed
"""


@pytest.fixture()
def cases_dir(tmp_path: Path) -> Path:
    d = tmp_path / "cases"
    d.mkdir()
    (d / "a.yaml").write_text(CASE, encoding="utf-8")
    return d


def test_committed_cases_claim_only_spec_elements() -> None:
    """A case naming an element the spec does not define fails here (file:line in the message)."""
    claims = claims_of(load_all(CASES_DIR))
    assert claims


@pytest.mark.parametrize("profile", schemas.PROFILES)
def test_command_on_committed_cases(profile: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["coverage", "--profile", profile, "--summary"]) == 0
    out = capsys.readouterr().out
    assert f"(profile {profile})" in out and "All elements" in out


def test_json_output_shape(cases_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_json, out_html = tmp_path / "cov.json", tmp_path / "cov.html"
    assert cli.main(["coverage", "--cases", str(cases_dir), "--json", str(out_json), "--html", str(out_html)]) == 0
    text = capsys.readouterr().out
    assert "✓ response.created" in text and "t.one" in text
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert set(data) == {"coverage_version", "profile", "spec", "case_count", "results", "summary", "categories"}
    assert data["profile"] == "openai" and data["case_count"] == 1 and data["results"] is None
    assert data["spec"]["sha256"] == schemas.spec_info("openai")["sha256"]
    assert [c["key"] for c in data["categories"]] == list(CATEGORY_KEYS)
    total = covered = 0
    for cat in data["categories"]:
        assert set(cat) == {"key", "title", "source", "total", "covered", "percent", "unreachable",
                            "observed_covered", "elements", "outside_spec"}
        assert cat["total"] == len(cat["elements"])
        assert cat["covered"] == sum(e["covered"] for e in cat["elements"])
        assert cat["observed_covered"] is None
        for element in cat["elements"]:
            assert set(element) == {"name", "covered", "cases", "alternatives", "unreachable", "detail"}
        total, covered = total + cat["total"], covered + cat["covered"]
    assert data["summary"] == {"total": total, "covered": covered, "percent": round(100 * covered / total, 1)}
    events = next(c for c in data["categories"] if c["key"] == "stream_events")
    assert events["covered"] == 2 and events["total"] == 58
    status = next(c for c in data["categories"] if c["key"] == "response_status")
    assert [e["cases"] for e in status["elements"] if e["name"] == "completed"] == [["t.one"]]
    html = out_html.read_text(encoding="utf-8")
    assert html.startswith('<section class="coverage">') and "t.one" in html


def test_profile_switches_the_denominator(cases_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "or.json"
    assert cli.main(["coverage", "--spec", "openresponses", "--cases", str(cases_dir), "--json", str(out), "--summary"]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    cats = {c["key"]: c for c in data["categories"]}
    assert data["profile"] == "openresponses" and cats["endpoints"]["total"] == 2
    assert cats["stream_events"]["total"] == len(schemas.index("openresponses")["stream_event_types"])
    assert cats["response_status"]["total"] == 0 and cats["response_status"]["percent"] is None
    # an element of the other profile is not an error, it is outside this profile
    assert cats["response_status"]["outside_spec"] == {"completed": ["t.one"]}


def _results(tmp_path: Path) -> Path:
    events = [
        {"index": 0, "event": "response.created", "data": json.dumps({"type": "response.created"})},
        {"index": 1, "event": None, "data": json.dumps({"type": "response.output_item.added",
                                                        "item": {"type": "message", "status": "in_progress"}})},
        {"index": 2, "event": "response.completed", "data": json.dumps({
            "type": "response.completed",
            "response": {"status": "completed", "output": [
                {"type": "message", "status": "completed", "content": [{"type": "output_text", "text": "x"}]}]}})},
        {"index": 3, "event": None, "data": "[DONE]"},
    ]
    data = {
        "schema_version": 1,
        "run": {"base_url": "http://h:1/v1"},
        "cases": [
            {"id": "t.one", "exchanges": [
                {"request": {"method": "POST", "url": "http://h:1/v1/responses"}, "status": 200, "events": events, "body": ""},
                {"request": {"method": "GET", "url": "http://h:1/v1/responses/r1"}, "status": 200, "events": None,
                 "body": json.dumps({"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"},
                                     "output": [{"type": "reasoning"}]})},
                {"request": {"method": "DELETE", "url": "http://h:1/v1/responses/r1"}, "status": 404, "events": None,
                 "body": "{}"},
            ]},
        ],
    }
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_results_add_observed_coverage(cases_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cov.json"
    assert cli.main(["coverage", "--cases", str(cases_dir), "--results", str(_results(tmp_path)), "--json", str(out)]) == 0
    assert "observed 2/7" in capsys.readouterr().out
    cats = {c["key"]: c for c in json.loads(out.read_text(encoding="utf-8"))["categories"]}

    def seen(key: str) -> set[str]:
        return {e["name"] for e in cats[key]["elements"] if e.get("observed")}

    assert seen("endpoints") == {"create", "retrieve"}  # the 404 delete is not observed
    assert seen("stream_events") == {"response.created", "response.output_item.added", "response.completed"}
    assert seen("response_status") == {"completed", "incomplete"}
    assert seen("incomplete_reasons") == {"max_output_tokens"}
    assert seen("output_items") == {"message", "reasoning"}
    assert seen("output_content_parts") == {"output_text"}
    assert seen("item_status") == {"in_progress", "completed"}
    assert cats["request_parameters"]["observed_covered"] is None  # not observable from results
    # observed is shown apart from claims: the claimed numbers do not move
    assert cats["response_status"]["covered"] == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--results", "/nonexistent/results.json"], "--results"),
        (["--cases", "/nonexistent/dir"], "not a directory"),
    ],
)
def test_usage_errors_exit_2(args: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["coverage", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def test_unknown_claim_exits_2_naming_case_and_line(cases_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cases_dir / "a.yaml").write_text(CASE.replace("response.output_text.delta", "response.output_txt.delta"), encoding="utf-8")
    assert cli.main(["coverage", "--cases", str(cases_dir)]) == 2
    err = capsys.readouterr().err
    assert "a.yaml:12: case 't.one'" in err and "'response.output_txt.delta'" in err


def test_html_is_escaped() -> None:
    row = ElementRow("<b>x</b>", detail="a & b", cases=['c."<i>'], unreachable=None)
    cat = CategoryReport("tools", "Tools <t>", "src", [row])
    html = render_html(CoverageReport("openai", {"title": "<T>", "version": "1", "sha256": "<s>"}, 1, [cat]))
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<i>" not in html and "Tools &lt;t&gt;" in html and "a &amp; b" in html and "&lt;T&gt;" in html


def test_build_report_is_deterministic() -> None:
    cases = load_all(CASES_DIR)
    assert build_report(cases).to_json() == build_report(cases).to_json()
