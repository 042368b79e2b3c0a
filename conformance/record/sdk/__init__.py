"""Official SDK compatibility: drive the target with the ``openai`` Python package, record, judge.

A step with ``transport: sdk`` names an SDK method (``call: responses.create``) and its keyword
arguments (``args:``). The SDK runs on an HTTP client whose transport hands every request to the
suite's :class:`~conformance.record.http.Recorder` - the one network seam - so its traffic is
recorded, bounded (idle timeout, deadline, size) and redacted exactly like a raw case's, and the
automatic checks judge it too. What the SDK made of the answer (the object it returned, dumped
with ``model_dump``, or the exception it raised) is kept on the exchange as ``sdk`` and judged by
the ``sdk_*`` assertions (``conformance/judge/expect/sdk.py``): recording never imports judging.

Nothing here imports ``openai`` at module import time: the package is loaded only when an SDK
step runs or an SDK outcome is diagnosed.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["CALLS", "record_sdk_step", "sdk_version"]

#: The SDK methods a step may call (``request.call``); docs/sdk.md describes each.
CALLS: tuple[str, ...] = (
    "responses.create",
    "responses.stream",
    "responses.parse",
    "responses.retrieve",
    "responses.delete",
    "responses.cancel",
    "responses.input_items.list",
)
#: Calls whose answer is a stream of events (``responses.create`` too when ``args.stream`` is true).
STREAMING_CALLS = frozenset({"responses.stream"})


@lru_cache(maxsize=1)
def sdk_version() -> str | None:
    """The installed ``openai`` package version (None when it is not installed).

    Cached: every SDK step's outcome carries it, and reading the package metadata costs about a millisecond of
    CPU each time; what a running process has installed (and imports) does not change under it."""
    from importlib import metadata  # lazy: importing it costs more CPU than most commands need

    try:
        return metadata.version("openai")
    except metadata.PackageNotFoundError:
        return None


def __getattr__(name: str) -> Any:  # lazy: keep `import conformance.cases` free of openai/httpx2
    if name == "record_sdk_step":
        from ._runner import record_sdk_step

        return record_sdk_step
    raise AttributeError(name)
