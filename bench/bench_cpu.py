"""Benchmark: client CPU of a one-case run (start-up) and per case over the whole suite, on the reference server.

Issue 12's bounds: starting a one-case run costs at most 0.5 s of CPU; the client spends at most 8 ms of CPU per
case on the reference server, over the full suite. Figures are measured here, never asserted in timed tests. Run:

    .venv/bin/python bench/bench_cpu.py [--repeat 3] [--phases] [--profile] [--top 25]
    .venv/bin/python bench/bench_cpu.py --compare DIR   # this checkout against another (e.g. an older commit:
                                                        # git archive REV | tar -x -C DIR), runs interleaved

The reference server runs in a process of its own (``responses-conformance serve``) and every run is pointed at
it with ``--base-url``, so only the client's CPU is counted: user + sys of the client process, from the kernel's
accounting of the finished child. CPU time, not wall time: the machine is shared, and other jobs stretch wall
time far more than CPU time (they still move CPU figures by up to a third: caches and cores are shared too), so
every figure is the median of ``--repeat`` runs, with the best and worst beside it. Printed:

- one-case start-up: ``run -k basic.text``, the whole command, and where that goes, measured in one fresh
  interpreter: the interpreter itself, imports, case parsing (every case file), schema loading and compiling
  (first validation of a Response), preflight (reachability request and probe preflight);
- per case: the whole suite's client CPU divided by the cases it ran: **the bound's figure**; the same without
  the ``sdk`` group; and what the ``sdk`` group costs: the official ``openai`` SDK's one-off cost (importing it,
  then building its pydantic models on first use; paid once per run, whatever the number of SDK cases) apart
  from its per-case cost, and the per-case figure with that one-off left out (amortised over many runs) beside
  the bound's figure, which counts it once, as a run pays it;
- with ``--phases``: where a full run's CPU goes, per thread (recording workers, their send and pump helpers,
  the main thread) and per stage of the main thread (case parsing, judging, the lossless recording, reports);
- with ``--profile``: cProfile of one full run, every thread, timed by each thread's own CPU clock; top ``--top``
  functions by own and by cumulative time (profiling inflates small calls many times over: read it for where,
  the figures above for how much);
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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
CLI = [PY, "-m", "conformance"]
START_BOUND_S = 0.5
PER_CASE_BOUND_MS = 8.0
ONE_CASE = "basic.text"
WITHOUT_SDK = "not sdk"
#: children may cache compiled modules, as an installed package has them: with PYTHONDONTWRITEBYTECODE set (as
#: on some CI machines) every run would compile the package's sources again, about 0.1 s of start-up
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


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


# ------------------------------------------------------------------ measuring one command


def child_cpu(cmd: Sequence[str], cwd: Path = ROOT, env: dict[str, str] | None = None,
              ok: tuple[int, ...] = (0, 1)) -> float:
    """User + sys CPU seconds of ``cmd`` (run to completion), from the kernel's accounting of reaped children;
    an exit code outside ``ok`` stops the benchmark with the command's output (a broken run measures nothing)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(list(cmd), cwd=cwd, env=ENV if env is None else env, capture_output=True, text=True,
                          check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in ok:
        raise SystemExit(f"{shown(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def samples(cmd: Sequence[str], repeat: int, **kw: Any) -> list[float]:
    """``repeat`` measurements of ``cmd`` (see :func:`child_cpu`)."""
    return [child_cpu(cmd, **kw) for _ in range(repeat)]


def spread(values: Sequence[float], scale: float = 1.0, unit: str = "s", digits: int = 3) -> str:
    """``median 0.480 s (0.470 to 0.520)``: the median is the figure; best and worst show the machine's noise."""
    med, lo, hi = (v * scale for v in (statistics.median(values), min(values), max(values)))
    return f"median {med:.{digits}f} {unit} ({lo:.{digits}f} to {hi:.{digits}f})"


def run_cmd(base_url: str, reports: Path, keyword: str | None, python: Sequence[str] = (PY,)) -> list[str]:
    cmd = [*python, "-m", "conformance", "run", "--base-url", base_url, "--model", "reference-1",
           "--reports", str(reports), "-q"]
    return cmd + (["-k", keyword] if keyword else [])


def cases_run(reports: Path) -> int:
    """How many cases the run's results file holds (passed, failed, skipped... all were loaded and handled)."""
    files = sorted(reports.glob("*.json"))
    if not files:
        raise SystemExit(f"no results JSON in {reports}")
    return len(json.loads(files[0].read_text(encoding="utf-8"))["cases"])


def shown(cmd: Sequence[str]) -> str:
    return " ".join("responses-conformance" if part == "conformance" and cmd[i - 1] == "-m" else shlex.quote(part)
                    for i, part in enumerate(cmd) if part not in (PY, "-m")).replace("/tmp/", "$TMP/")


def verdict(value: float, bound: float, unit: str) -> str:
    if value <= bound:
        return f"within the {bound:g} {unit} bound"
    return f"OVER the {bound:g} {unit} bound by {value - bound:.{1 if unit == 'ms' else 3}f} {unit}"


# ------------------------------------------------------------------ this checkout against another one


def compare(other: Path, base_url: str, repeat: int, tmpdir: Path) -> None:
    """One-case and full-suite client CPU of this checkout and of ``other``, run alternately so both see the
    same machine load. Both run with ``python -S`` and ``PYTHONPATH=<checkout>:<site-packages>``, so each imports
    its own ``conformance`` package."""
    site = os.pathsep.join(dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]))
    trees = {"this checkout": ROOT, str(other): other.resolve()}
    figures: dict[str, dict[str, list[float]]] = {label: {"one": [], "full": []} for label in trees}
    count = 0
    for rep in range(repeat + 1):  # the first round only warms up (compiled modules cached)
        for label, tree in trees.items():
            env = {**ENV, "PYTHONPATH": os.pathsep.join([str(tree), site])}
            for kind, keyword in (("one", ONE_CASE), ("full", None)):
                reports = tmpdir / f"cmp-{kind}"
                cpu = child_cpu(run_cmd(base_url, reports, keyword, python=(PY, "-S")), cwd=tree, env=env)
                if rep:
                    figures[label][kind].append(cpu)
                if kind == "full":
                    count = cases_run(reports)
    print(f"\nalternating runs, {repeat} of each (python -S, {count} cases):")
    for label, got in figures.items():
        print(f"  {label:<28} one-case {spread(got['one'])}   full {spread(got['full'], 1000 / count, 'ms', 1)} "
              "per case")


