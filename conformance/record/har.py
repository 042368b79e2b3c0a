"""A run's lossless recording: every exchange, unclipped and redacted, as one gzip-compressed HAR 1.2 file.

Why HAR: it is the format browsers' network panels (and HAR viewers) import, so a run's traffic can be
looked at with tools people already have; what HAR has no field for goes in ``_conformance`` objects, which
HAR 1.2 allows (custom fields start with an underscore). Each entry is one :class:`Exchange`: ``request``
(method, url, headers, ``postData``), ``response`` (status, headers, ``content.text`` = the body as received
and decoded, base64 with ``encoding: base64`` when it is not UTF-8), ``timings``, and an entry-level
``_conformance`` object holding every other field needed to rebuild the exchange exactly (case id, position,
error kind, events with their timings and raw bytes, WebSocket opcodes, the SDK's outcome...). The log-level
``_conformance`` object holds what judging needs besides the exchanges (profile, policy, probe preflight, the
per-case records) and the run's metadata.

Secrets: everything written here comes from exchanges the recorder already scrubbed at record time
(conformance/record/_redact.py); nothing is clipped further than the recorder's own per-body bound.

Memory: :class:`HarWriter` streams each case's entries to the file as the case is handed over (only a small
per-case record is kept until the end); the log-level object is written last, which JSON readers do not mind.
:class:`RecordingReader` streams too: one JSON value at a time (conformance/record/_jsonstream.py), so reading
costs memory for the largest case, not for the file; what it holds at once is bounded (one JSON value at most
:data:`MAX_VALUE_CHARS` characters, nesting :data:`MAX_DEPTH`), a file's size is not.
"""

from __future__ import annotations

import base64
import datetime as _dt
import gzip
import http
import json
import os
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

from .. import __version__, _json
from ._jsonstream import JSONStream, NotUTF8Error, Readable, ValueTooLargeError
from .exchange import Exchange, RecordedRequest, SSEEvent, TransportName, WSMessage

#: ``log._conformance.format``: bump on an incompatible change of what this module writes
FORMAT = 1
#: the longest single JSON value the reader holds at once (one entry, or the log-level object): an entry is one
#: exchange, its body at most the recorder's bound (16 MiB) plus its events, a few times that once JSON-escaped
MAX_VALUE_CHARS = 1 << 30
#: how much the reader decompresses at a time
_CHUNK_BYTES = 1 << 20
#: the nesting the reader accepts: above what a recording can hold (values parsed from a server - the SDK's outcome -
#: nest at most as deep as Python's json parses, about 1000 levels), so a hostile server cannot make its own
#: recording unreadable, while a hostile file is still refused before anything recurses over it
MAX_DEPTH = 1100
SUFFIX = ".har.gz"
_GZIP_MAGIC = b"\x1f\x8b"


class RecordingError(ValueError):
    """A recording that cannot be read: printed as one line naming the file (and the field), exit 2."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def recording_path(results_json: Path) -> Path:
    """The recording beside a results file: ``reports/x.json`` -> ``reports/x.har.gz``."""
    name = results_json.name
    stem = name[: -len(".json")] if name.endswith(".json") else name
    return results_json.with_name(stem + SUFFIX)


# ---------------------------------------------------------------- bytes and text


def _content(data: bytes) -> dict[str, Any]:
    """HAR ``text`` (+ ``encoding: base64`` when the bytes are not UTF-8) for raw bytes."""
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"text": base64.b64encode(data).decode("ascii"), "encoding": "base64"}


def _bytes(obj: Mapping[str, Any], where: str) -> bytes:
    text = typed_field(obj, "text", str, where, default="")
    encoding = obj.get("encoding")
    if encoding is None:
        return text.encode("utf-8", errors="surrogatepass")
    if encoding != "base64":
        raise FieldError(f"{where}.encoding: {encoding!r} (expected base64 or none)")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise FieldError(f"{where}.text: not base64") from None


class FieldError(Exception):
    """A field of the recording that is missing or of the wrong type (the message names it)."""


_MISSING = object()


def typed_field(obj: Mapping[str, Any], key: str, kind: Any, where: str, default: Any = _MISSING) -> Any:
    value = obj.get(key, _MISSING) if isinstance(obj, Mapping) else _MISSING
    if value is _MISSING:
        if default is _MISSING:
            raise FieldError(f"{where}.{key}: missing")
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
        raise FieldError(f"{where}.{key}: expected {names}, got {type(value).__name__}")
    return value


# ---------------------------------------------------------------- Exchange -> HAR entry


def _iso(epoch_s: float) -> str:
    try:
        when = _dt.datetime.fromtimestamp(epoch_s, _dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        when = _dt.datetime.fromtimestamp(0, _dt.timezone.utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _pairs(items: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in items]


def _status_text(status: int | None) -> str:
    try:
        return http.HTTPStatus(status).phrase if status is not None else ""
    except ValueError:
        return ""


def _event_record(e: SSEEvent, body: bytes) -> dict[str, Any]:
    """One event; its raw bytes only when they are not the body's bytes at its offset (then a length)."""
    out: dict[str, Any] = {"data": e.data, "offset": e.offset, "arrival_s": e.arrival_s}
    for name in ("event", "id", "retry"):
        value = getattr(e, name)
        if value is not None:
            out[name] = value
    if e.ws is not None:  # written as before the WebSocket details moved into SSEEvent.ws: the format is unchanged
        out["ws_opcode"] = e.ws.opcode
        if e.ws.problem is not None:
            out["ws_problem"] = e.ws.problem
    if e.raw and body[e.offset: e.offset + len(e.raw)] == e.raw:
        out["raw_len"] = len(e.raw)
    else:
        out["raw"] = _content(e.raw)
    return out


