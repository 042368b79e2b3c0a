"""YAML conformance cases: format, loader/validator, typed tags and the ``expect`` vocabulary.

See docs/cases.md for the format; ``case.schema.json`` is the published JSON Schema. The ``expect``
vocabulary lives with judging (``conformance.judge.expect``) and is re-exported here lazily: the
assertions read paths and tags of this package, so an eager import would be a cycle.
"""

from typing import TYPE_CHECKING, Any

from ._tags import Env, Join, Model, ResolveError, Var, resolve
from .loader import CAPABILITIES, GROUPS, Case, CaseFormatError, RepeatUntil, Step, load_all, load_cases
from .paths import PathSyntaxError, find, parse_path

if TYPE_CHECKING:  # the types of the lazy re-exports below
    from ..judge.expect import ASSERTIONS, Assertion, Expectation, evaluate, output_text, response_document

__all__ = [
    "ASSERTIONS",
    "Assertion",
    "CAPABILITIES",
    "Case",
    "CaseFormatError",
    "Env",
    "Expectation",
    "GROUPS",
    "Join",
    "Model",
    "PathSyntaxError",
    "ResolveError",
    "RepeatUntil",
    "Step",
    "Var",
    "evaluate",
    "find",
    "load_all",
    "load_cases",
    "output_text",
    "response_document",
    "parse_path",
    "resolve",
]

#: names re-exported from ``conformance.judge.expect`` on first use
_EXPECT_NAMES = frozenset({"ASSERTIONS", "Assertion", "Expectation", "evaluate", "output_text", "response_document"})


def __getattr__(name: str) -> Any:
    if name in _EXPECT_NAMES:
        from ..judge import expect

        return getattr(expect, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
