"""Green runs that tested nothing are usage errors: an empty selection, an empty --base-url, a schema typo.

Each one used to exit 0 (a CI job would pass having judged nothing, or judged the embedded server instead of
the target); each is now one ``responses-conformance: error:`` line naming the option or file, exit 2.
``--cases DIR`` under any name simply works: it adds the folder's cases to the built-in ones (a duplicate id is
one line naming both files), and ``--no-builtin-cases`` runs the folder alone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cases import CaseFormatError, load_cases
from conformance.suite import CASES_DIR
from tests.test_cli import ROOT, _one_error_line, cli

CASE = ("cases:\n  - id: sel.one\n    title: t\n    group: basic\n    spec: [openai-openapi.yaml#/paths/~1responses/post]\n"
        "    capabilities: [core]\n    steps:\n      - name: s\n        request: {body: {input: hi}}\n"
        "        expect:\n          - status: 200\n          - schema: {schema}\n")


def test_a_keyword_that_selects_nothing_is_exit_2(tmp_path: Path) -> None:
    proc = cli("run", "-k", "no_such_case_typo", "-q", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr
    assert _one_error_line(proc) == ("responses-conformance: error: -k 'no_such_case_typo': selects no case "
                                     "(nothing was tested)")


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_base_url_is_exit_2_not_the_embedded_server(tmp_path: Path, value: str) -> None:
    proc = cli("run", "--base-url", value, "-k", "basic.text", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr
    assert "--base-url: empty" in _one_error_line(proc)
    assert not (tmp_path / "reports").exists()


def test_cases_from_a_directory_not_named_cases_are_run(tmp_path: Path) -> None:
    mine = tmp_path / "my-suite"
    mine.mkdir()
    shutil.copy(CASES_DIR / "basic.yaml", mine / "basic.yaml")
    proc = cli("run", "--cases", str(mine), "--no-builtin-cases", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    doc = json.loads((tmp_path / "reports" / "reference__reference-1.json").read_text())
    assert sorted(c["id"] for c in doc["cases"]) == sorted(c.id for c in load_cases(mine / "basic.yaml")) != []
    assert all(c["outcome"] == "pass" for c in doc["cases"])


def test_cases_adds_a_folder_to_the_built_in_cases(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "c.yaml").write_text(CASE.replace("{input: hi}", "{model: !model , input: hi}").replace("{schema}", "Response"))
    proc = cli("run", "--cases", str(mine), "-k", "sel.one or basic.text", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    doc = json.loads((tmp_path / "reports" / "reference__reference-1.json").read_text())
    assert {c["id"]: c["outcome"] for c in doc["cases"]} == {"basic.text": "pass", "sel.one": "pass"}


def test_a_case_id_the_built_in_cases_already_use_is_one_line_naming_both_files(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "c.yaml").write_text(CASE.replace("sel.one", "basic.text").replace("{schema}", "Response"))
    proc = cli("run", "--cases", str(mine), "-q", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr
    line = _one_error_line(proc)
    assert "mine/c.yaml:2" in line and "duplicate case id 'basic.text'" in line, line
    assert str(CASES_DIR / "basic.yaml") in line, line
    assert not (tmp_path / "reports" / "reference__reference-1.json").exists()


@pytest.mark.parametrize("args, needle", [
    (["--no-builtin-cases"], "--no-builtin-cases: needs at least one --cases DIR"),
    (["--cases", "no-such-dir"], "--cases no-such-dir: not a directory"),
])
def test_case_folder_options_are_checked_in_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    proc = cli("run", *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr
    assert needle in _one_error_line(proc)


def test_an_unknown_schema_name_is_a_case_format_error_with_its_line(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "c.yaml").write_text(CASE.replace("{schema}", "NoSuchSchema"))
    proc = cli("run", "--cases", str(cases), cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr
    line = _one_error_line(proc)
    assert "c.yaml:12" in line and "unknown schema 'NoSuchSchema'" in line


@pytest.mark.parametrize("arg", ["Response", "{name: ErrorResponse}", "{name: NoSuchSchema, path: $.output}"])
def test_schema_names_are_checked_at_load_time(tmp_path: Path, arg: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CASE.replace("{schema}", arg))
    if "NoSuch" in arg:
        with pytest.raises(CaseFormatError, match="c.yaml:12.*unknown schema 'NoSuchSchema'"):
            load_cases(path)
    else:
        assert [c.id for c in load_cases(path)] == ["sel.one"]


def test_plain_pytest_refuses_an_empty_base_url(tmp_path: Path) -> None:
    out = tmp_path / "plain.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance/suite/cases", "-q", "-p", "no:cacheprovider", "-k", "basic.text",
                           "--conformance-base-url", "", "--conformance-json", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout[-2000:] + proc.stderr
    assert "--conformance-base-url: empty (an unset variable?)" in proc.stderr
    assert not out.exists()


def test_plain_pytest_takes_case_files_from_any_directory_given(tmp_path: Path) -> None:
    mine = tmp_path / "suite"
    mine.mkdir()
    shutil.copy(CASES_DIR / "basic.yaml", mine / "basic.yaml")
    out = tmp_path / "plain.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", str(mine), "-q", "-p", "no:cacheprovider", "-p",
                           "conformance.pytest_plugin",
                           f"--conformance-cases={mine}", "--conformance-json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert {c["id"] for c in json.loads(out.read_text())["cases"]} == {c.id for c in load_cases(mine / "basic.yaml")}


def test_a_run_with_a_folder_of_own_cases_is_re_judged_with_that_folder_too(tmp_path: Path) -> None:
    """The recording names every folder the run loaded, so ``judge --recording`` finds the user's cases again."""
    from conformance.record.har import recording_path

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "c.yaml").write_text(CASE.replace("{input: hi}", "{model: !model , input: hi}").replace("{schema}", "Response"))
    proc = cli("run", "--cases", str(mine), "-k", "sel.one or basic.text", "-q", "--reports", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    har = recording_path(tmp_path / "out" / "reference__reference-1.json")
    proc = cli("judge", "--recording", str(har), "--json", "again.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    again = json.loads((tmp_path / "again.json").read_text())
    assert {c["id"]: c["outcome"] for c in again["cases"]} == {"basic.text": "pass", "sel.one": "pass"}
