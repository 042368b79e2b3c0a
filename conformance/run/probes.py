"""The probe preflight: does the model behind the endpoint follow the deterministic probes at all?

Many cases judge a probe reply (docs/DESIGN.md, "Deterministic probes") as well as the protocol. A model
that ignores every instruction - a mock that answers one fixed text, random weights - would fail all of
them on its own account, drowning the server's real findings. So before any case is recorded, one create
request asks for a fresh token; when the model answers something else, the run says so once and every
*behavioural* expectation (``Assertion.behavioural``) is skipped with :data:`SKIP_REASON`, while every
protocol check still judges.

Only a clean answer that is plainly not the token counts as "does not follow": an error, a timeout or a
Response without text leaves the run assuming the probes are followed (the cases then judge that answer),
so the preflight can never hide a protocol problem. A miss is confirmed by a second token before it counts,
so one odd reply of a real model does not silence a whole run.

The token probe is capped like every probe case (:data:`PROBE_CAP`, raised by ``--output-cap-floor``), and its
output is charged against ``--token-budget``. When its reply shows that the model reasons by default (reasoning
tokens in ``usage``, or a Response cut at the cap), the run prints :attr:`ProbePreflight.advisory` before the
cases: the suite's small caps will cut many answers (those expectations are then skipped, never failed:
conformance/judge/output_cap.py), and ``--output-cap-floor`` is the remedy.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._verdict import Outcome
from ..record.http import Recorder

if TYPE_CHECKING:
    from .engine import CaseResult

#: the message of a skipped behavioural expectation (and the prefix of a case skipped for that reason)
SKIP_REASON = "skipped (model does not follow probes)"
PREFLIGHT_STEP = "probe-preflight"
#: echoed back by an echo mock: an answer containing the directive itself is no probe reply
_DIRECTIVE = "reply with exactly the token"
#: the token probe's ``max_output_tokens``: what a probe case asks for a token (docs/cases.md, "Output caps")
PROBE_CAP = 32


def probe_cap(floor: int | None) -> int:
    """The preflight's cap under ``--output-cap-floor`` (raised like every cap the suite sets for cost)."""
    return max(PROBE_CAP, floor or 0)


@dataclass
class ProbePreflight:
    """What the preflight asked and concluded (the results JSON ``run.probe_preflight``)."""

    checked: bool  # False with --assume-probes: nothing was sent
    follows: bool  # the conclusion the run judges by (True unless a clean answer showed otherwise)
    verdict: str  # "follows", "does_not_follow", "inconclusive" or "assumed"
    detail: str = ""
    attempts: list[dict[str, Any]] = field(default_factory=list)
    cap: int | None = None  # the probe's max_output_tokens (None: nothing was sent)
    output_tokens: int = 0  # charged against --token-budget: usage.output_tokens, or the cap when none reported
    total_tokens: int = 0  # billed: usage.total_tokens
    advisory: str = ""  # the one line printed before the cases when the model reasons by default

    def to_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "follows_probes": self.follows, "verdict": self.verdict,
                "detail": self.detail, "attempts": list(self.attempts), "cap": self.cap,
                "output_tokens": self.output_tokens, "advisory": self.advisory or None}


def assumed() -> ProbePreflight:
    """``--assume-probes``: no preflight request; behavioural expectations are judged as usual."""
    return ProbePreflight(False, True, "assumed", "not checked (--assume-probes): the model is assumed to follow probes")


def _token() -> str:
    return "PREFLIGHT-" + secrets.token_hex(3).upper()


def _reply_text(body: Any) -> str | None:
    """The assistant text of a Response body, or None when it holds none (no message, not a Response)."""
    output = body.get("output") if isinstance(body, dict) else None
    if not isinstance(output, list):
        return None
    parts: list[str] = []
    for item in output:
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        for part in item.get("content") or []:
            if isinstance(part, dict) and part.get("type") == "output_text" and isinstance(part.get("text"), str):
                parts.append(part["text"])
    return "".join(parts) if parts else None


def _count(usage: Any, *path: str) -> int | None:
    value: Any = usage
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _spend(record: dict[str, Any], body: Any, cap: int) -> None:
    """What the probe cost and whether the model reasoned or was cut (``record``: output_tokens,
    reasoning_tokens, total_tokens, cut_at_cap)."""
    usage = body.get("usage") if isinstance(body, dict) else None
    output = _count(usage, "output_tokens")
    record["output_tokens"] = cap if output is None else output  # unreported: charged the cap, as cases are
    record["total_tokens"] = _count(usage, "total_tokens") or 0
    record["reasoning_tokens"] = _count(usage, "output_tokens_details", "reasoning_tokens") or 0
    details = body.get("incomplete_details") if isinstance(body, dict) else None
    record["cut_at_cap"] = (isinstance(body, dict) and body.get("status") == "incomplete"
                            and isinstance(details, dict) and details.get("reason") == "max_output_tokens")


