"""``--shard I/N``: a deterministic, balanced, disjoint split whose shards merge back into one column."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.report.matrix import load
from conformance.run.shard import Shard, parse_shard

KEYWORD = "basic or errors.unknown_model or errors.missing_model or parameters.metadata_echo or streaming.text"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, env=dict(os.environ),
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("text", ["", "1", "0/2", "3/2", "1/0", "a/b", "1/2/3", "-1/2"])
def test_malformed_shards_are_one_line_errors(text: str) -> None:
    with pytest.raises(ValueError, match=r"^--shard .*: "):
        parse_shard(text)


def test_parse() -> None:
    assert parse_shard(" 2 / 4 ") == Shard(2, 4) and str(Shard(2, 4)) == "2/4" and Shard(2, 4).suffix == "shard2of4"


@given(st.sets(st.text(min_size=1, max_size=8), max_size=60), st.integers(min_value=1, max_value=7))
def test_shards_partition_the_cases_evenly_whatever_their_order(ids: set[str], total: int) -> None:
    parts = [Shard(i, total).select(sorted(ids, reverse=i % 2 == 0)) for i in range(1, total + 1)]
    assert set().union(*parts) == ids
    assert sum(len(p) for p in parts) == len(ids)  # disjoint
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_cli_shards_merge_into_the_whole_run(tmp_path: Path) -> None:
    whole = cli("run", "-q", "-k", KEYWORD, "--reports", str(tmp_path / "whole"), cwd=tmp_path)
    assert whole.returncode == 0, whole.stdout[-2000:] + whole.stderr
    (whole_json,) = (tmp_path / "whole").glob("*.json")
    expected = {c["id"] for c in json.loads(whole_json.read_text())["cases"]}
    paths = []
    for i in (1, 2):
        run = cli("run", "-q", "-k", KEYWORD, "--shard", f"{i}/2", "--reports", str(tmp_path / "shards"), cwd=tmp_path)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr
        path = tmp_path / "shards" / f"reference__reference-1__shard{i}of2.json"
        doc = json.loads(path.read_text())
        assert doc["run"]["shard"] == f"{i}/2" and doc["run"]["complete"] is True and doc["cases"]
        paths.append(path)
    matrix = load(paths)
    assert len(matrix.columns) == 1 and {r.id for r in matrix.rows} == expected


def test_baseline_entries_of_other_shards_are_not_stale(tmp_path: Path) -> None:
    base = ["run", "-q", "-k", KEYWORD, "--baseline", "baselines/", "--deviate", "accept_unknown_model",
            "--deviate", "no_metadata_echo"]
    rec = cli(*base, "--update-baseline", cwd=tmp_path)
    assert rec.returncode == 0, rec.stdout[-2000:] + rec.stderr
    for i in (1, 2):
        run = cli(*base, "--strict", "--shard", f"{i}/2", cwd=tmp_path)
        assert run.returncode == 0, f"shard {i}/2:\n" + run.stdout[-3000:] + run.stderr
    bad = cli("run", "-q", "--shard", "3/2", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1] == (
        "responses-conformance: error: --shard '3/2': I must be between 1 and N (N >= 1)")
