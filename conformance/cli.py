"""The ``responses-conformance`` command: run, serve, judge, list-checks, matrix, diff.

Exit codes: 0 no failures; 1 conformance failures; 2 usage/configuration error (one
line naming what is wrong, never a traceback); 3 inconclusive (errors such as timeouts
or 5xx, but no failures).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .suite import CASES_DIR

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INCONCLUSIVE = 0, 1, 2, 3
REPO_ROOT = Path(__file__).resolve().parent.parent
#: Packaged pytest config for `run`: isolates a run from any pytest.ini/pyproject nearby.
RUN_INI = Path(__file__).with_name("pytest-run.ini")


class UsageError(Exception):
    """Bad input to our tool; printed as one line, exit 2."""


def _add_target_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-url", help="Responses API base URL, e.g. https://api.openai.com/v1 (default: embedded reference server)")
    p.add_argument("--model", help="model id to test (default with the embedded server: reference-1)")
    p.add_argument("--api-key-env", metavar="VAR", help="environment variable that holds the API key")
    p.add_argument("--header", action="append", default=[], metavar="'Name: value'", help="extra request header (repeatable)")
    p.add_argument("--provider", help="provider name used in reports (default: host of --base-url, or 'reference')")


def _add_policy_args(p: argparse.ArgumentParser) -> None:
    """How far findings beyond the letter of the spec count (docs/verdicts.md)."""
    p.add_argument("--spec-strict", action="store_true",
                   help="fail requirements that api.openai.com itself does not meet (default: a warning)")
    p.add_argument("--strict-behaviour", action="store_true",
                   help="fail what OpenAI does but nothing documents (basis observed; default: a warning)")
    p.add_argument("--spec-as-of", metavar="DATE",
                   help="judge against the spec's requirements of that date (YYYY-MM-DD); later ones become notes")


def _policy(args: argparse.Namespace) -> Any:
    from .judge.basis import JudgePolicy

    try:
        return JudgePolicy.from_options(getattr(args, "spec_strict", False), getattr(args, "strict_behaviour", False),
                                        getattr(args, "spec_as_of", None))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="responses-conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the cases and write reports/")
    _add_target_args(run)
    run.add_argument("--cases", type=Path, default=CASES_DIR, help="directory of YAML cases")
    run.add_argument("--reports", type=Path, default=Path("reports"), help="output directory (default ./reports)")
    run.add_argument("--json", type=Path, help="results JSON path (default reports/<provider>__<model>.json)")
    run.add_argument("--profile", default="openai", choices=["openai", "openresponses"])
    run.add_argument("--concurrency", type=int, default=4, help="cases recorded at once")
    run.add_argument("--deviate", action="append", default=[], metavar="NAME", help="embedded server: named deviation")
    run.add_argument("--variant", action="append", default=[], metavar="NAME", help="embedded server: benign variant")
    run.add_argument("--skip-capability", action="append", default=[], metavar="CAP",
                     help="capability the target declares unavailable (its cases become skipped)")
    run.add_argument("-k", dest="keyword", help="only cases matching this pytest -k expression")
    run.add_argument("--shard", metavar="I/N", help="run only shard I of N of the selected cases (round-robin over the "
                     "sorted case ids; merge the shards' results with `matrix`)")
    run.add_argument("--idle-timeout", type=float, default=60.0, help="seconds without a byte before an exchange "
                     "counts as stalled (waiting for the headers included)")
    run.add_argument("--deadline", type=float, default=180.0, help="overall seconds allowed per exchange")
    run.add_argument("--max-time", type=float, default=None, metavar="SECONDS",
                     help="for the whole run: cases not started by then are skipped (time limit); reports are written")
    run.add_argument("--token-budget", default=None, metavar="N",
                     help="spend at most N output tokens: a case starts only if its worst-case output fits in what "
                          "is left after the cases done and in flight, the rest are skipped (budget); reports are "
                          "written")
    run.add_argument("-q", "--quiet", action="store_true")
    run.add_argument("--config", type=Path, metavar="PROVIDERS.yaml",
                     help="run every provider x model of a providers file (narrow with --provider/--model, comma-separated)")
    run.add_argument("--baseline", type=Path, metavar="PATH",
                     help="baseline YAML of expected non-passing cases, or a directory holding <provider>/<model>.yaml; "
                          "the run then fails only on regressions")
    run.add_argument("--strict", action="store_true", help="with --baseline: unexpected passes (stale entries) fail too")
    run.add_argument("--update-baseline", action="store_true", help="with --baseline: rewrite it from this run's results")
    run.add_argument("--no-matrix", action="store_true", help="with --config: do not write reports/matrix.html")
    run.add_argument("--assume-probes", action="store_true",
                     help="skip the probe preflight: judge behavioural expectations (probe replies, forced tool "
                          "calls, JSON output) even if the model ignores the probes")
    _add_policy_args(run)

    serve = sub.add_parser("serve", help="run the reference server alone")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--api-key", help="require this bearer key, as real providers do")
    serve.add_argument("--deviate", action="append", default=[], metavar="NAME")
    serve.add_argument("--variant", action="append", default=[], metavar="NAME")
    serve.add_argument("--list-deviations", action="store_true", help="list deviations and variants, then exit")
    serve.add_argument("--profile", default="openai", choices=["openai", "openresponses"],
                       help="spec the served objects follow (openresponses: the Open Responses shapes)")

    judge = sub.add_parser("judge", help="judge saved response bodies, streams (SSE, JSONL) or capture directories "
                           "offline")
    judge.add_argument("files", nargs="+", type=Path, metavar="FILE|DIR",
                       help="a saved body (JSON, SSE, JSONL event log, or prose with Response JSON), or a capture "
                            "directory: <name>.json|.sse|.jsonl bodies with <name>.request.json beside them, and a "
                            "manifest.json (there or up to two levels above) giving endpoint, status and date")
    judge.add_argument("--profile", default="openai", choices=["openai", "openresponses"])
    judge.add_argument("--request", type=Path, metavar="FILE",
                       help="the request body (JSON) the one judged file answered: request-dependent checks run")
    judge.add_argument("--spec-strict", action="store_true",
                       help="a requirement api.openai.com itself does not meet fails instead of warning")
    judge.add_argument("--strict-behaviour", action="store_true",
                       help="what OpenAI does but nothing documents (basis observed) fails instead of warning")
    judge.add_argument("--spec-as-of", metavar="DATE|capture",
                       help="judge against the spec of DATE (newer requirements become notes); 'capture': each "
                            "manifest capture as of its own capture_date")

    sub.add_parser("list-checks", help="list the named checks")

    cov = sub.add_parser("coverage", help="which spec elements the cases exercise (docs/coverage.md)")
    cov.add_argument("--profile", "--spec", dest="profile", default="openai", choices=["openai", "openresponses"])
    cov.add_argument("--cases", type=Path, default=CASES_DIR, help="directory of YAML cases")
    cov.add_argument("--json", type=Path, help="also write the coverage as JSON here")
    cov.add_argument("--html", type=Path, help="also write the coverage as an HTML fragment here")
    cov.add_argument("--results", type=Path, help="results JSON of a run: add what its exchanges showed (observed)")
    cov.add_argument("--summary", action="store_true", help="per-category totals only")
    cov.add_argument("--readme", nargs="?", type=Path, const=REPO_ROOT / "README.md", metavar="PATH",
                     help="regenerate the README coverage section (default ./README.md of the repo), then exit")

    matrix = sub.add_parser("matrix", help="merge results files into one HTML compatibility matrix")
    matrix.add_argument("files", nargs="+", type=Path, help="results JSON files (or directories of them)")
    matrix.add_argument("-o", "--output", type=Path, default=Path("reports/matrix.html"), help="HTML file to write")
    matrix.add_argument("--title", default="Responses API compatibility matrix")

    diff = sub.add_parser("diff", help="what changed between two results files (exit 1 on regressions)")
    diff.add_argument("old", type=Path)
    diff.add_argument("new", type=Path)
    return parser


def _load_cases(args: argparse.Namespace) -> list[Any]:
    from .cases import CaseFormatError, load_all

    if args.concurrency < 1:
        raise UsageError("--concurrency: must be at least 1")
    if not args.cases.is_dir():
        raise UsageError(f"--cases {args.cases}: not a directory")
    try:
        cases = load_all(args.cases)
    except CaseFormatError as exc:
        raise UsageError(str(exc)) from None
    if not cases:
        raise UsageError(f"--cases {args.cases}: no *.yaml cases found")
    known = {cap for case in cases for cap in case.needs}
    for cap in args.skip_capability:
        if cap not in known:
            raise UsageError(f"--skip-capability {cap!r}: no case needs it (known: {', '.join(sorted(known))})")
    _check_reports_dir(args.reports)
    return cases


def _check_reports_dir(reports: Path) -> None:
    """``--reports`` must be (or become) a folder we can write in: found out now, not after the whole run."""
    import tempfile

    if reports.exists() and not reports.is_dir():
        raise UsageError(f"--reports {reports}: not a directory")
    try:
        reports.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=reports):
            pass
    except OSError as exc:
        raise UsageError(f"--reports {reports}: not writable ({exc.strerror or exc})") from None


def _check_baseline_args(args: argparse.Namespace) -> None:
    if (args.strict or args.update_baseline) and not args.baseline:
        raise UsageError("--strict/--update-baseline: need --baseline PATH")


def seconds(option: str, raw: float | None, *, optional: bool = False) -> float | None:
    """A duration option: a finite number of seconds above zero (``nan``, ``inf``, 0 and negatives are refused)."""
    if raw is None and optional:
        return None
    if raw is None or not math.isfinite(raw) or raw <= 0:
        raise UsageError(f"{option} {raw}: expected a number of seconds above zero")
    return float(raw)


def _limits(args: argparse.Namespace, base: Any) -> Any:
    """``base`` with this command's --idle-timeout/--deadline, validated."""
    import dataclasses

    return dataclasses.replace(base, idle_timeout_s=seconds("--idle-timeout", args.idle_timeout),
                               deadline_s=seconds("--deadline", args.deadline))


