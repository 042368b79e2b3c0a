"""Load and validate YAML case files, keeping line numbers for every value.

Why a node walker instead of ``yaml.safe_load``: every error must point at ``file:line``
(tavern's best-loved feature is showing the failing YAML), duplicate keys must be an error
rather than silently overwritten, and YAML 1.1 surprises (``NO``/``on`` as booleans, bare
dates) must not turn a token like ``NO`` into ``False``. We compose the node tree with a
private ``yaml.SafeLoader`` subclass (PyYAML's global loaders are never touched) and build
plain JSON data plus typed tag nodes ourselves.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .._yamlfile import c_twin, check_expansion, compose_c
from .._yamlfile import yaml12_resolvers as _yaml12_resolvers
from ..judge.expect.arguments import expected_statuses
from ..judge.expect.expectation import Expectation, split_basis
from ..judge.expect.registry import ASSERTIONS
from ._tags import Env, Join, Model, Tag, Var, iter_tags
from .paths import PathSyntaxError, parse_path

if TYPE_CHECKING:  # imported only for a file the compiled pre-check refuses (see _fast_case_validator)
    import jsonschema

__all__ = [
    "CAPABILITIES",
    "GROUPS",
    "SCHEMA_PATH",
    "Case",
    "CaseFormatError",
    "RepeatUntil",
    "Step",
    "case_schema",
    "load_all",
    "load_cases",
]

SCHEMA_PATH = Path(__file__).with_name("case.schema.json")
DEFAULT_PATH = "/responses"
_TAGS = ("!var", "!env", "!join", "!model")


@lru_cache(maxsize=1)
def case_schema() -> dict[str, Any]:
    """The published JSON Schema of the case format (``case.schema.json``)."""
    with SCHEMA_PATH.open(encoding="utf-8") as fh:
        return json.load(fh)


GROUPS: tuple[str, ...] = tuple(case_schema()["$defs"]["case"]["properties"]["group"]["enum"])
CAPABILITIES: tuple[str, ...] = tuple(case_schema()["$defs"]["case"]["properties"]["capabilities"]["items"]["enum"])


class CaseFormatError(ValueError):
    """A case file is malformed; ``str()`` is one line: ``file:line: case 'id': where: message``."""

    def __init__(self, file: str, line: int, message: str, case_id: str | None = None, where: str = "") -> None:
        self.file = file
        self.line = line
        self.message = message
        self.case_id = case_id
        self.where = where
        super().__init__(self._render())

    def _render(self) -> str:
        text = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "  # line 0: the file (folder) as a whole
        if self.case_id:
            text += f"case {self.case_id!r}: "
        if self.where:
            text += f"{self.where}: "
        return text + " ".join(self.message.split())

    def __str__(self) -> str:
        return self._render()


@dataclass(frozen=True)
class RepeatUntil:
    """Poll a step: re-send it until the first match of ``path`` in its response is one of ``values``."""

    path: str
    values: tuple[Any, ...]
    timeout_s: float = 60.0
    interval_s: float = 0.5

    def satisfied(self, document: Any) -> bool:
        from .paths import lookup

        found = lookup(document, self.path) if document is not None else []
        return bool(found) and any(found[0] == v and type(found[0]) is type(v) for v in self.values)


@dataclass(frozen=True)
class Step:
    """One request of a case, what to capture from its response, and what to expect of it."""

    name: str
    method: str = "POST"  # websocket: "GET" (the upgrade); sdk: "" (the SDK chooses); how it travels: ``transport``
    path: Any = DEFAULT_PATH  # a str, or a tag (usually !join) resolving to one
    body: Any = None
    stream: bool = False
    auth: str = "default"
    headers: dict[str, Any] = field(default_factory=dict)
    capture: dict[str, str] = field(default_factory=dict)
    expect: tuple[Expectation, ...] = ()
    line: int = 0
    transport: str = "http"  # or "websocket": body is a response.create client event on `connection`
    connection: str | None = None  # websocket steps naming the same connection share one socket
    repeat_until: RepeatUntil | None = None
    call: str | None = None  # transport "sdk": the official SDK method to call (conformance/record/sdk)
    args: Any = None  # transport "sdk": its keyword arguments (tags allowed)
    raw_body: str | None = None  # sent verbatim instead of ``body`` (malformed-JSON cases); never parsed by us
    uncapped: str = ""  # why this generating step sends no max_output_tokens (conformance/run/cost.py); "" = it must

    def expected_statuses(self) -> tuple[int, ...]:
        """Every status code the ``status`` expectations of this step accept (empty if none)."""
        out: list[int] = []
        for exp in self.expect:
            if exp.name == "status":
                out.extend(expected_statuses(exp.arg))
        return tuple(sorted(set(out)))


#: Pseudo-capability of the *model*: following the deterministic probes. Declared unavailable for a mock
#: or random-weight model, every case with a behavioural assertion becomes ``skipped (declared)``.
MODEL_BEHAVIOUR = "model_behaviour"
BEHAVIOURAL_ASSERTIONS = frozenset({"output_text", "function_call", "json_output",
                                    "sdk_output_text", "sdk_function_call", "sdk_parsed"})
#: Capabilities that make a case behavioural by themselves: a probe only a probe-following model answers
#: (the reference model refuses on request), or ``model_behaviour`` listed by a case whose verdict depends on
#: what the model chooses to do although it asserts through ``json`` (e.g. whether it reaches a tool call).
BEHAVIOURAL_CAPABILITIES = frozenset({"refusal_probe", MODEL_BEHAVIOUR})


@dataclass(frozen=True)
class Case:
    """One conformance case: metadata for reports/filters plus its ordered steps."""

    id: str
    title: str
    group: str
    spec: tuple[str, ...]
    capabilities: tuple[str, ...]
    steps: tuple[Step, ...]
    disabled_checks: tuple[str, ...] = ()
    file: str = ""
    line: int = 0
    description: str = ""
    disabled_reason: str = ""

    @property
    def core(self) -> bool:
        """A core case may never be answered with ``unsupported``."""
        return "core" in self.capabilities

    @property
    def behavioural(self) -> bool:
        """Whether a step asserts what a probe-following model replies (docs/DESIGN.md probe table), or the
        case needs a probe capability (``refusal_probe``): either way a random-weight model cannot pass it."""
        return (any(exp.name in BEHAVIOURAL_ASSERTIONS for step in self.steps for exp in step.expect)
                or any(cap in BEHAVIOURAL_CAPABILITIES for cap in self.capabilities))

    @property
    def needs(self) -> tuple[str, ...]:
        """What a target must offer to run this case: its capabilities, plus ``model_behaviour`` when
        behavioural (a mock or random-weight model declares ``{model_behaviour: false}``)."""
        extra = (MODEL_BEHAVIOUR,) if self.behavioural and MODEL_BEHAVIOUR not in self.capabilities else ()
        return self.capabilities + extra


# ---------------------------------------------------------------------------- YAML -> data


class _CaseYamlLoader(yaml.SafeLoader):
    """Private SafeLoader subclass: composes nodes only; never registered globally."""

    yaml_implicit_resolvers = _yaml12_resolvers()


_CaseYamlCLoader = c_twin(_CaseYamlLoader)  # libyaml composes; errors still come from the pure loader


class _Builder:
    """Turns a composed node tree into JSON data + tag nodes, recording each value's line."""

    def __init__(self, file: str, loader: Any) -> None:  # _CaseYamlLoader or its libyaml twin
        self.file = file
        self.loader = loader
        self.lines: dict[tuple[Any, ...], int] = {}
        self.key_lines: dict[tuple[Any, ...], int] = {}
        self._stack: set[int] = set()

    def fail(self, node: yaml.Node, message: str) -> CaseFormatError:
        return CaseFormatError(self.file, node.start_mark.line + 1, message)

    def build(self, node: yaml.Node, path: tuple[Any, ...] = ()) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if id(node) in self._stack:
            raise self.fail(node, "recursive YAML alias (a value that contains itself) is not JSON")
        self._stack.add(id(node))
        try:
            return self._build(node, path)
        finally:
            self._stack.discard(id(node))

    def _build(self, node: yaml.Node, path: tuple[Any, ...]) -> Any:
        tag = node.tag
        line = node.start_mark.line + 1
        if tag.startswith("!") and tag not in _TAGS:
            raise self.fail(node, f"unknown tag {tag!r} (known: {', '.join(_TAGS)})")
        if tag in ("!var", "!env", "!model"):
            if not isinstance(node, yaml.ScalarNode):
                raise self.fail(node, f"{tag} takes a plain name, e.g. '{tag} resp_id'")
            name = str(node.value).strip()
            if tag == "!model":
                if name:
                    raise self.fail(node, f"!model takes no argument (got {name!r}); the model is given at run time")
                return Model(self.file, line)
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise self.fail(node, f"{tag} needs a name like resp_id, got {name!r}")
            return Var(self.file, line, name) if tag == "!var" else Env(self.file, line, name)
        if tag == "!join":
            if not isinstance(node, yaml.SequenceNode):
                raise self.fail(node, "!join takes a list, e.g. !join ['/responses/', !var resp_id]")
            items = tuple(self.build(child, path + (i,)) for i, child in enumerate(node.value))
            for item in items:
                if isinstance(item, (dict, list)) or item is None:
                    raise self.fail(node, f"!join items must be strings, numbers or tags, got {item!r}")
            return Join(self.file, line, items)
        if isinstance(node, yaml.MappingNode):
            if tag != "tag:yaml.org,2002:map":
                raise self.fail(node, f"unsupported YAML type {tag} (case files hold JSON data)")
            self.loader.flatten_mapping(node)
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self._scalar(key_node)
                if not isinstance(key, str):
                    raise self.fail(key_node, f"mapping keys must be strings, got {key!r} (quote it)")
                if key in out:
                    raise self.fail(key_node, f"duplicate key {key!r}")
                if (node.flow_style and " " in key and isinstance(value_node, yaml.ScalarNode)
                        and value_node.value == "" and value_node.tag == "tag:yaml.org,2002:null"):
                    # {content: a, b c}: the comma ended the unquoted value and 'b c' became a key
                    raise self.fail(key_node, f"{key!r} is a key without a value: in a flow mapping {{...}} a comma "
                                              "ends an unquoted value; quote the text that contains it")
                self.key_lines[path + (key,)] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            if tag != "tag:yaml.org,2002:seq":
                raise self.fail(node, f"unsupported YAML type {tag} (case files hold JSON data)")
            return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, "mapping keys must be plain strings")
        try:
            # a scalar's constructor directly (what construct_object calls, minus its bookkeeping for
            # containers): half the cost of loading the suite's 15,000 scalars
            construct = self.loader.yaml_constructors.get(node.tag)
            value = construct(self.loader, node) if construct else self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise self.fail(node, f"bad scalar: {exc}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(node, f"{node.value!r} is not a JSON number")
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise self.fail(node, f"unsupported YAML type {node.tag} (case files hold JSON data)")
        return value


def _display(path: Path) -> str:
    """The path as shown in errors: relative to the working directory when below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _parse(path: Path, file: str) -> tuple[Any, _Builder]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CaseFormatError(file, 1, f"not UTF-8 text: {exc}") from None
    if "\x00" in text:  # refused by PyYAML's reader too, but as a traceback before any line is known
        raise CaseFormatError(file, text.count("\n", 0, text.index("\x00")) + 1, "invalid YAML: a NUL byte")
    fast = compose_c(text, _CaseYamlCLoader)
    loader = fast[0] if fast else _CaseYamlLoader(text)
    try:
        node = fast[1] if fast else loader.get_single_node()
        check_expansion(node, lambda line, message: CaseFormatError(file, line, message), text=text)  # no alias bomb
        if node is None:
            raise CaseFormatError(file, 1, "empty file (expected a mapping with a 'cases' list)")
        builder = _Builder(file, loader)
        return builder.build(node), builder
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        lines = text.splitlines()
        nearby = " ".join(lines[max(0, line - 2) : line])
        if re.search(r"!(?:model|var|env|join)[,}\]]", nearby):
            problem += " (hint: in flow style a tag swallows a following ',' - write '!model ,' or use block style)"
        raise CaseFormatError(file, line, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise CaseFormatError(file, 1, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


# ---------------------------------------------------------------------------- validation


def _schema_view(value: Any) -> Any:
    """Data as the JSON Schema sees it: tags count as strings (as editors treat custom tags)."""
    if isinstance(value, Tag):
        return repr(value)
    if isinstance(value, dict):
        return {k: _schema_view(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_schema_view(v) for v in value]
    return value


def _where(path: tuple[Any, ...]) -> str:
    """``steps[0].expect[1]`` for a path relative to a case."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _Context:
    """Locates a data path (file-absolute) as ``file:line`` + case id + case-relative where."""

    def __init__(self, file: str, data: Any, builder: _Builder) -> None:
        self.file = file
        self.data = data
        self.builder = builder

    def line(self, path: tuple[Any, ...], key: bool = False) -> int:
        if key and path in self.builder.key_lines:
            return self.builder.key_lines[path]
        probe = path
        while probe:
            if probe in self.builder.lines:
                return self.builder.lines[probe]
            probe = probe[:-1]
        return self.builder.lines.get((), 1)

    def error(self, path: tuple[Any, ...], message: str, *, key: bool = False, line: int | None = None) -> CaseFormatError:
        case_id = None
        rel: tuple[Any, ...] = path
        if len(path) >= 2 and path[0] == "cases" and isinstance(path[1], int):
            cases = self.data.get("cases") if isinstance(self.data, dict) else None
            if isinstance(cases, list) and path[1] < len(cases) and isinstance(cases[path[1]], dict):
                raw = cases[path[1]].get("id")
                case_id = raw if isinstance(raw, str) else None
            rel = path[2:]
            if case_id is None:
                rel = path
        return CaseFormatError(self.file, line or self.line(path, key), message, case_id, _where(rel))


def _schema_message(err: jsonschema.ValidationError, path: tuple[Any, ...]) -> tuple[str, tuple[Any, ...], bool]:
    """(one-line message, path to point at, whether to point at the key) for a schema error."""
    inst = err.instance
    parent = path[-2] if len(path) >= 2 else None
    if err.validator == "additionalProperties" and isinstance(inst, dict):
        allowed = set(err.schema.get("properties", {}))
        extra = [k for k in inst if k not in allowed]
        name = extra[0] if extra else "?"
        if parent == "expect":
            known = ", ".join(sorted(ASSERTIONS))
            return f"unknown assertion {name!r} (known: {known})", path + (name,), True
        return f"unknown key {name!r} (allowed: {', '.join(sorted(allowed))})", path + (name,), True
    if err.validator == "enum" and path and path[-1] == "group":
        return f"unknown group {inst!r} (known: {', '.join(GROUPS)})", path, False
    if err.validator == "enum" and len(path) >= 2 and path[-2] == "capabilities":
        return f"unknown capability {inst!r} (known: {', '.join(CAPABILITIES)})", path, False
    if err.validator == "required":
        missing = re.match(r"'([^']+)'", err.message)
        return f"missing required key {missing.group(1) if missing else err.message!r}", path, False
    if err.validator in ("minProperties", "maxProperties") and parent == "expect":
        keys = list(inst) if isinstance(inst, dict) else inst
        return f"an expectation has exactly one assertion key, got {keys!r}", path, False
    if err.validator in ("anyOf", "oneOf") and err.schema.get("description"):
        return f"{json.dumps(inst)} is not valid: expected {err.schema['description']}", path, False
    if err.validator == "pattern" and path and path[-1] == "id" and len(path) == 3:
        return f"case id {inst!r} must be snake_case words joined by dots (e.g. input.string)", path, False
    return err.message, path, False


@lru_cache(maxsize=1)
def _case_validator() -> jsonschema.protocols.Validator:
    import jsonschema

    return jsonschema.Draft202012Validator(case_schema())


@lru_cache(maxsize=1)
def _fast_case_validator() -> Any | None:
    """The case format compiled by jsonschema-rs (formats off, as ``jsonschema`` has them), or None without it.

    Why: proving a valid file valid is most of what loading the suite costs in ``jsonschema``; the compiled
    validator does it about a hundred times faster. It is trusted only when it says "valid" (the view is plain
    JSON data: tags are strings there); a file it refuses is validated again by ``jsonschema``, whose first
    error is the one reported, as before."""
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    try:
        return jsonschema_rs.Draft202012Validator(case_schema(), validate_formats=False)
    except Exception:  # noqa: BLE001 - no pre-check then
        return None


def _surely_valid(view: Any) -> bool:
    fast = _fast_case_validator()
    try:
        return fast is not None and bool(fast.is_valid(view))
    except Exception:  # noqa: BLE001 - e.g. a lone surrogate: let jsonschema judge
        return False


def _check_schema(data: Any, ctx: _Context) -> None:
    view = _schema_view(data)
    if _surely_valid(view):
        return
    errors = list(_case_validator().iter_errors(view))
    if not errors:
        return
    ranked = []
    for err in errors:
        path = tuple(err.absolute_path)
        message, where, key = _schema_message(err, path)
        ranked.append((ctx.line(where, key), -len(path), message, where, key))
    line, _, message, where, key = min(ranked, key=lambda r: (r[0], r[1]))
    raise ctx.error(where, message, key=key, line=line)


def _check_semantics(data: dict[str, Any], ctx: _Context, seen: dict[str, str]) -> None:
    for ci, case in enumerate(data["cases"]):
        base: tuple[Any, ...] = ("cases", ci)
        if case["id"] in seen:
            raise ctx.error(base + ("id",), f"duplicate case id {case['id']!r} (first defined at {seen[case['id']]})")
        seen[case["id"]] = f"{ctx.file}:{ctx.line(base)}"
        caps = case["capabilities"]
        if "core" in caps and len(caps) > 1:
            raise ctx.error(
                base + ("capabilities",),
                f"'core' cannot be combined with optional capabilities {[c for c in caps if c != 'core']} "
                "(core means the provider may never answer unsupported)",
            )
        for key, value in case.items():
            if key != "steps":
                for tag in iter_tags(value):
                    raise ctx.error(base + (key,), f"{tag!r} is not allowed here (tags belong in request and expect)", line=tag.line)
        step_names: set[str] = set()
        captured: list[str] = []
        for si, step in enumerate(case["steps"]):
            sbase = base + ("steps", si)
            if step["name"] in step_names:
                raise ctx.error(sbase + ("name",), f"duplicate step name {step['name']!r}")
            step_names.add(step["name"])
            request = step.get("request", {})
            _check_sdk_request(ctx, sbase, step, request)
            _check_raw_body(ctx, sbase, request)
            if request.get("transport") == "sdk":
                pass
            elif request.get("transport") != "websocket":
                if "connection" in request:
                    raise ctx.error(sbase + ("request", "connection"), "connection needs transport: websocket",
                                    key=True)
            elif request.get("method", "GET") != "GET" or "stream" in request:
                key = "method" if "method" in request else "stream"
                raise ctx.error(sbase + ("request", key), f"{key} does not apply to a websocket step (every "
                                "turn is a response.create client event answered by streamed events)", key=True)
            for key in ("method", "stream", "auth", "transport", "connection", "call"):
                for tag in iter_tags(request.get(key)):
                    raise ctx.error(sbase + ("request", key), f"{tag!r} is not allowed here", line=tag.line)
            for key in ("name", "capture"):
                for tag in iter_tags(step.get(key)):
                    raise ctx.error(sbase + (key,), f"{tag!r} is not allowed here", line=tag.line)
            for tag in iter_tags([request.get("path"), request.get("body"), request.get("headers"), request.get("args"),
                                  step["expect"]]):
                if isinstance(tag, Var) and tag.name not in captured:
                    so_far = ", ".join(captured) or "none"
                    raise ctx.error(
                        sbase,
                        f"!var {tag.name!r} is used before an earlier step captures it (captured so far: {so_far})",
                        line=tag.line,
                    )
            for var, path in step.get("capture", {}).items():
                try:
                    parse_path(path)
                except PathSyntaxError as exc:
                    raise ctx.error(sbase + ("capture", var), f"bad capture path: {exc}") from None
            if "repeat_until" in step:
                for tag in iter_tags(step["repeat_until"]):
                    raise ctx.error(sbase + ("repeat_until",), f"{tag!r} is not allowed here", line=tag.line)
                if request.get("transport") == "websocket":
                    raise ctx.error(sbase + ("repeat_until",), "repeat_until does not apply to a websocket step")
                try:
                    parse_path(step["repeat_until"]["path"])
                except PathSyntaxError as exc:
                    raise ctx.error(sbase + ("repeat_until", "path"), f"bad repeat_until path: {exc}") from None
            stream = _stream_of(request)
            for ei, exp in enumerate(step["expect"]):
                ((name, arg),) = exp.items()
                ebase = sbase + ("expect", ei)
                spec = ASSERTIONS[name]
                if spec.streamed_only and not stream:
                    raise ctx.error(ebase, f"assertion {name!r} needs a streamed step (request.stream or body.stream true)")
                arg, _ = split_basis(arg, "")  # ``basis`` is validated by the schema (an enum of BASES)
                if spec.validate is not None:
                    for sub, message in spec.validate(_schema_view(arg)):
                        where = ebase + (name,) + tuple(p for p in sub.split(".") if p)
                        raise ctx.error(where, message, line=ctx.line(ebase))
            captured.extend(v for v in step.get("capture", {}) if v not in captured)


def _check_raw_body(ctx: _Context, sbase: tuple[Any, ...], request: Mapping[str, Any]) -> None:
    """``raw_body`` replaces ``body`` on an HTTP step: never both, and no websocket/sdk step takes it."""
    if "raw_body" not in request:
        return
    if "body" in request:
        raise ctx.error(sbase + ("request", "raw_body"), "raw_body and body exclude each other (raw_body is the "
                        "whole body, sent verbatim)", key=True)
    if request.get("transport", "http") != "http":
        raise ctx.error(sbase + ("request", "raw_body"), "raw_body needs an http step", key=True)
    for tag in iter_tags(request.get("raw_body")):
        raise ctx.error(sbase + ("request", "raw_body"), f"{tag!r} is not allowed here (raw_body is sent verbatim)",
                        line=tag.line)


_SDK_FORBIDDEN = ("method", "path", "body", "raw_body", "stream", "headers", "connection")


def _check_sdk_request(ctx: _Context, sbase: tuple[Any, ...], step: Mapping[str, Any], request: Mapping[str, Any]) -> None:
    """``transport: sdk`` takes ``call`` + ``args`` (+ ``auth``); ``call``/``args`` need it."""
    if request.get("transport") != "sdk":
        for key in ("call", "args"):
            if key in request:
                raise ctx.error(sbase + ("request", key), f"{key} needs transport: sdk", key=True)
        return
    if "call" not in request:
        raise ctx.error(sbase + ("request",), "transport: sdk needs call (the SDK method, e.g. responses.create)")
    for key in _SDK_FORBIDDEN:
        if key in request:
            raise ctx.error(sbase + ("request", key), f"{key} does not apply to an sdk step (the SDK builds the "
                            "request from call and args)", key=True)
    if "repeat_until" in step:
        raise ctx.error(sbase + ("repeat_until",), "repeat_until does not apply to an sdk step")
    stream = (request.get("args") or {}).get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise ctx.error(sbase + ("request", "args", "stream"), "args.stream must be true or false (not a tag): "
                        "whether the step streams is decided when the file loads")


def _stream_of(request: Mapping[str, Any]) -> bool:
    if request.get("transport") == "websocket":
        return True
    if request.get("transport") == "sdk":
        args = request.get("args") or {}
        return request.get("call") == "responses.stream" or args.get("stream") is True
    if "stream" in request:
        return bool(request["stream"])
    body = request.get("body")
    return isinstance(body, dict) and body.get("stream") is True


def _repeat_until(raw: Any) -> RepeatUntil | None:
    if raw is None:
        return None
    return RepeatUntil(raw["path"], tuple(raw["in"]), float(raw.get("timeout_s", 60.0)),
                       float(raw.get("interval_s", 0.5)))


def _check_disabled_names(names: Any, base: tuple[Any, ...], ctx: _Context) -> None:
    """A check named in ``checks.disable`` must exist: a typo would disable nothing and say nothing. Checks a
    user registers (``conformance.api.check``) count when registered before the cases load."""
    if not names:
        return
    from ..judge.checks import REGISTRY

    for i, name in enumerate(names):
        if name not in REGISTRY:
            raise ctx.error(base + (i,), f"unknown check {name!r} (`responses-conformance list-checks` names them)")


def _build_cases(data: dict[str, Any], ctx: _Context) -> list[Case]:
    out: list[Case] = []
    for ci, raw in enumerate(data["cases"]):
        steps: list[Step] = []
        for si, rs in enumerate(raw["steps"]):
            sbase = ("cases", ci, "steps", si)
            request = rs.get("request", {})
            expect = tuple(
                Expectation(name, plain, ctx.line(sbase + ("expect", ei)), ctx.file, basis)
                for ei, exp in enumerate(rs["expect"])
                for name, arg in exp.items()
                for plain, basis in (split_basis(arg, ""),)
            )
            transport = request.get("transport", "http")
            steps.append(
                Step(
                    name=rs["name"],
                    # a WebSocket turn rides on a GET upgrade; an SDK call's requests are the SDK's to choose
                    method={"websocket": "GET", "sdk": ""}.get(transport, request.get("method", "POST")),
                    path=request.get("path", DEFAULT_PATH),
                    body=request.get("body"),
                    stream=_stream_of(request),
                    auth=request.get("auth", "default"),
                    headers=dict(request.get("headers", {})),
                    capture=dict(rs.get("capture", {})),
                    expect=expect,
                    line=ctx.line(sbase),
                    transport=request.get("transport", "http"),
                    connection=(request.get("connection", "default") if request.get("transport") == "websocket"
                                else None),
                    repeat_until=_repeat_until(rs.get("repeat_until")),
                    call=request.get("call"),
                    args=request.get("args", {}) if transport == "sdk" else None,
                    raw_body=request.get("raw_body"),
                    uncapped=rs.get("uncapped", ""),
                )
            )
        checks = raw.get("checks", {})
        _check_disabled_names(checks.get("disable", ()), ("cases", ci, "checks", "disable"), ctx)
        out.append(
            Case(
                id=raw["id"],
                title=raw["title"],
                group=raw["group"],
                spec=tuple(raw["spec"]),
                capabilities=tuple(raw["capabilities"]),
                steps=tuple(steps),
                disabled_checks=tuple(checks.get("disable", ())),
                file=ctx.file,
                line=ctx.line(("cases", ci)),
                description=raw.get("description", ""),
                disabled_reason=checks.get("reason", ""),
            )
        )
    return out


def _load(path: Path, seen: dict[str, str]) -> list[Case]:
    file = _display(Path(path))
    data, builder = _parse(Path(path), file)
    ctx = _Context(file, data, builder)
    _check_schema(data, ctx)
    _check_semantics(data, ctx, seen)
    cases = _build_cases(data, ctx)
    _check_uncapped(cases, ctx)
    return cases


def _check_uncapped(cases: list[Case], ctx: _Context) -> None:
    """``uncapped: <reason>`` stands only on a generating step without ``max_output_tokens`` (conformance/run/cost.py
    decides what generates; imported here, not at module level, since it imports this package)."""
    from ..run.cost import uncapped_problem

    for ci, case in enumerate(cases):
        for si, step in enumerate(case.steps):
            problem = uncapped_problem(step)
            if problem is not None:
                raise ctx.error(("cases", ci, "steps", si, "uncapped"), problem)


def load_cases(path: Path) -> list[Case]:
    """Load and validate one case file; raises :class:`CaseFormatError` (one line, file:line)."""
    return _load(Path(path), {})


def load_all(directory: Path, *more: Path) -> list[Case]:
    """Load every ``*.yaml``/``*.yml`` below ``directory`` (sorted), then below each of ``more`` (a user's
    folders beside the built-in cases); case ids must be unique across all the files (a duplicate names both). A folder that is not there is a
    :class:`CaseFormatError`."""
    seen: dict[str, str] = {}
    out: list[Case] = []
    done: set[Path] = set()
    for root in (Path(directory), *map(Path, more)):
        if not root.is_dir():  # a mistyped folder would otherwise load nothing and test nothing, silently
            raise CaseFormatError(str(root), 0, "not a directory of case files")
        for file in sorted({*root.rglob("*.yaml"), *root.rglob("*.yml")}):
            if file.resolve() not in done:
                done.add(file.resolve())
                out.extend(_load(file, seen))
    return out
