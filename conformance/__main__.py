"""``python -m conformance`` is the same as ``responses-conformance``."""

from .cli import entry

entry()
