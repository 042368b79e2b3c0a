"""The JSON results file: the stable contract that the matrix, baselines and other tools read.

Its shape is published as ``results.schema.json`` beside this module; bump
``SCHEMA_VERSION`` on any incompatible change. Server-returned text is stored bounded
(bodies, event data) because anything a server returns is untrusted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .._atomic import write_atomically
from ..record.exchange import Exchange
from .findings import deviation_counts, distinct_findings

if TYPE_CHECKING:  # the engine imports the recorders (httpx...): `judge` and the matrix need none of them
    from ..run.engine import CaseResult

SCHEMA_VERSION = 1
RESULTS_SCHEMA_PATH = Path(__file__).with_name("results.schema.json")
MAX_BODY_CHARS = 64 * 1024
MAX_EVENT_CHARS = 4 * 1024
MAX_EVENTS = 2000


def clip(text: Any, limit: int) -> str:
    """Server text bounded to ``limit`` characters, saying how much was cut (None becomes "")."""
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[:limit] + f"\u2026 [{len(text) - limit} more characters clipped]"


def body_evidence(ex: Exchange, limit: int = MAX_BODY_CHARS) -> str:
    """The body's first and last ``limit // 2`` bytes as text, saying how much is left out between them.

    Only the kept bytes are decoded: a body near the size bound is never turned into one huge string."""
    head, tail, size = ex.body, ex.body_tail, ex.body_size
    if size <= limit:
        return (head + tail).decode("utf-8", errors="replace")
    half = limit // 2
    first = head[:half]
    last = tail[-half:] if len(tail) >= half else head[len(head) - (half - len(tail)):] + tail
    left_out = size - len(first) - len(last)
    return (first.decode("utf-8", errors="replace") + f"\u2026 [{left_out} bytes not shown] \u2026"
            + last.decode("utf-8", errors="replace"))


def exchange_evidence(ex: Exchange) -> dict[str, Any]:
    """A bounded, JSON-safe record of one exchange (request already redacted by the recorder)."""
    events = None
    if ex.events is not None:
        events = [
            {"index": i, "event": e.event, "id": e.id, "data": clip(e.data, MAX_EVENT_CHARS), "arrival_s": round(e.arrival_s, 4)}
            for i, e in enumerate(ex.events[:MAX_EVENTS])
        ]
    return {
        "step": ex.step,
        "request": {
            # "WS" / "SDK" as before the transport field existed (Exchange.method_label): results schema and
            # baselines stay as they were
            "method": ex.method_label,
            "url": ex.request.url,
            "headers": dict(ex.request.headers),
            "body": ex.request.body,
            "stream": ex.request.stream,
            **({"raw_body": clip(ex.request.raw_body, MAX_BODY_CHARS)} if ex.request.raw_body is not None else {}),
        },
        "status": ex.status,
        "headers": [[k, v] for k, v in ex.headers],
        "body": body_evidence(ex) if ex.events is None else "",
        "body_bytes": ex.body_size,
        "body_truncated": ex.body_truncated,
        "events": events,
        "event_count": len(ex.events) + ex.events_omitted if ex.events is not None else None,
        "elapsed_s": round(ex.elapsed_s, 4),
        "ttfb_s": round(ex.ttfb_s, 4) if ex.ttfb_s is not None else None,
        "error_kind": ex.error_kind,
        "error": ex.error,
        "curl": ex.curl,
        **_sdk_evidence(ex),
    }


def _sdk_evidence(ex: Exchange) -> dict[str, Any]:
    """An SDK step's outcome (what the official SDK returned or raised), bounded like the body."""
    sdk = ex.sdk
    if not isinstance(sdk, dict):
        return {}
    text = json.dumps(sdk, ensure_ascii=False, default=str)
    if len(text) <= MAX_BODY_CHARS:
        return {"sdk": sdk}
    return {"sdk": {k: v for k, v in sdk.items() if k not in ("value", "output_parsed")}
                   | {"value": clip(json.dumps(sdk.get("value"), ensure_ascii=False, default=str), MAX_BODY_CHARS)}}


def case_entry(result: CaseResult) -> dict[str, Any]:
    case = result.case
    return {
        "id": case.id,
        "title": case.title,
        "group": case.group,
        "capabilities": list(case.capabilities),
        "spec": list(case.spec),
        "file": str(case.file),
        "line": case.line,
        "outcome": result.outcome.value,
        "message": result.message,
        "checks": [c.to_dict() for c in result.checks],
        "warnings": sum(1 for c in result.checks for f in c.findings if f.severity == "warning"),
        "duration_s": round(result.duration_s, 4),
        "tokens": dict(result.tokens),
        "exchanges": [exchange_evidence(ex) for ex in result.exchanges],
    }


def build_results(results: Iterable[CaseResult], meta: Mapping[str, Any]) -> dict[str, Any]:
    entries = [case_entry(r) for r in results]
    counts = {k: 0 for k in ("pass", "fail", "unsupported", "error", "skipped")}
    for entry in entries:
        counts[entry["outcome"]] += 1
    tokens = {"input": 0, "output": 0, "total": 0}
    for entry in entries:
        for key in tokens:
            tokens[key] += int(entry["tokens"].get(key, 0))
    findings = distinct_findings(entries)
    summary = {"counts": counts, "tokens": tokens, "deviations": deviation_counts(findings)}
    return {"schema_version": SCHEMA_VERSION, "run": dict(meta), "summary": summary, "findings": findings, "cases": entries}


def write_results(path: Path, document: Mapping[str, Any]) -> None:
    """Write atomically so an interrupted run never leaves a half-written results file.

    The atomic rename would replace a device or FIFO (``/dev/null``!) with a plain file, so
    anything but a regular file or a new path is refused.
    """
    if path.exists() and not path.is_file():
        raise ValueError(f"{path}: not a regular file; refusing to replace it with the results")

    def dump(fh: TextIO) -> None:
        json.dump(document, fh, indent=1, ensure_ascii=False, default=str)
        fh.write("\n")

    write_atomically(path, dump)
