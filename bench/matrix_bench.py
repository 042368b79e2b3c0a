"""Benchmark the matrix at scale: synthetic results files → generation time and HTML size.

    .venv/bin/python bench/matrix_bench.py                 # 500 cases x 20 columns
    .venv/bin/python bench/matrix_bench.py --cases 1000 --columns 40 --keep out/

Synthetic, but shaped like real runs: ~15% streaming cases with 40-event transcripts,
JSON bodies of a few KB, a mix of outcomes with failed checks. Prints timings; no
assertions (timings belong in a report, not a test).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.report import write_results  # noqa: E402
from conformance.report.matrix import load, render  # noqa: E402

GROUPS = ["parameters", "input", "basic", "statuses", "streaming", "endpoints", "errors", "extensions", "tools", "state"]


def synthetic_case(i: int, rng: random.Random) -> dict[str, Any]:
    group = GROUPS[i % len(GROUPS)]
    outcome = rng.choices(["pass", "fail", "unsupported", "error", "skipped"], [80, 10, 5, 2, 3])[0]
    stream = group == "streaming" or i % 7 == 0
    body = {"id": f"resp_{i:06d}", "object": "response", "status": "completed",
            "output": [{"type": "message", "content": [{"type": "output_text", "text": "lorem ipsum " * rng.randint(10, 200)}]}]}
    events = None
    if stream:
        events = [{"index": n, "event": "response.output_text.delta", "id": None,
                   "data": json.dumps({"type": "response.output_text.delta", "delta": "tok ", "sequence_number": n}),
                   "arrival_s": n / 100} for n in range(40)]
    checks = [{"name": f"check.{k}", "outcome": "pass", "message": "", "spec_ref": "openai-openapi.yaml#/x", "step": "create",
               "severity": "error", "findings": []} for k in range(12)]
    if outcome == "fail":
        checks.append({"name": "response.schema", "outcome": "fail", "message": "$.usage: 'input_tokens' is a required property",
                       "spec_ref": "openai-openapi.yaml#/components/schemas/Response", "step": "create", "severity": "error",
                       "findings": [{"message": "'input_tokens' is a required property", "path": "$.usage"}]})
    return {
        "id": f"{group}.case_{i:04d}", "title": f"Synthetic case {i} about {group}", "group": group,
        "capabilities": ["core"], "spec": ["openai-openapi.yaml#/paths/~1responses/post"], "file": "cases/x.yaml", "line": i,
        "outcome": outcome, "message": "" if outcome == "pass" else f"{outcome}: synthetic reason {i}", "checks": checks,
        "duration_s": 0.1, "tokens": {"input": 10, "output": 5, "total": 15},
        "exchanges": [{
            "step": "create",
            "request": {"method": "POST", "url": "https://api.example/v1/responses", "headers": {"Authorization": "Bearer $KEY"},
                        "body": {"model": "m", "input": "Reply with exactly the token PONG.", "stream": stream}, "stream": stream},
            "status": 200, "headers": [["content-type", "text/event-stream" if stream else "application/json"]],
            "body": "" if stream else json.dumps(body), "body_bytes": 2000, "body_truncated": False,
            "events": events, "event_count": len(events) if events else None, "elapsed_s": 0.5, "ttfb_s": 0.1,
            "error_kind": None, "error": None,
            "curl": "curl -sS -X POST https://api.example/v1/responses -H 'Authorization: Bearer $KEY' -d '{\"model\": \"m\"}'",
        }],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="write the inputs and matrix.html here instead of a temp dir")
    args = parser.parse_args()
    rng = random.Random(1)
    out_dir = args.keep or Path(tempfile.mkdtemp(prefix="matrix-bench-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    paths = []
    for c in range(args.columns):
        doc = {"schema_version": 1,
               "run": {"provider": f"provider-{c // 2}", "model": f"model-{c % 2}", "base_url": "https://api.example/v1",
                       "spec": {"version": "x", "sha256": "0"}, "suite_version": "bench", "started_at": "", "finished_at": ""},
               "summary": {"counts": {}, "tokens": {}},
               "cases": [synthetic_case(i, rng) for i in range(args.cases)]}
        path = out_dir / f"provider-{c // 2}__model-{c % 2}.json"
        write_results(path, doc)
        paths.append(path)
    t1 = time.perf_counter()
    matrix = load(paths)
    t2 = time.perf_counter()
    page = render(matrix)
    t3 = time.perf_counter()
    out = out_dir / "matrix.html"
    out.write_text(page, encoding="utf-8")
    input_mb = sum(p.stat().st_size for p in paths) / 1e6
    print(f"{args.cases} cases x {args.columns} columns = {args.cases * args.columns} cells")
    print(f"synthetic inputs: {input_mb:.1f} MB in {t1 - t0:.2f}s")
    print(f"load+merge: {t2 - t1:.2f}s   render: {t3 - t2:.2f}s   total: {t3 - t1:.2f}s")
    print(f"matrix.html: {out.stat().st_size / 1e6:.1f} MB at {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
