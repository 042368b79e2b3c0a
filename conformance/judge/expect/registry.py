"""The ``expect:`` half of the one registry: the ``@assertion`` decorator, its context and its outcomes.

An assertion is a :class:`~conformance.judge.registry.Rule` of kind ``expect``: a pure function of its
argument, one recorded :class:`~conformance.record.exchange.Exchange` and an :class:`ExpectContext` (the
schema profile the run judges against, passed explicitly). It never touches the network and reports odd input
as findings instead of raising; it raises :class:`Inconclusive` when it cannot judge (outcome ``error``) and
:class:`NotInProfile` when the profile's spec lacks what it names (outcome ``skipped``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..._verdict import BASES, Finding
from ...record.exchange import Exchange
from ..registry import EXPECT, EXPECT_PREFIX, BehaviouralRule, Proof, Rule, by_kind, register

__all__ = ["ASSERTIONS", "SPEC", "Assertion", "ExpectContext", "Inconclusive", "NotInProfile", "Problems", "assertion"]

SPEC = "openai-openapi.yaml#"


@dataclass(frozen=True)
class ExpectContext:
    """What an assertion may know beyond its argument and the recorded exchange.

    ``profile``: the schema profile of ``conformance.judge.schemas`` to judge against (its default when None).
    """

    profile: str | None = None


class Inconclusive(Exception):
    """The assertion cannot judge (e.g. the schema module is unavailable): outcome ``error``."""


class NotInProfile(Exception):
    """The assertion names something the selected profile's spec lacks: outcome ``skipped`` (never a fail)."""


Problems = Iterator[Finding]
AssertFunc = Callable[[Any, Exchange, ExpectContext], Iterable[Finding]]
ArgValidator = Callable[[Any], Iterable[tuple[str, str]]]
#: an ``expect:`` assertion is a :class:`~conformance.judge.registry.Rule` of kind ``expect``
Assertion = Rule

#: the assertions by ``expect:`` keyword (``status``, ``schema``...): a read-only view of the one registry
ASSERTIONS: Mapping[str, Rule] = by_kind(EXPECT)


def assertion(
    name: str,
    *,
    spec_ref: str,
    basis: str,
    proof: Proof | None = None,
    ref_of: Callable[[Any], str] | None = None,
    validate: ArgValidator | None = None,
    streamed_only: bool = False,
    behavioural: BehaviouralRule = False,
) -> Callable[[AssertFunc], AssertFunc]:
    """Register ``func`` as the assertion ``name`` (names are unique and stable; reports say ``expect.<name>``).

    ``basis`` is what its findings rest on by default (``conformance._verdict.BASES``); a case may lower one
    expectation to ``basis: observed`` in a mapping argument (what OpenAI does but nothing documents).
    ``ref_of``: the spec reference of one use when it depends on the argument (else ``spec_ref``).
    ``behavioural``: the assertion judges the model's reply to a probe (True), never (False), or when a rule
    on its argument says so (docs/cases.md, "Behavioural expectations"). ``proof``: the reference-server
    deviation and the case under which it must fail (tests/test_deviations.py; every assertion of the suite has one)."""
    if basis not in BASES:
        raise ValueError(f"assertion {name!r}: basis {basis!r} is not one of {BASES}")

    def add(func: AssertFunc) -> AssertFunc:
        register(Rule(EXPECT_PREFIX + name, EXPECT, func, spec_ref, basis, (func.__doc__ or "").strip(), proof,
                      validate=validate, ref_of=ref_of, streamed_only=streamed_only, behavioural=behavioural))
        return func

    return add
