"""Baselines: the non-passing cases a provider/model is *expected* to have, and gating on them.

A CI job against a real provider cannot demand 100% conformance; it can demand "no worse
than last time". A baseline records each expected non-pass with a reason; a run then
fails only on what is unexpected: a regression (a case that should pass now fails), and,
under ``--strict``, an unexpected pass (a stale entry that should be removed). The same
classification drives the exit code, the console summary and the JUnit report (expected
failures become ``<skipped>`` with the reason). See docs/baselines.md.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .._atomic import write_text_atomically
from .._yamlfile import YamlFileError, line_of, load_yaml

NON_PASS = ("fail", "unsupported", "error", "skipped")
RECORDED = ("fail", "unsupported")  # what --update-baseline writes: errors are inconclusive, skips are declared

# classifications
OK, EXPECTED, REGRESSION, UNEXPECTED_PASS, CHANGED, INCONCLUSIVE = (
    "ok", "expected", "regression", "unexpected_pass", "changed", "inconclusive")


class BaselineError(YamlFileError):
    """A malformed baseline file (names file and line)."""


@dataclass(frozen=True)
class Expectation:
    case_id: str
    outcome: str
    reason: str
    line: int = 0
    file: str = ""


@dataclass
class Baseline:
    path: Path
    provider: str = ""
    model: str = ""
    entries: dict[str, Expectation] = field(default_factory=dict)

    def get(self, case_id: str) -> Expectation | None:
        return self.entries.get(case_id)


def load_baseline(path: Path, *, missing_ok: bool = False) -> Baseline:
    """Read and validate a baseline; ``missing_ok`` gives an empty one (first ``--update-baseline``)."""
    if missing_ok and not path.exists():
        return Baseline(path)
    try:
        data = load_yaml(path)
    except YamlFileError as exc:
        raise BaselineError(exc.file, exc.line, exc.message) from None
    if data is None:
        return Baseline(path)
    if not isinstance(data, dict):
        raise BaselineError(path, 1, "expected a mapping with provider, model and expected")
    for key in data:
        if key not in ("provider", "model", "expected", "updated_at"):
            raise BaselineError(path, line_of(data, key), f"unknown key {key!r} (allowed: provider, model, expected, updated_at)")
    expected = data.get("expected") or {}
    eline = line_of(data, "expected")
    if not isinstance(expected, dict):
        raise BaselineError(path, eline, "expected: a mapping of case id to {outcome, reason}")
    entries: dict[str, Expectation] = {}
    for case_id, raw in expected.items():
        line = line_of(expected, case_id, eline)
        if not isinstance(case_id, str) or not case_id:
            raise BaselineError(path, line, f"expected: case ids must be strings, got {case_id!r}")
        if isinstance(raw, str):
            entries[case_id] = Expectation(case_id, "fail", raw, line, str(path))
            continue
        if not isinstance(raw, dict):
            raise BaselineError(path, line, f"expected.{case_id}: expected {{outcome: fail, reason: '...'}} or a reason string")
        for key in raw:
            if key not in ("outcome", "reason"):
                raise BaselineError(path, line_of(raw, key, line), f"expected.{case_id}: unknown key {key!r} (allowed: outcome, reason)")
        outcome = raw.get("outcome", "fail")
        if outcome not in NON_PASS:
            raise BaselineError(path, line_of(raw, "outcome", line),
                                f"expected.{case_id}.outcome: {outcome!r} is not one of {', '.join(NON_PASS)} (passing cases are not listed)")
        reason = raw.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise BaselineError(path, line_of(raw, "reason", line), f"expected.{case_id}.reason: say why this case is expected to {outcome}")
        entries[case_id] = Expectation(case_id, outcome, reason.strip(), line, str(path))
    provider, model = data.get("provider", ""), data.get("model", "")
    return Baseline(path, str(provider or ""), str(model or ""), entries)


def classify(expected: Expectation | None, outcome: str) -> str:
    """Compare one case's outcome with its baseline expectation (no entry means: should pass)."""
    if expected is None:
        if outcome == "fail":
            return REGRESSION
        return INCONCLUSIVE if outcome == "error" else OK
    if outcome == expected.outcome:
        return EXPECTED
    if outcome == "pass":
        return UNEXPECTED_PASS
    if outcome == "fail":
        return REGRESSION
    if outcome == "error":
        return INCONCLUSIVE
    return CHANGED


@dataclass(frozen=True)
class GateItem:
    case_id: str
    kind: str
    outcome: str
    expected: Expectation | None
    message: str = ""


