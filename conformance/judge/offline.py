"""Offline judging: run the no-server checks over saved response bodies, streams and capture directories.

Because checks are pure functions over exchanges, a saved body becomes a synthetic :class:`Exchange` and goes
through exactly the same registry as live traffic. What a file may hold:

* a Response, an error envelope, or another endpoint's result object (``list``, ``response.deleted``...);
* a stream: an SSE transcript, a JSONL event log (one event JSON object per line, blank lines allowed), a JSON
  array of events, or a single event;
* prose (vendor docs): every embedded JSON object that looks like a Response is judged on its own.

Anything else is :class:`Unreadable`: ``judge`` never passes what it could not read. With the request body as
context (``--request``, or a capture directory: ``captures.py``) the request-dependent checks run too
(``response.echo``, function names against the declared tools, the stream checks of a ``stream: true``
request), an error capture is judged with its real status, and a ``starting_after`` replay is judged together
with the stream it resumes, as one stream.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .. import _json
from .._verdict import CheckResult, Finding, Outcome
from ..record._redact import inert
from ..record.exchange import Exchange, RecordedRequest, SSEEvent
from ..record.sse import parse_sse
from .basis import JudgePolicy
from .basis.policy import parse_date
from .captures import Capture, CaptureProblem, find_captures
from .checks import CheckContext, endpoint_of, run_checks

#: Result objects of the sibling endpoints, recognised in a file judged without context.
OTHER_OBJECTS = {
    "list": ("GET", "/responses/resp_unknown/input_items"),
    "response.deleted": ("DELETE", "/responses/resp_unknown"),
    "response.input_tokens": ("POST", "/responses/input_tokens"),
    "response.compaction": ("POST", "/responses/compact"),
}


class Unreadable(CaptureProblem):
    """Nothing judgeable in an input (empty, binary, unrecognised JSON, prose without Responses...)."""


@dataclass(frozen=True)
class Body:
    """What one saved document holds: a JSON value, or a stream's events."""

    raw: bytes
    doc: Any = None
    events: list[SSEEvent] | None = None
    line: int = 0  # 1-based line of an object embedded in prose (0: the whole file)
    omitted: int = 0  # Response-shaped objects after this one that were not judged (MAX_EMBEDDED)


@dataclass
class JudgedDocument:
    label: str
    kind: str  # response | error | stream | the object of another endpoint's result
    results: list[CheckResult]
    omitted: int = 0  # Response-shaped objects of the same file after this one, not judged (MAX_EMBEDDED)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.outcome is Outcome.FAIL]

    def findings(self, severity: str) -> list[tuple[CheckResult, Finding]]:
        """Every classified finding of that severity (``fail``, ``warning``, ``note``), with its check."""
        return [(r, f) for r in self.results for f in r.findings if f.severity == severity]


@dataclass
class JudgedCapture:
    """One capture of a directory, judged with its request: the calibration unit (:func:`judge_capture_dir`).

    ``problem`` is set (and ``documents`` empty) when the capture could not be read.
    """

    id: str
    date: str
    model: str
    file: Path
    documents: list[JudgedDocument] = field(default_factory=list)
    problem: str = ""
    spec_as_of: str = ""  # the date the capture was judged as of (--spec-as-of capture), if any

    @property
    def results(self) -> list[CheckResult]:
        """The classified check results of every document of the capture (normally exactly one)."""
        return [r for doc in self.documents for r in doc.results]


# ---------------------------------------------------------------- reading


def _is_event(obj: Any) -> bool:
    kind = obj.get("type") if isinstance(obj, dict) else None
    return isinstance(kind, str) and ("sequence_number" in obj or kind.startswith("response.") or kind == "error")


def _is_error_envelope(obj: Any) -> bool:
    return isinstance(obj, dict) and "error" in obj and "object" not in obj and "output" not in obj


def _looks_like_response(obj: Any) -> bool:
    return isinstance(obj, dict) and (obj.get("object") == "response" or ("output" in obj and "id" in obj))


def _recognised(obj: Any) -> bool:
    return (_looks_like_response(obj) or _is_error_envelope(obj) or _is_event(obj)
            or (isinstance(obj, dict) and obj.get("object") in OTHER_OBJECTS))


def _events_of(docs: Iterable[Any]) -> list[SSEEvent]:
    return [SSEEvent(data=json.dumps(d), raw=json.dumps(d).encode()) for d in docs]