def _request_body(ex: Exchange) -> tuple[str, dict[str, Any] | None, dict[str, Any]]:
    """How the request body is kept: HAR ``postData`` for an HTTP body, ``_conformance.value`` otherwise."""
    req = ex.request
    mime = next((v for k, v in req.headers.items() if k.lower() == "content-type"), "application/json")
    if req.raw_body is not None:
        return "raw", {"mimeType": mime, "text": req.raw_body}, {}
    if req.body is None:
        return "none", None, {}
    if ex.transport == "websocket" or not ex.sent:  # a WebSocket client event / SDK call arguments: no HTTP body
        return "value", None, {"value": req.body}
    return "json", {"mimeType": mime, "text": json.dumps(req.body)}, {}


def entry_of(ex: Exchange, case_id: str, index: int) -> dict[str, Any]:
    """The HAR entry of one exchange (``index``: its position among the case's exchanges)."""
    req = ex.request
    kind, post, extra = _request_body(ex)
    websocket = ex.transport == "websocket"
    elapsed_ms = max(0.0, ex.elapsed_s * 1000)
    wait_ms = min(elapsed_ms, max(0.0, ex.ttfb_s * 1000)) if ex.ttfb_s is not None else elapsed_ms
    try:
        query = _pairs(parse_qsl(urlsplit(req.url).query, keep_blank_values=True))
    except ValueError:
        query = []
    request: dict[str, Any] = {
        "method": "GET" if websocket else ex.method_label, "url": req.url, "httpVersion": "HTTP/1.1", "cookies": [],
        "headers": _pairs(list(req.headers.items())), "queryString": query, "headersSize": -1,
        "bodySize": len(post["text"].encode("utf-8", errors="surrogatepass")) if post else 0,
    }
    if post is not None:
        request["postData"] = post
    content = {"size": len(ex.body), "mimeType": ex.header("content-type") or "x-unknown", **_content(ex.body)}
    response: dict[str, Any] = {
        "status": ex.status or 0, "statusText": _status_text(ex.status), "httpVersion": "HTTP/1.1", "cookies": [],
        "headers": _pairs(ex.headers), "content": content, "redirectURL": ex.header("location") or "",
        "headersSize": -1, "bodySize": len(ex.body),
    }
    if ex.error:
        response["_error"] = ex.error
    conformance: dict[str, Any] = {
        # method: "WS" / "SDK" as the results JSON shows them (Exchange.method_label); exchange_of derives the
        # transport back from it (and from "sdk"), so the format is what it was before Exchange.transport
        "case": case_id, "index": index, "step": ex.step, "method": ex.method_label, "path": req.path,
        "stream": req.stream, "body": kind, **extra, "status": ex.status,
        "started_at": ex.started_at, "elapsed_s": ex.elapsed_s, "ttfb_s": ex.ttfb_s,
        "error_kind": ex.error_kind, "error": ex.error, "curl": ex.curl,
        "body_truncated": ex.body_truncated, "body_omitted": ex.body_omitted, "events_omitted": ex.events_omitted,
        "events": None if ex.events is None else [_event_record(e, ex.body) for e in ex.events],
    }
    if ex.body_tail:
        conformance["body_tail"] = _content(ex.body_tail)
    if ex.transport == "sdk":
        conformance["sdk"] = ex.sdk
    entry: dict[str, Any] = {
        "startedDateTime": _iso(ex.started_at), "time": round(elapsed_ms, 3), "request": request,
        "response": response, "cache": {},
        "timings": {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0,
                    "wait": round(wait_ms, 3), "receive": round(elapsed_ms - wait_ms, 3)},
    }
    if websocket:  # what Chromium's HAR import shows as WebSocket frames
        entry["_resourceType"] = "websocket"
        sent = [{"type": "send", "time": ex.started_at, "opcode": 1, "data": json.dumps(req.body)}]
        entry["_webSocketMessages"] = sent + [
            {"type": "receive", "time": ex.started_at + e.arrival_s, "opcode": e.ws.opcode if e.ws else 1, "data": e.data}
            for e in ex.events or []]
    entry["_conformance"] = conformance
    return entry