@dataclass
class Gate:
    """The verdict of a run against a baseline."""

    baseline: Baseline
    strict: bool = False
    items: list[GateItem] = field(default_factory=list)
    unknown: list[Expectation] = field(default_factory=list)  # entries naming cases that do not exist
    updated_to: Baseline | None = None  # set by --update-baseline: the file as rewritten
    before: Gate | None = None  # with --update-baseline: the verdict against the old file

    def of(self, kind: str) -> list[GateItem]:
        return [i for i in self.items if i.kind == kind]

    @property
    def regressions(self) -> list[GateItem]:
        return self.of(REGRESSION)

    @property
    def stale(self) -> list[GateItem]:
        return self.of(UNEXPECTED_PASS)

    @property
    def failed(self) -> bool:
        return bool(self.regressions) or (self.strict and bool(self.stale or self.unknown))

    @property
    def inconclusive(self) -> bool:
        return bool(self.of(INCONCLUSIVE))

    def summary_lines(self) -> list[str]:
        out = [f"baseline {self.baseline.path}: {len(self.of(EXPECTED))} expected non-pass, "
               f"{len(self.regressions)} regression(s), {len(self.stale)} unexpected pass(es)"
               + (" [strict]" if self.strict else "")]
        for item in self.regressions:
            was = f"expected {item.expected.outcome}" if item.expected else "expected pass"
            out.append(f"  REGRESSION {item.case_id}: {was}, got {item.outcome}: {item.message[:300]}")
        for item in self.stale:
            assert item.expected is not None
            out.append(f"  UNEXPECTED PASS {item.case_id}: baseline expects {item.expected.outcome} "
                       f"({item.expected.reason}); remove the stale entry at {self.baseline.path}:{item.expected.line}")
        for exp in self.unknown:
            out.append(f"  STALE ENTRY {exp.case_id}: no such case; remove it at {self.baseline.path}:{exp.line}")
        for item in self.of(CHANGED):
            assert item.expected is not None
            out.append(f"  changed {item.case_id}: baseline expects {item.expected.outcome}, got {item.outcome}")
        return out


def gate(baseline: Baseline, outcomes: Iterable[tuple[str, str, str]], *, strict: bool = False,
         known_ids: Iterable[str] | None = None) -> Gate:
    """Classify ``(case_id, outcome, message)`` triples; ``known_ids`` are all cases that exist
    (so entries for deselected cases are not called stale, only those for vanished ones)."""
    result = Gate(baseline, strict)
    seen: set[str] = set()
    for case_id, outcome, message in outcomes:
        seen.add(case_id)
        result.items.append(GateItem(case_id, classify(baseline.get(case_id), outcome), outcome, baseline.get(case_id), message))
    known = set(known_ids) if known_ids is not None else seen
    result.unknown = [e for cid, e in sorted(baseline.entries.items()) if cid not in known and cid not in seen]
    return result


def outcomes_of_document(document: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(id, outcome, message)`` for each case of a results document."""
    return [(c["id"], c["outcome"], c.get("message", "")) for c in document.get("cases", [])]


def updated(previous: Baseline | None, outcomes: Iterable[tuple[str, str, str]], path: Path,
            provider: str, model: str) -> Baseline:
    """A baseline that expects exactly this run's fail/unsupported cases, keeping known reasons.

    Entries for cases that were not part of this run (deselected with ``-k``) are kept.
    """
    prev = previous.entries if previous else {}
    entries: dict[str, Expectation] = {}
    ran: set[str] = set()
    for case_id, outcome, message in outcomes:
        ran.add(case_id)
        if outcome not in RECORDED:
            continue
        old = prev.get(case_id)
        reason = old.reason if old and old.outcome == outcome else _default_reason(outcome, message)
        entries[case_id] = Expectation(case_id, outcome, reason)
    for case_id, exp in prev.items():
        if case_id not in ran:
            entries[case_id] = exp
    return Baseline(path, provider, model, dict(sorted(entries.items())))


def _default_reason(outcome: str, message: str) -> str:
    """A short starting reason for a new entry: the first failed check, without echoed bodies."""
    first = " ".join(message.split()).split("; ")[0].split(" (body:")[0]
    return f"{outcome} when recorded: {first[:160]}" if first else f"{outcome} when recorded"


def write_baseline(baseline: Baseline) -> None:
    doc = {
        "provider": baseline.provider,
        "model": baseline.model,
        "updated_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "expected": {cid: {"outcome": e.outcome, "reason": e.reason} for cid, e in baseline.entries.items()},
    }
    header = ("# responses-conformance baseline: the cases this provider/model is expected not to pass.\n"
              "# A run fails on regressions; with --strict also on unexpected passes (stale entries).\n"
              "# Edit the reasons; regenerate with --update-baseline. See docs/baselines.md.\n")
    header += "".join(line + "\n" for line in _own_comments(baseline.path, header))
    baseline.path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(baseline.path, header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120))


def baseline_path_for(spec: Path, provider: str, model: str) -> Path:
    """``--baseline DIR`` (or a path with ``{provider}``/``{model}``) → the file for one target."""
    from .session import slug

    text = str(spec)
    if "{provider}" in text or "{model}" in text:
        return Path(text.replace("{provider}", slug(provider)).replace("{model}", slug(model)))
    if spec.is_dir() or text.endswith(("/", "\\")) or not spec.suffix:
        return spec / slug(provider) / f"{slug(model)}.yaml"
    return spec


__all__ = ["Baseline", "BaselineError", "Expectation", "Gate", "GateItem", "baseline_path_for", "classify", "gate",
           "load_baseline", "outcomes_of_document", "updated", "write_baseline"]


def _own_comments(path: Path, header: str) -> list[str]:
    """The comment lines a person added to the file's leading comment block (kept by ``--update-baseline``)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    ours = set(header.splitlines())
    kept: list[str] = []
    for line in lines:
        if not line.startswith("#"):
            break
        if line not in ours:
            kept.append(line)
    return kept
