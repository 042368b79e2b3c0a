"""Plain ``pytest --pyargs conformance.suite.cases``: a thin front end over the engine (conformance/run/runner.py).

Case files become pytest items (tavern's pattern, public pytest API only). When collection finishes, the
engine starts: it says the worst case, asks the probe preflight and queues every selected case for recording.
Each item then asks the engine for its result, which judges it and applies the baseline, and maps how it
counts (conformance/run/events.py ``CaseStatus``) onto pytest's vocabulary: ``failed`` → failed, ``error``
(inconclusive) → error in setup, ``skipped`` (unsupported, declared, expected by baseline) → skipped with the
reason. The options come from the one table (conformance/run/options.py); the results JSON is written by the
same reporter as ``responses-conformance run``'s.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from ._verdict import Outcome
from .cases import Case, CaseFormatError, load_cases
from .record._redact import inert
from .record.http import ConfigError
from .report.console import TITLE, summary_lines
from .report.failure import format_failure
from .report.outputs import run_reporters
from .run.engine import CaseResult
from .run.events import ERROR, FAILED, SKIPPED, Event, RunFinished, RunNotice, RunStarted
from .run.options import OptionError, add_to_pytest, run_options, spelled_for_pytest, values_from_pytest
from .run.runner import Engine, capability_problem
from .run.session import ConformanceSession, RunOptions
from .run.shard import Shard
from .suite import CASES_DIR

OPTIONS_KEY = pytest.StashKey[RunOptions]()
ENGINE_KEY = pytest.StashKey[Engine]()
FINISHED_KEY = pytest.StashKey[RunFinished]()
KNOWN_IDS_KEY = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_to_pytest(parser.getgroup("responses-conformance", "Responses API conformance"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "capability(name): the Responses API capability a case exercises")
    try:
        opts = run_options(values_from_pytest(config.getoption), baseline_flag="--conformance-baseline-strict")
    except OptionError as exc:
        raise pytest.UsageError(spelled_for_pytest(str(exc))) from None
    if opts.json_path is not None and opts.json_path.exists() and not opts.json_path.is_file():
        raise pytest.UsageError(f"--conformance-json {opts.json_path}: not a regular file")
    config.stash[OPTIONS_KEY] = opts
    if opts.shard is not None:
        config.pluginmanager.register(_ShardSelection(opts.shard), "conformance-shard")


def _is_case_file(path: Path, roots: Sequence[str] = ()) -> bool:
    """A YAML file below the built-in cases or below a ``--conformance-cases`` folder (what ``run --cases DIR``
    loads). Nothing else: installed, the plugin loads in every pytest session of the environment (entry point
    pytest11), and a project's own ``cases/*.yaml`` are none of its business."""
    if path.suffix not in (".yaml", ".yml"):
        return False
    parents = path.resolve().parents
    return any(Path(root).resolve() in parents for root in (str(CASES_DIR), *roots))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _is_case_file(file_path, parent.config.getoption("conformance_cases")):
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFile(pytest.File):
    def collect(self) -> Any:
        for case in load_cases(self.path):
            yield CaseItem.from_parent(self, name=case.id, case=case)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CaseFormatError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class CaseFailed(Exception):
    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.message)
        self.result = result


class CaseItem(pytest.Item):
    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.result: CaseResult | None = None
        for cap in case.capabilities:
            self.add_marker(pytest.mark.capability(cap))

    def setup(self) -> None:
        engine = _engine(self.config)
        self.result = engine.result_for(self.case)
        status = engine.statuses[self.case.id]
        if self.result.outcome is Outcome.ERROR:  # inconclusive: an error in setup (JUnit <error>), or expected
            if status.kind == SKIPPED:
                pytest.skip(status.message)
            pytest.fail(status.message, pytrace=False)

    def runtest(self) -> None:
        assert self.result is not None
        status = _engine(self.config).statuses[self.case.id]
        if status.kind == SKIPPED:
            pytest.skip(status.message)
        if status.kind == FAILED:
            if self.result.outcome is Outcome.FAIL:
                raise CaseFailed(self.result)
            pytest.fail(status.message, pytrace=False)
        if status.kind == ERROR:  # pragma: no cover - raised in setup
            pytest.fail(status.message, pytrace=False)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CaseFailed):
            return format_failure(excinfo.value.result)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, max(self.case.line - 1, 0), f"{self.case.id}: {self.case.title}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Remember every case that exists before -k deselects some: baseline entries for those are not stale."""
    cases = [item.case for item in items if isinstance(item, CaseItem)]
    config.stash[KNOWN_IDS_KEY] = [case.id for case in cases]
    problem = capability_problem(config.stash[OPTIONS_KEY].skip_capabilities, cases)
    if problem:
        raise pytest.UsageError(spelled_for_pytest(problem))