# ---------------------------------------------------------------- HAR entry -> Exchange


def _event_of(obj: Any, body: bytes, where: str) -> SSEEvent:
    if not isinstance(obj, Mapping):
        raise FieldError(f"{where}: expected an object")
    offset = typed_field(obj, "offset", int, where)
    if "raw_len" in obj:
        length = typed_field(obj, "raw_len", int, where)
        raw = body[offset: offset + length]
        if offset < 0 or len(raw) != length:
            raise FieldError(f"{where}.raw_len: {length} bytes at offset {offset} lie outside the body")
    else:
        raw = _bytes(typed_field(obj, "raw", dict, where), f"{where}.raw")
    opcode = typed_field(obj, "ws_opcode", int, where, None)
    return SSEEvent(
        data=typed_field(obj, "data", str, where), event=typed_field(obj, "event", str, where, None),
        id=typed_field(obj, "id", str, where, None), retry=typed_field(obj, "retry", int, where, None), raw=raw,
        offset=offset, arrival_s=typed_field(obj, "arrival_s", float, where), ws=None if opcode is None else
        WSMessage(opcode, typed_field(obj, "ws_problem", str, where, None)))


def exchange_of(entry: Any, where: str) -> Exchange:
    """Rebuild the exchange an entry was written from (exactly: same fields, same class)."""
    if not isinstance(entry, Mapping):
        raise FieldError(f"{where}: expected an object")
    c = typed_field(entry, "_conformance", dict, where)
    cw = f"{where}._conformance"
    req = typed_field(entry, "request", dict, where)
    resp = typed_field(entry, "response", dict, where)
    headers: dict[str, str] = {}
    for i, pair in enumerate(typed_field(req, "headers", list, f"{where}.request")):
        headers[typed_field(pair, "name", str, f"{where}.request.headers[{i}]")] = \
            typed_field(pair, "value", str, f"{where}.request.headers[{i}]")
    kind = typed_field(c, "body", str, cw)
    body: Any = None
    raw_body: str | None = None
    if kind in ("json", "raw"):
        text = typed_field(typed_field(req, "postData", dict, f"{where}.request"), "text", str, f"{where}.request.postData")
        if kind == "raw":
            raw_body = text
        else:
            try:
                body = _json.loads(text)
            except ValueError as exc:
                raise FieldError(f"{where}.request.postData.text: not JSON ({exc})") from None
    elif kind == "value":
        body = c.get("value")
    elif kind != "none":
        raise FieldError(f"{cw}.body: {kind!r} (expected json, raw, value or none)")
    label = typed_field(c, "method", str, cw)
    transport: TransportName = "websocket" if label == "WS" else "sdk" if "sdk" in c else "http"
    method = {"WS": "GET", "SDK": ""}.get(label, label) if transport != "http" else label  # Exchange.method_label
    request = RecordedRequest(method, typed_field(req, "url", str, f"{where}.request"),
                              typed_field(c, "path", str, cw), headers, body, typed_field(c, "stream", bool, cw), raw_body)
    response_headers = [(typed_field(p, "name", str, f"{where}.response.headers[{i}]"),
                         typed_field(p, "value", str, f"{where}.response.headers[{i}]"))
                        for i, p in enumerate(typed_field(resp, "headers", list, f"{where}.response"))]
    data = _bytes(typed_field(resp, "content", dict, f"{where}.response"), f"{where}.response.content")
    raw_events = typed_field(c, "events", (list, type(None)), cw)
    events = None if raw_events is None else [
        _event_of(e, data, f"{cw}.events[{i}]") for i, e in enumerate(raw_events)]
    values: dict[str, Any] = dict(
        step=typed_field(c, "step", str, cw), request=request, status=typed_field(c, "status", (int, type(None)), cw),
        headers=response_headers, body=data, body_truncated=typed_field(c, "body_truncated", bool, cw),
        body_tail=_bytes(c["body_tail"], f"{cw}.body_tail") if "body_tail" in c else b"",
        body_omitted=typed_field(c, "body_omitted", int, cw), events=events,
        started_at=typed_field(c, "started_at", float, cw), elapsed_s=typed_field(c, "elapsed_s", float, cw),
        ttfb_s=typed_field(c, "ttfb_s", (float, type(None)), cw), error_kind=typed_field(c, "error_kind", (str, type(None)), cw),
        error=typed_field(c, "error", (str, type(None)), cw), curl=typed_field(c, "curl", str, cw),
        events_omitted=typed_field(c, "events_omitted", int, cw), transport=transport,
        sdk=typed_field(c, "sdk", (dict, type(None)), cw) if "sdk" in c else None)
    assert set(values) == {f.name for f in fields(Exchange)}, "every Exchange field is rebuilt"
    return Exchange(**values)


