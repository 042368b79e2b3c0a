"""The named assertion vocabulary of the ``expect:`` list.

Each assertion has a stable public name (it appears in reports as ``expect.<name>``), a
default spec reference and a docstring; the vocabulary is explicit (respx-style operators
such as ``equals``/``matches``/``contains``/``in``) rather than embedded expressions, so a
case reads the same to a human, to an editor validating against ``case.schema.json`` and to
the evaluator.

An assertion is a pure function of one recorded :class:`~conformance.record.exchange.Exchange`:
it never touches the network and reports odd input as a failure instead of raising.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from .._json import loads as json_loads
from .._verdict import BASES, TRUNCATED, CheckResult, Finding, Outcome
from ..cases._tags import ResolveError, resolve
from ..cases.paths import PathSyntaxError, find_located, parse_path
from ..record.exchange import TERMINAL_EVENTS, Exchange, SSEEvent
from .basis import JudgePolicy, classify_result
from .basis.keys import envelope_rule

__all__ = [
    "ASSERTIONS",
    "Assertion",
    "Advisory",
    "CaptureError",
    "Expectation",
    "capture_value",
    "evaluate",
    "event_type",
    "event_types",
    "expected_statuses",
    "json_equal",
    "normalize_token",
    "output_text",
    "response_document",
    "terminal_event",
]

SPEC = "openai-openapi.yaml#"
_PROFILE: ContextVar[str | None] = ContextVar("conformance_cases_schema_profile", default=None)


@dataclass(frozen=True)
class Expectation(Mapping[str, Any]):
    """One entry of a step's ``expect:`` list: ``{name: arg}`` plus where it was written.

    It is also a read-only one-key mapping (``exp["status"]``), so code written against the
    plain YAML shape keeps working.
    """

    name: str
    arg: Any
    line: int = 0
    file: str = ""
    basis: str = ""  # what the case says this expectation rests on (its argument's ``basis:``), else ""

    def __getitem__(self, key: str) -> Any:
        if key != self.name:
            raise KeyError(key)
        return self.arg

    def __iter__(self) -> Iterator[str]:
        return iter((self.name,))

    def __len__(self) -> int:
        return 1


class Advisory(Finding):
    """A finding that is reported but does not fail the case (severity ``warning``)."""


class _Inconclusive(Exception):
    """The assertion cannot judge (e.g. the schema module is unavailable): outcome ``error``."""


class _NotInProfile(Exception):
    """The assertion names something the selected profile's spec lacks: outcome ``skipped`` (never a fail)."""


class CaptureError(LookupError):
    """A ``capture:`` path matched nothing in the step's response."""


Problems = Iterator[Finding]
AssertFunc = Callable[[Any, Exchange], Iterable[Finding]]
ArgValidator = Callable[[Any], Iterable[tuple[str, str]]]
#: ``behavioural`` of an assertion: always, never, or decided by its argument (and the exchange it judges)
BehaviouralRule = bool | Callable[[Any, Exchange], bool]


@dataclass(frozen=True)
class Assertion:
    name: str
    func: AssertFunc
    spec_ref: str | Callable[[Any], str]
    doc: str
    validate: ArgValidator | None = None
    streamed_only: bool = False
    basis: str = "documented"
    behavioural: BehaviouralRule = False

    def spec_ref_for(self, arg: Any) -> str:
        return self.spec_ref(arg) if callable(self.spec_ref) else self.spec_ref

    def is_behavioural(self, arg: Any, ex: Exchange) -> bool:
        """Does this expectation judge what the *model* chose to say or do (a probe reply, a tool call it was
        asked to make), rather than what the server's protocol guarantees? Such expectations are skipped when
        the run's preflight finds that the model does not follow the probes (conformance/probes.py)."""
        rule = self.behavioural
        if not callable(rule):
            return bool(rule)
        try:
            return bool(rule(arg, ex))
        except Exception:  # a rule never crashes judging: when unsure, the expectation is judged
            return False


ASSERTIONS: dict[str, Assertion] = {}


def assertion(
    name: str,
    *,
    spec_ref: str | Callable[[Any], str],
    validate: ArgValidator | None = None,
    streamed_only: bool = False,
    basis: str,
    behavioural: BehaviouralRule = False,
) -> Callable[[AssertFunc], AssertFunc]:
    """Register ``func`` as the assertion ``name`` (names are unique and stable).

    ``basis`` is what its findings rest on by default (``conformance._verdict.BASES``); a case may lower one
    expectation to ``basis: observed`` in a mapping argument (what OpenAI does but nothing documents).
    ``behavioural``: the assertion judges the model's reply to a probe (True), never (False), or when a rule
    on its argument says so (docs/cases.md, "Behavioural expectations")."""
    if basis not in BASES:
        raise ValueError(f"assertion {name!r}: basis {basis!r} is not one of {BASES}")

    def register(func: AssertFunc) -> AssertFunc:
        if name in ASSERTIONS:
            raise ValueError(f"duplicate assertion name {name!r}")
        ASSERTIONS[name] = Assertion(name, func, spec_ref, (func.__doc__ or "").strip(), validate, streamed_only, basis,
                                     behavioural)
        return func

    return register


# ---------------------------------------------------------------------------- behavioural rules

#: Names (item types, event-name segments, statuses) that exist only when the model *acted* on a probe: called
#: a tool, refused, cited a search result, or talked past ``max_output_tokens``. An expectation about them judges
#: the model's choice; a model that ignores probes never produces them, whatever the server does.
_MODEL_ACTION = re.compile(
    r"(?:\w+_call(?:_\w+)?|mcp_\w+|tool_search_\w+|program(?:_output)?|refusal|\w*citations?|annotations?"
    r"|partial_images?(?:_\w+)?|incomplete)")
_NAME_TOKENS = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: a streamed output item's fields that only tool-call items carry (a message has none of them)
_TOOL_ITEM_FIELD = re.compile(r"\.item\.(?:error|call_id|arguments|server_label)\b")


