"""The automatic checks: their context, their decorator and the function that runs them.

Each check is a small pure function over one recorded :class:`Exchange` with a stable
public name that appears in every report and can be switched off per case or per run
(schemathesis's model). Checks never touch the network. They are registered in the one registry
(``conformance.judge.registry``) beside the ``expect:`` assertions; ``REGISTRY`` is its automatic part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..._verdict import BASES, TRUNCATED, CheckResult, Finding, Outcome
from ...record.exchange import Exchange
from ..basis import JudgePolicy, classify_result
from ..basis.keys import normalise_path
from ..registry import AUTOMATIC, Proof, Rule, by_kind, register

ENDPOINTS = ("create", "retrieve", "delete", "cancel", "input_items", "input_tokens", "compact", "other")


@dataclass(frozen=True)
class CheckContext:
    """What a check may know about an exchange beyond the recorded bytes."""

    endpoint: str = "other"
    request_body: Any = None
    stream: bool = False
    expect_status: tuple[int, ...] = ()
    profile: str = "openai"
    extra: dict[str, Any] = field(default_factory=dict)
    transport: str = "http"  # or "websocket": a turn on a Responses WebSocket (events = its messages)


CheckFunc = Callable[[Exchange, CheckContext], Iterable[Finding]]
Applies = Callable[[Exchange, CheckContext], bool]
#: an automatic check is a :class:`~conformance.judge.registry.Rule` of kind ``automatic``
Check = Rule

#: the automatic checks by name, in registration (report) order: a read-only view of the one registry
REGISTRY: Mapping[str, Rule] = by_kind(AUTOMATIC)


def check(name: str, *, spec_ref: str, applies: Applies, basis: str,
          proof: Proof | None = None) -> Callable[[CheckFunc], CheckFunc]:
    """Register ``func`` as the check called ``name`` (names are unique and stable).

    ``basis`` is what its findings rest on (``conformance._verdict.BASES``): ``observed`` findings are warnings,
    the others fail (unless the run's policy says otherwise; conformance/judge/basis/classify.py). ``proof`` is
    the reference-server deviation and the case under which the check must fail (tests/test_deviations.py): every
    check of the suite has one; a user's own check (``conformance.api.check``) need not."""
    if basis not in BASES:
        raise ValueError(f"check {name!r}: basis {basis!r} is not one of {BASES}")

    def add(func: CheckFunc) -> CheckFunc:
        register(Rule(name, AUTOMATIC, func, spec_ref, basis, (func.__doc__ or "").strip(), proof, applies=applies))
        return func

    return add


def endpoint_of(method: str, path: str) -> str:
    """Classify a request path (relative to the base URL, e.g. ``/responses/abc``) by spec endpoint."""
    clean = path.split("?", 1)[0].rstrip("/")
    parts = [p for p in clean.split("/") if p]
    if not parts or parts[0] != "responses":
        return "other"
    method = method.upper()
    if len(parts) == 1:
        return "create" if method == "POST" else "other"
    if len(parts) == 2:
        if parts[1] == "input_tokens" and method == "POST":
            return "input_tokens"
        if parts[1] == "compact" and method == "POST":
            return "compact"
        return {"GET": "retrieve", "DELETE": "delete"}.get(method, "other")
    if len(parts) == 3 and parts[2] == "cancel" and method == "POST":
        return "cancel"
    if len(parts) == 3 and parts[2] == "input_items" and method == "GET":
        return "input_items"
    return "other"


#: Findings one check keeps for one exchange: all of the first KEEP_FIRST, then only those unlike every kept one
#: (another rule, path with its indices blanked, message, kind or basis: what classifying and grouping look at)
#: up to KEEP_MAX; the rest are counted, never classified or stored. A 16 MB stream repeating one deviation
#: 300,000 times is judged in linear time and reported as that deviation, with the count.
KEEP_FIRST = 50
KEEP_MAX = 500


def _safe_findings(chk: Rule, ex: Exchange, ctx: CheckContext) -> tuple[list[Finding], int]:
    """The findings kept (at most KEEP_MAX) and how many more the check yielded."""
    kept: list[Finding] = []
    seen: set[tuple[str, str, str, str, str]] = set()
    more = 0
    try:
        for finding in chk.func(ex, ctx):
            if len(kept) >= KEEP_MAX:
                more += 1
                continue
            like = (finding.rule, normalise_path(finding.path), finding.message, finding.kind, finding.basis)
            if len(kept) < KEEP_FIRST or like not in seen:
                kept.append(finding)
                seen.add(like)
            else:
                more += 1
    except Exception as exc:  # a check must report odd input, never crash the run
        return [Finding(f"check crashed on this input: {type(exc).__name__}: {exc}")], 0
    return kept, more


def run_checks(
    ex: Exchange,
    ctx: CheckContext,
    *,
    disabled: Iterable[str] = (),
    only: Iterable[str] | None = None,
    policy: JudgePolicy | None = None,
) -> Iterator[CheckResult]:
    """Run every applicable registered check on ``ex``; inconclusive exchanges are never judged.

    Findings are classified under ``policy`` (the default policy when None): a check whose findings are all
    warnings or notes passes."""
    if ex.inconclusive:
        return
    skip = set(disabled)
    wanted = set(only) if only is not None else None
    for chk in REGISTRY.values():
        if chk.name in skip or (wanted is not None and chk.name not in wanted):
            continue
        try:
            applicable = chk.applies is not None and chk.applies(ex, ctx)
        except Exception:
            applicable = False
        if not applicable:
            continue
        findings, more = _safe_findings(chk, ex, ctx)
        if not findings:
            yield CheckResult(chk.name, Outcome.PASS, "", chk.spec_ref, ex.step, chk.severity, basis=chk.basis)
            continue
        message = "; ".join(f"{f.path}: {f.message}" if f.path else f.message for f in findings[:5])
        if len(findings) + more > 5:
            message += f" (+{len(findings) + more - 5} more)"
        if more:
            findings.append(Finding(f"{more} more findings not kept (repeats of the {len(findings)} above, "
                                    f"or past {KEEP_MAX})", "$", kind=TRUNCATED))
        raw = CheckResult(chk.name, Outcome.FAIL, message, chk.spec_ref, ex.step, chk.severity, findings, chk.basis)
        yield classify_result(raw, policy or JudgePolicy())
