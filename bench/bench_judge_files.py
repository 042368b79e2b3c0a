"""Benchmark: offline ``judge`` time on 1/2/4 MB hostile inputs (time must grow linearly with size).

Speed is measured here, never asserted in timed tests. Run:

    .venv/bin/python bench/bench_judge_files.py [--sizes 1,2,4] [--shapes prose,unclosed,sse,jsonl,deep]

One line per shape and size: seconds for ``judge_file`` (read, scan, judge every document, format the output),
documents judged, and the ratio to the previous size (about 2 when linear; 4 would be quadratic).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from conformance.judge.offline import Unreadable, format_document, judge_file

MB = 1024 * 1024


def _repeat(unit: str, size: int) -> str:
    return unit * (size // len(unit) + 1)


#: name -> (size -> file text). Each is a shape a hostile server or a careless export can produce.
SHAPES: dict[str, Callable[[int], str]] = {
    # prose with an empty JSON object on every line: each is decoded, none is a Response
    "prose": lambda n: _repeat("x {}\n", n),
    # prose of unterminated nested objects: each decode attempt runs far before failing (the scan budget stops it)
    "unclosed": lambda n: _repeat('{"a":' * 150 + "x\n", n),
    # prose of Response-shaped objects: capped at MAX_EMBEDDED judged documents, the rest counted
    "responses": lambda n: _repeat("see " + json.dumps({"object": "response", "id": "resp_1", "output": []}) + "\n", n),
    # an SSE transcript of tiny events (one stream document with very many events)
    "sse": lambda n: _repeat('data: {"type":"response.output_text.delta","delta":"x"}\n\n', n),
    # a JSONL event log of the same
    "jsonl": lambda n: _repeat('{"type":"response.output_text.delta","delta":"x","sequence_number":1}\n', n),
    # one deeply nested array: refused by the depth bound
    "deep": lambda n: "[" * n,
}


def measure(text: str) -> tuple[float, int, str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.txt"
        path.write_text(text)
        start = time.perf_counter()
        try:
            docs = judge_file(path)
            lines = sum(len(format_document(d)) for d in docs)
            outcome = f"{len(docs)} documents, {lines} lines"
        except Unreadable as exc:
            docs, outcome = [], f"unreadable: {exc.reason[:60]}"
        return time.perf_counter() - start, len(docs), outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,2,4", help="input sizes in MB, comma-separated")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="which shapes (default: all)")
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    for shape in args.shapes.split(","):
        previous = None
        for size in sizes:
            seconds, _, outcome = measure(SHAPES[shape](int(size * MB)))
            ratio = f"x{seconds / previous:.1f}" if previous else "-"
            print(f"{shape:<10} {size:>4g} MB  {seconds:7.2f} s  {ratio:>5}  {outcome}", flush=True)
            previous = max(seconds, 1e-3)


if __name__ == "__main__":
    main()