def _jsonl_events(text: str) -> list[SSEEvent] | None:
    """A JSONL event log: the first non-blank line is an event object and no line is SSE syntax.

    Every non-blank line becomes one event (a line that is not JSON is ``stream.event_json``'s finding)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2 or any(line.startswith(("data:", "event:")) for line in lines):
        return None
    try:
        first = _json.loads(lines[0])
    except ValueError:
        return None
    if not _is_event(first):
        return None
    return [SSEEvent(data=line.strip(), raw=line.encode()) for line in lines]


#: Failed decode attempts may scan at most this many times the input before the prose scan gives up (linear).
SCAN_BUDGET = 4
#: Response-shaped objects judged from one prose file; the rest are counted, not judged.
MAX_EMBEDDED = 200
#: Bigger inputs are refused in one line: the recorder stops reading a body at the same bound (Limits).
MAX_INPUT_BYTES = 16 * 1024 * 1024


def embedded_json_objects(text: str) -> list[tuple[int, Any]]:
    """Top-level ``{...}`` JSON objects inside prose, with their 1-based line numbers (see :func:`scan_embedded`)."""
    return scan_embedded(text)[0]


def scan_embedded(text: str) -> tuple[list[tuple[int, Any]], int | None]:
    """Top-level ``{...}`` JSON objects inside prose with their line numbers, and the offset the scan stopped at
    (None: it reached the end).

    Linear in the text: line numbers are counted incrementally, and decode attempts that fail are charged
    against a budget of :data:`SCAN_BUDGET` times the text (``{"a":`` x 150 repeated would otherwise make each
    attempt run far: 75 s for 1 MB). Past the budget the scan stops with what it found. Raises
    :class:`~conformance._json.JSONDepthError` for an object nested past the bound.
    """
    found: list[tuple[int, Any]] = []
    budget = SCAN_BUDGET * len(text) + 65536
    i = line_at = 0
    line = 1
    while True:
        start = text.find("{", i)
        if start < 0:
            return found, None
        try:
            obj, end = _json.raw_decode(text, start)
        except _json.JSONDepthError:
            raise
        except ValueError as exc:
            budget -= max(getattr(exc, "pos", start + 1) - start, 1)
            if budget <= 0:
                return found, start
            i = start + 1
            continue
        line += text.count("\n", line_at, start)
        line_at = start
        found.append((line, obj))
        i = end


def read_bodies(path: Path) -> list[Body]:
    """The judgeable documents of one file, or :class:`Unreadable` with the reason there are none."""
    try:
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise Unreadable(path, f"too large ({size} bytes; at most {MAX_INPUT_BYTES} are judged)")
        raw = path.read_bytes()
    except IsADirectoryError:
        raise Unreadable(path, "is a directory") from None
    except OSError as exc:
        raise Unreadable(path, f"cannot read: {exc.strerror or exc}") from None
    if not raw.strip():
        raise Unreadable(path, "empty file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unreadable(path, "binary data (not UTF-8 text)") from None
    if "\x00" in text:
        raise Unreadable(path, "binary data (contains NUL bytes)")
    try:
        doc = _json.loads(text)
    except _json.JSONDepthError as exc:
        raise Unreadable(path, str(exc)) from None
    except ValueError:
        pass
    else:
        return [_whole_json(path, raw, doc)]
    events = _jsonl_events(text)
    if events is not None:
        return [Body(raw, events=events)]
    if "data:" in text and ("\n\n" in text or "\r\n\r\n" in text):
        sse = parse_sse(raw)
        if sse:
            return [Body(raw, events=sse)]
    try:
        objects, stopped = scan_embedded(text)
    except _json.JSONDepthError as exc:
        raise Unreadable(path, f"embedded {exc}") from None
    found = [Body(json.dumps(obj).encode(), doc=obj, line=line) for line, obj in objects if _looks_like_response(obj)]
    if not found and stopped is not None:
        raise Unreadable(path, f"no Response-shaped JSON before offset {stopped}, where the scan stopped (unterminated "
                               f"JSON objects cost more than {SCAN_BUDGET}x the input to try)")
    if len(found) > MAX_EMBEDDED:
        found = found[:MAX_EMBEDDED - 1] + [replace(found[MAX_EMBEDDED - 1], omitted=len(found) - MAX_EMBEDDED)]
    if not found:
        raise Unreadable(path, "no Response, error body or event stream found (text without Response-shaped JSON)")
    return found


def _read(path: Path) -> list[Body]:
    """:func:`read_bodies`, where anything it raises besides :class:`Unreadable` is this input's problem too."""
    try:
        return read_bodies(path)
    except Unreadable:
        raise
    except Exception as exc:  # a bug or a limit hit while reading: one line for this input, never a traceback
        raise Unreadable(path, f"internal error while reading: {type(exc).__name__}: {str(exc)[:200]}") from None


def _whole_json(path: Path, raw: bytes, doc: Any) -> Body:
    if isinstance(doc, list):
        if doc and all(_is_event(d) for d in doc):
            return Body(raw, events=_events_of(doc))
        raise Unreadable(path, "JSON array, but not of stream events")
    if not _recognised(doc):
        what = "JSON object" if isinstance(doc, dict) else f"JSON {type(doc).__name__}"
        raise Unreadable(path, f"{what}, but neither a Response, an error envelope nor a stream event")
    if _is_event(doc):
        return Body(raw, events=_events_of([doc]))
    return Body(raw, doc=doc)


# ---------------------------------------------------------------- judging


@dataclass(frozen=True)
class RequestContext:
    """The request a body answered, as far as it is known (a bare file: nothing, a POST /responses)."""

    body: Any = None
    method: str = "POST"
    path: str = "/responses"
    url: str = ""
    status: int | None = None
    stream: bool | None = None

    @classmethod
    def of(cls, capture: Capture) -> RequestContext:
        return cls(capture.request, capture.method, capture.path, capture.url, capture.status, capture.stream)

    @property
    def stream_requested(self) -> bool:
        if self.stream is not None:
            return self.stream
        if isinstance(self.body, dict) and self.body.get("stream") is True:
            return True
        return parse_qs(urlsplit(self.path).query).get("stream") == ["true"]


def _kind(doc: Any) -> str:
    obj = doc.get("object") if isinstance(doc, dict) else None
    if obj in OTHER_OBJECTS:
        return str(obj)
    if _looks_like_response(doc):
        return "response"
    return str(obj) if isinstance(obj, str) and obj else "json"


def judge_body(label: str, body: Body, request: RequestContext | None = None, profile: str = "openai",
               policy: JudgePolicy | None = None) -> JudgedDocument:
    """Judge one document as the answer to ``request`` (default: an unknown POST /responses)."""
    req = request or RequestContext()
    method, path = req.method, req.path
    if body.events is None and request is None and isinstance(body.doc, dict) and body.doc.get("object") in OTHER_OBJECTS:
        method, path = OTHER_OBJECTS[body.doc["object"]]
    if body.events is not None:
        status, kind, ctype, stream = req.status or 200, "stream", "text/event-stream", True
    else:
        is_error = _is_error_envelope(body.doc)
        status = req.status or (400 if is_error else 200)
        kind = "error" if status >= 400 or is_error else _kind(body.doc)
        ctype, stream = "application/json", req.stream_requested
    recorded = RecordedRequest(method, req.url or "file://" + label, path, {}, req.body, stream)
    ex = Exchange(step=label, request=recorded, status=status, headers=[("content-type", ctype)], body=body.raw,
                  events=body.events)
    ctx = CheckContext(endpoint=endpoint_of(method, path), request_body=req.body, stream=stream, profile=profile)
    try:
        results = list(run_checks(ex, ctx, policy=policy))
    except Exception as exc:  # a bug or a limit hit while judging: this input's problem, never a lost one
        raise Unreadable(label, f"internal error while judging: {type(exc).__name__}: {str(exc)[:200]}") from None
    return JudgedDocument(label, kind, results, body.omitted)


def judge_json(label: str, doc: Any, profile: str = "openai", policy: JudgePolicy | None = None) -> JudgedDocument:
    """Judge one parsed JSON document: an error envelope if it has ``error`` and no ``object``, else a Response."""
    return judge_body(label, Body(json.dumps(doc).encode(), doc=doc), None, profile, policy)


def judge_sse(label: str, data: bytes, profile: str = "openai", policy: JudgePolicy | None = None) -> JudgedDocument:
    """Judge an SSE transcript as the stream answering an unknown ``stream: true`` create request."""
    return judge_body(label, Body(data, events=parse_sse(data)), None, profile, policy)


def judge_file(path: Path, profile: str = "openai", *, request: Any = None,
               policy: JudgePolicy | None = None) -> list[JudgedDocument]:
    """Judge a saved body, stream or prose file; ``request`` is the request body it answered, when known.

    Raises :class:`Unreadable` when the file holds nothing recognisable.
    """
    context = RequestContext(body=request) if request is not None else None
    bodies = _read(path)
    return [judge_body(f"{path}:{b.line}" if b.line else str(path), b, context, profile, policy) for b in bodies]


# ---------------------------------------------------------------- capture directories


def _response_id(events: list[SSEEvent]) -> str | None:
    for event in events:
        try:
            data = _json.loads(event.data)
        except ValueError:
            continue
        response = data.get("response") if isinstance(data, dict) else None
        if isinstance(response, dict) and isinstance(response.get("id"), str):
            return str(response["id"])
    return None


def _prefix(events: list[SSEEvent], after: int) -> list[SSEEvent]:
    """The original stream's events up to and including ``sequence_number == after`` (what the replay skips)."""
    kept: list[SSEEvent] = []
    for index, event in enumerate(events):
        try:
            data = _json.loads(event.data)
        except ValueError:
            data = None
        seq = data.get("sequence_number") if isinstance(data, dict) else None
        number = seq if isinstance(seq, int) and not isinstance(seq, bool) else index
        if number > after:
            break
        kept.append(event)
    return kept


def _capture_policy(capture: Capture, policy: JudgePolicy | None, as_of_capture: bool) -> JudgePolicy | None:
    """The run's policy, as of the capture's own date when asked (a capture without a readable date: unchanged)."""
    if not as_of_capture or not capture.date:
        return policy
    try:
        return replace(policy or JudgePolicy(), spec_as_of=parse_date(capture.date))
    except ValueError:
        return policy


def judge_captures(captures: list[Capture], *, profile: str = "openai", policy: JudgePolicy | None = None,
                   spec_as_of_capture: bool = False) -> list[JudgedCapture]:
    """Judge captures with their requests; a ``starting_after`` replay is judged joined to the stream it resumes.

    A replay ``GET /responses/{id}?stream=true&starting_after=N`` is judged as the original stream of that
    response in the same directory up to event N followed by the replay: one stream, under the original
    request. Without its original it is judged alone, as a resumed stream (it may start mid-stream).
    """
    bodies: dict[int, list[Body]] = {}
    out: list[JudgedCapture] = []
    for index, capture in enumerate(captures):
        try:
            bodies[index] = _read(capture.body)
        except Unreadable as exc:
            out.append(JudgedCapture(capture.id, capture.date, capture.model, capture.body, problem=exc.reason))
    originals: dict[tuple[Path, str], tuple[Capture, Body]] = {}
    for index, capture in enumerate(captures):
        found = bodies.get(index)
        if found and len(found) == 1 and found[0].events is not None and capture.resumes is None:
            rid = _response_id(found[0].events)
            if rid is not None:
                originals.setdefault((capture.body.parent, rid), (capture, found[0]))
    for index, capture in enumerate(captures):
        if index not in bodies:
            continue
        try:
            out.append(_judge_capture(capture, bodies[index], originals, profile, policy, spec_as_of_capture))
        except Unreadable as exc:
            out.append(JudgedCapture(capture.id, capture.date, capture.model, capture.body, problem=exc.reason))
    order = {c.body: i for i, c in enumerate(captures)}
    return sorted(out, key=lambda j: order.get(j.file, 0))


def _judge_capture(capture: Capture, docs: list[Body], originals: dict[tuple[Path, str], tuple[Capture, Body]],
                   profile: str, policy: JudgePolicy | None, spec_as_of_capture: bool) -> JudgedCapture:
    """One readable capture judged with its request (joined to the stream it resumes, when that is known)."""
    cap_policy = _capture_policy(capture, policy, spec_as_of_capture)
    context, label = RequestContext.of(capture), str(capture.body)
    resumes = capture.resumes
    original = originals.get((capture.body.parent, resumes[0])) if resumes else None
    if resumes and original is not None and len(docs) == 1 and docs[0].events is not None:
        first, first_body = original
        joined = _prefix(first_body.events or [], resumes[1]) + list(docs[0].events or [])
        docs = [Body(b"".join(e.raw for e in joined), events=joined)]
        context = replace(RequestContext.of(first), status=capture.status)
        label = f"{capture.body} (resumed after sequence_number {resumes[1]} of {first.body})"
    judged = [judge_body(f"{label}:{b.line}" if b.line else label, b, context, profile, cap_policy) for b in docs]
    as_of = cap_policy.spec_as_of.isoformat() if cap_policy and cap_policy.spec_as_of else ""
    return JudgedCapture(capture.id, capture.date, capture.model, capture.body, judged, spec_as_of=as_of)


def judge_capture_dir(directory: Path, *, profile: str = "openai", policy: JudgePolicy | None = None,
                      spec_as_of_capture: bool = False) -> list[JudgedCapture]:
    """Judge every capture of a directory (with its manifest, if it or a parent has one): the calibration API.

    Returns one :class:`JudgedCapture` per capture, in manifest order then file order: its ``id``, ``date``
    (capture_date), ``model``, ``file`` and the classified ``results`` (each finding's ``severity``, ``note`` and
    ``key`` set under ``policy``; with ``spec_as_of_capture`` each capture is judged as of its own capture date).
    A capture whose body or request cannot be read comes back with ``problem`` set. Raises :class:`CaptureProblem`
    when the directory holds no capture at all or its own manifest is unreadable.
    """
    captures, problems = find_captures(directory)
    judged = judge_captures(captures, profile=profile, policy=policy, spec_as_of_capture=spec_as_of_capture)
    lost = [JudgedCapture(Path(p.path).name, "", "", Path(p.path), problem=p.reason) for p in problems]
    return judged + lost


# ---------------------------------------------------------------- console output

#: Finding lines printed per document; the rest are counted (the results keep every finding).
MAX_FINDING_LINES = 50
MARKS = {"fail": "✗", "warning": "!", "note": "i"}


def format_document(doc: JudgedDocument) -> list[str]:
    """A document's verdict line, then its failed checks' findings, then its warnings, then its notes.

    The lines quote the judged bytes, so each is made :func:`inert` before it reaches a terminal."""
    warnings, notes = doc.findings("warning"), doc.findings("note")
    counts = "".join(f", {len(found)} {name}{'s' if len(found) != 1 else ''}"
                     for name, found in (("warning", warnings), ("note", notes)) if found)
    lines = [f"{doc.label}: {doc.kind}: {'FAIL' if doc.failed else 'PASS'} ({len(doc.results)} checks{counts})"]
    for res in doc.failed:
        for finding in res.findings:
            if finding.severity == "fail":
                lines.append(_finding_line("fail", res, finding))
        if not res.findings:
            lines.append(f"  {MARKS['fail']} {res.name}: {res.message}  [{res.spec_ref}]")
    for severity, found in (("warning", warnings), ("note", notes)):
        lines.extend(_finding_line(severity, res, finding) for res, finding in found)
    if len(lines) > MAX_FINDING_LINES + 1:
        lines = lines[:MAX_FINDING_LINES + 1] + [f"  … {len(lines) - MAX_FINDING_LINES - 1} more finding lines not shown"]
    if doc.omitted:
        lines.append(f"{doc.label}: {doc.omitted} more Response-shaped objects in this file not judged "
                     f"(at most {MAX_EMBEDDED} per file)")
    return [inert(line) for line in lines]


def _finding_line(severity: str, res: CheckResult, finding: Finding) -> str:
    note = f" ({finding.note})" if finding.note else ""
    label = "" if severity == "fail" else f"{severity}: "
    return f"  {MARKS[severity]} {label}{res.name} {finding.path or '$'}: {finding.message}{note}  [{res.spec_ref}]"


def distinct_findings(docs: Iterable[JudgedDocument]) -> list[dict[str, Any]]:
    """The distinct findings of these documents, grouped by key exactly as the run reports group them
    (``conformance.report.findings``): one root cause counted once, at the worst severity it reached."""
    from ..report.findings import distinct_findings as grouped

    return grouped({"id": doc.label, "checks": [r.to_dict() for r in doc.results]} for doc in docs)


def summary_line(docs: list[JudgedDocument], unreadable: int) -> str:
    """The closing line: distinct findings by severity over every judged document."""
    from ..report.findings import deviation_counts

    counts = deviation_counts(distinct_findings(docs))
    parts = ", ".join(f"{counts[s]} {s}" for s in ("fail", "warning", "note"))
    tail = f", {unreadable} unreadable" if unreadable else ""
    return f"distinct findings: {parts} ({len(docs)} document{'s' if len(docs) != 1 else ''} judged{tail})"
