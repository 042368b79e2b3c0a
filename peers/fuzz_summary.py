#!/usr/bin/env python3
"""The "Fuzzing" section of docs/peers.md from the committed fuzz results (peers/fuzz calls this).

    python3 peers/fuzz_summary.py reports/peers/fuzz/*.json --doc docs/peers.md   # rewrite the generated block
    python3 peers/fuzz_summary.py reports/peers/fuzz/*.json                       # print it

Why generated: a fuzz finding is a seed, an example count and a shrunk request; a hand-copied request drifts from
the evidence the moment the fuzzer or a peer changes. Per peer (one results file of ``run --fuzz-only``): how the
run was made (seed, examples per kind, how many ran), then every distinct finding (one ``fuzz.<kind>.<hash>`` row:
the fuzzer already folds the examples of one cause into one row, docs/fuzz.md) with its basis, how often it was
seen, its smallest request as sent and the curl line that replays it, and whether the hand-written cases found the
same finding key (their results in reports/peers/); then what is no finding (declines, inconclusive answers,
warnings) in one line each. A kind without a failure says "no finding in N examples". Stdlib only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

START, END = "<!-- fuzz:start -->", "<!-- fuzz:end -->"
HERE = Path(__file__).resolve().parent
#: the hand-written cases' results of the same peers: a fuzz finding with a key they also have says so
CASES_DIR = HERE.parent / "reports" / "peers"
KINDS = ("valid", "invalid")
#: ``fuzz (kind): check: what`` -> the check the finding is named after
_TITLE = re.compile(r"^fuzz \((?:valid|invalid)\): (?:warning: )?(?P<check>[\w.]+):")
#: the run's numbers in a row's message: "seen in 12 of 316 example(s), seed 13"
_SEEN = re.compile(r"seen in (?P<count>\d+) of (?P<total>\d+) example\(s\), seed (?P<seed>\d+)")
_RAN = re.compile(r"^(?P<total>\d+) example\(s\), seed (?P<seed>\d+)")


def load(path: Path) -> dict[str, Any]:
    """One ``run --fuzz-only`` results file: its run header and its fuzz rows."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    rows = [c for c in doc["cases"] if c.get("group") == "fuzz"]
    return {"path": path, "run": doc["run"], "rows": rows}


def case_keys(name: str, cases_dir: Path = CASES_DIR) -> dict[str, list[str]]:
    """Finding key digest (as a fuzz row id ends) -> the hand-written cases with that finding, for the same peer
    (its cases' results file has the fuzz results file's ``name``: both are ``<provider>__<model>.json``)."""
    path = cases_dir / name
    if not path.is_file():
        return {}
    findings = json.loads(path.read_text(encoding="utf-8")).get("findings") or []
    return {hashlib.sha1(f["key"].encode()).hexdigest()[:10]: sorted(f.get("cases") or [])
            for f in findings if f.get("severity") == "fail" and f.get("key")}


def _kind(row: dict[str, Any]) -> str:
    return str(row["id"]).split(".")[1]


def _basis(row: dict[str, Any]) -> str:
    """The basis of the check the finding is named after (the first failing finding of it, else the check's)."""
    m = _TITLE.match(row.get("title") or "")
    checks = [c for c in row.get("checks") or [] if c.get("outcome") == "fail"]
    named = [c for c in checks if m and c["name"] == m.group("check")] or checks
    for chk in named:
        for f in chk.get("findings") or []:
            if f.get("severity") == "fail" and f.get("basis"):
                return str(f["basis"])
        if chk.get("basis"):
            return str(chk["basis"])
    return "?"


def _label(row: dict[str, Any]) -> str:
    """What was found: the row's title without its ``fuzz (kind):`` prefix, ids blanked, one line."""
    text = re.sub(r"^fuzz \((?:valid|invalid)\): ", "", row.get("title") or "")
    text = re.sub(r"\b(resp|msg|fc|call|item)_[0-9a-f]{8,}", r"\1_…", text).split(" (body: ", 1)[0]
    return " ".join(text.split()).replace("`", "′")


def _request(row: dict[str, Any]) -> str:
    ex = (row.get("exchanges") or [{}])[0]
    req = ex.get("request") or {}
    if req.get("raw_body") is not None:
        return str(req["raw_body"])
    return json.dumps(req.get("body"), ensure_ascii=False, separators=(",", ":"))


def _answer(row: dict[str, Any]) -> str:
    """The status and the start of what came back (the body, or how many events)."""
    ex = (row.get("exchanges") or [{}])[0]
    if ex.get("error_kind"):
        return f"no answer ({ex['error_kind']})"
    events = ex.get("events") or []
    if events:
        return f"{ex.get('status')}, {len(events)} events"
    body = " ".join(str(ex.get("body") or "").split())
    body = re.sub(r"\b(resp|msg|fc|call|item)_[0-9a-f]{8,}", r"\1_…", body)
    body = re.sub(r'"(created_at|completed_at)":\s*\d+', r'"\1":N', body)
    return f"{ex.get('status')}: `{body[:160].replace('`', '′')}`" + ("…" if len(body) > 160 else "")


#: what the recorded curl line carries that replaying the request does not need (the client's defaults)
_CLIENT_DEFAULTS = re.compile(r" (?:--compressed|-H '(?:Accept|Accept-Encoding|User-Agent): [^']*')")


