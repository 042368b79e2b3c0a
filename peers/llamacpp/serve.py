#!/usr/bin/env python3
"""Run the llama.cpp HTTP server (in process, through the ``xllamacpp`` wheel) on a tiny random-weight GGUF.

    peers/.venv-llamacpp/bin/python peers/llamacpp/serve.py --host 127.0.0.1 --port 18120

Started by ``peers/peerctl.py up llamacpp``. The GGUF is written by ``make_gguf.py`` (beside this file) into
``peers/.run/llamacpp/`` on first use, and again whenever ``make_gguf.py`` is newer than it. The bearer key
is ``PEERS_LLAMACPP_KEY`` (llama.cpp's ``--api-key``); the model is served as ``tiny-random-llama``
(``--alias``). The model never samples its end token (make_gguf.py), so generation is bounded server-side
(``--n-predict 256``): a reply runs to ``max_output_tokens`` when the request sets a lower one, else to 256
tokens (~50 ms here). Sampling uses a fixed seed (``--seed``) so that runs are reproducible. Blocks until
SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
GGUF = HERE.parent / ".run" / "llamacpp" / "tiny-random-llama.gguf"
MODEL_NAME = "tiny-random-llama"
N_PREDICT = 256     # server-side bound on generated tokens per request (replies never end earlier)
N_PARALLEL = 4      # slots = the suite's default concurrency
N_CTX = 4 * 4096    # total context, split across the slots (4096 tokens each = the GGUF's training context)
SEED = 42


def ensure_gguf() -> Path:
    maker = HERE / "make_gguf.py"
    if not GGUF.is_file() or GGUF.stat().st_mtime < maker.stat().st_mtime:
        subprocess.run([sys.executable, str(maker), str(GGUF)], check=True)
    return GGUF


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=18120)
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args()

    import xllamacpp

    key = os.environ.get("PEERS_LLAMACPP_KEY")
    if not key:
        print("serve.py: PEERS_LLAMACPP_KEY is not set (python3 peers/peerctl.py env)", file=sys.stderr)
        return 2
    params = xllamacpp.CommonParams()
    params.model.path = str(ensure_gguf())
    params.model_alias = {MODEL_NAME}
    params.hostnames = [args.host]
    params.port = args.port
    params.api_keys = [key]
    params.n_ctx = N_CTX
    params.n_parallel = N_PARALLEL
    params.n_predict = N_PREDICT
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.sampling.seed = SEED
    params.warmup = False
    params.ui = False

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = xllamacpp.Server(params)  # loads the model and starts listening in background threads
    print(f"serve.py: xllamacpp {xllamacpp.__version__} serving {MODEL_NAME} on {server.listening_address}", flush=True)
    while not stop.wait(3600):
        pass
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
