"""docs/peers.md "Fuzzing" is generated (peers/fuzz_summary.py) from the committed fuzz results, never hand-edited.

No peer is started: the section is compared with what the script renders from reports/peers/fuzz/*.json, and the
renderer is checked on a small results document (a finding with its shrunk request and curl line; a kind without
one says how many examples found nothing).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "peers"))

import fuzz_summary  # noqa: E402

RESULTS = ROOT / "reports" / "peers" / "fuzz"
DOC = ROOT / "docs" / "peers.md"


def test_the_committed_fuzzing_section_is_what_the_script_generates() -> None:
    files = sorted(RESULTS.glob("*__*.json"))
    assert files, "reports/peers/fuzz/ holds no results (peers/fuzz writes them)"
    expected = fuzz_summary.render([fuzz_summary.load(p) for p in files])
    doc = DOC.read_text(encoding="utf-8")
    assert fuzz_summary.rewrite(doc, expected) == doc, \
        "docs/peers.md Fuzzing differs from the results: run python3 peers/fuzz_summary.py reports/peers/fuzz/*.json --doc docs/peers.md"


def test_every_committed_fuzz_run_is_seeded_and_fuzz_only() -> None:
    """A committed run is reproducible: its seed is fixed (the database was not replayed) and it sent no case."""
    for path in sorted(RESULTS.glob("*__*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        fuzz = doc["run"]["fuzz"]
        assert isinstance(fuzz["seed"], int) and fuzz["replayed_database"] is False, path.name
        assert all(c["group"] == "fuzz" for c in doc["cases"]), path.name


def _row(kind: str, key: str, outcome: str, title: str, message: str, body: Any = None,
         check: str = "expect.status", basis: str = "error-class") -> dict[str, Any]:
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    return {"id": f"fuzz.{kind}.{digest}", "group": "fuzz", "outcome": outcome, "title": f"fuzz ({kind}): {title}",
            "message": message,
            "checks": [{"name": check, "outcome": "fail", "basis": basis,
                        "findings": [{"severity": "fail", "basis": basis, "key": key}]}],
            "exchanges": [{"status": 200, "body": '{"id": "resp_0123456789abcdef", "created_at": 1796184269}',
                           "request": {"body": body},
                           "curl": "curl -sS --compressed -X POST http://127.0.0.1:1/v1/responses -H 'Accept: "
                                   "application/json' -H 'User-Agent: x' -H \"Authorization: Bearer $K\" "
                                   f"--data-raw '{json.dumps(body)}'"}]}


def test_a_finding_shows_basis_shrunk_request_curl_and_the_cases_that_share_it(tmp_path: Path) -> None:
    key = "expect.status|accepted|missing_model:model"
    body = {"input": "Reply with exactly the token OK.", "max_output_tokens": 16}
    rows = [{"id": "fuzz.valid", "group": "fuzz", "outcome": "pass", "title": "fuzz (valid requests): no failure",
             "message": "214 example(s), seed 13: no failure", "checks": [], "exchanges": []},
            _row("invalid", key, "fail", "expect.status: an invalid request (missing_model:model) was accepted: "
                 "expected HTTP status 400, got 200 (body: '{...}')",
                 "...; seen in 20 of 250 example(s), seed 13; smallest request (2 fields) (no model): ...", body)]
    results = tmp_path / "fuzz" / "peer__m.json"
    results.parent.mkdir()
    run = {"provider": "peer", "model": "m", "fuzz": {"seed": 13, "examples_per_kind": 200, "replayed_database": False}}
    results.write_text(json.dumps({"run": run, "cases": rows}))
    (tmp_path / "peer__m.json").write_text(json.dumps({"findings": [
        {"key": key, "severity": "fail", "cases": ["errors.missing_model"]}]}))
    text = fuzz_summary.render([fuzz_summary.load(results)], cases_dir=tmp_path)
    assert "| peer / m | **1** |" in text
    assert "**valid requests: no finding in 214 examples**" in text
    line = next(ln for ln in text.splitlines() if "fuzz.invalid." in ln)
    assert "[error-class]" in line and "was accepted" in line and "(body:" not in line
    assert "seen in 20 of 250 examples" in line and "the cases find it too: errors.missing_model" in line
    assert json.dumps(body, separators=(",", ":")) in text
    curl = next(ln.strip() for ln in text.splitlines() if ln.strip().startswith("curl "))
    assert "--compressed" not in curl and "User-Agent" not in curl and "Authorization: Bearer $K" in curl
    assert "PEERS=peer SEED=13 EXAMPLES=200 peers/fuzz" in text
    assert "resp_0123456789abcdef" not in text and '"created_at":N' in text


def test_rewrite_replaces_only_the_block_and_refuses_a_doc_without_one(tmp_path: Path) -> None:
    doc = f"before\n{fuzz_summary.START}\nold\n{fuzz_summary.END}\nafter\n"
    assert fuzz_summary.rewrite(doc, "new\n") == f"before\n{fuzz_summary.START}\nnew\n{fuzz_summary.END}\nafter\n"
    target = tmp_path / "peers.md"
    target.write_text("no block here\n")
    assert fuzz_summary.main([str(RESULTS / "missing__x.json"), "--doc", str(target)]) == 2
