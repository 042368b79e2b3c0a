"""Spec requirements that api.openai.com itself does not meet (``divergences.yaml``), with their evidence.

A finding on one of them is a warning that says so ("api.openai.com does not meet this requirement either"):
a provider that copies OpenAI's wire shape is not penalised for it. ``--spec-strict`` restores the letter of
the spec. Each entry matches findings by ``rule`` (exact) or by ``check`` + ``path`` (a glob over the
normalised path: only ``*`` is special) + ``message`` (a substring), and lists captures from ``../shared/real-openai`` or public
reports that show OpenAI's own behaviour; tests/test_divergences.py replays every capture and checks the entry
still matches it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ..._verdict import Finding
from .keys import normalise_path

DIVERGENCES_FILE = Path(__file__).with_name("divergences.yaml")


@dataclass(frozen=True)
class Evidence:
    capture: str = ""  # an id in ../shared/real-openai/manifest.json
    fixture: str = ""  # or a file under tests/fixtures/real (provenance in SOURCES.md there)
    report: str = ""  # or a public report (URL)
    date: str = ""
    model: str = ""


@dataclass(frozen=True)
class Divergence:
    id: str
    summary: str
    rule: str = ""
    checks: tuple[str, ...] = ()
    path: str = ""
    message: str = ""
    evidence: tuple[Evidence, ...] = ()

    def matches(self, check: str, finding: Finding) -> bool:
        if self.checks and check not in self.checks:
            return False
        if self.rule and finding.rule != self.rule:
            return False
        if self.path and not _glob(self.path).fullmatch(normalise_path(finding.path)):
            return False
        if self.message and self.message not in finding.message:
            return False
        return bool(self.rule or self.path or self.message)



@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    """``*`` matches anything; everything else (``[*]`` included) is literal, as paths are written."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def _entry(raw: dict[str, Any]) -> Divergence:
    evidence = tuple(Evidence(**{k: str(v) for k, v in e.items()}) for e in raw.get("evidence") or [])
    return Divergence(id=str(raw["id"]), summary=str(raw["summary"]).strip(), rule=str(raw.get("rule") or ""),
                      checks=tuple(raw.get("checks") or ()), path=str(raw.get("path") or ""),
                      message=str(raw.get("message") or ""), evidence=evidence)


@lru_cache(maxsize=1)
def divergences() -> tuple[Divergence, ...]:
    with open(DIVERGENCES_FILE, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or []
    return tuple(_entry(e) for e in raw)


def match(check: str, finding: Finding) -> Divergence | None:
    for div in divergences():
        if div.matches(check, finding):
            return div
    return None
