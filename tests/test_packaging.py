"""What CI tests against is what users install: constraints.txt is current, and every install line uses it.

The slow half (building the wheel and running it from elsewhere) is tests/test_wheel.py; these are the
cheap checks that keep the pins, the README, the GitHub Actions example and the plugin registration honest.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; on 3.10 these few checks are left to CI's 3.11
ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "github-actions-gate.yml"
WHEEL_INSTALL = "pip install dist/responses_conformance-*.whl -c constraints.txt"


def _constraints_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_constraints", ROOT / "scripts" / "constraints.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    pairs = [line.split("==") for line in lines if line and not line.startswith("#")]
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pairs}


def test_constraints_pin_exactly_the_runtime_dependencies_this_venv_tests() -> None:
    script = _constraints_script()
    fresh = script.render(script.runtime_pins())
    assert (ROOT / "constraints.txt").read_text(encoding="utf-8") == fresh, (
        "constraints.txt is stale: regenerate with .venv/bin/python scripts/constraints.py")


def test_every_declared_dependency_is_pinned_and_no_dev_tool_is() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = _pins()
    for raw in project["dependencies"]:
        req = Requirement(raw)
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pins, f"{req.name}: a runtime dependency without a pin in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req.name}=={pins[name]} outside {req.specifier}"
    for raw in project["optional-dependencies"]["dev"]:
        assert re.sub(r"[-_.]+", "-", Requirement(raw).name).lower() not in pins


def test_the_github_actions_example_installs_what_the_wheel_test_installs() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    jobs = re.split(r"\n  (?=[a-z_-]+:\n)", text.split("\njobs:\n", 1)[1])
    using = [job for job in jobs if re.search(r"^ +(- run: |run: |)responses-conformance ", job, re.M)]
    assert len(using) == 2  # the gate and the matrix
    for job in using:
        assert "actions/checkout@" in job and "pip wheel --no-deps -w dist ." in job and WHEEL_INSTALL in job, job
    assert not re.search(r"pip install responses-conformance\b(?! -c)", text)
    wheel_test = (ROOT / "tests" / "test_wheel.py").read_text(encoding="utf-8")
    assert '"-c", str(ROOT / "constraints.txt")' in wheel_test


def test_the_readme_installs_with_the_constraints() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    installs = [line for line in readme.splitlines() if re.search(r"pip install (?!-q)", line)]
    assert installs and all("-c constraints.txt" in line for line in installs), installs


def test_scripts_test_installs_with_the_constraints_and_has_a_fast_tier() -> None:
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    assert "-e '.[dev]' -c constraints.txt" in script
    assert 'ARGS+=(-m unit)' in script


def test_the_pytest_entry_point_is_named_after_the_plugin_module() -> None:
    """pytest skips an entry point whose name is already registered: with the module's own name, the command's
    ``plugins=[pytest_plugin]``, ``-p conformance.pytest_plugin`` and the entry point are one plugin, never two."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"]["pytest11"] == {"conformance.pytest_plugin": "conformance.pytest_plugin"}
    assert not (ROOT / "conftest.py").exists()  # a root conftest.py registering it again is gone


def test_the_plugin_is_loaded_once_in_this_session(pytestconfig: pytest.Config) -> None:
    import conformance.pytest_plugin as plugin

    registered = [p for p in pytestconfig.pluginmanager.get_plugins() if p is plugin]
    assert registered == [plugin]
    assert pytestconfig.pluginmanager.get_plugin("conformance.pytest_plugin") is plugin


def test_the_plugin_never_clashes_with_other_plugins_flags(tmp_path: Path) -> None:
    """Installed, the plugin loads in every pytest session: its flags carry the --conformance- prefix, so a
    plugin that declares --base-url (pytest-base-url, behind pytest-playwright) or --profile keeps working."""
    import subprocess
    import sys

    (tmp_path / "other_plugin.py").write_text(
        "def pytest_addoption(parser):\n"
        "    parser.addoption('--base-url')\n"
        "    parser.addoption('--profile', action='store_true')\n")
    (tmp_path / "test_x.py").write_text("def test_x(request):\n    assert request.config.getoption('base_url') == 'u'\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "other_plugin", "-p", "no:cacheprovider",
                           "--base-url", "u", "test_x.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "1 passed" in proc.stdout
