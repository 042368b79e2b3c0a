"""Installable anywhere: the built wheel, installed into a fresh virtualenv, runs from an unrelated directory.

An editable checkout hides every packaging mistake (data files that are not shipped, a plugin that is only
found through the repository's conftest.py). So this builds the wheel from a copy of the sources, installs
it the way the README and the GitHub Actions example say (``pip install WHEEL -c constraints.txt``) into a
new venv, and from an empty temporary directory runs the main job and plain ``pytest`` over the built-in
cases, then checks the ``py.typed`` marker is installed. End to end by its module (tests/conftest.py);
needs the package index pip is configured with (or pip's cache), nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SELECTION = "basic.text or input.string"


def _run(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV", "PYTHONPATH"))}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def _ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, f"{proc.args}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built offline with the test venv's setuptools."""
    work = tmp_path_factory.mktemp("build")
    src = work / "src"  # a copy: building writes build/ and *.egg-info, which must not land in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "conformance", src / "conformance", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = work / "dist"
    _ok(_run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(dist),
              str(src)], cwd=work))
    (built,) = dist.glob("responses_conformance-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel and the constrained runtime dependencies; returns its bin/ folder."""
    work = tmp_path_factory.mktemp("venv")
    env = work / "venv"
    _ok(_run([sys.executable, "-m", "venv", str(env)], cwd=work))
    bin_dir = env / ("Scripts" if os.name == "nt" else "bin")
    _ok(_run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel),
              "-c", str(ROOT / "constraints.txt")], cwd=work, timeout=900))
    return bin_dir


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """An unrelated, empty directory: no checkout, no conftest.py, no pytest.ini nearby."""
    where = tmp_path / "elsewhere"
    where.mkdir()
    return where


def test_the_wheel_carries_every_data_file_of_the_package(wheel: Path) -> None:
    """Every file below conformance/ that is not Python (cases, schemas, divergences, requirement dates,
    unreachable elements, py.typed) is in the wheel: pyproject's package-data misses none."""
    source = {p.relative_to(ROOT).as_posix() for p in (ROOT / "conformance").rglob("*")
              if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    with zipfile.ZipFile(wheel) as zf:
        shipped = {n for n in zf.namelist() if n.startswith("conformance/")}
    assert source - shipped == set()
    for needed in ("conformance/py.typed", "conformance/suite/cases/basic.yaml",
                   "conformance/suite/schemas/openai/index.json", "conformance/report/results.schema.json",
                   "conformance/cases/case.schema.json", "conformance/judge/basis/divergences.yaml",
                   "conformance/judge/basis/requirement_dates.json", "conformance/coverage/unreachable.yaml"):
        assert needed in shipped, needed
    with zipfile.ZipFile(wheel) as zf:
        entry_points = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "[pytest11]\nconformance.pytest_plugin = conformance.pytest_plugin" in entry_points


def test_the_installed_command_runs_the_built_in_cases_from_anywhere(venv: Path, elsewhere: Path) -> None:
    proc = _ok(_run([str(venv / "responses-conformance"), "run", "-k", SELECTION, "--reports", "out", "-q"],
                    cwd=elsewhere))
    doc = json.loads((elsewhere / "out" / "reference__reference-1.json").read_text())
    assert {c["id"]: c["outcome"] for c in doc["cases"]} == {"basic.text": "pass", "input.string": "pass"}, proc.stdout


def test_plain_pytest_finds_the_plugin_and_the_built_in_cases(venv: Path, elsewhere: Path) -> None:
    out = elsewhere / "plain.json"
    proc = _ok(_run([str(venv / "python"), "-m", "pytest", "--pyargs", "conformance.suite.cases", "-k", "basic.text",
                     "-q", "--conformance-json", str(out)], cwd=elsewhere))
    assert "1 passed" in proc.stdout, proc.stdout[-2000:]
    assert [(c["id"], c["outcome"]) for c in json.loads(out.read_text())["cases"]] == [("basic.text", "pass")]


def test_the_plugin_stays_out_of_a_project_that_has_its_own_cases_folder(venv: Path, elsewhere: Path) -> None:
    """Installed, the plugin loads in every pytest session: another project's cases/*.yaml are not our cases."""
    (elsewhere / "cases").mkdir()
    (elsewhere / "cases" / "data.yaml").write_text("not: a conformance case\n")
    (elsewhere / "test_theirs.py").write_text("def test_theirs():\n    assert True\n")
    proc = _ok(_run([str(venv / "python"), "-m", "pytest", "-q"], cwd=elsewhere))
    assert "1 passed" in proc.stdout, proc.stdout[-2000:]
    assert not (elsewhere / "reports").exists()


def test_the_package_ships_its_type_information(venv: Path, elsewhere: Path) -> None:
    code = ("import conformance, importlib.resources as r; "
            "print(r.files(conformance).joinpath('py.typed').is_file(), conformance.__file__)")
    proc = _ok(_run([str(venv / "python"), "-c", code], cwd=elsewhere))
    typed, where = proc.stdout.split()
    assert typed == "True" and "site-packages" in where and not where.startswith(str(ROOT))
