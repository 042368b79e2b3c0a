"""When each requirement of the Responses surface first appeared in the official spec.

``requirement_dates.json`` is derived by ``scripts/requirement-dates`` from the dated snapshots in
``../shared/specs/history/`` (the spec's ``info.version`` never changes, so dates identify what it required).
A rule present in the oldest snapshot has no date here: it has always been required.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

DATES_FILE = Path(__file__).with_name("requirement_dates.json")


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    try:
        with open(DATES_FILE, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {"rules": {}}
    return data if isinstance(data, dict) else {"rules": {}}


def requirement_since(rule: str) -> str | None:
    """The ISO date of the first snapshot that states ``rule``, when later than the oldest snapshot; else None."""
    if not rule:
        return None
    since = _data().get("rules", {}).get(rule)
    return since if isinstance(since, str) else None
