"""Benchmark: offline ``judge`` time on 1/4/16 MB hostile inputs (time must grow linearly with size).

Speed is measured here, never asserted in timed tests. Run:

    .venv/bin/python bench/bench_judge_files.py [--sizes 1,4,16] [--shapes malformed-sse,distinct-sse,prose,...]

One line per shape and size: seconds for what ``responses-conformance judge`` does (read, scan, judge every
document, format the output, count the distinct findings), MB/s, documents judged, and the ratio to the
previous size's time (the size ratio when linear: 4 for 1 -> 4 MB; 16 would be quadratic).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from conformance.judge.offline import Unreadable, format_document, judge_file, summary_line

MB = 1024 * 1024


def _repeat(unit: str, size: int) -> str:
    return unit * max(1, size // len(unit))  # at most ``size``: 16 MB is judge's input bound


def _distinct_events(size: int) -> str:
    """Events that each break the schema and differ from one another (a counter in every one): nothing repeats."""
    parts: list[str] = []
    total = index = 0
    while True:
        event = (f'event: response.output_text.delta\ndata: {{"type":"response.output_text.delta",'
                 f'"sequence_number":{index},"delta":{index}}}\n\n')
        if total + len(event) > size:
            return "".join(parts)
        parts.append(event)
        total += len(event)
        index += 1


#: name -> (size -> file text). Each is a shape a hostile server or a careless export can produce.
SHAPES: dict[str, Callable[[int], str]] = {
    # a malformed stream: one event repeated, its sequence_number a string and its delta a number (the
    # findings of every event: hundreds of thousands of repeats of a few deviations)
    "malformed-sse": lambda n: _repeat('event: response.output_text.delta\ndata: {"type":"response.output_text'
                                       '.delta","sequence_number":"x","delta":1}\n\n', n),
    # a malformed stream whose events all differ (nothing cached helps): the worst case per byte
    "distinct-sse": _distinct_events,
    # a stream of events whose data is not JSON at all
    "unparsable-sse": lambda n: _repeat('data: {"type":"response.output_text.delta","delta":"x"\n\n', n),
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


def measure(text: str) -> tuple[float, float, int, str]:
    """Wall and CPU seconds (CPU: the figure that holds on a shared machine), documents, outcome."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.txt"
        path.write_text(text)
        start, cpu = time.perf_counter(), time.process_time()
        try:
            docs = judge_file(path)
            lines = sum(len(format_document(d)) for d in docs)
            outcome = f"{len(docs)} documents, {lines} lines; {summary_line(docs, 0)}"
        except Unreadable as exc:
            docs, outcome = [], f"unreadable: {exc.reason[:60]}"
        return time.perf_counter() - start, time.process_time() - cpu, len(docs), outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4,16", help="input sizes in MB, comma-separated (16 at most)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="which shapes (default: all)")
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    measure(SHAPES["malformed-sse"](64 * 1024))  # imports and schema loading: not what is measured
    for shape in args.shapes.split(","):
        previous = None
        for size in sizes:
            wall, cpu, _, outcome = measure(SHAPES[shape](int(size * MB)))
            ratio = f"x{cpu / previous:.1f}" if previous else "-"
            rate = size / max(cpu, 1e-3)
            print(f"{shape:<14} {size:>4g} MB  {wall:7.2f} s wall {cpu:7.2f} s cpu  {rate:6.2f} MB/s  {ratio:>5}  "
                  f"{outcome}", flush=True)
            previous = max(cpu, 1e-3)


if __name__ == "__main__":
    main()
