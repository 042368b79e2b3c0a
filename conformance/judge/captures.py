"""Capture directories for offline judging: which saved bodies exist, and the request each one answered.

A capture directory holds response bodies (``<name>.json``, ``<name>.sse``, ``<name>.jsonl``) with the request
body that produced each beside it (``<name>.request.json``). A ``manifest.json`` (the layout of
``../shared/real-openai``: ``{"captures": [{"id", "request_uri", "method", "http_status", "capture_date",
"model", "stream", "files": {"body", "request"}}]}``) adds what the files cannot say: the endpoint and query
(a ``GET /responses/{id}?stream=true&starting_after=N`` replay has no request body at all), the real HTTP
status (an error capture is judged with it) and the capture date. The manifest of a directory or of one of its
ancestors applies, so a project subdirectory of ``real-openai`` is judged with the top-level manifest.

This module only finds captures and reads their context; reading and judging the bodies is ``offline.py``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .. import _json

BODY_SUFFIXES = (".json", ".sse", ".jsonl")
REQUEST_SUFFIX = ".request.json"
MANIFEST = "manifest.json"
#: How far up from a judged directory a manifest is looked for (``real-openai/<project>/`` needs one level).
MANIFEST_LEVELS = 2


class CaptureProblem(Exception):
    """A capture input that cannot be read: reported as ``judge: <path>: <reason>`` (exit 2)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class Capture:
    """One saved response body and what is known about the request it answered.

    ``path`` is relative to the API base (``/responses/resp_1?stream=true&starting_after=0``); ``status`` is
    the recorded HTTP status, None when unknown (then 200, or 400 for an error envelope); ``stream`` is the
    manifest's word on whether a stream was asked for, None when it does not say.
    """

    id: str
    body: Path
    request: Any = None
    request_file: Path | None = None
    method: str = "POST"
    path: str = "/responses"
    url: str = ""
    status: int | None = None
    date: str = ""
    model: str = ""
    stream: bool | None = None

    @property
    def resumes(self) -> tuple[str, int] | None:
        """``(response_id, N)`` for a ``GET /responses/{id}?...starting_after=N`` replay, else None."""
        split = urlsplit(self.path)
        after = parse_qs(split.query).get("starting_after")
        parts = [p for p in split.path.split("/") if p]
        if self.method.upper() != "GET" or not after or len(parts) != 2 or parts[0] != "responses":
            return None
        try:
            return parts[1], int(after[0])
        except ValueError:
            return None


def api_path(uri: str) -> str:
    """``https://api.openai.com/v1/responses/x?stream=true`` -> ``/responses/x?stream=true``."""
    split = urlsplit(uri)
    path = split.path
    at = path.find("/responses")
    if at >= 0:
        path = path[at:]
    return path + (f"?{split.query}" if split.query else "")


def read_request(path: Path) -> Any:
    """A request body file: one JSON object (CaptureProblem otherwise)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CaptureProblem(path, f"cannot read request body: {exc.strerror or exc}") from None
    try:
        doc = _json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CaptureProblem(path, "request body is not JSON") from None
    if not isinstance(doc, dict):
        raise CaptureProblem(path, f"request body is JSON {type(doc).__name__}, expected an object")
    return doc


def is_body_file(path: Path) -> bool:
    """A response body by its name: not a request body, not the manifest, not hidden."""
    name = path.name
    return (path.suffix in BODY_SUFFIXES and not name.endswith(REQUEST_SUFFIX) and name != MANIFEST
            and not name.startswith("."))


def find_manifest(directory: Path) -> tuple[Path, list[dict[str, Any]]] | None:
    """The capture manifest of ``directory``: its own ``manifest.json``, else the nearest one up to two levels
    above it that has a ``captures`` list (an unrelated manifest.json higher up is ignored)."""
    here = directory.resolve()
    own = here / MANIFEST
    if own.is_file():
        return own, _manifest_entries(own)
    for candidate in here.parents[:MANIFEST_LEVELS]:
        path = candidate / MANIFEST
        if path.is_file():
            try:
                return path, _manifest_entries(path)
            except CaptureProblem:
                return None
    return None


def _manifest_entries(manifest: Path) -> list[dict[str, Any]]:
    try:
        doc = _json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise CaptureProblem(manifest, "manifest is not readable JSON") from None
    captures = doc.get("captures") if isinstance(doc, dict) else None
    if not isinstance(captures, list):
        raise CaptureProblem(manifest, 'manifest has no "captures" list')
    return [c for c in captures if isinstance(c, dict)]


def _from_manifest(entry: dict[str, Any], root: Path) -> Capture:
    raw_files = entry.get("files")
    files: dict[str, Any] = raw_files if isinstance(raw_files, dict) else {}
    body = root / str(files.get("body") or "")
    request_file = root / str(files["request"]) if files.get("request") else None
    uri = str(entry.get("request_uri") or "")
    status = entry.get("http_status")
    stream = entry.get("stream")
    return Capture(
        id=str(entry.get("id") or body.relative_to(root).with_suffix("")),
        body=body,
        request=read_request(request_file) if request_file is not None else None,
        request_file=request_file,
        method=str(entry.get("method") or "POST").upper(),
        path=api_path(uri) if uri else "/responses",
        url=uri,
        status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        date=str(entry.get("capture_date") or ""),
        model=str(entry.get("model") or ""),
        stream=stream if isinstance(stream, bool) else None,
    )


def _paired(body: Path, directory: Path) -> Capture:
    """A body without a manifest entry: its request is ``<name>.request.json`` beside it, when present."""
    request_file = body.with_name(body.name[: -len(body.suffix)] + REQUEST_SUFFIX)
    has_request = request_file.is_file()
    return Capture(id=str(body.relative_to(directory).with_suffix("")), body=body,
                   request=read_request(request_file) if has_request else None,
                   request_file=request_file if has_request else None)


def _inside(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
    except ValueError:
        return False
    return True


def find_captures(directory: Path) -> tuple[list[Capture], list[CaptureProblem]]:
    """Every capture under ``directory`` (recursively), with its context; unreadable ones as problems.

    Manifest entries come first, in manifest order; body files the manifest does not list are paired with the
    ``.request.json`` beside them. A directory holding no capture at all is a CaptureProblem (raised).
    """
    captures: list[Capture] = []
    problems: list[CaptureProblem] = []
    listed: set[Path] = set()
    found = find_manifest(directory)
    if found is not None:
        manifest, entries = found
        root = manifest.parent
        for entry in entries:
            files = entry.get("files")
            body_name = files.get("body") if isinstance(files, dict) else None
            if not isinstance(body_name, str) or not body_name:
                problems.append(CaptureProblem(manifest, f"capture {entry.get('id')!r} names no body file"))
                continue
            if not _inside(root / body_name, directory):
                continue
            listed.add((root / body_name).resolve())
            try:
                capture = _from_manifest(entry, root)
            except CaptureProblem as exc:
                problems.append(exc)
                continue
            if not capture.body.is_file():
                problems.append(CaptureProblem(capture.body, f"listed in {manifest} but missing"))
                continue
            captures.append(capture)
    for body in sorted(p for p in directory.rglob("*") if p.is_file() and is_body_file(p)):
        if body.resolve() in listed or any(part.startswith(".") for part in body.relative_to(directory).parts):
            continue
        try:
            captures.append(_paired(body, directory))
        except CaptureProblem as exc:
            problems.append(exc)
    if not captures and not problems:
        raise CaptureProblem(directory, "directory holds no captures (no *.json, *.sse or *.jsonl bodies)")
    return captures, problems