def cmd_run(args: argparse.Namespace) -> int:
    import time

    from .record.http import Limits
    from .session import RunOptions

    _check_baseline_args(args)
    if args.base_url is not None and not args.base_url.strip():
        raise UsageError("--base-url: empty (an unset variable?); omit the option to test the embedded reference server")
    _limits(args, Limits())
    max_time = seconds("--max-time", args.max_time, optional=True)
    args.stop_at = None if max_time is None else time.monotonic() + max_time
    args.token_budget = _token_budget(args.token_budget)
    if args.config is not None:
        return _run_config(args)
    cases = _load_cases(args)
    opts = RunOptions(
        base_url=args.base_url, model=args.model, api_key_env=args.api_key_env, headers=args.header,
        provider=args.provider, profile=args.profile, concurrency=args.concurrency, deviations=args.deviate,
        variants=args.variant, skip_capabilities=args.skip_capability,
        limits=_limits(args, Limits()), shard=_shard(args),
        assume_probes=args.assume_probes, policy=_policy(args), max_time_s=args.max_time, stop_at=args.stop_at,
        token_budget=args.token_budget,
    )
    return _run_target(args, opts, cases, json_path=args.json)


def _token_budget(raw: str | None) -> int | None:
    from .cost import parse_token_budget

    if raw is None:
        return None
    try:
        return parse_token_budget(raw)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _shard(args: argparse.Namespace) -> Any:
    from .shard import parse_shard

    if not args.shard:
        return None
    try:
        return parse_shard(args.shard)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _run_target(args: argparse.Namespace, opts: Any, cases: list[Any], json_path: Path | None = None) -> int:
    """One pytest session against one provider/model; writes its JSON, HTML and JUnit reports."""
    from .baseline import BaselineError, baseline_path_for, load_baseline
    from .record.http import ConfigError
    from .session import ConformanceSession, report_stem

    try:
        sess = ConformanceSession(opts)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    try:
        problem = sess.preflight()
    except KeyboardInterrupt:  # stopped before any case: the results file still says so
        _write_interrupted(sess, json_path or args.reports / f"{report_stem(sess.target.provider, sess.target.model, opts.shard)}.json")
        raise
    if problem:
        sess.close()
        raise UsageError(problem)
    baseline_path = None
    if args.baseline is not None:
        baseline_path = baseline_path_for(args.baseline, sess.target.provider, sess.target.model)
        try:
            if not args.update_baseline and not baseline_path.is_file():
                raise BaselineError(baseline_path, 1, "no such baseline file (create it with --update-baseline)")
            load_baseline(baseline_path, missing_ok=args.update_baseline)
        except BaselineError as exc:
            sess.close()
            raise UsageError(str(exc)) from None
    stem = report_stem(sess.target.provider, sess.target.model, opts.shard)
    reports: Path = args.reports
    json_path = json_path or reports / f"{stem}.json"
    if json_path.exists() and not json_path.is_file():
        sess.close()
        raise UsageError(f"--json {json_path}: not a regular file")
    opts.json_path = json_path
    pytest_args = [
        str(args.cases), f"--conformance-cases={args.cases}", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
        "-W", "ignore::pytest.PytestAssertRewriteWarning",
        f"--rootdir={REPO_ROOT}", "-c", str(RUN_INI),
        f"--html={reports / (stem + '.html')}", "--self-contained-html",
        f"--junitxml={reports / (stem + '.junit.xml')}", "-o", "junit_family=xunit2",
        "-rfE", "--tb=short",
    ]
    if baseline_path is not None:
        pytest_args += [f"--baseline={baseline_path}"]
        if args.strict:
            pytest_args.append("--baseline-strict")
        if args.update_baseline:
            pytest_args.append("--update-baseline")
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    if opts.shard is not None:
        pytest_args += ["--shard", str(opts.shard)]
    if args.quiet:
        pytest_args.append("-q")
    import pytest

    from . import pytest_plugin
    from .pytest_plugin import SESSION_KEY, baseline_gate

    class _Inject:
        """Hands the already-started session (server, preflighted recorder) to the plugin."""

        config: pytest.Config | None = None

        @pytest.hookimpl(tryfirst=True)
        def pytest_configure(self, config: pytest.Config) -> None:
            config.stash[SESSION_KEY] = sess
            self.config = config

    inject = _Inject()
    rc = pytest.main(pytest_args, plugins=[pytest_plugin, inject])
    results = list(sess.results.values())
    if rc == pytest.ExitCode.NO_TESTS_COLLECTED and not results:  # a green run that tested nothing is no pass
        chosen = [f"-k {args.keyword!r}"] * bool(args.keyword) + [f"--shard {opts.shard}"] * (opts.shard is not None)
        raise UsageError(f"{' with '.join(chosen) or f'--cases {args.cases}'}: selects no case (nothing was tested)")
    print(f"reports: {json_path}, {reports / (stem + '.html')}, {reports / (stem + '.junit.xml')}")
    if rc == pytest.ExitCode.INTERRUPTED and sess.interrupted:
        raise KeyboardInterrupt  # Ctrl-C/SIGTERM: the reports are written; no further provider of a --config run
    if rc in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        return EXIT_USAGE
    verdict = baseline_gate(inject.config) if inject.config is not None else None
    if verdict is not None:
        if verdict.failed:
            return EXIT_FAIL
    elif any(r.outcome.value == "fail" for r in results):
        return EXIT_FAIL
    if any(r.outcome.value == "error" for r in results) or rc == pytest.ExitCode.INTERRUPTED:
        return EXIT_INCONCLUSIVE
    return EXIT_OK


