"""hypothesis strategies for create requests: valid combinations, and valid requests with exactly one thing wrong.

Valid requests combine parameters, input item arrays, content parts, function tools and ``tool_choice``, text
formats (``text``, ``json_object``, ``json_schema``), ``include`` and streaming, kept cheap: ``max_output_tokens``
16..64 on every request, short fixed texts, and always a token probe (``Reply with exactly the token T.``) so a
probe-following model answers in one word, deterministically (docs/DESIGN.md, probes). Enums and numeric ranges
come from the generated schemas (``_schema.py``); the recursive parts are written here by hand (docs/fuzz.md).

Every optional part is drawn so that hypothesis shrinks it away (``st.none() | ...``, optional dictionary keys):
a failing example shrinks towards ``{"model", "input", "max_output_tokens"}`` plus what the failure needs.
"""

from __future__ import annotations

import base64
import string
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from . import _schema as schema
from ._request import MAX_CAP, FuzzRequest

TOKENS = ("OK", "FUZZ", "T42")
PROBE = "Reply with exactly the token {token}."
#: json_object needs the word JSON in the input on api.openai.com (else a 400): said once, in the probe message
JSON_HINT = " Answer in JSON."
#: a 1x1 PNG as a data URL: an image part that costs no download
TINY_PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJ"
            "RU5ErkJggg==")
NOTE_DATA = "data:text/plain;base64," + base64.b64encode(b"A short note about nothing in particular.").decode()
NEUTRAL = ("An earlier remark.", "Some context for the question.", "Nothing to add here.")
FUNCTION_NAMES = ("lookup", "get_weather", "add_numbers")
#: properties a function's or a json_schema format's object schema may have (strict-compatible: all required)
PROPERTIES: dict[str, dict[str, Any]] = {"city": {"type": "string"}, "count": {"type": "integer"},
                                        "exact": {"type": "boolean"}, "ratio": {"type": "number"}}
MAX_OUTPUT_TOKENS = MAX_CAP
SHORT = string.ascii_letters + string.digits
#: the capabilities (docs/cases.md, "Capabilities") a generated request may need, and what of it needs each: a
#: target that declares one unavailable (``--skip-capability``, ``capabilities: {vision: false}`` in a providers
#: file) is sent none of it, as no hand-written case needing it is sent (a model without a vision projector
#: answering an image part with an error is the model's limit, declared, not the server's fault)
CAPABILITY_PARTS: dict[str, str] = {
    "vision": "input_image content parts",
    "files": "input_file content parts",
    "logprobs": "top_logprobs and include message.output_text.logprobs",
    "reasoning": "the reasoning parameter and include reasoning.encrypted_content",
}
#: include values that need a capability
_INCLUDE_NEEDS = {"message.output_text.logprobs": "logprobs", "reasoning.encrypted_content": "reasoning",
                  "message.input_image.image_url": "vision"}


def _lo(component: str, prop: str, default: float) -> float:
    lo = schema.bounds(component, prop)[0]
    return default if lo is None else lo


def _hi(component: str, prop: str, default: float) -> float:
    hi = schema.bounds(component, prop)[1]
    return default if hi is None else hi


# ------------------------------------------------------------------------------------------------ input


def prompt(token: str, json_hint: bool = False) -> str:
    return PROBE.format(token=token) + (JSON_HINT if json_hint else "")


def _history_message() -> st.SearchStrategy[dict[str, Any]]:
    roles = schema.enum("EasyInputMessage", "role") or ("user", "assistant", "system", "developer")

    def build(role: str, text: str, as_parts: bool) -> dict[str, Any]:
        if role == "assistant" or not as_parts:  # assistant history as plain text: input parts are for the caller
            return {"role": role, "content": text}
        return {"role": role, "content": [{"type": "input_text", "text": text}]}

    return st.builds(build, st.sampled_from(roles), st.sampled_from(NEUTRAL), st.booleans())


def _function_history() -> st.SearchStrategy[list[dict[str, Any]]]:
    """A function call the model made earlier and its output (the call id pairs them)."""
    def build(call_id: str, name: str) -> list[dict[str, Any]]:
        return [{"type": "function_call", "call_id": call_id, "name": name, "arguments": "{}"},
                {"type": "function_call_output", "call_id": call_id, "output": "done"}]

    return st.builds(build, st.sampled_from(("call_1", "call_2")), st.sampled_from(FUNCTION_NAMES))


