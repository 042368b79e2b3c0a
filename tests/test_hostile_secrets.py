"""No secret in any form, and no server text live on a terminal (issue 11).

A hostile loopback server echoes the key it was sent back in every spelling a check, a report or a reader
could turn back into the key: verbatim, JSON ``\\u`` escapes (all or some characters), base64 (standard and
URL-safe, alone, as ``Bearer <key>``, at every offset), percent-encoding, HTML character references; in
bodies, error messages, SSE data and headers. The detectors here decode independently of
``conformance.record._redact`` (they decode what they find; they do not reuse its patterns).
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

import pytest

from conformance.record._redact import REDACTED, Redactor, inert, safe_url
from conformance.record.exchange import Exchange, RecordedRequest, SSEEvent
from conformance.record.http import ConfigError
from conformance.run.session import RunOptions, build_target, default_provider, report_stem
from tests._hostile import head, hostile_server, sse_head

KEY = "sk-hostile-SECRET-0123456789abcdefXYZ"
CASES = "basic.text or streaming.text or errors.delete_unknown_id"


def spellings(secret: str) -> list[str]:
    """Every spelling of ``secret`` the server echoes."""
    out = [
        secret,
        "".join(f"\\u{ord(c):04x}" for c in secret),  # JSON, every character
        "".join(f"\\u{ord(c):04X}" if i % 3 == 0 else c for i, c in enumerate(secret)),  # some, upper-case hex
        quote(secret, safe=""),
        "".join(f"%{ord(c):02X}" for c in secret),  # percent-encoding of every character
        quote_plus(f"Bearer {secret}"),  # '+' for the space
        "".join(f"&#x{ord(c):x};" for c in secret),
        "".join(f"&#{ord(c)};" for c in secret),
    ]
    for lead in ("", "a", "ab", "Bearer ", "user:"):  # offsets 0, 1, 2 (mod 3), as a bearer, as Basic
        for tail in ("", "!"):
            raw = (lead + secret + tail).encode()
            out += [base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")]
    return out


def _unescape_json(text: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)


def _base64_reveals(text: str, secret: str) -> bool:
    """Decode every base64-looking run, at every start offset, in both alphabets."""
    for run in re.findall(r"[A-Za-z0-9+/_-]{12,}", text):
        for start in range(4):
            chunk = run[start:]
            chunk = chunk[: len(chunk) - 1] if len(chunk) % 4 == 1 else chunk + "=" * (-len(chunk) % 4)
            for alt in (None, b"-_"):
                try:
                    decoded = base64.b64decode(chunk, altchars=alt) if alt else base64.b64decode(chunk)
                except ValueError:
                    continue
                if secret.encode() in decoded:
                    return True
    return False


def reveals(text: str, secret: str = KEY) -> bool:
    """Does ``text`` hold ``secret`` in any spelling, once decoded (one or two layers)?"""
    views = {text, html.unescape(text), unquote_plus(text), _unescape_json(text)}
    views |= {html.unescape(_unescape_json(v)) for v in list(views)} | {unquote_plus(_unescape_json(v)) for v in list(views)}
    return any(secret in v for v in views) or _base64_reveals(text, secret)


def _strings(doc: Any) -> Iterator[str]:
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, list):
        for item in doc:
            yield from _strings(item)
    elif isinstance(doc, dict):
        for key, item in doc.items():
            yield key
            yield from _strings(item)


def test_the_detector_finds_every_spelling() -> None:
    """Guard against a vacuous test: each spelling the server sends is recognised as the key."""
    for spelled in spellings(KEY):
        assert reveals(f"x {spelled} y"), spelled
    assert not reveals("x sk-hostile-SECRET y")


# --- the Redactor itself, on every spelling -------------------------------------------------------------


@pytest.mark.parametrize("spelled", spellings(KEY))
def test_redactor_scrubs_every_spelling_in_text_and_bytes(spelled: str) -> None:
    redactor = Redactor((KEY,))
    sample = f"invalid key '{spelled}', try again"
    assert not reveals(redactor.text(sample)) and REDACTED in redactor.text(sample)
    assert redactor.data(sample.encode()) == redactor.text(sample).encode()


def test_redactor_scrubs_a_secret_only_the_decoded_json_reveals() -> None:
    """A JSON escape of a percent-encoding: no raw spelling matches, the parsed string does."""
    redactor = Redactor((KEY,))
    layered = json.dumps({"error": {"message": "%73" + KEY[1:]}}).replace("%", "\\u0025").encode()
    clean = redactor.json_data(layered)
    assert not reveals(json.loads(clean)["error"]["message"]) and REDACTED in clean.decode()


def test_redactor_leaves_ordinary_text_alone() -> None:
    redactor = Redactor((KEY,))
    text = '{"id":"resp_1","output_text":"Hello, sk-hostile world &#x41; %41 \\u0041 aGVsbG8gd29ybGQ="}'
    assert redactor.text(text) == text and redactor.json_data(text.encode()) == text.encode()


# --- encodings nested in encodings ------------------------------------------------------------------------


def _b64(text: str, urlsafe: bool = False) -> str:
    raw = text.encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") if urlsafe else base64.b64encode(raw).decode()


_JWT_HEAD = _b64('{"alg":"none"}', urlsafe=True)


def nested_spellings(secret: str) -> dict[str, str]:
    """The key under two or three layers: what a token, a cookie, a JWT or a callback URL may carry."""
    escaped = "".join(f"\\u{ord(c):04x}" for c in secret)
    doc = json.dumps({"sub": "user", "key": "K"}).replace("K", escaped)  # JSON text holding the \u-escaped key
    return {
        "base64 of JSON with the \\u-escaped key": _b64(doc),
        "url-safe base64 of it, unpadded": _b64(doc, urlsafe=True),
        "URL-encoded base64 of it": quote(_b64(doc), safe=""),
        "JWT-like header.payload.signature": _JWT_HEAD + "." + _b64(doc, True) + ".c2lnbmF0dXJl",
        "base64 glued to a prefix": "sig-" + _b64(doc, urlsafe=True),
        "base64 of base64 of the key": _b64(_b64(secret)),
        "base64 of the percent-encoded key": _b64("".join(f"%{ord(c):02X}" for c in secret)),
        "base64 of the HTML-escaped key": _b64("".join(f"&#{ord(c)};" for c in secret)),
        "percent-encoded JSON escapes": quote(escaped, safe=""),
        "a callback URL with a nested token": "https://cb.example/done?state=" + quote(_b64(doc), safe="") + "&x=1",
        "JSON-escaped percent-encoding in base64": _b64(json.dumps({"m": "".join(f"%{ord(c):02X}" for c in secret)})
                                                        .replace("%", "\\u0025")),
    }


def _unescape_all(text: str) -> list[str]:
    return [html.unescape(text), unquote_plus(text), _unescape_json(text)]


def deep_reveals(text: str, secret: str = KEY, depth: int = 4) -> bool:
    """``reveals`` through up to ``depth`` layers: every unescaping and every base64 decoding, recursively."""
    if reveals(text, secret):
        return True
    if depth == 0:
        return False
    layers = [t for t in _unescape_all(text) if t != text]
    for run in re.findall(r"[A-Za-z0-9+/_-]{12,}", unquote_plus(text) + " " + text):
        for start in range(4):
            chunk = run[start:]
            chunk = chunk[: len(chunk) - 1] if len(chunk) % 4 == 1 else chunk + "=" * (-len(chunk) % 4)
            for alt in (None, b"-_"):
                try:
                    layers.append((base64.b64decode(chunk, altchars=alt) if alt else base64.b64decode(chunk))
                                  .decode("utf-8", "replace"))
                except ValueError:
                    continue
    return any(deep_reveals(layer, secret, depth - 1) for layer in layers)


def test_the_deep_detector_finds_every_nested_spelling() -> None:
    for name, spelled in nested_spellings(KEY).items():
        assert deep_reveals(f"x {spelled} y"), name
        if name != "percent-encoded JSON escapes":  # the one-layer detector composes these two itself
            assert not reveals(spelled), f"{name}: not nested after all (one layer finds it)"


@pytest.mark.parametrize("name", list(nested_spellings(KEY)))
def test_redactor_scrubs_a_secret_nested_in_encodings(name: str) -> None:
    redactor = Redactor((KEY,))
    spelled = nested_spellings(KEY)[name]
    for sample in (spelled, f"Bearer {spelled}", f"token={spelled}; Path=/; HttpOnly", f'{{"t":"{spelled}"}}'):
        clean = redactor.text(sample)
        assert REDACTED in clean and not deep_reveals(clean), (name, sample, clean)
        assert redactor.data(sample.encode()) == clean.encode()


def test_nested_search_leaves_innocent_encodings_alone() -> None:
    """Decoding only finds: base64 of JSON, a JWT, a URL-encoded blob, an image without the key stay as sent."""
    import os

    redactor = Redactor((KEY,))
    doc = json.dumps({"sub": "user", "name": "\\u00e9l\\u00e8ve", "iat": 1})
    image = base64.b64encode(os.urandom(50_000)).decode()
    for innocent in (_b64(doc), _JWT_HEAD + "." + _b64(doc, True) + ".c2ln",
                     quote(_b64(doc), safe=""), image, f'{{"b64_json":"{image}"}}',
                     "https://cb.example/done?state=" + quote(_b64(doc), safe="")):
        assert redactor.text(innocent) == innocent
        assert redactor.json_data(innocent.encode()) == innocent.encode()


def test_nested_secrets_in_recorded_headers_and_bodies_are_redacted() -> None:
    """A loopback server answering with the key nested in headers (Set-Cookie, Location, custom), a JSON body
    and SSE data: the recorded exchange reveals it through no layer."""
    from conformance.record.http import Recorder, Target

    nested = nested_spellings(KEY)

    def script(conn: socket.socket, request: bytes) -> None:
        secret = _sent_key(request)
        forms = list(nested_spellings(secret).values())
        headers = {f"X-Nested-{i}": f for i, f in enumerate(forms)}
        headers |= {"Set-Cookie": f"session={forms[0]}; Path=/; HttpOnly", "Location": forms[9],
                    "Content-Type": "text/event-stream" if b"stream" in request else "application/json",
                    "Connection": "close"}
        if b"stream" in request:
            body = "".join(f"data: {json.dumps({'type': 'error', 'message': f})}\n\n" for f in forms).encode()
        else:
            body = json.dumps({"error": {"message": " ".join(forms), "param": forms, "code": forms[1]}}).encode()
        conn.sendall(head("200 OK" if b"stream" in request else "400 Bad Request", headers) + body)

    with hostile_server(script) as url:
        with Recorder(Target(url, "m", api_key=KEY)) as rec:
            plain = rec.record("s", "GET", "/responses/x")
            stream = rec.record("s", "POST", "/responses", {"model": "m", "stream": True})
    assert len(plain.headers) > len(nested) and stream.events
    recorded = [v for ex in (plain, stream) for _, v in ex.headers] + [plain.body.decode(), stream.body.decode()]
    recorded += [e.data for e in stream.events or []] + [e.raw.decode() for e in stream.events or []]
    recorded += [plain.error or "", stream.error or "", plain.curl, stream.curl]
    leaked = [r for r in recorded if deep_reveals(r)]
    assert not leaked, leaked[:3]
    assert sum(REDACTED in v for _, v in plain.headers) >= len(nested)


def test_header_given_secret_is_redacted_alone_too() -> None:
    target = build_target(RunOptions(base_url="http://127.0.0.1:1/v1", model="m",
                                     headers=[f"X-Api-Key: {KEY}", f"Authorization: Bearer {KEY}x"]))
    redactor = Redactor.for_target(target)
    assert not reveals(redactor.text(f"got {KEY}x and {base64.b64encode((KEY + 'x').encode()).decode()}"),
                       KEY)


def test_exchange_scrubs_body_events_headers_error_and_url() -> None:
    redactor = Redactor((KEY,))
    forms = spellings(KEY)
    events = [SSEEvent(data=json.dumps({"delta": f}), raw=f"data: {f}\n\n".encode(), event=f, id=f) for f in forms]
    ex = Exchange("s", RecordedRequest("GET", f"http://h/v1?api_key={KEY}", "/x"), status=400,
                  headers=[("x-echo", f) for f in forms], body=json.dumps({"m": " ".join(forms)}).encode(),
                  events=events, error=" ".join(forms), curl=f"curl 'http://h/v1?api_key={KEY}'")
    redactor.exchange(ex)
    recorded = [ex.request.url, ex.curl, ex.error or "", ex.body.decode(), json.loads(ex.body)["m"]]
    recorded += [v for _, v in ex.headers] + [e.data for e in ex.events or []] + [e.json()["delta"] for e in ex.events or []]
    recorded += [e.raw.decode() for e in ex.events or []] + [e.event or "" for e in ex.events or []]
    assert recorded and not [r for r in recorded if reveals(r)]


# --- base URL credentials, query secrets, report names ---------------------------------------------------


def test_url_credentials_are_refused_in_one_line_without_the_password() -> None:
    with pytest.raises(ConfigError) as err:
        build_target(RunOptions(base_url=f"http://user:{KEY}@127.0.0.1:9/v1", model="m"))
    assert "credentials in the URL" in str(err.value) and KEY not in str(err.value) and "\n" not in str(err.value)


def test_query_secrets_stay_out_of_names_and_shown_urls() -> None:
    url = f"http://127.0.0.1:9/v1?api-version=2025&api_key={KEY}"
    target = build_target(RunOptions(base_url=url, model="m"))
    assert target.provider == "127.0.0.1:9" == default_provider(url)
    assert KEY not in report_stem(target.provider, "m") and KEY not in safe_url(url)
    assert safe_url(url) == f"http://127.0.0.1:9/v1?api-version=2025&api_key={REDACTED}"
    assert target.url("/responses") == f"http://127.0.0.1:9/v1/responses?api-version=2025&api_key={KEY}"
    assert KEY in Redactor.for_target(target).secrets
    assert safe_url(f"http://h/v1?api%5Fkey={KEY}") == f"http://h/v1?api%5Fkey={REDACTED}"  # an encoded name too


def test_query_secret_is_redacted_from_recorded_urls_even_when_nothing_answers() -> None:
    """A connect failure is recorded without a server answer: its URL and curl line are scrubbed all the same."""
    from conformance.record.http import Recorder
    from conformance.record.websocket import WSRecorder

    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = build_target(RunOptions(base_url=f"http://127.0.0.1:{port}/v1?api_key={KEY}", model="m"))
    with Recorder(target) as recorder:
        ex = recorder.record("s", "POST", "/responses", {"model": "m", "input": "hi"})
        _, refused = WSRecorder(target, recorder.limits, recorder.redactor).connect("w", "/responses")
    assert ex.error_kind == "connect" and refused is not None and refused.error_kind == "connect"
    for recorded in (ex, refused):
        assert REDACTED in recorded.request.url and not reveals(recorded.request.url + recorded.curl + str(recorded.error))


def test_inert_escapes_terminal_control_sequences() -> None:
    assert inert("a\x1b]0;pwned\x07b\x1b[2J\rc\u202ed\x9b") == "a\\x1b]0;pwned\\x07b\\x1b[2J\\x0dc\\u202ed\\x9b"
    assert inert("line one\n\tline two") == "line one\n\tline two"


# --- whole runs against a hostile loopback server ----------------------------------------------------------


def _run(url: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOSTILE_KEY": KEY}
    return subprocess.run([sys.executable, "-m", "conformance", "run", "--base-url", url, "--model", "m",
                           "--provider", "hostile", "--api-key-env", "HOSTILE_KEY", "-k", CASES, *extra],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _sent_key(request: bytes) -> str:
    for line in request.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"authorization":
            return value.strip().decode().removeprefix("Bearer ")
    return ""


def _echo_headers(secret: str, extra: dict[str, str]) -> dict[str, str]:
    echoed = {f"X-Echo-{i}": s for i, s in enumerate(spellings(secret))}
    return {**extra, **echoed, "WWW-Authenticate": f'Bearer realm="{secret}"', "Connection": "close"}


def _echoing_stream(joined: str) -> str:
    """An SSE body carrying ``joined`` (the secret's spellings) in a Response id, a delta and an error event."""
    events = [
        {"type": "response.created", "sequence_number": 0, "response": {"id": joined, "object": "response"}},
        {"type": "response.output_text.delta", "sequence_number": 1, "delta": joined, "item_id": joined},
        {"type": "error", "sequence_number": 2, "message": f"bad key {joined}", "code": joined},
    ]
    payload = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    return payload.replace(json.dumps(joined)[1:-1], joined)  # keep the \u escapes live in the JSON


def echo_script(received: list[str]) -> Any:
    """Every answer echoes the key it was sent, in every spelling, in body, error message, SSE data, headers."""

    def script(conn: socket.socket, request: bytes) -> None:
        secret = _sent_key(request)
        received.append(secret)
        joined = " | ".join(spellings(secret))
        if b'"stream": true' in request or b'"stream":true' in request:
            payload = _echoing_stream(joined)
            conn.sendall(head("200 OK", _echo_headers(secret, {"Content-Type": "text/event-stream"}))
                         + payload.encode())
            return
        body = ('{"error":{"message":"invalid key ' + joined + '","type":"invalid_request_error","param":"'
                + joined + '","code":"' + joined + '"},"' + joined + '":1}').encode()
        conn.sendall(head("400 Bad Request", _echo_headers(secret, {"Content-Type": "application/json",
                                                                   "Content-Length": str(len(body))})) + body)

    return script


QUERY_KEY = "qk-hostile-QUERYSECRET-9876543210fedcba"
#: one case per place a server can put the key: a 200 body (raw and through the SDK), an error body (400 and
#: 404), SSE data, a redirect's Location; every answer also carries it in its headers
AUDIT_CASES = ("basic.text or sdk.create or errors.missing_model or errors.delete_unknown_id or streaming.text "
               "or errors.input_items_unknown_id")


def _request_line(request: bytes) -> tuple[str, str]:
    method, target = request.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[:2]
    return method, target


def _query_key(target: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return (parse_qs(urlsplit(target).query).get("api_key") or [""])[0]


def _every_spelling(secrets: list[str]) -> list[str]:
    return [form for secret in secrets if secret for form in spellings(secret) + list(nested_spellings(secret).values())]


def audit_script(received: list[str], places: dict[str, Any]) -> Any:
    """Echo the bearer key and the base URL's query key, each in every spelling (one layer and nested), in the
    place the request leads to - a 200 body, an error body, SSE data, a redirect's Location - and in headers."""

    def script(conn: socket.socket, request: bytes) -> None:
        method, target = _request_line(request)
        places.setdefault("paths", set()).add(target.split("?")[0])
        secrets = [_sent_key(request), _query_key(target)]
        received.extend(secrets)
        forms = _every_spelling(secrets)
        joined = " | ".join(forms)
        headers = {f"X-Echo-{i}": f for i, f in enumerate(forms)}
        headers |= {"WWW-Authenticate": f'Bearer realm="{secrets[0]}"', "Set-Cookie": f"s={forms[-1]}; Path=/",
                    "Connection": "close"}
        body = request.partition(b"\r\n\r\n")[2]
        if method == "GET" and "input_items" in target:
            places["redirect"] = places.get("redirect", 0) + 1
            location = "https://elsewhere.example/v1/items?" + "&".join(f"k{i}={f}" for i, f in enumerate(forms))
            conn.sendall(head("307 Temporary Redirect", {**headers, "Location": location, "Content-Length": "0"}))
            return
        if method == "POST" and b'"stream": true' in body.replace(b'"stream":true', b'"stream": true'):
            places["sse"] = places.get("sse", 0) + 1
            payload = _echoing_stream(joined)
            conn.sendall(head("200 OK", {**headers, "Content-Type": "text/event-stream"}) + payload.encode())
            return
        if method == "POST" and b'"model"' in body:
            places["body"] = places.get("body", 0) + 1
            answer = ('{"id":"resp_1","object":"response","status":"completed","model":"' + joined + '","output":'
                      '[{"type":"message","id":"msg_1","role":"assistant","status":"completed","content":[{"type":'
                      '"output_text","annotations":[],"text":"' + joined + '"}]}],"metadata":{"' + joined + '":"'
                      + joined + '"}}').encode()
            conn.sendall(head("200 OK", {**headers, "Content-Type": "application/json",
                                         "Content-Length": str(len(answer))}) + answer)
            return
        places["error"] = places.get("error", 0) + 1
        status = "400 Bad Request" if method == "POST" else "404 Not Found"
        answer = ('{"error":{"message":"invalid key ' + joined + '","type":"invalid_request_error","param":"'
                  + joined + '","code":"' + joined + '"},"' + joined + '":1}').encode()
        conn.sendall(head(status, {**headers, "Content-Type": "application/json",
                                   "Content-Length": str(len(answer))}) + answer)

    return script


def _leaks(text: str, deep: bool) -> list[str]:
    found = [name for name, secret in (("key", KEY), ("query key", QUERY_KEY))
             if (deep_reveals(text, secret, depth=3) if deep else reveals(text, secret))]
    return found


def test_a_run_writes_the_echoed_key_nowhere(tmp_path: Path) -> None:
    """The key (``--api-key-env``) and a key in the base URL's query, echoed in every spelling - JSON-escaped,
    base64 plain and url-safe alone and as Bearer, URL-encoded, HTML-escaped, and nested - in 200 bodies (raw and
    SDK), error bodies, SSE data, response headers and a redirect's Location: no file the run wrote, no line of
    its stdout or stderr (nor of the matrix built from it) reveals either."""
    received: list[str] = []
    places: dict[str, Any] = {}
    with hostile_server(audit_script(received, places)) as url:
        env = {**os.environ, "HOSTILE_KEY": KEY}
        proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--base-url", f"{url}?api_key={QUERY_KEY}",
                               "--model", "m", "--provider", "hostile", "--api-key-env", "HOSTILE_KEY", "--assume-probes",
                               "-k", AUDIT_CASES], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert KEY in received and QUERY_KEY in received, "the server never got the keys: nothing was tested"
    assert set(places) == {"body", "error", "sse", "redirect", "paths"}, places  # every place was served
    # the SDK too asked for /v1/responses, the base URL's query after the path, not spliced into it
    assert all(p.startswith("/v1/responses") for p in places["paths"]), places["paths"]
    assert proc.returncode in (1, 3), proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "invalid key" in proc.stdout + proc.stderr or REDACTED in proc.stdout, proc.stdout[-3000:]
    assert "redirect" in proc.stdout + proc.stderr, proc.stdout[-3000:]  # the Location was shown, redacted
    assert not _leaks(proc.stdout, deep=True) and not _leaks(proc.stderr, deep=True)
    matrix = subprocess.run([sys.executable, "-m", "conformance", "matrix", "reports", "-o", "reports/matrix.html"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert matrix.returncode == 0 and not _leaks(matrix.stdout + matrix.stderr, deep=True), matrix.stderr[-2000:]
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {".json", ".html", ".xml", ".gz"} <= {p.suffix for p in written}, written  # .har.gz: the recording
    for path in written:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        text = raw.decode("utf-8", errors="replace")
        assert not _leaks(text, deep=False), path
        assert KEY not in path.name and QUERY_KEY not in path.name
        if path.suffix in (".json", ".gz"):
            leaked = [s for s in _strings(json.loads(text)) if _leaks(s, deep=True)]
            assert not leaked, (path, leaked[:3])
    doc = json.loads((tmp_path / "reports" / "hostile__m.json").read_text())
    ids = {c["id"] for c in doc["cases"]}
    assert {"basic.text", "sdk.create", "errors.missing_model", "errors.delete_unknown_id", "streaming.text",
            "errors.input_items_unknown_id"} <= ids, ids
    assert REDACTED in json.dumps(doc), "the echoed keys were never recorded at all"
    recorded = json.dumps(doc)
    assert "307" in recorded and "text/event-stream" in recorded and "Set-Cookie".lower() in recorded.lower()
    har = gzip.decompress((tmp_path / "reports" / "hostile__m.har.gz").read_bytes()).decode()
    assert REDACTED in har and doc["run"]["recording"].endswith("hostile__m.har.gz"), "no recording of the echoes"


def esc_script(conn: socket.socket, request: bytes) -> None:
    """Raw terminal control sequences in an error body (as sent) and in SSE data."""
    hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[31mRED\r"
    if b'"stream": true' in request or b'"stream":true' in request:
        payload = f"event: error\ndata: {{\"type\":\"error\",\"message\":\"{hostile}\"}}\n\n".encode()
        conn.sendall(sse_head() + payload)
        return
    body = ('{"error":{"message":"' + hostile + '","type":"x"}}').encode()
    conn.sendall(head("400 Bad Request", {"Content-Type": "application/json", "Content-Length": str(len(body)),
                                          "Connection": "close"}) + body)


def test_terminal_control_sequences_from_the_server_reach_the_console_escaped(tmp_path: Path) -> None:
    with hostile_server(esc_script) as url:
        proc = _run(url, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode in (1, 3), out[-3000:]
    assert "\\x1b]0;pwned\\x07" in out, out[-3000:]  # shown, escaped
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out


def test_judge_output_escapes_control_sequences_from_the_judged_bytes(tmp_path: Path) -> None:
    """``judge`` quotes the stream it reads (event names, types): they reach the console escaped."""
    (tmp_path / "s.sse").write_bytes(b'event: \x1b]0;pwned\x07\n'
                                      b'data: {"type":"response.\\u001b[2Jcreated","sequence_number":0}\n\n')
    proc = subprocess.run([sys.executable, "-m", "conformance", "judge", "s.sse"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "\x1b" not in proc.stdout + proc.stderr and "\x07" not in proc.stdout
    assert "response.\\x1b[2Jcreated" in proc.stdout


def test_providers_file_urls_never_print_their_credentials(tmp_path: Path) -> None:
    """``run --config``: a query key is redacted from the '== target (url)' line and the 'cannot reach' error;
    a ``user:pw@`` URL is refused in one line that does not repeat the password."""
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "providers.yaml").write_text(
        "providers:\n"
        f"  - {{name: q, base_url: 'http://127.0.0.1:{port}/v1?api_key={KEY}', models: [m]}}\n"
        f"  - {{name: u, base_url: 'http://user:{KEY}@127.0.0.1:{port}/v1', models: [m]}}\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--config", "providers.yaml", "--no-matrix",
                           "-k", "basic.text"], cwd=tmp_path, capture_output=True, text=True, timeout=180)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert f"api_key={REDACTED}" in out and "cannot reach" in out and "credentials in the URL" in out, out
    assert not reveals(out)
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and reveals(p.read_text(errors="replace"))
                and p.name != "providers.yaml"]


def test_run_refuses_url_credentials_in_one_line_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--base-url", f"http://user:{KEY}@127.0.0.1:9/v1",
                           "--model", "m"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and "credentials in the URL" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and not reveals(proc.stdout + proc.stderr)
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())
