"""The providers file: parsing, one-line errors naming the line, and `run --config` end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.run.config import ProvidersFileError, check_auth_env, load_providers, resolve_headers

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "providers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """\
defaults:
  timeouts: {idle: 30, deadline: 90}
  concurrency: 2
providers:
  - name: ref
    base_url: embedded
    models: [reference-1, reference-mini]
  - name: ref-deviated
    base_url: embedded
    deviations: [accept_unknown_model]
    models:
      - name: reference-1
        capabilities: {tools: false}
  - name: gateway
    base_url: https://gw.example/v1/
    auth: {env: GW_KEY, header: api-key, scheme: ""}
    headers: {X-Org: "${GW_ORG}", X-Title: conformance}
    rate_limit: {requests_per_minute: 120}
    capabilities: {vision: false}
    models:
      - gpt-4o
      - name: o4-mini
        capabilities: {vision: true, reasoning: false}
"""


def test_parses_providers_models_and_defaults(tmp_path: Path) -> None:
    pf = load_providers(write(tmp_path, GOOD))
    ref, dev, gw = pf.providers
    assert ref.embedded and [m.name for m in ref.models] == ["reference-1", "reference-mini"]
    assert ref.concurrency == 2 and ref.limits.idle_timeout_s == 30 and ref.limits.deadline_s == 90
    assert dev.deviations == ("accept_unknown_model",) and dev.models[0].skip_capabilities == ("tools",)
    assert gw.base_url == "https://gw.example/v1" and gw.auth.header == "api-key" and gw.auth.scheme == ""
    assert gw.requests_per_minute == 120
    # provider-wide capabilities apply to every model; a model may override them
    assert gw.models[0].skip_capabilities == ("vision",)
    assert gw.models[1].skip_capabilities == ("reasoning",)
    assert [t.label for t in pf.targets()] == ["ref / reference-1", "ref / reference-mini", "ref-deviated / reference-1",
                                               "gateway / gpt-4o", "gateway / o4-mini"]
    assert [t.label for t in pf.targets(["ref"], ["reference-mini"])] == ["ref / reference-mini"]


def test_headers_and_keys_come_from_the_environment(tmp_path: Path) -> None:
    pf = load_providers(write(tmp_path, GOOD))
    target = pf.targets(["gateway"])[0]
    assert resolve_headers(target, {"GW_ORG": "org-1"}) == ["X-Org: org-1", "X-Title: conformance"]
    with pytest.raises(ProvidersFileError, match=r"providers.yaml:17: .*GW_ORG is not set"):
        resolve_headers(target, {})
    with pytest.raises(ProvidersFileError, match=r"providers.yaml:14: .*GW_KEY is not set"):
        check_auth_env(target, {})
    check_auth_env(target, {"GW_KEY": "k"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("providers:\n  - name: a\n    base_url: ftp://x\n    models: [m]\n", r":3: provider 'a'.base_url: expected an http\(s\) URL"),
        ("providers:\n  - name: a\n    base_url: embedded\n    models: []\n", r":4: provider 'a'.models: expected a non-empty list"),
        ("providers:\n  - name: a\n    base_url: embedded\n    modles: [m]\n", r":4: providers\[0\]: unknown key 'modles'"),
        ("providers:\n  - name: a\n    base_url: embedded\n    concurrency: 0\n    models: [m]\n", r":4: provider 'a'.concurrency: expected an integer >= 1"),
        ("providers:\n  - name: a\n    base_url: embedded\n    deviations: [nope]\n    models: [m]\n", r":4: .*unknown deviation 'nope'"),
        ("providers:\n  - name: a\n    base_url: embedded\n    models:\n      - name: m\n        capabilities: {vision: no}\n",
         r":6: .*capabilities.vision: expected true or false"),
        ("providers:\n  - name: a\n    base_url: embedded\n    models: [m]\n  - name: a\n    base_url: embedded\n    models: [m]\n",
         r":5: provider 'a': name used twice"),
        ("providers:\n  - name: a\n    base_url: https://x/v1\n    auth: {env: K, header: 'bad header'}\n    models: [m]\n",
         r":4: provider 'a'.auth.header: 'bad header' is not a valid name"),
        ("providers: [\n", r":2: invalid YAML"),
        ("# everything commented out\n", r":1: empty file"),
        ("providers:\n#  - name: a\n", r":1: providers: expected a non-empty list"),
    ],
)
def test_bad_files_name_the_line(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ProvidersFileError, match=expected) as info:
        load_providers(write(tmp_path, text))
    assert str(info.value).startswith(str(tmp_path / "providers.yaml"))
    assert "\n" not in str(info.value)


def test_unknown_provider_filter_is_an_error(tmp_path: Path) -> None:
    pf = load_providers(write(tmp_path, GOOD))
    with pytest.raises(ProvidersFileError, match="--provider 'nope': not in this file"):
        pf.targets(["nope"])


def test_shipped_example_file_is_valid() -> None:
    pf = load_providers(ROOT / "providers.example.yaml")
    names = [p.name for p in pf.providers]
    assert "reference" in names and any(p.deviations for p in pf.providers)


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=300)


def test_run_config_runs_every_target_and_writes_the_matrix(tmp_path: Path) -> None:
    path = write(tmp_path, """\
