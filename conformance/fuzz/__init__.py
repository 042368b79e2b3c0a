"""Property-based request fuzzing (issue 13): generated create requests, judged like hand-written cases.

``run_fuzz(recorder, FuzzOptions(...))`` returns one ``CaseResult`` per distinct finding in the ``fuzz`` group,
which every report shows and no score counts (docs/fuzz.md). The package stands alone: the run path calls
:func:`run_fuzz` once, after the cases.
"""

from __future__ import annotations

from ._request import FuzzRequest
from .runner import GROUP, KINDS, FuzzOptions, run_fuzz

__all__ = ["GROUP", "KINDS", "FuzzOptions", "FuzzRequest", "run_fuzz"]
