"""A loopback front for a real server that dies after N requests: the target-down tests' crash double.

Each connection carries one request (``Connection: close`` is forced), relayed to the upstream and back.
After ``answer`` requests the front *dies*: ``mode="refuse"`` closes its listening socket (connection
refused from then on, like a crashed process); ``mode="drop"`` keeps accepting but closes every connection
without a byte of answer (like a wedged proxy), counting the attempts so a test can prove sending stopped;
``mode="silent"`` keeps accepting and reading but never answers (a hung process: the recorder's idle limit ends
each wait).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from tests._hostile import _read_request


@dataclass
class Front:
    base_url: str
    answered: int = 0
    dropped: int = 0


def _force_close(request: bytes) -> bytes:
    head, _, body = request.partition(b"\r\n\r\n")
    lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
    return b"\r\n".join(lines + [b"Connection: close"]) + b"\r\n\r\n" + body


def _relay(conn: socket.socket, request: bytes, upstream: tuple[str, int]) -> None:
    with socket.create_connection(upstream, timeout=30) as up:
        up.sendall(_force_close(request))
        while True:
            chunk = up.recv(65536)
            if not chunk:
                break
            conn.sendall(chunk)


@contextmanager
def dying_front(upstream_url: str, answer: int, mode: str = "refuse") -> Iterator[Front]:
    """Yield a :class:`Front` whose ``base_url`` answers ``answer`` requests through ``upstream_url``, then dies."""
    parts = urlsplit(upstream_url)
    upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.1)
    front = Front(f"http://127.0.0.1:{sock.getsockname()[1]}{parts.path}")
    lock = threading.Lock()
    stop = threading.Event()
    dead = threading.Event()

    def handle(conn: socket.socket, serve: bool) -> None:
        try:
            request = _read_request(conn)
            if serve and request:
                _relay(conn, request, upstream)
            elif mode == "silent":  # accepted, read, and never answered: a hung process
                stop.wait()
        except OSError:
            pass
        finally:
            conn.close()

    def loop() -> None:
        while not stop.is_set() and not dead.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            with lock:
                serve = front.answered < answer
                if serve:
                    front.answered += 1
                else:
                    front.dropped += 1
                if front.answered >= answer and mode == "refuse":
                    dead.set()  # this request is the last one answered; nothing is accepted after it
            threading.Thread(target=handle, args=(conn, serve), daemon=True).start()
        if dead.is_set():
            sock.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield front
    finally:
        stop.set()
        thread.join(timeout=2)
        sock.close()
