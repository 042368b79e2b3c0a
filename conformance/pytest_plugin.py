"""Collect ``cases/*.yaml`` into pytest items (tavern's pattern, public pytest API only).

Recording happens concurrently as soon as collection finishes; each item then waits for
its own recording, judges it (pure), and maps the verdict onto pytest's vocabulary:
``fail`` → failed, ``error`` (inconclusive) → error in setup (JUnit ``<error>``),
``unsupported``/``skipped`` → skipped with the reason.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._verdict import Outcome
from .cases import Case, CaseFormatError, load_cases
from .cost import parse_token_budget, selection_bound
from .engine import CaseResult, internal_error, judge_safely, profile_skip_reason, skipped
from .judge.basis import JudgePolicy
from .record._redact import inert, safe_url
from .record.http import ConfigError, Limits
from .report import build_results, format_summary, write_results
from .session import ConformanceSession, RunOptions
from .shard import Shard, parse_shard

if TYPE_CHECKING:
    from .baseline import Baseline, Gate

SESSION_KEY = pytest.StashKey[ConformanceSession]()
OPTIONS_KEY = pytest.StashKey[RunOptions]()
RESULTS_PATH_KEY = pytest.StashKey[Path]()
ORDERED_KEY = pytest.StashKey[list[CaseResult]]()
BASELINE_KEY = pytest.StashKey["Baseline | None"]()
GATE_KEY = pytest.StashKey["Gate"]()
KNOWN_IDS_KEY = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("responses-conformance", "Responses API conformance")
    group.addoption("--conformance-cases", default=None, dest="conformance_cases", metavar="DIR",
                    help="every *.yaml/*.yml below DIR is a case file, whatever DIR is called (default: files in a "
                         "directory named 'cases')")
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
    group.addoption("--shard", default=None, dest="conformance_shard", metavar="I/N",
                    help="run only shard I of N (round-robin over the sorted case ids; see conformance/shard.py)")
    group.addoption("--conformance-json", default=None, help="results JSON path (default reports/<provider>__<model>.json)")
    group.addoption("--idle-timeout", type=float, default=60.0, help="seconds without a byte before a stream counts as stalled")
    group.addoption("--deadline", type=float, default=180.0, help="overall seconds allowed per exchange")
    group.addoption("--max-time", type=float, default=None, dest="conformance_max_time", metavar="SECONDS",
                    help="for the whole run: cases not started by then are skipped (time limit)")
    group.addoption("--token-budget", default=None, dest="conformance_token_budget", metavar="N",
                    help="spend at most N output tokens: a case starts only if its worst-case output fits in what is "
                         "left, the rest are skipped (budget)")
    group.addoption("--baseline", default=None, dest="conformance_baseline",
                    help="baseline YAML of expected non-passing cases (or a directory: <dir>/<provider>/<model>.yaml); "
                         "only unexpected results fail")
    group.addoption("--baseline-strict", action="store_true", default=False,
                    help="with --baseline: an unexpected pass (stale baseline entry) also fails")
    group.addoption("--update-baseline", action="store_true", default=False,
                    help="with --baseline: rewrite the baseline to expect this run's fail/unsupported cases")
    group.addoption("--assume-probes", action="store_true", default=False,
                    help="skip the probe preflight: judge behavioural expectations even if the model ignores probes")
    group.addoption("--spec-strict", action="store_true", default=False,
                    help="fail requirements that api.openai.com itself does not meet (default: a warning)")
    group.addoption("--strict-behaviour", action="store_true", default=False,
                    help="fail what OpenAI does but nothing documents (basis observed; default: a warning)")
    group.addoption("--spec-as-of", default=None, metavar="DATE",
                    help="judge against the spec's requirements of that date (later ones become notes)")


def options_from_config(config: pytest.Config) -> RunOptions:
    json_path = config.getoption("conformance_json")
    base_url = config.getoption("base_url")
    if base_url is not None and not base_url.strip():
        raise pytest.UsageError("--base-url: empty (an unset variable?); omit the option to test the embedded "
                                "reference server")
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
        limits=Limits(idle_timeout_s=_seconds(config, "idle_timeout", "--idle-timeout"),
                      deadline_s=_seconds(config, "deadline", "--deadline")),
        shard=_shard_option(config),
        assume_probes=bool(config.getoption("assume_probes")),
        policy=_policy_option(config),
        max_time_s=None if config.getoption("conformance_max_time") is None
        else _seconds(config, "conformance_max_time", "--max-time"),
        token_budget=_token_budget_option(config),
    )


def _token_budget_option(config: pytest.Config) -> int | None:
    raw = config.getoption("conformance_token_budget")
    if raw is None:
        return None
    try:
        return parse_token_budget(str(raw))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def _seconds(config: pytest.Config, dest: str, flag: str) -> float:
    """A duration option: finite and above zero (``nan``, 0 and negatives would unbound or break every wait)."""
    raw = config.getoption(dest)
    if raw is None or not (math.isfinite(raw) and raw > 0):
        raise pytest.UsageError(f"{flag} {raw}: expected a number of seconds above zero")
    return float(raw)


def _policy_option(config: pytest.Config) -> JudgePolicy:
    try:
        return JudgePolicy.from_options(config.getoption("spec_strict"), config.getoption("strict_behaviour"),
                                        config.getoption("spec_as_of"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def _shard_option(config: pytest.Config) -> Shard | None:
    raw = config.getoption("conformance_shard")
    if not raw:
        return None
    try:
        return parse_shard(raw)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def _is_case_file(path: Path, root: str | None = None) -> bool:
    """A YAML file below ``--conformance-cases`` (what ``run --cases DIR`` loads), else one in a ``cases`` dir."""
    if path.suffix not in (".yaml", ".yml"):
        return False
    if root:
        return Path(root).resolve() in path.resolve().parents
    return path.parent.name == "cases" and "conformance" not in path.parts[-3:-1]


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

    def _session(self) -> ConformanceSession:
        return _ensure_session(self.config)

    def setup(self) -> None:
        sess = self._session()
        declined = sorted(set(self.case.needs) & set(sess.opts.skip_capabilities))
        outside = profile_skip_reason(self.case, sess.opts.profile)
        if outside is not None:
            self.result = skipped(self.case, outside)
        elif declined:
            self.result = skipped(self.case, f"skipped (declared): target declares {', '.join(declined)} unavailable")
        else:
            try:
                recording = sess.scheduler.submit(self.case).result()
            except Exception as exc:  # recording raised: this case's error, never a case missing from the results
                self.result = internal_error(self.case, "recording", exc)
            else:
                self.result = judge_safely(recording, sess.opts.profile, policy=sess.opts.policy,
                                           follows_probes=sess.follows_probes)
            for ex in self.result.exchanges:  # judged: the run keeps bounded evidence, not every body to the end
                ex.compact()
        sess.results[self.case.id] = self.result
        if self.result.outcome is Outcome.ERROR:
            expected = self._expected()
            if expected is not None and expected.outcome == "error":
                pytest.skip(inert(f"expected by baseline ({_where(expected)}): {expected.reason}"))
            pytest.fail(inert(f"error (inconclusive, not a conformance failure): {self.result.message}"), pytrace=False)

    def _expected(self) -> Any:
        baseline = _baseline(self.config)
        return baseline.get(self.case.id) if baseline is not None else None

    def baseline_verdict(self) -> str:
        """How this result compares with the baseline ('' without one)."""
        from .baseline import classify

        if self.result is None or _baseline(self.config) is None:
            return ""
        return classify(self._expected(), self.result.outcome.value)

    def runtest(self) -> None:
        from .baseline import CHANGED, EXPECTED, UNEXPECTED_PASS

        result = self.result
        assert result is not None
        verdict = self.baseline_verdict()
        expected = self._expected()
        if verdict in (EXPECTED, CHANGED) and expected is not None:
            pytest.skip(inert(f"expected by baseline ({_where(expected)}): {expected.outcome}: {expected.reason}"
                              + (f" [now {result.outcome.value}: {result.message}]" if verdict == CHANGED else "")))
        if verdict == UNEXPECTED_PASS and expected is not None and self.config.getoption("baseline_strict"):
            pytest.fail(f"unexpected pass: the baseline expects {expected.outcome} ({expected.reason}); "
                        f"the entry is stale - remove it ({_where(expected)})", pytrace=False)
        if result.outcome is Outcome.FAIL:
            raise CaseFailed(result)
        if result.outcome in (Outcome.UNSUPPORTED, Outcome.SKIPPED):
            reason = result.message if result.outcome is Outcome.SKIPPED else f"unsupported: {result.message}"
            pytest.skip(inert(reason))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CaseFailed):
            return format_failure(excinfo.value.result)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, max(self.case.line - 1, 0), f"{self.case.id}: {self.case.title}"


def format_failure(result: CaseResult) -> str:
    """Failed checks with spec refs, the failing YAML step with line numbers, and curl lines.

    It quotes the server (messages, the body), so control characters are escaped (:func:`inert`)."""
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
            sdk = getattr(ex, "sdk", None)
            if isinstance(sdk, dict):
                exc = sdk.get("exception") or {}
                lines.append(f"  sdk [{ex.step}]: openai {sdk.get('sdk_version')} {sdk.get('call')} -> "
                             + (f"returned {sdk.get('type')}" if sdk.get("ok") else
                                f"raised {exc.get('type')} ({exc.get('stage')}): {str(exc.get('message'))[:200]}"))
    return inert("\n".join(lines))


def yaml_excerpt(path: Path, line: int, span: int = 12) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    start = max(line - 1, 0)
    return [f"{n + 1:>4} | {text[n]}" for n in range(start, min(start + span, len(text)))]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "capability(name): the Responses API capability a case exercises")
    opts = options_from_config(config)
    if opts.json_path is not None and opts.json_path.exists() and not opts.json_path.is_file():
        raise pytest.UsageError(f"--conformance-json {opts.json_path}: not a regular file")
    config.stash[OPTIONS_KEY] = opts
    if opts.shard is not None:
        config.pluginmanager.register(_ShardSelection(opts.shard), "conformance-shard")


def _where(expected: Any) -> str:
    return f"{expected.file}:{expected.line}" if getattr(expected, "line", 0) else str(expected.file)


def _baseline(config: pytest.Config) -> Baseline | None:
    """The baseline for this run's target, loaded once (a directory resolves per provider/model)."""
    if BASELINE_KEY in config.stash:
        return config.stash[BASELINE_KEY]
    spec = config.getoption("conformance_baseline")
    if not spec:
        config.stash[BASELINE_KEY] = None
        return None
    from .baseline import BaselineError, baseline_path_for, load_baseline

    target = _ensure_session(config).target
    path = baseline_path_for(Path(spec), target.provider, target.model)
    try:
        baseline = load_baseline(path, missing_ok=config.getoption("update_baseline"))
    except BaselineError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[BASELINE_KEY] = baseline
    return baseline


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Remember every case that exists before -k deselects some: baseline entries for those are not stale."""
    config.stash[KNOWN_IDS_KEY] = [item.case.id for item in items if isinstance(item, CaseItem)]
    known = {cap for item in items if isinstance(item, CaseItem) for cap in item.case.needs}
    for cap in config.getoption("skip_capability"):
        if known and cap not in known:  # a typo would silently run the cases it meant to skip
            raise pytest.UsageError(f"--skip-capability {cap!r}: no case needs it (known: {', '.join(sorted(known))})")


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
    runnable = [item.case for item in items
                if not skip & set(item.case.needs) and profile_skip_reason(item.case, sess.opts.profile) is None]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:  # the worst case, said before anything is sent (conformance/cost.py)
        reporter.write_line(selection_bound(runnable).line())
    if runnable:
        sess.probe_preflight()  # before any case is recorded: does the model follow the probes?
    for case in runnable:
        sess.scheduler.submit(case)


def _ordered_results(session: pytest.Session, sess: ConformanceSession) -> list[CaseResult]:
    order = [item.case.id for item in session.items if isinstance(item, CaseItem)]
    return [sess.results[cid] for cid in order if cid in sess.results]


@pytest.hookimpl(tryfirst=True)  # before junitxml writes its file: the deviations lead it as suite properties
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if SESSION_KEY not in config.stash:
        return
    sess = config.stash[SESSION_KEY]
    try:
        results = _ordered_results(session, sess)
        config.stash[ORDERED_KEY] = results
        expected = sum(1 for item in session.items if isinstance(item, CaseItem))
        sess.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        document = build_results(results, sess.run_meta(complete=len(results) == expected and not sess.interrupted,
                                                        results=results))
        path = sess.opts.json_path or sess.default_json_path(Path(str(config.rootpath)))
        write_results(path, document)
        config.stash[RESULTS_PATH_KEY] = path
        _junit_deviations(config, document["findings"])
        _finish_baseline(config, results)
    finally:
        sess.close()


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


def _finish_baseline(config: pytest.Config, results: list[CaseResult]) -> None:
    """Gate the run on its baseline and, with --update-baseline, rewrite the file (after the results file)."""
    if BASELINE_KEY not in config.stash or config.stash[BASELINE_KEY] is None:
        return
    from .baseline import gate, updated, write_baseline

    baseline = config.stash[BASELINE_KEY]
    assert baseline is not None
    outcomes = [(r.case.id, r.outcome.value, r.message) for r in results]
    known = config.stash.get(KNOWN_IDS_KEY, None)
    strict = bool(config.getoption("baseline_strict"))
    verdict = gate(baseline, outcomes, strict=strict, known_ids=known)
    if config.getoption("update_baseline"):
        target = config.stash[SESSION_KEY].target
        fresh = updated(baseline, outcomes, baseline.path, target.provider, target.model)
        if known is not None:  # entries for cases that no longer exist go away
            fresh.entries = {k: v for k, v in fresh.entries.items() if k in set(known)}
        write_baseline(fresh)
        verdict_after = gate(fresh, outcomes, strict=strict, known_ids=known)
        verdict_after.updated_to, verdict_after.before = fresh, verdict
        verdict = verdict_after
    config.stash[GATE_KEY] = verdict


def run_notices(sess: ConformanceSession, results: list[CaseResult]) -> list[str]:
    """What the run must say once, at the top of its summary: a model that ignores the probes, a target that
    went down (conformance/probes.py, conformance/outage.py)."""
    from .probes import behavioural_skips

    lines: list[str] = []
    probes = sess.probes
    if probes is not None and not probes.follows:
        lines.append(f"model does not follow probes: {behavioural_skips(results)} behavioural assertions skipped "
                     f"({probes.detail})")
    elif probes is not None and probes.verdict == "inconclusive":
        lines.append(probes.detail)
    watch = sess.scheduler.watch
    if watch.down is not None:
        lines.extend(watch.down.banner(len(watch.not_sent)))
    return lines


def baseline_gate(config: pytest.Config) -> Gate | None:
    """The run's verdict against its baseline (None without --baseline); read by the CLI for its exit code."""
    return config.stash.get(GATE_KEY, None)



