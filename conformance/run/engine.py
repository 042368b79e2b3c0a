"""Record a case's steps, then judge the recording.

Recording is the only part that talks to the network (through :class:`Recorder`);
judging is a pure function of the recording, so it can be repeated, tested offline and
run in any order. Independent cases are recorded concurrently.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from .._verdict import CheckResult, Finding, Outcome
from ..cases import Case, Step, evaluate, resolve, response_document
from ..cases.paths import lookup
from ..judge.basis import JudgePolicy, classify_result
from ..judge.checks import CheckContext, endpoint_of, run_checks
from ..judge.declines import (
    contradicted_refusal,
    contradicted_result,
    is_decline,
    lead_failure,
    no_key_reason,
    refusal_detail,
    stops_case,
    upgrade_ignored,
)
from ..record.exchange import Exchange
from ..record.http import Recorder
from ..record.transport import Recorded, StepRequest, Transport, open_transport


@dataclass
class CaseRecording:
    """Everything that happened while running one case's steps."""

    case: Case
    exchanges: list[Exchange] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    problems: list[CheckResult] = field(default_factory=list)
    declined_step: str | None = None
    #: step -> why its 404/405 cannot be a decline (declines.contradicted_refusal); judged as a fail
    contradicted: dict[str, str] = field(default_factory=dict)
    skip_reason: str | None = None  # nothing was sent: e.g. an auth case on a run without a key
    duration_s: float = 0.0
    model: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    target_down: str | None = None  # not sent: the target had stopped answering (conformance/run/outage.py)


@dataclass
class CaseResult:
    """The verdict on one case, with the checks and the evidence behind it."""

    case: Case
    outcome: Outcome
    message: str = ""
    checks: list[CheckResult] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    duration_s: float = 0.0
    tokens: dict[str, int] = field(default_factory=dict)

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if c.outcome is Outcome.FAIL]


def record_case(case: Case, recorder: Recorder, env: Mapping[str, str] | None = None) -> CaseRecording:
    """Run the steps of ``case`` in order; stop at the first inconclusive or declined step."""
    env = os.environ if env is None else env
    rec = CaseRecording(case, model=recorder.target.model, env=env)
    rec.skip_reason = no_key_reason(case, recorder.target)
    if rec.skip_reason is not None:
        return rec
    t0 = time.monotonic()
    transports: dict[str, Transport] = {}  # opened on first use, per case (a WebSocket's connections live here)
    try:
        _record_steps(case, recorder, env, rec, transports)
    finally:
        for transport in transports.values():
            transport.close()
    rec.duration_s = time.monotonic() - t0
    return rec


def _record_steps(case: Case, recorder: Recorder, env: Mapping[str, str], rec: CaseRecording,
                  transports: dict[str, Transport]) -> None:
    """Each step through its transport (conformance/record/transport.py), the one seam to the wire."""
    for step in case.steps:
        try:
            request = _resolve_step(step, rec, recorder.target.model, env)
        except (KeyError, ValueError) as exc:
            rec.problems.append(CheckResult("engine.resolve", Outcome.FAIL, str(exc), "", step.name))
            break
        transport = transports.get(step.transport)
        if transport is None:
            transport = transports[step.transport] = open_transport(step.transport, recorder)
        sent = transport.send(request)
        if step.repeat_until is not None:
            sent = _poll(transport, step, request, sent)
        rec.exchanges.extend(sent.exchanges)
        rec.problems.extend(CheckResult(f"engine.{transport.name}", Outcome.FAIL, note, "", step.name)
                            for note in sent.notes)
        if any(e.inconclusive for e in sent.exchanges):
            break
        ex = sent.exchanges[-1]  # the step's answer (an SDK call's earlier requests are judged by checks only)
        if not _settle(case, step, ex, rec) or not _capture(step, ex, rec):
            break


def _resolve_step(step: Step, rec: CaseRecording, model: str, env: Mapping[str, str]) -> StepRequest:
    """The step's request with its tags resolved (raises ``ResolveError``, a ValueError, naming what is missing)."""
    path = resolve(step.path, rec.variables, model, env)
    body = resolve(step.body, rec.variables, model, env)
    headers = resolve(step.headers, rec.variables, model, env) or {}
    args = resolve(step.args, rec.variables, model, env)
    return StepRequest(step.name, step.method, str(path), body, {str(k): str(v) for k, v in dict(headers).items()},
                       stream=step.stream, auth=step.auth, raw_body=step.raw_body, connection=step.connection,
                       call=step.call, args=args)