def _write_interrupted(sess: Any, path: Path) -> None:
    """The results JSON of a run stopped before its first case (``run.complete: false``, no cases)."""
    from .report import build_results, write_results

    sess.interrupted = True
    try:
        write_results(path, build_results([], sess.run_meta(complete=False)))
    except (OSError, ValueError):
        pass
    finally:
        sess.close()


def _names(raw: str | None) -> list[str]:
    return [n.strip() for n in (raw or "").split(",") if n.strip()]


def _run_config(args: argparse.Namespace) -> int:
    """Every provider x model of a providers file, one after another; then the matrix of them all."""
    from .config import ProvidersFileError, check_auth_env, load_providers, resolve_headers, unknown_capabilities
    from .session import RunOptions

    if args.base_url or args.json or args.deviate or args.variant or args.api_key_env or args.header:
        raise UsageError("--config: cannot be combined with --base-url/--api-key-env/--header/--deviate/--variant/--json "
                         "(put those in the providers file)")
    cases = _load_cases(args)
    shard = _shard(args)
    policy = _policy(args)
    known_caps = {c for case in cases for c in case.needs}
    try:
        providers = load_providers(args.config)
        targets = providers.targets(_names(args.provider), _names(args.model))
        planned = []
        for t in targets:
            if not t.provider.embedded:
                check_auth_env(t)
            planned.append((t, resolve_headers(t)))
    except ProvidersFileError as exc:
        raise UsageError(str(exc)) from None
    if not targets:
        raise UsageError(f"{args.config}: no provider/model selected")
    for t in targets:
        for cap in unknown_capabilities(t, known_caps):
            print(f"responses-conformance: warning: {args.config}:{t.model.line}: {t.label}: declared capability "
                  f"{cap!r} matches no case (known: {', '.join(sorted(known_caps))})", file=sys.stderr)
    codes: list[int] = []
    written: list[Path] = []
    from .record._redact import safe_url
    from .session import report_stem

    for t, headers in planned:
        p = t.provider
        opts = RunOptions(
            base_url=p.base_url, model=t.model.name, api_key_env=p.auth.env, auth_header=p.auth.header,
            auth_scheme=p.auth.scheme, headers=headers, provider=p.name,
            profile=p.profile, concurrency=p.concurrency, deviations=p.deviations, variants=p.variants,
            skip_capabilities=sorted(set(t.skip_capabilities) | set(args.skip_capability)), limits=p.limits,
            shard=shard, assume_probes=args.assume_probes, policy=policy, max_time_s=args.max_time,
            stop_at=args.stop_at, token_budget=args.token_budget,
        )
        print(f"== {t.label} ({safe_url(p.base_url) if p.base_url else 'embedded reference server'})", flush=True)
        try:
            code = _run_target(args, opts, cases)
        except UsageError as exc:
            print(f"responses-conformance: error: {t.label}: {exc}", file=sys.stderr)
            code = EXIT_USAGE
        codes.append(code)
        candidate = args.reports / f"{report_stem(p.name, t.model.name, shard)}.json"
        if candidate.is_file():
            written.append(candidate)
        print(f"== {t.label}: exit {code}", flush=True)
    if written and not args.no_matrix:
        from .report.matrix import MatrixInputError, write_matrix

        try:
            out = args.reports / "matrix.html"
            write_matrix(written, out)
            print(f"matrix: {out}")
        except MatrixInputError as exc:
            print(f"responses-conformance: warning: matrix not written: {exc}", file=sys.stderr)
    for code in (EXIT_USAGE, EXIT_FAIL, EXIT_INCONCLUSIVE):
        if code in codes:
            return code
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from .reference import DEVIATIONS, VARIANTS, ReferenceServer

    if args.list_deviations:
        lines = ["deviations (non-conformant):"]
        lines += [f"  {name:<36} {text}" for name, text in sorted(DEVIATIONS.items())]
        lines.append("variants (benign, valid per spec):")
        lines += [f"  {name:<36} {text}" for name, text in sorted(VARIANTS.items())]
        print("\n".join(lines))
        return EXIT_OK
    try:
        server = ReferenceServer(args.host, args.port, api_key=args.api_key, deviations=args.deviate, variants=args.variant,
                                 profile=args.profile)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"--port {args.port}: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    print(f"reference server listening on {server.base_url}" + (" (bearer key required)" if args.api_key else "")
          + (f" (profile {args.profile})" if args.profile != "openai" else ""), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return EXIT_OK


