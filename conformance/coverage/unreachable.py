"""The committed list of elements no request can exercise (``unreachable.yaml``), validated.

Why a file: "cannot be exercised" is a judgement, so it must be written down with its reason,
reviewed like code, and never silently shrink the denominator (listed elements still count as
uncovered).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from ..judge import schemas
from .elements import catalogue

__all__ = ["UNREACHABLE_PATH", "unreachable_elements"]

UNREACHABLE_PATH = Path(__file__).with_name("unreachable.yaml")


@lru_cache(maxsize=None)
def unreachable_elements(profile: str = "openai") -> dict[str, dict[str, str]]:
    """``{category: {element: reason}}`` for ``profile``; raises ``ValueError`` on a bad entry."""
    data = yaml.safe_load(UNREACHABLE_PATH.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or set(data) - set(schemas.PROFILES):
        raise ValueError(f"{UNREACHABLE_PATH.name}: top-level keys must be profiles {schemas.PROFILES}")
    cats = {c.key: c for c in catalogue(profile)}
    out: dict[str, dict[str, str]] = {}
    for key, entries in (data.get(profile) or {}).items():
        if key not in cats:
            raise ValueError(f"{UNREACHABLE_PATH.name}: {profile}: unknown category {key!r}")
        for element, reason in (entries or {}).items():
            if element not in cats[key].elements:
                raise ValueError(f"{UNREACHABLE_PATH.name}: {profile}.{key}: {element!r} is not an element of the spec")
            if not isinstance(reason, str) or not reason.strip():
                raise ValueError(f"{UNREACHABLE_PATH.name}: {profile}.{key}.{element}: a reason is required")
            out.setdefault(key, {})[element] = " ".join(reason.split())
    return out
