"""The embedded reference server: a spec-faithful Responses API on loopback.

It is the suite's default target and its test double.  Undeviated, it must pass every
case; each named *deviation* (:data:`DEVIATIONS`) breaks exactly one thing so that every
check can be proven to fail, and each *variant* (:data:`VARIANTS`) is valid-but-unusual
behaviour the suite must tolerate.  Written from the spec alone: it imports nothing from
the suite's checks, schemas, cases or engine.

>>> with ReferenceServer(deviations=["sequence_gap"]) as srv:   # doctest: +SKIP
...     httpx.post(srv.base_url + "/responses", json={"model": MODEL_NAME, "input": "hi"})
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from types import TracebackType

from ._api import Api
from ._behaviours import DEVIATIONS, PROFILES, VARIANTS, Behaviour
from ._requests import MODELS
from ._server import _Server, make_server

__all__ = ["DEVIATIONS", "MODELS", "MODEL_NAME", "PROFILES", "VARIANTS", "ReferenceServer"]

MODEL_NAME = "reference-1"


class ReferenceServer:
    """A Responses API server with a deterministic model, on a background thread or in the foreground."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None,
                 deviations: Iterable[str] = (), variants: Iterable[str] = (), verbose: bool = False,
                 websocket: bool = True, profile: str = "openai") -> None:
        """``websocket=False`` declines the WebSocket transport (upgrades get a 404), like a provider without it.

        ``profile="openresponses"`` makes every object follow the Open Responses spec where it differs from
        OpenAI's (extra required Response fields, ``presence_penalty``/``frequency_penalty`` accepted...)."""
        self.behaviour = Behaviour.create(deviations, variants, profile)
        self._api = Api(self.behaviour)
        self._httpd: _Server = make_server(host, port, self._api, api_key, verbose, websocket)
        self._thread: threading.Thread | None = None
        self._foreground = False

    @property
    def base_url(self) -> str:
        """e.g. ``http://127.0.0.1:54321/v1``."""
        host, port = self._httpd.server_address[:2]
        host = str(host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}/v1"

    @property
    def profile(self) -> str:
        return self.behaviour.profile

    @property
    def deviations(self) -> frozenset[str]:
        return self.behaviour.deviations

    @property
    def variants(self) -> frozenset[str]:
        return self.behaviour.variants

    def start(self) -> ReferenceServer:
        """Serve on a daemon thread; returns ``self``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01},
                                            name="reference-server", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted (used by ``responses-conformance serve``)."""
        self._foreground = True
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self._api.close()
            self._httpd.server_close()

    def stop(self) -> None:
        """Stop serving and close the listening socket (idempotent)."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        elif self._foreground:
            self._httpd.shutdown()
        self._api.close()
        self._httpd.server_close()

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
