"""Namespaces, tool search and programmatic tool calling in the reference model.

Written from the spec's ``NamespaceToolParam``, ``ToolSearchToolParam``, ``ProgrammaticToolCallingParam``,
``FunctionTool.defer_loading`` / ``allowed_callers``, the ``ToolSearchCall`` / ``ToolSearchOutput`` and
``Program`` / ``ProgramOutput`` items, ``ToolCallCaller`` and ``FunctionToolCall.namespace``, and from the
tool search guide (deferred functions are invisible until a tool search loads them; a namespace's
``defer_loading`` applies to the functions inside it). These tools change *which functions the model
may call* and add their own items around the calls; the call itself stays a ``function_call``.

Probes (see docs/DESIGN.md), first match wins, before the built-in tools:

1. the current input ends with a ``function_call_output`` answering a ``function_call`` whose
   ``caller`` is a program: the program resumes and finishes: a ``program_output`` (its ``call_id`` the
   program's, its ``result`` the function's output) then a message (the directive reply, else that
   output). The ``program`` item must be in the context (it carries the code and the fingerprint).
2. a ``programmatic_tool_calling`` tool forced by ``tool_choice`` or named (``use the programmatic
   tool calling tool``): a ``program`` item and the ``function_call`` it makes (``caller`` = the
   program) to a function whose ``allowed_callers`` include ``programmatic``; the response ends there.
3. a ``tool_search`` tool named (``use the tool search tool``) while deferred functions exist and the
   current input does not end with a ``tool_search_output``: hosted (``execution`` ``server``, the
   default): ``tool_search_call`` + ``tool_search_output`` loading every deferred tool, then the turn
   goes on with them loaded (a ``call the function X`` directive now reaches X); client-executed: a
   ``tool_search_call`` whose ``arguments`` fill the tool's ``parameters``, and the response ends.

Functions the model may call directly (:func:`callable_functions`): top-level and namespace functions
that are not deferred and allow the ``direct`` caller, plus every function a ``tool_search_output`` in
the context loaded. Namespaced ones carry ``namespace`` on their ``function_call``.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from ._behaviours import Behaviour
from ._errors import invalid
from ._model import (
    ModelInput,
    Reply,
    _all_texts,
    _directive_reply,
    _latest_user_text,
    _preferred,
    count_tokens,
    generate,
    object_for,
)
from ._store import new_id

SEARCH_TRIGGER = re.compile(r"use the tool[\s_]search tool", re.IGNORECASE)
PROGRAM_TRIGGER = re.compile(r"use the programmatic[\s_]tool[\s_]calling tool", re.IGNORECASE)
EXECUTIONS = frozenset({"server", "client"})
CALLERS = frozenset({"direct", "programmatic"})


# --- request validation -------------------------------------------------------------------

def validate(tool: dict[str, Any], where: str, normalize: Any) -> dict[str, Any]:
    """Check a ``namespace`` / ``tool_search`` / ``programmatic_tool_calling`` tool; returns the echoed copy.

    ``normalize`` is the request module's tool normalizer, applied to a namespace's member tools.
    """
    ttype = tool.get("type")
    out = dict(tool)
    if ttype == "namespace":
        for key in ("name", "description"):
            if not isinstance(tool.get(key), str):
                raise invalid(f"Missing required parameter: '{where}.{key}'.", f"{where}.{key}",
                              "missing_required_parameter")
        if not tool["name"]:
            raise invalid(f"Invalid '{where}.name': empty string, expected a non-empty string.", f"{where}.name")
        members = tool.get("tools")
        if not isinstance(members, list) or not members:
            raise invalid(f"Invalid '{where}.tools': expected an array of at least 1 function or custom tool.",
                          f"{where}.tools")
        for i, member in enumerate(members):
            if not isinstance(member, dict) or member.get("type") not in ("function", "custom"):
                raise invalid(f"Invalid value for '{where}.tools[{i}].type': a namespace holds only function and "
                              "custom tools.", f"{where}.tools[{i}].type")
        out["tools"] = normalize(members, f"{where}.tools")
    elif ttype == "tool_search":
        check_execution(tool, where)
        params = tool.get("parameters")
        if params is not None and not isinstance(params, dict):
            raise invalid(f"Invalid type for '{where}.parameters': expected an object.", f"{where}.parameters",
                          "invalid_type")
    return out


def check_execution(obj: dict[str, Any], where: str) -> None:
    """``execution`` of a tool_search tool or item: absent/null, ``server`` or ``client``."""
    execution = obj.get("execution")
    if execution is not None and execution not in EXECUTIONS:
        raise invalid(f"Invalid value: '{execution}'. Supported values are: 'server' and 'client'.",
                      f"{where}.execution")


def validate_function_extras(tool: dict[str, Any], where: str) -> dict[str, Any]:
    """``defer_loading`` / ``allowed_callers`` of a function tool, checked and kept for the echo."""
    extras: dict[str, Any] = {}
    if "defer_loading" in tool:
        if not isinstance(tool["defer_loading"], bool):
            raise invalid(f"Invalid type for '{where}.defer_loading': expected a boolean.", f"{where}.defer_loading",
                          "invalid_type")
        extras["defer_loading"] = tool["defer_loading"]
    callers = tool.get("allowed_callers")
    if callers is not None:
        if not isinstance(callers, list) or any(c not in CALLERS for c in callers):
            raise invalid(f"Invalid value for '{where}.allowed_callers': expected an array of 'direct' and "
                          "'programmatic'.", f"{where}.allowed_callers")
        extras["allowed_callers"] = list(callers)
    if "allowed_callers" in tool and callers is None:
        extras["allowed_callers"] = None
    return extras


# --- which functions the model sees ----------------------------------------------------------

def _loaded(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for item in items if item.get("type") == "tool_search_output"
            for t in item.get("tools") or [] if isinstance(t, dict)]


def _functions(tools: list[dict[str, Any]], *, loaded: bool) -> list[dict[str, Any]]:
    """Function tools, namespaces flattened (members tagged with ``namespace``); ``loaded``: defer ignored."""
    out: list[dict[str, Any]] = []
    for tool in tools:
        if tool.get("type") == "namespace":
            for member in tool.get("tools") or []:
                if isinstance(member, dict) and member.get("type") == "function" and member.get("name"):
                    out.append({**member, "namespace": tool.get("name"), "_loaded": loaded})
        elif tool.get("type") == "function" and tool.get("name"):
            out.append({**tool, "_loaded": loaded})
    return out


def _direct(tool: dict[str, Any]) -> bool:
    callers = tool.get("allowed_callers")
    return not isinstance(callers, list) or "direct" in callers


def callable_functions(tools: list[dict[str, Any]], context: list[dict[str, Any]],
                       behaviour: Behaviour) -> list[dict[str, Any]]:
    """The functions the model may call directly (see the module docstring)."""
    upfront = behaviour.dev("deferred_tools_loaded_upfront")
    found = [f for f in _functions(tools, loaded=False) if upfront or not f.get("defer_loading")]
    if not behaviour.dev("tool_search_output_ignored"):
        found += _functions(_loaded(context), loaded=True)
    if behaviour.dev("namespace_dropped"):
        found = [{k: v for k, v in f.items() if k != "namespace"} for f in found]
    return [f for f in found if _direct(f)]


def _deferred(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a hosted tool search loads: each namespace holding a deferred function, each deferred function."""
    out: list[dict[str, Any]] = []
    for tool in tools:
        if tool.get("type") == "namespace" and any(
                isinstance(m, dict) and m.get("defer_loading") for m in tool.get("tools") or []):
            out.append(tool)
        elif tool.get("type") == "function" and tool.get("defer_loading"):
            out.append(tool)
    return out


