"""Recordings are read case by case (conformance/record/har.py ``RecordingReader``), not loaded whole.

Re-judging a recording holds the case being judged, not the file: the reader walks the document a JSON value
at a time (conformance/record/_jsonstream.py). Proved here: a recording of many cases re-judged through small
reads, or rewritten into another layout (pretty-printed, keys reordered, the cases' entries interleaved,
uncompressed), gives the live run's verdicts; nothing of a case handed over is kept while the next is read;
every file that cannot be read - wherever the damage is - is one line naming the file, exit 2, nothing written.
The memory itself is measured by bench/bench_rejudge_memory.py, not asserted here.
"""

from __future__ import annotations

import gc
import gzip
import json
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_recording import SUBSET, _assert_same_run, _odd_exchanges, _rejudge, _run, _write

from conformance import cli
from conformance.record import har
from conformance.record.har import HarWriter, RecordingReader

#: deviations, so that the compared verdicts include fails (tests/test_recording.py DEVIATIONS)
DEVIATIONS = ("delta_text_mismatch", "unknown_id_500")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], Path]:
    """One live run of many cases on the reference server: its folder, results document and recording."""
    folder = tmp_path_factory.mktemp("live")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)  # the run and every re-judging share the working directory (tests/test_recording.py)
        live, path = _run(folder, "-k", SUBSET, *[a for d in DEVIATIONS for a in ("--deviate", d)])
    return folder, live, path


@pytest.fixture
def live_run(recorded: tuple[Path, dict[str, Any], Path], monkeypatch: pytest.MonkeyPatch,
             tmp_path: Path) -> tuple[dict[str, Any], Path]:
    folder, live, path = recorded
    monkeypatch.chdir(folder)
    return live, path


def _doc(path: Path) -> dict[str, Any]:
    return dict(json.loads(gzip.decompress(path.read_bytes())))