def _final_parts(text: str, skip: frozenset[str] = frozenset()) -> st.SearchStrategy[Any]:
    """The probe message's content: a string, or input_text with an optional image or file part (none of a part
    whose capability is in ``skip``)."""
    details = schema.enum("ImageDetail") or ("auto",)
    image = st.builds(lambda d: {"type": "input_image", "image_url": TINY_PNG, "detail": d}, st.sampled_from(details))
    note = st.just({"type": "input_file", "filename": "note.txt", "file_data": NOTE_DATA})
    first = {"type": "input_text", "text": text}
    options = [st.just(text), st.just([first])]
    if "vision" not in skip:
        options.append(image.map(lambda p: [first, p]))
    if "files" not in skip:
        options.append(note.map(lambda p: [first, p]))
    return st.one_of(*options)


def inputs(text: str, skip: frozenset[str] = frozenset()) -> st.SearchStrategy[Any]:
    """``input``: the probe as a string, or up to two history entries then a user message holding the probe."""
    history = st.lists(st.one_of(_history_message().map(lambda m: [m]), _function_history()), max_size=2)

    def build(earlier: list[list[dict[str, Any]]], content: Any) -> list[dict[str, Any]]:
        return [item for group in earlier for item in group] + [{"role": "user", "content": content}]

    return st.one_of(st.just(text), st.builds(build, history, _final_parts(text, skip)))


# ------------------------------------------------------------------------------------------------ tools, formats


def object_schemas() -> st.SearchStrategy[dict[str, Any]]:
    """A small strict-compatible object schema: every property required, no additional properties."""
    def build(names: list[str]) -> dict[str, Any]:
        return {"type": "object", "properties": {n: dict(PROPERTIES[n]) for n in names}, "required": list(names),
                "additionalProperties": False}

    return st.lists(st.sampled_from(sorted(PROPERTIES)), unique=True, max_size=3).map(build)


def function_tools() -> st.SearchStrategy[dict[str, Any]]:
    """A ``FunctionTool`` (``type``, ``name``, ``parameters`` and ``strict`` are required by the spec)."""
    base = st.fixed_dictionaries({"type": st.just("function"), "name": st.sampled_from(FUNCTION_NAMES),
                                  "parameters": object_schemas(), "strict": st.booleans()},
                                 optional={"description": st.just("A function the model may call.")})
    return base


def tools_and_choice() -> st.SearchStrategy[dict[str, Any]]:
    """``tools`` (1-3 function tools) with an optional ``tool_choice`` that may name one of them."""
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        tools = draw(st.lists(function_tools(), min_size=1, max_size=3, unique_by=lambda t: t["name"]))
        names = [t["name"] for t in tools]
        modes = schema.enum("ToolChoiceOptions") or ("none", "auto", "required")
        allowed_modes = schema.enum("ToolChoiceAllowed", "mode") or ("auto", "required")
        choice = draw(st.none() | st.one_of(
            st.sampled_from(modes),
            st.sampled_from(names).map(lambda n: {"type": "function", "name": n}),
            st.builds(lambda m, n: {"type": "allowed_tools", "mode": m, "tools": [{"type": "function", "name": n}]},
                      st.sampled_from(allowed_modes), st.sampled_from(names))))
        out: dict[str, Any] = {"tools": tools}
        if choice is not None:
            out["tool_choice"] = choice
        if draw(st.booleans()):
            out["parallel_tool_calls"] = draw(st.booleans())
        return out

    return build()


def text_formats() -> st.SearchStrategy[dict[str, Any] | None]:
    """None (no format), or one of the three; each of the four about as likely (a rare combination needs them)."""
    json_schema = st.fixed_dictionaries({"type": st.just("json_schema"), "name": st.sampled_from(("answer", "result")),
                                         "schema": object_schemas(), "strict": st.booleans()})
    return st.one_of(st.none(), st.just({"type": "text"}), st.just({"type": "json_object"}), json_schema)


def text_params() -> st.SearchStrategy[dict[str, Any] | None]:
    """``text``: a format and/or a verbosity, or None (no ``text`` at all)."""
    verbosity = schema.enum("ResponseTextParam", "verbosity") or ("low", "medium", "high")

    def build(fmt: dict[str, Any] | None, level: str | None) -> dict[str, Any] | None:
        out = {k: v for k, v in (("format", fmt), ("verbosity", level)) if v is not None}
        return out or None

    return st.builds(build, text_formats(), st.none() | st.sampled_from(verbosity))


# ------------------------------------------------------------------------------------------------ parameters


def _unit(lo: float, hi: float) -> st.SearchStrategy[float]:
    """A number in [lo, hi], two decimals (a readable request; still covers the bounds)."""
    return st.floats(lo, hi, allow_nan=False).map(lambda x: min(max(round(x, 2), lo), hi))


