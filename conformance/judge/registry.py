"""The one registry of everything that judges: automatic checks and ``expect:`` assertions.

Both kinds are described by the same :class:`Rule`: a stable public name (what reports print), its kind
(``automatic``: run on every exchange it ``applies`` to; ``expect``: named by a case's ``expect:`` list, with
an argument its ``validate`` checks), the spec reference and basis its findings rest on, and the proof that it
can fail: the reference-server deviation (``conformance.reference.DEVIATIONS``) and the case under which it
must (tests/test_deviations.py runs every proof; tests/test_judge_layout.py checks that each of the suite's own
rules names a deviation and a case that exist). A user's own check (``conformance.api.check``) may have none. ``responses-conformance list-checks`` lists this registry.

The check modules (``conformance.judge.checks``) and the assertion modules (``conformance.judge.expect``)
register through their decorators (``@check``, ``@assertion``); ``REGISTRY`` and ``ASSERTIONS`` there are
read-only views of one kind each, in registration order (report order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .._verdict import BASES, Finding

__all__ = ["AUTOMATIC", "EXPECT", "ENTRIES", "KINDS", "Proof", "Rule", "by_kind", "register"]

AUTOMATIC = "automatic"
EXPECT = "expect"
KINDS = (AUTOMATIC, EXPECT)
#: the prefix of an ``expect:`` assertion's public name: the keyword ``status`` is reported as ``expect.status``
EXPECT_PREFIX = "expect."

#: (reference-server deviation, case id): under that deviation, that case makes the rule fail
Proof = tuple[str, str]
#: ``behavioural`` of an assertion: always, never, or decided by its argument and the exchange it judges
BehaviouralRule = bool | Callable[[Any, Any], bool]


@dataclass(frozen=True)
class Rule:
    """One named rule of the checker, automatic or ``expect:``, described the same way.

    ``func`` is ``(exchange, CheckContext) -> findings`` for an automatic check and
    ``(argument, exchange, ExpectContext) -> findings`` for an assertion. ``spec_ref`` is the rule's spec
    reference; an assertion whose reference depends on its argument (``schema: Response``) also has
    ``ref_of``. ``applies`` (automatic) says which exchanges the check judges; ``validate`` (expect) checks
    a case's argument when the case file is loaded.
    """

    name: str
    kind: str
    func: Callable[..., Iterable[Finding]]
    spec_ref: str
    basis: str
    doc: str
    proof: Proof | None
    applies: Callable[[Any, Any], bool] | None = None
    validate: Callable[[Any], Iterable[tuple[str, str]]] | None = None
    ref_of: Callable[[Any], str] | None = None
    streamed_only: bool = False
    behavioural: BehaviouralRule = False

    @property
    def keyword(self) -> str:
        """How a case names it: an assertion's ``expect:`` keyword (``status``), else the public name."""
        return self.name.removeprefix(EXPECT_PREFIX) if self.kind == EXPECT else self.name

    @property
    def severity(self) -> str:
        """``warning`` for a rule resting on what OpenAI merely does (basis ``observed``), else ``error``."""
        return "warning" if self.basis == "observed" else "error"

    @property
    def description(self) -> str:
        """The first line of its docstring: what ``list-checks`` prints."""
        lines = self.doc.splitlines()
        return lines[0] if lines else ""

    @property
    def deviation(self) -> str:
        """The reference-server deviation under which this rule must fail ("" for a user's check without one)."""
        return self.proof[0] if self.proof is not None else ""

    def spec_ref_for(self, arg: Any) -> str:
        """The spec reference of one use of the rule (an assertion's may name the schema its argument names)."""
        return self.ref_of(arg) if self.ref_of is not None else self.spec_ref

    def is_behavioural(self, arg: Any, ex: Any) -> bool:
        """Does this expectation judge what the *model* chose to say or do (a probe reply, a tool call it was
        asked to make), rather than what the server's protocol guarantees? Such expectations are skipped when
        the run's preflight finds that the model does not follow the probes (conformance/run/probes.py)."""
        rule = self.behavioural
        if not callable(rule):
            return bool(rule)
        try:
            return bool(rule(arg, ex))
        except Exception:  # a rule never crashes judging: when unsure, the expectation is judged
            return False


_ENTRIES: dict[str, Rule] = {}
_BY_KIND: dict[str, dict[str, Rule]] = {kind: {} for kind in KINDS}

#: every registered rule by public name, in registration order (read-only)
ENTRIES: Mapping[str, Rule] = MappingProxyType(_ENTRIES)


def by_kind(kind: str) -> Mapping[str, Rule]:
    """A live read-only view of one kind, keyed by how it is named (check name, or ``expect:`` keyword)."""
    return MappingProxyType(_BY_KIND[kind])


def register(rule: Rule) -> Rule:
    """Add ``rule``; names are unique and stable, bases are ``conformance._verdict.BASES``, a proof is a
    (deviation, case id) pair."""
    if rule.kind not in KINDS:
        raise ValueError(f"{rule.name!r}: kind {rule.kind!r} is not one of {KINDS}")
    if rule.basis not in BASES:
        what = "check" if rule.kind == AUTOMATIC else "assertion"
        raise ValueError(f"{what} {rule.keyword!r}: basis {rule.basis!r} is not one of {BASES}")
    if rule.name in _ENTRIES:
        what = "check" if rule.kind == AUTOMATIC else "assertion"
        raise ValueError(f"duplicate {what} name {rule.keyword!r}")
    if rule.proof is not None and not (len(rule.proof) == 2 and all(isinstance(p, str) and p for p in rule.proof)):
        raise ValueError(f"{rule.name!r}: proof must be (deviation, case id), got {rule.proof!r}")
    _ENTRIES[rule.name] = rule
    _BY_KIND[rule.kind][rule.keyword] = rule
    return rule
