"""The ``responses-conformance`` command: run, serve, judge, list-checks, coverage, matrix, diff.

Exit codes: 0 no failures; 1 conformance failures; 2 usage/configuration error (one
line naming what is wrong, never a traceback); 3 inconclusive (errors such as timeouts
or 5xx, but no failures); 130/143 stopped by Ctrl-C/SIGTERM (the reports of what ran are written).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .run.options import add_to_argparse
from .suite import CASES_DIR

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INCONCLUSIVE = 0, 1, 2, 3
REPO_ROOT = Path(__file__).resolve().parent.parent


class UsageError(Exception):
    """Bad input to our tool; printed as one line, exit 2."""


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
    add_to_argparse(run)  # every run option is declared once, in conformance/run/options.py

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
                           "offline; or re-judge a whole recorded run (--recording)")
    judge.add_argument("--recording", type=Path, metavar="FILE.har.gz",
                       help="re-judge the run this recording holds (written by `run` beside its results) with the "
                            "current checks and cases, sending nothing; writes its results like the live run")
    judge.add_argument("--reports", type=Path, default=Path("reports"),
                       help="with --recording: output directory (default ./reports)")
    judge.add_argument("--json", type=Path, help="with --recording: results JSON path (default "
                       "<reports>/<provider>__<model>.json, the live run's name)")
    judge.add_argument("--cases", type=Path, help="with --recording: directory of YAML cases (default: the one the "
                       "live run used, else the built-in cases)")
    judge.add_argument("files", nargs="*", type=Path, metavar="FILE|DIR",
                       help="a saved body (JSON, SSE, JSONL event log, or prose with Response JSON), or a capture "
                            "directory: <name>.json|.sse|.jsonl bodies with <name>.request.json beside them, and a "
                            "manifest.json (there or up to two levels above) giving endpoint, status and date")
    judge.add_argument("--profile", default=None, choices=["openai", "openresponses"],
                       help="spec to judge against (default openai; a recording is judged under its run's profile)")
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


def _load_cases(args: argparse.Namespace, opts: Any) -> list[Any]:
    """Every case of ``--cases``, parsed once for the whole command (every target of a --config run)."""
    from .cases import CaseFormatError, load_all
    from .run.runner import capability_problem

    args.case_dirs = case_dirs([Path(p) for p in args.cases], builtin=not args.no_builtin_cases)
    try:
        cases = load_all(*args.case_dirs)
    except CaseFormatError as exc:  # a duplicate id names both files: "<file:line>: ... (first defined at <file:line>)"
        raise UsageError(str(exc)) from None
    if not cases:
        raise UsageError(f"--cases {' '.join(map(str, args.case_dirs))}: no *.yaml cases found")
    problem = capability_problem(opts.skip_capabilities, cases)
    if problem:
        raise UsageError(problem)
    _check_reports_dir(args.reports)
    return cases


def case_dirs(extra: Sequence[Path], *, builtin: bool = True) -> list[Path]:
    """The folders a run loads: the built-in cases, then each ``--cases DIR`` (each once, in order)."""
    if not builtin and not extra:
        raise UsageError("--no-builtin-cases: needs at least one --cases DIR (nothing else to run)")
    for folder in extra:
        if not folder.is_dir():
            raise UsageError(f"--cases {folder}: not a directory")
    out: list[Path] = []
    for folder in ([CASES_DIR] if builtin else []) + list(extra):
        if folder.resolve() not in {f.resolve() for f in out}:
            out.append(folder)
    return out


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


def cmd_run(args: argparse.Namespace) -> int:
    import time

    from .run.options import OptionError, run_options

    try:
        opts = run_options(vars(args))
    except OptionError as exc:
        raise UsageError(str(exc)) from None
    # one --max-time for the whole command: every target of a --config run shares the instant it ends
    opts.stop_at = None if opts.max_time_s is None else time.monotonic() + opts.max_time_s
    if args.config is not None:
        return _run_config(args, opts)
    cases = _load_cases(args, opts)
    return _run_target(args, opts, cases, json_path=opts.json_path)


def _selection(args: argparse.Namespace, opts: Any, cases: list[Any]) -> list[Any]:
    """The cases -k and --shard leave, in run order; none is a usage error (a green run that tested nothing).

    ``--fuzz-only``: none, on purpose (the fuzzer is the run); a -k or --shard beside it would select cases that are
    then never sent, so it is refused."""
    from .run.select import KeywordError, select

    if getattr(args, "fuzz_only", False):
        if args.keyword or opts.shard is not None:
            raise UsageError("--fuzz-only: sends no case, so -k/--shard have nothing to select")
        return []
    try:
        selected = select(cases, args.keyword)
    except KeywordError as exc:
        raise UsageError(str(exc)) from None
    if opts.shard is not None:
        keep = opts.shard.select(case.id for case in selected)
        selected = [case for case in selected if case.id in keep]
    if not selected:
        chosen = [f"-k {args.keyword!r}"] * bool(args.keyword) + [f"--shard {opts.shard}"] * (opts.shard is not None)
        raise UsageError(f"{' with '.join(chosen) or '--cases ' + ' '.join(map(str, args.case_dirs))}: selects no case (nothing was tested)")
    return selected


def _run_target(args: argparse.Namespace, opts: Any, cases: list[Any], json_path: Path | None = None,
                also: Sequence[Any] = ()) -> int:
    """One engine run against one provider/model; its reporters write the JSON, HTML and JUnit reports
    (``also``: more subscribers, after those)."""
    from .record.har import recording_path
    from .record.http import ConfigError
    from .report.outputs import run_reporters
    from .run.baseline import BaselineError
    from .run.runner import Engine
    from .run.session import ConformanceSession, report_stem

    selected = _selection(args, opts, cases)
    try:
        sess = ConformanceSession(opts)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    stem = report_stem(sess.target.provider, sess.target.model, opts.shard)
    reports: Path = args.reports
    json_path = json_path or reports / f"{stem}.json"
    html_path, junit_path = reports / f"{stem}.html", reports / f"{stem}.junit.xml"
    for path, what in ((json_path, "--json"), (recording_path(json_path), "recording")):
        if path.exists() and not path.is_file():
            sess.close()
            raise UsageError(f"{what} {path}: not a regular file")
    engine = Engine(sess, [*run_reporters(html_path, junit_path, quiet=args.quiet), *also])
    try:
        problem = sess.preflight()
    except KeyboardInterrupt:  # stopped before any case: the reports still say so (run.complete: false)
        engine.finish(interrupted=True, json_path=json_path)
        raise
    if problem:
        sess.close()
        raise UsageError(problem)
    try:
        engine.load_baseline()
    except BaselineError as exc:
        sess.close()
        raise UsageError(str(exc)) from None
    said = f"reports: {json_path}, {html_path}, {junit_path}, {recording_path(json_path)}"  # the recording beside
    try:
        finished = engine.run(selected, known_ids=[case.id for case in cases], json_path=json_path,
                              cases_dir=os.pathsep.join(map(str, args.case_dirs)))
    except KeyboardInterrupt:  # Ctrl-C/SIGTERM: the reports are written; no further provider of a --config run
        print(said, flush=True)
        raise
    except OSError as exc:  # a report that cannot be written (a full disk): one line, not a traceback
        raise UsageError(f"cannot write the reports: {exc.strerror or exc} ({getattr(exc, 'filename', '') or reports})") from None
    print(said, flush=True)
    if finished.failed:
        return EXIT_FAIL
    return EXIT_INCONCLUSIVE if finished.inconclusive else EXIT_OK


def _names(raw: str | None) -> list[str]:
    return [n.strip() for n in (raw or "").split(",") if n.strip()]


def _run_config(args: argparse.Namespace, template: Any) -> int:
    """Every provider x model of a providers file, one after another; then the matrix of them all."""
    import dataclasses

    from .run.config import ProvidersFileError, check_auth_env, load_providers, resolve_headers, unknown_capabilities
    from .run.options import per_target_given

    if args.base_url or args.json or args.deviations or args.variants or args.api_key_env or args.headers:
        raise UsageError("--config: cannot be combined with --base-url/--api-key-env/--header/--deviate/--variant/--json "
                         "(put those in the providers file)")
    given = per_target_given(vars(args))
    if given:  # the file sets them per provider (or under defaults:); a flag beside it would be silently ignored
        raise UsageError(f"--config: {'/'.join(given)} cannot be combined with it (set "
                         f"{'them' if len(given) > 1 else 'it'} in the providers file, per provider or under defaults:)")
    cases = _load_cases(args, template)
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
    from .record._redact import safe_url
    from .report.files import MatrixInput

    codes: list[int] = []
    matrix_input = MatrixInput()

    for t, headers in planned:
        p = t.provider
        opts = dataclasses.replace(
            template, base_url=p.base_url, model=t.model.name, api_key_env=p.auth.env, auth_header=p.auth.header,
            auth_scheme=p.auth.scheme, headers=headers, provider=p.name,
            profile=p.profile, concurrency=p.concurrency, deviations=p.deviations, variants=p.variants,
            skip_capabilities=sorted(set(t.skip_capabilities) | set(template.skip_capabilities)), limits=p.limits,
        )
        print(f"== {t.label} ({safe_url(p.base_url) if p.base_url else 'embedded reference server'})", flush=True)
        try:
            code = _run_target(args, opts, cases, also=[matrix_input])
        except UsageError as exc:
            print(f"responses-conformance: error: {t.label}: {exc}", file=sys.stderr)
            code = EXIT_USAGE
        codes.append(code)
        print(f"== {t.label}: exit {code}", flush=True)
    if matrix_input.files and not args.no_matrix:
        from .report.matrix import MatrixInputError, write_matrix

        try:
            out = args.reports / "matrix.html"
            write_matrix(matrix_input.files, out)
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

    if args.recording is not None:
        return cmd_rejudge(args)
    if args.json is not None or args.cases is not None:
        raise UsageError("--json/--cases: apply to --recording only")
    if not args.files:
        raise UsageError("judge: give FILE|DIR to judge, or --recording FILE.har.gz")
    args.profile = args.profile or "openai"
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


def cmd_rejudge(args: argparse.Namespace) -> int:
    """``judge --recording FILE``: re-judge a recorded run with the current checks and write the reports a live run
    writes (conformance/run/rejudge.py, conformance/report/outputs.py); an unreadable recording is one line naming the
    file and field, exit 2."""
    from .record._redact import inert
    from .record.har import RecordingError
    from .report.outputs import report_rejudged, run_reporters
    from .run.rejudge import notices, rejudge
    from .run.session import recorded_stem

    if args.files or args.request is not None:
        raise UsageError("--recording: judges a recorded run; drop FILE|DIR and --request")
    if args.spec_as_of == "capture":
        raise UsageError("--spec-as-of capture: applies to capture directories, not to --recording")
    policy = _policy(args)
    try:
        done = rejudge(args.recording, cases_dir=args.cases, policy=policy)
    except RecordingError as exc:
        print(inert(f"judge: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    if args.profile is not None and args.profile != done.meta.get("profile"):
        raise UsageError(f"--profile {args.profile}: the recording was made under profile "
                         f"{done.meta.get('profile')!r}, and is judged under it")
    _check_reports_dir(args.reports)
    stem = recorded_stem(done.meta)
    json_path = args.json or args.reports / f"{stem}.json"  # the live run's names: the same matrix column
    if json_path.exists() and not json_path.is_file():
        raise UsageError(f"--json {json_path}: not a regular file")
    if done.missing:
        print(inert(f"judge: {len(done.missing)} recorded case(s) not in the current cases, not judged: "
                    f"{', '.join(done.missing[:10])}{' ...' if len(done.missing) > 10 else ''}"), file=sys.stderr)
    print(inert(f"re-judged from {args.recording} (nothing sent)"), flush=True)
    reporters = run_reporters(args.reports / f"{stem}.html", args.reports / f"{stem}.junit.xml")
    try:
        finished = report_rejudged(done.results, done.meta, json_path, reporters, notices(done.meta))
    except OSError as exc:  # a report that cannot be written (a full disk): one line, not a traceback
        raise UsageError(f"cannot write the reports: {exc.strerror or exc} ({getattr(exc, 'filename', '') or json_path})") from None
    if finished.failed:
        return EXIT_FAIL
    return EXIT_INCONCLUSIVE if finished.inconclusive else EXIT_OK


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

    The engine answers the KeyboardInterrupt by finishing the run, so the partial reports are written
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


def entry() -> None:
    """``responses-conformance`` and ``python -m conformance``: :func:`main`, then exit without tearing the heap down.

    Why: once the reports are written, the interpreter's orderly shutdown only frees memory the kernel takes back
    anyway, and that costs CPU: about 0.1 s after a one-case run, over half a second after a run whose ``sdk``
    group imported the official SDK (freeing its thousands of pydantic classes and schemas); issue 12 bounds
    both (bench/bench_cpu.py). What the command leaves is the same: every file it writes is closed before
    :func:`main` returns, the console is flushed, the ``atexit`` handlers run (logging's, a coverage tool's), and
    with a non-daemon thread still alive the interpreter exits as always, waiting for it. An exception raised out
    of :func:`main` (a bug) ends the command the usual way, traceback and all."""
    import atexit
    import threading

    code = main()
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader gone, a stream closed: nothing more can be said there
            pass
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; a reader that goes away (``| head``) only ends the printing (``_closed_pipe``): the
    command runs to its end, writes every report and exits as it would have."""
    from ._closed_pipe import guard_console, settle
    from ._gc import tune

    tune()  # fewer cycle collections: a sixth of a run's CPU went to them (conformance/_gc.py)
    before = sys.stdout, sys.stderr
    out, err = guard_console()
    try:
        return _main(argv)
    finally:
        settle(out, err)
        sys.stdout, sys.stderr = before


def _main(argv: Sequence[str] | None = None) -> int:
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
    except BrokenPipeError:  # written past the guard (to a descriptor itself): the reader is gone all the same
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
