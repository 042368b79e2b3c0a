"""Run one SDK step: build a client on the recording transport, call the SDK, keep its outcome.

The outcome (``Exchange.sdk``) is plain JSON, so judging stays a pure function of the
recording and results files can carry it:

``call``, ``sdk_version``, ``ok`` (no exception), ``type`` (class of the returned object),
``value`` (``model_dump(mode="json", exclude_unset=True)`` of the returned object; for streams the
final response: ``get_final_response()``, or the terminal event's ``response``), ``output_text``
(the SDK's ``output_text`` property), ``output_parsed`` (``parse()``/``stream(text_format=...)``),
``events`` (types of the events the SDK yielded), ``exception`` (``type``, ``bases``, ``message``,
``status_code``, ``stage``: where it was raised - ``call``, ``iterate``, ``final_response``,
``output_text``, ``output_parsed``).
"""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Callable, Mapping
from typing import Any, cast

from ..exchange import Exchange, RecordedRequest, TransportName
from ..http import Recorder
from ..transport import Recorded, StepRequest
from . import CALLS, sdk_version

#: the SDK never sees the real key: the transport drops its Authorization header and the recorder
#: adds the target's own credentials (header, scheme, key), exactly as for a raw step
PLACEHOLDER_KEY = "sk-conformance-sdk-placeholder"
# The SDK dumps its own (unvalidated, constructed) models while parsing; on a provider's odd shapes
# pydantic then warns on stderr for every response. The finding is judged from the recorded data.
warnings.filterwarnings("ignore", message="Pydantic serializer warnings", category=UserWarning)
MAX_MESSAGE = 4000
_TYPES: Mapping[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool}


class SDKStepError(ValueError):
    """The step itself is malformed (unknown call, bad text_format): reported as a failed check."""


def text_format_model(spec: Any) -> Any:
    """A pydantic model from ``{name, fields: {field: string|integer|number|boolean|[string]...}}``."""
    import pydantic

    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str) or not isinstance(spec.get("fields"), Mapping):
        raise SDKStepError(f"text_format must be {{name, fields: {{field: type}}}}, got {spec!r}")
    definitions: dict[str, Any] = {}
    for field, kind in spec["fields"].items():
        if isinstance(kind, list) and len(kind) == 1 and kind[0] in _TYPES:
            definitions[field] = (cast(Any, list)[_TYPES[kind[0]]], ...)
        elif kind in _TYPES:
            definitions[field] = (_TYPES[kind], ...)
        else:
            raise SDKStepError(f"text_format field {field!r}: type {kind!r} is not one of "
                               f"{', '.join(_TYPES)} or a one-item list of them")
    return pydantic.create_model(spec["name"], **definitions)


def _dump(obj: Any) -> Any:
    """JSON of an SDK object as the SDK holds it (fields the server sent, extras included)."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    dump = getattr(obj, "model_dump", None)
    if dump is not None:
        try:
            return dump(mode="json", exclude_unset=True, warnings=False)
        except Exception:  # a constructed (unvalidated) model the serializer chokes on
            try:
                return dump(exclude_unset=True, warnings=False)
            except Exception:
                return repr(obj)[:MAX_MESSAGE]
    if isinstance(obj, (list, tuple)):
        return [_dump(o) for o in obj]
    if isinstance(obj, dict):
        return {str(k): _dump(v) for k, v in obj.items()}
    return repr(obj)[:MAX_MESSAGE]


class _Outcome:
    """Collects the outcome while the call runs, so a failure mid-way keeps what came before."""

    def __init__(self, call: str) -> None:
        self.data: dict[str, Any] = {"call": call, "sdk_version": sdk_version(), "ok": False, "type": None,
                                     "value": None}
        self.stage = "call"

    def returned(self, obj: Any) -> None:
        self.data["type"] = type(obj).__name__
        self.data["value"] = _dump(obj)

    def response_views(self, response: Any, parsed: bool = False) -> None:
        """The SDK conveniences users read: ``output_text`` (and ``output_parsed`` after parse)."""
        self.stage = "output_text"
        self.data["output_text"] = response.output_text
        if parsed:
            self.stage = "output_parsed"
            self.data["output_parsed"] = _dump(response.output_parsed)

    def raised(self, exc: BaseException) -> None:
        self.data["exception"] = {
            "type": type(exc).__name__,
            "bases": [c.__name__ for c in type(exc).__mro__[1:] if c not in (object, BaseException)],
            "message": str(exc)[:MAX_MESSAGE],
            "status_code": getattr(exc, "status_code", None),
            "stage": self.stage,
            "where": _sdk_frame(exc),
        }


def _sdk_frame(exc: BaseException) -> str:
    """The innermost openai-package frame of the traceback: where in the SDK it broke."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if "/openai/" in frame.filename.replace("\\", "/"):
            where = f"openai/{frame.filename.replace(chr(92), '/').split('/openai/')[-1]}:{frame.lineno} ({frame.name})"
    return where


def _create(client: Any, args: dict[str, Any], out: _Outcome) -> None:
    if args.get("stream") is True:
        _iterate(client.responses.create(**args), out)
        return
    response = client.responses.create(**args)
    out.returned(response)
    out.response_views(response)


