"""Benchmark: client CPU of a one-case run (start-up) and per case over the whole suite, on the reference server.

Issue 12's bounds: starting a one-case run costs at most 0.5 s of CPU; the client spends at most 8 ms of CPU per
case on the reference server. Figures are measured here, never asserted in timed tests. Run:

    .venv/bin/python bench/bench_cpu.py [--repeat 3] [--profile] [--top 25]
    .venv/bin/python bench/bench_cpu.py --compare DIR   # this checkout against another (e.g. an older commit:
                                                        # git archive REV | tar -x -C DIR), runs interleaved

The reference server runs in a process of its own (``responses-conformance serve``) and every run is pointed at
it with ``--base-url``, so only the client's CPU is counted (user + sys of the client process, from the kernel's
accounting of the finished child). Printed:

- one-case start-up: ``run -k basic.text``, the whole command (best and median of ``--repeat``), and where
  that goes, measured in one fresh interpreter: imports, case parsing (every case file), schema loading and
  compiling (first validation of a Response), preflight (reachability request and probe preflight);
- per case: the whole suite's client CPU divided by the cases it ran (best of ``--repeat``), the same
  without the ``sdk`` group (whose official SDK costs a fixed second to import and warm up), and with
  ``--profile`` the cProfile top ``--top`` functions by own time and by cumulative time (main thread only);
- the exact commands that produced the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
CLI = [PY, "-m", "conformance"]
START_BOUND_S = 0.5
PER_CASE_BOUND_MS = 8.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    """``responses-conformance serve`` in its own process; returns it and its base URL once it listens."""
    port = free_port()
    proc = subprocess.Popen([*CLI, "serve", "--port", str(port)], cwd=ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("reference server did not start")


#: children may cache compiled modules, as an installed package has them: with PYTHONDONTWRITEBYTECODE set (as
#: on some CI machines) every run would compile the package's sources again, about 0.1 s of start-up
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def child_cpu(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """User + sys CPU seconds of ``cmd`` (run to completion), from the kernel's accounting of reaped children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc


def run_cmd(base_url: str, reports: Path, keyword: str | None) -> list[str]:
    cmd = [*CLI, "run", "--base-url", base_url, "--model", "reference-1", "--reports", str(reports), "-q"]
    return cmd + (["-k", keyword] if keyword else [])


def cases_run(reports: Path) -> int:
    """How many cases the run's results file holds (passed, failed, skipped... all were loaded and handled)."""
    files = sorted(reports.glob("*.json"))
    if not files:
        raise SystemExit(f"no results JSON in {reports}")
    return len(json.loads(files[0].read_text(encoding="utf-8"))["cases"])


def shown(cmd: list[str]) -> str:
    return " ".join("responses-conformance" if part == "conformance" and cmd[i - 1] == "-m" else shlex.quote(part)
                    for i, part in enumerate(cmd) if part not in (PY, "-m")).replace("/tmp/", "$TMP/")


# ------------------------------------------------------------------ this checkout against another one