# ------------------------------------------------------------------ breakdown (in a fresh interpreter)


def breakdown(base_url: str) -> dict[str, float]:
    """CPU seconds of each start-up phase, measured in this (fresh) interpreter, in the order a run pays them;
    then the official SDK's one-off cost (its import, its first use) apart from its cost per SDK case."""
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
    from conformance.cases import load_all

    t = time.process_time()
    cases = load_all(*cli.case_dirs([]))
    out["case parsing"] = time.process_time() - t
    out["cases"] = len(cases)

    import urllib.request

    req = urllib.request.Request(f"{base_url}/responses", data=json.dumps(
        {"model": "reference-1", "input": "Reply with exactly the token X."}).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer bench"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = json.loads(resp.read())
    from conformance.judge import schemas

    t = time.process_time()
    found = schemas.validate("Response", body)
    out["schema loading+compiling"] = time.process_time() - t
    t = time.process_time()
    for _ in range(20):
        schemas.validate("Response", body)
    out["one Response validated (warm)"] = (time.process_time() - t) / 20
    if found:
        raise SystemExit(f"the reference server's Response is invalid: {found}")

    from conformance.run.engine import not_sent_reason, record_case
    from conformance.run.session import ConformanceSession, RunOptions

    t = time.process_time()
    sess = ConformanceSession(RunOptions(base_url=base_url, model="reference-1"))
    problem = sess.preflight()
    sess.probe_preflight()
    out["preflight"] = time.process_time() - t
    if problem:
        raise SystemExit(problem)

    # the sdk group, recorded twice in this process: the first pass pays the SDK's one-off cost (pydantic builds
    # its models' validators and serializers on first use), the second only what each call costs
    sdk_cases = [c for c in cases if c.group == "sdk" and not_sent_reason(c, "openai", ()) is None]
    t = time.process_time()
    import openai  # noqa: F401  # the SDK under test: imported by the first SDK step of a run

    out["sdk import"] = time.process_time() - t
    passes = []
    for _ in range(2):
        t = time.process_time()
        for case in sdk_cases:
            record_case(case, sess.recorder)
        passes.append(time.process_time() - t)
    sess.close()
    out["sdk first use"] = max(0.0, passes[0] - passes[1])
    out["sdk per case (warm)"] = passes[1] / max(1, len(sdk_cases))
    out["sdk cases"] = len(sdk_cases)
    return out


# ------------------------------------------------------------------ --phases: where a full run's CPU goes


def _timed(owner: Any, name: str, label: str, acc: dict[str, float]) -> None:
    """Wrap ``owner.name`` to add the calling thread's CPU during each call to ``acc[label]`` (if it exists)."""
    import functools
    import threading

    func = getattr(owner, name, None)
    if func is None:  # the engine moved: measure what remains
        return
    lock = threading.Lock()

    @functools.wraps(func)
    def timed(*args: Any, **kwargs: Any) -> Any:
        t = time.thread_time()
        try:
            return func(*args, **kwargs)
        finally:
            with lock:
                acc[label] = acc.get(label, 0.0) + time.thread_time() - t

    setattr(owner, name, timed)


def phases_child(argv: list[str], out_path: Path) -> None:
    """Run ``responses-conformance ARGV`` in this process; write each thread kind's and each stage's CPU."""
    import threading

    acc: dict[str, float] = {}
    lock = threading.Lock()
    original_run = threading.Thread.run

    def counted_run(self: threading.Thread) -> None:
        try:
            original_run(self)
        finally:
            kind = "thread " + self.name.rstrip("0123456789_-").removesuffix("_")
            with lock:
                acc[kind] = acc.get(kind, 0.0) + time.thread_time()

    threading.Thread.run = counted_run  # type: ignore[method-assign]
    from conformance import cli
    from conformance.run import runner, session

    _timed(cli, "_load_cases", "main: case parsing", acc)
    _timed(session.ConformanceSession, "__init__", "main: session (HTTP client)", acc)
    _timed(runner, "judge_safely", "main: judging", acc)
    _timed(session.ConformanceSession, "record", "main: lossless recording (HAR)", acc)
    _timed(runner.Engine, "finish", "main: results, reports", acc)
    try:
        cli.main(argv)
    except SystemExit:
        pass
    acc["thread main (all of it)"] = time.thread_time()
    acc["process"] = time.process_time()
    out_path.write_text(json.dumps(acc), encoding="utf-8")


def show_phases(base_url: str, tmpdir: Path) -> None:
    out = tmpdir / "phases.json"
    args = run_cmd(base_url, tmpdir / "phases", None)[3:]
    child_cpu([PY, __file__, "--phases-child", str(out), "--", *args])
    acc = json.loads(out.read_text(encoding="utf-8"))
    total = acc.pop("process")
    print(f"\nwhere a full run's CPU goes (one run, in-process, each thread's own CPU clock; {total:.2f} s in all, "
          "less the interpreter's start):")
    for label, value in sorted(acc.items(), key=lambda kv: (not kv[0].startswith("thread"), kv[0])):
        print(f"  {label:<40} {value:6.3f} s")


# ------------------------------------------------------------------ --profile: cProfile of every thread


def profile_child(argv: list[str], out_path: Path) -> None:
    """Run ``responses-conformance ARGV`` under cProfile in every thread (each timed by its own CPU clock)."""
    import cProfile
    import pstats
    import threading

    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    original_run = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        prof = cProfile.Profile(time.thread_time)
        prof.enable()
        try:
            original_run(self)
        finally:
            prof.disable()
            with lock:
                profiles.append(prof)

    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    main = cProfile.Profile(time.thread_time)
    main.enable()
    from conformance import cli

    try:
        cli.main(argv)
    except SystemExit:
        pass
    main.disable()
    stats = pstats.Stats(main)
    with lock:
        for prof in profiles:
            stats.add(prof)
    stats.dump_stats(str(out_path))


def show_profile(base_url: str, tmpdir: Path, top: int) -> None:
    import pstats

    prof = tmpdir / "full.prof"
    args = run_cmd(base_url, tmpdir / "profiled", None)[3:]
    child_cpu([PY, __file__, "--profile-child", str(prof), "--", *args])
    for key, label in (("tottime", "own time"), ("cumulative", "cumulative time")):
        print(f"\ncProfile of the full suite, every thread (CPU clocks), top {top} by {label}:")
        stats = pstats.Stats(str(prof), stream=sys.stdout)
        stats.strip_dirs().sort_stats(key).print_stats(top)


# ------------------------------------------------------------------ main


def measure(base_url: str, repeat: int, tmpdir: Path) -> None:
    """The bounds' figures: one-case start-up and the full suite's CPU per case, with what explains them."""
    one = run_cmd(base_url, tmpdir / "one", ONE_CASE)
    child_cpu(one)  # warm-up: compiled modules cached, as after an install
    starts = samples(one, repeat, ok=(0,))
    print(f"\none-case run (start-up): {spread(starts)} of CPU: "
          f"{verdict(statistics.median(starts), START_BOUND_S, 's')}")
    print(f"  command: {shown(one)}")
    interpreter = statistics.median(samples([PY, "-c", "pass"], repeat, ok=(0,)))
    print(f"  {'the interpreter itself':<32} {interpreter:.3f} s")
    phases = json.loads(subprocess.run([PY, __file__, "--breakdown-only", base_url], cwd=ROOT, env=ENV,
                                       capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    for name in ("imports", "case parsing", "schema loading+compiling", "one Response validated (warm)", "preflight"):
        extra = f" ({int(phases['cases'])} cases)" if name == "case parsing" else ""
        unit = f"{phases[name] * 1000:.2f} ms" if "warm" in name else f"{phases[name]:.3f} s"
        print(f"  {name:<32} {unit}{extra}")

    full = run_cmd(base_url, tmpdir / "full", None)
    totals = samples(full, repeat)
    count = cases_run(tmpdir / "full")
    per_case = statistics.median(totals) / count * 1000
    print(f"\nfull suite: {count} cases, {spread(totals, digits=2)} of client CPU = {per_case:.1f} ms per case: "
          f"{verdict(per_case, PER_CASE_BOUND_MS, 'ms')}")
    print(f"  command: {shown(full)}")

    rest = run_cmd(base_url, tmpdir / "rest", WITHOUT_SDK)
    others = samples(rest, repeat)
    rest_count = cases_run(tmpdir / "rest")
    print(f"without the sdk group: {rest_count} cases, {spread(others, digits=2)} = "
          f"{statistics.median(others) / rest_count * 1000:.1f} ms per case")
    print(f"  command: {shown(rest)}")

    group = statistics.median(totals) - statistics.median(others)
    one_off = phases["sdk import"] + phases["sdk first use"]
    print(f"the sdk group ({count - rest_count} cases) adds {group:.2f} s to the full run; the official openai SDK "
          f"it drives costs, once per run (measured in one fresh interpreter): import {phases['sdk import']:.2f} s "
          f"+ first use (its pydantic models built) {phases['sdk first use']:.2f} s = {one_off:.2f} s; then "
          f"{phases['sdk per case (warm)'] * 1000:.1f} ms per SDK case")
    print(f"  per case of the full suite: {per_case:.1f} ms with that one-off counted once, as a run pays it (the "
          f"bound's figure); {(statistics.median(totals) - one_off) / count * 1000:.1f} ms with it left out "
          "(amortised over many runs, or a suite with many more cases)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement (median shown, with best and worst)")
    ap.add_argument("--phases", action="store_true", help="also show where one full run's CPU goes")
    ap.add_argument("--profile", action="store_true", help="also profile one full-suite run (cProfile, every thread)")
    ap.add_argument("--top", type=int, default=25, help="functions shown per profile table")
    ap.add_argument("--compare", metavar="DIR", type=Path, help="measure this checkout against the one in DIR")
    ap.add_argument("--breakdown-only", metavar="BASE_URL", help=argparse.SUPPRESS)
    ap.add_argument("--phases-child", metavar="OUT", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--profile-child", metavar="OUT", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("child_args", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.breakdown_only:
        print(json.dumps(breakdown(args.breakdown_only)))
        return 0
    children: dict[str, Callable[[list[str], Path], None]] = {"phases_child": phases_child,
                                                               "profile_child": profile_child}
    for option, child in children.items():
        if getattr(args, option) is not None:
            child(args.child_args, getattr(args, option))
            return 0

    server, base_url = start_server()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-cpu-") as tmp:
            tmpdir = Path(tmp)
            print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
                  f"{os.getloadavg()[0]:.1f}; reference server at {base_url} (own process: not counted)")
            if args.compare is not None:
                compare(args.compare, base_url, args.repeat, tmpdir)
                return 0
            measure(base_url, args.repeat, tmpdir)
            if args.phases:
                show_phases(base_url, tmpdir)
            if args.profile:
                show_profile(base_url, tmpdir, args.top)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
