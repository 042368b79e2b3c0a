"""The ``responses-conformance`` command: run, serve, judge, list-checks.

Exit codes: 0 no failures; 1 conformance failures; 2 usage/configuration error (one
line naming what is wrong, never a traceback); 3 inconclusive (errors such as timeouts
or 5xx, but no failures).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INCONCLUSIVE = 0, 1, 2, 3
REPO_ROOT = Path(__file__).resolve().parent.parent


class UsageError(Exception):
    """Bad input to our tool; printed as one line, exit 2."""


def _add_target_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-url", help="Responses API base URL, e.g. https://api.openai.com/v1 (default: embedded reference server)")
    p.add_argument("--model", help="model id to test (default with the embedded server: reference-1)")
    p.add_argument("--api-key-env", metavar="VAR", help="environment variable that holds the API key")
    p.add_argument("--header", action="append", default=[], metavar="'Name: value'", help="extra request header (repeatable)")
    p.add_argument("--provider", help="provider name used in reports (default: host of --base-url, or 'reference')")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="responses-conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the cases and write reports/")
    _add_target_args(run)
    run.add_argument("--cases", type=Path, default=REPO_ROOT / "cases", help="directory of YAML cases")
    run.add_argument("--reports", type=Path, default=Path("reports"), help="output directory (default ./reports)")
    run.add_argument("--json", type=Path, help="results JSON path (default reports/<provider>__<model>.json)")
    run.add_argument("--profile", default="openai", choices=["openai", "openresponses"])
    run.add_argument("--concurrency", type=int, default=4, help="cases recorded at once")
    run.add_argument("--deviate", action="append", default=[], metavar="NAME", help="embedded server: named deviation")
    run.add_argument("--variant", action="append", default=[], metavar="NAME", help="embedded server: benign variant")
    run.add_argument("--skip-capability", action="append", default=[], metavar="CAP",
                     help="capability the target declares unavailable (its cases become skipped)")
    run.add_argument("-k", dest="keyword", help="only cases matching this pytest -k expression")
    run.add_argument("--idle-timeout", type=float, default=60.0)
    run.add_argument("--deadline", type=float, default=180.0)
    run.add_argument("-q", "--quiet", action="store_true")

    serve = sub.add_parser("serve", help="run the reference server alone")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--api-key", help="require this bearer key, as real providers do")
    serve.add_argument("--deviate", action="append", default=[], metavar="NAME")
    serve.add_argument("--variant", action="append", default=[], metavar="NAME")
    serve.add_argument("--list-deviations", action="store_true", help="list deviations and variants, then exit")

    judge = sub.add_parser("judge", help="judge a saved response body or SSE transcript offline")
    judge.add_argument("files", nargs="+", type=Path)
    judge.add_argument("--profile", default="openai", choices=["openai", "openresponses"])

    sub.add_parser("list-checks", help="list the named checks")
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    from .cases import CaseFormatError, load_all
    from .recorder import ConfigError, Limits
    from .session import ConformanceSession, RunOptions, slug

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
    opts = RunOptions(
        base_url=args.base_url, model=args.model, api_key_env=args.api_key_env, headers=args.header,
        provider=args.provider, profile=args.profile, concurrency=args.concurrency, deviations=args.deviate,
        variants=args.variant, skip_capabilities=args.skip_capability,
        limits=Limits(idle_timeout_s=args.idle_timeout, deadline_s=args.deadline),
    )
    try:
        sess = ConformanceSession(opts)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    problem = sess.preflight()
    if problem:
        sess.close()
        raise UsageError(problem)
    stem = f"{slug(sess.target.provider)}__{slug(sess.target.model)}"
    reports: Path = args.reports
    json_path = args.json or reports / f"{stem}.json"
    opts.json_path = json_path
    pytest_args = [
        str(args.cases), "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning",
        f"--rootdir={REPO_ROOT}", "-c", str(Path(__file__).with_name("pytest-run.ini")),
        f"--html={reports / (stem + '.html')}", "--self-contained-html",
        f"--junitxml={reports / (stem + '.junit.xml')}", "-o", "junit_family=xunit2",
        "-rfE", "--tb=short",
    ]
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    if args.quiet:
        pytest_args.append("-q")
    import pytest

    from . import pytest_plugin
    from .pytest_plugin import SESSION_KEY

    class _Inject:
        """Hands the already-started session (server, preflighted recorder) to the plugin."""

        @pytest.hookimpl(tryfirst=True)
        def pytest_configure(self, config: pytest.Config) -> None:
            config.stash[SESSION_KEY] = sess

    rc = pytest.main(pytest_args, plugins=[pytest_plugin, _Inject()])
    results = list(sess.results.values())
    print(f"reports: {json_path}, {reports / (stem + '.html')}, {reports / (stem + '.junit.xml')}")
    if rc in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        return EXIT_USAGE
    if any(r.outcome.value == "fail" for r in results):
        return EXIT_FAIL
    if any(r.outcome.value == "error" for r in results) or rc == pytest.ExitCode.INTERRUPTED:
        return EXIT_INCONCLUSIVE
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from .reference import DEVIATIONS, VARIANTS, ReferenceServer

    if args.list_deviations:
        print("deviations (non-conformant):")
        for name, text in sorted(DEVIATIONS.items()):
            print(f"  {name:<36} {text}")
        print("variants (benign, valid per spec):")
        for name, text in sorted(VARIANTS.items()):
            print(f"  {name:<36} {text}")
        return EXIT_OK
    try:
        server = ReferenceServer(args.host, args.port, api_key=args.api_key, deviations=args.deviate, variants=args.variant)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"--port {args.port}: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    print(f"reference server listening on {server.base_url}" + (" (bearer key required)" if args.api_key else ""), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return EXIT_OK


def cmd_judge(args: argparse.Namespace) -> int:
    from .offline import judge_file

    any_fail = False
    for path in args.files:
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
        docs = judge_file(path, args.profile)
        if not docs:
            print(f"{path}: nothing to judge (no JSON response, error body or SSE transcript found)")
            continue
        for doc in docs:
            failed = doc.failed
            any_fail = any_fail or bool(failed)
            print(f"{doc.label}: {doc.kind}: {'FAIL' if failed else 'PASS'} ({len(doc.results)} checks)")
            for res in failed:
                for finding in res.findings or []:
                    where = finding.path or "$"
                    print(f"  ✗ {res.name} {where}: {finding.message}  [{res.spec_ref}]")
                if not res.findings:
                    print(f"  ✗ {res.name}: {res.message}  [{res.spec_ref}]")
    return EXIT_FAIL if any_fail else EXIT_OK


def cmd_list_checks(_: argparse.Namespace) -> int:
    from .checks import REGISTRY

    for chk in sorted(REGISTRY.values(), key=lambda c: c.name):
        print(f"{chk.name:<40} {chk.severity:<8} {chk.description}  [{chk.spec_ref}]")
    return EXIT_OK


COMMANDS: dict[str, Any] = {"run": cmd_run, "serve": cmd_serve, "judge": cmd_judge, "list-checks": cmd_list_checks}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(COMMANDS[args.command](args))
    except UsageError as exc:
        print(f"responses-conformance: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("responses-conformance: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
