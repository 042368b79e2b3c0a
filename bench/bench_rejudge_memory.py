"""Benchmark: peak memory of ``judge --recording`` on a large synthetic recording, streamed and loaded whole.

Measured here, never asserted in timed tests (tests/test_recording_stream.py proves the structure: nothing of
a case handed over is kept while the next is read). Writes a recording of ``--mb`` megabytes of HAR JSON
(uncompressed): ``N`` copies of one long streamed answer (``bench/bench_judge.py``'s spec-shaped stream of
``--deltas`` text deltas, parsed by the recorder's SSE parser; with ``--json`` the same answer as one JSON
Response), one per case of a generated cases folder, then
re-judges it in a child process per measurement and prints the child's peak resident set (``VmHWM`` of
``/proc/self/status``, read by the child itself at the end: a child's ``ru_maxrss`` would include its parent's
high-water mark at the fork, and the parent has just written the file):

* ``floor``: re-judging a one-case recording (the interpreter, imports, the cases and one judging);
* ``read case by case``: every case of the large recording read (``RecordingReader.cases``), nothing judged
  or kept: the reader's own cost;
* ``streamed``: ``rejudge`` of the large recording with this checkout's code (case by case); each judged case
  keeps the bounded evidence a live run keeps for its reports (``Exchange.compact``: 2 x 64 KiB of body, up to
  2,000 events), so this grows with the number of cases as a live run does, not with the file;
* ``read whole``: ``read_recording`` of it with this checkout's code (every case's exchanges held at once,
  nothing judged: what any whole-file reader holds at least);
* ``--baseline REF``: ``rejudge`` of it with the code of git revision ``REF`` (``git archive`` into a
  temporary folder, put first on ``PYTHONPATH``), e.g. the last commit before reading was streamed.

Every measurement also prints its CPU time and the outcomes it judged (they must agree). Run:

    .venv/bin/python bench/bench_rejudge_memory.py [--mb 200] [--deltas 2500] [--json] [--baseline a281612] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_judge import synthetic_stream  # noqa: E402
from conformance.record.exchange import Exchange, RecordedRequest  # noqa: E402
from conformance.record.har import HarWriter, entry_of  # noqa: E402
from conformance.record.sse import SSEParser  # noqa: E402

MIB = 1 << 20

CASE = """\
  - id: basic.bench_{n:05d}
    title: A long answer (bench/bench_rejudge_memory.py)
    group: {group}
    spec: [openai-openapi.yaml#/components/schemas/Response]
    capabilities: [{capability}]
    steps:
      - name: create
        request:
          body:
            model: !model
            max_output_tokens: {cap}
            stream: {stream}
            input: Write a long answer.
        expect:
          - status: 200
"""

#: the child: re-judge (or read) one recording, then report its own peak resident set
CHILD = r"""
import collections, json, sys, time
from pathlib import Path
import conformance
mode, recording, cases = sys.argv[1:4]
start = time.process_time()
if mode == "read":
    from conformance.record.har import read_recording
    got = read_recording(Path(recording))
    outcomes = {"read": len(got.cases)}
elif mode == "scan":
    from conformance.record.har import RecordingReader
    with RecordingReader(Path(recording)) as reader:
        outcomes = {"read": sum(1 for case in reader.cases())}
else:
    from conformance.run.rejudge import rejudge
    done = rejudge(Path(recording), cases_dir=Path(cases), env={})
    outcomes = dict(collections.Counter(r.outcome.value for r in done.results))
cpu = time.process_time() - start
status = Path("/proc/self/status").read_text()
hwm_kib = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
print(json.dumps({"hwm_mib": hwm_kib / 1024, "cpu_s": cpu, "outcomes": outcomes, "code": conformance.__file__}))
"""


def long_answer(deltas: int, streamed: bool = True) -> Exchange:
    """One exchange as the recorder keeps it: a streamed answer (the body and its events, parsed in 1 KiB reads),
    or the same answer as one JSON Response (the stream's final ``response``)."""
    stream = synthetic_stream(deltas)
    parser = SSEParser()
    events = []
    for i in range(0, len(stream), 1024):
        events += parser.feed(stream[i:i + 1024], arrival_s=0.001 * i / 1024)
    events += parser.close()
    request = RecordedRequest("POST", "http://127.0.0.1:1/v1/responses", "/responses",
                              {"Content-Type": "application/json", "Authorization": "Bearer <redacted>"},
                              {"model": "bench", "max_output_tokens": deltas + 100, "stream": streamed,
                               "input": "Write a long answer."}, streamed)
    if not streamed:
        body = json.dumps(json.loads(events[-1].data)["response"]).encode()
        return Exchange("create", request, 200, [("content-type", "application/json")], body,
                        started_at=1764633600.0, elapsed_s=1.5, ttfb_s=1.4, curl="curl -sS ...")
    return Exchange("create", request, 200, [("content-type", "text/event-stream")], stream, events=events,
                    started_at=1764633600.0, elapsed_s=1.5, ttfb_s=0.05, curl="curl -sS ...")


def write_recording(folder: Path, cases: int, exchange: Exchange, name: str) -> Path:
    """``cases`` cases (each the one exchange) in ``folder/name`` and their definitions in ``folder/cases``."""
    case_dir = folder / "cases"
    case_dir.mkdir(exist_ok=True)
    body = exchange.request.body
    group, capability = ("streaming", "streaming") if body["stream"] else ("basic", "core")
    (case_dir / "bench.yaml").write_text("cases:\n" + "".join(
        CASE.format(n=n, cap=body["max_output_tokens"], stream=str(body["stream"]).lower(), group=group,
                    capability=capability) for n in range(cases)))
    record = {"outcome": "pass", "model": "bench", "variables": {}, "problems": [], "declined_step": None,
              "contradicted": {}, "skip_reason": None, "duration_s": 1.5, "target_down": None}
    path = folder / name
    writer = HarWriter(path)
    for n in range(cases):
        writer.add(f"basic.bench_{n:05d}", record, [exchange])
    writer.close({"judge": {"profile": "openai"}, "run": {"provider": "bench", "model": "bench"}})
    return path


def measure(label: str, mode: str, recording: Path, cases: Path, pythonpath: Path | None = None) -> dict[str, Any]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(pythonpath or ROOT))
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(recording), str(cases)], capture_output=True,
                          text=True, env=env, timeout=3600, cwd=recording.parent)  # not this checkout's folder
    if proc.returncode != 0:
        print(f"{label}: failed\n{proc.stderr[-3000:]}")
        sys.exit(1)
    got: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{label:<34} peak RSS {got['hwm_mib']:8.1f} MiB   CPU {got['cpu_s']:6.1f} s   {got['outcomes']}"
          f"   ({Path(got['code']).parent.parent})", flush=True)
    return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=200, help="uncompressed HAR size to write, in MB (default 200)")
    ap.add_argument("--deltas", type=int, default=2500, help="text deltas (words) per answer (default 2500)")
    ap.add_argument("--json", action="store_true", help="each answer one JSON Response, not a stream (try "
                    "--deltas 150000: 1 MB each)")
    ap.add_argument("--baseline", metavar="REF", help="also re-judge with the code of this git revision")
    ap.add_argument("--no-whole", action="store_true", help="skip the read-whole measurement")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="write the files here and keep them")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-rejudge-"))
    folder.mkdir(parents=True, exist_ok=True)
    exchange = long_answer(args.deltas, streamed=not args.json)
    entry_chars = len(json.dumps(entry_of(exchange, "basic.bench_00000", 0)))
    cases = max(1, math.ceil(args.mb * 1e6 / entry_chars))
    small = write_recording(folder, 1, exchange, "one.har.gz")
    big = write_recording(folder, cases, exchange, "big.har.gz")  # the cases folder now holds all of them
    print(f"recording: {cases} cases of one {'JSON' if args.json else 'streamed'} answer "
          f"({len(exchange.body) / MIB:.2f} MiB body, "
          f"{len(exchange.events or [])} events, {entry_chars / MIB:.2f} MiB as a HAR entry); "
          f"{cases * entry_chars / 1e6:.0f} MB of HAR JSON, {big.stat().st_size / 1e6:.1f} MB gzip-compressed")
    measure("floor (a one-case recording)", "rejudge", small, folder / "cases")
    measure("read case by case (RecordingReader)", "scan", big, folder / "cases")
    measure("streamed (this checkout)", "rejudge", big, folder / "cases")
    if not args.no_whole:
        measure("read whole (read_recording)", "read", big, folder / "cases")
    if args.baseline:
        base = Path(tempfile.mkdtemp(prefix="bench-rejudge-base-"))
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
        measure(f"baseline {args.baseline} (whole-file load)", "rejudge", big, folder / "cases", base)
    if args.keep is None:
        for path in sorted(folder.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        folder.rmdir()


if __name__ == "__main__":
    main()
