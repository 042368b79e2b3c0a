"""Drive hypothesis over the strategies, judge every answer like a case, and report distinct findings.

Each generated request becomes a one-step :class:`~conformance.cases.Case` (group ``fuzz``) recorded by the run's
:class:`~conformance.record.http.Recorder` and judged by :func:`conformance.run.engine.judge`: the same registry checks,
status and error-envelope expectations, declines, reproduced-fault rule, bases and evidence as a hand-written
case. What fails is raised to hypothesis as an exception whose *class* stands for the example's set of failing
finding keys (conformance/judge/basis/keys.py), so hypothesis shrinks each distinct cause on its own; the runner keeps,
for every key, the smallest example that showed it. The result is one ``CaseResult`` per distinct finding, not per
example (docs/fuzz.md).
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis.strategies import SearchStrategy

from .._verdict import TRUNCATED, CheckResult, Outcome
from ..cases import Case, Step
from ..judge.basis import JudgePolicy
from ..judge.expect import Expectation
from ..record.exchange import Exchange
from ..record.http import Recorder
from ..run.engine import CaseResult, judge, record_case, reported_output
from ._database import FuzzDatabase
from ._determinism import no_local_constants
from ._request import FuzzRequest
from .strategies import MUTATIONS, invalid_requests, valid_requests

GROUP = "fuzz"
KINDS = ("valid", "invalid")
SPEC_REF = "openai-openapi.yaml#/paths/~1responses/post"
#: inconclusive answers (timeouts, resets, 502/503) after which a kind stops: the target is in trouble, not wrong
MAX_INCONCLUSIVE = 3
#: hypothesis runs per strategy at most: each later one treats the findings of the earlier ones as known (below)
MAX_ROUNDS = 6
#: a later round's seed: the run's seed plus this times the round (far from the strategies' own offsets)
ROUND_SEED_STEP = 1_000_003
#: checks whose failure on an invalid request is the finding itself (it was accepted, or answered with a 5xx)
MISTAKE_CHECKS = ("engine.server_error", "expect.status")


@dataclass(frozen=True)
class FuzzOptions:
    """What a fuzz run may cost and how it is reproduced.

    ``examples``: hypothesis's ``max_examples`` per kind (shrinking adds requests only when something fails).
    ``seed``: the run's seed (None: a fresh one, reported in the results). ``replay``: try the database's stored
    failures first; a run reproducing a seed exactly passes False (the database is then written, never read).
    ``database``: directory of hypothesis's example database (None: none). ``token_budget``: output tokens the
    fuzzer may be charged over both kinds (as cases are, conformance/run/cost.py); no example starts that could
    overshoot it."""

    examples: int = 100
    seed: int | None = None
    replay: bool = True
    database: Path | None = None
    kinds: tuple[str, ...] = KINDS
    profile: str = "openai"
    policy: JudgePolicy = field(default_factory=JudgePolicy)
    token_budget: int | None = None
    #: capabilities the target declares unavailable (the run's ``--skip-capability`` and providers file): the
    #: strategies send nothing that needs one (strategies.CAPABILITY_PARTS)
    skip_capabilities: frozenset[str] = frozenset()


@dataclass
class Observation:
    """Every example that showed one finding key: how many, and the smallest (its judged result is the evidence)."""

    key: str
    outcome: Outcome
    request: FuzzRequest
    result: CaseResult
    count: int = 1

    def offer(self, request: FuzzRequest, result: CaseResult) -> None:
        self.count += 1
        if request.size() <= self.request.size():  # on a tie the later one: hypothesis's shrinker comes last
            self.request, self.result = request, result


class _Failure(AssertionError):
    """Raised to hypothesis for a failing example; one subclass per set of failing keys (its interesting origin)."""


_FAILURE_CLASSES: dict[frozenset[str], type[_Failure]] = {}


def _failure_class(keys: frozenset[str]) -> type[_Failure]:
    """The same class for the same keys, so hypothesis tells distinct causes apart and shrinks each."""
    cls = _FAILURE_CLASSES.get(keys)
    if cls is None:
        digest = hashlib.sha1("\n".join(sorted(keys)).encode()).hexdigest()[:10]
        cls = _FAILURE_CLASSES[keys] = type(f"FuzzFailure_{digest}", (_Failure,), {})
    return cls


@dataclass
class _Budget:
    """Output tokens charged across both kinds against what the run's ``--token-budget`` left after the cases,
    counted as the scheduler counts a case's (conformance/run/cost.py): the ``usage.output_tokens`` an answer reported,
    else its cap. An example starts only if its cap still fits, so the budget is never overshot."""

    limit: int | None
    spent: int = 0

    def exhausted(self) -> bool:
        return self.limit is not None and self.spent >= self.limit

    def fits(self, request: FuzzRequest) -> bool:
        return self.limit is None or self.spent + request.output_cap() <= self.limit

    def charge(self, request: FuzzRequest, exchanges: list[Exchange]) -> None:
        reported = reported_output(exchanges).get("create")
        served = any(ex.status is not None and 200 <= ex.status < 300 for ex in exchanges)
        self.spent += reported if reported is not None else (request.output_cap() if served else 0)


class _KindRun:
    """One kind's run: sends, judges and classifies each example; keeps the observations."""

    def __init__(self, kind: str, recorder: Recorder, options: FuzzOptions, budget: _Budget) -> None:
        self.kind = kind
        self.recorder = recorder
        self.options = options
        self.budget = budget
        self.observations: dict[str, Observation] = {}
        self.examples = 0  # requests judged (generation and shrinking alike)
        self.inconclusive = 0
        self.stop_reason = ""
        self.trouble = ""  # hypothesis itself stopped with something that is not one of our failures
        self.sent: list[FuzzRequest] = []  # every request judged, in order (a seed reproduces this list)
        #: failing keys an earlier round already raised (and hypothesis shrank): not raised again, so a finding
        #: every example shows (a peer's missing required field) does not end the exploration at once
        self.known: frozenset[str] = frozenset()
        self.quiet = 0  # examples hypothesis saw pass (what its max_examples counts)
        self.raised = 0  # examples raised to hypothesis as failures

    def stopped(self) -> bool:
        if self.stop_reason:
            return True
        stop_at = self.recorder.stop_at
        if stop_at is not None and time.monotonic() >= stop_at:
            self.stop_reason = "skipped (time limit): the run's --max-time passed"
        elif self.budget.exhausted():
            self.stop_reason = "skipped (budget): the run's --token-budget was spent"
        elif self.inconclusive >= MAX_INCONCLUSIVE:
            self.stop_reason = f"stopped after {self.inconclusive} inconclusive answers (the target is in trouble)"
        return bool(self.stop_reason)

    def check(self, request: FuzzRequest) -> None:
        """hypothesis's test function: judge one example, raise for a failing one."""
        if self.stopped():
            return
        if not self.budget.fits(request):
            self.stop_reason = "skipped (budget): the run's --token-budget left no room for another example"
            return
        result = self.judge(request)
        failing = self.observe(request, result) - self.known
        if failing:
            self.raised += 1
            raise _failure_class(failing)(f"{len(failing)} finding(s): {', '.join(sorted(failing))}")
        self.quiet += 1

    def minimise(self) -> None:
        """After hypothesis: drop optional parts of each failure's smallest example while the failure stays.

        hypothesis shrinks the choices behind an example; deleting a whole key (or one ``include`` value) is
        sometimes a step it does not take. A few requests per finding make the reported request minimal. A
        decline is minimised too (hypothesis never shrinks it: it is no failure), so its row names the smallest
        valid request the server refuses, not the first one."""
        self.reattribute()
        for obs in [o for o in self.observations.values() if o.outcome in (Outcome.FAIL, Outcome.UNSUPPORTED)]:
            improved = True
            while improved and not self.stopped():
                improved = False
                for candidate in obs.request.smaller():
                    if self.stopped():
                        break
                    result = self.judge(candidate)
                    self.observe(candidate, result, new=False)
                    if obs.request is candidate:
                        improved = True
                        break

    def reattribute(self) -> None:
        """A 5xx answer to an invalid request is the mistake's only if the same request without the mistake is served.

        llama-stack answered ``truncation: "auto"`` (valid) with 500 whatever else the request held, so a request with
        17 metadata keys and ``truncation: "auto"`` was a "5xx for oversized metadata" that the mistake had no part
        in. One control request per such finding: if it gets the 5xx too, the finding is filed under the control's
        own (valid) key, with the control as its request, and the mistake's row goes."""
        for key, obs in list(self.observations.items()):
            if not key.startswith("engine.server_error|answered|") or self.stopped():
                continue
            control = obs.request.without_mistake(self.recorder.target.model)
            if control is None:
                continue
            result = self.judge(control)
            _, failing = example_keys(result, control)
            faults = sorted(k for k in failing if k.startswith("engine.server_error"))
            if not faults:
                continue
            del self.observations[key]
            for fault in faults:
                found = self.observations.get(fault)
                if found is None:
                    self.observations[fault] = Observation(fault, Outcome.FAIL, control, result, obs.count)
                else:
                    found.offer(control, result)

    def judge(self, request: FuzzRequest) -> CaseResult:
        case = example_case(self.kind, request)
        rec = record_case(case, self.recorder)
        self.examples += 1
        self.sent.append(request)
        self.budget.charge(request, rec.exchanges)
        try:
            result = judge(rec, self.options.profile, policy=self.options.policy)
        except Exception as exc:  # a bug or an odd answer a check could not take: an error, never a lost example
            result = CaseResult(case, Outcome.ERROR, f"internal error while judging: {type(exc).__name__}: {exc}"[:300],
                                [], rec.exchanges, rec.duration_s)
        for ex in result.exchanges:
            ex.compact()
        return result

    def observe(self, request: FuzzRequest, result: CaseResult, new: bool = True) -> frozenset[str]:
        """File the example under each of its keys; return the keys that fail (those hypothesis shrinks).

        ``new=False`` (a candidate of :meth:`minimise`): offered to the findings already observed only. A smaller
        candidate of a 5xx filed under its valid control may be served, and what that answer breaks (a missing
        required field) was never an invalid request's finding: LiteLLM-mock's invalid kind listed them."""
        if any(ex.error_kind == "time_limit" for ex in result.exchanges):  # cut by --max-time: not the server's doing
            self.stop_reason = "skipped (time limit): the run's --max-time passed"
            return frozenset()
        keys, failing = example_keys(result, request)
        if result.outcome is Outcome.ERROR and any(ex.inconclusive for ex in result.exchanges):
            self.inconclusive += 1
        for key in keys:
            found = self.observations.get(key)
            if found is None and not new:
                continue
            if found is None:
                self.observations[key] = Observation(key, key_outcome(key, failing), request, result)
            else:
                found.offer(request, result)
        return failing