providers:
  - name: ref
    base_url: embedded
    models: [reference-1, reference-mini]
  - name: ref-deviated
    base_url: embedded
    deviations: [accept_unknown_model]
    models:
      - name: reference-1
        capabilities: {tools: false}
""")
    proc = cli("run", "-q", "--config", str(path), "-k", "basic or errors.unknown_model or tools", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    reports = tmp_path / "reports"
    docs = {p.name: json.loads(p.read_text()) for p in reports.glob("*.json")}
    assert set(docs) == {"ref__reference-1.json", "ref__reference-mini.json", "ref-deviated__reference-1.json"}
    assert docs["ref__reference-mini.json"]["run"]["model"] == "reference-mini"
    assert all(c["outcome"] == "pass" for c in docs["ref__reference-1.json"]["cases"])
    dev = {c["id"]: c for c in docs["ref-deviated__reference-1.json"]["cases"]}
    assert dev["errors.unknown_model"]["outcome"] == "fail"
    tools = [c for c in dev.values() if c["group"] == "tools"]
    assert tools and all(c["outcome"] == "skipped" and "declared" in c["message"] for c in tools)
    assert (reports / "matrix.html").is_file()
    assert "matrix: " in proc.stdout


def test_run_config_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  - name: gw\n    base_url: https://gw.invalid/v1\n    auth: {env: NO_SUCH_KEY_VAR_X}\n    models: [m]\n")
    proc = cli("run", "--config", str(path), cwd=tmp_path, env={"NO_SUCH_KEY_VAR_X": ""})
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "providers.yaml:2:" in lines[0] and "NO_SUCH_KEY_VAR_X" in lines[0], proc.stderr
    proc = cli("run", "--config", str(path), "--base-url", "http://x/v1", cwd=tmp_path)
    assert proc.returncode == 2 and "--config: cannot be combined" in proc.stderr


@pytest.mark.parametrize("flag", [["--profile", "openresponses"], ["--concurrency", "2"], ["--idle-timeout", "5"],
                                  ["--deadline", "30"]])
def test_a_per_target_flag_beside_config_is_refused_not_ignored(tmp_path: Path, flag: list[str]) -> None:
    """The providers file sets these per provider; `run --config F --profile X` used to run under the file's value."""
    path = write(tmp_path, "providers:\n  - name: reference\n    base_url: embedded\n    models: [reference-1]\n")
    proc = cli("run", "--config", str(path), *flag, cwd=tmp_path)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"--config: {flag[0]} cannot be combined" in lines[0], proc.stderr
    assert not (tmp_path / "reports").exists()  # refused before anything ran
