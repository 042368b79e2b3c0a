"""The reference server's handling of the create parameters, input items and statuses added for issue 3."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import pytest

from conformance.reference import MODEL_NAME
from conformance.reference._responses import file_text
from tests._reference import reference_client, reference_server  # noqa: F401 - the fixtures server, client


def post(c: httpx.Client, path: str = "/responses", **body: Any) -> httpx.Response:
    body.setdefault("model", MODEL_NAME)
    return c.post(path, json=body)


def text_of(resp: dict[str, Any]) -> str:
    return "".join(p["text"] for item in resp["output"] if item["type"] == "message"
                   for p in item["content"] if p["type"] == "output_text")


def poll(c: httpx.Client, resp_id: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = c.get(f"/responses/{resp_id}").json()
        if body["status"] in ("completed", "incomplete", "failed", "cancelled") or time.monotonic() > deadline:
            return body  # type: ignore[no-any-return]
        time.sleep(0.05)


@pytest.mark.parametrize(("field", "value", "param"), [
    ("service_tier", "turbo", "service_tier"),
    ("truncation", "sometimes", "truncation"),
    ("reasoning", {"effort": "extreme"}, "reasoning.effort"),
    ("reasoning", {"summary": "verbose"}, "reasoning.summary"),
    ("prompt_cache_retention", "forever", "prompt_cache_retention"),
    ("prompt_cache_options", {"ttl": "5h"}, "prompt_cache_options.ttl"),
    ("context_management", [], "context_management"),
    ("context_management", [{"type": "compaction", "compact_threshold": 10}], "context_management[0].compact_threshold"),
    ("moderation", {"policy": {}}, "moderation.model"),
    ("top_logprobs", 21, "top_logprobs"),
    ("max_tool_calls", 0, "max_tool_calls"),
    ("store", "yes", "store"),
    ("stream_options", {"include_obfuscation": "no"}, "stream_options.include_obfuscation"),
    ("prompt", {"version": "1"}, "prompt.id"),
])
def test_invalid_values_are_400_with_param(client: httpx.Client, field: str, value: Any, param: str) -> None:
    r = post(client, input="Hi.", **{field: value})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param


def test_unknown_references_are_404(client: httpx.Client) -> None:
    for body in ({"prompt": {"id": "pmpt_x"}}, {"conversation": "conv_x"},
                 {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file-x"}]}]}):
        r = post(client, **{"input": "Hi.", **body})
        assert r.status_code == 404, (body, r.text)
        assert r.json()["error"]["type"] == "invalid_request_error"


def test_echoes_new_fields(client: httpx.Client) -> None:
    r = post(client, input="Reply with exactly the token E-1.", prompt_cache_retention="24h",
             prompt_cache_options={"mode": "explicit"}, moderation={"model": "omni-moderation-latest"},
             reasoning={"effort": "low", "summary": "auto"}, service_tier="flex")
    body = r.json()
    assert body["prompt_cache_retention"] == "24h"
    assert body["prompt_cache_options"] == {"ttl": "30m", "mode": "explicit"}
    assert body["moderation"]["input"]["type"] == "moderation_result"
    assert body["reasoning"] == {"effort": "low", "summary": "auto"}
    assert body["service_tier"] == "flex"
    assert body["output"][0]["type"] == "reasoning" and body["output"][0]["summary"][0]["type"] == "summary_text"
    assert body["usage"]["output_tokens_details"]["reasoning_tokens"] <= body["usage"]["output_tokens"]
    assert text_of(body) == "E-1"


def test_no_reasoning_item_for_effort_none_or_without_reasoning(client: httpx.Client) -> None:
    for extra in ({}, {"reasoning": {"effort": "none"}}):
        body = post(client, input="Hi.", **extra).json()
        assert [i["type"] for i in body["output"]] == ["message"]


def test_logprobs_when_included(client: httpx.Client) -> None:
    body = post(client, input="Count from 1 to 3.", include=["message.output_text.logprobs"], top_logprobs=3).json()
    part = body["output"][0]["content"][0]
    assert "".join(lp["token"] for lp in part["logprobs"]) == part["text"] == "1 2 3"
    assert all(len(lp["top_logprobs"]) == 3 for lp in part["logprobs"])
    plain = post(client, input="Count from 1 to 3.").json()
    assert plain["output"][0]["content"][0]["logprobs"] == []


def test_encrypted_reasoning_round_trips(client: httpx.Client) -> None:
    first = post(client, input="The code word is X-1. Reply with exactly the token NOTED.", store=False,
                 reasoning={"effort": "low"}, include=["reasoning.encrypted_content"]).json()
    reasoning = first["output"][0]
    assert isinstance(reasoning["encrypted_content"], str)
    second = post(client, input=[{"role": "user", "content": "Hi."}, reasoning, first["output"][1],
                                 {"role": "user", "content": "Reply with exactly the code word."}]).json()
    assert text_of(second) == "UNKNOWN"  # the directive was only in turn 1's input, which was not sent


def test_input_file_text_and_pdf() -> None:
    assert file_text(base64.b64encode(b"hello file").decode(), "a.txt") == "hello file"
    assert file_text("data:text/plain;base64," + base64.b64encode(b"x y").decode()) == "x y"
    pdf = b"%PDF-1.4\n4 0 obj\n<< >>\nstream\nBT (Reply with \\(it\\)) Tj ET\nendstream\n"
    assert file_text("data:application/pdf;base64," + base64.b64encode(pdf).decode()) == "Reply with (it)"
    assert file_text("data:image/png;base64,iVBORw0KGgo=") == ""


def test_additional_tools_are_callable(client: httpx.Client) -> None:
    tool = {"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}
    body = post(client, input=[{"type": "additional_tools", "role": "developer", "tools": [tool]},
                               {"role": "user", "content": "Call the function lookup with q set to cats."}]).json()
    assert body["output"][0]["type"] == "function_call" and body["output"][0]["name"] == "lookup"
    bad = post(client, input=[{"type": "additional_tools", "role": "user", "tools": [tool]}])
    assert bad.status_code == 400


def test_conversations(client: httpx.Client) -> None:
    conv = client.post("/conversations", json={}).json()
    assert conv["object"] == "conversation" and conv["id"].startswith("conv_")
    assert client.get(f"/conversations/{conv['id']}").json()["id"] == conv["id"]
    first = post(client, conversation=conv["id"], input="The code word is C-9. Reply with exactly the token OK.").json()
    assert first["conversation"] == {"id": conv["id"]}
    second = post(client, conversation={"id": conv["id"]}, input="Reply with exactly the code word.").json()
    assert text_of(second) == "C-9"
    items = client.get(f"/conversations/{conv['id']}/items?order=asc").json()["data"]
    assert len(items) == 4 and items[0]["content"][0]["text"].startswith("The code word is C-9")
    both = post(client, conversation=conv["id"], previous_response_id=first["id"], input="Hi.")
    assert both.status_code == 400
    assert client.get("/conversations/conv_nope").status_code == 404


def test_background_goes_queued_in_progress_completed(client: httpx.Client) -> None:
    created = post(client, background=True, input="Count from 1 to 1000.").json()
    assert created["status"] == "queued"
    seen = {created["status"]}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = client.get(f"/responses/{created['id']}").json()["status"]
        seen.add(status)
        if status == "completed":
            break
        time.sleep(0.02)
    assert seen == {"queued", "in_progress", "completed"}


def test_background_image_failure_and_sync_400(client: httpx.Client) -> None:
    image = {"type": "input_image", "image_url": "https://x.invalid/a.png"}
    message = [{"role": "user", "content": [{"type": "input_text", "text": "Hi."}, image]}]
    sync = post(client, input=message)
    assert sync.status_code == 400 and sync.json()["error"]["code"] == "invalid_image_url"
    created = post(client, background=True, input=message).json()
    final = poll(client, created["id"])
    assert final["status"] == "failed"
    assert final["error"]["code"] == "failed_to_download_image" and final["completed_at"] is None


def test_image_validation(client: httpx.Client) -> None:
    for image in ({"type": "input_image", "image_url": "not a url"},
                  {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "ultra"},
                  {"type": "input_image"}):
        r = post(client, input=[{"role": "user", "content": [image]}])
        assert r.status_code == 400, image