def simple_params(skip: frozenset[str] = frozenset()) -> dict[str, st.SearchStrategy[Any]]:
    """Optional top-level parameters whose values are enums, ranges or short strings (each shrinks away); none
    that needs a capability in ``skip``."""
    reasoning = st.fixed_dictionaries({}, optional={"effort": st.sampled_from(schema.enum("Reasoning", "effort")),
                                                    "summary": st.sampled_from(schema.enum("Reasoning", "summary"))})
    metadata = st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), st.text(SHORT, max_size=16), max_size=4)
    params = {
        "instructions": st.sampled_from(("Be brief.", "You are a careful assistant.")),
        "temperature": _unit(_lo("CreateResponse", "temperature", 0), _hi("CreateResponse", "temperature", 2)),
        "top_p": _unit(_lo("CreateResponse", "top_p", 0), _hi("CreateResponse", "top_p", 1)),
        "top_logprobs": st.integers(int(_lo("CreateResponse", "top_logprobs", 0)),
                                    int(_hi("CreateResponse", "top_logprobs", 20))),
        "metadata": metadata,
        "user": st.just("fuzz-user"),
        "safety_identifier": st.text(SHORT, min_size=1, max_size=16),
        "prompt_cache_key": st.just("fuzz-cache"),
        "service_tier": st.sampled_from(schema.enum("CreateResponse", "service_tier")),
        "truncation": st.sampled_from(schema.enum("CreateResponse", "truncation")),
        "store": st.booleans(),
        "reasoning": reasoning,
    }
    if "logprobs" in skip:
        del params["top_logprobs"]
    if "reasoning" in skip:
        del params["reasoning"]
    return params


def _often() -> st.SearchStrategy[bool]:
    """True about half the time in practice, False the simplest: hypothesis's generation leans to simple choices
    (``st.booleans()`` came out True in under a third of the examples), so True gets two of the three slots."""
    return st.sampled_from((False, True, True))


def _include(draw: st.DrawFn, skip: frozenset[str] = frozenset()) -> list[str] | None:
    """``include`` in half the requests; each value in half of those, drawn on its own (a list strategy draws short
    lists, so a given value would be rare): any value meets any other part in a few % of the examples."""
    if not draw(_often()):
        return None
    chosen = [v for v in schema.enum("CreateResponse", "include") if draw(st.booleans())]
    chosen = [v for v in chosen if _INCLUDE_NEEDS.get(v) not in skip]  # drawn first: no skip, the same draws
    return chosen or None


