"""A failed case as text: failed checks with spec refs, the failing YAML step with line numbers, curl lines.

Shared by the console, JUnit's ``<failure>`` text and the pytest plugin's failure report. It quotes the server
(messages, the body), so control characters are escaped (:func:`inert`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..record._redact import inert

if TYPE_CHECKING:  # an annotation only: reading a result needs neither the engine nor its HTTP client
    from ..run.engine import CaseResult

__all__ = ["format_failure", "yaml_excerpt"]


def format_failure(result: CaseResult) -> str:
    case = result.case
    lines = [f"{case.file}:{case.line}: case {case.id!r} ({case.group}) failed"]
    for chk in result.failed_checks:
        lines.append(f"  ✗ [{chk.step}] {chk.name}: {chk.message}")
        if chk.spec_ref:
            lines.append(f"      spec: {chk.spec_ref}")
    failing_steps = {c.step for c in result.failed_checks}
    for step in case.steps:
        if step.name in failing_steps:
            lines.append(f"  step {step.name!r} ({case.file}:{step.line}):")
            lines.extend("    " + line for line in yaml_excerpt(Path(case.file), step.line))
    for ex in result.exchanges:
        if ex.step in failing_steps:
            lines.append(f"  reproduce [{ex.step}]: {ex.curl}")
            lines.append(f"  got HTTP {ex.status}: {ex.text[:400] if ex.events is None else f'{len(ex.events)} events'}")
            sdk = ex.sdk
            if isinstance(sdk, dict):
                exc = sdk.get("exception") or {}
                lines.append(f"  sdk [{ex.step}]: openai {sdk.get('sdk_version')} {sdk.get('call')} -> "
                             + (f"returned {sdk.get('type')}" if sdk.get("ok") else
                                f"raised {exc.get('type')} ({exc.get('stage')}): {str(exc.get('message'))[:200]}"))
    return inert("\n".join(lines))


def yaml_excerpt(path: Path, line: int, span: int = 12) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    start = max(line - 1, 0)
    return [f"{n + 1:>4} | {text[n]}" for n in range(start, min(start + span, len(text)))]
