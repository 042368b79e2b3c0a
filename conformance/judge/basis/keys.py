"""Stable finding keys: one root cause is one finding, however many cases (and checks) it touches.

The key is ``check|normalised path|kind`` (indices become ``[*]``, ids and numbers in a message are blanked
when no explicit ``kind`` is given). A schema finding that names the rule it breaks is keyed by that rule
(``rule:ResponseUsage.input_tokens_details:required:cache_write_tokens``): the same missing field seen by
``response.schema``, ``stream.event_schema`` and ``stream.final_response`` is one deviation, not three.
"""

from __future__ import annotations

import re

from ..._verdict import Finding

_INDEX = re.compile(r"\[\d+\]")
_IDS = re.compile(r"\b(resp|msg|fc|call|item|rs|ws|ci|ig|mcp|tsc|tso|prg|po|fs|lsh|sh|ap|ct)_[A-Za-z0-9_=-]{4,}")
_NUMBER = re.compile(r"(?<![A-Za-z_])-?\d+(\.\d+)?")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.){0,200}"')


def normalise_path(path: str) -> str:
    """``events[12].response.output[3].id`` -> ``events[*].response.output[*].id``."""
    return _INDEX.sub("[*]", path or "")


def message_kind(message: str) -> str:
    """A finding message with its variable parts blanked: ids, numbers, quoted server values."""
    text = _IDS.sub(r"\1_…", _INDEX.sub("[*]", message or ""))
    text = _QUOTED.sub('"…"', text)
    return _NUMBER.sub("N", text)[:160]


_EVENT_RESPONSE = re.compile(r"^events\[\*\]\.response(?=\.|$)")


def finding_key(check: str, finding: Finding) -> str:
    """The finding's stable key; a path inside a streamed event's ``response`` is keyed as the same path of a
    plain Response (``events[*].response.usage`` -> ``$.usage``): the same field, judged on either transport."""
    if finding.rule:
        return f"rule:{finding.rule}"
    path = _EVENT_RESPONSE.sub("$", normalise_path(finding.path))
    return f"{check}|{path}|{finding.kind or message_kind(finding.message)}"


def envelope_rule(key: str | None, problem: str, profile: str = "openai") -> str:
    """The openai spec's rule id for an error-envelope problem (``ErrorResponse`` holding ``Error``), so that
    ``http.error_envelope``, ``expect.error_envelope`` and ``http.error_schema`` report one deviation, not three.

    ``key`` None: the body has no ``error`` object (``problem`` ``missing``) or it is not an object (``type``).
    Other profiles name their error shapes differently: no rule (the check's own key applies)."""
    if profile != "openai":
        return ""
    if key is None:
        return "ErrorResponse:required:error" if problem == "missing" else "Error:type"
    if problem == "missing":
        return f"Error:required:{key}"
    return f"Error.{key}:anyOf" if key in ("code", "param") else f"Error.{key}:type"
