"""The run's judging policy: how far findings beyond the letter of the spec count."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass


@dataclass(frozen=True)
class JudgePolicy:
    """``spec_strict``: a requirement api.openai.com itself does not meet (divergences.yaml) fails as the spec
    says, instead of being a warning. ``strict_behaviour``: what OpenAI does but nothing documents (basis
    ``observed``) fails instead of warning. ``spec_as_of``: judge against the requirements of that date; a
    requirement first stated later (requirement_dates.json) becomes a note."""

    spec_strict: bool = False
    strict_behaviour: bool = False
    spec_as_of: _dt.date | None = None

    @classmethod
    def from_options(cls, spec_strict: bool, strict_behaviour: bool, spec_as_of: str | None) -> JudgePolicy:
        """The policy the command-line options ask for (``run``, ``judge`` and the pytest plugin alike);
        ValueError naming ``--spec-as-of`` for a value that is no date."""
        try:
            as_of = parse_date(spec_as_of) if spec_as_of else None
        except ValueError as exc:
            raise ValueError(f"--spec-as-of: {exc}") from None
        return cls(spec_strict=bool(spec_strict), strict_behaviour=bool(strict_behaviour), spec_as_of=as_of)

    def to_dict(self) -> dict[str, object]:
        return {"spec_strict": self.spec_strict, "strict_behaviour": self.strict_behaviour,
                "spec_as_of": self.spec_as_of.isoformat() if self.spec_as_of else None}


def parse_date(text: str) -> _dt.date:
    """``YYYY-MM-DD`` (or an ISO timestamp, whose date part is used); ValueError with a readable reason."""
    try:
        return _dt.date.fromisoformat(str(text).strip()[:10])
    except ValueError:
        raise ValueError(f"{text!r} is not a date (expected YYYY-MM-DD)") from None
