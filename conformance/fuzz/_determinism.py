"""Keep hypothesis's generation independent of the suite's own source text, so a seed means the same examples.

hypothesis (6.1xx) draws about one choice in twenty from "local constants": every literal of every loaded module
outside site-packages and the standard library (``hypothesis.internal.conjecture.providers._get_local_constants``).
For the fuzzer that module set is this suite, so any new string or number literal anywhere in it changed what a
``--fuzz-seed`` generated. :func:`no_local_constants` swaps that function for one returning no constants (and
gives the draws a fresh constants cache, which holds the local pool per kind of draw) while hypothesis runs; its
global constants (edge values such as 0, -1, empty strings) stay, and they are the same for a given hypothesis
version, which constraints.txt pins. tests/test_fuzz.py fails if the swap stops working.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _providers() -> Any:
    """hypothesis's providers module if it has the two attributes the swap needs, else None (a newer layout)."""
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants  # noqa: F401 (its presence is what is checked)
    except ImportError:  # pragma: no cover - another hypothesis layout: generation still works, only less stable
        return None
    if not (callable(getattr(providers, "_get_local_constants", None)) and hasattr(providers, "CONSTANTS_CACHE")):
        return None  # pragma: no cover
    return providers


def local_constants_can_be_disabled() -> bool:
    """Whether :func:`no_local_constants` does anything with the installed hypothesis."""
    return _providers() is not None


@contextmanager
def no_local_constants() -> Iterator[None]:
    """While inside, hypothesis draws no constant from the loaded source (restored on exit, even on error)."""
    providers = _providers()
    if providers is None:  # pragma: no cover - fallback: hypothesis as it is
        yield
        return
    from hypothesis.internal.cache import LRUCache
    from hypothesis.internal.constants_ast import Constants

    empty = Constants()
    saved_get, saved_cache = providers._get_local_constants, providers.CONSTANTS_CACHE
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE = LRUCache(1024)
    try:
        yield
    finally:
        providers._get_local_constants, providers.CONSTANTS_CACHE = saved_get, saved_cache


__all__ = ["local_constants_can_be_disabled", "no_local_constants"]