@st.composite
def valid_bodies(draw: st.DrawFn, model: str, stream: bool | None = None,
                 skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A valid ``CreateResponse`` body: model, probe input, a small output bound, then optional parts.

    ``stream``: True streams, False does not (no ``stream`` key or ``false``); None draws it, on half the time.
    ``skip``: capabilities the target declares unavailable (:data:`CAPABILITY_PARTS`): nothing that needs them."""
    text = draw(text_params())
    fmt = (text or {}).get("format") or {}
    token = draw(st.sampled_from(TOKENS))
    lo = int(_lo("CreateResponse", "max_output_tokens", 16))
    body: dict[str, Any] = {"model": model, "input": draw(inputs(prompt(token, fmt.get("type") == "json_object"), skip)),
                            "max_output_tokens": draw(st.integers(lo, max(lo, MAX_OUTPUT_TOKENS)))}
    body.update(draw(st.fixed_dictionaries({}, optional=simple_params(skip))))
    # drawn on their own so interactions are common: streaming in half the requests, each text format (or none) in a
    # quarter, each include value in a quarter; stream + json_object + one include value: one request in 32
    streamed = draw(_often()) if stream is None else stream
    if streamed:
        body["stream"] = True
    elif draw(st.booleans()):
        body["stream"] = False
    include = _include(draw, skip)
    if include is not None:
        body["include"] = include
    if text is not None:
        body["text"] = text
    tools = draw(st.none() | tools_and_choice())
    if tools is not None:
        body.update(tools)
    if body.get("stream") is True and draw(st.booleans()):
        body["stream_options"] = {"include_obfuscation": draw(st.booleans())}
    return body


def valid_requests(model: str, skip: frozenset[str] = frozenset()) -> st.SearchStrategy[FuzzRequest]:
    return valid_bodies(model, skip=skip).map(lambda body: FuzzRequest("valid", body))


# ------------------------------------------------------------------------------------------------ invalid


Mutation = Callable[[st.DrawFn, dict[str, Any]], FuzzRequest]
BAD_WORDS = ("bogus", "hologram", "turbo_max")


def _invalid(body: dict[str, Any], mutation: str, param: str | None, status: Any = 400, key: str = "") -> FuzzRequest:
    """The request, remembering which top-level ``key`` holds the mistake (by default the start of ``param``)."""
    where = key or str(param).split(".", 1)[0].split("[", 1)[0]
    return FuzzRequest("invalid", body, mutation=mutation, status=status, param=param, mutated=(where,))


def _items(body: dict[str, Any]) -> list[Any]:
    """``input`` as an item list (a string input becomes its one user message)."""
    raw = body.get("input")
    return list(raw) if isinstance(raw, list) else [{"role": "user", "content": raw}]


def _insert(draw: st.DrawFn, items: list[Any], item: Any) -> int:
    at = draw(st.integers(0, len(items)))
    items.insert(at, item)
    return at


def _out_of_range(draw: st.DrawFn, body: dict[str, Any]) -> FuzzRequest:
    name = draw(st.sampled_from(("temperature", "top_p", "top_logprobs", "max_output_tokens")))
    lo, hi = schema.bounds("CreateResponse", name)
    below: st.SearchStrategy[float]
    above: st.SearchStrategy[float]
    if name in ("top_logprobs", "max_output_tokens"):
        below = st.integers(-1000, int(lo) - 1) if lo is not None else st.nothing()
        above = st.integers(int(hi) + 1, int(hi) + 1000) if hi is not None else st.nothing()
    else:
        below = (st.floats(float(lo) - 100, float(lo), exclude_max=True).filter(lambda v: v < lo)
                 if lo is not None else st.nothing())
        above = (st.floats(float(hi), float(hi) + 100, exclude_min=True).filter(lambda v: v > hi)
                 if hi is not None else st.nothing())
    value = draw(st.one_of(above, below))
    return _invalid({**body, name: value}, f"{name} out of range ({value})", name)


#: parameter -> values of the wrong JSON type (the spec's type is in the name of the group)
WRONG_TYPES: dict[str, tuple[Any, ...]] = {
    **{p: ("yes", 1) for p in ("stream", "store", "parallel_tool_calls")},  # boolean
    **{p: ("hot", True, [1]) for p in ("temperature", "top_p")},  # number
    **{p: ("32", 32.5, True) for p in ("max_output_tokens", "top_logprobs")},  # integer
    **{p: (42, True) for p in ("instructions", "user", "safety_identifier", "prompt_cache_key")},  # string
    **{p: ("x", [1]) for p in ("metadata", "reasoning", "text")},  # object
    **{p: ("x", {"a": 1}) for p in ("include", "tools")},  # array
    "input": (42, True),
    "model": (42, True),
}


def _wrong_type(draw: st.DrawFn, body: dict[str, Any]) -> FuzzRequest:
    name = draw(st.sampled_from(sorted(WRONG_TYPES)))
    value = draw(st.sampled_from(WRONG_TYPES[name]))
    return _invalid({**body, name: value}, f"{name} of the wrong type ({value!r})", name)


def _bad_enum(draw: st.DrawFn, body: dict[str, Any]) -> FuzzRequest:
    word = draw(st.sampled_from(BAD_WORDS))
    where = draw(st.sampled_from(("service_tier", "truncation", "include", "reasoning.effort", "text.verbosity",
                                  "text.format.type", "tool_choice", "role")))
    out = dict(body)
    if where == "include":
        out["include"] = [word]
    elif where == "reasoning.effort":
        out["reasoning"] = {"effort": word}
    elif where == "text.verbosity":
        out["text"] = {"verbosity": word}
    elif where == "text.format.type":
        out["text"] = {"format": {"type": word}}
    elif where == "role":
        items = _items(body)
        at = _insert(draw, items, {"role": word, "content": NEUTRAL[0]})
        out["input"] = items
        return _invalid(out, f"an input message with role {word!r}", f"input[{at}].role")
    else:
        out[where] = word
    return _invalid(out, f"{where} {word!r} is not one of the spec's values", where)


def _unknown_type(draw: st.DrawFn, body: dict[str, Any]) -> FuzzRequest:
    word = draw(st.sampled_from(BAD_WORDS))
    kind = draw(st.sampled_from(("item", "content", "tool")))
    out = dict(body)
    if kind == "tool":
        tools = list(body.get("tools") or [])
        at = _insert(draw, tools, {"type": word})
        out["tools"] = tools
        return _invalid(out, f"a tool of the unknown type {word!r}", f"tools[{at}].type")
    items = _items(body)
    if kind == "item":
        at = _insert(draw, items, {"type": word})
        out["input"] = items
        return _invalid(out, f"an input item of the unknown type {word!r}", f"input[{at}].type")
    at = _insert(draw, items, {"role": "user", "content": [{"type": word, "text": NEUTRAL[1]}]})
    out["input"] = items
    return _invalid(out, f"a content part of the unknown type {word!r}", f"input[{at}].content[0].type")


def _malformed_tool(draw: st.DrawFn, body: dict[str, Any]) -> FuzzRequest:
    tools = list(body.get("tools") or [])
    if draw(st.booleans()):
        value = draw(st.sampled_from(("an object schema", ["type", "object"], 7)))
        at = _insert(draw, tools, {"type": "function", "name": "broken", "parameters": value, "strict": False})
        what, param = f"a function tool whose parameters schema is {value!r}", f"tools[{at}].parameters"
    else:
        at = _insert(draw, tools, {"type": "function", "parameters": {"type": "object", "properties": {}},
                                   "strict": False})
        what, param = "a function tool without a name", f"tools[{at}].name"
    out = {**body, "tools": tools}
    if isinstance(body.get("tool_choice"), dict) or body.get("tool_choice") == "required":
        out.pop("tool_choice")  # only the tool is wrong: a choice naming no valid tool would be a second mistake
    return _invalid(out, what, param)


def _unknown_previous(draw: st.DrawFn, body: dict[str, Any]) -> FuzzRequest:
    ident = "resp_fuzz_does_not_exist_" + draw(st.text("0123456789abcdef", min_size=8, max_size=8))
    return _invalid({**body, "previous_response_id": ident}, "an unknown previous_response_id", "previous_response_id",
                    [400, 404])


def _empty_item(draw: st.DrawFn, body: dict[str, Any]) -> FuzzRequest:
    items = _items(body)
    if draw(st.booleans()):
        at = _insert(draw, items, {})
        return _invalid({**body, "input": items}, "an empty input item ({})", f"input[{at}].type")
    at = _insert(draw, items, {"role": "user"})
    return _invalid({**body, "input": items}, "an input message without content", f"input[{at}].content")


def _oversized_metadata(draw: st.DrawFn, body: dict[str, Any]) -> FuzzRequest:
    how = draw(st.sampled_from(("keys", "value", "key")))
    if how == "keys":
        n = draw(st.integers(17, 24))
        return _invalid({**body, "metadata": {f"k{i}": "v" for i in range(n)}}, f"metadata with {n} keys (at most 16)",
                        "metadata")
    if how == "value":
        n = draw(st.integers(513, 600))
        return _invalid({**body, "metadata": {"note": "x" * n}}, f"a metadata value of {n} characters (at most 512)",
                        None, key="metadata")
    n = draw(st.integers(65, 80))
    return _invalid({**body, "metadata": {"k" * n: "v"}}, f"a metadata key of {n} characters (at most 64)", "metadata")


def _missing_model(draw: st.DrawFn, body: dict[str, Any]) -> FuzzRequest:
    return _invalid({k: v for k, v in body.items() if k != "model"}, "no model", "model")


def _malformed_json(draw: st.DrawFn, body: dict[str, Any]) -> FuzzRequest:
    """A body cut short: a proper prefix of a JSON object is never JSON."""
    text = FuzzRequest("valid", body).text()
    cut = draw(st.integers(1, len(text) - 1))
    return FuzzRequest("invalid", body, mutation=f"the JSON body cut after {cut} characters", status="4xx",
                       raw_body=text[:cut])


#: every kind of mistake, simplest first (hypothesis shrinks towards the first)
MUTATIONS: tuple[Mutation, ...] = (_missing_model, _out_of_range, _wrong_type, _bad_enum, _unknown_type,
                                   _malformed_tool, _empty_item, _oversized_metadata, _unknown_previous,
                                   _malformed_json)


@st.composite
def invalid_requests(draw: st.DrawFn, model: str, only: Mutation | None = None,
                     skip: frozenset[str] = frozenset()) -> FuzzRequest:
    """A valid body with exactly one mistake (:data:`MUTATIONS`, or ``only`` that one), judged by what that
    mistake must get (the body needs no capability in ``skip``)."""
    mutation = only or draw(st.sampled_from(MUTATIONS))
    body = draw(valid_bodies(model, stream=draw(_often()), skip=skip))  # each mistake meets stream on and off about equally
    return replace(mutation(draw, body), mistake=mutation.__name__.strip("_"))


__all__ = ["CAPABILITY_PARTS", "MUTATIONS", "invalid_requests", "valid_bodies", "valid_requests"]