def public(tool: dict[str, Any]) -> dict[str, Any]:
    """A flattened function without the model's bookkeeping keys."""
    return {k: v for k, v in tool.items() if not k.startswith("_") and k != "namespace"}


# --- the reply ------------------------------------------------------------------------------

def respond(context: list[dict[str, Any]], current: list[dict[str, Any]], inp: ModelInput, tools: list[dict[str, Any]],
            behaviour: Behaviour, render: Any) -> list[dict[str, Any]] | None:
    """The output items when a program, a tool search or a programmatic call is involved, else ``None``.

    ``tools`` are the request's tools as declared (namespaces and deferred functions included);
    ``render`` turns a model :class:`Reply` into output items, as the ordinary model's replies are (the
    turn after a hosted tool search, the message after a program's output).
    """
    if behaviour.ignores_probes:
        return None
    everything = context + current
    resumed = _resume_program(everything, current, inp, behaviour, render)
    if resumed is not None:
        return resumed
    choice = inp.tool_choice
    text = _latest_user_text(inp) or ""
    if choice == "none" or (isinstance(choice, dict) and choice.get("type") == "function"):
        return None
    if any(t.get("type") == "programmatic_tool_calling" for t in tools) and not behaviour.dev("program_ignored"):
        forced = isinstance(choice, dict) and choice.get("type") == "programmatic_tool_calling"
        if forced or PROGRAM_TRIGGER.search(text):
            return _program(inp, tools, behaviour)
    search = next((t for t in tools if t.get("type") == "tool_search"), None)
    if (search is not None and SEARCH_TRIGGER.search(text) and _deferred(tools)
            and not behaviour.dev("deferred_tools_loaded_upfront")
            and not (current and current[-1].get("type") == "tool_search_output")):
        return _tool_search(search, inp, tools, behaviour, render)
    return None


