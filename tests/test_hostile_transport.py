"""The wire against hostile or merely compressing servers: compressed bodies are decoded within the body bound,
a decompression bomb is ``error`` (never a verdict) in bounded memory, and the curl line reproduces the request."""

from __future__ import annotations

import gzip
import json
import socket
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import brotli
import pytest

from conformance.record._decode import ACCEPT_ENCODING
from conformance.record.exchange import Exchange
from conformance.record.http import Limits, Recorder, Target
from conformance.suite import CASES_DIR
from tests._helpers import SDK_CREATE_RESPONSE, mock_recorder, serve_handler
from tests._hostile import head, hostile_server

ROOT = Path(__file__).resolve().parent.parent
RESPONSE = {"id": "resp_1", "object": "response", "status": "completed", "output": []}
T = TypeVar("T")


def _event(payload: dict) -> bytes:
    return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode()


def _answer(body: bytes, encoding: str, content_type: str = "application/json") -> bytes:
    return head("200 OK", {"Content-Type": content_type, "Content-Encoding": encoding,
                           "Content-Length": str(len(body)), "Connection": "close"}) + body


def _serving(payload: bytes, seen: list[bytes] | None = None, pause: float = 0.0):  # type: ignore[no-untyped-def]
    """A script sending ``payload`` in small pieces (so decoding is incremental), recording the request."""

    def script(conn: socket.socket, request: bytes) -> None:
        if seen is not None:
            seen.append(request)
        for start in range(0, len(payload), 700):
            conn.sendall(payload[start : start + 700])
            if pause:
                time.sleep(pause)

    return script


def _get(payload: bytes, encoding: str, limits: Limits | None = None) -> Exchange:
    """``GET /responses/resp_1`` of a server answering ``payload`` labelled ``Content-Encoding: encoding``."""
    with hostile_server(_serving(_answer(payload, encoding))) as url:
        return Recorder(Target(url, "m"), limits).record("s", "GET", "/responses/resp_1")


def _traced(call: Callable[[], T]) -> tuple[T, int, int]:
    """``call()`` with the memory Python held (tracemalloc) once it returned, and at its peak."""
    tracemalloc.start()
    try:
        value = call()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return value, held, peak


def _request_headers(raw: bytes) -> dict[str, str]:
    lines = raw.partition(b"\r\n\r\n")[0].decode().split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def test_gzipped_json_is_decoded_and_the_request_says_what_it_accepts() -> None:
    seen: list[bytes] = []
    body = json.dumps({**RESPONSE, "pad": "x" * 50_000}).encode()
    with hostile_server(_serving(_answer(gzip.compress(body), "gzip"), seen)) as url:
        ex = Recorder(Target(url, "m")).record("s", "GET", "/responses/resp_1")
    assert ex.error_kind is None, ex.error
    assert ex.json()["id"] == "resp_1" and ex.body == body
    assert ACCEPT_ENCODING == "gzip, deflate, br"  # the pinned brotli bounds a step: br is asked for
    assert _request_headers(seen[0])["accept-encoding"] == ACCEPT_ENCODING  # nothing we cannot decode
    assert ex.request.headers["Accept-Encoding"] == ACCEPT_ENCODING
    assert "--compressed" in ex.curl and f"'Accept-Encoding: {ACCEPT_ENCODING}'" in ex.curl
    sent = _request_headers(seen[0])
    for name, value in ex.request.headers.items():  # the curl line carries every header that was sent
        assert sent[name.lower()] == value and f"'{name}: {value}'" in ex.curl
    assert "user-agent" in {k.lower() for k in ex.request.headers}


def test_deflate_zlib_wrapped_and_raw_are_decoded() -> None:
    body = json.dumps(RESPONSE).encode()
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    for payload in (zlib.compress(body), raw.compress(body) + raw.flush()):
        ex = _get(payload, "deflate")
        assert ex.error_kind is None, ex.error
        assert ex.json() == RESPONSE


STREAM = [{"type": "response.created", "sequence_number": 0},
          {"type": "response.output_text.delta", "sequence_number": 1, "delta": "hi"},
          {"type": "response.completed", "sequence_number": 2}]