def _settle(case: Case, step: Step, ex: Exchange, rec: CaseRecording) -> bool:
    """One rule for every transport (conformance/judge/declines.py): False ends the case at this answer.

    Inconclusive answers and reproduced server faults end it; a 404/405 the case's own earlier traffic
    contradicts is recorded as such (judged a fail); a clear refusal of an optional capability is a decline."""
    if ex.inconclusive or stops_case(ex):
        return False
    earlier = [e for e in rec.exchanges if e is not ex]
    why = contradicted_refusal(case, step, ex, earlier, rec.variables)
    if why is not None:
        rec.contradicted[step.name] = why
        return False
    if is_decline(case, step, ex):
        rec.declined_step = step.name
        return False
    return True


def _poll(transport: Transport, step: Step, request: StepRequest, sent: Recorded) -> Recorded:
    """``repeat_until``: re-send the step until its condition holds, it fails, or time runs out.

    Only the last answer is kept (and judged): earlier answers are legitimately unfinished.
    """
    until = step.repeat_until
    assert until is not None
    deadline = time.monotonic() + until.timeout_s
    ex = sent.exchanges[-1]
    while not ex.inconclusive and ex.status == 200 and not until.satisfied(final_body(ex)):
        if time.monotonic() + until.interval_s > deadline:
            break
        time.sleep(until.interval_s)
        sent = transport.send(request)
        ex = sent.exchanges[-1]
    return sent


def _advisory(results: Iterable[CheckResult]) -> list[CheckResult]:
    """Automatic checks on an SDK step's traffic are reported as warnings, never fail the sdk case.

    The sdk group answers "does the official SDK work against this endpoint"; whether the same
    traffic conforms to the spec is the spec groups' verdict (the same checks, on raw cases), so a
    violation the SDK tolerates is shown here without being counted twice.
    """
    out: list[CheckResult] = []
    for r in results:
        if r.outcome is Outcome.FAIL:
            r = CheckResult(r.name, Outcome.PASS, f"in the SDK's traffic (judged by the spec cases): {r.message}",
                            r.spec_ref, r.step, "warning", list(r.findings) or [Finding(r.message)], r.basis)
        out.append(r)
    return out


def final_body(ex: Exchange) -> Any:
    """The Response a step produced (JSON body, or the terminal event's ``response``), or None."""
    try:
        return response_document(ex)
    except ValueError:
        return None


def _capture(step: Step, ex: Exchange, rec: CaseRecording) -> bool:
    sdk = ex.sdk  # an SDK step captures from what the SDK returned
    body = sdk.get("value") if isinstance(sdk, dict) else final_body(ex)
    for name, path in step.capture.items():
        found = lookup(body, path) if body is not None else []
        if not found:
            rec.problems.append(CheckResult(
                "engine.capture", Outcome.FAIL,
                f"cannot capture {name!r}: nothing at {path!r} in the response (later steps need it)", "", step.name))
            return False
        rec.variables[name] = found[0]
    return True


