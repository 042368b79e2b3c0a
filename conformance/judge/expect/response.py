"""The Response's own status fields: ``response_status`` and ``incomplete_reason``."""

from __future__ import annotations

from typing import Any

from ..._verdict import Finding
from ...record.exchange import Exchange
from .accessors import document
from .behavioural import expects_incomplete
from .compare import short
from .registry import SPEC, ExpectContext, Problems, assertion


@assertion("response_status", basis="documented", spec_ref=SPEC + "/components/schemas/Response/allOf/2/properties/status",
           behavioural=expects_incomplete, proof=("missing_required_field_status", "basic.text"))
def _response_status(arg: Any, ex: Exchange, ctx: ExpectContext) -> Problems:
    """The Response's ``status`` is the given value (or one of a list): completed, incomplete, ..."""
    doc = document(ex)
    wanted = arg if isinstance(arg, list) else [arg]
    actual = doc.get("status") if isinstance(doc, dict) else None
    if actual not in wanted:
        extra = ""
        if isinstance(doc, dict) and doc.get("incomplete_details"):
            extra = f" (incomplete_details: {short(doc['incomplete_details'])})"
        elif isinstance(doc, dict) and doc.get("error"):
            extra = f" (error: {short(doc['error'])})"
        yield Finding(f"expected response status {' or '.join(map(str, wanted))}, got {short(actual)}{extra}", "$.status")


@assertion("incomplete_reason", basis="documented",
           spec_ref=SPEC + "/components/schemas/Response/allOf/2/properties/incomplete_details", behavioural=True,
           proof=("incomplete_without_details", "parameters.max_output_tokens_incomplete"))
def _incomplete_reason(arg: Any, ex: Exchange, ctx: ExpectContext) -> Problems:
    """``incomplete_details.reason`` is the given value (or one of a list)."""
    doc = document(ex)
    wanted = arg if isinstance(arg, list) else [arg]
    details = doc.get("incomplete_details") if isinstance(doc, dict) else None
    actual = details.get("reason") if isinstance(details, dict) else None
    if actual not in wanted:
        status = doc.get("status") if isinstance(doc, dict) else None
        yield Finding(
            f"expected incomplete_details.reason {' or '.join(map(str, wanted))}, got "
            f"incomplete_details {short(details)} (status {short(status)})",
            "$.incomplete_details.reason",
        )