def _tool_search(search: dict[str, Any], inp: ModelInput, tools: list[dict[str, Any]], behaviour: Behaviour,
                 render: Any) -> list[dict[str, Any]]:
    call_id = new_id("call")
    if search.get("execution") == "client":
        params = search.get("parameters")
        args = object_for(params, _all_texts(inp)) if isinstance(params, dict) else {}
        return [{"id": new_id("tsc"), "type": "tool_search_call", "call_id": call_id, "execution": "client",
                 "arguments": args, "status": "completed"}]
    loaded = _deferred(tools)
    items: list[dict[str, Any]] = [
        {"id": new_id("tsc"), "type": "tool_search_call", "call_id": call_id, "execution": "server",
         "arguments": {"query": _latest_user_text(inp) or ""}, "status": "completed"},
        {"id": new_id("tso"), "type": "tool_search_output", "call_id": call_id, "execution": "server",
         "tools": loaded, "status": "completed"},
    ]
    after = ModelInput(inp.instructions, inp.conversation, inp.current_input,
                       inp.tools + callable_functions([], items, behaviour), inp.tool_choice, inp.text_format)
    return items + render(generate(after))


def _program_caller(tools: list[dict[str, Any]], inp: ModelInput) -> dict[str, Any] | None:
    candidates = [f for f in _functions(tools, loaded=False)
                  if isinstance(f.get("allowed_callers"), list) and "programmatic" in f["allowed_callers"]]
    return _preferred(inp, candidates)


def _program(inp: ModelInput, tools: list[dict[str, Any]], behaviour: Behaviour) -> list[dict[str, Any]]:
    target = _program_caller(tools, inp)
    call_id = new_id("call")
    if target is None:
        code = "return null;"
        return [_program_item(call_id, code),
                {"id": new_id("po"), "type": "program_output", "call_id": call_id, "result": "null",
                 "status": "completed"}]
    params = target.get("parameters")
    args = object_for(params, _all_texts(inp)) if isinstance(params, dict) else {}
    ref = f"{target['namespace']}.{target['name']}" if target.get("namespace") else target["name"]
    code = f"const result = await tools.{ref}({json.dumps(args)});\nreturn result;"
    status = "in_progress" if behaviour.var("program_calls_in_progress") else "completed"  # waits for the client
    call: dict[str, Any] = {"id": new_id("fc"), "type": "function_call", "status": status,
                            "call_id": new_id("call"), "name": target["name"], "arguments": json.dumps(args),
                            "caller": {"type": "program", "caller_id": call_id}}
    if target.get("namespace"):
        call["namespace"] = target["namespace"]
    return [_program_item(call_id, code), call]


def _program_item(call_id: str, code: str) -> dict[str, Any]:
    fingerprint = base64.b64encode(json.dumps({"call_id": call_id, "code": code}).encode()).decode()
    return {"id": new_id("prg"), "type": "program", "call_id": call_id, "code": code, "fingerprint": fingerprint}


def _resume_program(everything: list[dict[str, Any]], current: list[dict[str, Any]], inp: ModelInput,
                    behaviour: Behaviour, render: Any) -> list[dict[str, Any]] | None:
    if not current or current[-1].get("type") != "function_call_output":
        return None
    output = current[-1]
    call = next((i for i in reversed(everything) if i.get("type") == "function_call"
                 and i.get("call_id") == output.get("call_id")), None)
    caller = call.get("caller") if call else None
    if not isinstance(caller, dict) or caller.get("type") != "program" or behaviour.dev("program_ignored"):
        return None
    program = next((i for i in everything if i.get("type") == "program" and i.get("call_id") == caller.get("caller_id")),
                   None)
    if program is None:
        raise invalid(f"No program item found for caller_id '{caller.get('caller_id')}': pass the program item "
                      "back with the function call.", "input", "program_not_found")
    result = inp.current_input[-1].text  # the function output as the model reads it (its Turn)
    reply = _directive_reply(inp) or result or "OK"
    return [{"id": new_id("po"), "type": "program_output", "call_id": program["call_id"], "result": result,
             "status": "completed"}, *render(Reply("text", text=reply))]


def output_tokens(items: list[dict[str, Any]]) -> int:
    """Output tokens of the items this module made (code, arguments and message text, one per word)."""
    total = 0
    for item in items:
        total += count_tokens(item.get("code")) + count_tokens(item.get("result"))
        if isinstance(item.get("arguments"), str):
            total += count_tokens(item["arguments"])
        for part in item.get("content") or [] if item.get("type") == "message" else []:
            total += count_tokens(part.get("text"))
    return total
