"""An :class:`Exchange` that also carries what the SDK made of it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ..exchange import Exchange


@dataclass
class SDKExchange(Exchange):
    """A recorded exchange of an SDK step; ``sdk`` is the SDK-level outcome (see ``_runner.outcome``).

    ``sdk`` is None on an earlier request of a call that sent several (only the last one is
    judged by the step's expectations; automatic checks judge all of them).
    """

    sdk: dict[str, Any] | None = None

    @classmethod
    def of(cls, ex: Exchange, sdk: dict[str, Any] | None = None) -> SDKExchange:
        return cls(**{f.name: getattr(ex, f.name) for f in fields(Exchange)}, sdk=sdk)