def _judge_policy(args: argparse.Namespace) -> Any:
    """``_policy``, where ``--spec-as-of`` may also be ``capture`` (each capture as of its own capture_date)."""
    per_capture = args.spec_as_of == "capture"
    return _policy(argparse.Namespace(**{**vars(args), "spec_as_of": None if per_capture else args.spec_as_of}))


def cmd_judge(args: argparse.Namespace) -> int:
    """Judge every input; an unreadable one is one ``judge: <file>: <reason>`` line and exit 2, after the rest."""
    from .judge.captures import CaptureProblem, read_request
    from .judge.offline import format_document, judge_capture_dir, judge_file, summary_line
    from .record._redact import inert

    policy = _judge_policy(args)
    request = None
    if args.request is not None:
        if len(args.files) != 1 or args.files[0].is_dir():
            raise UsageError("--request: applies to one judged file (a capture directory pairs its own requests)")
        try:
            request = read_request(args.request)
        except CaptureProblem as exc:
            print(f"judge: {exc}", file=sys.stderr)
            return EXIT_USAGE
    docs: list[Any] = []
    unreadable = 0

    def problem(path: Any, reason: str) -> None:
        nonlocal unreadable
        unreadable += 1
        sys.stdout.flush()
        print(inert(f"judge: {path}: {reason}"), file=sys.stderr, flush=True)  # a reason may quote the file

    for path in args.files:
        try:
            if path.is_dir():
                for capture in judge_capture_dir(path, profile=args.profile, policy=policy,
                                                 spec_as_of_capture=args.spec_as_of == "capture"):
                    if capture.problem:
                        problem(capture.file, capture.problem)
                    docs.extend(capture.documents)
                    for doc in capture.documents:
                        print("\n".join(format_document(doc)))
                continue
            if not path.exists():
                problem(path, "no such file or directory")
                continue
            found = judge_file(path, args.profile, request=request, policy=policy)
        except CaptureProblem as exc:
            problem(exc.path, exc.reason)
            continue
        docs.extend(found)
        for doc in found:
            print("\n".join(format_document(doc)))
    if docs:
        print(summary_line(docs, unreadable))
    if unreadable:
        return EXIT_USAGE
    return EXIT_FAIL if any(doc.failed for doc in docs) else EXIT_OK


