"""Bounded evidence for one case result, shared by the matrix page and the per-run HTML report.

Everything here may have come from a server, so it is treated as hostile text: clipped to
a budget (a matrix holds thousands of cells; a passing cell needs less than a failing one)
and, when rendered as HTML, escaped. The matrix never renders it as HTML at all: it embeds
this data as JSON and builds the DOM with ``textContent``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .results import clip


@dataclass(frozen=True)
class Budget:
    body: int
    events: int
    event_chars: int
    request: int
    curl: int
    headers: int = 40


PASS_BUDGET = Budget(body=800, events=12, event_chars=240, request=800, curl=1200, headers=8)
FULL_BUDGET = Budget(body=16_000, events=300, event_chars=2000, request=8000, curl=8000)


def _json_text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return clip(value, limit)
    try:
        return clip(json.dumps(value, indent=1, ensure_ascii=False), limit)
    except (TypeError, ValueError):
        return clip(repr(value), limit)


def slim_exchange(ex: Mapping[str, Any], budget: Budget) -> dict[str, Any]:
    """One exchange from a results file, clipped to ``budget``."""
    req = ex.get("request") or {}
    headers = req.get("headers") or {}
    events = ex.get("events")
    out: dict[str, Any] = {
        "step": str(ex.get("step", "")),
        "method": str(req.get("method", "")),
        "url": clip(req.get("url", ""), 500),
        "req_headers": [[clip(k, 100), clip(v, 300)] for k, v in list(dict(headers).items())[: budget.headers]],
        "req_body": _json_text(req.get("body"), budget.request),
        "status": ex.get("status"),
        "headers": [[clip(h[0], 100), clip(h[1], 300)] for h in list(ex.get("headers") or [])[: budget.headers]
                    if isinstance(h, (list, tuple)) and len(h) == 2],
        "error_kind": ex.get("error_kind"),
        "error": clip(ex.get("error"), 1000) if ex.get("error") else None,
        "curl": clip(ex.get("curl", ""), budget.curl),
        "elapsed_s": ex.get("elapsed_s"),
    }
    if events is not None:
        total = ex.get("event_count")
        out["events"] = [[clip(e.get("event") or "", 100), clip(e.get("data", ""), budget.event_chars)]
                         for e in list(events)[: budget.events] if isinstance(e, Mapping)]
        out["events_total"] = total if isinstance(total, int) else len(events)
    else:
        out["body"] = clip(ex.get("body", ""), budget.body)
    if isinstance(ex.get("sdk"), Mapping):  # an sdk step: what the official SDK returned or raised
        out["sdk"] = _json_text(ex["sdk"], budget.body)
    return out


def slim_case(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The evidence a cell opens: message, failed/warning checks with spec refs, exchanges."""
    outcome = entry.get("outcome", "")
    budget = PASS_BUDGET if outcome == "pass" else FULL_BUDGET
    checks = []
    for chk in entry.get("checks") or []:
        if not isinstance(chk, Mapping) or (chk.get("outcome") == "pass" and not chk.get("findings")):
            continue
        checks.append({
            "name": clip(chk.get("name", ""), 200),
            "outcome": str(chk.get("outcome", "")),
            "severity": str(chk.get("severity", "error")),
            "basis": clip(chk.get("basis", ""), 40),
            "step": clip(chk.get("step", ""), 100),
            "message": clip(chk.get("message", ""), 2000),
            "spec_ref": clip(chk.get("spec_ref", ""), 300),
            "findings": [{"message": clip(f.get("message", ""), 600), "path": clip(f.get("path", ""), 200)}
                         for f in list(chk.get("findings") or [])[:20] if isinstance(f, Mapping)],
        })
    return {
        "outcome": str(outcome),
        "message": clip(entry.get("message", ""), 2000),
        "checks": checks[:50],
        "checks_total": len(entry.get("checks") or []),
        "exchanges": [slim_exchange(ex, budget) for ex in list(entry.get("exchanges") or [])[:20] if isinstance(ex, Mapping)],
        "duration_s": entry.get("duration_s"),
    }


def _pre(text: str, cls: str = "") -> str:
    return f'<pre class="{cls}" style="white-space:pre-wrap;max-height:30em;overflow:auto">{html.escape(text)}</pre>'


def evidence_html(entry: Mapping[str, Any]) -> str:
    """The same evidence as escaped HTML, for the per-run report (conformance/report/html.py)."""
    ev = slim_case(entry)
    esc = html.escape
    parts = [f'<div class="conformance-evidence"><p><b>verdict:</b> {esc(ev["outcome"])}'
             + (f" &mdash; {esc(ev['message'])}" if ev["message"] else "") + "</p>"]
    spec = entry.get("spec") or []
    if spec:
        parts.append("<p><b>spec:</b> " + ", ".join(f"<code>{esc(str(s))}</code>" for s in spec) + "</p>")
    if ev["checks"]:
        parts.append("<p><b>checks</b></p><ul>")
        for chk in ev["checks"]:
            basis = f" <small>basis: {esc(chk['basis'])}</small>" if chk.get("basis") else ""
            parts.append(f"<li><code>{esc(chk['name'])}</code> [{esc(chk['step'])}] {esc(chk['outcome'])}{basis}: "
                         f"{esc(chk['message'])}" + (f" <small>spec: {esc(chk['spec_ref'])}</small>" if chk["spec_ref"] else ""))
            if chk["findings"]:
                parts.append("<ul>" + "".join(f"<li><code>{esc(f['path'] or '$')}</code> {esc(f['message'])}</li>"
                                              for f in chk["findings"]) + "</ul>")
            parts.append("</li>")
        parts.append("</ul>")
    for ex in ev["exchanges"]:
        parts.append(f"<details><summary>[{esc(ex['step'])}] {esc(ex['method'])} {esc(ex['url'])} &rarr; "
                     f"HTTP {esc(str(ex['status']))}" + (f" ({esc(str(ex['error_kind']))})" if ex["error_kind"] else "")
                     + "</summary>")
        parts.append("<p>curl</p>" + _pre(ex["curl"], "curl"))
        if ex["req_body"]:
            parts.append("<p>request body</p>" + _pre(ex["req_body"]))
        if ex.get("error"):
            parts.append("<p>error</p>" + _pre(ex["error"]))
        if "events" in ex:
            transcript = "\n".join(f"{name or '(no event:)'}: {data}" for name, data in ex["events"])
            shown = len(ex["events"])
            more = f"\n... {ex['events_total'] - shown} more events" if ex["events_total"] > shown else ""
            parts.append(f"<p>event transcript ({ex['events_total']} events)</p>" + _pre(transcript + more, "transcript"))
        else:
            parts.append("<p>response body</p>" + _pre(ex["body"], "body"))
        parts.append("</details>")
    parts.append("</div>")
    return "".join(parts)


__all__ = ["FULL_BUDGET", "PASS_BUDGET", "Budget", "clip", "evidence_html", "slim_case", "slim_exchange"]
