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

    Cached: every SDK step's outcome and every run's metadata carry it; what a running process has installed does
    not change under it. Read from the package's ``dist-info`` directly when that is unambiguous
    (:func:`_dist_info_version`), else through ``importlib.metadata``, whose import alone is about 15 ms of every
    run's start-up."""
    found = _dist_info_version("openai")
    if found is not None:
        return found
    from importlib import metadata

    try:
        return metadata.version("openai")
    except metadata.PackageNotFoundError:
        return None


def _dist_info_version(name: str) -> str | None:
    """``Version:`` of the one ``<name>-*.dist-info`` in the first ``sys.path`` folder holding any metadata of
    ``name`` (where ``importlib.metadata`` finds it); None (ask ``importlib.metadata``) for anything else: several
    candidates, an ``.egg-info``, a zip, an unreadable file."""
    import os
    import re
    import sys

    def normal(project: str) -> str:  # PEP 503: runs of -_. are one -, case folded
        return re.sub(r"[-_.]+", "-", project).lower()

    wanted = normal(name)
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # a zip, a missing folder: importlib.metadata knows those
            continue
        found = [n for n in names if n.lower().endswith((".dist-info", ".egg-info"))
                 and normal(n.rpartition(".")[0].partition("-")[0]) == wanted]
        if not found:
            continue
        if len(found) != 1 or not found[0].lower().endswith(".dist-info"):
            return None
        try:
            with open(os.path.join(entry or ".", found[0], "METADATA"), encoding="utf-8") as fh:
                for line in fh:
                    if line.startswith("Version:"):
                        return line.partition(":")[2].strip() or None
                    if not line.strip():  # the end of the headers
                        return None
        except OSError:
            return None
        return None
    return None


def __getattr__(name: str) -> Any:  # lazy: keep `import conformance.cases` free of openai/httpx2
    if name == "record_sdk_step":
        from ._runner import record_sdk_step

        return record_sdk_step
    raise AttributeError(name)
