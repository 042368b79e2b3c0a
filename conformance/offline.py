"""Offline judging: run the no-server checks over a saved response body or SSE transcript.

Because checks are pure functions over exchanges, a saved body becomes a synthetic
:class:`Exchange` and goes through exactly the same registry as live traffic. Prose files
(vendor docs) are accepted too: every embedded JSON object that looks like a Response is
judged on its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._exchange import Exchange, RecordedRequest
from ._verdict import CheckResult, Outcome
from .checks import CheckContext, run_checks
from .sse import parse_sse


@dataclass
class JudgedDocument:
    label: str
    kind: str  # response | error | stream
    results: list[CheckResult]

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.outcome is Outcome.FAIL]


def _exchange(label: str, body: bytes, *, status: int, content_type: str, events: Any = None, stream: bool = False) -> Exchange:
    request = RecordedRequest("POST", "file://" + label, "/responses", {}, None, stream)
    return Exchange(step=label, request=request, status=status, headers=[("content-type", content_type)],
                    body=body, events=events)


def judge_json(label: str, doc: Any, profile: str = "openai") -> JudgedDocument:
    """Judge one parsed JSON document: an error envelope if it has ``error`` and no ``object``, else a Response."""
    body = json.dumps(doc).encode()
    is_error = isinstance(doc, dict) and "error" in doc and "object" not in doc and "output" not in doc
    status = 400 if is_error else 200
    ex = _exchange(label, body, status=status, content_type="application/json")
    ctx = CheckContext(endpoint="create", request_body=None, stream=False, profile=profile)
    return JudgedDocument(label, "error" if is_error else "response", list(run_checks(ex, ctx)))


def judge_sse(label: str, data: bytes, profile: str = "openai") -> JudgedDocument:
    ex = _exchange(label, data, status=200, content_type="text/event-stream", events=parse_sse(data), stream=True)
    ctx = CheckContext(endpoint="create", request_body={"stream": True}, stream=True, profile=profile)
    return JudgedDocument(label, "stream", list(run_checks(ex, ctx)))


def embedded_json_objects(text: str) -> list[tuple[int, Any]]:
    """Top-level ``{...}`` JSON objects inside prose, with their 1-based line numbers."""
    decoder = json.JSONDecoder()
    found: list[tuple[int, Any]] = []
    i = 0
    while True:
        start = text.find("{", i)
        if start < 0:
            return found
        try:
            obj, end = decoder.raw_decode(text, start)
        except ValueError:
            i = start + 1
            continue
        found.append((text.count("\n", 0, start) + 1, obj))
        i = end


def _looks_like_response(obj: Any) -> bool:
    return isinstance(obj, dict) and (obj.get("object") == "response" or ("output" in obj and "id" in obj))


def judge_file(path: Path, profile: str = "openai") -> list[JudgedDocument]:
    """Judge a saved JSON body, an SSE transcript, or every Response-shaped JSON object in a text file."""
    raw = path.read_bytes()
    stripped = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"{", b"[")):
        try:
            doc = json.loads(stripped.decode("utf-8"))
        except ValueError:
            doc = None
        if doc is not None:
            return [judge_json(str(path), doc, profile)]
    if b"data:" in raw and (b"\n\n" in raw or b"\r\n\r\n" in raw):
        return [judge_sse(str(path), raw, profile)]
    text = raw.decode("utf-8", errors="replace")
    docs = [judge_json(f"{path}:{line}", obj, profile) for line, obj in embedded_json_objects(text) if _looks_like_response(obj)]
    return docs