def _ask(recorder: Recorder, cap: int) -> tuple[str, dict[str, Any]]:
    """One token probe. Returns its verdict (``follows``/``misses``/``inconclusive``) and a record of it."""
    token = _token()
    body = {"model": recorder.target.model, "input": f"Reply with exactly the token {token}.", "max_output_tokens": cap}
    ex = recorder.record(PREFLIGHT_STEP, "POST", "/responses", body)
    record: dict[str, Any] = {"token": token, "status": ex.status, "curl": ex.curl}
    if ex.inconclusive or ex.status != 200:
        record["error"] = ex.error or f"HTTP {ex.status}"
        record["output_tokens"] = cap  # no usage to read: charged its cap, as a case step is
        return "inconclusive", record
    reply = ex.json_or_none()
    _spend(record, reply, cap)
    text = _reply_text(reply)
    record["reply"] = None if text is None else text[:200]
    if text is None:
        if record["cut_at_cap"]:
            record["error"] = f"the Response was cut at max_output_tokens={cap} before any text"
        return "inconclusive", record
    lowered = text.lower()
    if token.lower() in lowered and _DIRECTIVE not in lowered:
        return "follows", record
    return "misses", record


def run_preflight(recorder: Recorder, cap: int = PROBE_CAP, budget: int | None = None) -> ProbePreflight:
    """Ask for a token (twice if the first answer misses it) and conclude; never raises. ``budget``
    (``--token-budget``): a probe is sent only if its cap fits in what is left, so the run is never charged more
    than the budget; a probe that does not fit leaves the run judging everything, as an inconclusive one does."""
    if budget is not None and cap > budget:
        result = ProbePreflight(False, True, "assumed", f"not checked: the --token-budget ({budget}) cannot hold the "
                                f"token probe's max_output_tokens={cap}; behavioural expectations are judged")
        result.cap = cap
        return result
    verdict, first = _ask(recorder, cap)
    attempts = [first]
    if verdict == "misses" and (budget is None or first["output_tokens"] + cap <= budget):
        verdict, second = _ask(recorder, cap)
        attempts.append(second)
    elif verdict == "misses":  # one miss is no conclusion
        verdict = "inconclusive"
        first["error"] = f"one miss, and the --token-budget ({budget}) cannot hold a second probe"
    if verdict == "follows":
        result = ProbePreflight(True, True, "follows", "the model answered the token probe", attempts)
    elif verdict == "misses":
        reply = attempts[-1].get("reply") or ""
        result = ProbePreflight(True, False, "does_not_follow",
                                f"asked twice to reply with exactly a token, the model said {reply[:80]!r}", attempts)
    else:
        why = attempts[-1].get("error") or "the Response held no assistant text"
        result = ProbePreflight(True, True, "inconclusive",
                                f"probe preflight inconclusive ({why}); behavioural expectations are judged", attempts)
    result.cap = cap
    result.output_tokens = sum(a.get("output_tokens") or 0 for a in attempts)
    result.total_tokens = sum(a.get("total_tokens") or 0 for a in attempts)
    result.advisory = reasoning_advisory(attempts, cap)
    return result


def reasoning_advisory(attempts: list[dict[str, Any]], cap: int) -> str:
    """The line printed before the cases when a probe reply shows a model that reasons by default (reasoning
    tokens in its usage, or a Response cut at the cap), else "": the suite's caps will cut many of its answers.
    Reasoning within a cap already raised to the advised floor says nothing new, and is not reported."""
    from ..judge.output_cap import ADVISED_FLOOR

    reasoning = max((a.get("reasoning_tokens") or 0 for a in attempts), default=0)
    cut = any(a.get("cut_at_cap") for a in attempts)
    if not cut and (not reasoning or cap >= ADVISED_FLOOR):  # answered within a cap that is already generous
        return ""
    seen = "; ".join(part for part in (f"{reasoning} reasoning tokens" if reasoning else "",
                                       f"cut at max_output_tokens={cap}" if cut else "") if part)
    floor = ADVISED_FLOOR if cap < ADVISED_FLOOR else cap * 4
    need = "need" if cut else "may need"
    return (f"the model reasons by default: its probe replies {need} more than {cap} output tokens (the preflight's "
            f"probe: {seen}); consider --output-cap-floor {floor}")


def behavioural_skips(results: Iterable[CaseResult]) -> int:
    """How many behavioural expectations the run skipped because the model does not follow probes."""
    return sum(1 for r in results for c in r.checks
               if c.outcome is Outcome.SKIPPED and c.message.startswith(SKIP_REASON))