def example_case(kind: str, request: FuzzRequest, case_id: str = "", title: str = "") -> Case:
    """The one-step case a generated request is judged as (its expectations: the fuzz properties)."""
    expect = [Expectation("status", request.status)]
    if request.param is not None:  # which parameter an error names is what api.openai.com does: a warning at most
        expect.append(Expectation("error_envelope", {"param": request.param, "basis": "observed"}))
    step = Step(name="create", method="POST", path="/responses", body=request.body if request.raw_body is None else None,
                stream=request.stream, expect=tuple(expect), raw_body=request.raw_body)
    return Case(id=case_id or f"{GROUP}.{kind}", title=title or f"fuzz ({kind}): {request.mutation or 'valid request'}",
                group=GROUP, spec=(SPEC_REF,), capabilities=(GROUP,), steps=(step,))


def example_keys(result: CaseResult, request: FuzzRequest | None = None) -> tuple[list[str], frozenset[str]]:
    """(every key the example is filed under, the failing ones). Failing: the classified finding keys of its
    failed checks. Also filed: a decline (``declined:<param>``), an inconclusive answer (``error:<kind>``) and
    each warning, so the report says what was seen without counting it as a failure.

    An invalid ``request`` answered with a 2xx or a 5xx is one finding per kind of mistake and the parameter it
    is in (``expect.status|accepted|out_of_range:temperature``): the checks every accepted mistake fails alike
    (the status) would make all of them one finding, and the checks that fail on the body the server should not
    have sent (the out-of-range value it echoes breaks the Response schema) are consequences of the acceptance.
    They stay in the example's checks, its evidence, but are no findings of their own."""
    mistake = _mistake_key(result, request)
    if mistake is not None:
        warnings = {f"warning:{f.key}" for chk in result.checks for f in chk.findings if f.severity == "warning"}
        return [mistake, *sorted(warnings)], frozenset({mistake})
    failing: list[str] = []
    others: list[str] = []
    for chk in result.checks:
        for f in chk.findings:
            if f.kind == TRUNCATED:  # "N more findings not kept": a note on the list, no cause (as report/findings.py)
                continue
            if f.severity == "fail" and chk.outcome is Outcome.FAIL:
                failing.append(f.key or f"{chk.name}|{f.message[:80]}")
            elif f.severity == "warning":
                others.append(f"warning:{f.key}")
        if chk.outcome is Outcome.FAIL and not chk.findings:
            failing.append(chk.name)
    if result.outcome is Outcome.UNSUPPORTED:
        others.append(f"declined:{_declined_param(result) or 'no param named'}")
    elif result.outcome is Outcome.ERROR:
        kinds = [ex.error_kind for ex in result.exchanges if ex.error_kind]
        others.append(f"error:{kinds[0] if kinds else 'internal'}")
    failing_set = frozenset(failing)
    return sorted(failing_set) + sorted(set(others)), failing_set