def _curl(row: dict[str, Any]) -> str:
    """The recorded curl line, without the client's default headers: the request, the key, nothing else."""
    return _CLIENT_DEFAULTS.sub("", str(((row.get("exchanges") or [{}])[0]).get("curl") or ""))


def _seen(row: dict[str, Any]) -> str:
    m = _SEEN.search(row.get("message") or "")
    return f"seen in {m.group('count')} of {m.group('total')} examples" if m else ""


def _ran(rows: list[dict[str, Any]], kind: str) -> int | None:
    """How many examples the kind judged (generation and shrinking), from its summary row or any of its rows."""
    for row in rows:
        if _kind(row) != kind and row["id"] != f"fuzz.{kind}":
            continue
        m = _RAN.match(row.get("message") or "") or _SEEN.search(row.get("message") or "")
        if m:
            return int(m.group("total"))
    return None


def render_peer(peer: dict[str, Any], cases_dir: Path = CASES_DIR) -> list[str]:
    run, rows = peer["run"], peer["rows"]
    fuzz = run.get("fuzz") or {}
    seed, per_kind = fuzz.get("seed"), fuzz.get("examples_per_kind")
    provider, model = run["provider"], run["model"]
    out = [f"### {provider} / {model}", ""]
    ran = ", ".join(f"{kind} {_ran(rows, kind)}" for kind in KINDS if _ran(rows, kind) is not None)
    out.append(f"`{peer['path'].name}`: seed {seed}, {per_kind} examples per kind ({ran} requests judged, shrinking "
               f"included); reproduce: `PEERS={provider} SEED={seed} EXAMPLES={per_kind} peers/fuzz`.")
    out.append("")
    known = case_keys(peer["path"].name, cases_dir)
    for kind in KINDS:
        fails = [r for r in rows if _kind(r) == kind and r.get("outcome") == "fail"]
        summary = next((r for r in rows if r["id"] == f"fuzz.{kind}"), None)
        if not fails:
            total = _ran(rows, kind)
            why = (summary or {}).get("message", "")
            out.append(f"* **{kind} requests: no finding in {total if total is not None else '?'} examples**"
                       + (f" ({why.split(': no failure', 1)[1].strip(' ()')})" if "no failure (" in why else "."))
            continue
        out.append(f"* **{kind} requests: {len(fails)} distinct finding(s)**")
        for row in fails:
            digest = str(row["id"]).rsplit(".", 1)[1]
            also = known.get(digest)
            out.append(f"  * `{row['id']}` [{_basis(row)}] {_label(row)} ({_seen(row)}"
                       + (f"; the cases find it too: {', '.join(also[:4])}{' …' if len(also) > 4 else ''}" if also else "")
                       + ")")
            out.append(f"    answer {_answer(row)}; smallest request:")
            out.append("")
            out.append("    ```json")
            out.append(f"    {_request(row)}")
            out.append("    ```")
            out.append("")
            out.append("    ```sh")
            out.append(f"    {_curl(row)}")
            out.append("    ```")
            out.append("")
    others = [r for r in rows if r.get("outcome") in ("unsupported", "error") or
              (r.get("outcome") == "pass" and str(r.get("title", "")).startswith(tuple(f"fuzz ({k}): warning" for k in KINDS)))]
    if others:
        out.append("* Not findings (not counted): " + "; ".join(
            f"{r['outcome'] + ': ' if r['outcome'] != 'pass' else ''}{_label(r)[:140]} ({_seen(r)})" for r in others))
    out.append("")
    return out


def render(peers: list[dict[str, Any]], cases_dir: Path = CASES_DIR) -> str:
    """The generated block (without its markers)."""
    out = ["Generated by `peers/fuzz_summary.py` from `reports/peers/fuzz/*.json` (`peers/fuzz`); do not edit. Each "
           "finding: its row id, [basis], what was found, how often, the status and start of the answer, the smallest "
           "(shrunk) request and the curl line that sends it (`$PEERS_…_KEY` from `python3 peers/peerctl.py env`).", ""]
    fails = {f"{p['run']['provider']} / {p['run']['model']}": sum(r.get("outcome") == "fail" for r in p["rows"])
             for p in peers}
    out.append("| provider / model | distinct fuzz findings |")
    out.append("|---|---|")
    out += [f"| {label} | **{n}** |" for label, n in fails.items()]
    out.append("")
    for peer in peers:
        out += render_peer(peer, cases_dir)
    return "\n".join(out).rstrip() + "\n"


def rewrite(doc: str, block: str) -> str:
    """``doc`` with the text between the fuzz markers replaced by ``block``; ValueError without the markers."""
    if START not in doc or END not in doc:
        raise ValueError(f"no {START} ... {END} block")
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{block}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("results", nargs="+", type=Path)
    p.add_argument("--doc", type=Path, help="rewrite the fuzz block of this markdown file (docs/peers.md)")
    args = p.parse_args(argv)
    try:
        peers = [load(path) for path in sorted(args.results)]
    except (OSError, ValueError, KeyError) as exc:
        print(f"peers/fuzz_summary.py: {exc}", file=sys.stderr)
        return 2
    block = render(peers)
    if not args.doc:
        sys.stdout.write(block)
        return 0
    try:
        args.doc.write_text(rewrite(args.doc.read_text(encoding="utf-8"), block), encoding="utf-8")
    except (OSError, ValueError) as exc:
        print(f"{args.doc}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
