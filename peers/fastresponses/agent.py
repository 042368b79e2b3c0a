"""Our small probe agent for fastresponses (``fastresponses serve peers/fastresponses/agent.py:agent``).

fastresponses serves agent frameworks over the Responses API; the agent here has no framework and no
model: it maps the turn (instructions, context items, function tools, tool_choice, text.format,
max_output_tokens) onto a Chat Completions request and answers it with the deterministic probe model of
``peers/upstream_chat.py`` (in process), so the behavioural cases test fastresponses' protocol layer.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import upstream_chat  # noqa: E402
from fastresponses import (  # noqa: E402
    AgentAdapter,
    AgentRun,
    Incomplete,
    ItemDone,
    TextDelta,
    UsageDelta,
)
from fastresponses.adapter import AdapterError  # noqa: E402
from fastresponses.models import FunctionCallItem  # noqa: E402

#: the chat request's parameter -> the Responses parameter the caller sent (for a refused request's ``param``)
_RESPONSES_PARAM = {"max_tokens": "max_output_tokens", "messages": "input"}


def _dump(obj: Any) -> Any:
    return obj.model_dump(by_alias=True, exclude_none=True) if hasattr(obj, "model_dump") else obj


def _content(item: dict[str, Any]) -> Any:
    content = item.get("content")
    if isinstance(content, str):
        return content
    parts = []
    for part in content or []:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            parts.append({"type": "text", "text": part["text"]})
        elif part.get("type") == "input_file" and part.get("file_data"):
            parts.append({"type": "file", "file": {"file_data": part["file_data"], "filename": part.get("filename")}})
    return parts


def chat_request(run: AgentRun) -> dict[str, Any]:
    """The Responses turn as a Chat Completions request body."""
    req = run.request
    messages: list[dict[str, Any]] = []
    if req.instructions:
        messages.append({"role": "system", "content": req.instructions})
    for raw in run.context_items:
        item = _dump(raw)
        kind = item.get("type", "message")
        if kind == "message":
            messages.append({"role": item.get("role", "user"), "content": _content(item)})
        elif kind == "function_call":
            messages.append({"role": "assistant", "content": None, "tool_calls": [
                {"id": item.get("call_id"), "type": "function",
                 "function": {"name": item.get("name"), "arguments": item.get("arguments", "")}}]})
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else upstream_chat.text_of(output)
            messages.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": text})
    body: dict[str, Any] = {"model": req.model or "probe-agent", "messages": messages or [{"role": "user", "content": ""}]}
    tools = [_dump(t) for t in req.tools]
    fn_tools = [{"type": "function", "function": {"name": t["name"], "parameters": t.get("parameters") or {}}}
                for t in tools if t.get("type") == "function" and t.get("name")]
    choice = _dump(req.tool_choice)
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        allowed = {t.get("name") for t in choice.get("tools") or []}
        fn_tools = [t for t in fn_tools if t["function"]["name"] in allowed]
        choice = choice.get("mode", "auto")
    elif isinstance(choice, dict) and choice.get("type") == "function":
        choice = {"type": "function", "function": {"name": choice.get("name")}}
    if fn_tools:
        body["tools"] = fn_tools
        body["tool_choice"] = choice
    fmt = _dump(req.text.format) if req.text is not None and req.text.format is not None else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": fmt.get("name") or "out",
                                                                          "schema": fmt.get("schema") or {}}}
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        body["response_format"] = {"type": "json_object"}
    if req.max_output_tokens:
        body["max_tokens"] = req.max_output_tokens
    return body


class ProbeAgent(AgentAdapter):
    name = "probe"
    default_model = "probe-agent"

    async def run(self, run: AgentRun) -> AsyncIterator[Any]:
        try:
            answer = upstream_chat.Completion(upstream_chat.validate(chat_request(run)))
        except upstream_chat.BadRequest as exc:
            # what a model provider refuses is the caller's error: fastresponses' documented way to say so is an
            # AdapterError of type invalid_request (a 400); any other exception is its 500 "provider error", which
            # made our agent's refusal of max_output_tokens -1 look like a fastresponses server fault (peers/fuzz)
            param = _RESPONSES_PARAM.get(str(exc.param).split("[", 1)[0], exc.param) if exc.param else None
            raise AdapterError(str(exc), type="invalid_request", code="invalid_value", param=param) from exc
        if answer.call is not None:
            name, arguments = answer.call
            yield ItemDone(FunctionCallItem(id=f"fc_{answer.id[-6:]}", call_id=f"call_{answer.id[-6:]}",
                                            name=name, arguments=arguments, status="completed"))
        else:
            for i, word in enumerate(answer.text_words):
                yield TextDelta(word if i == 0 else " " + word)
        if answer.finish == "length":
            yield Incomplete("max_output_tokens")
        yield UsageDelta(input_tokens=answer.prompt_tokens, output_tokens=answer.completion_tokens,
                         total_tokens=answer.prompt_tokens + answer.completion_tokens)


agent = ProbeAgent()
