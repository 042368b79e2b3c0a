"""When each requirement of the Responses surface first appeared in the official spec.

``requirement_dates.json`` is derived by ``scripts/requirement-dates`` from the dated snapshots in
``../shared/specs/history/`` plus the current spec (the spec's ``info.version`` never changes, so dates identify
what it required); tests/test_requirement_dates.py re-derives it so it cannot go stale. A rule present in the
oldest snapshot (2025-03-11, the first spec with the Responses API) has no date here: it has always been required.

A date is the date of the *first snapshot that states the rule* (and every later one does), not the day the
rule was introduced: the snapshots have gaps (none between 2025-04-29 and 2026-05-13), so a rule dated
2026-05-13 may have appeared any time after 2025-04-29. :func:`describe` says so in words ("required since
2026-05-13 (absent from the 2025-04-29 snapshot)"); :func:`previous_snapshot` gives the bound.

Rule identities are those of ``conformance.judge.schemas.validate``'s findings: ``Component[.prop.path]:required:prop``,
``Component.path:enum:value``, ``ResponseStreamEvent:event:<type>``, ``ResponseStreamEvent:required:<prop>``
for a property every stream event requires.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DATES_FILE = Path(__file__).with_name("requirement_dates.json")


@dataclass(frozen=True)
class Snapshot:
    """One spec snapshot the dates were derived from (``file`` is relative to ``../shared/specs``)."""

    date: str
    commit: str
    file: str
    sha256: str


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    try:
        with open(DATES_FILE, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {"rules": {}, "snapshots": []}
    return data if isinstance(data, dict) else {"rules": {}, "snapshots": []}


#: Components whose rules hold for every endpoint whatever the Responses paths referenced: the error envelope is
#: OpenAI's documented error format (every snapshot defines ErrorResponse/Error the same way), but the Responses
#: paths first declare it on 2026-08-21; dating the envelope by that would claim it became a rule then.
API_WIDE_COMPONENTS = frozenset({"ErrorResponse", "Error"})


def requirement_since(rule: str) -> str | None:
    """The ISO date of the first snapshot that states ``rule``, when later than the oldest snapshot; else None."""
    if not rule or rule.split(":", 1)[0].split(".", 1)[0] in API_WIDE_COMPONENTS:
        return None
    since = _data().get("rules", {}).get(rule)
    return since if isinstance(since, str) else None


@lru_cache(maxsize=1)
def snapshots() -> tuple[Snapshot, ...]:
    """The snapshots the dates come from, oldest first (the current spec last)."""
    return tuple(Snapshot(**{k: str(s.get(k, "")) for k in ("date", "commit", "file", "sha256")})
                 for s in _data().get("snapshots", []) if isinstance(s, dict))


def previous_snapshot(date: str) -> Snapshot | None:
    """The last snapshot strictly before ``date`` (an ISO date): the newest spec known not to state a rule
    dated ``date``. None before the oldest snapshot."""
    earlier = [s for s in snapshots() if s.date < date]
    return earlier[-1] if earlier else None


def describe(rule: str) -> str | None:
    """``"required since 2026-05-13 (absent from the 2025-04-29 snapshot)"`` for a dated rule, else None.

    The parenthesis bounds the gap: the rule appeared between the two snapshots."""
    since = requirement_since(rule)
    if since is None:
        return None
    before = previous_snapshot(since)
    return f"required since {since}" + (f" (absent from the {before.date} snapshot)" if before else "")