def _names_model_action(value: Any) -> bool:
    """Does ``value`` (an expectation argument, any shape) name an item or event only a probe reply produces?"""
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return any(_MODEL_ACTION.fullmatch(tok) for tok in _NAME_TOKENS.findall(text))


def _about_model_output(arg: Any, ex: Exchange) -> bool:
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
    return _names_model_action({k: v for k, v in arg.items() if k not in ("source", "basis")})


def _events_name_model_action(arg: Any, ex: Exchange) -> bool:
    """``events``/``sdk_events``: the expected event types include one only a probe reply produces
    (``response.function_call_arguments.delta``, ``response.refusal.done``, ``response.incomplete``, ...)."""
    return _names_model_action(arg)


def _expects_incomplete(arg: Any, ex: Exchange) -> bool:
    """``response_status: incomplete``: only a model that answers the count probe at length hits the limit."""
    wanted = arg if isinstance(arg, list) else [arg]
    return "incomplete" in wanted and "completed" not in wanted


# ---------------------------------------------------------------------------- helpers


def _short(value: Any, limit: int = 160) -> str:
    """A compact JSON rendering for messages (truncated, never raising)."""
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _where(location: str) -> str:
    return location or "$"


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1``, ``1`` equals ``1.0``, objects ignore key order."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _json_contains(container: Any, part: Any) -> bool:
    """Subset match: every key of an expected object is present with a containing value."""
    if isinstance(part, dict):
        return isinstance(container, dict) and all(
            k in container and _json_contains(container[k], v) for k, v in part.items()
        )
    return json_equal(container, part)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _type_ok(value: Any, wanted: str) -> bool:
    actual = _json_type(value)
    return actual == wanted or (wanted == "number" and actual == "integer")


def _body_json(ex: Exchange) -> Any:
    """The body parsed as JSON, or raise a failure that shows what came instead."""
    try:
        return ex.json()
    except (ValueError, UnicodeDecodeError):
        snippet = ex.text[:200]
        raise _Fail(
            f"response body is not JSON (content-type {ex.header('content-type')!r}, "
            f"{len(ex.body)} bytes: {snippet!r})"
        ) from None


class _Fail(Exception):
    """Internal shortcut: stop evaluating this assertion with one failure message."""


def event_type(ev: SSEEvent) -> str | None:
    """The event's type: the ``type`` of its JSON data, else its SSE ``event:`` name, else None."""
    try:
        data = json_loads(ev.data)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("type"), str):
        return data["type"]
    return ev.event


def event_types(ex: Exchange) -> list[str]:
    """The types of all typed events of a streamed exchange (``data: [DONE]``-style ones are skipped)."""
    return [t for t in (event_type(ev) for ev in ex.events or []) if t is not None]


def terminal_event(ex: Exchange) -> dict[str, Any] | None:
    """The data of the last ``response.completed|incomplete|failed`` event, if any."""
    for ev in reversed(ex.events or []):
        try:
            data = json_loads(ev.data)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("type") in TERMINAL_EVENTS:
            return data
    return None


def response_document(ex: Exchange) -> Any:
    """The Response object a step produced.

    For a plain step that is the JSON body; for a streamed step it is the ``response`` of the
    terminal event, so the same ``json``/``output_text`` expectations work in both modes.
    Raises ``ValueError`` with an explanation when there is none.
    """
    if ex.events is not None:
        term = terminal_event(ex)
        if term is None:
            types = event_types(ex)
            tail = ", ".join(types[-3:]) or "no typed events"
            raise ValueError(
                f"stream has no terminal event ({'/'.join(TERMINAL_EVENTS)}); "
                f"{len(types)} events, last: {tail}"
            )
        if not isinstance(term.get("response"), dict):
            raise ValueError(f"terminal event {term.get('type')} has no response object")
        return term["response"]
    try:
        return _body_json(ex)
    except _Fail as exc:
        raise ValueError(str(exc)) from None


def _document(ex: Exchange) -> Any:
    try:
        return response_document(ex)
    except ValueError as exc:
        raise _Fail(str(exc)) from None


def _assistant_text(doc: Any) -> tuple[str, bool, list[str]]:
    """(concatenated output_text of assistant messages, found any message, output item types)."""
    output = doc.get("output") if isinstance(doc, dict) else None
    if not isinstance(output, list):
        raise _Fail(f"response has no output array (output: {_short(output)})")
    parts: list[str] = []
    found = False
    types: list[str] = []
    for item in output:
        if not isinstance(item, dict):
            continue
        types.append(str(item.get("type")))
        if item.get("type") != "message" or item.get("role", "assistant") != "assistant":
            continue
        content = item.get("content")
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") == "output_text" and isinstance(part.get("text"), str):
                parts.append(part["text"])
                found = True
    return "".join(parts), found, types


def output_text(ex: Exchange) -> str:
    """The concatenated ``output_text`` parts of the assistant messages of the step's response."""
    text, _, _ = _assistant_text(_document(ex))
    return text


_QUOTES = ('"', "'", "`")


def normalize_token(text: str) -> str:
    """Strip whitespace, surrounding quotes/backticks and a trailing period (repeatedly).

    Why: a real model asked to "reply with exactly the token X" often says ``X.`` or ```X```;
    the probe is about following the instruction, not about punctuation. Case is kept.
    """
    previous = None
    while previous != text:
        previous = text
        text = text.strip()
        if text.endswith("."):
            text = text[:-1]
        if len(text) >= 2 and text[0] == text[-1] and text[0] in _QUOTES:
            text = text[1:-1]
    return text


def expected_statuses(arg: Any) -> tuple[int, ...]:
    """The concrete status codes a ``status:`` argument accepts (``4xx`` expands to 400..499).

    ``{value: 400, basis: observed}`` (an argument with its basis) accepts what its ``value`` accepts."""
    arg, _ = split_basis(arg, "")
    items = arg if isinstance(arg, list) else [arg]
    out: list[int] = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            out.append(item)
        elif isinstance(item, str) and re.fullmatch(r"[1-5]xx", item, re.I):
            base = int(item[0]) * 100
            out.extend(range(base, base + 100))
    return tuple(out)


