"""Deterministic built-in tools of the reference model (web search, file search, code interpreter,
image generation, MCP, computer use, local shell, shell, apply_patch, custom tools).

Written from the spec's ``Tool`` union and the output item schemas (``WebSearchToolCall``,
``FileSearchToolCall``, ``CodeInterpreterToolCall``, ``ImageGenToolCall``, ``MCPListTools``,
``MCPToolCall``, ``MCPApprovalRequest``, ``ComputerToolCall``, ``LocalShellToolCall``,
``FunctionShellCall``/``FunctionShellCallOutput``, ``ApplyPatchToolCall``, ``CustomToolCall``).
Nothing here touches the network: MCP servers and the hosted sandboxes are simulated.

Probes (see docs/DESIGN.md), first match wins:

1. the last item of the current input is a client-side tool output (``custom_tool_call_output``,
   ``local_shell_call_output``, ``shell_call_output``, ``apply_patch_call_output``,
   ``computer_call_output``): the reply is its output text, verbatim (like a function result);
2. the current input holds an ``mcp_approval_response``: approved -> the ``mcp_call`` runs, then a
   message; denied -> only a message;
3. a built-in tool forced by ``tool_choice`` (a hosted type such as ``{"type": "web_search_preview"}``,
   ``{"type": "mcp", "server_label": ...}``, ``{"type": "custom", "name": ...}``, or ``required`` when
   the request declares no function tool), or named in the latest user message as
   ``use the <name> tool`` (``web search``, ``file search``, ``code interpreter``, ``image generation``,
   ``computer``, ``local shell``, ``shell``, ``apply patch``, a custom tool's name, an MCP server
   label or MCP tool name) while ``tool_choice`` is not ``none``.

Hosted tools (web/file search, code interpreter, image generation, MCP, shell in a
``container_auto`` environment) run at once and are followed by an assistant message whose text is
the usual directive reply (token/code word/count, else ``OK``); client-side tools (computer, local
shell, shell, apply_patch, custom) end the response with the call item.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from typing import Any
from urllib.parse import urlsplit

from ._behaviours import Behaviour
from ._errors import invalid
from ._model import ModelInput, _directive_reply, _latest_user_text, count_tokens, find_set_values, object_for
from ._store import new_id

WEB_SEARCH = frozenset({"web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11"})
COMPUTER = frozenset({"computer", "computer_use_preview"})
BUILTIN = WEB_SEARCH | COMPUTER | {"file_search", "code_interpreter", "image_generation", "mcp", "local_shell",
                                   "shell", "apply_patch", "custom"}
#: tool_choice type -> the tool types it forces
CHOICE_TARGETS: dict[str, frozenset[str]] = {
    "web_search_preview": WEB_SEARCH, "web_search_preview_2025_03_11": WEB_SEARCH,
    "computer": COMPUTER, "computer_use_preview": COMPUTER, "computer_use": COMPUTER,
    **{t: frozenset({t}) for t in ("file_search", "image_generation", "code_interpreter", "shell", "apply_patch",
                                   "mcp", "custom")},
}
#: the ``use the <name> tool`` names of each tool type (custom tools and MCP servers add their own)
TRIGGER_NAMES: dict[str, tuple[str, ...]] = {
    **{t: ("web search", "web_search") for t in WEB_SEARCH},
    **{t: ("computer", "computer use") for t in COMPUTER},
    "file_search": ("file search", "file_search"),
    "code_interpreter": ("code interpreter", "code_interpreter", "python"),
    "image_generation": ("image generation", "image_generation"),
    "local_shell": ("local shell", "local_shell"),
    "shell": ("shell",),
    "apply_patch": ("apply patch", "apply_patch"),
}
CLIENT_OUTPUTS = frozenset({"custom_tool_call_output", "local_shell_call_output", "shell_call_output",
                            "apply_patch_call_output", "computer_call_output"})
COMPUTER_ENVIRONMENTS = frozenset({"windows", "mac", "linux", "ubuntu", "browser"})
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

SEARCH_URL = "https://example.com/"
SEARCH_TITLE = "Example Domain"
CODE = "print(6 * 7)"
CODE_LOGS = "42\n"

#: The simulated MCP server's catalogue (shaped like the public DeepWiki server the cases name).
_REPO = {"type": "string", "description": "GitHub repository: owner/repo (e.g. \"facebook/react\")"}
MCP_CATALOGUE: tuple[dict[str, Any], ...] = (
    {"name": "read_wiki_structure", "description": "Get a list of documentation topics for a GitHub repository",
     "input_schema": {"type": "object", "properties": {"repoName": _REPO}, "required": ["repoName"],
                      "additionalProperties": False}, "annotations": None},
    {"name": "read_wiki_contents", "description": "View documentation about a GitHub repository",
     "input_schema": {"type": "object", "properties": {"repoName": _REPO}, "required": ["repoName"],
                      "additionalProperties": False}, "annotations": None},
    {"name": "ask_question", "description": "Ask any question about a GitHub repository",
     "input_schema": {"type": "object", "properties": {"repoName": _REPO, "question": {"type": "string"}},
                      "required": ["repoName", "question"], "additionalProperties": False}, "annotations": None},
)


# --- request validation -------------------------------------------------------------------

def validate_tool(tool: dict[str, Any], where: str) -> dict[str, Any]:
    """Check a non-function tool's required fields (per its spec schema); returns the echoed copy."""
    ttype = tool.get("type")

    def need(key: str, ok: Any, expected: str) -> None:
        if key not in tool or tool[key] is None:
            raise invalid(f"Missing required parameter: '{where}.{key}'.", f"{where}.{key}", "missing_required_parameter")
        if not ok(tool[key]):
            raise invalid(f"Invalid type for '{where}.{key}': expected {expected}.", f"{where}.{key}", "invalid_type")

    if ttype == "file_search":
        need("vector_store_ids", lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v),
             "an array of strings")
    elif ttype == "code_interpreter":
        need("container", lambda v: isinstance(v, str) or (isinstance(v, dict) and v.get("type") == "auto"),
             "a container id or {\"type\": \"auto\"}")
    elif ttype == "mcp":
        need("server_label", lambda v: isinstance(v, str) and v != "", "a non-empty string")
        if not isinstance(tool.get("server_url"), str) and not isinstance(tool.get("connector_id"), str):
            raise invalid(f"Missing required parameter: '{where}.server_url' (or connector_id).",
                          f"{where}.server_url", "missing_required_parameter")
    elif ttype == "computer_use_preview":
        need("environment", lambda v: v in COMPUTER_ENVIRONMENTS, f"one of {sorted(COMPUTER_ENVIRONMENTS)}")
        for key in ("display_width", "display_height"):
            need(key, lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0, "a positive integer")
    elif ttype == "custom":
        need("name", lambda v: isinstance(v, str) and NAME_RE.match(v) is not None, "a name matching ^[a-zA-Z0-9_-]{1,64}$")
    elif ttype == "image_generation" and tool.get("partial_images") is not None:
        need("partial_images", lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 3,
             "an integer between 0 and 3")
    return dict(tool)


