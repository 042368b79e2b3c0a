"""Judging one expectation against one recorded exchange: the ``expect.<name>`` result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..._verdict import CheckResult, Finding, Outcome
from ...cases._tags import ResolveError, resolve
from ...record.exchange import Exchange
from ..basis import JudgePolicy, classify_result
from .accessors import Fail
from .expectation import Advisory, Expectation, split_basis
from .registry import ASSERTIONS, ExpectContext, Inconclusive, NotInProfile

__all__ = ["evaluate"]


def _as_expectation(expectation: Expectation | Mapping[str, Any]) -> Expectation:
    if isinstance(expectation, Expectation):
        return expectation
    if isinstance(expectation, Mapping) and len(expectation) == 1:
        ((name, arg),) = expectation.items()
        return Expectation(str(name), arg)
    raise TypeError(f"an expectation is a one-key mapping {{name: argument}}, got {expectation!r}")


def evaluate(
    expectation: Expectation | Mapping[str, Any],
    exchange: Exchange,
    variables: Mapping[str, Any],
    *,
    model: str = "",
    env: Mapping[str, str] | None = None,
    profile: str | None = None,
    policy: JudgePolicy | None = None,
) -> CheckResult:
    """Judge one expectation against one recorded exchange.

    Returns a :class:`CheckResult` named ``expect.<assertion>``: ``fail`` with a message giving
    expected vs actual, ``pass`` (with severity ``warning`` and findings when only advisory
    findings were made), or ``error`` when the exchange is inconclusive or the assertion
    cannot judge (an unresolvable ``!var``, an unavailable schema). ``profile`` selects the
    schema profile of ``conformance.judge.schemas`` (its default when None); it reaches the assertion
    in its :class:`ExpectContext`.
    """
    exp = _as_expectation(expectation)
    name = f"expect.{exp.name}"
    spec = ASSERTIONS.get(exp.name)
    if spec is None:
        known = ", ".join(sorted(ASSERTIONS))
        return CheckResult(name, Outcome.ERROR, f"unknown assertion {exp.name!r} (known: {known})", step=exchange.step)
    raw_arg, basis = split_basis(exp.arg, exp.basis or spec.basis)
    named = bool(exp.basis) or (isinstance(exp.arg, Mapping) and "basis" in exp.arg)
    try:
        spec_ref = spec.spec_ref_for(raw_arg)
    except Exception:
        spec_ref = ""
    if exchange.inconclusive:
        return CheckResult(
            name, Outcome.ERROR, f"exchange is inconclusive ({exchange.error_kind}: {exchange.error}); not judged",
            spec_ref, exchange.step, basis=basis,
        )
    try:
        arg = resolve(raw_arg, variables, model, env if env is not None else {})
    except ResolveError as exc:
        return CheckResult(name, Outcome.ERROR, str(exc), spec_ref, exchange.step, basis=basis)
    findings: list[Finding] = []
    try:
        findings = list(spec.func(arg, exchange, ExpectContext(profile)))
    except Fail as exc:
        findings = [Finding(str(exc))]
    except Inconclusive as exc:
        return CheckResult(name, Outcome.ERROR, str(exc), spec_ref, exchange.step, basis=basis)
    except NotInProfile as exc:
        return CheckResult(name, Outcome.SKIPPED, str(exc), spec_ref, exchange.step, basis=basis)
    except Exception as exc:  # an assertion must report odd input, never crash the run
        findings = [Finding(f"assertion crashed on this input: {type(exc).__name__}: {exc}")]
    if not findings:
        return CheckResult(name, Outcome.PASS, "", spec_ref, exchange.step, basis=basis)
    # an Advisory finding is what OpenAI does, not a stated rule: basis observed (a warning by default), unless
    # the case names the basis of this expectation itself
    advisory = basis if named else "observed"
    findings = [replace(f, basis=advisory) if isinstance(f, Advisory) and not f.basis else f for f in findings]
    raw = CheckResult(name, Outcome.FAIL, "; ".join(f.message for f in findings), spec_ref, exchange.step, "error",
                      findings, basis)
    return classify_result(raw, policy or JudgePolicy())