def _status_label(arg: Any) -> str:
    items = arg if isinstance(arg, list) else [arg]
    return " or ".join(str(i) for i in items)


def _check_regex(where: str, pattern: Any) -> Iterator[tuple[str, str]]:
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as exc:
            yield where, f"invalid regular expression {pattern!r}: {exc}"


def _check_path(where: str, path: Any) -> Iterator[tuple[str, str]]:
    if isinstance(path, str):
        try:
            parse_path(path)
        except PathSyntaxError as exc:
            yield where, str(exc)


def _range_ok(value: int, spec: Any) -> bool:
    if isinstance(spec, dict):
        return spec.get("min", -math.inf) <= value <= spec.get("max", math.inf)
    return value == spec


def _range_label(spec: Any) -> str:
    if isinstance(spec, dict):
        parts = []
        if "min" in spec:
            parts.append(f">= {spec['min']}")
        if "max" in spec:
            parts.append(f"<= {spec['max']}")
        return " and ".join(parts)
    return str(spec)


# ---------------------------------------------------------------------------- status


#: Statuses OpenAI's documentation assigns to a class of client error (docs/verdicts.md): a missing or wrong
#: key is 401, an unknown id is 404. Any other specific 4xx (400 vs 422 for a validation error, 409...) is what
#: api.openai.com answers, not a documented rule.
DOCUMENTED_4XX = frozenset({401, 404})


@assertion("status", basis="error-class", spec_ref=SPEC + "/paths/~1responses/post/responses")
def _status(arg: Any, ex: Exchange) -> Problems:
    """HTTP status is one of the given codes or classes: ``200``, ``[400, 404]``, ``4xx``.

    Judged by what is documented: a status of the wrong class (a 2xx or 5xx where a 4xx was expected, a
    4xx where a 200 was) fails, and so does any other status where only 401/404 (documented error classes)
    were expected. Another 4xx where a specific undocumented 4xx was expected (422 for 400, 400 for 409)
    is a finding with basis ``observed``: a warning, not a fail.
    """
    wanted = expected_statuses(arg)
    got = ex.status
    if got is not None and got in wanted:
        return
    snippet = ex.text[:200] if ex.body else ""
    message = f"expected HTTP status {_status_label(arg)}, got {got}" + (f" (body: {snippet!r})" if snippet else "")
    # the finding key groups by status class, never by the body: one root cause over many cases is one deviation
    kind = f"got {'no answer' if got is None else f'{got // 100}xx'} where {_status_label(arg)} was expected"
    specific_4xx = {s for s in wanted if 400 <= s < 500}
    if got is not None and 400 <= got < 500 and specific_4xx and not specific_4xx <= DOCUMENTED_4XX:
        yield Finding(message + " (the same class of client error: which 4xx is what api.openai.com answers, not a "
                      "documented rule)", kind=kind, basis="observed")
        return
    yield Finding(message, kind=kind)


# ---------------------------------------------------------------------------- schema


def _schema_name(arg: Any) -> str:
    return arg if isinstance(arg, str) else str(arg.get("name", ""))


def _validate_schema_arg(arg: Any) -> Iterator[tuple[str, str]]:
    if isinstance(arg, dict):
        yield from _check_path("path", arg.get("path"))
    name = _schema_name(arg)
    if name and not _known_schema(name):  # a typo would otherwise judge every case ``error`` (unknown schema)
        yield ("name" if isinstance(arg, dict) else ""), f"unknown schema {name!r} (no such component in any profile)"


def _known_schema(name: str) -> bool:
    """Whether ``name`` is a bundled component (or alias) of any profile; True when schemas cannot be loaded."""
    try:
        from . import schemas
    except ImportError:  # pragma: no cover - judged (inconclusive) at run time instead
        return True
    return any(schemas.has_schema(name, profile) for profile in schemas.PROFILES)


def _schema_errors(name: str, instance: Any) -> list[Finding]:
    """Validate via ``conformance.judge.schemas.validate`` whatever its error-reporting style: one Finding per error,
    its message ``<json path>: <problem>``, keeping the ``kind`` and ``rule`` of schema findings (so the same
    missing field counts as one deviation whether ``response.schema`` or this assertion saw it)."""
    try:
        from . import schemas  # type: ignore[attr-defined]
    except ImportError as exc:
        raise _Inconclusive(f"conformance.judge.schemas is not available: {exc}") from None
    profile = _PROFILE.get()
    if profile is not None and not schemas.has_schema(name, profile) and hasattr(schemas, "equivalent"):
        counterpart = schemas.equivalent(name, profile)
        if counterpart is None and any(schemas.has_schema(name, p) for p in schemas.PROFILES):
            raise _NotInProfile(f"not in the {profile} spec: schema {name}")
        name = counterpart or name
    try:
        result = schemas.validate(name, instance) if profile is None else schemas.validate(name, instance, profile=profile)
    except LookupError as exc:
        raise _Inconclusive(f"unknown schema {name!r}: {exc}") from None
    except Exception as exc:
        try:  # only now: a run whose documents are valid never imports jsonschema (conformance/judge/schemas.py)
            import jsonschema
        except ImportError:  # pragma: no cover - jsonschema is a hard dependency
            jsonschema = None  # type: ignore[assignment]
        if jsonschema is not None and isinstance(exc, jsonschema.ValidationError):
            where = exc.json_path if hasattr(exc, "json_path") else "$"
            return [Finding(f"{where}: {exc.message}")]
        if isinstance(exc, ValueError):
            return [Finding(str(exc))]
        raise
    if result is None or result is True:
        return []
    if result is False:
        return [Finding("instance is not valid")]
    out: list[Finding] = []
    for err in result:
        if hasattr(err, "message"):
            where = getattr(err, "json_path", None) or getattr(err, "path", "")
            out.append(Finding(f"{where}: {err.message}" if where else str(err.message),
                               kind=str(getattr(err, "kind", "") or ""), rule=str(getattr(err, "rule", "") or "")))
        else:
            out.append(Finding(str(err)))
    return out


