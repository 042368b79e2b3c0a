"""A Response cut by the suite's own ``max_output_tokens`` is never a ``fail``.

Every generating step carries a small cap so that a run costs little (docs/cases.md, "Output caps"). On a model
that reasons by default (OpenAI's gpt-5 family, the o-series) the reasoning tokens count against that cap, so a
32-token probe can end ``incomplete`` (``incomplete_details.reason: max_output_tokens``) before any answer. The
server did nothing wrong: the suite asked for too little. So when a step's Response is cut that way and the case
does not test the cap itself (:func:`cap_under_test`), the step's expectations *about the answer* are skipped with
:func:`cut_reason` (which names the cap and ``--output-cap-floor``), while the automatic protocol checks (schema, events, lifecycle, usage consistency) and the expectations about everything else (the
HTTP status, headers, echoed parameters, ids) still judge.

"About the answer" is wider than ``Assertion.behavioural`` (conformance/run/probes.py skips only those): a cut also
changes what a protocol expectation written for a finished answer sees (``response_status: completed``, an
``events`` list ending ``response.completed``, a ``json`` path into ``output``, ``completed_at``, an SDK stream
helper that requires ``response.completed``). The rule is :func:`about_answer`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._verdict import Outcome
from ..cases import Case
from ..record.exchange import Exchange
from .expect import response_document

if TYPE_CHECKING:
    from ..run.engine import CaseResult

#: the prefix of a skipped expectation's message (and of a case skipped for that reason)
CUT_REASON = "skipped (cut by the suite's output cap)"
#: the floor the advice suggests: enough for a reasoning model's default effort on every probe of the suite
ADVISED_FLOOR = 1024

#: top-level Response fields whose value depends on how the answer ended
_ANSWER_FIELDS = ("output", "output_text", "status", "completed_at", "incomplete_details", "error")
#: assertions that judge only the answer (or, for the SDK, its helpers that need a finished Response)
_ANSWER_ASSERTIONS = frozenset({"response_status", "incomplete_reason", "events", "output_text", "function_call",
                                "json_output", "sdk_ok", "sdk_output_text", "sdk_events", "sdk_parsed",
                                "sdk_function_call"})


def _why(cap: int) -> str:
    return (f"the model stopped at max_output_tokens={cap} (the suite's cap) before answering; "
            f"raise it with --output-cap-floor N (e.g. {ADVISED_FLOOR})")


def cut_reason(cap: int) -> str:
    """The message of an expectation skipped because the model stopped at the suite's cap ``cap``."""
    return f"{CUT_REASON}: {_why(cap)}"


def case_message(skipped: list[tuple[str, int]]) -> str:
    """The message of a case whose only non-passing checks are expectations skipped for a cut: ``skipped`` lists
    (check name, cap) of each."""
    names = ", ".join(sorted({name for name, _ in skipped}))
    cap = max(cap for _, cap in skipped)
    return (f"{CUT_REASON}: {len(skipped)} expectation(s) about the answer not judged ({names}); {_why(cap)}; "
            "every other check passed")


def _cut_at(doc: Any) -> bool:
    details = doc.get("incomplete_details") if isinstance(doc, dict) else None
    return (isinstance(doc, dict) and doc.get("status") == "incomplete" and isinstance(details, dict)
            and details.get("reason") == "max_output_tokens")


def _payload(step: Any) -> dict[str, Any]:
    payload = step.args if step.transport == "sdk" else step.body
    return payload if isinstance(payload, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _expects_the_cut(exp: Any) -> bool:
    """Does the expectation test ``max_output_tokens`` itself: the cut (``incomplete_reason``, a ``response_status``
    or an ``events`` list wanting ``incomplete``), the echo of the cap, or a rejection naming it?"""
    arg = exp.arg
    if exp.name == "incomplete_reason":
        return True
    if exp.name == "response_status":
        wanted = arg if isinstance(arg, list) else [arg]
        return "incomplete" in wanted
    if exp.name in ("events", "sdk_events") and isinstance(arg, dict):
        named = [arg.get("last")] + list(arg.get("includes") or []) + list(arg.get("order") or [])
        return "response.incomplete" in named
    if exp.name in ("json", "schema") and isinstance(arg, dict):
        return str(arg.get("path") or "").lstrip("$.") == "max_output_tokens"
    return exp.name == "error_envelope" and isinstance(arg, dict) and arg.get("param") == "max_output_tokens"


def cap_under_test(case: Case) -> bool:
    """Is ``max_output_tokens`` what the case tests (it expects the cut, the cap's echo, or its rejection)? Else
    every cap in it is the suite's, set for cost: ``--output-cap-floor`` may raise it, and a Response cut by it is
    not judged on its answer (:func:`suite_cap_cut`)."""
    return any(_expects_the_cut(exp) for step in case.steps for exp in step.expect)


def suite_cap_cut(case: Case, ex: Exchange) -> int | None:
    """The cap that cut ``ex``'s Response when it is the suite's (the case sets it for cost, not to test it),
    else None: the Response is not cut at ``max_output_tokens``, the case tests the cap, or sets none (a cut
    in a case without a cap is the server's or model's own limit, judged as usual)."""
    try:
        doc = response_document(ex)
    except ValueError:
        return None
    if not _cut_at(doc) or cap_under_test(case):
        return None
    caps = [c for c in (_int(_payload(s).get("max_output_tokens")) for s in case.steps) if c is not None]
    if not caps:
        return None
    sent = ex.request.body if isinstance(ex.request.body, dict) else {}
    return _int(doc.get("max_output_tokens")) or _int(sent.get("max_output_tokens")) or max(caps)


def about_answer(name: str, arg: Any) -> bool:
    """Does the expectation ``{name: arg}`` judge the answer or its completion (what a cut changes)? The
    HTTP status, headers, error bodies and ``json``/``schema`` on other fields (echoes, ids, usage) do not."""
    if name in _ANSWER_ASSERTIONS:
        return True
    if name not in ("json", "schema") or not isinstance(arg, dict):
        return False
    if arg.get("source") == "events":
        return True
    path = str(arg.get("path") or "").lstrip("$.")
    return any(path == f or path.startswith((f + ".", f + "[")) for f in _ANSWER_FIELDS)


def cap_cut_skips(results: Iterable[CaseResult]) -> int:
    """How many expectations the run skipped because the suite's own cap cut the answer (results ``run``)."""
    return sum(1 for r in results for c in r.checks
               if c.outcome is Outcome.SKIPPED and c.message.startswith(CUT_REASON))
