"""Observed coverage: which response-side elements a recorded run actually saw.

Claims say what cases *require*; a results file (``run --json``) shows what a server *returned*:
event types in recorded streams, statuses, output item and part types, item statuses, incomplete
reasons, and endpoints answered with a 2xx. Kept apart from claims because it depends on the target
(a provider may emit extra events no case asks for, or skip a step).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import _json
from ..judge.checks._registry import endpoint_of
from ..record.exchange import TERMINAL_EVENTS

__all__ = ["OBSERVABLE", "ResultsError", "observed_elements"]

# Categories that a results file can show.
OBSERVABLE = ("endpoints", "output_items", "output_content_parts", "response_status", "item_status",
              "incomplete_reasons", "stream_events")


class ResultsError(ValueError):
    """The results file cannot be read (one line, names the file)."""


def _loads(text: Any) -> Any:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return _json.loads(text)  # a recorded server body: bounded like every other parse of server bytes
    except ValueError:
        return None


def _relative_path(url: str, base_url: str) -> str:
    path, base = urlsplit(url).path, urlsplit(base_url).path.rstrip("/")
    return path[len(base):] if base and path.startswith(base) else path


def _response_elements(doc: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(doc, dict):
        return
    if isinstance(doc.get("status"), str) and "output" in doc:
        yield "response_status", doc["status"]
    details = doc.get("incomplete_details")
    if isinstance(details, dict) and isinstance(details.get("reason"), str):
        yield "incomplete_reasons", details["reason"]
    for item in doc.get("output") or [] if isinstance(doc.get("output"), list) else []:
        yield from _item_elements(item)


def _item_elements(item: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(item, dict):
        return
    if isinstance(item.get("type"), str):
        yield "output_items", item["type"]
    if isinstance(item.get("status"), str):
        yield "item_status", item["status"]
    for part in item.get("content") or [] if isinstance(item.get("content"), list) else []:
        if isinstance(part, dict) and isinstance(part.get("type"), str):
            yield "output_content_parts", part["type"]


def _exchange_elements(ex: dict[str, Any], base_url: str) -> Iterator[tuple[str, str]]:
    status = ex.get("status")
    request = ex.get("request") or {}
    if isinstance(status, int) and 200 <= status < 300 and isinstance(request.get("url"), str):
        yield "endpoints", endpoint_of(str(request.get("method", "")), _relative_path(request["url"], base_url))
    events = ex.get("events")
    if isinstance(events, list):
        for event in events:
            data = _loads(event.get("data")) if isinstance(event, dict) else None
            etype = data.get("type") if isinstance(data, dict) else None
            etype = etype if isinstance(etype, str) else (event.get("event") if isinstance(event, dict) else None)
            if isinstance(etype, str) and etype:
                yield "stream_events", etype
            if isinstance(data, dict):
                if etype in TERMINAL_EVENTS:
                    yield from _response_elements(data.get("response"))
                if isinstance(data.get("item"), dict):
                    yield from _item_elements(data["item"])
                if isinstance(data.get("part"), dict) and isinstance(data["part"].get("type"), str):
                    yield "output_content_parts", data["part"]["type"]
    else:
        yield from _response_elements(_loads(ex.get("body")))


def observed_elements(path: Path) -> dict[str, dict[str, list[str]]]:
    """``{category: {element: [case ids that saw it]}}`` from a results JSON file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"--results {path}: cannot read a results JSON file: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise ResultsError(f"--results {path}: not a results file (no 'cases' list)")
    base_url = str((data.get("run") or {}).get("base_url") or "")
    out: dict[str, dict[str, list[str]]] = {key: {} for key in OBSERVABLE}
    for case in data["cases"]:
        if not isinstance(case, dict):
            continue
        for ex in case.get("exchanges") or []:
            if not isinstance(ex, dict):
                continue
            for cat, element in _exchange_elements(ex, base_url):
                ids = out[cat].setdefault(element, [])
                if case.get("id") not in ids:
                    ids.append(str(case.get("id")))
    return out