def judge(rec: CaseRecording, profile: str = "openai", disabled: Iterable[str] = (),
          policy: JudgePolicy | None = None, follows_probes: bool = True) -> CaseResult:
    """Turn a recording into a verdict: pure, repeatable, no network. ``policy``: how far findings beyond the
    letter of the spec count (conformance/judge/basis). ``follows_probes=False`` (the run's probe preflight found a
    model that ignores the probes, conformance/run/probes.py): behavioural expectations are skipped, and a case that
    had one skipped and nothing failed is ``skipped`` rather than ``pass`` (docs/cases.md). A step whose Response
    the suite's own ``max_output_tokens`` cut short has its expectations about the answer skipped the same way
    (conformance/judge/output_cap.py): a cut by our cap is never a ``fail``."""
    from ..judge.output_cap import CUT_REASON, about_answer, case_message, cut_reason, suite_cap_cut
    from .probes import SKIP_REASON

    policy = policy or JudgePolicy()
    case = rec.case
    outside_reason = profile_skip_reason(case, profile)
    if outside_reason is not None:  # its requests leave the profile's spec: not judgeable against it
        return CaseResult(case, Outcome.SKIPPED, outside_reason, [], rec.exchanges, rec.duration_s)
    if rec.skip_reason is not None:
        return CaseResult(case, Outcome.SKIPPED, rec.skip_reason, [], rec.exchanges, rec.duration_s)
    steps = {s.name: s for s in case.steps}
    step_index = {s.name: i for i, s in enumerate(case.steps)}
    outside = _expectations_outside(case, profile)
    skip = set(case.disabled_checks) | set(disabled)
    checks: list[CheckResult] = []
    leads: list[CheckResult] = []  # one failure standing for a step's answer (declines.py): reported first
    inconclusive: list[Exchange] = []
    cut: dict[str, int] = {}  # step -> the suite's cap that cut its Response (judge/output_cap.py)
    for ex in rec.exchanges:
        if ex.inconclusive:
            inconclusive.append(ex)
            continue
        step = steps[ex.step]
        websocket = ex.transport == "websocket"
        request_body = ex.request.body
        if websocket and isinstance(request_body, dict):  # the create body inside the client event
            request_body = {k: v for k, v in request_body.items() if k not in ("type", "stream_id")}
        ctx = CheckContext(
            endpoint=("create" if ex.status == 101 else "other") if websocket
            else endpoint_of(ex.request.method, ex.request.path),
            request_body=request_body,
            stream=ex.request.stream and not upgrade_ignored(ex),  # an ignored upgrade is no stream
            expect_status=step.expected_statuses(),
            profile=profile,
            transport="websocket" if websocket else "http",
        )
        if ex.sent:  # not sent: the SDK raised before sending anything (no exchange to check)
            found = run_checks(ex, ctx, disabled=skip, policy=policy)
            checks.extend(_advisory(found) if step.transport == "sdk" else found)
        if rec.declined_step == ex.step:
            continue
        if ex.transport == "sdk" and ex.sdk is None:
            continue  # an earlier request of a multi-request SDK call: automatic checks only
        lead = _lead(step, ex, rec, policy)
        if lead is not None:  # the step's expectations would only restate it: counted once
            leads.append(lead)
            continue
        wrong_class = _wrong_status_class(step, ex)
        cap = suite_cap_cut(case, ex)
        if cap is not None:
            cut[ex.step] = cap
        for ei, exp in enumerate(step.expect):
            reason = outside.get((step_index[ex.step], ei))
            if reason is None and wrong_class and _judges_error_body(exp):
                reason = wrong_class
            if reason is not None:  # names an element this profile's spec lacks: not judgeable, never a fail
                checks.append(CheckResult(f"expect.{exp.name}", Outcome.SKIPPED, reason, "", ex.step))
                continue
            if not follows_probes and _behavioural(exp, ex):
                checks.append(CheckResult(f"expect.{exp.name}", Outcome.SKIPPED, SKIP_REASON, "", ex.step))
                continue
            if cap is not None and about_answer(exp.name, exp.arg):  # our cap, not the server, ended the answer
                checks.append(CheckResult(f"expect.{exp.name}", Outcome.SKIPPED, cut_reason(cap), "", ex.step))
                continue
            checks.append(evaluate(exp, ex, rec.variables, model=rec.model, env=rec.env, profile=profile, policy=policy))
    checks = leads + checks
    for problem in rec.problems:
        if not follows_probes and problem.name == "engine.capture":  # what the model did not produce (a call id...)
            problem = CheckResult(problem.name, Outcome.SKIPPED, f"{SKIP_REASON}: {problem.message}", "", problem.step)
        elif problem.name == "engine.capture" and problem.step in cut:  # the answer it reads was never given
            problem = CheckResult(problem.name, Outcome.SKIPPED, f"{cut_reason(cut[problem.step])}: {problem.message}",
                                  "", problem.step)
        elif problem.outcome is Outcome.FAIL and not problem.findings:
            # a step could not go on (nothing to capture, a closed WebSocket): the feature's documented behaviour
            # did not happen; one keyed finding like every other, so it is counted and classified the same way
            problem = classify_result(replace(problem, basis=problem.basis or "documented",
                                              findings=[Finding(problem.message)]), policy)
        checks.append(problem)
    probe_skips = [c for c in checks if c.outcome is Outcome.SKIPPED and c.message.startswith(SKIP_REASON)]
    cut_skips = [(c.name, cut[c.step]) for c in checks
                 if c.outcome is Outcome.SKIPPED and c.message.startswith(CUT_REASON) and c.step in cut]
    failed = [c for c in checks if c.outcome is Outcome.FAIL]
    if failed:
        outcome = Outcome.FAIL
        message = "; ".join(f"{c.name}: {c.message}" for c in failed[:3])
        if any(c.step == rec.declined_step for c in failed):  # the refusal itself breaks a rule (no envelope...)
            declined = next(e for e in rec.exchanges if e.step == rec.declined_step)
            message = f"declined with HTTP {declined.status}, but: {message}"
    elif rec.target_down is not None:
        outcome = Outcome.ERROR
        message = f"target down: {rec.target_down}"
    elif inconclusive:
        outcome = Outcome.ERROR
        message = f"inconclusive ({inconclusive[0].error_kind}): {inconclusive[0].error}"
    elif rec.declined_step is not None:
        outcome = Outcome.UNSUPPORTED
        ex = next(e for e in rec.exchanges if e.step == rec.declined_step)
        message = f"provider declined with HTTP {ex.status}: {refusal_detail(ex)}"
    elif probe_skips:
        names = ", ".join(sorted({c.name for c in probe_skips}))
        message = (f"{SKIP_REASON}: {len(probe_skips)} behavioural expectation(s) not judged ({names}); "
                   "every other check passed")
        outcome = Outcome.SKIPPED
    elif cut_skips:
        outcome, message = Outcome.SKIPPED, case_message(cut_skips)
    else:
        outcome = Outcome.PASS
        message = ""
    return CaseResult(case, outcome, message, checks, rec.exchanges, rec.duration_s, usage_tokens(rec.exchanges))