def _stream_never_closed(encoding: str, pieces: list[bytes]) -> Exchange:
    """A streamed create answered with ``pieces`` (an event each, compressed) by a server that never closes."""

    def script(conn: socket.socket, _: bytes) -> None:
        conn.sendall(head("200 OK", {"Content-Type": "text/event-stream", "Content-Encoding": encoding}))
        for piece in pieces:
            conn.sendall(piece)
            time.sleep(0.05)
        time.sleep(5)  # keeps the connection open: the terminal event, decoded, must end the reading

    with hostile_server(script) as url:
        rec = Recorder(Target(url, "m"), Limits(after_terminal_grace_s=0.3, idle_timeout_s=10))
        return rec.record("s", "POST", "/responses", {"model": "m", "stream": True})


def test_gzipped_stream_is_parsed_on_decoded_bytes_and_ends_at_the_terminal_event() -> None:
    compressor = zlib.compressobj(wbits=zlib.MAX_WBITS | 16)
    ex = _stream_never_closed("gzip", [compressor.compress(_event(e)) + compressor.flush(zlib.Z_SYNC_FLUSH)
                                       for e in STREAM])
    assert ex.error_kind is None, ex.error
    assert ex.events is not None and [e.json()["type"] for e in ex.events] == [e["type"] for e in STREAM]
    assert ex.elapsed_s < 3
    assert "--compressed" in ex.curl and " -N " in ex.curl


def test_br_json_is_decoded_step_by_step() -> None:
    body = json.dumps({**RESPONSE, "pad": "x" * 50_000, "noise": list(range(5000))}).encode()
    ex = _get(brotli.compress(body), "br")  # 700-byte pieces
    assert ex.error_kind is None, ex.error
    assert ex.body == body and ex.json()["id"] == "resp_1"
    assert ex.header("content-encoding") == "br" and "--compressed" in ex.curl


def test_a_br_stream_is_parsed_on_decoded_bytes_and_ends_at_the_terminal_event() -> None:
    compressor = brotli.Compressor()  # the stream is never finished: the terminal event, decoded, must end it
    ex = _stream_never_closed("br", [compressor.process(_event(e)) + compressor.flush() for e in STREAM])
    assert ex.error_kind is None, ex.error
    assert ex.events is not None and [e.json()["type"] for e in ex.events] == [e["type"] for e in STREAM]
    assert ex.elapsed_s < 3


def test_br_bomb_is_error_in_bounded_memory() -> None:
    bomb = brotli.compress(b"\0" * (1 << 30), quality=5)  # ~800 bytes on the wire, 1 GiB inflated
    assert len(bomb) < 64 << 10
    limit = 1 << 20
    ex, _, peak = _traced(lambda: _get(bomb, "br", Limits(max_body_bytes=limit)))
    assert ex.error_kind == "too_large" and "br body decompressed past" in (ex.error or ""), ex.error
    assert ex.inconclusive and ex.body_truncated
    assert ex.body_size == limit and ex.body.startswith(b"\0" * 1000)
    assert peak < 16 * limit, f"peak {peak} bytes for a {limit}-byte bound"