def test_many_cases_read_in_small_pieces_give_the_live_verdicts(
        live_run: tuple[dict[str, Any], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    live, path = live_run
    assert len(live["cases"]) >= 40 and live["summary"]["counts"]["fail"] >= 5, live["summary"]["counts"]
    monkeypatch.setattr(har, "_CHUNK_BYTES", 509)  # every entry straddles reads, many are read in dozens
    code, again = _rejudge(path, tmp_path / "again.json")
    assert code == cli.EXIT_FAIL
    _assert_same_run(live, again)


def _interleaved(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries with the cases' entries taken in turn (each case's own order kept): as no writer of ours lays them."""
    by_case: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_case.setdefault(entry["_conformance"]["case"], []).append(entry)
    queues = list(by_case.values())[::-1]
    out: list[dict[str, Any]] = []
    while queues:
        queues = [q for q in queues if q]
        for queue in queues:
            out.append(queue.pop(0))
    assert len(out) == len(entries) and out != entries
    return out


def test_another_layout_of_the_same_recording_gives_the_same_verdicts(
        live_run: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    """A hand-edited or foreign writer's layout: pretty-printed, uncompressed, ``_conformance`` ahead of the entries,
    extra keys, the cases' entries interleaved. Read the same way, in bounded pieces; no whole-file fallback."""
    live, path = live_run
    doc = _doc(path)
    log = doc["log"]
    rewritten = {"comment": "edited", "log": {"_conformance": log["_conformance"], "pages": [{"id": "p"}],
                                              "entries": _interleaved(log["entries"]),
                                              "creator": log["creator"], "version": log["version"]}}
    plain = tmp_path / "edited.har"
    plain.write_text(json.dumps(rewritten, indent=2))
    code, again = _rejudge(plain, tmp_path / "again.json")
    assert code == cli.EXIT_FAIL
    _assert_same_run(live, {**again, "run": {**again["run"], "recording": live["run"]["recording"]}})


def test_nothing_of_a_case_handed_over_is_kept_while_the_next_is_read(live_run: tuple[dict[str, Any], Path]) -> None:
    _, path = live_run
    alive: list[weakref.ref[Any]] = []
    handed = 0
    with RecordingReader(path) as reader:
        for case in reader.cases():
            gc.collect()
            assert [r for r in alive if r() is not None] == [], f"exchanges of the case before {case.id} still held"
            alive = [weakref.ref(ex) for ex in case.exchanges]
            handed += bool(case.exchanges)
            del case
    assert handed >= 40


# ---------------------------------------------------------------- what cannot be read


def _judge_bad(path: Path, tmp: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Re-judge ``path``: it must be one line naming the file, exit 2, no results written; the line."""
    capsys.readouterr()
    out = tmp / "out.json"
    code = cli.main(["judge", "--recording", str(path), "--json", str(out)])
    stdout, err = capsys.readouterr()
    assert code == cli.EXIT_USAGE and stdout == "", (stdout, err)
    assert err.count("\n") == 1 and err.startswith(f"judge: {path}: "), err
    assert not out.exists()
    return err.strip()


def test_a_recording_cut_anywhere_is_one_line(live_run: tuple[dict[str, Any], Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    _, path = live_run
    data = path.read_bytes()
    for fraction in (0.1, 0.5, 0.97):
        cut = tmp_path / f"cut{fraction}.har.gz"
        cut.write_bytes(data[: int(len(data) * fraction)])
        assert "unreadable gzip (Compressed file ended before the end-of-stream marker was reached); a run cut " \
               "short leaves no recording" in _judge_bad(cut, tmp_path, capsys)
    for at, reasons in ((len(data) // 2, ("unreadable gzip (", "not JSON: ")), (len(data) - 8, ("CRC check failed",))):
        flipped = bytearray(data)
        flipped[at] ^= 0xFF  # a byte of the deflate stream (garbage inflated, or a bad block), then of the CRC
        damaged = tmp_path / "damaged.har.gz"
        damaged.write_bytes(bytes(flipped))
        line = _judge_bad(damaged, tmp_path, capsys)
        assert any(reason in line for reason in reasons), line


def test_an_unfinished_recording_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What a run killed mid-way leaves: the partial file decompresses up to its last case, then stops."""
    writer = HarWriter(tmp_path / "x.har.gz")
    for i in range(5):
        writer.add(f"c{i}", {"outcome": "pass"}, _odd_exchanges())
    [partial] = tmp_path.glob("*.partial")
    copy = tmp_path / "copy.har.gz"
    copy.write_bytes(partial.read_bytes())
    writer.discard()
    assert "unreadable gzip (" in _judge_bad(copy, tmp_path, capsys)
    plain = tmp_path / "unfinished.har"  # the same, gunzipped as far as it goes: a JSON document without its end
    plain.write_bytes(_inflate_what_is_there(copy.read_bytes()))
    line = _judge_bad(plain, tmp_path, capsys)
    assert "not JSON: Expecting" in line and f"(char {len(plain.read_bytes())})" in line


def _inflate_what_is_there(data: bytes) -> bytes:
    import zlib

    return zlib.decompressobj(31).decompress(data)


def _many(tmp: Path, cases: int = 30) -> tuple[Path, str]:
    """A recording of ``cases`` cases (seven exchanges each) written by HarWriter: its path and its JSON text."""
    path = tmp / "many.har.gz"
    _write(path, [(f"c{i}", _odd_exchanges()) for i in range(cases)])
    return path, gzip.decompress(path.read_bytes()).decode()


def _gz(tmp: Path, name: str, text: str | bytes) -> Path:
    path = tmp / name
    path.write_bytes(gzip.compress(text.encode() if isinstance(text, str) else text))
    return path


def test_wrong_json_deep_in_a_recording_is_named_where_it_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Bad syntax in entry 150 of 210: json's own message, positioned in the whole document."""
    _, text = _many(tmp_path)
    marker = '"case": "c21", "index": 3'
    at = text.index(marker)
    broken = text[:at] + '"case": "c21" "index": 3' + text[at + len(marker):]
    with pytest.raises(json.JSONDecodeError) as want:
        json.loads(broken)
    line = _judge_bad(_gz(tmp_path, "broken.har.gz", broken), tmp_path, capsys)
    assert line.endswith(f"not JSON: {want.value}") and want.value.pos > 100_000


def _entry_where(text: str, case: str, index: int) -> tuple[int, int]:
    """The span of one entry's line in a file our writer wrote (one entry per line)."""
    start = text.rfind("\n", 0, text.index(f'"case": "{case}", "index": {index}')) + 1
    end = text.index("\n", start)
    return start, end - (1 if text[end - 1] == "," else 0)


NOT_HAR = {
    "json_array": ("[1, 2]", 'expected a HAR object {"log": ...}'),
    "log_not_object": ('{"log": []}', "$.log: expected dict, got list"),
    "entries_not_array": ('{"log": {"entries": {}, "_conformance": {}}}', "log.entries: expected list, got dict"),
    "no_entries": ('{"log": {"_conformance": {"format": 1, "cases": []}}}', "log.entries: missing"),
    "entries_twice": ('{"log": {"entries": [], "entries": [], "_conformance": {}}}', "log.entries: given twice"),
    "text": ("hello", "not JSON: Expecting value: line 1 column 1 (char 0)"),
    "extra_data": ('{"log": {}} {"log": {}}', "not JSON: Extra data: line 1 column 13 (char 12)"),
    "not_utf8": (b'{"log": {"version": "\xff"}}', "not UTF-8 text (byte 21); not a HAR file"),
}


@pytest.mark.parametrize("kind", sorted(NOT_HAR))
def test_a_file_that_is_not_a_recording_is_one_line(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text, reason = NOT_HAR[kind]
    assert _judge_bad(_gz(tmp_path, "x.har.gz", text), tmp_path, capsys).endswith(reason)
    plain = tmp_path / "x.har"  # the same, not compressed
    plain.write_bytes(text.encode() if isinstance(text, str) else text)
    assert _judge_bad(plain, tmp_path, capsys).endswith(reason)


def test_a_bad_entry_after_many_good_cases_stops_the_whole_rejudging(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Cases are judged as they are read; a fault found late still writes nothing (no results of half a run)."""
    _, text = _many(tmp_path)
    start, end = _entry_where(text, "c29", 6)
    entry = json.loads(text[start:end])
    entry["_conformance"]["events"] = "none"
    bad = text[:start] + json.dumps(entry) + text[end:]
    line = _judge_bad(_gz(tmp_path, "late.har.gz", bad), tmp_path, capsys)
    assert line.endswith("log.entries[209]._conformance.events: expected list or null, got str")


def test_entries_that_do_not_match_the_case_records_are_one_line(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _, text = _many(tmp_path, cases=3)
    start, end = _entry_where(text, "c1", 6)
    twice = text[:end] + ",\n" + text[start:end].replace('"index": 6', '"index": 7') + text[end:]
    assert _judge_bad(_gz(tmp_path, "more.har.gz", twice), tmp_path, capsys).endswith(
        "log._conformance.cases[1].exchanges: 7 recorded, more entries found for 'c1' (log.entries[14])")
    stranger = text.replace('"case": "c2", "index": 0', '"case": "c9", "index": 0')
    assert _judge_bad(_gz(tmp_path, "stranger.har.gz", stranger), tmp_path, capsys).endswith(
        "log.entries[14]._conformance.case: 'c9' is not among log._conformance.cases")
    start, end = _entry_where(text, "c0", 6)
    fewer = text[:start - 2] + text[end:]  # c0's last entry gone (with the comma before it)
    assert _judge_bad(_gz(tmp_path, "fewer.har.gz", fewer), tmp_path, capsys).endswith(
        "log._conformance.cases[0].exchanges: 7 recorded, 6 entries found for 'c0'")


def test_reading_twice_reads_the_same(tmp_path: Path) -> None:
    path, _ = _many(tmp_path, cases=4)
    with RecordingReader(path) as reader:
        first: Iterator[Any] = reader.cases()
        assert [c.exchanges for c in first] == [c.exchanges for c in reader.cases()] == [_odd_exchanges()] * 4
        assert reader.meta["judge"] == {"profile": "openai"} and "cases" not in reader.meta
        under_way = reader.cases()
        next(under_way)
        with pytest.raises(RuntimeError, match="already under way"):
            next(reader.cases())
        under_way.close()
        assert len(list(reader.cases())) == 4
