"""What a finding rests on, and what it counts for: bases, the run's policy, finding keys, known divergences.

A ``fail`` is a claim that a server breaks a stated rule (docs/verdicts.md). Checks report findings with the
basis of the rule they apply; :func:`classify` turns each into ``fail``, ``warning`` or ``note`` under the run's
:class:`JudgePolicy` (``--spec-strict``, ``--strict-behaviour``, ``--spec-as-of``), in one place, so the
registry checks, the case assertions, ``judge`` and every report agree.
"""

from __future__ import annotations

from .classify import classify, classify_result
from .keys import finding_key, normalise_path
from .policy import JudgePolicy

__all__ = ["JudgePolicy", "classify", "classify_result", "finding_key", "normalise_path"]
