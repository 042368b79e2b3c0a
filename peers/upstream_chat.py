#!/usr/bin/env python3
"""A deterministic, probe-aware Chat Completions upstream for bridging peers (stdlib only, loopback).

Peers such as LiteLLM translate the Responses API to Chat Completions. Pointing them at this server
makes the behavioural cases (instructions, code-word memory, token limits, forced function calls,
JSON formats) test the peer's *translation layer*, not a model's intelligence. It answers the probes
of docs/DESIGN.md the way the reference server does, but is written independently of it (it imports
nothing from ``conformance``), so a misreading on one side shows up against the other.

    python peers/upstream_chat.py --port 18090 [--log requests.jsonl]

Endpoints: ``POST /v1/chat/completions`` (JSON, or SSE with ``"stream": true``; a final ``usage``
chunk when ``stream_options.include_usage``), ``GET /v1/models``, ``GET /health``. Any bearer key is
accepted. Token counting: one token per whitespace-separated word.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_WORD = r"\s*[:\"'`\u201c\u2018]?\s*([A-Za-z0-9_-]+)"
RE_TOKEN = re.compile(r"reply with exactly the token" + _WORD, re.I)
RE_CODE_ASK = re.compile(r"reply with exactly the code word", re.I)
RE_CODE_IS = re.compile(r"the code word is" + _WORD, re.I)
RE_COUNT = re.compile(r"count from 1 to (\d+)", re.I)
RE_CALL = re.compile(r"call the function\s*[\"'`]?([A-Za-z0-9_-]+)", re.I)
_SET = r"\s+set\s+to\s+(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<bare>[^\s,;]+))"
RE_ANY_SET = re.compile(r"(?P<prop>[A-Za-z_][A-Za-z0-9_]*)" + _SET, re.I)
COUNT_LIMIT = 10_000


class BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


# --------------------------------------------------------------------------- reading the request


def text_of(content: Any) -> str:
    """Plain text of a chat message ``content`` (a string, or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                value = part.get("text")
                if isinstance(value, str):
                    parts.append(value)
        return "\n".join(parts)
    return str(content)


def all_texts(messages: list[dict[str, Any]]) -> list[str]:
    return [text_of(m.get("content")) for m in messages if isinstance(m, dict)]


def set_value(texts: list[str], prop: str) -> str | None:
    """The last ``<prop> set to <V>`` in ``texts`` (quotes stripped, trailing punctuation dropped)."""
    pattern = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(prop) + _SET, re.I)
    value = None
    for text in texts:
        for m in pattern.finditer(text):
            value = _unquote(m)
    return value


def _unquote(m: re.Match[str]) -> str:
    if m.group("dq") is not None:
        return m.group("dq")
    if m.group("sq") is not None:
        return m.group("sq")
    return m.group("bare").rstrip(".!?")


def _scalar(raw: str) -> Any:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


def _type_of(schema: dict[str, Any]) -> str | None:
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), None)
    if typ is None and "properties" in schema:
        return "object"
    if typ is None:
        for key in ("anyOf", "oneOf", "allOf"):
            options = schema.get(key)
            if isinstance(options, list) and options and isinstance(options[0], dict):
                return _type_of(options[0])
    return typ if isinstance(typ, str) else None


def fill(schema: Any, raw: str | None, texts: list[str]) -> Any:
    """A value valid for ``schema``, taken from ``raw`` when given, else the type's empty value."""
    if not isinstance(schema, dict):
        return "" if raw is None else raw
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options and "type" not in schema:
            real = [o for o in options if isinstance(o, dict) and o.get("type") != "null"]
            return fill((real or options)[0], raw, texts)
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        for option in enum:
            if raw is not None and str(option).lower() == raw.lower():
                return option
        return enum[0]
    typ = _type_of(schema)
    if typ == "object":
        return fill_object(schema, texts)
    if typ == "array":
        return [] if raw is None else [fill(schema.get("items", {}), raw, texts)]
    if typ == "null":
        return None
    if raw is None:
        return {"integer": 0, "number": 0, "boolean": False}.get(typ or "", "")
    if typ == "integer":
        try:
            return int(float(raw))
        except ValueError:
            return 0
    if typ == "number":
        value = _scalar(raw)
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
    if typ == "boolean":
        return raw.lower() in ("true", "yes", "1", "on")
    return raw


