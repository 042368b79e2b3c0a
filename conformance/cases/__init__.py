"""YAML conformance cases: format, loader/validator, typed tags and the ``expect`` vocabulary.

See docs/cases.md for the format; ``case.schema.json`` is the published JSON Schema.
"""

from ..judge.assertions import (
    ASSERTIONS,
    Assertion,
    CaptureError,
    Expectation,
    capture_value,
    evaluate,
    output_text,
    response_document,
)
from ._tags import Env, Join, Model, ResolveError, Var, resolve
from .loader import CAPABILITIES, GROUPS, Case, CaseFormatError, RepeatUntil, ResolvedRequest, Step, load_all, load_cases
from .paths import PathSyntaxError, find, parse_path

__all__ = [
    "ASSERTIONS",
    "Assertion",
    "CAPABILITIES",
    "CaptureError",
    "Case",
    "CaseFormatError",
    "Env",
    "Expectation",
    "GROUPS",
    "Join",
    "Model",
    "PathSyntaxError",
    "ResolveError",
    "ResolvedRequest",
    "RepeatUntil",
    "Step",
    "Var",
    "capture_value",
    "evaluate",
    "find",
    "load_all",
    "load_cases",
    "output_text",
    "response_document",
    "parse_path",
    "resolve",
]
