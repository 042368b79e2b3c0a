"""Collect ``cases/*.yaml`` into pytest items (tavern's pattern, public pytest API only).

Recording happens concurrently as soon as collection finishes; each item then waits for
its own recording, judges it (pure), and maps the verdict onto pytest's vocabulary:
``fail`` → failed, ``error`` (inconclusive) → error in setup (JUnit ``<error>``),
``unsupported``/``skipped`` → skipped with the reason.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest

from ._verdict import Outcome
from .cases import Case, CaseFormatError, load_cases
from .engine import CaseResult, judge, skipped
from .recorder import ConfigError, Limits
from .report import build_results, format_summary, write_results
from .session import ConformanceSession, RunOptions

SESSION_KEY = pytest.StashKey[ConformanceSession]()
OPTIONS_KEY = pytest.StashKey[RunOptions]()
RESULTS_PATH_KEY = pytest.StashKey[Path]()
ORDERED_KEY = pytest.StashKey[list[CaseResult]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("responses-conformance", "Responses API conformance")
    group.addoption("--base-url", default=None, help="Responses API base URL, e.g. https://api.openai.com/v1 "
                    "(default: start the embedded reference server)")
    group.addoption("--model", default=None, help="model id to test")
    group.addoption("--api-key-env", default=None, help="name of the environment variable holding the API key")
    group.addoption("--header", action="append", default=[], dest="conformance_headers",
                    help="extra request header 'Name: value' (repeatable)")
    group.addoption("--provider", default=None, help="provider name used in reports")
    group.addoption("--profile", default="openai", choices=["openai", "openresponses"], help="schema set to judge against")
    group.addoption("--concurrency", type=int, default=4, help="cases recorded at once (default 4)")
    group.addoption("--deviate", action="append", default=[], help="embedded server: switch on a named deviation")
    group.addoption("--variant", action="append", default=[], help="embedded server: switch on a benign variant")
    group.addoption("--skip-capability", action="append", default=[],
                    help="capability the target declares unavailable: its cases are skipped (declared)")
    group.addoption("--conformance-json", default=None, help="results JSON path (default reports/<provider>__<model>.json)")
    group.addoption("--idle-timeout", type=float, default=60.0, help="seconds without a byte before a stream counts as stalled")
    group.addoption("--deadline", type=float, default=180.0, help="overall seconds allowed per exchange")


def options_from_config(config: pytest.Config) -> RunOptions:
    json_path = config.getoption("conformance_json")
    return RunOptions(
        base_url=config.getoption("base_url"),
        model=config.getoption("model"),
        api_key_env=config.getoption("api_key_env"),
        headers=config.getoption("conformance_headers"),
        provider=config.getoption("provider"),
        profile=config.getoption("profile"),
        concurrency=config.getoption("concurrency"),
        deviations=config.getoption("deviate"),
        variants=config.getoption("variant"),
        skip_capabilities=config.getoption("skip_capability"),
        json_path=Path(json_path) if json_path else None,
        limits=Limits(idle_timeout_s=config.getoption("idle_timeout"), deadline_s=config.getoption("deadline")),
    )


def _is_case_file(path: Path) -> bool:
    return path.suffix in (".yaml", ".yml") and path.parent.name == "cases" and "conformance" not in path.parts[-3:-1]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _is_case_file(file_path):
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

    def _session(self) -> ConformanceSession:
        return _ensure_session(self.config)

    def setup(self) -> None:
        sess = self._session()
        declined = sorted(set(self.case.capabilities) & set(sess.opts.skip_capabilities))
        if declined:
            self.result = skipped(self.case, f"skipped (declared): target declares {', '.join(declined)} unavailable")
        else:
            recording = sess.scheduler.submit(self.case).result()
            self.result = judge(recording, sess.opts.profile)
        sess.results[self.case.id] = self.result
        if self.result.outcome is Outcome.ERROR:
            pytest.fail(f"error (inconclusive, not a conformance failure): {self.result.message}", pytrace=False)

    def runtest(self) -> None:
        result = self.result
        assert result is not None
        if result.outcome is Outcome.FAIL:
            raise CaseFailed(result)
        if result.outcome in (Outcome.UNSUPPORTED, Outcome.SKIPPED):
            reason = result.message if result.outcome is Outcome.SKIPPED else f"unsupported: {result.message}"
            pytest.skip(reason)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CaseFailed):
            return format_failure(excinfo.value.result)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, max(self.case.line - 1, 0), f"{self.case.id}: {self.case.title}"


def format_failure(result: CaseResult) -> str:
    """Failed checks with spec refs, the failing YAML step with line numbers, and curl lines."""
    case = result.case
    lines = [f"{case.file}:{case.line}: case {case.id!r} ({case.group}) failed"]
    for chk in result.failed_checks:
        lines.append(f"  ✗ [{chk.step}] {chk.name}: {chk.message}")
        if chk.spec_ref:
            lines.append(f"      spec: {chk.spec_ref}")
    failing_steps = {c.step for c in result.failed_checks}
    for step in case.steps:
        if step.name in failing_steps:
            lines.append(f"  step {step.name!r} ({case.file}:{step.line}):")
            lines.extend("    " + line for line in yaml_excerpt(Path(case.file), step.line))
    for ex in result.exchanges:
        if ex.step in failing_steps:
            lines.append(f"  reproduce [{ex.step}]: {ex.curl}")
            lines.append(f"  got HTTP {ex.status}: {ex.text[:400] if ex.events is None else f'{len(ex.events)} events'}")
    return "\n".join(lines)


def yaml_excerpt(path: Path, line: int, span: int = 12) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    start = max(line - 1, 0)
    return [f"{n + 1:>4} | {text[n]}" for n in range(start, min(start + span, len(text)))]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "capability(name): the Responses API capability a case exercises")
    config.stash[OPTIONS_KEY] = options_from_config(config)


def _ensure_session(config: pytest.Config) -> ConformanceSession:
    if SESSION_KEY not in config.stash:
        try:
            config.stash[SESSION_KEY] = ConformanceSession(config.stash[OPTIONS_KEY])
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
    return config.stash[SESSION_KEY]


def pytest_collection_finish(session: pytest.Session) -> None:
    items = [item for item in session.items if isinstance(item, CaseItem)]
    if not items or session.config.option.collectonly:
        return
    sess = _ensure_session(session.config)
    skip = set(sess.opts.skip_capabilities)
    for item in items:
        if not skip & set(item.case.capabilities):
            sess.scheduler.submit(item.case)


def _ordered_results(session: pytest.Session, sess: ConformanceSession) -> list[CaseResult]:
    order = [item.case.id for item in session.items if isinstance(item, CaseItem)]
    return [sess.results[cid] for cid in order if cid in sess.results]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if SESSION_KEY not in config.stash:
        return
    sess = config.stash[SESSION_KEY]
    try:
        results = _ordered_results(session, sess)
        config.stash[ORDERED_KEY] = results
        expected = sum(1 for item in session.items if isinstance(item, CaseItem))
        document = build_results(results, sess.run_meta(complete=len(results) == expected))
        path = sess.opts.json_path or sess.default_json_path(Path(str(config.rootpath)))
        write_results(path, document)
        config.stash[RESULTS_PATH_KEY] = path
    finally:
        sess.close()



def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if SESSION_KEY not in config.stash:
        return
    sess = config.stash[SESSION_KEY]
    results = config.stash.get(ORDERED_KEY, list(sess.results.values()))
    terminalreporter.section("Responses API conformance")
    target = sess.target
    terminalreporter.write_line(f"{target.provider} / {target.model} at {target.base_url}"
                                + (" (embedded reference server)" if sess.embedded else ""))
    for line in format_summary(results).splitlines():
        terminalreporter.write_line(line)
    if RESULTS_PATH_KEY in config.stash:
        terminalreporter.write_line(f"results: {config.stash[RESULTS_PATH_KEY]}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if not isinstance(item, CaseItem) or item.result is None:
        return
    report.conformance_outcome = item.result.outcome.value  # type: ignore[attr-defined]
    report.conformance_group = item.case.group  # type: ignore[attr-defined]
    if report.when != "call" and not (report.when == "setup" and report.failed):
        return
    try:
        from pytest_html import extras
    except ImportError:
        return
    evidence = []
    for chk in item.result.checks:
        if chk.outcome is Outcome.FAIL:
            evidence.append(extras.text(f"{chk.name}: {chk.message}\nspec: {chk.spec_ref}", name=f"check {chk.name}"))
    for ex in item.result.exchanges:
        evidence.append(extras.text(ex.curl, name=f"curl [{ex.step}]"))
        body = ex.text[:20000] if ex.events is None else "\n".join(
            f"{e.event or ''} {e.data[:2000]}" for e in ex.events[:500])
        evidence.append(extras.text(f"HTTP {ex.status}\n{body}", name=f"response [{ex.step}]"))
    report.extras = getattr(report, "extras", []) + evidence  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_header(cells: list[str]) -> None:
    cells.insert(2, "<th>Group</th>")
    cells.insert(3, "<th>Verdict</th>")


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_row(report: Any, cells: list[str]) -> None:
    cells.insert(2, f"<td>{html.escape(str(getattr(report, 'conformance_group', '')))}</td>")
    cells.insert(3, f"<td>{html.escape(str(getattr(report, 'conformance_outcome', '')))}</td>")


def results_path(config: pytest.Config) -> Path | None:
    return config.stash.get(RESULTS_PATH_KEY, None)


__all__ = ["CaseFile", "CaseItem", "results_path"]