def internal_error(case: Case, stage: str, exc: BaseException, rec: CaseRecording | None = None) -> CaseResult:
    """A case whose recording or judging raised: its ``error`` with the reason, never a case lost from the run."""
    reason = f"internal error while {stage} (no verdict): {type(exc).__name__}: {str(exc)[:200]}"
    return CaseResult(case, Outcome.ERROR, reason, [], rec.exchanges if rec else [], rec.duration_s if rec else 0.0)


def judge_safely(rec: CaseRecording, profile: str = "openai", disabled: Iterable[str] = (),
                 policy: JudgePolicy | None = None, follows_probes: bool = True) -> CaseResult:
    """:func:`judge`, where an exception (a bug, a limit a server's answer hit) is that case's ``error``."""
    try:
        return judge(rec, profile, disabled, policy=policy, follows_probes=follows_probes)
    except Exception as exc:
        return internal_error(rec.case, "judging", exc, rec)


def _behavioural(exp: Any, ex: Exchange) -> bool:
    """Is this expectation about what the model chose (``Assertion.behavioural``)? Its ``basis:`` key aside."""
    from ..cases import ASSERTIONS
    from ..judge.expect import split_basis

    spec = ASSERTIONS.get(exp.name)
    return spec is not None and spec.is_behavioural(split_basis(exp.arg, spec.basis)[0], ex)


def _lead(step: Step, ex: Exchange, rec: CaseRecording, policy: JudgePolicy) -> CheckResult | None:
    """A contradicted refusal, a reproduced server fault or an unchecked key (conformance/judge/declines.py)."""
    why = rec.contradicted.get(ex.step)
    if why is not None and ex is next(e for e in reversed(rec.exchanges) if e.step == ex.step):
        return classify_result(contradicted_result(ex.step, ex, why), policy)
    lead = lead_failure(step, ex)
    return classify_result(lead, policy) if lead is not None else None


def _wrong_status_class(step: Step, ex: Exchange) -> str:
    """Why a step's error-body expectations are not judged: it expected an error (4xx) and got a success (or the
    reverse). The wrong status is the one root cause (``expect.status`` fails for it); judging the body as an
    error envelope as well would count the same deviation three times."""
    statuses = step.expected_statuses()
    if not statuses or ex.status is None or ex.status in statuses:
        return ""
    if all(400 <= s < 500 for s in statuses) and 200 <= ex.status < 300:
        return f"not judged: HTTP {ex.status} where an error was expected (one root cause: expect.status)"
    return ""


def _judges_error_body(exp: Any) -> bool:
    """Expectations about the error body: the envelope, or the ErrorResponse schema."""
    if exp.name == "error_envelope":
        return True
    return exp.name == "schema" and str(exp.arg.get("name") if isinstance(exp.arg, dict) else exp.arg) == "ErrorResponse"


def _expectations_outside(case: Case, profile: str) -> dict[tuple[int, int], str]:
    # the coverage claims decide (one derivation, shared with `responses-conformance coverage`)
    from ..coverage.profile import expectations_outside

    return expectations_outside(case, profile)