def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if SESSION_KEY not in config.stash:
        return
    sess = config.stash[SESSION_KEY]
    results = config.stash.get(ORDERED_KEY, list(sess.results.values()))
    terminalreporter.section("Responses API conformance")
    target = sess.target

    def write_line(line: str, **markup: bool) -> None:
        terminalreporter.write_line(inert(line), **markup)  # every line may quote the server: no control bytes

    write_line(f"{target.provider} / {target.model} at {safe_url(target.base_url)}"
               + (" (embedded reference server)" if sess.embedded else ""))
    for line in run_notices(sess, results):
        write_line(line, bold=True, red=line.startswith("TARGET DOWN"))
    for line in format_summary(results).splitlines():
        write_line(line)
    if RESULTS_PATH_KEY in config.stash:
        write_line(f"results: {config.stash[RESULTS_PATH_KEY]}")
    verdict = config.stash.get(GATE_KEY, None)
    if verdict is not None:
        for line in (verdict.before or verdict).summary_lines():
            write_line(line)
        fresh = verdict.updated_to
        if fresh is not None:
            write_line(f"baseline updated: {fresh.path} now expects {len(fresh.entries)} non-passing case(s)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if not isinstance(item, CaseItem) or item.result is None:
        return
    from .report._matrix_areas import area_of, area_title

    report.conformance_outcome = item.result.outcome.value  # type: ignore[attr-defined]
    report.conformance_group = item.case.group  # type: ignore[attr-defined]
    report.conformance_area = area_title(area_of({"group": item.case.group}))  # type: ignore[attr-defined]
    report.conformance_baseline = item.baseline_verdict().replace("_", " ")  # type: ignore[attr-defined]
    if report.when == "setup" and not any(name in ("deviation", "warning") for name, _ in item.user_properties):
        keys = {f.key: f.severity for c in item.result.checks for f in c.findings if f.key and f.severity in ("fail", "warning")}
        for key, severity in keys.items():  # JUnit testcase properties (written at teardown): its distinct deviations
            item.user_properties.append(("deviation" if severity == "fail" else "warning", key))
    if report.when != "call" and not (report.when == "setup" and (report.failed or report.skipped)):
        return
    try:
        from pytest_html import extras
    except ImportError:
        return
    from .report._matrix_evidence import evidence_html
    from .report.results import case_entry

    # Everything in these extras may come from the server: evidence_html escapes every piece,
    # because pytest-html inserts html extras (and link names) into the page unescaped.
    entry = case_entry(item.result)
    evidence = [extras.html(evidence_html(entry))]
    for ex in item.result.exchanges:
        evidence.append(extras.text(ex.curl, name=html.escape(f"curl [{ex.step}]")))
    report.extras = getattr(report, "extras", []) + evidence  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_header(cells: list[str]) -> None:
    cells.insert(2, "<th>Area</th>")
    cells.insert(3, "<th>Group</th>")
    cells.insert(4, "<th>Verdict</th>")
    cells.insert(5, "<th>Baseline</th>")


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_row(report: Any, cells: list[str]) -> None:
    cells.insert(2, f"<td>{html.escape(str(getattr(report, 'conformance_area', '')))}</td>")
    cells.insert(3, f"<td>{html.escape(str(getattr(report, 'conformance_group', '')))}</td>")
    cells.insert(4, f"<td>{html.escape(str(getattr(report, 'conformance_outcome', '')))}</td>")
    cells.insert(5, f"<td>{html.escape(str(getattr(report, 'conformance_baseline', '')))}</td>")


def results_path(config: pytest.Config) -> Path | None:
    return config.stash.get(RESULTS_PATH_KEY, None)


__all__ = ["CaseFile", "CaseItem", "baseline_gate", "results_path"]
