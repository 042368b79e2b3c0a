"""The engine: one run over selected cases, from the first request to the gated verdict, emitting events.

Why it stands alone: the command and the pytest plugin used to share recording, gating and reporting through
pytest's hooks and shared state. Now the engine does all of it without importing pytest; the command calls
:meth:`Engine.run`, the plugin calls :meth:`Engine.start`, :meth:`Engine.result_for` per item and
:meth:`Engine.finish`, and reporters (conformance/report/) subscribe to the events (conformance/run/events.py).
Judging stays pure (conformance/run/engine.py): the engine only decides what is sent, when, and how each
result counts against the baseline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .._verdict import Outcome
from ..record._redact import inert
from .engine import CaseResult, internal_error, judge_safely, not_sent_reason, profile_skip_reason, skipped
from .events import (
    ERROR,
    FAILED,
    PASSED,
    SKIPPED,
    CaseFinished,
    CaseStatus,
    Event,
    RunFinished,
    RunNotice,
    RunStarted,
    Subscriber,
)
from .session import ConformanceSession, RunOptions

if TYPE_CHECKING:
    from ..cases import Case
    from .baseline import Baseline, Expectation, Gate

__all__ = ["Engine", "capability_problem", "case_status"]


def capability_problem(skip: Iterable[str], cases: Iterable[Case]) -> str | None:
    """``--skip-capability`` naming what no case needs: a typo that would silently run what it meant to skip."""
    known = {cap for case in cases for cap in case.needs}
    for cap in skip:
        if known and cap not in known:
            return f"--skip-capability {cap!r}: no case needs it (known: {', '.join(sorted(known))})"
    return None


def _where(expected: Expectation) -> str:
    return f"{expected.file}:{expected.line}" if getattr(expected, "line", 0) else str(expected.file)


def case_status(result: CaseResult, baseline: Baseline | None, strict: bool = False) -> CaseStatus:
    """How one result counts: the gating rule every front end and report shares.

    Without a baseline a ``fail`` fails, an ``error`` is inconclusive, ``unsupported``/``skipped`` are skipped.
    With one, what it expects is skipped ("expected by baseline"), and with ``strict`` an unexpected pass fails."""
    from .baseline import CHANGED, EXPECTED, UNEXPECTED_PASS, classify

    expected = baseline.get(result.case.id) if baseline is not None else None
    verdict = classify(expected, result.outcome.value) if baseline is not None else ""
    if result.outcome is Outcome.ERROR:
        if expected is not None and expected.outcome == "error":
            return CaseStatus(SKIPPED, inert(f"expected by baseline ({_where(expected)}): {expected.reason}"), verdict)
        return CaseStatus(ERROR, inert(f"error (inconclusive, not a conformance failure): {result.message}"), verdict)
    if verdict in (EXPECTED, CHANGED) and expected is not None:
        now = f" [now {result.outcome.value}: {result.message}]" if verdict == CHANGED else ""
        return CaseStatus(SKIPPED, inert(f"expected by baseline ({_where(expected)}): {expected.outcome}: "
                                         f"{expected.reason}{now}"), verdict)
    if verdict == UNEXPECTED_PASS and expected is not None and strict:
        return CaseStatus(FAILED, inert(f"unexpected pass: the baseline expects {expected.outcome} ({expected.reason}); "
                                        f"the entry is stale - remove it ({_where(expected)})"), verdict)
    if result.outcome is Outcome.FAIL:
        return CaseStatus(FAILED, inert(result.message), verdict)
    if result.outcome is Outcome.SKIPPED:
        return CaseStatus(SKIPPED, inert(result.message), verdict)
    if result.outcome is Outcome.UNSUPPORTED:
        return CaseStatus(SKIPPED, inert(f"unsupported: {result.message}"), verdict)
    return CaseStatus(PASSED, "", verdict)


class Engine:
    """One run against one target: owns its :class:`ConformanceSession` (server, recorder, scheduler)."""

    def __init__(self, session: ConformanceSession, subscribers: Iterable[Subscriber] = ()) -> None:
        self.session = session
        self.opts: RunOptions = session.opts
        self.subscribers: list[Subscriber] = list(subscribers)
        self.baseline: Baseline | None = None
        self.known_ids: list[str] | None = None
        self.selected: list[Case] = []
        self.statuses: dict[str, CaseStatus] = {}
        self.finished: RunFinished | None = None

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)

    def emit(self, event: Event) -> None:
        for subscriber in self.subscribers:
            subscriber.handle(event)

    # -- the stages ------------------------------------------------------------------------------------------------

    def load_baseline(self) -> Baseline | None:
        """The baseline for this target (a directory resolves per provider/model); BaselineError if unreadable."""
        from .baseline import BaselineError, baseline_path_for, load_baseline

        if self.opts.baseline is None:
            return None
        target = self.session.target
        path = baseline_path_for(self.opts.baseline, target.provider, target.model)
        if not self.opts.update_baseline and not path.is_file():
            raise BaselineError(path, 1, "no such baseline file (create it with --update-baseline)")
        self.baseline = load_baseline(path, missing_ok=self.opts.update_baseline)
        return self.baseline

    def runnable(self, case: Case) -> bool:
        """Sent at all: in the profile's spec and needing nothing the target declares unavailable."""
        return (not set(self.opts.skip_capabilities) & set(case.needs)
                and profile_skip_reason(case, self.opts.profile) is None)

    def start(self, selected: Sequence[Case], known_ids: Iterable[str] | None = None,
              json_path: Path | None = None, cases_dir: str | None = None) -> None:
        """Say the worst case, ask the probe preflight, then queue every runnable case for recording.

        ``known_ids``: every case that exists before selection, so baseline entries for deselected cases are
        not called stale. The run's lossless recording is opened beside the results file (``json_path``, else
        ``--json``); a run that names none (``api.run`` without ``reports``) writes no file, so no recording.
        Under ``--output-cap-floor`` the cases run with their caps raised (cost.with_output_floor): the bound,
        the budget, the requests and the judging all see the raised caps."""
        from dataclasses import replace

        from .cost import selection_bound, with_output_floor
        from .probes import probe_cap

        results_path = json_path or self.opts.json_path
        if results_path is not None:
            self.session.open_recording(results_path, cases_dir)
        self.selected = [with_output_floor(case, self.opts.output_cap_floor) for case in selected]
        self.known_ids = list(known_ids) if known_ids is not None else None
        runnable = [case for case in self.selected if self.runnable(case)]
        bound = selection_bound(runnable)
        if runnable and not self.opts.assume_probes:  # the preflight: two token probes at most
            bound = replace(bound, preflight=2 * probe_cap(self.opts.output_cap_floor))
        self.emit(RunStarted(self.session.target, self.session.embedded, tuple(self.selected), bound.line()))
        if runnable:
            probes = self.session.probe_preflight()  # before any case is recorded: does the model follow the probes?
            if probes.advisory:  # a model that reasons by default: the suite's caps will cut its answers
                self.emit(RunNotice(inert(probes.advisory)))
        for case in runnable:
            self.session.scheduler.submit(case)

    def result_for(self, case: Case) -> CaseResult:
        """Wait for the case's recording, judge it (pure) and emit :class:`CaseFinished`."""
        sess = self.session
        case = next((c for c in self.selected if c.id == case.id), case)  # as started: its caps floored
        reason = not_sent_reason(case, self.opts.profile, self.opts.skip_capabilities)
        recording = None
        if reason is not None:
            result = skipped(case, reason)
        else:
            try:
                recording = sess.scheduler.submit(case).result()
            except Exception as exc:  # recording raised: this case's error, never a case missing from the results
                result = internal_error(case, "recording", exc)
            else:
                result = judge_safely(recording, self.opts.profile, policy=self.opts.policy,
                                      follows_probes=sess.follows_probes)
        sess.record(case, recording, result)  # the lossless recording: before the evidence is bounded
        for ex in result.exchanges:  # judged: the run keeps bounded evidence, not every body to the end
            ex.compact()
        sess.results[case.id] = result
        status = case_status(result, self.baseline, self.opts.baseline_strict)
        self.statuses[case.id] = status
        expected = self.baseline.get(case.id) if self.baseline is not None else None
        self.emit(CaseFinished(result, status, expected))
        return result

    def finish(self, interrupted: bool = False, json_path: Path | None = None) -> RunFinished:
        """Build the results, gate them on the baseline (rewriting it with --update-baseline), emit
        :class:`RunFinished` for the reporters to write, then close the session (abandoning cases in flight
        when ``interrupted``)."""
        from ..report import build_results

        sess = self.session
        sess.interrupted = sess.interrupted or interrupted
        try:
            order = [case.id for case in self.selected]
            results = [sess.results[cid] for cid in order if cid in sess.results]
            complete = len(results) == len(order) and not sess.interrupted
            path = self._json_path(json_path)
            from ..fuzz.wiring import fuzz_after

            fuzz = fuzz_after(self, path.parent)  # --fuzz only: after the cases, group fuzz (conformance/fuzz)
            meta = sess.run_meta(complete=complete, results=results)
            try:
                sess.finish_recording(meta)
            except (OSError, ValueError) as exc:  # a full disk: the results are still written, saying so
                meta["recording"] = None
                meta["recording_error"] = str(exc)[:300]
            document = build_results(results + fuzz.results, meta)
            fuzz.describe(document)
            gate = self._gate(results + fuzz.counted)
            self.finished = RunFinished(results + fuzz.results, document, dict(self.statuses), sess.target,
                                        sess.embedded, path, notices=run_notices(sess, results), gate=gate,
                                        interrupted=sess.interrupted, ungated=fuzz.ungated)
            self.emit(self.finished)
            return self.finished
        finally:
            sess.close()

    def _json_path(self, given: Path | None = None) -> Path:
        """Where the results file goes (the recording lies beside it)."""
        return given or self.opts.json_path or self.session.default_json_path(Path.cwd())

    def run(self, selected: Sequence[Case], known_ids: Iterable[str] | None = None,
            json_path: Path | None = None, cases_dir: str | None = None) -> RunFinished:
        """The whole run. Ctrl-C/SIGTERM (a KeyboardInterrupt) still writes the partial reports, then re-raises."""
        try:
            self.start(selected, known_ids, json_path, cases_dir)
            for case in self.selected:
                self.result_for(case)
        except KeyboardInterrupt:
            self.finish(interrupted=True, json_path=json_path)
            raise
        except BaseException:  # a bug of ours: the server and connections still go away
            self.session.close()
            raise
        return self.finish(json_path=json_path)

    def _gate(self, results: list[CaseResult]) -> Gate | None:
        """The run's verdict against its baseline; with --update-baseline the file is rewritten first."""
        if self.baseline is None:
            return None
        from .baseline import gate, updated, write_baseline

        baseline = self.baseline
        outcomes = [(r.case.id, r.outcome.value, r.message) for r in results]
        known = self.known_ids
        strict = self.opts.baseline_strict
        verdict = gate(baseline, outcomes, strict=strict, known_ids=known)
        if not self.opts.update_baseline:
            return verdict
        target = self.session.target
        fresh = updated(baseline, outcomes, baseline.path, target.provider, target.model)
        if known is not None:  # entries for cases that no longer exist go away
            fresh.entries = {k: v for k, v in fresh.entries.items() if k in set(known)}
        write_baseline(fresh)
        after = gate(fresh, outcomes, strict=strict, known_ids=known)
        after.updated_to, after.before = fresh, verdict
        return after


def run_notices(sess: ConformanceSession, results: list[CaseResult]) -> list[str]:
    """What the run must say once, at the top of its summary: a model that ignores the probes, a target that
    went down (conformance/run/probes.py, conformance/run/outage.py)."""
    from ..judge.output_cap import ADVISED_FLOOR, cap_cut_skips
    from .probes import behavioural_skips

    lines: list[str] = []
    probes = sess.probes
    if probes is not None and not probes.follows:
        lines.append(f"model does not follow probes: {behavioural_skips(results)} behavioural assertions skipped "
                     f"({probes.detail})")
    elif probes is not None and probes.verdict == "inconclusive":
        lines.append(probes.detail)
    cut = cap_cut_skips(results)
    if cut:
        lines.append(f"the suite's own output caps cut the model's answers: {cut} expectations about them skipped, "
                     f"none failed; raise the caps with --output-cap-floor N (e.g. {ADVISED_FLOOR})")
    watch = sess.scheduler.watch
    if watch.down is not None:
        lines.extend(watch.down.banner(len(watch.not_sent)))
    return lines

