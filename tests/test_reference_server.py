"""Tests of the embedded reference server, over real HTTP with httpx.

Deliberately independent of the suite's checks: these tests parse SSE naively (split on
blank lines) and assert the spec's shapes directly, so a misreading in the checks and one
in the server cannot cancel out.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import httpx
import pytest

from conformance.reference import DEVIATIONS, MODEL_NAME, VARIANTS, ReferenceServer
from tests._reference import reference_client, reference_server  # noqa: F401 - the fixtures server, client

RESPONSE_REQUIRED = {"id", "object", "created_at", "error", "incomplete_details", "instructions", "model",
                     "output", "parallel_tool_calls", "metadata", "temperature", "top_p", "tools", "tool_choice"}
TERMINAL = {"response.completed", "response.incomplete", "response.failed"}


def create(c: httpx.Client, **body: Any) -> dict[str, Any]:
    body.setdefault("model", MODEL_NAME)
    r = c.post("/responses", json=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def text_of(resp: dict[str, Any]) -> str:
    return "".join(p["text"] for item in resp["output"] if item["type"] == "message"
                   for p in item["content"] if p["type"] == "output_text")


def parse_sse(raw: bytes) -> list[tuple[str | None, Any]]:
    """Naive SSE parsing for LF streams: (event name, parsed data) per block."""
    events = []
    for block in raw.decode().split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


def stream(c: httpx.Client, **body: Any) -> tuple[httpx.Response, bytes]:
    body.setdefault("model", MODEL_NAME)
    body["stream"] = True
    with c.stream("POST", "/responses", json=body) as r:
        raw = r.read()
    return r, raw


# --- probes --------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "expected"), [
    ({"input": "Hello there"}, "OK"),
    ({"input": "Please reply with exactly the token ZEBRA-42."}, "ZEBRA-42"),
    ({"instructions": "Reply with exactly the token INSTR.", "input": "hi"}, "INSTR"),
    ({"instructions": "Reply with exactly the token INSTR.", "input": "reply with exactly the token USER"}, "USER"),
    ({"input": [{"role": "system", "content": "Reply with exactly the token SYS"},
                {"role": "user", "content": "hello"}]}, "SYS"),
    ({"input": [{"type": "message", "role": "developer",
                 "content": [{"type": "input_text", "text": "reply with exactly the token DEV"}]},
                {"role": "user", "content": [{"type": "input_text", "text": "hello"}]}]}, "DEV"),
    ({"input": "reply with exactly the token A. Then reply with exactly the token B"}, "B"),
    ({"input": "count from 1 to 5"}, "1 2 3 4 5"),
    ({"input": "The code word is PURPLE. Reply with exactly the code word."}, "PURPLE"),
    ({"input": "Reply with exactly the code word."}, "UNKNOWN"),
])
def test_text_probes(client: httpx.Client, body: dict[str, Any], expected: str) -> None:
    assert text_of(create(client, **body)) == expected


def test_code_word_across_previous_response_chain(client: httpx.Client) -> None:
    first = create(client, input="Remember: the code word is HERON. Reply with exactly the token READY.")
    assert text_of(first) == "READY"
    second = create(client, input="Reply with exactly the code word.", previous_response_id=first["id"])
    assert text_of(second) == "HERON"
    assert second["previous_response_id"] == first["id"]
    third = create(client, input="reply with exactly the code word", previous_response_id=second["id"])
    assert text_of(third) == "HERON"


WEATHER_TOOL = {"type": "function", "name": "get_weather", "description": "Weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                                "days": {"type": "integer"},
                                                                "metric": {"type": "boolean"}},
                               "required": ["city", "days", "metric"], "additionalProperties": False}}


def test_function_call_by_user_request_then_result(client: httpx.Client) -> None:
    resp = create(client, input="Call the function get_weather with city set to Paris and days set to 3.",
                  tools=[WEATHER_TOOL])
    [call] = resp["output"]
    assert call["type"] == "function_call" and call["name"] == "get_weather"
    assert call["id"].startswith("fc_") and call["call_id"].startswith("call_") and call["status"] == "completed"
    assert json.loads(call["arguments"]) == {"city": "Paris", "days": 3, "metric": False}
    assert resp["tools"][0]["strict"] is True and resp["tools"][0]["name"] == "get_weather"
    follow = create(client, previous_response_id=resp["id"], tools=[WEATHER_TOOL],
                    input=[{"type": "function_call_output", "call_id": call["call_id"], "output": "Sunny, 21C"}])
    assert text_of(follow) == "Sunny, 21C"


def test_forced_tool_choice(client: httpx.Client) -> None:
    resp = create(client, input="hello", tools=[WEATHER_TOOL],
                  tool_choice={"type": "function", "name": "get_weather"})
    assert resp["output"][0]["type"] == "function_call"
    assert resp["tool_choice"] == {"type": "function", "name": "get_weather"}
    resp = create(client, input="hello", tools=[WEATHER_TOOL], tool_choice="required")
    assert resp["output"][0]["name"] == "get_weather"
    resp = create(client, input="call the function get_weather", tools=[WEATHER_TOOL], tool_choice="none")
    assert text_of(resp) == "OK"


def test_function_result_from_explicit_items(client: httpx.Client) -> None:
    resp = create(client, input=[
        {"role": "user", "content": "call the function get_weather"},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "Rain all day"},
    ], tools=[WEATHER_TOOL])
    assert text_of(resp) == "Rain all day"


def test_json_schema_probe(client: httpx.Client) -> None:
    fmt = {"type": "json_schema", "name": "person", "strict": True,
           "schema": {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                                                       "tags": {"type": "array", "items": {"type": "string"}}},
                      "required": ["name", "age", "tags"], "additionalProperties": False}}
    resp = create(client, input="Give JSON: name set to Ada and age set to 36.", text={"format": fmt})
    assert json.loads(text_of(resp)) == {"name": "Ada", "age": 36, "tags": []}
    assert resp["text"]["format"]["type"] == "json_schema" and resp["text"]["format"]["name"] == "person"
    obj = create(client, input="answer in JSON with color set to red", text={"format": {"type": "json_object"}})
    assert json.loads(text_of(obj)) == {"color": "red"}


def test_max_output_tokens_incomplete(client: httpx.Client) -> None:
    resp = create(client, input="count from 1 to 50", max_output_tokens=16)
    assert resp["status"] == "incomplete"
    assert resp["incomplete_details"] == {"reason": "max_output_tokens"}
    assert resp["output"][0]["status"] == "incomplete"
    assert text_of(resp).split() == [str(i) for i in range(1, 17)]
    assert resp["usage"]["output_tokens"] == 16 and resp["completed_at"] is None


def test_usage_counts_words(client: httpx.Client) -> None:
    resp = create(client, instructions="be brief", input="one two three")
    u = resp["usage"]
    assert (u["input_tokens"], u["output_tokens"], u["total_tokens"]) == (5, 1, 6)
    assert u["input_tokens_details"]["cached_tokens"] == 0
    assert u["output_tokens_details"]["reasoning_tokens"] == 0
    r = client.post("/responses/input_tokens", json={"model": MODEL_NAME, "instructions": "be brief",
                                                     "input": "one two three"})
    assert r.json() == {"object": "response.input_tokens", "input_tokens": 5}


# --- response object ---------------------------------------------------------------------

def test_response_object_shape_and_echo(client: httpx.Client) -> None:
    resp = create(client, input="hi", instructions="sys", temperature=0.5, top_p=0.9, metadata={"k": "v"},
                  max_output_tokens=100, parallel_tool_calls=False, user="u1")
    assert RESPONSE_REQUIRED <= resp.keys()
    assert resp["id"].startswith("resp_") and resp["object"] == "response"
    assert isinstance(resp["created_at"], int) and resp["status"] == "completed"
    assert isinstance(resp["completed_at"], int)
    assert (resp["temperature"], resp["top_p"], resp["metadata"]) == (0.5, 0.9, {"k": "v"})
    assert resp["instructions"] == "sys" and resp["max_output_tokens"] == 100
    assert resp["parallel_tool_calls"] is False and resp["user"] == "u1"
    [msg] = resp["output"]
    assert msg["id"].startswith("msg_") and msg["role"] == "assistant" and msg["status"] == "completed"
    assert msg["content"] == [{"type": "output_text", "text": "OK", "annotations": [], "logprobs": []}]


# --- streaming ---------------------------------------------------------------------------

def test_stream_lifecycle(client: httpx.Client) -> None:
    r, raw = stream(client, input="count from 1 to 4")
    assert r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(raw)
    types = [d["type"] for _, d in events]
    assert all(name == d["type"] for name, d in events)
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[2:5] == ["response.output_item.added", "response.content_part.added", "response.output_text.delta"]
    assert types[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    assert events[0][1]["response"]["status"] == "in_progress"
    added = events[2][1]["item"]
    assert added["status"] == "in_progress" and added["content"] == []
    assert events[3][1]["part"] == {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    deltas = [d for _, d in events if d["type"] == "response.output_text.delta"]
    assert len(deltas) == 4 and "".join(d["delta"] for d in deltas) == "1 2 3 4"
    assert all(d["logprobs"] == [] and d["item_id"] == added["id"] and d["output_index"] == 0 for d in deltas)
    final = events[-1][1]["response"]
    assert text_of(final) == "1 2 3 4"
    assert client.get(f"/responses/{final['id']}").json() == final


def test_stream_incomplete_and_function_call(client: httpx.Client) -> None:
    _, raw = stream(client, input="count from 1 to 30", max_output_tokens=16)
    last = parse_sse(raw)[-1][1]
    assert last["type"] == "response.incomplete" and last["response"]["status"] == "incomplete"
    _, raw = stream(client, input="call the function get_weather, city set to Oslo", tools=[WEATHER_TOOL])
    events = [d for _, d in parse_sse(raw)]
    types = [e["type"] for e in events]
    assert "response.function_call_arguments.delta" in types
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    args = "".join(e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta")
    assert done["arguments"] == args and json.loads(args)["city"] == "Oslo" and done["name"] == "get_weather"
    assert events[2]["item"]["arguments"] == "" and types[-1] == "response.completed"


def test_retrieve_stream_replay(client: httpx.Client) -> None:
    _, raw = stream(client, input="count from 1 to 3")
    events = parse_sse(raw)
    rid = events[0][1]["response"]["id"]
    with client.stream("GET", f"/responses/{rid}", params={"stream": "true"}) as r:
        replay = parse_sse(r.read())
    assert [d for _, d in replay] == [d for _, d in events]
    with client.stream("GET", f"/responses/{rid}", params={"stream": "true", "starting_after": 3}) as r:
        tail = parse_sse(r.read())
    assert tail[0][1]["sequence_number"] == 4


# --- errors -----------------------------------------------------------------------------

def assert_envelope(r: httpx.Response, status: int, param: str | None = None, code: str | None = "?") -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and isinstance(err["message"], str)
    assert err["param"] == param
    if code != "?":
        assert err["code"] == code


@pytest.mark.parametrize(("body", "status", "param", "code"), [
    ({"input": "hi"}, 400, "model", "missing_required_parameter"),
    ({"model": "gpt-nope", "input": "hi"}, 404, "model", "model_not_found"),
    ({"model": MODEL_NAME, "input": 42}, 400, "input", "invalid_type"),
    ({"model": MODEL_NAME, "input": "hi", "temperature": 2.5}, 400, "temperature", "decimal_above_max_value"),
    ({"model": MODEL_NAME, "input": "hi", "temperature": -1}, 400, "temperature", "decimal_below_min_value"),
    ({"model": MODEL_NAME, "input": "hi", "top_p": 1.5}, 400, "top_p", "decimal_above_max_value"),
    ({"model": MODEL_NAME, "input": "hi", "max_output_tokens": 5}, 400, "max_output_tokens",
     "integer_below_min_value"),
    ({"model": MODEL_NAME, "input": "hi", "previous_response_id": "resp_missing"}, 400, "previous_response_id",
     "previous_response_not_found"),
    ({"model": MODEL_NAME, "input": "hi", "tools": [{"type": "function"}]}, 400, "tools[0].name",
     "missing_required_parameter"),
    ({"model": MODEL_NAME, "input": "hi", "text": {"format": {"type": "yaml"}}}, 400, "text.format.type",
     "invalid_value"),
    ({"model": MODEL_NAME, "input": "hi", "text": {"format": {"type": "json_schema", "name": "x"}}}, 400,
     "text.format.schema", "missing_required_parameter"),
    ({"model": MODEL_NAME, "input": "hi", "bogus": 1}, 400, "bogus", "unknown_parameter"),
    ({"model": MODEL_NAME, "input": [{"role": "robot", "content": "x"}]}, 400, "input[0].role", "invalid_value"),
])
def test_validation_errors(client: httpx.Client, body: dict[str, Any], status: int, param: str, code: str) -> None:
    assert_envelope(client.post("/responses", json=body), status, param, code)


def test_transport_errors(client: httpx.Client) -> None:
    assert_envelope(client.post("/responses", content=b"{not json", headers={"content-type": "application/json"}),
                    400)
    assert_envelope(client.get("/responses/resp_unknown"), 404)
    assert_envelope(client.delete("/responses/resp_unknown"), 404)
    assert_envelope(client.post("/responses/resp_unknown/cancel"), 404)
    assert_envelope(client.get("/responses/resp_unknown/input_items"), 404)
    assert_envelope(client.get("/nothing/here"), 404)
    assert_envelope(client.put("/responses"), 405)
    assert_envelope(client.request("PROPFIND", "/responses"), 501)
    assert_envelope(client.post("/responses", content=b'{"model": "reference-1", "temperature": NaN}'), 400)
    assert_envelope(client.post("/responses", content=b"x" * (8 * 1024 * 1024 + 1)), 413)


def test_auth() -> None:
    with ReferenceServer(api_key="sk-test") as srv, httpx.Client(base_url=srv.base_url) as c:
        r = c.post("/responses", json={"model": MODEL_NAME, "input": "hi"})
        assert_envelope(r, 401, code="invalid_api_key")
        assert_envelope(c.get("/responses/x", headers={"Authorization": "Bearer wrong"}), 401, code="invalid_api_key")
        ok = c.post("/responses", json={"model": MODEL_NAME, "input": "hi"},
                    headers={"Authorization": "Bearer sk-test"})
        assert ok.status_code == 200


def test_server_survives_garbage(server: ReferenceServer) -> None:
    host, port = server.base_url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GARBAGE \x00\xff nonsense HTTP/1.1\r\n\r\n")
        reply = b""
        while chunk := sock.recv(4096):  # the server closes the connection after a bad request line
            reply += chunk
    assert reply.startswith(b"HTTP/1.") and b'{"error": {' in reply and b"<html" not in reply.lower()
    with httpx.Client(base_url=server.base_url) as c:
        assert c.post("/responses", json={"model": MODEL_NAME, "input": "hi"}).status_code == 200


# --- storage -----------------------------------------------------------------------------

def test_store_retrieve_delete(client: httpx.Client) -> None:
    resp = create(client, input="reply with exactly the token KEEP", metadata={"a": "b"})
    assert client.get(f"/responses/{resp['id']}").json() == resp
    d = client.delete(f"/responses/{resp['id']}")
    assert d.json() == {"id": resp["id"], "object": "response.deleted", "deleted": True}
    assert_envelope(client.get(f"/responses/{resp['id']}"), 404)
    r = client.post("/responses", json={"model": MODEL_NAME, "input": "x", "previous_response_id": resp["id"]})
    assert_envelope(r, 400, "previous_response_id", "previous_response_not_found")


def test_store_false(client: httpx.Client) -> None:
    resp = create(client, input="hi", store=False)
    assert resp["store"] is False
    assert_envelope(client.get(f"/responses/{resp['id']}"), 404)
    r = client.post("/responses", json={"model": MODEL_NAME, "input": "x", "previous_response_id": resp["id"]})
    assert_envelope(r, 400, "previous_response_id", "previous_response_not_found")


def test_input_items_pagination(client: httpx.Client) -> None:
    items = [{"role": "user", "content": f"message {i}"} for i in range(5)]
    resp = create(client, input=items)
    url = f"/responses/{resp['id']}/input_items"
    page = client.get(url).json()
    assert page["object"] == "list" and page["has_more"] is False
    texts = [i["content"][0]["text"] for i in page["data"]]
    assert texts == [f"message {i}" for i in reversed(range(5))]
    assert page["first_id"] == page["data"][0]["id"] and page["last_id"] == page["data"][-1]["id"]
    assert all(i["type"] == "message" and i["id"] and i["status"] == "completed" for i in page["data"])
    first = client.get(url, params={"limit": 2, "order": "asc"}).json()
    assert [i["content"][0]["text"] for i in first["data"]] == ["message 0", "message 1"] and first["has_more"]
    second = client.get(url, params={"limit": 2, "order": "asc", "after": first["last_id"]}).json()
    assert [i["content"][0]["text"] for i in second["data"]] == ["message 2", "message 3"]
    assert_envelope(client.get(url, params={"order": "sideways"}), 400, "order")


def test_item_reference(client: httpx.Client) -> None:
    first = create(client, input="The code word is OTTER.")
    item_id = client.get(f"/responses/{first['id']}/input_items").json()["data"][0]["id"]
    resp = create(client, input=[{"type": "item_reference", "id": item_id},
                                 {"role": "user", "content": "Reply with exactly the code word"}])
    assert text_of(resp) == "OTTER"


def test_background_and_cancel(client: httpx.Client) -> None:
    resp = create(client, input="reply with exactly the token LATER", background=True)
    assert resp["status"] == "queued" and resp["background"] is True
    deadline = time.monotonic() + 5
    while (got := client.get(f"/responses/{resp['id']}").json())["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert text_of(got) == "LATER"
    queued = create(client, input="hi", background=True)
    cancelled = client.post(f"/responses/{queued['id']}/cancel").json()
    assert cancelled["status"] == "cancelled"
    time.sleep(0.4)
    assert client.get(f"/responses/{queued['id']}").json()["status"] == "cancelled"
    plain = create(client, input="hi")
    assert_envelope(client.post(f"/responses/{plain['id']}/cancel"), 400)


def test_compact_round_trip(client: httpx.Client) -> None:
    r = client.post("/responses/compact", json={"model": MODEL_NAME, "input": [
        {"role": "user", "content": "the code word is MAPLE"},
        {"role": "assistant", "content": "noted"}]})
    body = r.json()
    assert r.status_code == 200 and body["object"] == "response.compaction"
    assert body["output"][-1]["type"] == "compaction"
    resp = create(client, input=[body["output"][-1], {"role": "user", "content": "reply with exactly the code word"}])
    assert text_of(resp) == "MAPLE"


# --- behaviours -------------------------------------------------------------------------

def test_unknown_behaviour_names_rejected() -> None:
    with pytest.raises(ValueError, match="valid deviations"):
        ReferenceServer(deviations=["nope"])
    with pytest.raises(ValueError, match="crlf"):
        ReferenceServer(variants=["nope"])


def raw_stream(deviations: tuple[str, ...] = (), variants: tuple[str, ...] = (), **body: Any
               ) -> tuple[httpx.Response, bytes]:
    with ReferenceServer(deviations=deviations, variants=variants) as srv, \
            httpx.Client(base_url=srv.base_url, timeout=10) as c:
        return stream(c, **{"input": "count from 1 to 3", **body})


def test_every_variant_keeps_a_valid_stream() -> None:
    for variant in VARIANTS:
        _, raw = raw_stream(variants=(variant,))
        norm = raw.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        blocks = [b for b in norm.decode().split("\n\n") if "data:" in b]
        datas = [json.loads(next(line[5:].strip() for line in b.split("\n") if line.startswith("data:")))
                 for b in blocks]
        assert [d["sequence_number"] for d in datas] == list(range(len(datas))), variant
        assert datas[-1]["type"] == "response.completed", variant


@pytest.mark.parametrize(("variant", "predicate"), [
    ("crlf", lambda raw: b"\r\n" in raw),
    ("cr", lambda raw: b"\r" in raw and b"\n" not in raw),
    ("sse_comments", lambda raw: b": keep-alive" in raw),
    ("id_retry_lines", lambda raw: b"\nid: " in raw and b"retry: " in raw),
    ("no_event_lines", lambda raw: b"event:" not in raw),
    ("bom", lambda raw: raw.startswith(b"\xef\xbb\xbf")),
    ("extra_fields", lambda raw: b"x_reference_extra" in raw),
    ("key_order", lambda raw: raw.split(b"data: ", 1)[1].startswith(b'{"response"')),
])
def test_variant_visible(variant: str, predicate: Any) -> None:
    _, raw = raw_stream(variants=(variant,))
    assert predicate(raw)


def test_tiny_chunks_and_split_events_write_small_pieces() -> None:
    with ReferenceServer(variants=["tiny_chunks"]) as srv, httpx.Client(base_url=srv.base_url) as c:
        with c.stream("POST", "/responses", json={"model": MODEL_NAME, "input": "hi", "stream": True}) as r:
            sizes = [len(chunk) for chunk in r.iter_raw()]
    assert sum(sizes) > 100 and min(sizes) == 1


def test_slow_stream_is_slower() -> None:
    start = time.monotonic()
    raw_stream(variants=("slow_stream",))
    assert time.monotonic() - start > 0.15


def events_of(raw: bytes) -> list[dict[str, Any]]:
    return [d for _, d in parse_sse(raw)]


def test_stream_deviations_visible() -> None:
    _, raw = raw_stream(("missing_sequence_number",))
    assert all("sequence_number" not in e for e in events_of(raw))
    seqs = [e["sequence_number"] for e in events_of(raw_stream(("sequence_gap",))[1])]
    assert seqs != list(range(len(seqs))) and seqs == sorted(seqs)
    seqs = [e["sequence_number"] for e in events_of(raw_stream(("sequence_not_increasing",))[1])]
    assert any(b <= a for a, b in zip(seqs, seqs[1:]))
    assert events_of(raw_stream(("no_terminal_event",))[1])[-1]["type"] not in TERMINAL
    evs = events_of(raw_stream(("events_after_terminal",))[1])
    assert evs[-2]["type"] in TERMINAL and evs[-1]["type"] not in TERMINAL
    types = [e["type"] for e in events_of(raw_stream(("delta_before_item_added",))[1])]
    assert "response.output_item.added" not in types
    types = [e["type"] for e in events_of(raw_stream(("no_content_part_events",))[1])]
    assert "response.content_part.added" not in types
    evs = events_of(raw_stream(("delta_text_mismatch",))[1])
    done = next(e for e in evs if e["type"] == "response.output_text.done")
    assert done["text"] != "".join(e["delta"] for e in evs if e["type"] == "response.output_text.delta")
    evs = events_of(raw_stream(("final_response_text_mismatch",))[1])
    assert text_of(evs[-1]["response"]) != "1 2 3"
    names = [(n, d["type"]) for n, d in parse_sse(raw_stream(("event_name_mismatch",))[1])]
    assert any(n != t for n, t in names)
    r, _ = raw_stream(("wrong_stream_content_type",))
    assert r.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        parse_sse(raw_stream(("non_json_event_data",))[1])
    evs = events_of(raw_stream(("output_index_mismatch",))[1])
    assert {e["output_index"] for e in evs if e["type"] == "response.output_text.delta"} == {1}
    assert raw_stream(("done_sentinel",))[1].endswith(b"data: [DONE]\n\n")
    evs = events_of(raw_stream(("response_id_unstable",))[1])
    assert evs[0]["response"]["id"] != evs[-1]["response"]["id"]
    evs = events_of(raw_stream(("function_args_mismatch",), input="hi", tools=[WEATHER_TOOL], tool_choice="required")[1])
    done = next(e for e in evs if e["type"] == "response.function_call_arguments.done")
    assert done["arguments"] != "".join(e["delta"] for e in evs if e["type"] == "response.function_call_arguments.delta")
    evs = events_of(raw_stream(("missing_item_id_on_delta",))[1])
    assert all("item_id" not in e for e in evs if e["type"] == "response.output_text.delta")


def one_shot(deviations: tuple[str, ...], *, api_key: str | None = None, method: str = "POST", path: str = "/responses",
             **body: Any) -> httpx.Response:
    with ReferenceServer(deviations=deviations, api_key=api_key) as srv, \
            httpx.Client(base_url=srv.base_url) as c:
        if method == "POST":
            return c.post(path, json={"model": MODEL_NAME, **body})
        return c.request(method, path)


def test_shape_and_error_deviations_visible() -> None:
    assert one_shot(("text_type_instead_of_output_text",), input="hi").json()["output"][0]["content"][0]["type"] \
        == "text"
    usage = one_shot(("chat_usage_names",), input="hi").json()["usage"]
    assert "prompt_tokens" in usage and "input_tokens" not in usage
    assert "status" not in one_shot(("missing_required_field_status",), input="hi").json()
    assert one_shot(("object_not_response",), input="hi").json()["object"] == "chat.completion"
    assert isinstance(one_shot(("created_at_string",), input="hi").json()["created_at"], str)
    assert one_shot(("wrong_item_status",), input="hi").json()["output"][0]["status"] == "done"
    assert one_shot(("error_detail_envelope",), input="hi", temperature=9).json() == {"detail": (
        "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 9 instead.")}
    html = one_shot(("error_html",), input="hi", temperature=9)
    assert html.status_code == 400 and html.headers["content-type"].startswith("text/html")
    r200 = one_shot(("error_status_200",), input="hi", temperature=9)
    assert r200.status_code == 200 and "error" in r200.json()
    assert one_shot(("accept_invalid_temperature",), input="hi", temperature=9).json()["temperature"] == 9
    r = httpx.Response(200)
    with ReferenceServer(deviations=["accept_missing_model"]) as srv:
        r = httpx.post(srv.base_url + "/responses", json={"input": "hi"})
    assert r.status_code == 200
    assert one_shot(("no_auth_check",), api_key="k", input="hi").status_code == 200
    assert one_shot(("unknown_id_500",), method="GET", path="/responses/resp_nope").status_code == 500
    assert one_shot(("validation_500",), input="hi", temperature=9).status_code == 500


def test_behaviour_deviations_visible() -> None:
    resp = one_shot(("complete_on_max_tokens",), input="count from 1 to 40", max_output_tokens=16).json()
    assert resp["status"] == "completed" and resp["incomplete_details"] is None and len(text_of(resp).split()) == 16
    resp = one_shot(("incomplete_without_details",), input="count from 1 to 40", max_output_tokens=16).json()
    assert resp["status"] == "incomplete" and resp["incomplete_details"] is None
    assert text_of(one_shot(("ignore_instructions",), instructions="reply with exactly the token Z",
                            input="hi").json()) == "OK"
    assert text_of(one_shot(("ignore_system_role",), input=[
        {"role": "system", "content": "reply with exactly the token Z"}, {"role": "user", "content": "hi"}]).json()) \
        == "OK"
    assert one_shot(("no_metadata_echo",), input="hi", metadata={"a": "b"}).json()["metadata"] == {}
    assert one_shot(("no_temperature_echo",), input="hi", temperature=0.2).json()["temperature"] == 1.0
    item = one_shot(("function_arguments_object",), input="hi", tools=[WEATHER_TOOL],
                    tool_choice="required").json()["output"][0]
    assert isinstance(item["arguments"], dict)
    assert one_shot(("ignore_tool_choice",), input="hi", tools=[WEATHER_TOOL],
                    tool_choice="required").json()["output"][0]["type"] == "message"
    assert "call_id" not in one_shot(("function_call_missing_call_id",), input="hi", tools=[WEATHER_TOOL],
                                     tool_choice="required").json()["output"][0]
    fmt = {"type": "json_object"}
    assert text_of(one_shot(("json_format_ignored",), input="x set to 1", text={"format": fmt}).json()) == "OK"


def test_storage_deviations_visible() -> None:
    for deviations, check in [
        (("store_ignored",), lambda c, rid: c.get(f"/responses/{rid}").status_code == 404),
        (("retrieve_differs",), lambda c, rid: text_of(c.get(f"/responses/{rid}").json()) != "OK"),
        (("delete_not_effective",), lambda c, rid: c.delete(f"/responses/{rid}").json()["deleted"]
         and c.get(f"/responses/{rid}").status_code == 200),
        (("ignore_previous_response_id",), lambda c, rid: c.post("/responses", json={
            "model": MODEL_NAME, "input": "hi", "previous_response_id": rid}).json()["previous_response_id"] is None),
    ]:
        with ReferenceServer(deviations=deviations) as srv, httpx.Client(base_url=srv.base_url) as c:
            rid = create(c, input="hi")["id"]
            assert check(c, rid), deviations


def test_every_deviation_constructs_and_serves() -> None:
    """Smoke: each deviation alone still answers a plain and a streaming request without crashing."""
    for name in DEVIATIONS:
        with ReferenceServer(deviations=[name]) as srv, httpx.Client(base_url=srv.base_url, timeout=10) as c:
            r = c.post("/responses", json={"model": MODEL_NAME, "input": "hi"})
            assert r.status_code in (200, 400, 500), name
            with c.stream("POST", "/responses", json={"model": MODEL_NAME, "input": "hi", "stream": True}) as s:
                assert s.read(), name
