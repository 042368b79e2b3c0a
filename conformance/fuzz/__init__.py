"""Property-based request fuzzing (issue 13): generated create requests, judged like hand-written cases.

``run_fuzz(recorder, FuzzOptions(...))`` returns one ``CaseResult`` per distinct finding in the ``fuzz`` group,
which every report shows and no score counts (docs/fuzz.md). The package stands alone: the engine calls
``wiring.fuzz_after`` once, after the cases. Its names are loaded on first use, so a run without ``--fuzz``
never imports hypothesis.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GROUP", "KINDS", "FuzzOptions", "FuzzRequest", "run_fuzz"]


def __getattr__(name: str) -> Any:
    if name == "FuzzRequest":
        from ._request import FuzzRequest

        return FuzzRequest
    if name in ("GROUP", "KINDS", "FuzzOptions", "run_fuzz"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