def cmd_list_checks(_: argparse.Namespace) -> int:
    from .judge.catalog import RULES as REGISTRY

    for chk in sorted(REGISTRY.values(), key=lambda c: c.name):
        print(f"{chk.name:<40} {chk.severity:<8} {chk.description}  [{chk.spec_ref}]")
    return EXIT_OK


def cmd_coverage(args: argparse.Namespace) -> int:
    from .coverage.command import CoverageUsageError, run_coverage

    try:
        print(run_coverage(args.cases, args.profile, args.json, args.html, args.results, args.readme, not args.summary))
    except CoverageUsageError as exc:
        raise UsageError(str(exc)) from None
    return EXIT_OK


def _results_files(paths: Sequence[Path]) -> list[Path]:
    """Files as given; a directory stands for the results files in it (*.json)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.glob("*.json") if p.is_file())
            if not found:
                raise UsageError(f"{path}: directory holds no *.json results files")
            out.extend(found)
        elif not path.is_file():
            raise UsageError(f"{path}: no such file")
        else:
            out.append(path)
    return out


def cmd_matrix(args: argparse.Namespace) -> int:
    from .report.matrix import MatrixInputError, write_matrix

    try:
        matrix = write_matrix(_results_files(args.files), args.output, args.title)
    except MatrixInputError as exc:
        raise UsageError(str(exc)) from None
    print(f"matrix: {args.output} ({len(matrix.rows)} cases x {len(matrix.columns)} columns, "
          f"{args.output.stat().st_size // 1024} KiB)")
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from .report.diff import diff_files, format_diff
    from .report.matrix import MatrixInputError

    try:
        d = diff_files(args.old, args.new)
    except MatrixInputError as exc:
        raise UsageError(str(exc)) from None
    print(format_diff(d))
    return EXIT_FAIL if d.has_regressions else EXIT_OK


COMMANDS: dict[str, Any] = {"run": cmd_run, "serve": cmd_serve, "judge": cmd_judge, "list-checks": cmd_list_checks,
                            "coverage": cmd_coverage, "matrix": cmd_matrix, "diff": cmd_diff}


class _Stop:
    """How a run was stopped: Ctrl-C (exit 130) or SIGTERM (exit 143), turned into one KeyboardInterrupt.

    pytest answers the KeyboardInterrupt by finishing the session, so the partial reports are written
    (``run.complete: false``); the cases still in flight are then abandoned, not awaited (see :func:`main`)."""

    def __init__(self) -> None:
        self.code: int | None = None
        self._saved: list[tuple[int, Any]] = []

    #: seconds after the first signal when the process leaves whatever it is doing (a report is written by then)
    GRACE_S = 1.5

    def _handler(self, signum: int, _frame: Any) -> None:
        import threading

        if self.code is None:
            timer = threading.Timer(self.GRACE_S, os._exit, args=(128 + signum,))
            timer.daemon = True
            timer.start()
        self.code = 128 + signum
        raise KeyboardInterrupt

    def __enter__(self) -> _Stop:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._saved.append((sig, signal.signal(sig, self._handler)))
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        for sig, handler in self._saved:
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    stop = _Stop()
    try:
        with stop if args.command == "run" else contextlib.nullcontext(stop):
            code = int(COMMANDS[args.command](args))
            sys.stdout.flush()
    except UsageError as exc:
        print(f"responses-conformance: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # the reader went away (``... | head``): nothing more to say; stdout is pointed at devnull so the
        # interpreter's own flush at exit does not raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        stop.code = stop.code or 130
    if stop.code is None:
        return code
    print(f"responses-conformance: {'terminated' if stop.code == 143 else 'interrupted'}; partial reports written",
          file=sys.stderr)
    # cases still in flight run in pool threads the interpreter would wait for at exit (up to a --deadline
    # each): the reports are written, so leave now
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(stop.code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
