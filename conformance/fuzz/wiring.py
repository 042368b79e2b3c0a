"""The fuzzer's one seam with a run: options from the run's, results after the cases (``--fuzz``).

Kept apart from the run engine on purpose: ``Engine.finish`` (conformance/run/runner.py) calls :func:`fuzz_after`
once, adds its results to the run's and gates only those it counts; nothing else of a run knows the fuzzer.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..run.engine import CaseResult
from ..run.events import SKIPPED, CaseFinished, CaseStatus

if TYPE_CHECKING:
    from ..run.runner import Engine
    from .runner import FuzzOptions

#: hypothesis's home under the reports directory (not ``.hypothesis/`` in whatever directory the run started in);
#: the example database is its ``examples/``: a rerun tries the failures of the last runs first
DATABASE_DIR = ".hypothesis-fuzz"


@dataclass
class FuzzOutcome:
    """What the fuzzer adds to a run: its results, those that count for the verdict, and ``run.fuzz``."""

    results: list[CaseResult] = field(default_factory=list)
    counted: list[CaseResult] = field(default_factory=list)  # --fuzz-gate: gated like cases
    meta: dict[str, Any] | None = None

    @property
    def ungated(self) -> frozenset[str]:
        counted = {r.case.id for r in self.counted}
        return frozenset(r.case.id for r in self.results if r.case.id not in counted)

    def describe(self, document: dict[str, Any]) -> None:
        """The results JSON's ``run.fuzz`` (present only when the fuzzer ran)."""
        if self.meta is not None:
            document["run"]["fuzz"] = self.meta


def fuzz_options(engine: Engine, reports: Path) -> FuzzOptions | None:
    """The fuzzer's options from the run's; None when it does not run (no ``--fuzz``, an interrupted run, a
    target that went down). The output budget left after the cases bounds it; ``--max-time`` through the recorder."""
    sess, opts = engine.session, engine.opts
    if not opts.fuzz or sess.interrupted or sess.scheduler.watch.down is not None:
        return None
    from hypothesis.configuration import set_hypothesis_home_dir  # hypothesis only when fuzzing

    from .runner import FuzzOptions

    home = reports / DATABASE_DIR
    if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):  # an explicit choice of the user's wins
        set_hypothesis_home_dir(home)
    budget = opts.token_budget
    seed = opts.fuzz_seed if opts.fuzz_seed is not None else random.SystemRandom().randrange(2**32)
    return FuzzOptions(examples=opts.fuzz_examples, seed=seed, replay=opts.fuzz_seed is None,
                       database=home / "examples", profile=opts.profile, policy=opts.policy,
                       token_budget=None if budget is None else max(0, budget - sess.scheduler.output_charged),
                       skip_capabilities=frozenset(opts.skip_capabilities))


def fuzz_after(engine: Engine, reports: Path) -> FuzzOutcome:
    """Fuzz the run's target after its cases; each result is emitted like a case (:class:`CaseFinished`) with the
    status it counts as: gated like a case with ``--fuzz-gate``, else ``skipped`` ("not gated") whatever it is."""
    options = fuzz_options(engine, reports)
    if options is None:
        return FuzzOutcome()
    from ..run.runner import case_status
    from .runner import run_fuzz

    results = run_fuzz(engine.session.recorder, options)
    gate = engine.opts.fuzz_gate

    for result in results:
        if gate:
            status = case_status(result, engine.baseline, engine.opts.baseline_strict)
        else:
            status = CaseStatus(SKIPPED, f"fuzz, not gated (--fuzz-gate): {result.outcome.value}: "
                                         f"{result.message[:300]}")
        engine.statuses[result.case.id] = status
        engine.emit(CaseFinished(result, status, engine.baseline.get(result.case.id) if engine.baseline else None))
    if gate and engine.known_ids is not None:  # their ids are this run's cases (--update-baseline keeps them)
        engine.known_ids = engine.known_ids + [r.case.id for r in results]
    meta = {"seed": options.seed, "replayed_database": options.replay, "examples_per_kind": options.examples,
            "gated": gate, "database": str(options.database), "results": len(results),
            "skipped_capabilities": sorted(options.skip_capabilities)}
    return FuzzOutcome(results, results if gate else [], meta)
