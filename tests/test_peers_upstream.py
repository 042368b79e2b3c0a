"""The probe-aware Chat Completions upstream (peers/upstream_chat.py) and the ``model_behaviour`` declaration."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "peers"))

import upstream_chat  # noqa: E402


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("upstream") / "requests.jsonl"
    server = upstream_chat.make_server(port=0, log_path=str(log))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def chat(base_url: str, **body: Any) -> httpx.Response:
    body.setdefault("model", "probe")
    return httpx.post(f"{base_url}/chat/completions", json=body, headers={"Authorization": "Bearer x"}, timeout=10)


def answer(base_url: str, messages: list[dict[str, Any]], **body: Any) -> dict[str, Any]:
    resp = chat(base_url, messages=messages, **body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def text(doc: dict[str, Any]) -> str:
    return doc["choices"][0]["message"]["content"]


def test_token_default_and_user_beats_system(base_url: str) -> None:
    assert text(answer(base_url, [{"role": "user", "content": "Reply with exactly the token PONG."}])) == "PONG"
    assert text(answer(base_url, [{"role": "user", "content": "hello"}])) == "OK"
    msgs = [{"role": "system", "content": "Reply with exactly the token SYS."},
            {"role": "user", "content": [{"type": "text", "text": "Reply with exactly the token USR"}]}]
    assert text(answer(base_url, msgs)) == "USR"
    assert text(answer(base_url, msgs[:1] + [{"role": "user", "content": "hi"}])) == "SYS"


def test_code_word_across_messages(base_url: str) -> None:
    msgs = [{"role": "user", "content": "Remember: the code word is ALPHA."},
            {"role": "assistant", "content": "OK"},
            {"role": "user", "content": "Reply with exactly the code word."}]
    assert text(answer(base_url, msgs)) == "ALPHA"
    assert text(answer(base_url, msgs[2:])) == "UNKNOWN"


def test_count_and_token_limit(base_url: str) -> None:
    doc = answer(base_url, [{"role": "user", "content": "Count from 1 to 5."}])
    assert text(doc) == "1 2 3 4 5" and doc["choices"][0]["finish_reason"] == "stop"
    assert doc["usage"] == {**doc["usage"], "completion_tokens": 5, "prompt_tokens": 5, "total_tokens": 10}
    assert doc["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
    for key in ("max_tokens", "max_completion_tokens"):
        cut = answer(base_url, [{"role": "user", "content": "count from 1 to 50"}], **{key: 3})
        assert text(cut) == "1 2 3" and cut["choices"][0]["finish_reason"] == "length"
        assert cut["usage"]["completion_tokens"] == 3


WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"},
                                     "unit": {"type": "string", "enum": ["c", "f"]}}}}}


def test_forced_function_call_with_set_to_arguments(base_url: str) -> None:
    msgs = [{"role": "user", "content": "Weather please: city set to Paris, days set to 3, unit set to F."}]
    for choice in ("required", {"type": "function", "function": {"name": "get_weather"}}):
        doc = answer(base_url, msgs, tools=[WEATHER], tool_choice=choice)
        choice0 = doc["choices"][0]
        assert choice0["finish_reason"] == "tool_calls" and choice0["message"]["content"] is None
        call = choice0["message"]["tool_calls"][0]
        assert call["function"]["name"] == "get_weather"
        assert json.loads(call["function"]["arguments"]) == {"city": "Paris", "days": 3, "unit": "f"}
    by_name = answer(base_url, [{"role": "user", "content": "Call the function get_weather."}], tools=[WEATHER])
    assert json.loads(by_name["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]) == \
        {"city": "", "days": 0, "unit": "c"}
    none = answer(base_url, [{"role": "user", "content": "Call the function get_weather."}], tools=[WEATHER],
                  tool_choice="none")
    assert text(none) == "OK"


def test_a_namespaced_function_flattened_by_a_bridge_is_called_by_its_bare_name(base_url: str) -> None:
    flat = {"type": "function", "function": {**WEATHER["function"], "name": "crm__get_weather"}}
    doc = answer(base_url, [{"role": "user", "content": "Call the function get_weather."}], tools=[flat])
    assert doc["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "crm__get_weather"
    other = answer(base_url, [{"role": "user", "content": "Call the function weather."}], tools=[flat])
    assert text(other) == "OK"  # a suffix of the name is not a namespace match


def test_function_result_is_the_last_tool_message(base_url: str) -> None:
    msgs = [{"role": "user", "content": "call the function get_weather"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "SUNNY-22"}]
    assert text(answer(base_url, msgs, tools=[WEATHER])) == "SUNNY-22"


def test_json_formats(base_url: str) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
              "required": ["name", "age"], "additionalProperties": False}
    msgs = [{"role": "user", "content": "name set to Ada, age set to 36"}]
    doc = answer(base_url, msgs, response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": schema}})
    assert json.loads(text(doc)) == {"name": "Ada", "age": 36}
    assert json.loads(text(answer(base_url, msgs, response_format={"type": "json_object"}))) == {"name": "Ada", "age": 36}
    assert json.loads(text(answer(base_url, [{"role": "user", "content": "hi"}],
                                  response_format={"type": "json_object"}))) == {"result": "OK"}


def _events(resp: httpx.Response) -> list[Any]:
    assert resp.headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in resp.text.split("\n\n") if b.strip()]
    assert blocks[-1] == "data: [DONE]"
    return [json.loads(b[len("data: "):]) for b in blocks[:-1]]


def test_stream_text_and_usage(base_url: str) -> None:
    resp = chat(base_url, messages=[{"role": "user", "content": "count from 1 to 3"}], stream=True,
                stream_options={"include_usage": True}, max_tokens=2)
    chunks = _events(resp)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert content == "1 2"
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "length"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 2
    plain = _events(chat(base_url, messages=[{"role": "user", "content": "hi"}], stream=True))
    assert all("usage" not in c for c in plain)


def test_stream_tool_call_arguments_reassemble(base_url: str) -> None:
    resp = chat(base_url, messages=[{"role": "user", "content": "city set to Rome"}], tools=[WEATHER],
                tool_choice="required", stream=True)
    chunks = _events(resp)
    deltas = [tc for c in chunks for tc in (c["choices"][0]["delta"].get("tool_calls") or [])]
    assert deltas[0]["id"] and deltas[0]["function"]["name"] == "get_weather"
    args = "".join(d["function"].get("arguments", "") for d in deltas)
    assert json.loads(args)["city"] == "Rome"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_errors_use_the_envelope(base_url: str) -> None:
    bad = httpx.post(f"{base_url}/chat/completions", content=b"{not json", timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    empty = chat(base_url, messages=[])
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "messages"
    neg = chat(base_url, messages=[{"role": "user", "content": "hi"}], max_tokens=0)
    assert neg.status_code == 400 and neg.json()["error"]["param"] == "max_tokens"
    assert httpx.get(f"{base_url}/models", timeout=10).json()["data"][0]["id"] == "probe"
    assert httpx.get(f"{base_url}/nope", timeout=10).status_code == 404


def test_upstream_is_independent_of_the_reference_server() -> None:
    source = (ROOT / "peers" / "upstream_chat.py").read_text()
    assert "conformance" not in "".join(line for line in source.splitlines() if line.startswith(("import", "from")))


def test_model_behaviour_declaration_skips_behavioural_cases() -> None:
    from conformance.cases import load_all
    from conformance.cases.loader import MODEL_BEHAVIOUR
    from conformance.suite import CASES_DIR

    cases = {c.id: c for c in load_all(CASES_DIR)}
    assert cases["basic.text"].behavioural and MODEL_BEHAVIOUR in cases["basic.text"].needs
    assert not cases["errors.unknown_model"].behavioural
    assert cases["errors.unknown_model"].needs == cases["errors.unknown_model"].capabilities
    # the refusal probe asserts through events/json, but only a probe-following model can refuse on request
    assert cases["streaming.refusal"].behavioural and MODEL_BEHAVIOUR in cases["streaming.refusal"].needs


def test_model_behaviour_false_runs_only_protocol_cases(tmp_path: Path) -> None:
    from conformance.cli import main

    cfg = tmp_path / "providers.yaml"
    cfg.write_text("providers:\n  - name: ref\n    base_url: embedded\n    models:\n"
                   "      - name: reference-1\n        capabilities: {model_behaviour: false}\n")
    rc = main(["run", "--config", str(cfg), "--reports", str(tmp_path), "--no-matrix", "-q", "-k", "basic or unknown_model"])
    assert rc == 0
    doc = json.loads((tmp_path / "ref__reference-1.json").read_text())
    outcomes = {c["id"]: (c["outcome"], c["message"]) for c in doc["cases"]}
    assert outcomes["basic.text"][0] == "skipped" and "model_behaviour" in outcomes["basic.text"][1]
    assert outcomes["errors.unknown_model"][0] == "pass"
