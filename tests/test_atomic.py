"""Reports are written whole or not at all, and all with the mode a new file gets (conformance/_atomic.py)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import conformance.api as api
from conformance._atomic import write_atomically, write_text_atomically


@pytest.fixture
def umask_027() -> Iterator[int]:
    old = os.umask(0o027)
    try:
        yield 0o640
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_written_file_gets_the_umask_mode_not_mkstemps_0600(tmp_path: Path, umask_027: int) -> None:
    target = tmp_path / "deep" / "report.txt"
    write_text_atomically(target, "whole")
    assert target.read_text() == "whole" and _mode(target) == umask_027
    os.umask(0o022)
    write_text_atomically(target, "again")
    assert target.read_text() == "again" and _mode(target) == 0o644


def test_a_write_that_raises_leaves_the_old_file_and_nothing_beside_it(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")

    def half(fh):  # type: ignore[no-untyped-def]
        fh.write("{\"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, half)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_every_report_of_a_run_has_the_same_readable_mode(tmp_path: Path, umask_027: int) -> None:
    out = tmp_path / "out"
    api.run(keyword="basic.text", reports=out, concurrency=1)
    written = sorted(out.iterdir())
    assert {p.suffix for p in written} == {".json", ".html", ".xml", ".gz"}
    assert {p.name: _mode(p) for p in written} == {p.name: umask_027 for p in written}