def not_sent_reason(case: Case, profile: str, skip_capabilities: Iterable[str]) -> str | None:
    """Why ``case`` is not sent at all: its requests leave ``profile``'s spec, or the target declares a capability
    it needs unavailable (``--skip-capability``). One rule for the live run and a re-judged recording."""
    outside = profile_skip_reason(case, profile)
    if outside is not None:
        return outside
    declined = sorted(set(case.needs) & set(skip_capabilities))
    if declined:
        return f"skipped (declared): target declares {', '.join(declined)} unavailable"
    return None


def profile_skip_reason(case: Case, profile: str) -> str | None:
    """``not in the <profile> spec: ...`` when the case's requests use elements ``profile``'s spec lacks."""
    from ..coverage.profile import skip_reason

    return skip_reason(case, profile)


def usage_tokens(exchanges: Iterable[Exchange]) -> dict[str, int]:
    """Tokens billed across the case, from each Response's ``usage`` (0 when absent)."""
    totals = {"input": 0, "output": 0, "total": 0}
    for ex in exchanges:
        body = final_body(ex)
        usage = body.get("usage") if isinstance(body, dict) else None
        if not isinstance(usage, dict) or not (ex.transport == "websocket" or ex.request.method == "POST"):
            continue
        for key, name in (("input", "input_tokens"), ("output", "output_tokens"), ("total", "total_tokens")):
            value = usage.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                totals[key] += value
    return totals


def skipped(case: Case, reason: str) -> CaseResult:
    return CaseResult(case, Outcome.SKIPPED, reason)


#: the message of a case not started because the run's ``--max-time`` had passed
TIME_LIMIT_REASON = "skipped (time limit): the run's --max-time had passed before this case started"
#: the message of a case in flight when the run's ``--max-time`` passed (its exchanges so far are kept)
TIME_LIMIT_CUT_REASON = "skipped (time limit): the run's --max-time passed while this case was running"
#: the message of a case not started because the output tokens charged so far had reached the run's ``--token-budget``
BUDGET_REASON = "skipped (budget): the run's --token-budget was spent before this case started"
#: the message of a case whose worst-case output (conformance/run/cost.py) no longer fits in what the budget has left
BUDGET_BOUND_REASON = ("skipped (budget): its worst-case output ({bound} tokens) exceeds what the run's "
                       "--token-budget has left ({left})")


def reported_output(exchanges: Iterable[Exchange]) -> dict[str, int | None]:
    """Per step sent: the ``usage.output_tokens`` its responses reported (summed), None when none reported any."""
    out: dict[str, int | None] = {}
    for ex in exchanges:
        got = usage_tokens([ex])["output"] if _reports_usage(ex) else None
        prev = out.get(ex.step)
        out[ex.step] = got if prev is None else prev + (got or 0)
    return out


def _reports_usage(ex: Exchange) -> bool:
    body = final_body(ex)
    usage = body.get("usage") if isinstance(body, dict) else None
    return isinstance(usage, dict) and isinstance(usage.get("output_tokens"), int)


