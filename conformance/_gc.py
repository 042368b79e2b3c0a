"""Garbage-collector settings for a command's process: collect reference cycles less often.

Why: a run allocates millions of small containers (parsed bodies, events, findings) that live until the reports
are written, and hardly any cycles. With CPython's default thresholds (a young collection every 700 net
allocations) a full suite ran about 540 collections over that growing heap, a sixth of the client's CPU on
the reference server (bench/bench_cpu.py); with 10,000, about 40. Fewer, larger young collections still
collect every cycle, at a small, bounded cost in memory.
"""

from __future__ import annotations

import gc

#: net allocations between two young collections (CPython's default: 700)
YOUNG = 10_000


def tune() -> None:
    """Raise the young threshold (never lowers one already raised); the older generations keep theirs."""
    young, middle, old = gc.get_threshold()
    if young and young < YOUNG:  # 0: collection disabled on purpose by the embedding process; leave it so
        gc.set_threshold(YOUNG, middle, old)