def compare(other: Path, base_url: str, repeat: int, tmpdir: Path) -> None:
    """One-case and full-suite client CPU of this checkout and of ``other``, run alternately so both see the
    same machine load (on a shared machine the load moves CPU figures by a third). Both run with ``python -S``
    and ``PYTHONPATH=<checkout>:<site-packages>``, so each imports its own ``conformance`` package."""
    site = os.pathsep.join(dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]))
    trees = {"this checkout": ROOT, str(other): other.resolve()}
    figures: dict[str, dict[str, list[float]]] = {label: {"one": [], "full": []} for label in trees}
    count = 0
    for rep in range(repeat + 1):  # the first round only warms up (compiled modules cached)
        for label, tree in trees.items():
            env = {**ENV, "PYTHONPATH": os.pathsep.join([str(tree), site])}
            for kind, keyword in (("one", "basic.text"), ("full", None)):
                reports = tmpdir / f"cmp-{kind}"
                cmd = [PY, "-S", "-m", "conformance", "run", "--base-url", base_url, "--model", "reference-1",
                       "--reports", str(reports), "-q"] + (["-k", keyword] if keyword else [])
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=False)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                if proc.returncode not in (0, 1):
                    raise SystemExit(f"{label}: run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
                if rep:
                    figures[label][kind].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
                if kind == "full":
                    count = cases_run(reports)
    print(f"\nalternating runs, best / median of {repeat} (python -S, {count} cases):")
    for label, got in figures.items():
        one, full = got["one"], got["full"]
        print(f"  {label:<28} one-case {min(one):.3f} / {statistics.median(one):.3f} s   "
              f"full {min(full):.2f} / {statistics.median(full):.2f} s = {min(full) / count * 1000:.1f} ms per case")


# ------------------------------------------------------------------ breakdown (in a fresh interpreter)


def breakdown(base_url: str) -> dict[str, float]:
    """CPU seconds of each start-up phase, measured in this (fresh) interpreter, in the order a run pays them."""
    out: dict[str, float] = {}
    t = time.process_time()
    import importlib

    for name in ("conformance.cli", "conformance.run.session", "conformance.run.engine", "conformance.record.http",
                 "conformance.judge.checks", "conformance.cases"):
        try:
            importlib.import_module(name)
        except ImportError:  # the layout moved: the modules that remain are still what a run imports
            pass
    out["imports"] = time.process_time() - t

    from conformance import cli

    args = cli.build_parser().parse_args(["run"])
    t = time.process_time()
    from conformance.cases import load_all

    cases = load_all(args.cases)
    out["case parsing"] = time.process_time() - t
    out["cases"] = len(cases)

    import urllib.request

    req = urllib.request.Request(f"{base_url}/responses", data=json.dumps(
        {"model": "reference-1", "input": "Reply with exactly the token X."}).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer bench"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = json.loads(resp.read())
    try:
        from conformance.judge import schemas
    except ImportError:  # the layout before conformance/judge/ (to measure an older checkout: PYTHONPATH=it)
        from conformance import schemas  # type: ignore[no-redef,attr-defined]

    t = time.process_time()
    found = schemas.validate("Response", body)
    out["schema loading+compiling"] = time.process_time() - t
    t = time.process_time()
    for _ in range(20):
        schemas.validate("Response", body)
    out["one Response validated (warm)"] = (time.process_time() - t) / 20
    if found:
        raise SystemExit(f"the reference server's Response is invalid: {found}")

    t = time.process_time()
    try:
        from conformance.run.session import ConformanceSession, RunOptions

        sess = ConformanceSession(RunOptions(base_url=base_url, model="reference-1"))
        problem = sess.preflight()
        sess.probe_preflight()
        sess.close()
        if problem:
            raise SystemExit(problem)
        out["preflight"] = time.process_time() - t
    except (ImportError, AttributeError, TypeError) as exc:  # the engine's API moved: say so, do not guess
        print(f"  (preflight not measured: {exc})", file=sys.stderr)
    return out


# ------------------------------------------------------------------ main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement (best and median shown)")
    ap.add_argument("--profile", action="store_true", help="also profile one full-suite run (cProfile)")
    ap.add_argument("--top", type=int, default=25, help="functions shown per profile table")
    ap.add_argument("--compare", metavar="DIR", type=Path, help="measure this checkout against the one in DIR")
    ap.add_argument("--breakdown-only", metavar="BASE_URL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.breakdown_only:
        print(json.dumps(breakdown(args.breakdown_only)))
        return 0

    server, base_url = start_server()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-cpu-") as tmp:
            tmpdir = Path(tmp)
            print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; reference server at {base_url} "
                  "(own process: not counted)")
            if args.compare is not None:
                compare(args.compare, base_url, args.repeat, tmpdir)
                return 0

            one = run_cmd(base_url, tmpdir / "one", "basic.text")
            child_cpu(one)  # warm-up: compiled modules cached, as after an install
            starts = []
            for _ in range(args.repeat):
                cpu, proc = child_cpu(one)
                if proc.returncode != 0:
                    raise SystemExit(f"one-case run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
                starts.append(cpu)
            verdict = "within" if min(starts) <= START_BOUND_S else "OVER"
            print(f"\none-case run (start-up): best {min(starts):.3f} s, median {statistics.median(starts):.3f} s "
                  f"of CPU ({verdict} the {START_BOUND_S} s bound)")
            print(f"  command: {shown(one)}")
            proc = subprocess.run([PY, __file__, "--breakdown-only", base_url], cwd=ROOT, env=ENV,
                                  capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise SystemExit(f"breakdown failed:\n{proc.stderr}")
            phases = json.loads(proc.stdout.strip().splitlines()[-1])
            for name, value in phases.items():
                if name == "cases":
                    continue
                extra = f" ({int(phases['cases'])} cases)" if name == "case parsing" else ""
                unit = f"{value * 1000:.2f} ms" if "warm" in name else f"{value:.3f} s"
                print(f"  {name:<32} {unit}{extra}")

            full = run_cmd(base_url, tmpdir / "full", None)
            totals = []
            count = 0
            for _ in range(args.repeat):
                cpu, proc = child_cpu(full)
                if proc.returncode not in (0, 1):
                    raise SystemExit(f"full run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
                totals.append(cpu)
                count = cases_run(tmpdir / "full")
            per_case = min(totals) / count * 1000
            verdict = "within" if per_case <= PER_CASE_BOUND_MS else "OVER"
            print(f"\nfull suite: {count} cases, best {min(totals):.2f} s, median {statistics.median(totals):.2f} s "
                  f"of client CPU: {per_case:.1f} ms per case ({verdict} the {PER_CASE_BOUND_MS:.0f} ms bound); "
                  f"without the one-case start-up: {(min(totals) - min(starts)) / count * 1000:.1f} ms per case")
            print(f"  command: {shown(full)}")

            # the official openai SDK that the `sdk` group drives costs a fixed second or so to import and warm
            # up: the same suite without that group shows what the suite's own code costs per case
            rest = run_cmd(base_url, tmpdir / "rest", "not sdk")
            others = []
            for _ in range(args.repeat):
                cpu, proc = child_cpu(rest)
                if proc.returncode not in (0, 1):
                    raise SystemExit(f"run without sdk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
                others.append(cpu)
            rest_count = cases_run(tmpdir / "rest")
            print(f"without the sdk group: {rest_count} cases, best {min(others):.2f} s: "
                  f"{min(others) / rest_count * 1000:.1f} ms per case; so the SDK's {count - rest_count} cases cost "
                  f"{min(totals) - min(others):.2f} s")
            print(f"  command: {shown(rest)}")

            if args.profile:
                prof = tmpdir / "full.prof"
                subprocess.run([PY, "-m", "cProfile", "-o", str(prof), *CLI[1:], *full[3:]], cwd=ROOT, env=ENV,
                               capture_output=True, check=False)
                import pstats

                for key, label in (("tottime", "own time"), ("cumulative", "cumulative time")):
                    print(f"\ncProfile of the full suite, top {args.top} by {label} (main thread only: judging, reports; the "
                          "recording runs in worker threads; profiling inflates small calls):")
                    stats = pstats.Stats(str(prof))
                    stats.stream = sys.stdout  # type: ignore[attr-defined]
                    stats.strip_dirs().sort_stats(key).print_stats(args.top)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
