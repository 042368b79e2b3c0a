"""Which elements a case exercises, derived statically from its YAML (no run needed).

Two sources, each with a fixed rule so that anyone can recompute the table (docs/coverage.md):

* **requests** - method + path give the endpoint; the create body's top-level keys give request
  parameters, their values give parameter options (same path spelling as the schema walker);
  ``tools[].type``, the ``tool_choice`` shape, ``include`` values, and the ``input`` items (``type``,
  or ``message`` for a role-shaped item), their ``role`` and content part types. Request bodies may
  legitimately hold things the spec does not define (error cases, vendor extensions): those are
  reported as *outside the spec*, never as errors.
* **expectations** - ``response_status``, ``incomplete_reason``, ``events``, ``output_text``,
  ``json_output``, ``function_call``, ``schema`` names, and ``json`` assertions whose path or value
  names an output item/part type, a status or an event type. These are *claims*: a claim naming an
  element that exists in no profile's spec is a case bug (the assertion could never mean what it
  says) and raises :class:`UnknownElementError`.

A claim is ``exercised`` (the case passes only if the element occurs), ``alternative`` (one of
several accepted values: not counted as covered, shown separately) or ``reference`` (a negative
assertion such as ``exists: false`` or ``events.excludes``: validated, never counted).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..cases import Case, Join, Step
from ..cases.paths import Filter, Index, Key, PathSyntaxError, Wildcard, parse_path
from ..judge.checks._registry import endpoint_of
from .elements import category, known_anywhere

__all__ = ["Claim", "UnknownElementError", "case_claims", "claims_of", "validate"]

EXERCISED, ALTERNATIVE, REFERENCE = "exercised", "alternative", "reference"
_RESPONSE_ENDPOINTS = ("create", "retrieve", "cancel")
_INPUT_ENDPOINTS = ("create", "input_tokens", "compact")


@dataclass(frozen=True)
class Claim:
    """One case exercising (or naming) one element."""

    category: str
    element: str
    case_id: str
    file: str
    line: int
    where: str  # e.g. "steps[0].expect[2] (response_status)" or "steps[1].request.body.tools[0].type"
    kind: str = EXERCISED
    checked: bool = False  # derived from an expectation: the element must exist in the spec


class UnknownElementError(ValueError):
    """A case claims an element the spec does not define; ``str()`` is one line with file:line."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim
        cat = category(claim.category)
        known = sorted(known_anywhere(claim.category))
        shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
        super().__init__(
            f"{claim.file}:{claim.line}: case {claim.case_id!r}: {claim.where}: {claim.element!r} is not "
            f"one of the spec's {cat.title} (known: {shown})"
        )


def static_path(path: Any) -> str:
    """A step path with tags replaced by ``{x}`` placeholders (enough to classify the endpoint)."""
    if isinstance(path, str):
        return path
    if isinstance(path, Join):
        return "".join(p if isinstance(p, str) else str(p) if isinstance(p, (int, float)) else "{x}" for p in path.items)
    return "{x}"


