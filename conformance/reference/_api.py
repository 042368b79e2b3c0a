"""Endpoint logic, independent of HTTP: each method returns a :class:`Json` or a :class:`Stream`.

Background responses complete on a timer (``BACKGROUND_DELAY_S``) unless cancelled first.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any

from ._behaviours import Behaviour
from ._errors import ApiError, invalid, not_found
from ._model import count_tokens, input_token_count
from ._requests import (
    COMPACT_PARAMS,
    TOKEN_COUNT_PARAMS,
    Prepared,
    check_model,
    check_unknown,
    normalize_input,
    normalize_text,
    normalize_tool_choice,
    normalize_tools,
    prepare_create,
    resolve_previous,
)
from ._responses import Outcome, build_events, encode_compaction, model_input, now, render_response, run_model
from ._store import Conversation, Record, Store, new_id

BACKGROUND_DELAY_S = 0.3
BACKGROUND_S_PER_TOKEN = 0.0005
BACKGROUND_MAX_WORK_S = 2.0
REPLAY_WAIT_S = 5.0


@dataclass
class Json:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Stream:
    events: list[dict[str, Any]]
    record: Any = None  # the Record behind a create stream (the WebSocket transport caches it)


class Api:
    """The Responses API over an in-memory :class:`Store` and the deterministic model."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.store = Store()
        self._timers: list[threading.Timer] = []
        self.conversations = Conversations(self)

    def close(self) -> None:
        for timer in self._timers:
            timer.cancel()

    # -- helpers -------------------------------------------------------------------------

    def _persist(self, record: Record) -> None:
        b = self.behaviour
        if b.dev("store_ignored"):
            return
        if record.stored or b.dev("store_false_retrievable"):
            self.store.put(record)

    def _lookup(self, response_id: str) -> Record:
        record = None if self.behaviour.dev("store_ignored") else self.store.get(response_id)
        if record is None:
            if self.behaviour.dev("unknown_id_500"):
                raise ApiError(500, "The server had an error while processing your request.", None,
                               "server_error", "server_error")
            raise not_found("Response", response_id)
        return record

    def _finish(self, record: Record, outcome: Outcome) -> None:
        record.status = outcome.status
        record.output = outcome.output
        record.usage = outcome.usage
        record.incomplete_details = outcome.incomplete_details
        record.error = outcome.error
        record.completed_at = now() if outcome.status == "completed" else None
        if record.conversation is not None:
            with self.store.lock:
                record.conversation.items.extend(copy.deepcopy(record.input_items + record.output))
        record.events = build_events(record, self.behaviour)
        if record.stored or self.behaviour.dev("store_false_retrievable"):
            for item in record.output:
                self.store.index_item(item)
        record.finished.set()

    # -- endpoints ---------------------------------------------------------------------

    def create(self, body: dict[str, Any], store: Any = None) -> Json | Stream:
        """``store`` overrides where ``previous_response_id`` is looked up (a WebSocket connection's cache)."""
        prep: Prepared = prepare_create(body, self.behaviour, store if store is not None else self.store)
        if self.behaviour.dev("create_500"):  # after validation: only a valid request gets it
            raise ApiError(500, "The server had an error while processing your request.", None, "server_error",
                           "server_error")
        if prep.background and self.behaviour.dev("refusal_without_envelope"):
            raise ApiError(400, "background is not supported", "background", "unsupported_parameter",
                           detail_body=True)
        outcome = run_model(prep, self.behaviour)
        background = prep.background and not self.behaviour.dev("background_ignored")
        record = Record(id=new_id("resp"), created_at=now(), params=prep.params, input_items=prep.input_items,
                        context_before=prep.context_before, background=background, stored=prep.store,
                        conversation=prep.conversation)
        if background and not prep.stream:
            record.status = "queued"
            record.pending = outcome
            self._persist(record)
            # queued -> in_progress -> finished; longer answers take longer (so they can be cancelled)
            work = min(BACKGROUND_MAX_WORK_S, BACKGROUND_S_PER_TOKEN * int(outcome.usage.get("output_tokens") or 0))
            self._later(BACKGROUND_DELAY_S / 2, self._start_background, record)
            self._later(BACKGROUND_DELAY_S + work, self._complete_background, record)
            return Json(200, render_response(record, self.behaviour))
        self._finish(record, outcome)
        self._persist(record)
        if prep.stream:
            return Stream(record.events, record)
        return Json(200, render_response(record, self.behaviour))

    def _later(self, delay: float, action: Any, record: Record) -> None:
        timer = threading.Timer(delay, action, (record,))
        timer.daemon = True
        self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    def _start_background(self, record: Record) -> None:
        with self.store.lock:
            if record.status == "queued":
                record.status = "in_progress"

    def _complete_background(self, record: Record) -> None:
        with self.store.lock:
            if record.status not in ("queued", "in_progress"):
                return
            self._finish(record, record.pending)

    def retrieve(self, response_id: str, query: dict[str, list[str]]) -> Json | Stream:
        record = self._lookup(response_id)
        if _flag(query, "stream"):
            record.finished.wait(REPLAY_WAIT_S)
            after = _int_param(query, "starting_after", None)
            if self.behaviour.dev("replay_ignores_starting_after"):
                after = None
            events = [e for e in record.events if after is None or e["sequence_number"] > after]
            return Stream(events)
        with self.store.lock:  # a background timer may be publishing the outcome right now
            body = render_response(record, self.behaviour)
        if self.behaviour.dev("retrieve_differs"):
            for item in body.get("output") or []:
                for part in item.get("content") or []:
                    if isinstance(part.get("text"), str):
                        part["text"] += " (retrieved)"
        return Json(200, body)

    def delete(self, response_id: str) -> Json:
        self._lookup(response_id)
        if not self.behaviour.dev("delete_not_effective"):
            self.store.delete(response_id)
        if self.behaviour.dev("delete_wrong_shape"):
            return Json(200, {"deleted": True})
        return Json(200, {"id": response_id, "object": "response.deleted", "deleted": True})

    def cancel(self, response_id: str) -> Json:
        record = self._lookup(response_id)
        if not record.background:
            raise invalid("Only responses created with background=true can be cancelled.", None, None)
        with self.store.lock:
            if record.status in ("queued", "in_progress"):
                if self.behaviour.dev("cancel_not_effective"):
                    return Json(200, render_response(record, self.behaviour, status="cancelled"))
                record.status = "cancelled"
                record.events = build_events(record, self.behaviour)
                record.finished.set()
            elif record.status != "cancelled":
                raise invalid(f"Cannot cancel a response with status '{record.status}'.", None, None)
            return Json(200, render_response(record, self.behaviour))

    def input_items(self, response_id: str, query: dict[str, list[str]]) -> Json:
        record = self._lookup(response_id)
        limit = _int_param(query, "limit", 20)
        assert limit is not None
        if not 1 <= limit <= 100:
            if not self.behaviour.dev("accept_invalid_ranges"):
                raise invalid("Invalid 'limit': expected an integer between 1 and 100.", "limit")
            limit = min(max(limit, 1), 100)
        default_order = "asc" if self.behaviour.dev("input_items_wrong_order") else "desc"
        order = (query.get("order") or [default_order])[-1]
        if order not in ("asc", "desc"):
            raise invalid(f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.", "order")
        items = list(record.input_items)
        if order == "desc":
            items.reverse()
        after = (query.get("after") or [""])[-1]
        if after:
            ids = [i.get("id") for i in items]
            items = items[ids.index(after) + 1:] if after in ids else []
        if self.behaviour.dev("input_items_ignore_limit"):
            page, more = items, False
        else:
            page, more = items[:limit], len(items) > limit
        data = copy.deepcopy(page)
        first_id, last_id = (data[0]["id"], data[-1]["id"]) if data else ("", "")
        if self.behaviour.dev("input_items_echo_raw"):
            data = [{k: v for k, v in item.items() if k not in ("status", "id") or item.get("type") == "message"}
                    for item in data]
        if self.behaviour.dev("input_items_missing_pagination_fields"):
            return Json(200, {"object": "list", "data": data})
        return Json(200, {"object": "list", "data": data, "first_id": first_id, "last_id": last_id,
                          "has_more": more})

    def _conversation_body(self, body: dict[str, Any], allowed: frozenset[str], *, model_required: bool
                           ) -> tuple[Any, list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        check_unknown(body, allowed)
        check_model(body, self.behaviour, required=model_required)
        instructions = body.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise invalid("Invalid type for 'instructions': expected a string.", "instructions", "invalid_type")
        input_items = normalize_input(body.get("input"), self.store)
        _, before, _ = resolve_previous(body.get("previous_response_id"), self.behaviour, self.store)
        tools = normalize_tools(body.get("tools"))
        params = {"tools": tools, "tool_choice": normalize_tool_choice(body.get("tool_choice"), tools),
                  "text": normalize_text(body.get("text"))}
        return instructions, before, input_items, params

    def input_tokens(self, body: dict[str, Any]) -> Json:
        instructions, before, items, params = self._conversation_body(body, TOKEN_COUNT_PARAMS,
                                                                      model_required=False)
        count = input_token_count(model_input(instructions, before, items, params, self.behaviour))
        if self.behaviour.dev("input_tokens_wrong_shape"):
            return Json(200, {"tokens": count})
        return Json(200, {"object": "response.input_tokens", "input_tokens": count})

    def compact(self, body: dict[str, Any]) -> Json:
        instructions, before, items, params = self._conversation_body(body, COMPACT_PARAMS, model_required=True)
        inp = model_input(instructions, before, items, params, self.behaviour)
        everything = before + items
        kept = [copy.deepcopy(i) for i in everything if i.get("type") == "message" and i.get("role") == "user"]
        compaction = {"type": "compaction", "id": new_id("cmp"), "encrypted_content": encode_compaction(everything)}
        self.store.index_item(compaction)
        in_tokens = input_token_count(inp)
        out_tokens = count_tokens(compaction["encrypted_content"])
        usage = {"input_tokens": in_tokens, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                 "output_tokens": out_tokens, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": in_tokens + out_tokens}
        return Json(200, {"id": new_id("resp"), "object": "response.compaction", "output": kept + [compaction],
                          "created_at": now(), "usage": usage})


class Conversations:
    """Minimal ``/conversations``: create (with optional initial items), retrieve, list items."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def create(self, body: dict[str, Any]) -> Json:
        check_unknown(body, frozenset({"items", "metadata"}))
        metadata = body.get("metadata") or {}
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise invalid("Invalid 'metadata': expected an object of strings.", "metadata")
        items = normalize_input(body.get("items") or [], self.api.store)
        conversation = Conversation(new_id("conv"), now(), dict(metadata), items)
        self.api.store.add_conversation(conversation)
        return Json(200, conversation.body())

    def _get(self, conversation_id: str) -> Conversation:
        found = self.api.store.conversation(conversation_id)
        if found is None:
            raise not_found("Conversation", conversation_id)
        return found

    def retrieve(self, conversation_id: str) -> Json:
        return Json(200, self._get(conversation_id).body())

    def items(self, conversation_id: str, query: dict[str, list[str]]) -> Json:
        conversation = self._get(conversation_id)
        order = (query.get("order") or ["desc"])[-1]
        with self.api.store.lock:
            data = copy.deepcopy(conversation.items)
        if order == "desc":
            data.reverse()
        return Json(200, {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                          "last_id": data[-1]["id"] if data else None, "has_more": False})


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return (query.get(name) or ["false"])[-1].lower() in ("true", "1", "yes")


def _int_param(query: dict[str, list[str]], name: str, default: int | None) -> int | None:
    values = query.get(name)
    if not values:
        return default
    try:
        return int(values[-1])
    except ValueError:
        raise invalid(f"Invalid '{name}': expected an integer.", name, "invalid_type") from None