def _mistake_key(result: CaseResult, request: FuzzRequest | None) -> str | None:
    """The finding key of an invalid request the server accepted or answered with a 5xx; None otherwise."""
    if request is None or request.kind != "invalid":
        return None
    failed = {chk.name for chk in result.checks if chk.outcome is Outcome.FAIL}
    for name in MISTAKE_CHECKS:
        if name in failed:
            what = "accepted" if name == "expect.status" and _answered_2xx(result) else "answered"
            return f"{name}|{what}|{request.mistake_site()}"
    return None


def _answered_2xx(result: CaseResult) -> bool:
    return any(ex.status is not None and 200 <= ex.status < 300 for ex in result.exchanges)


def key_outcome(key: str, failing: frozenset[str]) -> Outcome:
    """The outcome a key's result row gets: fail, or what the other kinds of key stand for."""
    if key in failing:
        return Outcome.FAIL
    if key.startswith("declined:"):
        return Outcome.UNSUPPORTED
    if key.startswith("error:"):
        return Outcome.ERROR
    return Outcome.PASS  # a warning: shown, never counted


def _declined_param(result: CaseResult) -> str | None:
    for ex in result.exchanges:
        body = ex.json_or_none() if not ex.inconclusive else None
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict) and isinstance(err.get("param"), str):
            return str(err["param"])[:80]
    return None