class Scheduler:
    """Records cases concurrently (bounded), handing out futures so results stream in order of need.

    It also watches for the target going down (conformance/run/outage.py): once requests stop being answered,
    cases not yet started are not sent; their recordings carry ``target_down`` (judged ``error``).

    Under ``--token-budget`` a case starts only if its worst-case output (conformance/run/cost.py) fits in the budget
    less the output charged so far and the worst cases of the cases in flight; so capped cases never overshoot
    it. A case that does not fit waits for the cases in flight (they usually cost less than their worst case) and
    is skipped once none is left. A case with no bound (uncapped) runs alone: it starts when nothing is in flight,
    and nothing starts while it runs."""

    def __init__(self, recorder: Recorder, concurrency: int = 4, stop_at: float | None = None,
                 token_budget: int | None = None) -> None:
        from .outage import OutageWatch

        self.recorder = recorder
        self.watch = OutageWatch()
        #: ``--max-time``: the monotonic instant after which no case is started (its recording is skipped)
        self.stop_at = stop_at
        self.time_limited: list[str] = []
        #: ``--token-budget``: output tokens the run may be charged (:func:`conformance.run.cost.charged_output`)
        self.token_budget = token_budget
        self.tokens_billed = 0  # usage total_tokens of the recorded responses (reported)
        self.output_charged = 0  # output tokens charged against the budget by the finished cases
        self.budget_limited: list[str] = []
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)  # signalled when a case in flight ends
        self._reserved = 0  # the worst-case output of the capped cases in flight
        self._in_flight = 0  # cases in flight that hold a reservation
        self._alone = False  # an unbounded case is in flight
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="conformance-case")
        self._futures: dict[str, Future[CaseRecording]] = {}

    def submit(self, case: Case) -> Future[CaseRecording]:
        if case.id not in self._futures:
            self._futures[case.id] = self._pool.submit(self._record, case)
        return self._futures[case.id]

    def _record(self, case: Case) -> CaseRecording:
        from .cost import case_bound

        if self.time_up():
            self.time_limited.append(case.id)
            return CaseRecording(case, model=self.recorder.target.model, skip_reason=TIME_LIMIT_REASON)
        if self.token_budget is None:
            return self._send(case)
        bound = case_bound(case)
        refused = self._admit(case, bound)
        if refused is not None:
            return CaseRecording(case, model=self.recorder.target.model, skip_reason=refused)
        charged: int | None = None
        try:
            rec = self._send(case)
            charged = self._charge(case, rec)
            return rec
        finally:
            self._release(bound, charged)

    def _admit(self, case: Case, bound: int | None) -> str | None:
        """Reserve the case's worst case in the budget, waiting for cases in flight if that is what it takes;
        the skip reason when it cannot start (budget spent or too small, --max-time passed)."""
        assert self.token_budget is not None
        with self._room:
            while True:
                left = self.token_budget - self.output_charged
                if left <= 0 or self._closed:
                    if not self._closed:
                        self.budget_limited.append(case.id)
                    return BUDGET_REASON
                if self.time_up():
                    self.time_limited.append(case.id)
                    return TIME_LIMIT_REASON
                if bound is None and self._in_flight == 0:
                    self._alone = True
                    self._in_flight += 1
                    return None
                if bound is not None and not self._alone and self._reserved + bound <= left:
                    self._reserved += bound
                    self._in_flight += 1
                    return None
                if self._in_flight == 0:  # nothing in flight will give anything back: it can never fit
                    self.budget_limited.append(case.id)
                    return BUDGET_BOUND_REASON.format(bound=bound, left=left)
                self._room.wait(timeout=0.5)

    def charge_outside(self, output: int, total: int) -> None:
        """Tokens spent outside the cases (the probe preflight): billed, and charged under ``--token-budget``."""
        with self._room:
            if self.token_budget is not None:  # as for the cases: the charge is kept only against a budget
                self.output_charged += output
            self.tokens_billed += total

    def _charge(self, case: Case, rec: CaseRecording) -> int:
        from .cost import charged_output

        return charged_output(case, reported_output(rec.exchanges))

    def _release(self, bound: int | None, charged: int | None) -> None:
        """The case ended: charge what it cost (its worst case if recording it raised) and free its reservation."""
        with self._room:
            self.output_charged += charged if charged is not None else (bound or 0)
            if bound is None:
                self._alone = False
            else:
                self._reserved -= bound
            self._in_flight -= 1
            self._room.notify_all()

    def _send(self, case: Case) -> CaseRecording:
        from .outage import UNANSWERED_KINDS

        down = self.watch.skip(case.id)
        if down is not None:
            return CaseRecording(case, model=self.recorder.target.model, target_down=f"not sent: {down.message()}")
        rec = record_case(case, self.recorder)
        with self._lock:
            self.tokens_billed += usage_tokens(rec.exchanges)["total"]
        if self.time_up() and any(ex.error_kind == "time_limit" for ex in rec.exchanges):
            self.time_limited.append(case.id)  # cut short by --max-time: not the server's doing, so not judged
            rec.skip_reason = TIME_LIMIT_CUT_REASON
            return rec
        self.watch.observe(case.id, rec.exchanges)
        down = self.watch.down
        if down is not None and any(ex.error_kind in UNANSWERED_KINDS for ex in rec.exchanges):
            rec.target_down = f"unanswered: {down.message()}"
        return rec

    def time_up(self) -> bool:
        """Has the run's ``--max-time`` passed? Cases not yet started are then skipped, not sent."""
        return self.stop_at is not None and time.monotonic() >= self.stop_at

    def budget_spent(self) -> bool:
        """Have the output tokens charged so far reached the run's ``--token-budget``?"""
        return self.token_budget is not None and self.output_charged >= self.token_budget

    def shutdown(self, wait: bool = True) -> None:
        """Cancel the cases not started; ``wait=False`` (an interrupted run) leaves those in flight behind."""
        with self._room:  # a case waiting for room in the budget gives up
            self._closed = True
            self._room.notify_all()
        for fut in self._futures.values():
            fut.cancel()
        self._pool.shutdown(wait=wait, cancel_futures=True)
