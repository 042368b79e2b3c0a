"""The named assertion vocabulary of the ``expect:`` list.

Each assertion has a stable public name (it appears in reports as ``expect.<name>``), a
default spec reference, a basis, the deviation that proves it can fail and a docstring; the vocabulary is
explicit (respx-style operators such as ``equals``/``matches``/``contains``/``in``) rather than embedded
expressions, so a case reads the same to a human, to an editor validating against ``case.schema.json`` and to
the evaluator. Assertions register in the one registry (``conformance.judge.registry``) beside the
automatic checks.

Modules, one job each: ``registry`` (the ``@assertion`` decorator, ``ExpectContext``), ``expectation`` (one
``expect:`` entry and its basis), ``accessors`` (what an assertion reads from an exchange), ``compare`` (JSON
comparison and rendering), ``arguments`` (argument checks), ``behavioural`` (which expectations judge the
model), ``schema_adapter`` (the view of ``conformance.judge.schemas``), ``sdk_decoder`` (the SDK-decoder
diagnosis), ``evaluation`` (``evaluate``); the families: ``http`` (status, header), ``schema``, ``envelope``, ``values``
(json), ``output`` (output_text, function_call, json_output), ``response`` (statuses), ``events``, ``sdk``.
"""

# the case loader (conformance.cases) reads this vocabulary and the assertions read its paths and tags: import it
# first, whichever of the two is imported first, so neither sees the other half-built
from ... import cases as _cases  # noqa: F401, I001

# importing the families registers their assertions (the order is registration order)
from . import http, schema, envelope, values, output, response, events, sdk  # noqa: F401, I001
from .accessors import event_type, event_types, output_text, response_document, terminal_event
from .arguments import expected_statuses
from .compare import json_equal
from .evaluation import evaluate
from .expectation import Advisory, Expectation, split_basis
from .output import normalize_token
from .registry import ASSERTIONS, Assertion, ExpectContext, assertion

__all__ = [
    "ASSERTIONS",
    "Advisory",
    "Assertion",
    "ExpectContext",
    "Expectation",
    "assertion",
    "evaluate",
    "event_type",
    "event_types",
    "expected_statuses",
    "json_equal",
    "normalize_token",
    "output_text",
    "response_document",
    "split_basis",
    "terminal_event",
]
