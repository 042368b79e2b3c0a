"""The fuzzer's one seam with a run: options from the run's, results after the cases (``--fuzz``).

Kept apart from the run engine on purpose: ``pytest_plugin.pytest_sessionfinish`` calls :func:`fuzz_run` once and
adds what it returns to the results; nothing else of a run knows the fuzzer exists.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypothesis.configuration import set_hypothesis_home_dir

from ..engine import CaseResult
from .runner import FuzzOptions, run_fuzz

if TYPE_CHECKING:
    from ..session import ConformanceSession

#: hypothesis's home under the reports directory (not ``.hypothesis/`` in whatever directory the run started in);
#: the example database is its ``examples/``: a rerun tries the failures of the last runs first
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
    home = reports / DATABASE_DIR
    if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):  # an explicit choice of the user's wins
        set_hypothesis_home_dir(home)
    seed = opts.fuzz_seed if opts.fuzz_seed is not None else random.SystemRandom().randrange(2**32)
    options = FuzzOptions(examples=opts.fuzz_examples, seed=seed, replay=opts.fuzz_seed is None,
                          database=home / "examples",
                          profile=opts.profile, policy=opts.policy, token_budget=left)
    results = run_fuzz(sess.recorder, options)
    meta = {"seed": seed, "replayed_database": options.replay, "examples_per_kind": options.examples, "gated": bool(opts.fuzz_gate),
            "database": str(home / "examples"), "results": len(results)}
    return results, meta


def gated(results: list[CaseResult], sess: ConformanceSession) -> list[CaseResult]:
    """The fuzz results that count for the exit code and the baseline: none unless ``--fuzz-gate``."""
    return results if getattr(sess.opts, "fuzz_gate", False) else []
