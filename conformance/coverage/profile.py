"""Which parts of a case lie outside one profile's spec (derived from the claims, never typed by hand).

Under ``--profile openresponses`` a case that *sends* something only another profile's spec defines
(a built-in tool, an OpenAI-only parameter or option, the retrieve endpoint...) cannot be judged against
the selected spec: it is ``skipped`` with the reason ``not in the <profile> spec: <elements>``. Request
values that no profile defines (error cases sending invalid values, vendor extensions) are deliberate and
never make a case skip.

On the response side, an expectation that names an element (event type, output item type, ...) which
another profile defines but the selected one does not is skipped on its own, with the same kind of
reason, instead of failing falsely. Categories for which a profile declares no values at all (Open
Responses' free-string ``Response.status``) make no expectation outside the profile.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..cases import Case
from .claims import EXERCISED, Claim, case_claims
from .elements import catalogue, known_anywhere

__all__ = ["REQUEST_CATEGORIES", "expectations_outside", "format_elements", "outside_profile", "skip_reason"]

#: Categories whose elements a request uses (the rest are claimed by expectations).
REQUEST_CATEGORIES = (
    "endpoints", "request_parameters", "parameter_options", "tool_choice", "include", "tools",
    "input_items", "input_roles", "input_content_parts",
)
_REQUEST_WHERE = re.compile(r"^steps\[\d+\]\.request\b")
_EXPECT_WHERE = re.compile(r"^steps\[(\d+)\]\.expect\[(\d+)\]")


#: each case's claims (``sdk=True``), by ``id`` with the case kept beside them (checked by identity, so a reused
#: id is never a stale hit): a run asks three or four times per case (is it runnable, is it sent, which of its
#: expectations count) and deriving them is most of what asking costs; a case is frozen, so they never change
_CLAIMS: dict[int, tuple[Case, tuple[Claim, ...]]] = {}
_CLAIMS_KEPT = 4096


def _claims(case: Case) -> tuple[Claim, ...]:
    hit = _CLAIMS.get(id(case))
    if hit is not None and hit[0] is case:
        return hit[1]
    claims = tuple(case_claims(case, sdk=True))
    if len(_CLAIMS) >= _CLAIMS_KEPT:  # a long-lived process (a pytest session) does not keep every case ever seen
        _CLAIMS.clear()
    _CLAIMS[id(case)] = (case, claims)
    return claims


def _elements(profile: str) -> dict[str, dict[str, str]]:
    return {cat.key: cat.elements for cat in catalogue(profile)}


def _foreign(claim: Claim, elements: dict[str, dict[str, str]]) -> bool:
    """Defined by some profile's spec, but not by this one."""
    return claim.element not in elements.get(claim.category, {}) and claim.element in known_anywhere(claim.category)


def format_elements(claims: Iterable[Claim]) -> str:
    """``tools: mcp; tool_choice: type=mcp`` (categories in first-seen order, elements deduplicated)."""
    grouped: dict[str, list[str]] = {}
    for claim in claims:
        values = grouped.setdefault(claim.category, [])
        if claim.element not in values:
            values.append(claim.element)
    return "; ".join(f"{cat}: {', '.join(values)}" for cat, values in grouped.items())


def outside_profile(case: Case, profile: str, claims: list[Claim] | None = None) -> list[Claim]:
    """The request claims of ``case`` naming elements another profile's spec defines but ``profile``'s lacks."""
    elements = _elements(profile)
    return [c for c in (_claims(case) if claims is None else claims)
            if c.category in REQUEST_CATEGORIES and _REQUEST_WHERE.match(c.where) and _foreign(c, elements)]


def skip_reason(case: Case, profile: str) -> str | None:
    """``"not in the <profile> spec: <elements>"`` when the case's requests leave the profile, else None."""
    outside = outside_profile(case, profile)
    return f"not in the {profile} spec: {format_elements(outside)}" if outside else None


def expectations_outside(case: Case, profile: str, claims: list[Claim] | None = None) -> dict[tuple[int, int], str]:
    """``{(step index, expect index): reason}`` for expectations that need an element ``profile`` lacks.

    Only exercised claims count (a negative assertion about a foreign element still holds), and only in
    categories where ``profile`` declares values at all.
    """
    elements = _elements(profile)
    found: dict[tuple[int, int], list[Claim]] = {}
    for claim in _claims(case) if claims is None else claims:
        m = _EXPECT_WHERE.match(claim.where)
        if m is None or claim.kind != EXERCISED or not elements.get(claim.category) or not _foreign(claim, elements):
            continue
        found.setdefault((int(m.group(1)), int(m.group(2))), []).append(claim)
    return {key: f"not in the {profile} spec: {format_elements(claims_)}" for key, claims_ in found.items()}
