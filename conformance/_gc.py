"""Garbage-collector settings for a command's process: collect reference cycles less often.

Why: a run allocates millions of small containers (parsed bodies, events, findings) that live until the reports
are written, and hardly any cycles. With CPython's default thresholds (a young collection every 700 net
allocations) a full suite ran about 540 collections over that growing heap, a sixth of the client's CPU on
the reference server (bench/bench_cpu.py); with 10,000, about 40. Fewer, larger young collections still
collect every cycle, at a small, bounded cost in memory.

The middle generation is collected after every 100 young collections instead of 10: each of its passes walks
every survivor of the young ones (the run's growing results, the official SDK's models) without finding
anything, 30 to 50 ms each; the full suite ran two or three, now none. Each survivor is still walked once when
that generation is collected, so a longer run does the same work, later; cycles that outlive a young
collection wait longer, bounded by allocations as before.
"""

from __future__ import annotations

import gc

#: net allocations between two young collections (CPython's default: 700)
YOUNG = 10_000
#: young collections between two collections of the middle generation (CPython's default: 10)
MIDDLE = 100


def tune() -> None:
    """Raise the young and middle thresholds (never lowers one already raised); the oldest keeps its own."""
    young, middle, old = gc.get_threshold()
    if young:  # 0: collection disabled on purpose by the embedding process; leave it so
        gc.set_threshold(max(young, YOUNG), max(middle, MIDDLE), old)