# --- choosing a tool ------------------------------------------------------------------------

def _builtin(inp: ModelInput) -> list[dict[str, Any]]:
    return [t for t in inp.tools if isinstance(t, dict) and t.get("type") in BUILTIN]


def _norm(text: str) -> str:
    return re.sub(r"[\s_]+", " ", text.lower())


def _mcp_tools(tool: dict[str, Any]) -> list[dict[str, Any]]:
    allowed = tool.get("allowed_tools")
    if isinstance(allowed, dict):
        allowed = allowed.get("tool_names")
    if isinstance(allowed, list):
        return [dict(t) for t in MCP_CATALOGUE if t["name"] in allowed]
    return [dict(t) for t in MCP_CATALOGUE]


def _names(tool: dict[str, Any]) -> tuple[str, ...]:
    ttype = tool["type"]
    if ttype == "custom":
        return (str(tool.get("name")),)
    if ttype == "mcp":
        return (str(tool.get("server_label")), *(t["name"] for t in _mcp_tools(tool)))
    return TRIGGER_NAMES.get(ttype, ())


def _named_in_text(inp: ModelInput, tools: list[dict[str, Any]]) -> tuple[dict[str, Any], str] | None:
    """The tool whose ``use the <name> tool`` occurs last in the latest user message (and that name)."""
    text = _latest_user_text(inp)
    if not text:
        return None
    norm = _norm(text)
    best: tuple[int, dict[str, Any], str] | None = None
    for tool in tools:
        for name in _names(tool):
            for m in re.finditer(r"use the " + re.escape(_norm(name)) + r" (?:tool|mcp server|server)\b", norm):
                if best is None or m.start() > best[0]:
                    best = (m.start(), tool, name)
    return (best[1], best[2]) if best else None