def _iterate(stream: Any, out: _Outcome) -> None:
    """``create(stream=True)``: the events as the SDK yields them; the final response is the terminal one."""
    types: list[Any] = []
    out.data["events"] = types
    final = None
    out.stage = "iterate"
    try:
        for event in stream:
            types.append(getattr(event, "type", type(event).__name__))
            if getattr(event, "type", None) in ("response.completed", "response.incomplete", "response.failed"):
                final = getattr(event, "response", None)
    finally:
        stream.close()
    if final is None:
        raise RuntimeError("the SDK's stream ended without a response.completed/incomplete/failed event "
                           f"(events: {types[-5:]})")
    out.returned(final)
    out.response_views(final)


def _stream(client: Any, args: dict[str, Any], out: _Outcome) -> None:
    """``responses.stream()``: the SDK's accumulator (``ResponseStreamManager``) and ``get_final_response()``."""
    parsed = "text_format" in args
    if parsed:
        args = {**args, "text_format": text_format_model(args["text_format"])}
    types: list[Any] = []
    out.data["events"] = types
    with client.responses.stream(**args) as stream:
        out.stage = "iterate"
        for event in stream:
            types.append(getattr(event, "type", type(event).__name__))
        out.stage = "final_response"
        final = stream.get_final_response()
    out.returned(final)
    out.response_views(final, parsed)


def _parse(client: Any, args: dict[str, Any], out: _Outcome) -> None:
    if "text_format" in args:
        args = {**args, "text_format": text_format_model(args["text_format"])}
    response = client.responses.parse(**args)
    out.returned(response)
    out.response_views(response, "text_format" in args)


def _simple(path: str) -> Callable[[Any, dict[str, Any], _Outcome], None]:
    def run(client: Any, args: dict[str, Any], out: _Outcome) -> None:
        obj = client
        for part in path.split("."):
            obj = getattr(obj, part)
        result = obj(**args)
        out.returned(result)
        if type(result).__name__ == "Response":  # retrieve/cancel: the same convenience users read
            out.response_views(result)

    return run


_CALLS: dict[str, Callable[[Any, dict[str, Any], _Outcome], None]] = {
    "responses.create": _create,
    "responses.stream": _stream,
    "responses.parse": _parse,
    "responses.retrieve": _simple("responses.retrieve"),
    "responses.delete": _simple("responses.delete"),
    "responses.cancel": _simple("responses.cancel"),
    "responses.input_items.list": _simple("responses.input_items.list"),
}
assert set(_CALLS) == set(CALLS)


def record_sdk_step(recorder: Recorder, step: str, call: str, args: Any, auth: str = "default") -> list[Exchange]:
    """Run ``call(**args)`` with the official SDK; return the exchanges, the last one carrying the outcome.

    When the SDK raised before sending anything, a synthetic exchange (nothing sent: method ``""``, no status)
    carries the outcome so the step's expectations still judge it.
    """
    import httpx2
    import openai

    from ._transport import RecordingTransport

    out = _Outcome(call)
    transport = RecordingTransport(recorder, step, auth)
    limits = recorder.limits
    # the recorder enforces idle/deadline; the SDK's own timeout only has to be longer
    timeout = limits.deadline_s + limits.connect_timeout_s + 30.0
    http_client = httpx2.Client(transport=transport, follow_redirects=False, timeout=timeout)
    try:
        base = recorder.target.base_url.partition("?")[0]  # its query is added by the recorder (Target.url)
        client = openai.OpenAI(api_key=PLACEHOLDER_KEY, base_url=base, http_client=http_client,
                               max_retries=0, timeout=timeout, organization=None, project=None)
        if call not in _CALLS:
            raise SDKStepError(f"unknown SDK call {call!r} (known: {', '.join(CALLS)})")
        if not isinstance(args, dict):
            raise SDKStepError(f"args must be a mapping of keyword arguments, got {type(args).__name__}")
        _CALLS[call](client, dict(args), out)
        out.data["ok"] = True
    except Exception as exc:  # the SDK's failure is the finding; keep it as data
        out.raised(exc)
    finally:
        http_client.close()
    exchanges: list[Exchange] = transport.exchanges
    for ex in exchanges:
        ex.transport = "sdk"
    if exchanges:
        exchanges[-1].sdk = out.data
    else:  # nothing went on the wire: method "" (Exchange.sent is False), the outcome is all there is
        request = RecordedRequest("", recorder.target.url("/"), call, {}, args, False)
        exchanges.append(Exchange(step=step, request=request, transport="sdk", sdk=out.data))
    return exchanges


class SDKTransport:
    """``transport: sdk`` (conformance/record/transport.py): one official-SDK call, its requests sent through the
    :class:`Recorder` (so bounded and redacted like any other); the last exchange carries the SDK's outcome."""

    name: TransportName = "sdk"

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def send(self, request: StepRequest) -> Recorded:
        return Recorded(record_sdk_step(self.recorder, request.step, str(request.call), request.args,
                                        auth=request.auth))

    def close(self) -> None:
        """Nothing per case: each call builds (and closes) its own SDK client."""
