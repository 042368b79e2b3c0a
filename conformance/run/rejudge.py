"""Re-judge a recorded run with the current checks and cases, sending nothing.

A live run hands every finished case to :func:`case_record` + :class:`~conformance.record.har.HarWriter`
(``ConformanceSession.record``); :func:`rejudge` reads the recording back case by case (:class:`~conformance.record.har.RecordingReader`, memory
bounded by the largest case, not the file), rebuilds each
:class:`~conformance.run.engine.CaseRecording` and judges it with :func:`~conformance.run.engine.judge_safely`, exactly as
the live run judged it. What it returns goes through the same reporters as a live run
(:func:`conformance.report.outputs.report_rejudged` over :func:`~conformance.report.outputs.run_reporters`), so the results file, and the matrix column built from it, have the
same shape.

Not recorded, on purpose: the process environment (``!env`` values in expectations are read from the
environment of the re-judging process, as a live run reads its own) - it may hold secrets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._verdict import CheckResult, Finding, Outcome
from ..cases import Case, CaseFormatError, load_all
from ..judge.basis import JudgePolicy
from ..record.har import FieldError, RecordingError, RecordingReader, typed_field
from ..suite import CASES_DIR
from .engine import CaseRecording, CaseResult, judge_safely, not_sent_reason

#: the profiles a run can be judged under (``run --profile``)
PROFILES = ("openai", "openresponses")


def case_record(rec: CaseRecording | None, result: CaseResult) -> dict[str, Any]:
    """What judging a case needs besides its exchanges (JSON). ``rec`` is None when nothing was recorded:
    the case was not sent (declared unavailable, outside the profile) or its recording raised."""
    out: dict[str, Any] = {"outcome": result.outcome.value}  # the live verdict, kept for reference
    if rec is None:
        out["not_recorded"] = result.message
        out["internal_error"] = result.outcome is Outcome.ERROR
        return out
    out.update({
        "model": rec.model, "variables": rec.variables, "problems": [p.to_dict() for p in rec.problems],
        "declined_step": rec.declined_step, "contradicted": rec.contradicted, "skip_reason": rec.skip_reason,
        "duration_s": rec.duration_s, "target_down": rec.target_down,
    })
    return out


def _check_result(obj: Any, where: str) -> CheckResult:
    findings = []
    for i, f in enumerate(typed_field(obj, "findings", list, where, [])):
        fw = f"{where}.findings[{i}]"
        findings.append(Finding(**{name: typed_field(f, name, str, fw, "") for name in
                                   ("message", "path", "kind", "rule", "basis", "severity", "note", "key")}))
    try:
        outcome = Outcome(typed_field(obj, "outcome", str, where))
    except ValueError:
        raise FieldError(f"{where}.outcome: {obj.get('outcome')!r} is no outcome") from None
    return CheckResult(typed_field(obj, "name", str, where), outcome, typed_field(obj, "message", str, where, ""),
                       typed_field(obj, "spec_ref", str, where, ""), typed_field(obj, "step", str, where, ""),
                       typed_field(obj, "severity", str, where, "error"), findings, typed_field(obj, "basis", str, where, ""))


def case_recording(case: Case, record: Mapping[str, Any], exchanges: list[Any], where: str,
                   env: Mapping[str, str]) -> CaseRecording:
    """The :class:`CaseRecording` a live run judged, rebuilt from its record and exchanges."""
    problems = [_check_result(p, f"{where}.problems[{i}]")
                for i, p in enumerate(typed_field(record, "problems", list, where, []))]
    contradicted = typed_field(record, "contradicted", dict, where, {})
    return CaseRecording(
        case, exchanges=exchanges, variables=dict(typed_field(record, "variables", dict, where, {})), problems=problems,
        declined_step=typed_field(record, "declined_step", (str, type(None)), where, None),
        contradicted={str(k): str(v) for k, v in contradicted.items()},
        skip_reason=typed_field(record, "skip_reason", (str, type(None)), where, None),
        duration_s=typed_field(record, "duration_s", float, where, 0.0), model=typed_field(record, "model", str, where, ""),
        env=env, target_down=typed_field(record, "target_down", (str, type(None)), where, None))


@dataclass
class Rejudged:
    """A re-judged run: results in recorded order, the results ``run`` section, and what could not be judged."""

    results: list[CaseResult]
    meta: dict[str, Any]
    missing: list[str] = field(default_factory=list)  # recorded case ids the current cases no longer have


def _load_cases(cases_dirs: list[Path]) -> dict[str, Case]:
    for cases_dir in cases_dirs:
        if not cases_dir.is_dir():
            raise RecordingError(cases_dir, "cases: not a directory")
    try:
        return {case.id: case for case in load_all(*cases_dirs)}
    except CaseFormatError as exc:
        raise RecordingError(cases_dirs[-1], str(exc)) from None


def _cases_dirs(meta: Mapping[str, Any], given: Path | None) -> list[Path]:
    """``given``, else the folders the run loaded (the built-in cases and each ``run --cases DIR``, recorded
    joined by ``os.pathsep``) that still exist, else the built-in cases."""
    if given is not None:
        return [given]
    recorded = meta.get("judge", {}).get("cases_dir") if isinstance(meta.get("judge"), Mapping) else None
    found = [Path(d) for d in recorded.split(os.pathsep) if d and Path(d).is_dir()] if isinstance(recorded, str) else []
    return found or [CASES_DIR]


def rejudge(recording_path: Path, *, cases_dir: Path | None = None, policy: JudgePolicy | None = None,
            env: Mapping[str, str] | None = None) -> Rejudged:
    """Re-judge every case of a recording with the current checks (and ``policy``); nothing is sent.

    Raises :class:`RecordingError` (one line naming the file and field) when the recording cannot be read."""
    with RecordingReader(recording_path) as recording:
        return _rejudge(recording, cases_dir, policy or JudgePolicy(), os.environ if env is None else env)


def _rejudge(recording: RecordingReader, cases_dir: Path | None, policy: JudgePolicy,
             env: Mapping[str, str]) -> Rejudged:
    """Judge the cases one by one as the reader hands them over: only the case being judged is held unbounded
    (each result keeps the bounded evidence a live run keeps)."""
    from .. import __version__
    from ..judge.output_cap import cap_cut_skips
    from ..judge.schemas import spec_info
    from .cost import with_output_floor
    from .probes import behavioural_skips
    from .session import utc_now

    recording_path = recording.path
    meta = recording.meta
    try:
        judging = typed_field(meta, "judge", dict, "log._conformance")
        run = dict(typed_field(meta, "run", dict, "log._conformance"))
        profile = typed_field(judging, "profile", str, "log._conformance.judge")
        skip_caps = [str(c) for c in typed_field(judging, "skip_capabilities", list, "log._conformance.judge", [])]
        disabled = [str(c) for c in typed_field(judging, "disabled", list, "log._conformance.judge", [])]
        follows = typed_field(judging, "follows_probes", bool, "log._conformance.judge", True)
        if profile not in PROFILES:
            raise FieldError(f"log._conformance.judge.profile: {profile!r} (expected {' or '.join(PROFILES)})")
    except FieldError as exc:
        raise RecordingError(recording_path, str(exc)) from None
    cases = _load_cases(_cases_dirs(meta, cases_dir))
    floor = run.get("output_cap_floor")  # the caps as the live run sent them (cost.with_output_floor)
    if isinstance(floor, int) and not isinstance(floor, bool):
        cases = {cid: with_output_floor(case, floor) for cid, case in cases.items()}
    results: list[CaseResult] = []
    missing: list[str] = []
    for i, recorded in enumerate(recording.cases()):
        case = cases.get(recorded.id)
        if case is None:
            missing.append(recorded.id)
        else:
            try:
                results.append(_judge_one(case, recorded.record, recorded.exchanges, f"log._conformance.cases[{i}]",
                                          profile, skip_caps, disabled, policy, follows, env))
            except FieldError as exc:
                raise RecordingError(recording_path, str(exc)) from None
        del recorded  # its exchanges are not held while the next case is read
    run.update({
        "spec": spec_info(profile), "suite_version": __version__,
        "recorded_suite_version": meta.get("suite_version"), "policy": policy.to_dict(),
        "recording": str(recording_path.resolve()), "rejudged_from": str(recording_path), "rejudged_at": utc_now(),
    })
    if isinstance(run.get("probe_preflight"), dict):
        run["probe_preflight"] = {**run["probe_preflight"], "behavioural_skipped": behavioural_skips(results)}
    if "cap_cut_skipped" in run:
        run["cap_cut_skipped"] = cap_cut_skips(results)
    return Rejudged(results, run, missing)


def _judge_one(case: Case, record: Mapping[str, Any], exchanges: list[Any], where: str, profile: str,
               skip_caps: Sequence[str], disabled: Sequence[str], policy: JudgePolicy, follows: bool,
               env: Mapping[str, str]) -> CaseResult:
    """One case judged as the live run judged it (conformance/pytest_plugin.py ``CaseItem.setup``)."""
    reason = not_sent_reason(case, profile, skip_caps)
    if reason is not None:
        return CaseResult(case, Outcome.SKIPPED, reason)
    if "not_recorded" in record:  # not sent live, or its recording raised: nothing to judge again
        message = typed_field(record, "not_recorded", str, where)
        if typed_field(record, "internal_error", bool, where, False):
            return CaseResult(case, Outcome.ERROR, message)
        return CaseResult(case, Outcome.SKIPPED, f"not recorded by the live run: {message}")
    rec = case_recording(case, record, exchanges, where, env)
    result = judge_safely(rec, profile, disabled, policy=policy, follows_probes=follows)
    for ex in result.exchanges:  # judged: bounded evidence, as the live run keeps
        ex.compact()
    return result


def notices(meta: Mapping[str, Any]) -> list[str]:
    """What the live run said once at the top of its summary, said again: a model that ignored the probes, a
    target that went down (from the recorded run section; conformance/run/probes.py, conformance/run/outage.py)."""
    lines: list[str] = []
    probes = meta.get("probe_preflight")
    if isinstance(probes, Mapping) and probes.get("follows_probes") is False:
        lines.append(f"model does not follow probes (recorded preflight): {probes.get('behavioural_skipped')} "
                     f"behavioural assertions skipped ({probes.get('detail')})")
    down = meta.get("target_down")
    if isinstance(down, Mapping):
        first: Mapping[str, Any] = down["first_unanswered"] if isinstance(down.get("first_unanswered"), Mapping) else {}
        lines.append(f"TARGET DOWN during the recorded run: {down.get('cases_not_sent')} case(s) not sent; first "
                     f"unanswered: {first.get('case')} {first.get('method')} {first.get('path')} ({first.get('error')})")
    return lines

