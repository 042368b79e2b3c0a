"""Worst-case output tokens of a selection of cases, known before a single request is sent.

A run against a paid endpoint costs what the model generates; the cases say how much it may generate through
``max_output_tokens``. The bound of a case is the sum of that cap over its generating steps (a step that creates
a Response: POST ``/responses`` or ``/responses/compact``, a WebSocket ``response.create``, the SDK's
``responses.create/parse/stream``). A generating step without the cap is unbounded, and so is its case; a step
that says why it has none (``uncapped: <reason>``: it tests the default output length, or its endpoint takes no
cap) makes its case *uncapped by design*, reported apart. A step whose every expected status is a client error
(4xx) is counted as generating nothing: a conforming server rejects it before any model runs. A polled step
(``repeat_until``) that generates is unbounded: its repetitions are not counted in advance."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..cases import Case
from ..judge.output_cap import cap_under_test
from ..suite import CASES_DIR

#: the paths (relative to the base URL) whose POST runs the model
GENERATING_PATHS = ("/responses", "/responses/compact")
#: the SDK methods (``transport: sdk`` steps) that run the model
GENERATING_CALLS = ("responses.create", "responses.parse", "responses.stream")


def _rejected(step: Any) -> bool:
    """Is every outcome the step expects a client error (4xx)? A conforming server then runs no model: a
    ``status`` that only admits 4xx, or an SDK step expecting ``sdk_error`` with a 4xx ``status``."""
    statuses = list(step.expected_statuses())
    statuses += [exp.arg["status"] for exp in step.expect
                 if exp.name == "sdk_error" and isinstance(exp.arg, dict) and isinstance(exp.arg.get("status"), int)]
    return bool(statuses) and all(400 <= s < 500 for s in statuses)


def generates(step: Any) -> bool:
    """Does the step run the model? (It creates a Response and is not expected to be rejected with a 4xx.)"""
    if step.transport == "websocket":
        creates = True
    elif step.transport == "sdk":
        creates = step.call in GENERATING_CALLS
    else:
        creates = step.method == "POST" and isinstance(step.path, str) and step.path in GENERATING_PATHS
    return creates and not _rejected(step)


def step_cap(step: Any) -> int | None:
    """The step's ``max_output_tokens`` when it is a plain positive integer, else None (unbounded)."""
    payload = step.args if step.transport == "sdk" else step.body
    value = payload.get("max_output_tokens") if isinstance(payload, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def uncapped_problem(step: Any) -> str | None:
    """Why the step's ``uncapped:`` marker is wrong, or None when it stands (checked when a case file loads):
    it belongs on a generating step, polled or not, that sends no ``max_output_tokens``."""
    if not getattr(step, "uncapped", ""):
        return None
    if not generates(step):
        return ("uncapped applies only to a step that generates (POST /responses or /responses/compact, a "
                "websocket turn, an SDK create/parse/stream) and is not expected to be rejected with a 4xx")
    if step_cap(step) is not None:
        return "uncapped contradicts the step's max_output_tokens (drop one)"
    return None


def case_bound(case: Case) -> int | None:
    """At most how many output tokens the case can be billed; None when a generating step sets no cap."""
    total = 0
    for step in case.steps:
        if not generates(step):
            continue
        cap = step_cap(step)
        if cap is None or step.repeat_until is not None:
            return None
        total += cap
    return total


def uncapped_by_design(case: Case) -> bool:
    """Is the case unbounded only through steps that say why (``uncapped: <reason>``)?"""
    open_steps = [step for step in case.steps
                  if generates(step) and (step_cap(step) is None or step.repeat_until is not None)]
    return bool(open_steps) and all(step.uncapped for step in open_steps)


def charged_output(case: Case, reported: Mapping[str, int | None]) -> int:
    """Output tokens a finished case is charged against ``--token-budget``: for each generating step it sent, the
    ``usage.output_tokens`` its responses reported (``reported``: step name -> their sum, None when none reported
    usage: a background response is created without it, a cut stream never gets it), else the step's cap. A step
    not sent costs nothing; an uncapped step that reported nothing is charged 0 (unknown)."""
    total = 0
    for step in case.steps:
        if step.name not in reported or not generates(step):
            continue
        got = reported[step.name]
        total += got if got is not None else (step_cap(step) or 0)
    return total


@dataclass(frozen=True)
class Bound:
    """The worst case of a selection: the sum over the bounded cases, the cases uncapped by design (they test the
    default output length, or call an endpoint that takes no cap) and the cases with no bound and no reason."""

    tokens: int
    cases: int
    unbounded: tuple[str, ...]
    uncapped: tuple[str, ...] = ()
    preflight: int = 0  # at most this much more for the probe preflight (conformance/run/probes.py), 0 when none runs

    def line(self) -> str:
        """The one line printed before a run."""
        bounded = self.cases - len(self.unbounded) - len(self.uncapped)
        text = f"worst-case output tokens: {self.tokens} over {bounded} bounded case(s)"
        if self.preflight:
            text += f" (+ at most {self.preflight} for the probe preflight)"
        if self.uncapped:
            text += f"; {len(self.uncapped)} case(s) uncapped by design"
        if self.unbounded:
            text += (f"; {len(self.unbounded)} of {self.cases} case(s) unbounded (a generating step without "
                     "max_output_tokens)")
        return text


def selection_bound(cases: Iterable[Case]) -> Bound:
    """The :class:`Bound` of the cases about to run."""
    tokens, count, unbounded, uncapped = 0, 0, [], []
    for case in cases:
        count += 1
        bound = case_bound(case)
        if bound is not None:
            tokens += bound
        elif uncapped_by_design(case):
            uncapped.append(case.id)
        else:
            unbounded.append(case.id)
    return Bound(tokens, count, tuple(unbounded), tuple(uncapped))


def with_output_floor(case: Case, floor: int | None) -> Case:
    """``--output-cap-floor N``: the case with every cap the suite set for cost raised to at least ``floor``: on a
    generating step (not one expected to be rejected) with a plain integer ``max_output_tokens``, in a case that
    does not test the cap. Steps without a cap stay uncapped (a cap would change what they ask); the request sent,
    the echo checks and the worst-case bound all see the raised cap."""
    if floor is None or cap_under_test(case):
        return case
    steps = []
    for step in case.steps:
        cap = step_cap(step) if generates(step) else None
        if cap is not None and cap < floor:
            if step.transport == "sdk":
                step = replace(step, args={**step.args, "max_output_tokens": floor})
            else:
                step = replace(step, body={**step.body, "max_output_tokens": floor})
        steps.append(step)
    return replace(case, steps=tuple(steps))


def parse_output_cap_floor(raw: str) -> int:
    """``--output-cap-floor N``: a whole number of tokens, at least 16 (OpenAI's minimum), else ValueError."""
    text = raw.strip()
    if not text.isdigit() or int(text) < 16:
        raise ValueError(f"--output-cap-floor {raw!r}: expected a whole number of tokens, at least 16 "
                         "(the smallest max_output_tokens OpenAI accepts)")
    return int(text)


def parse_token_budget(raw: str) -> int:
    """``--token-budget N``: a positive integer number of tokens, else ValueError with the one line to print."""
    text = raw.strip()
    if not text.isdigit() or int(text) <= 0:
        raise ValueError(f"--token-budget {raw!r}: expected a positive whole number of tokens")
    return int(text)


def default_suite_bound(cases_dir: Path | None = None, profile: str = "openai", floor: int | None = None) -> Bound:
    """The bound a plain ``run`` prints (``floor``: with ``--output-cap-floor``): every built-in case (``suite/cases/``) the
    profile's spec does not skip (the README states both; tests keep them equal)."""
    from ..cases import load_all
    from ..coverage.profile import skip_reason

    root = cases_dir or CASES_DIR
    return selection_bound(with_output_floor(case, floor) for case in load_all(root) if skip_reason(case, profile) is None)