def _settings(options: FuzzOptions, kind: str, namespace: str, replay: bool) -> settings:
    database = FuzzDatabase(options.database, f"{kind}|{namespace}", replay) if options.database else None
    return settings(max_examples=max(1, options.examples), deadline=None, database=database,
                    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
                    suppress_health_check=list(HealthCheck), report_multiple_bugs=True, verbosity=Verbosity.quiet,
                    print_blob=False, derandomize=False)


def kind_strategies(kind: str, model: str, skip: frozenset[str] = frozenset()) -> list[tuple[str, SearchStrategy[FuzzRequest]]]:
    """(name, strategy) per hypothesis run of a kind: one for the valid requests; one per kind of mistake for the
    invalid ones. hypothesis's generation clusters (a run of 80 examples may never choose some mistakes), so each
    mistake gets its share of the examples, its own shrinking and its own database entries."""
    if kind == "valid":
        return [("valid", valid_requests(model, skip))]
    return [(m.__name__.strip("_"), invalid_requests(model, m, skip)) for m in MUTATIONS]


def run_kind(kind: str, recorder: Recorder, options: FuzzOptions, run_seed: int, budget: _Budget) -> _KindRun:
    """Run hypothesis over one kind's strategies (``options.examples`` shared among them); the observations
    are in the returned run."""
    state = _KindRun(kind, recorder, options, budget)
    model = recorder.target.model
    namespace = f"{recorder.target.provider}|{model}|{options.profile}"
    strategies = kind_strategies(kind, model, options.skip_capabilities)
    share = max(1, options.examples // len(strategies))

    def fuzz_example(request: FuzzRequest) -> None:
        state.check(request)

    for index, (name, strategy) in enumerate(strategies):
        passed = 0
        # hypothesis ends its generation soon after a failure; a finding every example shows would end the
        # exploration at once. So it runs again (another seed) with the findings so far known, not raised,
        # until its share of examples passed, a round raised nothing new, or MAX_ROUNDS
        for round_ in range(MAX_ROUNDS):
            if state.stopped() or passed >= share:
                break
            quiet, raised = state.quiet, state.raised
            run_seed_round = run_seed + 1000 * KINDS.index(kind) + index + ROUND_SEED_STEP * round_
            # a later round never reads the database: a stored failure it now knows would pass, and hypothesis
            # would delete it
            test: Callable[[], None] = _settings(replace(options, examples=share - passed), name, namespace,
                                                 options.replay and round_ == 0)(
                seed(run_seed_round)(given(strategy)(fuzz_example)))
            try:
                with no_local_constants():  # a seed's examples do not depend on the suite's own literals
                    test()
            except Exception as exc:  # our failures (the observations hold them), or Flaky/Unsatisfiable: never a crash
                others = [e for e in _leaves(exc) if not isinstance(e, _Failure)]
                if others and not state.trouble:
                    state.trouble = f"{name}: {type(others[0]).__name__}: {others[0]}"[:300]
            passed += state.quiet - quiet
            state.known = frozenset(k for k, o in state.observations.items() if o.outcome is Outcome.FAIL)
            if state.raised == raised:
                break
    state.minimise()
    return state


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside an exception group (hypothesis raises one for several distinct failures)."""
    inner = getattr(exc, "exceptions", None)
    if not isinstance(inner, tuple):
        return [exc]
    return [leaf for e in inner for leaf in _leaves(e)]


def run_fuzz(recorder: Recorder, options: FuzzOptions | None = None) -> list[CaseResult]:
    """Fuzz the create endpoint of ``recorder``'s target; one result per distinct finding (group ``fuzz``), plus
    a ``fuzz.<kind>`` summary row for a kind where nothing failed (how many examples ran)."""
    options = options or FuzzOptions()
    run_seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**32)
    budget = _Budget(options.token_budget)
    results: list[CaseResult] = []
    for kind in options.kinds:
        state = run_kind(kind, recorder, options, run_seed, budget)
        results.extend(kind_results(state, run_seed, not options.replay))
    return results


_ORDER = {Outcome.FAIL: 0, Outcome.ERROR: 1, Outcome.UNSUPPORTED: 2, Outcome.PASS: 3}


def kind_results(state: _KindRun, run_seed: int, seeded: bool) -> list[CaseResult]:
    """The observations of one kind as results: failures first, then inconclusive, declines and warnings."""
    out: list[CaseResult] = []
    how = f"{state.examples} example(s), seed {run_seed}" + ("" if seeded else " (rerun with --fuzz-seed to reproduce)")
    for obs in sorted(state.observations.values(), key=lambda o: (_ORDER.get(o.outcome, 9), o.key)):
        out.append(_result(state.kind, obs, how))
    if not any(r.outcome is Outcome.FAIL for r in out):
        out.insert(0, _summary(state, how))
    return out


def _result(kind: str, obs: Observation, how: str) -> CaseResult:
    digest = hashlib.sha1(obs.key.encode()).hexdigest()[:10]
    request = obs.request
    label = _describe_key(obs)
    title = f"fuzz ({kind}): {label}"[:200]
    case = example_case(kind, request, f"{GROUP}.{kind}.{digest}", title)
    sent = request.text()
    shown = sent if len(sent) <= 600 else sent[:600] + f"... ({len(sent)} characters)"
    what = f" ({request.mutation})" if request.mutation else ""
    message = (f"{label}; seen in {obs.count} of {how}; smallest request ({request.field_count()} fields){what}: "
               f"{shown}")
    base = obs.result
    checks = list(base.checks)
    if obs.outcome is Outcome.FAIL and not any(c.outcome is Outcome.FAIL for c in checks):  # defensive: never a
        checks.append(CheckResult("fuzz.property", Outcome.FAIL, label, SPEC_REF, "create"))  # fail without a check
    return CaseResult(case, obs.outcome, message, checks, base.exchanges, base.duration_s, base.tokens)


def _describe_key(obs: Observation) -> str:
    if obs.key.startswith("declined:"):
        return f"a valid request was declined (param {obs.key.split(':', 1)[1]})"
    if obs.key.startswith("error:"):
        return f"inconclusive answer ({obs.key.split(':', 1)[1]}): {obs.result.message[:160]}"
    name, _, rest = obs.key.partition("|")
    if name in MISTAKE_CHECKS and rest.startswith(("accepted|", "answered|")):  # one kind of mistake: its check
        how, _, site = rest.partition("|")
        chk = next((c for c in obs.result.checks if c.name == name and c.outcome is Outcome.FAIL), None)
        said = f": {chk.message[:160]}" if chk is not None else ""
        return f"{name}: an invalid request ({site}) was {how}{said}"
    key = obs.key.removeprefix("warning:")
    for chk in obs.result.checks:
        for f in chk.findings:
            if f.key == key:
                return f"{'warning: ' if obs.key.startswith('warning:') else ''}{chk.name}: {f.message[:200]}"
    for chk in obs.result.failed_checks:
        return f"{chk.name}: {chk.message[:200]}"
    return key


def _summary(state: _KindRun, how: str) -> CaseResult:
    case = Case(id=f"{GROUP}.{state.kind}", title=f"fuzz ({state.kind} requests): no failure", group=GROUP,
                spec=(SPEC_REF,), capabilities=(GROUP,), steps=())
    if state.examples == 0:
        return CaseResult(case, Outcome.SKIPPED, state.stop_reason or "no example ran")
    notes = [n for n in (state.stop_reason, f"hypothesis stopped: {state.trouble}" if state.trouble else "") if n]
    message = f"{how}: no failure" + (f" ({'; '.join(notes)})" if notes else "")
    return CaseResult(case, Outcome.PASS, message)