# ---------------------------------------------------------------- writing


class HarWriter:
    """Streams a run's exchanges, case by case, into ``path`` (written as ``<path>.<pid>.partial``, renamed on close).

    Thread-safe. Each :meth:`add` writes the case's entries at once; only the small per-case record (what
    judging needs besides the exchanges) is kept until :meth:`close` writes the log-level object."""

    def __init__(self, path: Path) -> None:
        if path.exists() and not path.is_file():
            raise ValueError(f"{path}: not a regular file; refusing to replace it with the recording")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._partial = path.with_name(f"{path.name}.{os.getpid()}.partial")  # two runs never share one
        self._fh: IO[str] | None = gzip.open(self._partial, "wt", encoding="utf-8", compresslevel=6)
        self._lock = threading.Lock()
        self._cases: list[dict[str, Any]] = []
        self._entries = 0
        creator = json.dumps({"name": "responses-conformance", "version": __version__})
        self._fh.write(f'{{"log": {{"version": "1.2", "creator": {creator}, "pages": [], "entries": [\n')

    @property
    def closed(self) -> bool:
        return self._fh is None

    def add(self, case_id: str, record: Mapping[str, Any], exchanges: Sequence[Exchange]) -> None:
        """Write one case: its exchanges as entries, and keep ``record`` (JSON) for the log-level object.

        A case that cannot be written (a value nested past what ``json`` can serialise) is kept as a record saying
        why, without entries: re-judged, it is an ``error``, never a verdict on evidence that is not there."""
        try:
            lines = [json.dumps(entry_of(ex, case_id, i), default=str) for i, ex in enumerate(exchanges)]
            json.dumps(record, default=str)
        except (RecursionError, ValueError, TypeError) as exc:
            lines, exchanges = [], []
            record = {"outcome": record.get("outcome"), "not_recorded": f"the recording could not hold this case's "
                      f"exchanges: {type(exc).__name__}: {str(exc)[:200]}", "internal_error": True}
        with self._lock:
            if self._fh is None:
                raise ValueError(f"{self.path}: recording already closed")
            for line in lines:
                self._fh.write((",\n" if self._entries else "") + line)
                self._entries += 1
            self._fh.flush()  # a sync point per case: the file so far decompresses, even if the run dies
            self._cases.append({"id": case_id, **record, "exchanges": len(exchanges)})

    def close(self, meta: Mapping[str, Any]) -> Path:
        """Finish the file with the log-level ``_conformance`` object (``meta`` + the case records); rename it."""
        with self._lock:
            fh, self._fh = self._fh, None
            if fh is None:
                return self.path
            try:
                tail = json.dumps({"format": FORMAT, **meta, "cases": self._cases}, default=str)
                fh.write(f'\n],\n"_conformance": {tail}}}}}\n')
                fh.close()
                os.replace(self._partial, self.path)
            except BaseException:
                fh.close()
                _unlink(self._partial)
                raise
        return self.path

    def discard(self) -> None:
        """Drop an unfinished recording (the run could not finish it): no half-written file is left behind."""
        with self._lock:
            fh, self._fh = self._fh, None
        if fh is not None:
            try:
                fh.close()
            except OSError:
                pass
            _unlink(self._partial)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


