"""In-memory storage of responses, their input items and their event streams.

One :class:`Record` per created response, retrievable only when it was stored
(``store`` true).  Every item that passes through the server is also indexed by id so
that ``item_reference`` inputs can be resolved.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any


def new_id(prefix: str) -> str:
    """An opaque id such as ``resp_<32 hex>``."""
    return f"{prefix}_{uuid.uuid4().hex}"


@dataclass
class Record:
    """The server-side state of one response.

    ``params`` holds the normalized request fields the Response object echoes;
    ``context`` is the conversation a follow-up (``previous_response_id``) inherits:
    the previous context, this request's input items and this response's output.
    """

    id: str
    created_at: int
    params: dict[str, Any]
    input_items: list[dict[str, Any]]
    context_before: list[dict[str, Any]]
    status: str = "in_progress"
    output: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    incomplete_details: dict[str, Any] | None = None
    completed_at: int | None = None
    error: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    background: bool = False
    stored: bool = True
    finished: threading.Event = field(default_factory=threading.Event)
    pending: Any = None  # the computed outcome a background response will publish
    conversation: Any = None  # the Conversation this response adds its items to

    @property
    def context(self) -> list[dict[str, Any]]:
        return self.context_before + self.input_items + self.output


@dataclass
class Conversation:
    """A conversation (``/conversations``): the items every response made in it has added."""

    id: str
    created_at: int
    metadata: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {"id": self.id, "object": "conversation", "created_at": self.created_at,
                "metadata": dict(self.metadata)}


class Store:
    """Thread-safe maps of responses and items."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._records: dict[str, Record] = {}
        self._items: dict[str, dict[str, Any]] = {}
        self._conversations: dict[str, Conversation] = {}

    def add_conversation(self, conversation: Conversation) -> None:
        with self.lock:
            self._conversations[conversation.id] = conversation
            for item in conversation.items:
                self.index_item(item)

    def conversation(self, conversation_id: str) -> Conversation | None:
        with self.lock:
            return self._conversations.get(conversation_id)

    def put(self, record: Record) -> None:
        with self.lock:
            self._records[record.id] = record
            for item in record.input_items + record.output:
                self.index_item(item)

    def index_item(self, item: dict[str, Any]) -> None:
        ident = item.get("id")
        if isinstance(ident, str):
            with self.lock:
                self._items[ident] = item

    def get(self, response_id: str) -> Record | None:
        with self.lock:
            return self._records.get(response_id)

    def delete(self, response_id: str) -> bool:
        with self.lock:
            return self._records.pop(response_id, None) is not None

    def item(self, item_id: str) -> dict[str, Any] | None:
        with self.lock:
            return self._items.get(item_id)