def _forced(inp: ModelInput, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    choice = inp.tool_choice
    if isinstance(choice, dict):
        ctype = choice.get("type")
        targets = CHOICE_TARGETS.get(str(ctype))
        if targets is None:
            if ctype == "allowed_tools" and choice.get("mode") == "required":
                allowed = {str(a.get("type")) for a in choice.get("tools") or [] if isinstance(a, dict)}
                return next((t for t in tools if t["type"] in allowed), None)
            return None
        for tool in tools:
            if tool["type"] not in targets:
                continue
            if ctype == "mcp" and tool.get("server_label") != choice.get("server_label"):
                continue
            if ctype == "custom" and tool.get("name") != choice.get("name"):
                continue
            return tool
        return None
    if choice == "required" and not any(isinstance(t, dict) and t.get("type") == "function" for t in inp.tools):
        return tools[0] if tools else None
    return None


# --- the reply ------------------------------------------------------------------------------

def respond(prep: Any, inp: ModelInput, behaviour: Behaviour) -> tuple[list[dict[str, Any]], int] | None:
    """The output items (and their output-token count) when a built-in tool is involved, else ``None``."""
    if behaviour.ignores_probes or behaviour.dev("builtin_tools_ignored"):
        return None
    current = prep.input_items
    include = set(prep.raw.get("include") or []) if isinstance(prep.raw, dict) else set()
    turn = _Turn(inp, behaviour, include, prep.context_before + current)
    if current and current[-1].get("type") in CLIENT_OUTPUTS:
        return turn.finish([turn.message(_client_output_text(current[-1]) or turn.reply())])
    approvals = [i for i in current if i.get("type") == "mcp_approval_response"]
    if approvals:
        return turn.finish(turn.approved(approvals[-1]))
    tools = _builtin(inp)
    choice = inp.tool_choice
    if not tools or choice == "none" or (isinstance(choice, dict) and choice.get("type") == "function"):
        return None  # no built-in tool, or a forced function call (the probe table's rule 1)
    chosen = None if behaviour.dev("ignore_tool_choice") else _forced(inp, tools)
    name = None
    if chosen is None:
        named = _named_in_text(inp, tools)
        if named is None:
            return None
        chosen, name = named
    return turn.finish(turn.run(chosen, name))


def _client_output_text(item: dict[str, Any]) -> str:
    output = item.get("output")
    if item.get("type") == "shell_call_output" and isinstance(output, list):
        return "".join(str(o.get("stdout", "")) for o in output if isinstance(o, dict))
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "\n".join(str(p.get("text")) for p in output if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


class _Turn:
    """One model turn that uses built-in tools: collects items and their output tokens."""

    def __init__(self, inp: ModelInput, behaviour: Behaviour, include: set[str],
                 context: list[dict[str, Any]]) -> None:
        self.inp = inp
        self.behaviour = behaviour
        self.include = include
        self.context = context
        self.texts = ([inp.instructions] if inp.instructions else []) + [t.text for t in inp.conversation if t.text]
        self.tokens = 0

    def finish(self, items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
        return items, self.tokens

    def reply(self) -> str:
        return _directive_reply(self.inp) or "OK"

    def value(self, prop: str, default: str) -> str:
        found = find_set_values(self.texts, prop)
        return found if found else default

    def query(self) -> str:
        text = _latest_user_text(self.inp) or "reference"
        return self.value("query", " ".join(text.split()[:12]))

    def message(self, text: str, annotations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        from ._responses import text_part  # late: _responses imports this module

        part = text_part(text, self.behaviour)
        if annotations and "annotations" in part:
            part["annotations"] = annotations
        self.tokens += count_tokens(text)
        return {"id": new_id("msg"), "type": "message", "status": "completed", "role": "assistant",
                "content": [part]}

    # -- dispatch ----------------------------------------------------------------------------

    def run(self, tool: dict[str, Any], name: str | None) -> list[dict[str, Any]]:
        ttype = tool["type"]
        if ttype in WEB_SEARCH:
            return self.web_search()
        if ttype in COMPUTER:
            return [self.computer(ttype)]
        method = getattr(self, ttype)
        return method(tool, name) if ttype in ("mcp", "custom") else method(tool)

    def web_search(self) -> list[dict[str, Any]]:
        query = self.query()
        action: dict[str, Any] = {"type": "search", "query": query, "queries": [query]}
        if "web_search_call.action.sources" in self.include:
            action["sources"] = [{"type": "url", "url": SEARCH_URL}]
        call = {"id": new_id("ws"), "type": "web_search_call", "status": "completed", "action": action}
        text = self.reply()
        end = len(text) + (5 if self.behaviour.dev("annotation_out_of_range") else 0)
        cite = {"type": "url_citation", "url": SEARCH_URL, "title": SEARCH_TITLE, "start_index": 0, "end_index": end}
        return [call, self.message(text, [cite])]

    def file_search(self, tool: dict[str, Any]) -> list[dict[str, Any]]:
        query = self.query()
        store = (tool.get("vector_store_ids") or ["vs_reference"])[0]
        file_id = "file-" + re.sub(r"[^A-Za-z0-9]", "", str(store))[:24] + "0001"
        call: dict[str, Any] = {"id": new_id("fs"), "type": "file_search_call", "status": "completed",
                                "queries": [query], "results": None}
        if "file_search_call.results" in self.include:
            call["results"] = [{"file_id": file_id, "filename": "reference.txt", "score": 0.5,
                                "text": "The reference vector store answers OK.", "attributes": {}}]
        text = self.reply()
        cite = {"type": "file_citation", "file_id": file_id, "filename": "reference.txt", "index": len(text)}
        return [call, self.message(text, [cite])]

    def code_interpreter(self, tool: dict[str, Any]) -> list[dict[str, Any]]:
        container = tool.get("container")
        call: dict[str, Any] = {"id": new_id("ci"), "type": "code_interpreter_call", "status": "completed",
                "container_id": container if isinstance(container, str) else new_id("cntr"),
                "code": CODE, "outputs": None}
        if "code_interpreter_call.outputs" in self.include:
            call["outputs"] = [{"type": "logs", "logs": CODE_LOGS}]
        self.tokens += count_tokens(CODE)
        return [call, self.message(self.reply())]

    def image_generation(self, tool: dict[str, Any]) -> list[dict[str, Any]]:
        call = {"id": new_id("ig"), "type": "image_generation_call", "status": "completed",
                "result": base64.b64encode(png(0x10, 0x80, 0xF0)).decode()}
        return [call, self.message(self.reply())]

    def mcp(self, tool: dict[str, Any], name: str | None) -> list[dict[str, Any]]:
        label = str(tool.get("server_label"))
        offered = _mcp_tools(tool)
        items: list[dict[str, Any]] = []
        if _unreachable_server(tool):  # the tools cannot be listed: the model answers without them
            items.append({"id": new_id("mcpl"), "type": "mcp_list_tools", "server_label": label, "tools": [],
                          "error": f"Error retrieving tool list from MCP server '{label}': the host of "
                                   f"{tool.get('server_url')} does not resolve."})
            return items + [self.message(self.reply())]
        if not any(i.get("type") == "mcp_list_tools" and i.get("server_label") == label for i in self.context):
            items.append({"id": new_id("mcpl"), "type": "mcp_list_tools", "server_label": label, "tools": offered,
                          "error": None})
        choice = self.inp.tool_choice
        wanted = choice.get("name") if isinstance(choice, dict) and choice.get("type") == "mcp" else name
        target = next((t for t in offered if t["name"] == wanted), offered[0] if offered else None)
        if target is None:
            return items + [self.message(self.reply())]
        arguments = json.dumps(object_for(target["input_schema"], self.texts))
        self.tokens += count_tokens(arguments)
        if _needs_approval(tool, target["name"]):
            return items + [{"id": new_id("mcpr"), "type": "mcp_approval_request", "server_label": label,
                             "name": target["name"], "arguments": arguments}]
        return items + [mcp_call(label, target["name"], arguments, None), self.message(self.reply())]

    def approved(self, response: dict[str, Any]) -> list[dict[str, Any]]:
        ident = response.get("approval_request_id")
        request = next((i for i in self.context if i.get("type") == "mcp_approval_request" and i.get("id") == ident),
                       None)
        if request is None:
            raise invalid(f"No MCP approval request found with id '{ident}'.", "input", "invalid_value")
        if response.get("approve") is not True:
            return [self.message(self.reply())]
        call = mcp_call(str(request.get("server_label")), str(request.get("name")), str(request.get("arguments")),
                        str(ident))
        return [call, self.message(self.reply())]

    def computer(self, ttype: str) -> dict[str, Any]:
        call: dict[str, Any] = {"id": new_id("cu"), "type": "computer_call", "call_id": new_id("call"),
                                "pending_safety_checks": [], "status": "completed"}
        if ttype == "computer":
            call["actions"] = [{"type": "screenshot"}]
        else:
            call["action"] = {"type": "screenshot"}
        return call

    def local_shell(self, tool: dict[str, Any]) -> list[dict[str, Any]]:
        command = self.value("command", "echo OK")
        self.tokens += count_tokens(command)
        return [{"id": new_id("lsh"), "type": "local_shell_call", "call_id": new_id("call"), "status": "completed",
                 "action": {"type": "exec", "command": ["bash", "-lc", command], "env": {}, "timeout_ms": None,
                            "user": None, "working_directory": None}}]

    def shell(self, tool: dict[str, Any]) -> list[dict[str, Any]]:
        command = self.value("command", "echo OK")
        self.tokens += count_tokens(command)
        env: dict[str, Any] = tool["environment"] if isinstance(tool.get("environment"), dict) else {}
        hosted = env.get("type") in ("container_auto", "container_reference")
        environment: dict[str, Any] | None = None
        if hosted:
            container = env.get("container_id") if isinstance(env.get("container_id"), str) else new_id("cntr")
            environment = {"type": "container_reference", "container_id": container}
        elif env.get("type") == "local":
            environment = {"type": "local"}
        call = {"id": new_id("sh"), "type": "shell_call", "call_id": new_id("call"), "status": "completed",
                "action": {"commands": [command], "timeout_ms": None, "max_output_length": None},
                "environment": environment}
        if not hosted:
            return [call]
        stdout = command[5:] + "\n" if command.startswith("echo ") else ""
        output = {"id": new_id("sho"), "type": "shell_call_output", "call_id": call["call_id"], "status": "completed",
                  "output": [{"stdout": stdout, "stderr": "", "outcome": {"type": "exit", "exit_code": 0}}],
                  "max_output_length": None}
        return [call, output, self.message(self.reply())]

    def apply_patch(self, tool: dict[str, Any]) -> list[dict[str, Any]]:
        path = self.value("path", "hello.txt")
        content = self.value("content", "OK")
        diff = "".join(f"+{line}\n" for line in content.splitlines() or [""])
        self.tokens += count_tokens(diff)
        return [{"id": new_id("apc"), "type": "apply_patch_call", "call_id": new_id("call"), "status": "completed",
                 "operation": {"type": "create_file", "path": path, "diff": diff}}]

    def custom(self, tool: dict[str, Any], name: str | None) -> list[dict[str, Any]]:
        text = self.value("input", "OK")
        self.tokens += count_tokens(text)
        return [{"id": new_id("ctc"), "type": "custom_tool_call", "call_id": new_id("call"),
                 "name": str(tool.get("name")), "input": text}]


def _needs_approval(tool: dict[str, Any], name: str) -> bool:
    setting = tool.get("require_approval", "always")
    if setting is None or setting == "always":
        return True
    if setting == "never":
        return False
    if isinstance(setting, dict):
        never = setting.get("never")
        if isinstance(never, dict) and name in (never.get("tool_names") or []):
            return False
    return True


def _unreachable_server(tool: dict[str, Any]) -> bool:
    """An MCP server on a ``.invalid`` host (RFC 2606) can never be reached, so listing its tools fails."""
    url = tool.get("server_url")
    host = (urlsplit(url).hostname or "") if isinstance(url, str) else ""
    return host == "invalid" or host.endswith(".invalid")


#: the simulated server knows no repository of this owner: calls naming one fail (mcp_tool_execution_error)
MISSING_REPO_OWNER = "conformance-invalid"


def mcp_call(label: str, name: str, arguments: str, approval_request_id: str | None) -> dict[str, Any]:
    try:
        repo = json.loads(arguments).get("repoName")
    except (ValueError, AttributeError):
        repo = None
    if isinstance(repo, str) and repo.lower().startswith(MISSING_REPO_OWNER + "/"):
        return {"id": new_id("mcp"), "type": "mcp_call", "status": "failed", "server_label": label, "name": name,
                "arguments": arguments, "output": None,
                "error": {"type": "mcp_tool_execution_error",
                          "content": [{"type": "text", "text": f"Repository {repo} not found."}]},
                "approval_request_id": approval_request_id}
    return {"id": new_id("mcp"), "type": "mcp_call", "status": "completed", "server_label": label, "name": name,
            "arguments": arguments, "output": f"Simulated {name} result from the {label} MCP server.",
            "error": None, "approval_request_id": approval_request_id}


def png(red: int, green: int, blue: int) -> bytes:
    """A deterministic 1x1 RGB PNG."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + bytes([red, green, blue]), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