def fill_object(schema: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    props = schema.get("properties")
    if not isinstance(props, dict):
        return {}
    return {name: fill(sub, set_value(texts, name), texts) for name, sub in props.items()}


def directive_reply(messages: list[dict[str, Any]]) -> str | None:
    """The reply a token / code word / count directive asks for (a user directive beats a system one)."""
    best: dict[str, tuple[str, str] | None] = {"system": None, "user": None}
    for msg in messages:
        role = msg.get("role")
        level = "user" if role == "user" else "system" if role in ("system", "developer") else None
        if level is None:
            continue
        text = text_of(msg.get("content"))
        hits = [(m.start(), "token", m.group(1)) for m in RE_TOKEN.finditer(text)]
        hits += [(m.start(), "code", "") for m in RE_CODE_ASK.finditer(text)]
        hits += [(m.start(), "count", m.group(1)) for m in RE_COUNT.finditer(text)]
        if hits:
            _, kind, arg = max(hits)
            best[level] = (kind, arg)
    chosen = best["user"] or best["system"]
    if chosen is None:
        return None
    kind, arg = chosen
    if kind == "token":
        return arg
    if kind == "count":
        n = min(int(arg), COUNT_LIMIT)
        return " ".join(str(i) for i in range(1, n + 1)) if n >= 1 else "OK"
    word = "UNKNOWN"
    for text in all_texts(messages):
        for m in RE_CODE_IS.finditer(text):
            word = m.group(1)
    return word


def function_tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and tool.get("type") == "function" and isinstance(tool.get("function"), dict):
            fn = tool["function"]
            if isinstance(fn.get("name"), str):
                out.append(fn)
    return out


def forced_tool(body: dict[str, Any], tools: list[dict[str, Any]], messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") if isinstance(choice.get("function"), dict) else choice.get("name")
        for tool in tools:
            if tool["name"] == name:
                return tool
        return None
    if choice == "required":
        named = called_name(messages)
        if named:
            for tool in tools:
                if names_match(tool["name"], named):
                    return tool
        return tools[0]
    return None


def names_match(tool_name: str, named: str) -> bool:
    """``call the function X`` reaches the tool X, or X inside a namespace: bridges flatten a Responses
    ``namespace`` tool's functions into chat tools named ``<namespace>__X`` (LiteLLM) or ``<namespace>.X``."""
    tool_name, named = tool_name.lower(), named.lower()
    return tool_name == named or tool_name.endswith(("__" + named, "." + named))


def called_name(messages: list[dict[str, Any]]) -> str | None:
    for msg in reversed(messages):
        if msg.get("role") == "user":
            found = RE_CALL.findall(text_of(msg.get("content")))
            return found[-1] if found else None
    return None


def decide(body: dict[str, Any]) -> dict[str, Any]:
    """The model's answer: ``{"text": str}`` or ``{"call": (name, arguments_json)}``."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    texts = all_texts(messages)
    tools = function_tools(body)
    if tools:
        tool = forced_tool(body, tools, messages)
        if tool is not None:
            return {"call": (tool["name"], json.dumps(_arguments(tool, texts)))}
    if messages and messages[-1].get("role") == "tool":
        return {"text": text_of(messages[-1].get("content"))}
    if tools and body.get("tool_choice") != "none":
        named = called_name(messages)
        for tool in tools:
            if named and names_match(tool["name"], named):
                return {"call": (tool["name"], json.dumps(_arguments(tool, texts)))}
    reply = directive_reply(messages) or "OK"
    fmt = body.get("response_format") if isinstance(body.get("response_format"), dict) else {}
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema") if isinstance(fmt.get("json_schema"), dict) else {}
        schema = spec.get("schema") if isinstance(spec.get("schema"), dict) else {}
        doc = fill_object(schema, texts) if _type_of(schema) == "object" else fill(schema, None, texts)
        return {"text": json.dumps(doc)}
    if fmt.get("type") == "json_object":
        pairs: dict[str, Any] = {}
        for text in texts:
            for m in RE_ANY_SET.finditer(text):
                pairs[m.group("prop")] = _scalar(_unquote(m))
        return {"text": json.dumps(pairs or {"result": reply})}
    return {"text": reply}


def _arguments(tool: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    params = tool.get("parameters")
    return fill_object(params, texts) if isinstance(params, dict) else {}


def words(text: str) -> int:
    return len(text.split())


def token_limit(body: dict[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BadRequest(f"{key} must be a positive integer", key)
            return value
    return None


def validate(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages must be a non-empty array", "messages")
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in ("system", "developer", "user", "assistant", "tool", "function"):
            raise BadRequest(f"messages[{i}]: invalid role", f"messages[{i}].role")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise BadRequest("model is required", "model")
    return body


# --------------------------------------------------------------------------- building the answer


class Completion:
    """One answer, renderable as a chat.completion object or a chat.completion.chunk stream."""

    _counter = 0
    _lock = threading.Lock()

    def __init__(self, body: dict[str, Any]) -> None:
        with Completion._lock:
            Completion._counter += 1
            n = Completion._counter
        self.id = f"chatcmpl-upstream{n:06d}"
        self.created = int(time.time())
        self.model = body["model"]
        self.prompt_tokens = sum(words(t) for t in all_texts(body["messages"]))
        answer = decide(body)
        limit = token_limit(body)
        self.finish = "stop"
        self.call: tuple[str, str] | None = answer.get("call")
        if self.call is not None:
            self.text_words: list[str] = []
            self.finish = "tool_calls"
            self.completion_tokens = max(1, words(self.call[1]))
        else:
            self.text_words = answer["text"].split(" ") if answer["text"] else []
            if limit is not None and words(answer["text"]) > limit:
                self.text_words = self.text_words[:limit]
                self.finish = "length"
            self.completion_tokens = words(" ".join(self.text_words))

    @property
    def usage(self) -> dict[str, int]:
        # The details objects are what OpenAI's Chat Completions sends; bridges map them onto the
        # Responses API's required input_tokens_details / output_tokens_details.
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}

    def _tool_call(self) -> dict[str, Any]:
        assert self.call is not None
        return {"id": f"call_{self.id[-6:]}", "type": "function",
                "function": {"name": self.call[0], "arguments": self.call[1]}}

    def as_json(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": None if self.call else " ".join(self.text_words)}
        if self.call:
            message["tool_calls"] = [self._tool_call()]
        return {"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": self.finish}],
                "usage": self.usage, "system_fingerprint": "fp_upstream"}

    def chunks(self, include_usage: bool) -> list[dict[str, Any]]:
        base = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "system_fingerprint": "fp_upstream"}
        extra = {"usage": None} if include_usage else {}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra}

        out = [chunk({"role": "assistant", "content": "" if not self.call else None})]
        if self.call:
            call = self._tool_call()
            args = call["function"]["arguments"]
            out.append(chunk({"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                                              "function": {"name": call["function"]["name"], "arguments": ""}}]}))
            step = max(1, len(args) // 3)
            for i in range(0, len(args), step):
                out.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[i:i + step]}}]}))
        else:
            for i, word in enumerate(self.text_words):
                out.append(chunk({"content": word if i == 0 else " " + word}))
        out.append(chunk({}, self.finish))
        if include_usage:
            out.append({**base, "choices": [], "usage": self.usage})
        return out


# --------------------------------------------------------------------------- HTTP


class Handler(BaseHTTPRequestHandler):
    server_version = "probe-upstream/1"
    protocol_version = "HTTP/1.1"
    log_path: str | None = None
    _log_lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by default
        pass

    def _send_json(self, status: int, doc: Any) -> None:
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, param: str | None = None, code: str | None = None) -> None:
        self._send_json(status, {"error": {"message": message, "type": "invalid_request_error",
                                           "param": param, "code": code}})

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?")[0].rstrip("/")
        if path in ("/health", "/v1/health"):
            self._send_json(200, {"status": "ok"})
        elif path in ("/v1/models", "/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "probe", "object": "model", "created": 0,
                                                               "owned_by": "upstream"}]})
        else:
            self._error(404, f"no route {self.path}", code="not_found")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0].rstrip("/")
        if path not in ("/v1/chat/completions", "/chat/completions"):
            self._error(404, f"no route {self.path}", code="not_found")
            return
        try:
            body = validate(json.loads(raw or b"null"))
            self._record(body)
            completion = Completion(body)
        except json.JSONDecodeError:
            self._error(400, "body is not valid JSON")
            return
        except BadRequest as exc:
            self._error(400, str(exc), exc.param)
            return
        if not body.get("stream"):
            self._send_json(200, completion.as_json())
            return
        opts = body.get("stream_options") if isinstance(body.get("stream_options"), dict) else {}
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for chunk in completion.chunks(bool(opts.get("include_usage"))):
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _record(self, body: dict[str, Any]) -> None:
        if not self.log_path:
            return
        with Handler._log_lock, open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(body) + "\n")


def make_server(host: str = "127.0.0.1", port: int = 0, log_path: str | None = None) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"log_path": log_path})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=18090)
    p.add_argument("--log", help="append each request body as a JSON line to this file")
    args = p.parse_args(argv)
    server = make_server(args.host, args.port, args.log)
    print(f"probe upstream listening on http://{args.host}:{server.server_address[1]}/v1", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
