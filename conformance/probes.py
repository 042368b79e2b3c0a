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
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._verdict import Outcome
from .record.http import Recorder

if TYPE_CHECKING:
    from .run.engine import CaseResult

#: the message of a skipped behavioural expectation (and the prefix of a case skipped for that reason)
SKIP_REASON = "skipped (model does not follow probes)"
PREFLIGHT_STEP = "probe-preflight"
#: echoed back by an echo mock: an answer containing the directive itself is no probe reply
_DIRECTIVE = "reply with exactly the token"


@dataclass
class ProbePreflight:
    """What the preflight asked and concluded (the results JSON ``run.probe_preflight``)."""

    checked: bool  # False with --assume-probes: nothing was sent
    follows: bool  # the conclusion the run judges by (True unless a clean answer showed otherwise)
    verdict: str  # "follows", "does_not_follow", "inconclusive" or "assumed"
    detail: str = ""
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "follows_probes": self.follows, "verdict": self.verdict,
                "detail": self.detail, "attempts": list(self.attempts)}


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


def _ask(recorder: Recorder) -> tuple[str, dict[str, Any]]:
    """One token probe. Returns its verdict (``follows``/``misses``/``inconclusive``) and a record of it."""
    token = _token()
    body = {"model": recorder.target.model, "input": f"Reply with exactly the token {token}."}
    ex = recorder.record(PREFLIGHT_STEP, "POST", "/responses", body)
    record: dict[str, Any] = {"token": token, "status": ex.status, "curl": ex.curl}
    if ex.inconclusive or ex.status != 200:
        record["error"] = ex.error or f"HTTP {ex.status}"
        return "inconclusive", record
    text = _reply_text(ex.json_or_none())
    record["reply"] = None if text is None else text[:200]
    if text is None:
        return "inconclusive", record
    lowered = text.lower()
    if token.lower() in lowered and _DIRECTIVE not in lowered:
        return "follows", record
    return "misses", record


def run_preflight(recorder: Recorder) -> ProbePreflight:
    """Ask for a token (twice if the first answer misses it) and conclude; never raises."""
    verdict, first = _ask(recorder)
    attempts = [first]
    if verdict == "misses":
        verdict, second = _ask(recorder)
        attempts.append(second)
    if verdict == "follows":
        return ProbePreflight(True, True, "follows", "the model answered the token probe", attempts)
    if verdict == "misses":
        reply = attempts[-1].get("reply") or ""
        return ProbePreflight(True, False, "does_not_follow",
                              f"asked twice to reply with exactly a token, the model said {reply[:80]!r}", attempts)
    why = attempts[-1].get("error") or "the Response held no assistant text"
    return ProbePreflight(True, True, "inconclusive",
                          f"probe preflight inconclusive ({why}); behavioural expectations are judged", attempts)


def behavioural_skips(results: Iterable[CaseResult]) -> int:
    """How many behavioural expectations the run skipped because the model does not follow probes."""
    return sum(1 for r in results for c in r.checks
               if c.outcome is Outcome.SKIPPED and c.message.startswith(SKIP_REASON))
