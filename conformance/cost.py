"""Worst-case output tokens of a selection of cases, known before a single request is sent.

A run against a paid endpoint costs what the model generates; the cases say how much it may generate through
``max_output_tokens``. The bound of a case is the sum of that cap over its generating steps (a step that creates
a Response: POST ``/responses`` or ``/responses/compact``, a WebSocket ``response.create``, the SDK's
``responses.create/parse/stream``). A generating step without the cap is unbounded, and so is its case. A step
whose every expected status is a client error (4xx) is counted as generating nothing: a conforming server
rejects it before any model runs. A polled step (``repeat_until``) that generates is unbounded: its repetitions
are not counted in advance."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cases import Case
from .suite import CASES_DIR

#: the paths (relative to the base URL) whose POST runs the model
GENERATING_PATHS = ("/responses", "/responses/compact")
#: the SDK methods (``transport: sdk`` steps) that run the model
GENERATING_CALLS = ("responses.create", "responses.parse", "responses.stream")


def _generates(step: Any) -> bool:
    if step.transport == "websocket":
        return True
    if step.transport == "sdk":
        return step.call in GENERATING_CALLS
    return step.method == "POST" and isinstance(step.path, str) and step.path in GENERATING_PATHS


def _cap(step: Any) -> int | None:
    """The step's ``max_output_tokens`` when it is a plain positive integer, else None (unbounded)."""
    payload = step.args if step.transport == "sdk" else step.body
    value = payload.get("max_output_tokens") if isinstance(payload, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def case_bound(case: Case) -> int | None:
    """At most how many output tokens the case can be billed; None when a generating step sets no cap."""
    total = 0
    for step in case.steps:
        statuses = step.expected_statuses()
        if not _generates(step) or (statuses and all(400 <= s < 500 for s in statuses)):
            continue
        cap = _cap(step)
        if cap is None or step.repeat_until is not None:
            return None
        total += cap
    return total


@dataclass(frozen=True)
class Bound:
    """The worst case of a selection: the sum over the bounded cases, and the cases with no bound at all."""

    tokens: int
    cases: int
    unbounded: tuple[str, ...]

    def line(self) -> str:
        """The one line printed before a run."""
        text = f"worst-case output tokens: {self.tokens} over {self.cases - len(self.unbounded)} bounded case(s)"
        if self.unbounded:
            text += (f"; {len(self.unbounded)} of {self.cases} case(s) unbounded (a generating step without "
                     "max_output_tokens)")
        return text


def selection_bound(cases: Iterable[Case]) -> Bound:
    """The :class:`Bound` of the cases about to run."""
    tokens, count, unbounded = 0, 0, []
    for case in cases:
        count += 1
        bound = case_bound(case)
        if bound is None:
            unbounded.append(case.id)
        else:
            tokens += bound
    return Bound(tokens, count, tuple(unbounded))


def parse_token_budget(raw: str) -> int:
    """``--token-budget N``: a positive integer number of tokens, else ValueError with the one line to print."""
    text = raw.strip()
    if not text.isdigit() or int(text) <= 0:
        raise ValueError(f"--token-budget {raw!r}: expected a positive whole number of tokens")
    return int(text)


def default_suite_bound(cases_dir: Path | None = None, profile: str = "openai") -> Bound:
    """The bound a plain ``run`` prints: every case of ``cases/`` the profile's spec does not skip (the README
    states it; tests/test_cost.py keeps the two equal)."""
    from .cases import load_all
    from .coverage.profile import skip_reason

    root = cases_dir or CASES_DIR
    return selection_bound(case for case in load_all(root) if skip_reason(case, profile) is None)