@assertion(
    "schema", basis="schema",
    spec_ref=lambda arg: f"{SPEC}/components/schemas/{_schema_name(arg)}",
    validate=_validate_schema_arg, behavioural=_about_model_output,
)
def _schema(arg: Any, ex: Exchange) -> Problems:
    """The response (or ``{name, path}``: each match of ``path`` in it) validates against the named schema.

    The document is the JSON body, or for a streamed step the terminal event's ``response``.
    Schemas come from ``conformance.judge.schemas`` (generated from the OpenAPI document).
    """
    name = _schema_name(arg)
    if ex.events is None and not _is_error_schema(name) and is_error_body(ex):
        yield from _error_instead(name, ex)
        return
    if ex.events is not None and not _is_error_schema(name) and terminal_event(ex) is None:
        error = _error_event(ex)
        if error is not None:  # judged as an error event by stream.event_schema, not as a Response
            yield Finding(f"expected a {name}, but the stream ended with an error event instead of a response "
                          f"({_short(error, 200)})")
            return
    doc = _document(ex)
    targets: list[tuple[str, Any]] = [("", doc)]
    if isinstance(arg, dict) and arg.get("path"):
        targets = find_located(doc, arg["path"])
        if not targets:
            yield Finding(f"path {arg['path']!r} matched nothing to validate against {name}")
            return
    for location, value in targets:
        errors = _schema_errors(name, value)
        for err in errors[:5]:
            prefix = f"{location}: " if location else ""
            yield Finding(f"{prefix}not a valid {name}: {err.message}", location, kind=err.kind, rule=err.rule)
        if len(errors) > 5:
            yield Finding(f"... and {len(errors) - 5} more schema errors", location, kind=TRUNCATED)


def _error_event(ex: Exchange) -> Any:
    """The ``error`` object of the stream's first ``error`` event (SSE or WebSocket), if any."""
    for ev in ex.events or []:
        try:
            data = json_loads(ev.data)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("type") == "error":
            return data.get("error", data)
    return None


def _is_error_schema(name: str) -> bool:
    return "Error" in name


def is_error_body(ex: Exchange) -> bool:
    """An error answer: an HTTP 4xx/5xx, or a JSON ``{"error": ...}`` envelope that is no Response (even on a 200)."""
    if ex.status is not None and ex.status >= 400:
        return True
    body = ex.json_or_none()
    return isinstance(body, dict) and isinstance(body.get("error"), dict) and "object" not in body \
        and "output" not in body


def _error_instead(name: str, ex: Exchange) -> Problems:
    """One finding for an error where a ``name`` was expected; the error body is judged as ``ErrorResponse``
    only (listing its Response-schema errors would blame the error body for not being what it never claims)."""
    body = ex.json_or_none()
    verdict = "not JSON" if body is None else "a valid ErrorResponse"
    if body is not None:
        try:
            errors = _schema_errors("ErrorResponse", body)
        except (_Inconclusive, _NotInProfile):
            errors, verdict = [], "an error body"
        if errors:
            verdict = f"not a valid ErrorResponse either: {'; '.join(e.message for e in errors[:3])}"
    message = body.get("error", {}).get("message") if isinstance(body, dict) and isinstance(body.get("error"), dict) \
        else None
    said = f" ({_short(message, 120)})" if isinstance(message, str) else ""
    yield Finding(f"expected a {name}, but the server answered HTTP {ex.status} with an error{said}; "
                  f"the error body is {verdict}", "$")


# ---------------------------------------------------------------------------- error_envelope

_ENVELOPE_KEYS = ("type", "code", "param")


@assertion("error_envelope", basis="error-class", spec_ref=SPEC + "/components/schemas/ErrorResponse")
def _error_envelope(arg: Any, ex: Exchange) -> Problems:
    """Body is ``{"error": {"message": str, "type": str, "param": str|null, "code": str|null}}``.

    ``Error`` lists all four keys as required, so a missing ``param``/``code`` fails. The
    optional sub-expectations ``type``/``code``/``param`` (a value or a list of accepted values)
    are *advisory* (basis ``observed``: warnings) because the OpenAPI document defines the envelope but
    not which values a given error carries; ``strict: true`` makes them hard (the expectation's basis), for a
    value OpenAI's documentation states. A ``basis:`` in the argument applies to the sub-expectations only:
    the envelope's shape is a documented error-class rule whatever the case says.
    """
    body = _body_json(ex)
    error = body.get("error") if isinstance(body, dict) else None
    shape = "error-class"  # the envelope itself is documented whatever basis the case gives the sub-expectations
    profile = _PROFILE.get() or "openai"
    if not isinstance(error, dict):
        problem = "missing" if error is None else "type"
        yield Finding(f'expected an error envelope {{"error": {{...}}}}, got {_short(body)}', "$.error", kind=problem,
                      rule=envelope_rule(None, problem, profile), basis=shape)
        return
    for key in ("message", "type"):
        if not isinstance(error.get(key), str):
            problem = "missing" if key not in error else "type"
            got = "missing" if key not in error else _short(error[key])
            yield Finding(f"error.{key} must be a string, got {got}", f"$.error.{key}", kind=problem,
                          rule=envelope_rule(key, problem, profile), basis=shape)
    for key in ("param", "code"):
        if key not in error:
            yield Finding(f"error.{key} is required (string or null) but missing", f"$.error.{key}", kind="missing",
                          rule=envelope_rule(key, "missing", profile), basis=shape)
        elif error[key] is not None and not isinstance(error[key], str):
            yield Finding(f"error.{key} must be a string or null, got {_short(error[key])}", f"$.error.{key}",
                          kind="type", rule=envelope_rule(key, "type", profile), basis=shape)
    if not isinstance(arg, dict):
        return
    strict = bool(arg.get("strict", False))
    for key in _ENVELOPE_KEYS:
        if key not in arg:
            continue
        wanted = arg[key] if isinstance(arg[key], list) else [arg[key]]
        actual = error.get(key)
        if not any(json_equal(actual, w) for w in wanted):
            label = " or ".join(_short(w) for w in wanted)
            message = f"expected error.{key} {label}, got {_short(actual)}"
            yield Finding(message, f"$.error.{key}") if strict else Advisory(message, f"$.error.{key}")