# ---------------------------------------------------------------- reading


@dataclass
class RecordedCase:
    """One case of a recording: its record (what judging needs besides the exchanges) and its exchanges."""

    id: str
    record: dict[str, Any]
    exchanges: list[Exchange] = field(default_factory=list)


@dataclass
class Recording:
    """A whole recorded run: the log-level ``_conformance`` object (without ``cases``) and the cases in order."""

    path: Path
    meta: dict[str, Any]
    cases: list[RecordedCase]


class RecordingReader:
    """A recording read case by case, in memory bounded by its largest case rather than by its size.

    Two passes over the file, each a :class:`~conformance.record._jsonstream.JSONStream`: opening it reads the
    log-level ``_conformance`` object (:attr:`meta`, the case records), which :class:`HarWriter` writes last,
    decoding each entry only to step over it; :meth:`cases` then reads the entries again and yields each case
    as soon as its last exchange is read, in the recorded order. Any JSON layout reads (a hand-edited or
    pretty-printed file, keys in any order, a case's entries apart): entries that arrive before the cases
    recorded ahead of them wait in memory until those are complete. Every problem is a :class:`RecordingError`
    naming the file (and the field); one found by :meth:`cases` is raised when the reading reaches it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._reading = False
        with self._errors():
            self._file = open(path, "rb")  # noqa: SIM115  # closed by close(): the second pass reads it again
        try:
            with self._errors():
                self.meta, self._records = _scan(self._stream())
        except BaseException:
            self._file.close()
            raise

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def cases(self) -> Iterator[RecordedCase]:
        """Each recorded case with its exchanges, in the recorded order (a new pass over the file per call; one
        pass at a time, as they share the open file)."""
        if self._reading:
            raise RuntimeError(f"{self.path}: a pass over the recording is already under way")
        self._reading = True
        try:
            with self._errors():
                yield from _cases(self._stream(), self._records)
        finally:
            self._reading = False

    def _stream(self) -> JSONStream:
        self._file.seek(0)
        magic = self._file.read(2)
        self._file.seek(0)
        self._gzip = magic == _GZIP_MAGIC
        source: Readable = gzip.GzipFile(fileobj=self._file, mode="rb") if self._gzip else self._file
        return JSONStream(source, max_value_chars=MAX_VALUE_CHARS, max_depth=MAX_DEPTH, chunk_bytes=_CHUNK_BYTES)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Every way a recording cannot be read, as one :class:`RecordingError` naming the file."""
        path = self.path
        try:
            yield
        except FieldError as exc:
            raise RecordingError(path, str(exc)) from None
        except FileNotFoundError:
            raise RecordingError(path, "no such file") from None
        except IsADirectoryError:
            raise RecordingError(path, "is a directory, not a recording") from None
        except NotUTF8Error as exc:
            raise RecordingError(path, f"{exc}; not a HAR file") from None
        except ValueTooLargeError as exc:
            raise RecordingError(path, str(exc)) from None
        except ValueError as exc:  # JSONStreamError, JSONDepthError
            raise RecordingError(path, f"not JSON: {exc}") from None
        except (OSError, EOFError, zlib.error) as exc:
            what = "gzip" if getattr(self, "_gzip", True) else "file"
            raise RecordingError(path, f"unreadable {what} ({exc}); a run cut short leaves no recording") from None


def read_recording(path: Path) -> Recording:
    """Read a whole recording into memory (gzip or plain HAR); :class:`RecordingError` when it cannot.

    For small recordings and tests; re-judging reads case by case (:class:`RecordingReader`)."""
    with RecordingReader(path) as reader:
        return Recording(path, reader.meta, list(reader.cases()))


@dataclass
class _CaseRecord:
    id: str
    record: dict[str, Any]
    exchanges: int  # as recorded: how many entries the case has


def _once(seen: set[str], key: str, where: str) -> None:
    if key in seen:
        raise FieldError(f"{where}.{key}: given twice")
    seen.add(key)


