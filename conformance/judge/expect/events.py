"""The ``events`` assertion: the types of a streamed step's events (first, last, includes, excludes, order)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..._verdict import Finding
from ...record.exchange import Exchange
from .accessors import event_types
from .behavioural import events_name_model_action
from .registry import SPEC, ExpectContext, Problems, assertion

__all__ = ["event_type_findings"]


def _compress(types: list[str], limit: int = 14) -> str:
    runs: list[list[Any]] = []
    for t in types:
        if runs and runs[-1][0] == t:
            runs[-1][1] += 1
        else:
            runs.append([t, 1])
    shown = [f"{t}×{n}" if n > 1 else t for t, n in runs]
    if len(shown) > limit:
        shown = shown[: limit - 2] + ["…"] + shown[-2:]
    return "[" + ", ".join(shown) + "]"


@assertion("events", basis="event-contract", spec_ref=SPEC + "/components/schemas/ResponseStreamEvent", streamed_only=True,
           behavioural=events_name_model_action, proof=("events_after_terminal", "streaming.function_call"))
def _events(arg: Any, ex: Exchange, ctx: ExpectContext) -> Problems:
    """Streamed event types: ``first``, ``last``, ``includes``, ``excludes``, ``order``.

    ``order`` means those types occur in that relative order (as a subsequence), each at least
    once. An event's type is its JSON ``type`` (else its SSE ``event:`` name); untyped events
    such as ``data: [DONE]`` are ignored.
    """
    if ex.events is None:
        yield Finding("expected a streamed response, but no events were recorded "
                      f"(content-type {ex.header('content-type')!r})")
        return
    yield from event_type_findings(arg, event_types(ex))


def event_type_findings(arg: Mapping[str, Any], types: list[str]) -> Problems:
    """``first`` / ``last`` / ``includes`` / ``excludes`` / ``order`` over a list of event types."""
    seq = _compress(types)
    if not types:
        yield Finding("the stream contained no typed events")
        return
    if "first" in arg and types[0] != arg["first"]:
        yield Finding(f"expected first event {arg['first']}, got {types[0]} in {seq}", "events[0]")
    if "last" in arg and types[-1] != arg["last"]:
        yield Finding(f"expected last event {arg['last']}, got {types[-1]} in {seq}", f"events[{len(types) - 1}]")
    missing = [t for t in arg.get("includes", []) if t not in types]
    if missing:
        yield Finding(f"missing event types {missing} in {seq}")
    present = [t for t in arg.get("excludes", []) if t in types]
    if present:
        yield Finding(f"unexpected event types {present} in {seq}")
    if "order" in arg:
        pos = 0
        for wanted in arg["order"]:
            try:
                pos = types.index(wanted, pos) + 1
            except ValueError:
                where = "is missing" if wanted not in types else "does not occur after the previous ones"
                yield Finding(f"event order {arg['order']}: {wanted} {where} in {seq}")
                break
