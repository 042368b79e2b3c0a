"""One generated request and what the answer to it must be: the unit the strategies produce and the runner judges."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

#: what a valid request must get: a success (a 4xx refusal of a valid request is a decline, conformance/judge/declines.py)
VALID_STATUS: Any = 200


#: the largest ``max_output_tokens`` a generated request carries (strategies.MAX_OUTPUT_TOKENS)
MAX_CAP = 64
_INDEX = re.compile(r"\[\d+\]")
#: a plain input for a request whose mistake was in its input (:meth:`FuzzRequest.without_mistake`)
PLAIN_INPUT = "Reply with exactly the token OK."
#: keys that only make sense with another: removed together (a tool_choice naming a tool needs the tools)
DEPENDENTS: dict[str, tuple[str, ...]] = {"tools": ("tool_choice", "parallel_tool_calls"), "stream": ("stream_options",)}


@dataclass(frozen=True)
class FuzzRequest:
    """A create request (``POST /responses``) the fuzzer sends, with the rule its answer is judged by.

    ``kind`` ``valid``: every parameter is valid per the spec; the answer must be a 2xx whose body (every event,
    the lifecycle) is valid, or a decline. ``invalid``: exactly one thing is wrong (``mutation`` says what);
    the answer must be ``status`` (a 4xx) with the error envelope, naming ``param`` where the docs say which.
    ``raw_body`` is sent verbatim instead of ``body`` (malformed JSON)."""

    kind: str
    body: Any
    mutation: str = ""
    status: Any = VALID_STATUS
    param: str | None = None
    raw_body: str | None = None
    #: top-level keys the mistake lives in (an invalid request): never removed when the example is minimised
    mutated: tuple[str, ...] = ()
    #: the kind of mistake (an invalid request: the mutation's name, ``out_of_range``): with the parameter it is
    #: in, what tells one cause of an accepted invalid request from another (runner.example_keys)
    mistake: str = ""

    def mistake_site(self) -> str:
        """``out_of_range:temperature``, ``unknown_type:input[*].type``, ``malformed_json:body``: the kind of
        mistake and where it is (the ``param`` it must be named by, indices blanked; else its top-level key)."""
        where = self.param or (self.mutated[0] if self.mutated else "body")
        return f"{self.mistake or 'mistake'}:{_INDEX.sub('[*]', where)}"

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("stream") is True and self.raw_body is None

    def field_count(self) -> int:
        """How big the request is: the number of object keys at any depth (``{"a": [{"b": 1}]}`` is 2).

        A malformed body counts as one field. The shrinker's progress, and what tests bound."""
        if self.raw_body is not None:
            return 1
        return _keys(self.body)

    def output_cap(self) -> int:
        """At most how many output tokens the request may cost: its ``max_output_tokens`` when that is a usable
        cap, else the largest the strategies send (a server that wrongly serves a broken cap is bounded by it)."""
        cap = self.body.get("max_output_tokens") if isinstance(self.body, dict) and self.raw_body is None else None
        if isinstance(cap, int) and not isinstance(cap, bool) and 0 < cap <= MAX_CAP:
            return cap
        return MAX_CAP

    def size(self) -> tuple[int, int]:
        """Order of "smaller" between examples: fewer fields, then fewer characters."""
        return self.field_count(), len(self.text())

    def smaller(self) -> list[FuzzRequest]:
        """The same request with one optional part less: a top-level key (not ``model``, ``input``, the output
        bound or the mistake), or one ``include`` value. What :mod:`.runner` tries after hypothesis has shrunk."""
        if self.raw_body is not None or not isinstance(self.body, dict):
            return []
        keep = {"model", "input", "max_output_tokens", *self.mutated}
        out = []
        for key in self.body:
            gone = {key, *DEPENDENTS.get(key, ())}
            if not gone & keep:
                out.append(replace(self, body={k: v for k, v in self.body.items() if k not in gone}))
        include = self.body.get("include")
        if "include" not in keep and isinstance(include, list) and len(include) > 1:
            out += [replace(self, body={**self.body, "include": include[:i] + include[i + 1:]}) for i in range(len(include))]
        return out

    def without_mistake(self, model: str) -> FuzzRequest | None:
        """The same request with its mistake undone, as a valid one: the keys the mistake is in dropped (a mistaken
        ``model`` or ``input`` replaced by a plain one). Sent when an invalid request got a 5xx, it tells a fault of
        the mistake from one a valid part of the request causes. None for a malformed body or no known mistake."""
        if self.raw_body is not None or not isinstance(self.body, dict) or not self.mutated:
            return None
        gone = {*self.mutated, *(d for k in self.mutated for d in DEPENDENTS.get(k, ()))}
        body = {k: v for k, v in self.body.items() if k not in gone}
        if "model" in self.mutated:
            body["model"] = model
        if "input" in self.mutated:
            body["input"] = PLAIN_INPUT
        return FuzzRequest("valid", body)

    def text(self) -> str:
        """The body as sent, for messages and evidence."""
        if self.raw_body is not None:
            return self.raw_body
        return json.dumps(self.body, ensure_ascii=False, sort_keys=False, separators=(",", ":"))


def _keys(value: Any) -> int:
    if isinstance(value, dict):
        return len(value) + sum(_keys(v) for v in value.values())
    if isinstance(value, list):
        return sum(_keys(v) for v in value)
    return 0
