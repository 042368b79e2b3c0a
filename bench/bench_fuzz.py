"""Benchmark: request fuzzing throughput against the embedded reference server, and what a large run finds.

Speed is measured here, never asserted in timed tests. Run:

    .venv/bin/python bench/bench_fuzz.py [--examples 2000] [--seed 1] [--deviate NAME]

Prints one line per kind (valid, invalid): examples judged (generation, and shrinking when something fails),
seconds, examples per second, and the results (``fuzz.<kind>`` pass rows say "no failure"). Against the
undeviated server a run of thousands of examples must find nothing (docs/fuzz.md); the last line says so.
"""

from __future__ import annotations

import argparse
import time

from conformance._verdict import Outcome
from conformance.fuzz.runner import KINDS, FuzzOptions, _Budget, kind_results, run_kind
from conformance.record.http import Limits, Recorder, Target
from conformance.reference import MODEL_NAME, ReferenceServer

KEY = "sk-bench-fuzz-0001"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="hypothesis examples per kind (default 2000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--deviate", action="append", default=[], metavar="NAME", help="reference-server deviation")
    args = parser.parse_args()
    failed = 0
    total = 0
    with ReferenceServer(api_key=KEY, deviations=args.deviate) as server:
        target = Target(server.base_url, MODEL_NAME, api_key=KEY)
        with Recorder(target, Limits(idle_timeout_s=10, deadline_s=30, max_retry_after_s=0.01)) as rec:
            for kind in KINDS:
                t0 = time.perf_counter()
                state = run_kind(kind, rec, FuzzOptions(examples=args.examples, seed=args.seed, replay=False),
                                 args.seed, _Budget(None))
                elapsed = time.perf_counter() - t0
                results = kind_results(state, args.seed, True)
                total += state.examples
                failed += sum(r.outcome is Outcome.FAIL for r in results)
                print(f"{kind:<8} {state.examples:>6} examples in {elapsed:7.1f} s = {state.examples / elapsed:6.1f} "
                      f"examples/s; {len(results)} result(s)")
                for r in results:
                    print(f"    {r.outcome.value:<11} {r.case.id}: {r.message[:220]}")
    print(f"total: {total} examples against the reference server"
          + (f" with {', '.join(args.deviate)}" if args.deviate else "") + f"; {failed} distinct failure(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