# ---------------------------------------------------------------------------- json

_VALUE_OPS = ("equals", "not_equals", "matches", "in", "type", "contains", "length", "gt", "gte", "lt", "lte")


def _validate_json_arg(arg: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(arg, dict):
        return
    yield from _check_path("path", arg.get("path"))
    yield from _check_regex("matches", arg.get("matches"))
    ops = [op for op in _VALUE_OPS + ("exists", "count") if op in arg]
    if not ops:
        yield "", f"json needs at least one operator ({', '.join(_VALUE_OPS + ('exists', 'count'))})"
    if arg.get("exists") is False and any(op in arg for op in _VALUE_OPS):
        yield "exists", "exists: false cannot be combined with value operators"
    if arg.get("if_present") and ("exists" in arg or "count" in arg or not any(op in arg for op in _VALUE_OPS)):
        yield "if_present", "if_present needs value operators and cannot be combined with exists or count"


def _value_problem(op: str, expected: Any, value: Any) -> str | None:
    """None when ``value`` satisfies ``op expected``, else what is wrong."""
    if op == "equals":
        return None if json_equal(value, expected) else f"expected {_short(expected)}, got {_short(value)}"
    if op == "not_equals":
        return f"expected anything but {_short(expected)}" if json_equal(value, expected) else None
    if op == "matches":
        if not isinstance(value, str):
            return f"expected a string matching /{expected}/, got {_short(value)}"
        return None if re.search(expected, value) else f"{_short(value)} does not match /{expected}/"
    if op == "in":
        ok = any(json_equal(value, e) for e in expected)
        return None if ok else f"expected one of {_short(expected)}, got {_short(value)}"
    if op == "type":
        wanted = expected if isinstance(expected, list) else [expected]
        ok = any(_type_ok(value, w) for w in wanted)
        return None if ok else f"expected type {' or '.join(wanted)}, got {_json_type(value)} {_short(value, 60)}"
    if op == "contains":
        if isinstance(value, str):
            ok = isinstance(expected, str) and expected in value
        elif isinstance(value, list):
            ok = any(_json_contains(item, expected) for item in value)
        elif isinstance(value, dict):
            ok = _json_contains(value, expected)
        else:
            ok = False
        return None if ok else f"expected {_short(value)} to contain {_short(expected)}"
    if op == "length":
        if not isinstance(value, (str, list, dict)):
            return f"expected something with a length, got {_json_type(value)}"
        return None if _range_ok(len(value), expected) else f"expected length {_range_label(expected)}, got {len(value)}"
    if op in ("gt", "gte", "lt", "lte"):
        if isinstance(expected, bool) or not isinstance(expected, (int, float)):  # a !var that captured no number
            raise _Inconclusive(f"{op} needs a number to compare with, got {_json_type(expected)} {_short(expected, 60)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected a number, got {_json_type(value)} {_short(value, 60)}"
        ok = {"gt": value > expected, "gte": value >= expected, "lt": value < expected, "lte": value <= expected}[op]
        sign = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        return None if ok else f"expected {sign} {expected}, got {value}"
    raise _Inconclusive(f"unknown json operator {op!r}")  # pragma: no cover - schema forbids it


def _json_source(arg: dict[str, Any], ex: Exchange) -> Any:
    source = arg.get("source", "response")
    if source == "sdk":
        from ..record.sdk.assertions import sdk_value

        return sdk_value(ex)
    if source == "events":
        if ex.events is None:
            raise _Fail("source: events needs a streamed step, but no events were recorded")
        out = []
        for ev in ex.events:
            try:
                out.append(json_loads(ev.data))
            except ValueError:
                out.append(ev.data)
        return out
    if source == "body":
        return _body_json(ex)
    return _document(ex)


@assertion("json", basis="documented", spec_ref=SPEC + "/components/schemas/Response", validate=_validate_json_arg,
           behavioural=_about_model_output)
def _json(arg: Any, ex: Exchange) -> Problems:
    """Values at ``path`` satisfy every given operator (all matches must; at least one must exist).

    ``source``: ``response`` (default: the body, or a stream's terminal response), ``body``,
    ``events`` (the list of event data objects of a streamed step) or ``sdk`` (what the official SDK
    returned, ``model_dump``-ed: an SDK step's object, e.g. a deleted-response confirmation or a page).
    Operators: equals, not_equals, matches, in, type, contains, length, gt, gte, lt, lte
    (each applies to every match and needs >= 1 match), ``exists: true|false`` and
    ``count: N | {min, max}`` (number of matches). ``if_present: true``: a path that matches nothing passes,
    for fields the spec lets a server omit (the optional echoes of request parameters: ``truncation``,
    ``reasoning``, ``service_tier``, ``text``...); a value that is present must satisfy the operators.
    """
    doc = _json_source(arg, ex)
    path = arg["path"]
    matches = find_located(doc, path)
    if "exists" in arg:
        if arg["exists"] and not matches:
            yield Finding(f"expected {path!r} to exist, but it matched nothing")
        if not arg["exists"] and matches:
            shown = ", ".join(f"{_where(loc)}={_short(v, 60)}" for loc, v in matches[:3])
            yield Finding(f"expected {path!r} to match nothing, found {len(matches)}: {shown}", matches[0][0])
    if "count" in arg and not _range_ok(len(matches), arg["count"]):
        yield Finding(f"expected {path!r} to match {_range_label(arg['count'])} values, got {len(matches)}")
    ops = [op for op in _VALUE_OPS if op in arg]
    if not ops:
        return
    if not matches:
        if not arg.get("if_present"):
            yield Finding(f"{path!r} matched nothing (needed for {', '.join(ops)})")
        return
    for location, value in matches:
        for op in ops:
            problem = _value_problem(op, arg[op], value)
            if problem:
                yield Finding(f"{_where(location)}: {problem}", _where(location))


# ---------------------------------------------------------------------------- output_text


def _validate_output_text_arg(arg: Any) -> Iterator[tuple[str, str]]:
    if isinstance(arg, dict):
        yield from _check_regex("matches", arg.get("matches"))


@assertion(
    "output_text", basis="documented",
    spec_ref=SPEC + "/components/schemas/OutputTextContent",
    validate=_validate_output_text_arg, behavioural=True,
)
def _output_text(arg: Any, ex: Exchange) -> Problems:
    """The assistant's text satisfies ``equals`` / ``token`` / ``contains`` / ``not_contains`` / ``matches``.

    The text is the concatenation of the ``output_text`` parts of assistant ``message`` items in
    ``output``; ``token`` compares after :func:`normalize_token` (case-sensitive).
    """
    text, found, types = _assistant_text(_document(ex))
    if not found:
        yield Finding(f"response has no assistant message with output_text (output item types: {types})", "$.output")
        return
    yield from text_findings(arg, text)


def text_findings(arg: Mapping[str, Any], text: str) -> Problems:
    """``equals`` / ``token`` / ``contains`` / ``not_contains`` / ``matches`` on an assistant text."""
    if "equals" in arg and text != arg["equals"]:
        yield Finding(f"expected output text {_short(arg['equals'])}, got {_short(text)}")
    if "token" in arg and normalize_token(text) != arg["token"]:
        yield Finding(f"expected the token {arg['token']!r}, got {_short(text)}")
    if "contains" in arg and arg["contains"] not in text:
        yield Finding(f"expected output text to contain {_short(arg['contains'])}, got {_short(text)}")
    if "not_contains" in arg and arg["not_contains"] in text:
        yield Finding(f"expected output text not to contain {_short(arg['not_contains'])}, got {_short(text)}")
    if "matches" in arg and not re.search(arg["matches"], text):
        yield Finding(f"expected output text to match /{arg['matches']}/, got {_short(text)}")


# ---------------------------------------------------------------------------- function_call


def _validate_function_call_arg(arg: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(arg, dict):
        return
    for key, pattern in (arg.get("arguments_matches") or {}).items():
        yield from _check_regex(f"arguments_matches.{key}", pattern)
    schema = arg.get("arguments_schema")
    if isinstance(schema, dict) and (problem := _schema_problem(schema)) is not None:
        yield "arguments_schema", f"not a valid JSON Schema: {problem}"


def _schema_problem(schema: dict[str, Any]) -> str | None:
    """``jsonschema``'s complaint about ``schema`` as a 2020-12 JSON Schema, or None when it is one.

    Why the detour: importing ``jsonschema`` is a sizeable share of a one-case run's start-up, and case files
    are checked at every start. jsonschema-rs's meta-validation answers for a schema holding no keyword whose
    value ``jsonschema`` also checks as a format (``pattern*`` as Python regexes, ``$``-keywords as URIs); any
    other schema, and any it refuses, goes to ``jsonschema`` for the verdict and its message."""
    if _meta_valid(schema):
        return None
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return str(exc.message)
    return None


def _meta_valid(schema: Any) -> bool:
    def plain(node: Any) -> bool:
        if isinstance(node, dict):
            return all(isinstance(k, str) and not k.startswith(("$", "pattern")) and plain(v) for k, v in node.items())
        if isinstance(node, list):
            return all(plain(v) for v in node)
        return node is None or isinstance(node, (str, int, float))

    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - a declared dependency
        return False
    try:
        return plain(schema) and bool(jsonschema_rs.meta.is_valid(schema))
    except Exception:  # noqa: BLE001 - anything odd: jsonschema decides
        return False


def _function_call_problems(arg: dict[str, Any], item: dict[str, Any]) -> list[str]:
    import jsonschema

    problems: list[str] = []
    if not isinstance(item.get("call_id"), str) or not item["call_id"]:
        problems.append(f"call_id must be a non-empty string, got {_short(item.get('call_id'))}")
    raw = item.get("arguments")
    if not isinstance(raw, str):
        return problems + [f"arguments must be a JSON string, got {_short(raw)}"]
    try:
        args = json_loads(raw)
    except ValueError as exc:
        return problems + [f"arguments are not valid JSON ({exc}): {raw[:120]!r}"]
    if "arguments_schema" in arg:
        validator = jsonschema.Draft202012Validator(arg["arguments_schema"])
        for err in list(validator.iter_errors(args))[:3]:
            problems.append(f"arguments {_short(args)} do not match the schema: {err.json_path}: {err.message}")
    for key, wanted in (arg.get("arguments") or {}).items():
        if not isinstance(args, dict) or key not in args:
            problems.append(f"arguments lack {key!r}: {_short(args)}")
        elif not _json_contains(args[key], wanted):
            problems.append(f"argument {key!r}: expected {_short(wanted)}, got {_short(args[key])}")
    for key, pattern in (arg.get("arguments_matches") or {}).items():
        value = args.get(key) if isinstance(args, dict) else None
        if not isinstance(value, str) or not re.search(pattern, value):
            problems.append(f"argument {key!r}: expected a string matching /{pattern}/, got {_short(value)}")
    return problems


@assertion(
    "function_call", basis="documented",
    spec_ref=SPEC + "/components/schemas/FunctionToolCall",
    validate=_validate_function_call_arg, behavioural=True,
)
def _function_call(arg: Any, ex: Exchange) -> Problems:
    """``output`` holds a ``function_call`` item called ``name`` with a call_id and JSON arguments.

    The arguments must parse as JSON, validate against ``arguments_schema`` if given, contain
    the ``arguments`` key/values (subset) and match the ``arguments_matches`` regexes. One
    matching item suffices; ``count`` (if given) is the exact number of calls with that name.
    """
    doc = _document(ex)
    output = doc.get("output") if isinstance(doc, dict) else None
    if not isinstance(output, list):
        yield Finding(f"response has no output array (output: {_short(output)})", "$.output")
        return
    calls = [(i, it) for i, it in enumerate(output) if isinstance(it, dict) and it.get("type") == "function_call"]
    named = [(i, it) for i, it in calls if it.get("name") == arg["name"]]
    if not named:
        seen = [it.get("name") for _, it in calls]
        types = [it.get("type") for it in output if isinstance(it, dict)]
        yield Finding(
            f"no function_call named {arg['name']!r} in output (function calls: {seen}, item types: {types})",
            "$.output",
        )
        return
    if "count" in arg and len(named) != arg["count"]:
        yield Finding(f"expected {arg['count']} call(s) of {arg['name']!r}, got {len(named)}", "$.output")
    first_problems: list[str] = []
    for index, item in named:
        problems = _function_call_problems(arg, item)
        if not problems:
            return
        if not first_problems:
            first_problems = [f"output[{index}]: {p}" for p in problems]
    for problem in first_problems:
        yield Finding(problem, "$.output")


# ---------------------------------------------------------------------------- json_output


def _validate_json_output_arg(arg: Any) -> Iterator[tuple[str, str]]:
    if isinstance(arg, dict) and isinstance(arg.get("schema"), dict) and (
            problem := _schema_problem(arg["schema"])) is not None:
        yield "schema", f"not a valid JSON Schema: {problem}"


@assertion(
    "json_output", basis="documented",
    spec_ref=SPEC + "/components/schemas/TextResponseFormatJsonSchema",
    validate=_validate_json_output_arg, behavioural=True,
)
def _json_output(arg: Any, ex: Exchange) -> Problems:
    """The output text parses as JSON (no code fences), validates against ``schema``, ``equals``/``contains``."""
    import jsonschema

    text, found, types = _assistant_text(_document(ex))
    if not found:
        yield Finding(f"response has no assistant message with output_text (output item types: {types})", "$.output")
        return
    try:
        value = json_loads(text)
    except ValueError as exc:
        yield Finding(f"output text is not JSON ({exc}): {_short(text)}")
        return
    if "schema" in arg:
        for err in list(jsonschema.Draft202012Validator(arg["schema"]).iter_errors(value))[:5]:
            yield Finding(f"output JSON {_short(value)} does not match the schema: {err.json_path}: {err.message}")
    if "equals" in arg and not json_equal(value, arg["equals"]):
        yield Finding(f"expected output JSON {_short(arg['equals'])}, got {_short(value)}")
    if "contains" in arg and not _json_contains(value, arg["contains"]):
        yield Finding(f"expected output JSON to contain {_short(arg['contains'])}, got {_short(value)}")


# ---------------------------------------------------------------------------- status fields


@assertion("response_status", basis="documented", spec_ref=SPEC + "/components/schemas/Response/allOf/2/properties/status",
           behavioural=_expects_incomplete)
def _response_status(arg: Any, ex: Exchange) -> Problems:
    """The Response's ``status`` is the given value (or one of a list): completed, incomplete, ..."""
    doc = _document(ex)
    wanted = arg if isinstance(arg, list) else [arg]
    actual = doc.get("status") if isinstance(doc, dict) else None
    if actual not in wanted:
        extra = ""
        if isinstance(doc, dict) and doc.get("incomplete_details"):
            extra = f" (incomplete_details: {_short(doc['incomplete_details'])})"
        elif isinstance(doc, dict) and doc.get("error"):
            extra = f" (error: {_short(doc['error'])})"
        yield Finding(f"expected response status {' or '.join(map(str, wanted))}, got {_short(actual)}{extra}", "$.status")


@assertion("incomplete_reason", basis="documented",
           spec_ref=SPEC + "/components/schemas/Response/allOf/2/properties/incomplete_details", behavioural=True)
def _incomplete_reason(arg: Any, ex: Exchange) -> Problems:
    """``incomplete_details.reason`` is the given value (or one of a list)."""
    doc = _document(ex)
    wanted = arg if isinstance(arg, list) else [arg]
    details = doc.get("incomplete_details") if isinstance(doc, dict) else None
    actual = details.get("reason") if isinstance(details, dict) else None
    if actual not in wanted:
        status = doc.get("status") if isinstance(doc, dict) else None
        yield Finding(
            f"expected incomplete_details.reason {' or '.join(map(str, wanted))}, got "
            f"incomplete_details {_short(details)} (status {_short(status)})",
            "$.incomplete_details.reason",
        )


# ---------------------------------------------------------------------------- events


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
           behavioural=_events_name_model_action)
def _events(arg: Any, ex: Exchange) -> Problems:
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


# ---------------------------------------------------------------------------- header


def _validate_header_arg(arg: Any) -> Iterator[tuple[str, str]]:
    if isinstance(arg, dict):
        yield from _check_regex("matches", arg.get("matches"))


@assertion(
    "header", basis="documented",
    spec_ref=SPEC + "/paths/~1responses/post/responses/200/content",
    validate=_validate_header_arg,
)
def _header(arg: Any, ex: Exchange) -> Problems:
    """Response header ``name`` (case-insensitive) ``equals`` / ``matches`` / ``contains`` / ``exists``."""
    value = ex.header(arg["name"])
    ops = [k for k in ("equals", "matches", "contains") if k in arg]
    exists = arg.get("exists", True if not ops else None)
    if exists is True and value is None:
        yield Finding(f"expected header {arg['name']!r}, but it is absent")
        return
    if exists is False:
        if value is not None:
            yield Finding(f"expected no header {arg['name']!r}, got {value!r}")
        return
    if value is None:
        yield Finding(f"expected header {arg['name']!r}, but it is absent")
        return
    if "equals" in arg and value != arg["equals"]:
        yield Finding(f"expected header {arg['name']}: {arg['equals']!r}, got {value!r}")
    if "matches" in arg and not re.search(arg["matches"], value, re.I):
        yield Finding(f"expected header {arg['name']} to match /{arg['matches']}/ (case-insensitive), got {value!r}")
    if "contains" in arg and arg["contains"].lower() not in value.lower():
        yield Finding(f"expected header {arg['name']} to contain {arg['contains']!r}, got {value!r}")


# ---------------------------------------------------------------------------- evaluation


def _as_expectation(expectation: Expectation | Mapping[str, Any]) -> Expectation:
    if isinstance(expectation, Expectation):
        return expectation
    if isinstance(expectation, Mapping) and len(expectation) == 1:
        ((name, arg),) = expectation.items()
        return Expectation(str(name), arg)
    raise TypeError(f"an expectation is a one-key mapping {{name: argument}}, got {expectation!r}")


def evaluate(
    expectation: Expectation | Mapping[str, Any],
    exchange: Exchange,
    variables: Mapping[str, Any],
    *,
    model: str = "",
    env: Mapping[str, str] | None = None,
    profile: str | None = None,
    policy: JudgePolicy | None = None,
) -> CheckResult:
    """Judge one expectation against one recorded exchange.

    Returns a :class:`CheckResult` named ``expect.<assertion>``: ``fail`` with a message giving
    expected vs actual, ``pass`` (with severity ``warning`` and findings when only advisory
    findings were made), or ``error`` when the exchange is inconclusive or the assertion
    cannot judge (an unresolvable ``!var``, an unavailable schema). ``profile`` selects the
    schema profile of ``conformance.judge.schemas`` (its default when None).
    """
    exp = _as_expectation(expectation)
    name = f"expect.{exp.name}"
    spec = ASSERTIONS.get(exp.name)
    if spec is None:
        known = ", ".join(sorted(ASSERTIONS))
        return CheckResult(name, Outcome.ERROR, f"unknown assertion {exp.name!r} (known: {known})", step=exchange.step)
    raw_arg, basis = split_basis(exp.arg, exp.basis or spec.basis)
    named = bool(exp.basis) or (isinstance(exp.arg, Mapping) and "basis" in exp.arg)
    try:
        spec_ref = spec.spec_ref_for(raw_arg)
    except Exception:
        spec_ref = ""
    if exchange.inconclusive:
        return CheckResult(
            name, Outcome.ERROR, f"exchange is inconclusive ({exchange.error_kind}: {exchange.error}); not judged",
            spec_ref, exchange.step, basis=basis,
        )
    try:
        arg = resolve(raw_arg, variables, model, env if env is not None else {})
    except ResolveError as exc:
        return CheckResult(name, Outcome.ERROR, str(exc), spec_ref, exchange.step, basis=basis)
    findings: list[Finding] = []
    token = _PROFILE.set(profile)
    try:
        findings = list(spec.func(arg, exchange))
    except _Fail as exc:
        findings = [Finding(str(exc))]
    except _Inconclusive as exc:
        return CheckResult(name, Outcome.ERROR, str(exc), spec_ref, exchange.step, basis=basis)
    except _NotInProfile as exc:
        return CheckResult(name, Outcome.SKIPPED, str(exc), spec_ref, exchange.step, basis=basis)
    except Exception as exc:  # an assertion must report odd input, never crash the run
        findings = [Finding(f"assertion crashed on this input: {type(exc).__name__}: {exc}")]
    finally:
        _PROFILE.reset(token)
    if not findings:
        return CheckResult(name, Outcome.PASS, "", spec_ref, exchange.step, basis=basis)
    # an Advisory finding is what OpenAI does, not a stated rule: basis observed (a warning by default), unless
    # the case names the basis of this expectation itself
    advisory = basis if named else "observed"
    findings = [replace(f, basis=advisory) if isinstance(f, Advisory) and not f.basis else f for f in findings]
    raw = CheckResult(name, Outcome.FAIL, "; ".join(f.message for f in findings), spec_ref, exchange.step, "error",
                      findings, basis)
    return classify_result(raw, policy or JudgePolicy())


def split_basis(arg: Any, default: str) -> tuple[Any, str]:
    """An expectation's argument without its ``basis:`` key, and the basis it asks for (else ``default``)."""
    if isinstance(arg, Mapping) and "basis" in arg:
        basis = str(arg["basis"])
        rest = {k: v for k, v in arg.items() if k != "basis"}
        if set(rest) == {"value"}:  # ``{value: 400, basis: observed}`` for a scalar argument
            return rest["value"], basis if basis in BASES else default
        return rest, basis if basis in BASES else default
    return arg, default


def capture_value(exchange: Exchange, path: str) -> Any:
    """The value a ``capture:`` entry takes: the first match of ``path`` in the step's response.

    The document is the same as for ``json:`` (body, or a stream's terminal response). Raises
    :class:`CaptureError` when nothing matches, so the engine can fail the case clearly.
    """
    try:
        doc = response_document(exchange)
    except ValueError as exc:
        raise CaptureError(f"cannot capture {path!r}: {exc}") from None
    matches = find_located(doc, path)
    if not matches:
        raise CaptureError(f"cannot capture {path!r}: it matched nothing in the response {_short(doc, 200)}")
    return matches[0][1]



# The official-SDK assertions (sdk_ok, sdk_output_text, ...) live with the SDK runner; importing
# them here registers them in ASSERTIONS (conformance/record/sdk/assertions.py never imports openai eagerly).
from ..record.sdk import assertions as _sdk_assertions  # noqa: F401, E402
