"""The coverage denominator is the spec's element lists (from schemas/), with the known counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.coverage import CATEGORY_KEYS, catalogue, unreachable_elements
from conformance.coverage import unreachable as unreachable_mod
from conformance.coverage.elements import category
from conformance.judge import schemas


def _names(key: str, profile: str = "openai") -> list[str]:
    return list(category(key, profile).elements)


def test_openai_counts_match_the_spec() -> None:
    counts = {c.key: len(c.elements) for c in catalogue("openai")}
    assert counts["request_parameters"] == 31
    assert counts["stream_events"] == 58
    assert counts["response_status"] == 6
    assert counts["endpoints"] == 7
    assert counts["include"] == 8
    assert counts["tools"] == 18
    assert counts["input_items"] == 30
    assert counts["output_items"] == 28
    assert counts["input_content_parts"] == 7
    assert counts["output_content_parts"] == 4
    assert counts["incomplete_reasons"] == 2
    assert counts["tool_choice"] == 3 + 15


@pytest.mark.parametrize("profile", schemas.PROFILES)
def test_lists_are_the_index_lists(profile: str) -> None:
    idx = schemas.index(profile)
    assert _names("request_parameters", profile) == idx["request_parameters"]
    assert _names("stream_events", profile) == idx["stream_event_types"]
    assert _names("response_status", profile) == idx["response_status"]
    assert _names("include", profile) == idx["include"]
    assert _names("incomplete_reasons", profile) == idx["incomplete_reasons"]
    for key in ("tools", "input_items", "output_items", "input_content_parts", "output_content_parts"):
        assert _names(key, profile) == list(idx[key]), key
    assert [c.key for c in catalogue(profile)] == list(CATEGORY_KEYS)


def test_endpoints_are_named_like_check_context() -> None:
    assert _names("endpoints") == ["create", "retrieve", "delete", "cancel", "input_items", "input_tokens", "compact"]
    assert _names("endpoints", "openresponses") == ["create", "compact"]
    assert category("endpoints").elements["cancel"] == "POST /responses/{response_id}/cancel"


def test_nested_parameter_options() -> None:
    options = set(_names("parameter_options"))
    for element in (
        "reasoning.effort=low", "reasoning.summary=auto", "text.format:json_schema", "text.format:json_object",
        "text.format:text", "text.verbosity=low", "truncation=auto", "truncation=disabled", "service_tier=flex",
        "stream_options.include_obfuscation", "prompt.id", "prompt.variables", "conversation.id",
    ):
        assert element in options, element
    # model's enum sits next to a free string: its values are examples, not options
    assert not any(o.startswith("model") for o in options)
    # parameters with their own category are not repeated here
    assert not any(o.split(".")[0].split("=")[0].split(":")[0].rstrip("[]") in {"input", "tools", "tool_choice", "include"}
                   for o in options)


def test_tool_choice_forms_roles_and_item_statuses() -> None:
    forms = _names("tool_choice")
    assert forms[:3] == ["none", "auto", "required"]
    assert {"type=function", "type=allowed_tools", "type=mcp", "type=custom"} <= set(forms)
    assert set(_names("input_roles")) == {"user", "assistant", "system", "developer"}
    status = category("item_status").elements
    assert {"in_progress", "completed", "incomplete"} <= set(status)
    assert "message" in status["completed"]


def test_openresponses_has_no_status_enum() -> None:
    assert _names("response_status", "openresponses") == []
    assert _names("tools", "openresponses") == ["function"]


@pytest.mark.parametrize("profile", schemas.PROFILES)
def test_committed_unreachable_entries_exist(profile: str) -> None:
    for key, entries in unreachable_elements(profile).items():
        for element, reason in entries.items():
            assert element in category(key, profile).elements
            assert reason


def test_unreachable_rejects_unknown_elements(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "unreachable.yaml"
    bad.write_text("openai:\n  stream_events:\n    response.bogus: because\n", encoding="utf-8")
    monkeypatch.setattr(unreachable_mod, "UNREACHABLE_PATH", bad)
    unreachable_mod.unreachable_elements.cache_clear()
    try:
        with pytest.raises(ValueError, match="response.bogus"):
            unreachable_mod.unreachable_elements("openai")
        bad.write_text("openai:\n  stream_events:\n    response.audio.delta: ''\n", encoding="utf-8")
        unreachable_mod.unreachable_elements.cache_clear()
        with pytest.raises(ValueError, match="reason is required"):
            unreachable_mod.unreachable_elements("openai")
    finally:
        unreachable_mod.unreachable_elements.cache_clear()