def test_a_broken_br_body_is_error_not_a_verdict() -> None:
    body = brotli.compress(json.dumps({**RESPONSE, "pad": "z" * 3000}).encode(), quality=11)
    for payload, needle in (((body[: len(body) // 2], "br"), "ended before"),
                            ((b"not br at all, not br at all", "br"), "invalid br"),
                            ((body + b"trailing", "br"), "invalid br")):
        ex = _get(*payload)
        assert ex.error_kind == "protocol" and needle in (ex.error or ""), ex.error


# ------------------------------------------------------------------ stacked encodings: undone in reverse, bounded


def test_stacked_encodings_are_undone_in_reverse_order() -> None:
    body = json.dumps({**RESPONSE, "pad": "q" * 40_000}).encode()
    stacked = {"gzip, br": brotli.compress(gzip.compress(body)),
               "deflate, gzip": gzip.compress(zlib.compress(body)),
               "br, identity, deflate": zlib.compress(brotli.compress(body))}
    for encoding, payload in stacked.items():
        ex = _get(payload, encoding)
        assert ex.error_kind is None, (encoding, ex.error)
        assert ex.body == body, encoding

    def two_lines(conn: socket.socket, _: bytes) -> None:  # the list split over two header lines means the same
        payload = stacked["gzip, br"]
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                     f"Content-Encoding: br\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
                     .encode() + payload)

    with hostile_server(two_lines) as url:
        ex = Recorder(Target(url, "m")).record("s", "GET", "/responses/resp_1")
    assert ex.error_kind is None and ex.body == body, ex.error


def test_a_nested_bomb_is_bounded_on_every_layer() -> None:
    limit = 1 << 20
    middle = gzip.compress(b"\0" * (1 << 30), compresslevel=9)  # 1 GiB of zeros: ~1 MiB of gzip
    for encoding, payload in (("gzip, gzip", gzip.compress(middle * 16, compresslevel=9)),  # middle layer 16 MiB
                              ("gzip, br", brotli.compress(middle, quality=5))):
        assert len(payload) < 256 << 10, (encoding, len(payload))
        ex, _, peak = _traced(lambda: _get(payload, encoding, Limits(max_body_bytes=limit)))  # noqa: B023 - called at once
        assert ex.error_kind == "too_large" and f"{encoding} body decompressed past" in (ex.error or ""), ex.error
        assert ex.inconclusive and ex.body_size <= limit and ex.body.startswith(b"\0" * 1000), encoding
        assert peak < 16 * limit, f"{encoding}: peak {peak} bytes for a {limit}-byte bound"


def test_an_unknown_coding_in_the_list_is_error_with_the_reason() -> None:
    body = gzip.compress(json.dumps(RESPONSE).encode())
    for encoding in ("gzip, zstd", "zstd, gzip", "gzip, compress"):
        ex = _get(body, encoding)
        unknown = next(c for c in encoding.split(", ") if c != "gzip")
        assert ex.error_kind == "protocol" and ex.inconclusive, (encoding, ex.error)
        assert f"Content-Encoding {unknown!r} in {encoding!r} was not asked for" in (ex.error or ""), ex.error


def _bomb(members: int, member_bytes: int = 1 << 20) -> bytes:
    """``members`` gzip members of ``member_bytes`` zeros each: about 1 KiB per MiB inflated."""
    return gzip.compress(b"\0" * member_bytes, compresslevel=9) * members


def test_gzip_bomb_is_error_in_bounded_memory() -> None:
    bomb = _bomb(1024)  # ~1 MiB on the wire, 1 GiB inflated
    assert len(bomb) < 2 << 20
    limit = 1 << 20
    ex, _, peak = _traced(lambda: _get(bomb, "gzip", Limits(max_body_bytes=limit)))
    assert ex.error_kind == "too_large" and "decompressed past" in (ex.error or "")
    assert ex.inconclusive and ex.body_truncated
    assert ex.body_size == limit and ex.body.startswith(b"\0" * 1000)  # decoded up to the bound, head kept
    assert peak < 16 * limit, f"peak {peak} bytes for a {limit}-byte bound"


def test_single_member_bomb_is_error() -> None:
    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=9)  # ~64 KiB on the wire, 64 MiB inflated
    ex = _get(bomb, "gzip", Limits(max_body_bytes=1 << 20))
    assert ex.error_kind == "too_large" and ex.inconclusive


def test_padding_after_a_gzip_stream_is_ignored_as_httpx_does() -> None:
    body = json.dumps(RESPONSE).encode()
    ex = _get(gzip.compress(body) + b"\0" * 5000, "gzip")
    assert ex.error_kind is None, ex.error
    assert ex.json() == RESPONSE


def test_an_empty_body_labelled_gzip_is_no_error() -> None:
    def script(conn: socket.socket, _: bytes) -> None:
        conn.sendall(head("200 OK", {"Content-Type": "application/json", "Content-Encoding": "gzip",
                                     "Content-Length": "0", "Connection": "close"}))

    with hostile_server(script) as url:
        ex = Recorder(Target(url, "m")).record("s", "DELETE", "/responses/resp_1")
    assert ex.error_kind is None and ex.body == b"" and ex.status == 200


def test_an_encoding_not_asked_for_or_a_broken_stream_is_error_not_a_verdict() -> None:
    body = gzip.compress(json.dumps(RESPONSE).encode())
    for payload, needle in (((body, "zstd"), "not asked for"),
                            ((body[: len(body) // 2], "gzip"), "ended before"),
                            ((b"not gzip at all", "gzip"), "invalid gzip")):
        ex = _get(*payload)
        assert ex.error_kind == "protocol" and needle in (ex.error or ""), ex.error


# ------------------------------------------------------------------ the SDK path (openai through the recorder)

def _sdk_result(payload: bytes, limits: Limits, encoding: str = "gzip"):  # type: ignore[no-untyped-def]
    import httpx

    from conformance.cases import load_cases
    from conformance.run.engine import judge, record_case

    case = next(c for c in load_cases(CASES_DIR / "sdk.yaml") if c.id == "sdk.create")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/json", "content-encoding": encoding},
                              stream=httpx.ByteStream(payload))

    with mock_recorder(handler, Target("http://gz.invalid/v1", "m", api_key="sk-x"), limits) as rec:
        return judge(record_case(case, rec))


def test_sdk_reads_a_gzipped_answer_decoded_once() -> None:
    from conformance._verdict import Outcome

    result = _sdk_result(gzip.compress(json.dumps(SDK_CREATE_RESPONSE).encode()), Limits(idle_timeout_s=5, deadline_s=10))
    assert result.outcome is Outcome.PASS, result.message
    (ex,) = result.exchanges
    assert ex.sdk is not None and ex.sdk["ok"], ex.sdk


def test_sdk_reads_a_br_answer_decoded_once() -> None:
    from conformance._verdict import Outcome

    result = _sdk_result(brotli.compress(json.dumps(SDK_CREATE_RESPONSE).encode()), Limits(idle_timeout_s=5, deadline_s=10),
                         encoding="br")
    assert result.outcome is Outcome.PASS, result.message
    (ex,) = result.exchanges
    assert ex.sdk["ok"] and ex.header("content-encoding") == "br", ex.sdk  # type: ignore[attr-defined]


def test_sdk_never_inflates_a_bomb() -> None:
    from conformance._verdict import Outcome

    limit = 1 << 20
    _sdk_result(gzip.compress(json.dumps(SDK_CREATE_RESPONSE).encode()), Limits())  # imports openai: not what is measured
    for bomb, encoding in ((_bomb(512), "gzip"), (brotli.compress(b"\0" * (512 << 20), quality=5), "br")):
        bounded = Limits(idle_timeout_s=5, deadline_s=10, max_body_bytes=limit)
        result, _, peak = _traced(lambda: _sdk_result(bomb, bounded, encoding))  # noqa: B023 - called at once
        assert result.outcome is Outcome.ERROR, (encoding, result.outcome, result.message)
        (ex,) = result.exchanges
        assert ex.error_kind == "too_large", (encoding, ex.error)
        assert peak < 16 * limit, f"{encoding}: peak {peak} bytes for a {limit}-byte bound"


# ------------------------------------------------------------------ end to end behind a gzip proxy


class _GzipProxy:
    """A reverse proxy gzipping every answer as nginx's ``gzip on`` does: chunked, flushed as the upstream sends
    (its ``handler``, served with :func:`tests._helpers.serve_handler`; ``encoded`` counts the answers gzipped)."""

    def __init__(self, upstream: str) -> None:
        import http.server

        import httpx

        client = httpx.Client(timeout=30)
        self.encoded = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def _proxy(proxy_self) -> None:  # noqa: N805 - the handler's self; ``self`` is the proxy
                length = int(proxy_self.headers.get("Content-Length") or 0)
                body = proxy_self.rfile.read(length) if length else None
                headers = {k: v for k, v in proxy_self.headers.items()
                           if k.lower() not in ("host", "accept-encoding", "content-length", "connection")}
                url = upstream.rstrip("/") + proxy_self.path.removeprefix("/v1")
                with client.stream(proxy_self.command, url, content=body, headers=headers) as answer:
                    proxy_self.send_response(answer.status_code)
                    for k, v in answer.headers.multi_items():
                        if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                            proxy_self.send_header(k, v)
                    gz = "gzip" in (proxy_self.headers.get("Accept-Encoding") or "")
                    if gz:
                        proxy_self.send_header("Content-Encoding", "gzip")
                        self.encoded += 1
                    proxy_self.send_header("Transfer-Encoding", "chunked")
                    proxy_self.end_headers()
                    compressor = zlib.compressobj(wbits=zlib.MAX_WBITS | 16)
                    for chunk in answer.iter_bytes():
                        data = compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH) if gz else chunk
                        if data:
                            proxy_self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                            proxy_self.wfile.flush()
                    tail = compressor.flush() if gz else b""
                    if tail:
                        proxy_self.wfile.write(b"%x\r\n%s\r\n" % (len(tail), tail))
                    proxy_self.wfile.write(b"0\r\n\r\n")

            do_GET = do_POST = do_DELETE = _proxy

        self.handler = Handler


def test_conforming_gzipped_answers_pass_end_to_end() -> None:
    from conformance._verdict import Outcome
    from conformance.cases import load_all
    from conformance.reference import MODEL_NAME, ReferenceServer
    from conformance.run.engine import judge, record_case

    cases = {c.id: c for c in load_all(CASES_DIR)}
    chosen = ["basic.text", "streaming.text", "streaming.function_call", "errors.missing_model",
              "errors.retrieve_unknown_id"]
    with ReferenceServer() as server:
        proxy = _GzipProxy(server.base_url)
        with serve_handler(proxy.handler) as proxy_url, \
                Recorder(Target(proxy_url, MODEL_NAME), Limits(idle_timeout_s=10, deadline_s=30)) as rec:
            results = [judge(record_case(cases[cid], rec)) for cid in chosen]
    assert proxy.encoded >= len(chosen)  # every answer really was gzipped on the wire
    bad = [(r.case.id, r.outcome.value, r.message) for r in results if r.outcome is not Outcome.PASS]
    assert not bad
    assert all(ex.header("content-encoding") == "gzip" for r in results for ex in r.exchanges)


# ------------------------------------------------------------------ Retry-After past the bound


def _asking_to_wait(status: str, retry_after: str, calls: list[int]):  # type: ignore[no-untyped-def]
    def script(conn: socket.socket, _: bytes) -> None:
        calls.append(1)
        body = b'{"error":{"message":"later","type":"rate_limit_error","param":null,"code":null}}'
        conn.sendall(head(status, {"Content-Type": "application/json", "Retry-After": retry_after,
                                   "Content-Length": str(len(body)), "Connection": "close"}) + body)

    return script


def test_a_retry_after_past_the_bound_is_error_at_once() -> None:
    from email.utils import formatdate

    in_an_hour = formatdate(time.time() + 3600, usegmt=True)
    for status, retry_after, kind in (("429 Too Many Requests", "3600", "rate_limited"),
                                      ("503 Service Unavailable", "3600", "server_error"),
                                      ("429 Too Many Requests", in_an_hour, "rate_limited")):
        calls: list[int] = []
        with hostile_server(_asking_to_wait(status, retry_after, calls)) as url:
            t0 = time.monotonic()
            ex = Recorder(Target(url, "m"), Limits(retries=2, max_retry_after_s=30)).record("s", "GET", "/responses/x")
            took = time.monotonic() - t0
        assert took < 2 and len(calls) == 1, (retry_after, took, calls)
        assert ex.error_kind == kind and ex.inconclusive
        assert "past the 30s bound" in (ex.error or "") and "not retried" in (ex.error or ""), ex.error


def test_a_retry_after_within_the_bound_is_honoured() -> None:
    calls: list[int] = []
    with hostile_server(_asking_to_wait("429 Too Many Requests", "0.4", calls)) as url:
        t0 = time.monotonic()
        ex = Recorder(Target(url, "m"), Limits(retries=1, max_retry_after_s=1)).record("s", "GET", "/responses/x")
        took = time.monotonic() - t0
    assert len(calls) == 2 and took >= 0.4
    assert ex.error_kind == "rate_limited" and "after 2 attempts" in (ex.error or "")


# ------------------------------------------------------------------ a redirecting base URL


def test_a_redirecting_base_url_is_one_line_and_exit_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    calls: list[bytes] = []

    def script(conn: socket.socket, request: bytes) -> None:
        calls.append(request)
        path = request.split(b" ", 2)[1].decode()
        conn.sendall(head("301 Moved Permanently", {"Location": "https://api.example.test" + path,
                                                    "Content-Length": "0", "Connection": "close"}))

    with hostile_server(script) as url:
        proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--base-url", url, "--model", "m"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-2000:] + proc.stdout[-2000:]
    assert "redirects (HTTP 301" in lines[0] and "use --base-url https://api.example.test/v1" in lines[0], lines[0]
    assert len(calls) == 1  # the preflight only: no case was sent


# ------------------------------------------------------------------ evidence of a huge body: head and tail only


def test_a_body_cut_short_keeps_head_and_tail_not_the_body() -> None:
    from conformance.record.exchange import EVIDENCE_KEEP_BYTES
    from conformance.report.results import MAX_BODY_CHARS, exchange_evidence

    key = "sk-huge-SECRET-0123456789abcdef"
    limit = 4 << 20
    # the key straddles the cut between the kept head and the dropped middle: redacted before the cut
    body = b"A" * (EVIDENCE_KEEP_BYTES - 10) + key.encode() + b"B" * (8 << 20)

    def script(conn: socket.socket, _: bytes) -> None:
        conn.sendall(head("200 OK", {"Content-Type": "application/json", "Connection": "close"}))
        conn.sendall(body)  # no copy: what is measured is the recorder's memory, not this server's

    with hostile_server(script) as url:
        rec = Recorder(Target(url, "m", api_key=key), Limits(max_body_bytes=limit))
        kept, held, _ = _traced(lambda: [rec.record("s", "GET", "/responses/x") for _ in range(8)])
    ex = kept[0]
    assert ex.error_kind == "too_large" and ex.body_truncated
    assert len(ex.body) == len(ex.body_tail) == EVIDENCE_KEEP_BYTES
    assert ex.body_size == limit and ex.body_omitted == limit - 2 * EVIDENCE_KEEP_BYTES
    assert held < 2 * limit, f"{held} bytes held for 8 exchanges cut at {limit} bytes"  # was 8 x 4 MiB
    evidence = exchange_evidence(ex)
    assert evidence["body_bytes"] == limit
    assert evidence["body"].startswith("AAAA") and evidence["body"].endswith("BBBB")
    assert "bytes not shown" in evidence["body"] and len(evidence["body"]) < MAX_BODY_CHARS + 100
    text = json.dumps([exchange_evidence(e) for e in kept])
    assert key[:12] not in text and "SECRET" not in text


def test_a_long_stream_cut_short_keeps_its_first_events_and_counts_all() -> None:
    from conformance.record.exchange import MAX_KEPT_EVENTS
    from conformance.report.results import exchange_evidence

    def script(conn: socket.socket, _: bytes) -> None:
        conn.sendall(head("200 OK", {"Content-Type": "text/event-stream", "Connection": "close"}))
        conn.sendall(b"".join(_event({"type": "response.output_text.delta", "sequence_number": i, "delta": "x"})
                              for i in range(6000)))

    with hostile_server(script) as url:
        ex = Recorder(Target(url, "m"), Limits(max_events=5000)).record("s", "POST", "/responses",
                                                                        {"model": "m", "stream": True})
    assert ex.error_kind == "too_large" and ex.events is not None
    assert len(ex.events) == MAX_KEPT_EVENTS and ex.events_omitted > 3000
    evidence = exchange_evidence(ex)
    assert evidence["event_count"] == len(ex.events) + ex.events_omitted > 5000


def test_a_header_set_again_in_another_case_is_sent_once() -> None:
    seen: list[bytes] = []
    with hostile_server(_serving(_answer(gzip.compress(b"{}"), "gzip"), seen)) as url:
        target = Target(url, "m", headers={"user-agent": "gateway-ua/1"})
        ex = Recorder(target).record("s", "GET", "/responses/x", headers={"accept-encoding": "gzip"})
    lines = [line.lower() for line in seen[0].partition(b"\r\n\r\n")[0].decode().split("\r\n")[1:]]
    assert [line for line in lines if line.startswith("user-agent:")] == ["user-agent: gateway-ua/1"]
    assert [line for line in lines if line.startswith("accept-encoding:")] == ["accept-encoding: gzip"]
    assert ex.error_kind is None and "--compressed" in ex.curl


# ------------------------------------------------------------------ a whole run keeps no huge body once judged


def test_a_run_keeps_head_and_tail_of_judged_bodies_not_the_bodies(tmp_path: Path) -> None:
    import subprocess
    import sys

    big = json.dumps({**RESPONSE, "pad": "p" * (2 << 20)}).encode()  # 2 MiB, under the bound: judged

    def script(conn: socket.socket, _: bytes) -> None:
        conn.sendall(head("200 OK", {"Content-Type": "application/json", "Content-Length": str(len(big)),
                                     "Connection": "close"}))
        conn.sendall(big)

    probe = (
        "import sys\n"
        "held_path = sys.argv[-1]\n"
        "import conformance.run.session as s\n"
        "close = s.ConformanceSession.close\n"
        "def report(self):\n"
        "    sizes = [(len(ex.body) + len(ex.body_tail), ex.body_size) for r in self.results.values()"
        " for ex in r.exchanges]\n"
        "    with open(held_path, 'w') as out:\n"
        "        out.write(f'HELD {max(h for h, _ in sizes)} RECEIVED {max(n for _, n in sizes)}')\n"
        "    close(self)\n"
        "s.ConformanceSession.close = report\n"
        "from conformance.cli import main\n"
        "sys.exit(main(sys.argv[1:-1]))\n"
    )
    with hostile_server(script) as url:
        proc = subprocess.run([sys.executable, "-c", probe, "run", "-q", "--base-url", url, "--model", "m",
                               "-k", "basic.text or basic.distinct_ids", str(tmp_path / "held.txt")],
                              cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert (tmp_path / "held.txt").is_file(), proc.stdout[-2000:] + proc.stderr[-2000:]
    line = (tmp_path / "held.txt").read_text()
    held, received = int(line.split()[1]), int(line.split()[3])
    assert received == len(big) and held <= 128 * 1024, line


def test_a_server_faster_than_the_parser_cannot_park_its_body_in_memory() -> None:
    line = b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}\n\n'
    block = line * 20_000  # ~2 MiB
    limit = 4 << 20

    def script(conn: socket.socket, _: bytes) -> None:
        conn.sendall(head("200 OK", {"Content-Type": "text/event-stream", "Connection": "close"}))
        for _ in range(128):  # 256 MiB if we let it
            conn.sendall(block)

    with hostile_server(script) as url:
        rec = Recorder(Target(url, "m"), Limits(max_body_bytes=limit, max_events=10**9))
        ex, _, peak = _traced(lambda: rec.record("s", "POST", "/responses", {"model": "m", "stream": True}))
    assert ex.error_kind == "too_large" and ex.body_size == limit
    assert peak < 10 * limit, f"peak {peak >> 20} MiB for a {limit >> 20} MiB bound"


def test_br_is_asked_for_only_when_the_installed_brotli_bounds_a_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without brotli, or with a release whose ``process`` takes no ``output_buffer_limit`` (before 1.2: a bomb
    would inflate in one call), br is neither asked for nor decoded: a br answer is then an error naming it."""
    from conformance.record import _decode

    class Unbounded:  # brotli < 1.2: process(data) only
        class Decompressor:
            def process(self, data: bytes) -> bytes:
                return b""

    assert _decode._brotli_bounded()
    monkeypatch.setattr(_decode, "_brotli", None)
    assert not _decode._brotli_bounded()
    monkeypatch.setattr(_decode, "_brotli", Unbounded)
    assert not _decode._brotli_bounded()
    monkeypatch.setattr(_decode, "BROTLI", False)
    with pytest.raises(_decode.DecodeError, match="'br' was not asked for"):
        _decode.BoundedDecoder("br", 1 << 20)
