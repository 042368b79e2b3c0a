"""The fuzzer's one seam with a run: options from the run's, results after the cases (``--fuzz``).

Kept apart from the run engine on purpose: ``pytest_plugin.pytest_sessionfinish`` calls :func:`fuzz_run` once and
adds what it returns to the results; nothing else of a run knows the fuzzer exists.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine import CaseResult
from .runner import FuzzOptions, run_fuzz

if TYPE_CHECKING:
    from ..session import ConformanceSession

#: the example database, under the reports directory: a rerun tries the failures of the last runs first
DATABASE_DIR = ".hypothesis-fuzz"


def fuzz_run(sess: ConformanceSession, reports: Path) -> tuple[list[CaseResult], dict[str, Any] | None]:
    """Fuzz ``sess``'s target when its options ask for it: (results, the results JSON ``run.fuzz``).

    Nothing runs (``[], None``) without ``--fuzz``, after an interrupt, or once the target went down. The token
    output budget left after the cases bounds the fuzzer; ``--max-time`` bounds it through the recorder."""
    opts = sess.opts
    if not getattr(opts, "fuzz", False) or sess.interrupted or sess.scheduler.watch.down is not None:
        return [], None
    budget = opts.token_budget
    left = None if budget is None else max(0, budget - sess.scheduler.output_charged)
    seed = opts.fuzz_seed if opts.fuzz_seed is not None else random.SystemRandom().randrange(2**32)
    options = FuzzOptions(examples=opts.fuzz_examples, seed=seed, replay=opts.fuzz_seed is None,
                          database=reports / DATABASE_DIR,
                          profile=opts.profile, policy=opts.policy, token_budget=left)
    results = run_fuzz(sess.recorder, options)
    meta = {"seed": seed, "replayed_database": options.replay, "examples_per_kind": options.examples, "gated": bool(opts.fuzz_gate),
            "database": str(reports / DATABASE_DIR), "results": len(results)}
    return results, meta


def gated(results: list[CaseResult], sess: ConformanceSession) -> list[CaseResult]:
    """The fuzz results that count for the exit code and the baseline: none unless ``--fuzz-gate``."""
    return results if getattr(sess.opts, "fuzz_gate", False) else []