class _Collector:
    """Accumulates the claims of one case, with the bookkeeping (case id, file) in one place."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.out: list[Claim] = []

    def add(self, cat: str, element: Any, line: int, where: str, kind: str = EXERCISED, checked: bool = False) -> None:
        if isinstance(element, str) and element:
            self.out.append(Claim(cat, element, self.case.id, self.case.file, line, where, kind, checked))

    def values(self, cat: str, value: Any, line: int, where: str, kind: str = EXERCISED) -> None:
        """A checked claim per string value (a list is a set of alternatives unless it has one item)."""
        if isinstance(value, list):
            strings = [v for v in value if isinstance(v, str)]
            for v in strings:
                self.add(cat, v, line, where, kind if len(strings) == 1 else ALTERNATIVE, True)
        else:
            self.add(cat, value, line, where, kind, True)


# ---------------------------------------------------------------------------- requests


def _option_paths(path: str, value: Any, depth: int = 0) -> Iterator[str]:
    """Body values spelled like :meth:`SchemaWalker.options` elements (unknown ones are dropped later)."""
    if isinstance(value, str):
        yield f"{path}={value}"
    elif isinstance(value, list):
        for item in value:
            yield from _option_paths(path + "[]", item, depth)
    elif isinstance(value, dict):
        if isinstance(value.get("type"), str):
            yield f"{path}:{value['type']}"
        if depth < 3:
            for key, sub in value.items():
                yield f"{path}.{key}"
                yield from _option_paths(f"{path}.{key}", sub, depth + 1)


def _websocket(step: Step) -> bool:
    return getattr(step, "transport", "http") == "websocket"


#: ``transport: sdk`` steps: the endpoint each official-SDK method calls (its ``args`` are that request's body).
_SDK_ENDPOINTS = {
    "responses.create": "create", "responses.stream": "create", "responses.parse": "create",
    "responses.retrieve": "retrieve", "responses.delete": "delete", "responses.cancel": "cancel",
    "responses.input_items.list": "input_items",
}


def _request_claims(c: _Collector, si: int, step: Step) -> None:
    base = f"steps[{si}].request"
    endpoint = "other" if _websocket(step) else endpoint_of(step.method, static_path(step.path))
    body = step.body
    if getattr(step, "transport", "http") == "sdk":
        endpoint = _SDK_ENDPOINTS.get(str(getattr(step, "call", "")), "other")
        body = getattr(step, "args", None) if endpoint == "create" else None
        c.add("endpoints", endpoint if endpoint != "other" else f"SDK {getattr(step, 'call', '')}", step.line, base)
    else:
        shown = "WS" if _websocket(step) else step.method  # the label the results JSON shows (Exchange.method_label)
        c.add("endpoints", endpoint if endpoint != "other" else f"{shown} {static_path(step.path)}", step.line, base)
    if not isinstance(body, dict):
        return
    where = f"{base}.body"
    if endpoint == "create" or _websocket(step):  # a WebSocket response.create event carries a create body
        options = known_anywhere("parameter_options")
        for key, value in body.items():
            c.add("request_parameters", key, step.line, f"{where}.{key}")
            if key in ("input", "tools", "tool_choice", "include"):
                continue
            for element in dict.fromkeys(_option_paths(key, value)):
                if element in options:
                    c.add("parameter_options", element, step.line, f"{where}.{key}")
        choice = body.get("tool_choice")
        if isinstance(choice, str):
            c.add("tool_choice", choice, step.line, f"{where}.tool_choice")
        elif isinstance(choice, dict) and isinstance(choice.get("type"), str):
            c.add("tool_choice", f"type={choice['type']}", step.line, f"{where}.tool_choice.type")
        for i, value in enumerate(body.get("include") or [] if isinstance(body.get("include"), list) else []):
            c.add("include", value, step.line, f"{where}.include[{i}]")
    if isinstance(body.get("tools"), list):
        for i, tool in enumerate(body["tools"]):
            if isinstance(tool, dict):
                c.add("tools", tool.get("type"), step.line, f"{where}.tools[{i}].type")
    if (endpoint in _INPUT_ENDPOINTS or _websocket(step)) and isinstance(body.get("input"), list):
        _input_claims(c, step, body["input"], f"{where}.input")


def _input_claims(c: _Collector, step: Step, items: list[Any], where: str) -> None:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        here = f"{where}[{i}]"
        item_type = item.get("type") if isinstance(item.get("type"), str) else ("message" if "role" in item else None)
        c.add("input_items", item_type, step.line, here)
        if item_type == "message":
            c.add("input_roles", item.get("role"), step.line, f"{here}.role")
        for key in ("content", "output"):
            parts = item.get(key)
            if isinstance(parts, dict) and key == "output":  # a single part (computer_call_output's screenshot)
                c.add("input_content_parts", parts.get("type"), step.line, f"{here}.{key}.type")
            if isinstance(parts, list):
                for j, part in enumerate(parts):
                    if isinstance(part, dict):
                        c.add("input_content_parts", part.get("type"), step.line, f"{here}.{key}[{j}].type")


# ---------------------------------------------------------------------------- expectations


def _positive(arg: dict[str, Any]) -> bool:
    """False for assertions that hold when nothing matches (``exists: false``, ``count: 0``)."""
    if arg.get("exists") is False:
        return False
    count = arg.get("count")
    if count == 0 or (isinstance(count, dict) and count.get("max") == 0):
        return False
    return True


def _type_filter(seg: Any) -> tuple[str, bool] | None:
    """``(value, negated)`` for a ``[type=X]`` / ``[type!=X]`` selector, else None."""
    if isinstance(seg, Filter) and seg.fields == ("type",):
        return seg.literal, seg.negate
    return None


def _json_claims(c: _Collector, arg: dict[str, Any], line: int, where: str, response_doc: bool) -> None:
    try:
        segs = list(parse_path(str(arg.get("path", ""))).segments)
    except PathSyntaxError:
        return
    kind = EXERCISED if _positive(arg) else REFERENCE
    value_kind = kind if "equals" in arg else ALTERNATIVE
    value = arg["equals"] if "equals" in arg else arg.get("in")
    source = arg.get("source", "response")

    def filtered(cat: str, seg: Any) -> None:
        hit = _type_filter(seg)
        if hit:
            c.add(cat, hit[0], line, where, REFERENCE if hit[1] else kind, True)

    if source == "events":
        if segs:
            filtered("stream_events", segs[0])
            if isinstance(segs[0], (Index, Wildcard)) and segs[1:] == [Key("type")] and value is not None:
                c.values("stream_events", value, line, where, value_kind)
            # what an event carries: its response (response.created/queued/in_progress/...), its item
            # (output_item.added/done) or its part (content_part.*, reasoning_summary_part.*)
            enames = [s.name if isinstance(s, Key) else None for s in segs[1:]]
            if enames == ["response", "status"] and value is not None:
                c.values("response_status", value, line, where, value_kind)
            elif enames == ["item", "status"] and value is not None:
                c.values("item_status", value, line, where, value_kind)
            elif enames == ["item", "type"] and value is not None:
                c.values("output_items", value, line, where, value_kind)
            elif enames == ["part", "type"] and value is not None:
                c.values("output_content_parts", value, line, where, value_kind)
        return
    if not response_doc:
        return
    names = [s.name if isinstance(s, Key) else None for s in segs]
    if names == ["status"] and value is not None:
        c.values("response_status", value, line, where, value_kind)
    elif names == ["incomplete_details", "reason"] and value is not None:
        c.values("incomplete_reasons", value, line, where, value_kind)
    elif len(segs) >= 2 and names[0] == "output" and not isinstance(segs[1], Key):
        filtered("output_items", segs[1])
        rest, rnames = segs[2:], names[2:]
        if rnames == ["type"] and value is not None:
            c.values("output_items", value, line, where, value_kind)
        elif rnames == ["status"] and value is not None:
            c.values("item_status", value, line, where, value_kind)
        elif len(rest) >= 2 and rnames[0] in ("content", "summary") and not isinstance(rest[1], Key):
            filtered("output_content_parts", rest[1])
            if rnames[2:] == ["type"] and value is not None:
                c.values("output_content_parts", value, line, where, value_kind)


def _schema_claims(c: _Collector, arg: Any, line: int, where: str) -> None:
    from ..judge import schemas

    name = arg.get("name") if isinstance(arg, dict) else arg
    if not isinstance(name, str):
        return
    idx = schemas.index("openai")
    for item_type, schema in idx.get("output_items", {}).items():
        if schema == name:
            c.add("output_items", item_type, line, where)
    for event_type, schema in idx.get("events", {}).items():
        if schema == name:
            c.add("stream_events", event_type, line, where)


def _expect_claims(c: _Collector, si: int, step: Step) -> None:
    endpoint = "other" if _websocket(step) else endpoint_of(step.method, static_path(step.path))
    response_doc = endpoint in _RESPONSE_ENDPOINTS or step.stream or _websocket(step)
    for ei, exp in enumerate(step.expect):
        where = f"steps[{si}].expect[{ei}] ({exp.name})"
        arg, line = exp.arg, exp.line or step.line
        if exp.name == "response_status":
            c.values("response_status", arg, line, where)
        elif exp.name == "incomplete_reason":
            c.values("incomplete_reasons", arg, line, where)
        elif exp.name == "events" and isinstance(arg, dict):
            for key in ("first", "last"):
                c.add("stream_events", arg.get(key), line, f"{where}.{key}", EXERCISED, True)
            for key, kind in (("includes", EXERCISED), ("order", EXERCISED), ("excludes", REFERENCE)):
                for value in arg.get(key) or []:
                    c.add("stream_events", value, line, f"{where}.{key}", kind, True)
        elif exp.name in ("output_text", "json_output") and isinstance(arg, dict):
            if exp.name == "json_output" or set(arg) & {"equals", "token", "contains", "matches"}:
                c.add("output_items", "message", line, where, EXERCISED, True)
                c.add("output_content_parts", "output_text", line, where, EXERCISED, True)
        elif exp.name == "function_call" and isinstance(arg, dict) and arg.get("count") != 0:
            c.add("output_items", "function_call", line, where, EXERCISED, True)
        elif exp.name == "json" and isinstance(arg, dict):
            _json_claims(c, arg, line, where, response_doc)
        elif exp.name == "schema":
            _schema_claims(c, arg, line, where)


# ---------------------------------------------------------------------------- API


def case_claims(case: Case, *, sdk: bool = False) -> list[Claim]:
    """Every claim of one case, in step order (requests first, then expectations, per step).

    ``sdk=True`` also derives what ``transport: sdk`` steps send (the endpoint their SDK method calls, their
    ``args`` as the create body): the profile derivation (:mod:`.profile`) needs it; coverage does not count it.
    """
    c = _Collector(case)
    for si, step in enumerate(case.steps):
        if getattr(step, "transport", "http") == "sdk" and not sdk:  # SDK compatibility claims no spec surface
            continue
        _request_claims(c, si, step)
        _expect_claims(c, si, step)
    return c.out


def validate(claims: Iterable[Claim]) -> None:
    """Raise :class:`UnknownElementError` for the first checked claim naming no spec element."""
    for claim in claims:
        if claim.checked and claim.element not in known_anywhere(claim.category):
            raise UnknownElementError(claim)


def claims_of(cases: Iterable[Case]) -> list[Claim]:
    """Claims of all cases, validated (raises :class:`UnknownElementError`)."""
    out = [claim for case in cases for claim in case_claims(case)]
    validate(out)
    return out
