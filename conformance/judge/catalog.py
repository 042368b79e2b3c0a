"""Everything that judges, loaded: importing this registers every automatic check and ``expect:`` assertion.

``RULES`` is the one registry (``conformance.judge.registry.ENTRIES``) by public name; ``list-checks`` prints it.
"""

from __future__ import annotations

from . import checks as _checks  # noqa: F401 - registers the automatic checks
from . import expect as _expect  # noqa: F401 - registers the expect: assertions
from .registry import ENTRIES as RULES

__all__ = ["RULES"]