def _scan(stream: JSONStream) -> tuple[dict[str, Any], list[_CaseRecord]]:
    """The first pass: the log-level ``_conformance`` object (without ``cases``) and the case records."""
    if stream.peek() != "{":
        stream.skip()  # not JSON: json's own message; JSON but no object: the line below
        stream.end()
        raise FieldError("expected a HAR object {\"log\": ...}")
    top: set[str] = set()
    log: set[str] = set()
    found: dict[str, Any] = {}
    for key in stream.members():
        if key != "log":
            stream.skip()
            continue
        _once(top, key, "$")
        if stream.peek() != "{":
            typed_field({"log": stream.value()}, "log", dict, "$")  # raises: log is not an object
        for name in stream.members():
            if name == "entries":
                _once(log, name, "log")
                if stream.peek() != "[":
                    typed_field({"entries": stream.value()}, "entries", list, "log")  # raises: not an array
                for _ in stream.items():
                    stream.skip()  # stepped over: read again, one by one, by _cases
                found["entries"] = []
            elif name == "_conformance":
                _once(log, name, "log")
                found[name] = stream.value()
            else:
                stream.skip()
    stream.end()
    if "log" not in top:
        raise FieldError("$.log: missing")
    typed_field(found, "entries", list, "log")
    meta = dict(typed_field(found, "_conformance", dict, "log"))
    fmt = meta.get("format")
    if fmt != FORMAT:
        raise FieldError(f"log._conformance.format: {fmt!r}; this suite reads recordings of format {FORMAT} "
                         "(a HAR file not written by responses-conformance cannot be re-judged)")
    records: list[_CaseRecord] = []
    ids: set[str] = set()
    for i, record in enumerate(typed_field(meta, "cases", list, "log._conformance")):
        where = f"log._conformance.cases[{i}]"
        case_id = typed_field(record, "id", str, where)
        count = typed_field(record, "exchanges", int, where)
        if case_id in ids:
            raise FieldError(f"{where}.id: {case_id!r} recorded twice")
        ids.add(case_id)
        records.append(_CaseRecord(case_id, dict(record), count))
    del meta["cases"]
    return meta, records


def _to_entries(stream: JSONStream) -> None:
    """Move the cursor onto ``log.entries`` (the first pass found it there)."""
    for key in stream.members():
        if key != "log":
            stream.skip()
            continue
        for name in stream.members():
            if name == "entries":
                return
            stream.skip()
    raise FieldError("log.entries: missing (the file changed while it was read)")


def _cases(stream: JSONStream, records: Sequence[_CaseRecord]) -> Iterator[RecordedCase]:
    """The second pass: each case once all its entries are read, in the recorded order."""
    by_id = {r.id: k for k, r in enumerate(records)}
    seen = [0] * len(records)
    waiting: dict[int, list[Exchange]] = {}  # read, not yet handed out: the case being read (and any ahead of order)
    done = 0  # the cases handed out so far

    def ready() -> Iterator[RecordedCase]:
        nonlocal done
        while done < len(records) and seen[done] == records[done].exchanges:
            yield RecordedCase(records[done].id, records[done].record, waiting.pop(done, []))
            done += 1

    yield from ready()
    _to_entries(stream)
    for i in stream.items():
        where = f"log.entries[{i}]"
        entry = stream.value()
        conformance = typed_field(entry, "_conformance", dict, where)
        case_id = typed_field(conformance, "case", str, f"{where}._conformance")
        k = by_id.get(case_id)
        if k is None:
            raise FieldError(f"{where}._conformance.case: {case_id!r} is not among log._conformance.cases")
        index = typed_field(conformance, "index", int, f"{where}._conformance")
        if index != seen[k]:
            raise FieldError(f"{where}._conformance.index: {index}, expected {seen[k]} (entries of a case "
                             "are written in order)")
        if seen[k] == records[k].exchanges:
            raise FieldError(f"log._conformance.cases[{k}].exchanges: {records[k].exchanges} recorded, more "
                             f"entries found for {case_id!r} ({where})")
        waiting.setdefault(k, []).append(exchange_of(entry, where))
        seen[k] += 1
        del entry, conformance
        yield from ready()
    for k in range(done, len(records)):
        if seen[k] != records[k].exchanges:
            raise FieldError(f"log._conformance.cases[{k}].exchanges: {records[k].exchanges} recorded, "
                             f"{seen[k]} entries found for {records[k].id!r}")
