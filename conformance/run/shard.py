"""``--shard I/N``: split the cases over N machines or CI jobs, deterministically.

Why round-robin over the sorted case ids: every shard of one commit gets the same split on any machine
(no seed, no collection order), the shares differ by at most one case, and the results files of all N
shards merge into one matrix column (``responses-conformance matrix shards/*.json``: shards of one
provider/model are disjoint). Cases deselected by a shard are "not run", never stale baseline entries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Shard", "parse_shard"]

_SHARD_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``total``."""

    index: int
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"

    @property
    def suffix(self) -> str:
        """For file names: ``shard2of4``."""
        return f"shard{self.index}of{self.total}"

    def select(self, case_ids: Iterable[str]) -> set[str]:
        """The ids this shard runs: every ``total``-th of the sorted ids, starting at ``index - 1``."""
        ordered = sorted(set(case_ids))
        return {cid for n, cid in enumerate(ordered) if n % self.total == self.index - 1}


def parse_shard(text: str) -> Shard:
    """``"2/4"`` -> ``Shard(2, 4)``; a ``ValueError`` with a one-line message otherwise."""
    m = _SHARD_RE.match(text or "")
    if m is None:
        raise ValueError(f"--shard {text!r}: expected I/N, e.g. 1/4")
    index, total = int(m.group(1)), int(m.group(2))
    if total < 1 or not 1 <= index <= total:
        raise ValueError(f"--shard {text!r}: I must be between 1 and N (N >= 1)")
    return Shard(index, total)
