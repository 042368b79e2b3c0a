"""Benchmark: SSE parsing and judging throughput, and peak memory, on synthetic long streams.

Speed and memory are measured here, never asserted in timed tests. Run:

    .venv/bin/python bench/bench_judge.py [--deltas 20000] [--chunk 1024] [--repeat 3]

Prints one line per measurement: parse MB/s (incremental, given chunk size), full judge time
of one long streamed exchange through every registered check, and tracemalloc peak.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

from conformance.judge.checks import CheckContext, run_checks
from conformance.record.exchange import Exchange, RecordedRequest
from conformance.record.sse import SSEParser


def synthetic_stream(deltas: int) -> bytes:
    """A spec-shaped message stream with ``deltas`` text deltas (what a long answer looks like)."""
    rid, iid = "resp_bench", "msg_bench"
    base = {"id": rid, "object": "response", "created_at": 1, "status": "in_progress", "error": None,
            "incomplete_details": None, "instructions": None, "model": "bench", "output": [],
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "temperature": 1.0, "top_p": 1.0,
            "metadata": {}}
    words = [f"w{i} " for i in range(deltas)]
    text = "".join(words)
    events: list[dict] = [
        {"type": "response.created", "response": base},
        {"type": "response.in_progress", "response": base},
        {"type": "response.output_item.added", "output_index": 0,
         "item": {"type": "message", "id": iid, "status": "in_progress", "role": "assistant", "content": []}},
        {"type": "response.content_part.added", "item_id": iid, "output_index": 0, "content_index": 0,
         "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}},
    ]
    events += [{"type": "response.output_text.delta", "item_id": iid, "output_index": 0, "content_index": 0,
                "delta": w, "logprobs": []} for w in words]
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    item = {"type": "message", "id": iid, "status": "completed", "role": "assistant", "content": [part]}
    usage = {"input_tokens": 5, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0}, "output_tokens": deltas,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": deltas + 5}
    events += [
        {"type": "response.output_text.done", "item_id": iid, "output_index": 0, "content_index": 0, "text": text,
         "logprobs": []},
        {"type": "response.content_part.done", "item_id": iid, "output_index": 0, "content_index": 0, "part": part},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": {**base, "status": "completed", "output": [item], "usage": usage}},
    ]
    out = bytearray()
    for seq, event in enumerate(events):
        event["sequence_number"] = seq
        out += f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
    return bytes(out)


def bench(deltas: int, chunk: int, repeat: int) -> None:
    stream = synthetic_stream(deltas)
    mb = len(stream) / 1e6
    best_parse = best_judge = float("inf")
    events = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        parser = SSEParser()
        events = []
        for i in range(0, len(stream), chunk):
            events += parser.feed(stream[i:i + chunk])
        events += parser.close()
        best_parse = min(best_parse, time.perf_counter() - t0)
        ex = Exchange("bench", RecordedRequest("POST", "http://bench/v1/responses", "/responses", {}, {"stream": True}, True),
                      status=200, headers=[("content-type", "text/event-stream")], body=stream, events=events)
        ctx = CheckContext(endpoint="create", request_body={"stream": True, "model": "bench"}, stream=True)
        t1 = time.perf_counter()
        results = list(run_checks(ex, ctx))
        best_judge = min(best_judge, time.perf_counter() - t1)
    failed = [r.name for r in results if r.outcome.value == "fail"]
    print(f"stream: {len(events)} events, {mb:.2f} MB; chunk {chunk} B")
    print(f"parse: {best_parse:.3f} s best of {repeat} ({mb / best_parse:.1f} MB/s)")
    print(f"judge: {best_judge:.3f} s best of {repeat} for {len(results)} checks ({len(events) / best_judge:,.0f} events/s)"
          + (f"; FAILED (benchmark stream must be valid): {failed}" if failed else ""))
    tracemalloc.start()
    parser = SSEParser()
    for i in range(0, len(stream), chunk):
        parser.feed(stream[i:i + chunk])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"parse peak memory: {peak / 1e6:.1f} MB for {mb:.2f} MB of stream (events discarded as parsed)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deltas", type=int, default=20000)
    ap.add_argument("--chunk", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    bench(args.deltas, args.chunk, args.repeat)


if __name__ == "__main__":
    main()
