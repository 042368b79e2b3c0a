"""The public surface (conformance.api): what it exports, and that a user can write a check and run the engine
from Python with it, as its docstring shows."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import conformance.api as api

#: The documented surface. A name added or removed here is a public API change: say so in the README.
DOCUMENTED = {
    "CASES_DIR", "Case", "CaseFinished", "CaseFormatError", "CaseResult", "CheckContext", "CheckResult", "Exchange",
    "Finding", "OptionError", "Outcome", "RecordedRequest", "RecordingError", "RunFinished", "RunNotice", "RunStarted", "SSEEvent", "Subscriber",
    "TargetError", "check", "judge_capture_dir", "load_all", "load_cases", "rejudge", "run",
}


def test_all_is_the_documented_surface_and_every_name_resolves() -> None:
    assert set(api.__all__) == DOCUMENTED
    assert len(api.__all__) == len(set(api.__all__))
    for name in api.__all__:
        assert getattr(api, name) is not None, name
    # a star import gives exactly the surface, nothing private
    namespace: dict[str, object] = {}
    exec("from conformance.api import *", namespace)
    assert {n for n in namespace if not n.startswith("__")} == DOCUMENTED


def test_the_package_says_it_is_typed() -> None:
    assert (Path(api.__file__).parent / "py.typed").is_file()


USER_SCRIPT = """
import json, sys
from conformance.api import CaseFinished, Finding, RunFinished, RunStarted, check, run

@check("acme.always_flags_create", basis="schema", spec_ref="acme#rule-1",
       applies=lambda ex, ctx: ctx.endpoint == "create" and ex.status == 200)
def always_flags_create(ex, ctx):
    yield Finding("acme says no", "$.id", kind="acme")

events = []

class Recorder:
    def handle(self, event):
        events.append(type(event).__name__)

finished = run(keyword="basic.text", reports=sys.argv[1], subscribers=[Recorder()], concurrency=1)
result, = finished.results
failing = [c for c in result.checks if c.outcome.value == "fail"]
print(json.dumps({"events": events, "outcome": result.outcome.value, "failed": finished.failed,
                  "checks": sorted({c.name for c in failing}),
                  "messages": [f.message for c in failing for f in c.findings]}))
"""


def test_a_user_check_runs_in_a_python_driven_run_and_fails_the_case(tmp_path: Path) -> None:
    script = tmp_path / "user.py"
    script.write_text(textwrap.dedent(USER_SCRIPT))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["events"][0] == "RunStarted" and seen["events"][-1] == "RunFinished"
    assert seen["events"].count("CaseFinished") == 1
    assert seen["outcome"] == "fail" and seen["failed"] is True
    assert seen["checks"] == ["acme.always_flags_create"] and "acme says no" in seen["messages"]
    written = sorted(p.name for p in out.iterdir())
    assert written == ["reference__reference-1.har.gz", "reference__reference-1.html", "reference__reference-1.json",
                       "reference__reference-1.junit.xml"]  # .har.gz: the run's recording (tests/test_recording.py)
    doc = json.loads((out / "reference__reference-1.json").read_text())
    assert [c["id"] for c in doc["cases"]] == ["basic.text"]


def test_bad_options_and_empty_selections_are_one_line_errors() -> None:
    with pytest.raises(api.OptionError, match="--concurrency"):
        api.run(keyword="basic.text", concurrency=0)
    with pytest.raises(api.OptionError, match="--base-url"):
        api.run(keyword="basic.text", base_url=" ")
    with pytest.raises(ValueError, match="selects no case"):
        api.run(keyword="no_such_case_anywhere")


def test_a_recorded_run_is_rejudged_from_python_with_the_live_verdicts_and_reports(tmp_path: Path) -> None:
    live = api.run(keyword="basic.text or streaming.text", reports=tmp_path / "live", concurrency=1)
    seen: list[str] = []

    class Listener:
        def handle(self, event: object) -> None:
            seen.append(type(event).__name__)

    again = api.rejudge(tmp_path / "live" / "reference__reference-1.har.gz", reports=tmp_path / "again",
                        subscribers=[Listener()])
    assert seen == ["RunFinished"]
    assert {r.case.id: r.outcome for r in again.results} == {r.case.id: r.outcome for r in live.results}
    assert len(again.results) == 2 and not again.failed
    # the live run's report names, so the matrix column is the same; no recording of a recording
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == [
        "reference__reference-1.html", "reference__reference-1.json", "reference__reference-1.junit.xml"]
    doc = json.loads((tmp_path / "again" / "reference__reference-1.json").read_text())
    assert sorted(c["id"] for c in doc["cases"]) == ["basic.text", "streaming.text"]
    assert doc["run"]["recording"] == "../live/reference__reference-1.har.gz"


def test_rejudging_what_is_no_recording_is_a_one_line_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.har.gz"
    bogus.write_text("not gzip at all")
    with pytest.raises(api.RecordingError, match="notes.har.gz") as caught:
        api.rejudge(bogus)
    assert "\n" not in str(caught.value)


def test_a_results_path_alone_writes_the_results_and_nothing_else(tmp_path: Path) -> None:
    finished = api.run(keyword="basic.text", json=tmp_path / "only.json", concurrency=1)
    assert finished.json_path == tmp_path / "only.json"
    doc = json.loads((tmp_path / "only.json").read_text())
    assert [c["id"] for c in doc["cases"]] == ["basic.text"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["only.har.gz", "only.json"]