class _ShardSelection:
    """``--shard I/N``: keeps this shard's cases after -k has deselected (a second hook of the same name
    cannot live in this module, hence a small plugin object registered by pytest_configure)."""

    def __init__(self, shard: Shard) -> None:
        self.shard = shard

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        keep = self.shard.select(item.case.id for item in items if isinstance(item, CaseItem))
        dropped = [item for item in items if isinstance(item, CaseItem) and item.case.id not in keep]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if not isinstance(item, CaseItem) or item.case.id in keep]


class _TerminalLines:
    """The worst-case line, said before anything is sent (conformance/run/cost.py), and the preflight's advice."""

    def __init__(self, config: pytest.Config) -> None:
        self.reporter = config.pluginmanager.get_plugin("terminalreporter")

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted) and self.reporter is not None:
            self.reporter.write_line(event.bound)
        if isinstance(event, RunNotice) and self.reporter is not None:  # after the preflight, before the cases
            self.reporter.write_line(event.line)


def _engine(config: pytest.Config) -> Engine:
    if ENGINE_KEY not in config.stash:
        try:
            session = ConformanceSession(config.stash[OPTIONS_KEY])
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        html = config.getoption("conformance_html")  # the page `run` writes, for a plain pytest run that asks
        # pytest's own --junitxml writes the JUnit file and its terminal the summary (pytest_terminal_summary)
        reporters = run_reporters(Path(html) if html else None, None, console=False)
        engine = Engine(session, [*reporters, _TerminalLines(config)])
        config.stash[ENGINE_KEY] = engine
    return config.stash[ENGINE_KEY]


def pytest_collection_finish(session: pytest.Session) -> None:
    from .run.baseline import BaselineError

    cases = [item.case for item in session.items if isinstance(item, CaseItem)]
    if not cases or session.config.option.collectonly:
        return
    engine = _engine(session.config)
    try:
        engine.load_baseline()
    except BaselineError as exc:
        raise pytest.UsageError(str(exc)) from None
    try:
        engine.start(cases, known_ids=session.config.stash.get(KNOWN_IDS_KEY, None),
                     json_path=_results_path(session.config), cases_dir=os.pathsep.join([str(CASES_DIR), *session.config.getoption("conformance_cases")]))
    except (OSError, ValueError) as exc:  # the recording beside the results cannot be written there
        raise pytest.UsageError(f"recording: {exc}") from None


def _results_path(config: pytest.Config) -> Path:
    sess = _engine(config).session
    return sess.opts.json_path or sess.default_json_path(Path(str(config.rootpath)))


@pytest.hookimpl(tryfirst=True)  # before junitxml writes its file: the deviations lead it as suite properties
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if ENGINE_KEY not in config.stash:
        return
    engine = config.stash[ENGINE_KEY]
    finished = engine.finish(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED, json_path=_results_path(config))
    config.stash[FINISHED_KEY] = finished
    _junit_deviations(config, finished.document["findings"])


def _junit_deviations(config: pytest.Config, findings: list[dict[str, Any]]) -> None:
    """Distinct deviations as JUnit testsuite properties (``deviations``, then ``deviation.N``/``warning.N``)."""
    from _pytest.junitxml import xml_key

    from .report.findings import describe, deviation_counts

    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    counts = deviation_counts(findings)
    xml.add_global_property("deviations", f"{counts['fail']} fail, {counts['warning']} warning, {counts['note']} note")
    numbers = {"fail": 0, "warning": 0, "note": 0}
    for f in findings:
        numbers[f["severity"]] += 1
        label = "deviation" if f["severity"] == "fail" else f["severity"]
        xml.add_global_property(f"{label}.{numbers[f['severity']]}",
                                f"{describe(f)} [{len(f['cases'])} case(s), first {f['first_seen']}; key {f['key']}]")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    finished = config.stash.get(FINISHED_KEY, None)
    if finished is None:
        return
    terminalreporter.section(TITLE)
    for line in summary_lines(finished):
        terminalreporter.write_line(inert(line), bold=line.startswith("TARGET DOWN"), red=line.startswith("TARGET DOWN"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Each failing or warned case names its distinct deviation keys as JUnit testcase properties."""
    yield
    if not isinstance(item, CaseItem) or item.result is None:
        return
    if call.when == "setup" and not any(name in ("deviation", "warning") for name, _ in item.user_properties):
        keys = {f.key: f.severity for c in item.result.checks for f in c.findings if f.key and f.severity in ("fail", "warning")}
        for key, severity in keys.items():
            item.user_properties.append(("deviation" if severity == "fail" else "warning", key))


def baseline_gate(config: pytest.Config) -> Any:
    """The run's verdict against its baseline (None without --baseline)."""
    finished = config.stash.get(FINISHED_KEY, None)
    return None if finished is None else finished.gate


def results_path(config: pytest.Config) -> Path | None:
    finished = config.stash.get(FINISHED_KEY, None)
    return None if finished is None else finished.json_path


__all__ = ["CaseFile", "CaseItem", "baseline_gate", "results_path"]
