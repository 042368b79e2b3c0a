"""Which expectations judge the *model's* choice rather than the server's protocol.

A model that ignores the deterministic probes never calls a tool, refuses, cites a search result or talks past
``max_output_tokens``, whatever the server does; an expectation about such things is skipped when the run's
preflight finds the model does not follow probes (docs/cases.md, "Behavioural expectations"). These are the
``behavioural`` rules of the assertions whose answer depends on their argument.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ...record.exchange import Exchange

__all__ = ["about_model_output", "events_name_model_action", "expects_incomplete", "names_model_action"]

#: Names (item types, event-name segments, statuses) that exist only when the model *acted* on a probe: called
#: a tool, refused, cited a search result, or talked past ``max_output_tokens``. An expectation about them judges
#: the model's choice; a model that ignores probes never produces them, whatever the server does.
_MODEL_ACTION = re.compile(
    r"(?:\w+_call(?:_\w+)?|mcp_\w+|tool_search_\w+|program(?:_output)?|refusal|\w*citations?|annotations?"
    r"|partial_images?(?:_\w+)?|incomplete)")
_NAME_TOKENS = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: a streamed output item's fields that only tool-call items carry (a message has none of them)
_TOOL_ITEM_FIELD = re.compile(r"\.item\.(?:error|call_id|arguments|server_label)\b")


def names_model_action(value: Any) -> bool:
    """Does ``value`` (an expectation argument, any shape) name an item or event only a probe reply produces?"""
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return any(_MODEL_ACTION.fullmatch(tok) for tok in _NAME_TOKENS.findall(text))


def about_model_output(arg: Any, ex: Exchange) -> bool:
    """``json``/``schema``: a path into the Response's ``output`` (or, ``source: events``, into the events) that
    selects a tool call, refusal, citation or incomplete state: what exists only if the model acted on a probe.
    Paths elsewhere (echoed parameters, usage, ids, lists) are protocol and always judged."""
    if not isinstance(arg, Mapping):
        return False
    path = str(arg.get("path") or "")
    source = arg.get("source", "response")
    if source != "events" and not path.lstrip("$.").startswith("output"):
        return False
    if source == "events" and _TOOL_ITEM_FIELD.search(path):
        return True
    return names_model_action({k: v for k, v in arg.items() if k not in ("source", "basis")})


def events_name_model_action(arg: Any, ex: Exchange) -> bool:
    """``events``/``sdk_events``: the expected event types include one only a probe reply produces
    (``response.function_call_arguments.delta``, ``response.refusal.done``, ``response.incomplete``, ...)."""
    return names_model_action(arg)


def expects_incomplete(arg: Any, ex: Exchange) -> bool:
    """``response_status: incomplete``: only a model that answers the count probe at length hits the limit."""
    wanted = arg if isinstance(arg, list) else [arg]
    return "incomplete" in wanted and "completed" not in wanted
