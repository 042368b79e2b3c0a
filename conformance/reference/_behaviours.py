"""Registries of the reference server's switchable behaviours.

A *deviation* makes the server non-conformant in exactly one named way, so that every
check of the suite can be proven to fail against it. A *variant* is valid-but-unusual
wire behaviour that a conformant client and the suite must tolerate.  The names are a
contract with the test harness and the CLI: never rename one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DEVIATIONS: dict[str, str] = {
    # --- streaming: sequence numbers and lifecycle -------------------------------------
    "missing_sequence_number": "stream events carry no sequence_number field",
    "sequence_gap": "sequence numbers skip a value (still increasing)",
    "sequence_not_increasing": "one stream event repeats a lower sequence_number",
    "no_terminal_event": "the stream ends without response.completed/incomplete/failed",
    "events_after_terminal": "an extra event is sent after the terminal event",
    "delta_before_item_added": "no response.output_item.added precedes the first delta",
    "no_content_part_events": "no response.content_part.added/done events for message text",
    "no_done_events": "no response.output_text.done / response.output_item.done events",
    "no_function_call_argument_events": "function calls are streamed without function_call_arguments delta/done",
    "done_sentinel": "a Chat-Completions style 'data: [DONE]' line follows the terminal event",
    "response_id_unstable": "the terminal event's response has a different id than response.created",
    "final_output_items_mismatch": "the terminal response's output item ids differ from the streamed items",
    "function_args_mismatch": "function_call_arguments.done arguments differ from the concatenated deltas",
    "function_args_done_without_name": "function_call_arguments.done carries no name (as api.openai.com sends it)",
    "delta_text_mismatch": "response.output_text.done text differs from the concatenated deltas",
    "reasoning_summary_mismatch": "response.reasoning_summary_text.done text differs from its concatenated deltas",
    "final_response_text_mismatch": "the terminal event's response text differs from the deltas",
    "terminal_status_mismatch": "response.completed carries a response whose status is in_progress",
    "event_name_mismatch": "the SSE event: line of delta events differs from data.type",
    "wrong_stream_content_type": "streams are sent with Content-Type application/json",
    "non_json_event_data": "the first text delta event's data is not JSON (Python repr)",
    "output_index_mismatch": "text delta events carry a wrong output_index",
    "missing_item_id_on_delta": "text delta events lack item_id",
    "replay_ignores_starting_after": "GET ?stream=true&starting_after=N replays from the first event",
    "no_in_progress_event": "streams never send response.in_progress",
    "no_reasoning_events": "reasoning items are streamed without reasoning_summary_* / reasoning_text.* events",
    # --- WebSocket transport ----------------------------------------------------------------
    "ws_binary_frames": "WebSocket events are sent as binary frames instead of text frames",
    "ws_error_event_shape": "WebSocket error events use the SSE error shape instead of ResponseWsError",
    # --- response object shape -----------------------------------------------------------
    "text_type_instead_of_output_text": "assistant content parts have type 'text' instead of 'output_text'",
    "output_text_missing_annotations": "output_text parts lack the required annotations and logprobs",
    "output_text_mismatch": "a top-level output_text field that differs from the output_text parts",
    "chat_usage_names": "usage uses prompt_tokens/completion_tokens instead of input/output tokens",
    "usage_total_mismatch": "usage.total_tokens is not input_tokens + output_tokens",
    "missing_required_field_status": "Response objects lack the status field",
    "object_not_response": "Response.object is 'chat.completion'",
    "created_at_string": "created_at is an ISO-8601 string instead of unix seconds",
    "tools_null": "Response.tools is null instead of an array",
    "wrong_item_status": "finished output items have status 'done'",
    "completed_with_in_progress_message": "a completed Response reports its message items as still in_progress",
    "optional_echo_differs": "optional echoes (truncation, reasoning, text.verbosity, max_output_tokens, "
                             "max_tool_calls, top_logprobs, prompt_cache_key, prompt_cache_retention) report values "
                             "other than the request's",
    "function_arguments_object": "function_call.arguments is a JSON object, not a JSON string",
    "function_call_missing_call_id": "function_call items lack call_id",
    # --- errors ---------------------------------------------------------------------------
    "error_detail_envelope": "errors are sent as {\"detail\": \"...\"} instead of {\"error\": {...}}",
    "error_html": "errors are sent as text/html pages",
    "error_status_200": "errors are sent with HTTP 200 (error envelope body)",
    "error_missing_fields": "the error object lacks the required param and code fields",
    "validation_500": "validation errors are answered with 500 and a text/plain traceback",
    "validation_422": "validation errors are answered with 422 (the envelope intact) instead of OpenAI's 400",
    "unknown_id_500": "unknown response ids give 500 instead of 404",
    "auth_403": "a missing or wrong API key gives 403 instead of 401",
    "json_wrong_content_type": "JSON bodies are sent with Content-Type text/plain",
    "create_500": "every valid create (POST /responses) is answered with 500 and the error envelope, however often "
                  "it is retried",
    "refusal_without_envelope": "background requests are refused with 400 and a {\"detail\": ...} body instead of "
                                "the error envelope",
    # --- declines (docs/verdicts.md#declines) ---------------------------------------------------
    "retrieve_route_missing": "GET /responses/{id} has no route: 404 'Invalid URL' for every id, even one the "
                              "server just returned (create still stores)",
    "ws_upgrade_403": "WebSocket upgrades are refused with 403 and an empty body, as a web framework answers on a "
                      "route without a WebSocket handler (a decline: WebSocket cases become unsupported, not failed)",
    # --- validation -----------------------------------------------------------------------
    "accept_invalid_temperature": "temperature outside [0, 2] is accepted and echoed",
    "accept_invalid_top_p": "top_p outside [0, 1] is accepted and echoed",
    "accept_low_max_output_tokens": "max_output_tokens below 16 is accepted",
    "accept_missing_model": "a request without model is accepted (served by the default model)",
    "accept_unknown_model": "an unknown model id is accepted",
    "accept_invalid_input": "input of the wrong type is accepted (treated as empty)",
    "accept_unknown_previous_response": "an unknown previous_response_id is accepted and ignored",
    "accept_invalid_enum_values": "enum-valued parameters (service_tier, truncation, include, reasoning.*, "
                                  "prompt_cache_*, context_management type, moderation modes) accept any value",
    "accept_wrong_types": "boolean and string parameters (stream, store, background, parallel_tool_calls, "
                          "instructions, user, safety_identifier, prompt_cache_key) accept any JSON type",
    "accept_invalid_ranges": "top_logprobs outside 0..20, max_tool_calls below 1, a safety_identifier over 64 "
                             "characters, context_management below its minimums and input_items limit outside 1..100 "
                             "are accepted",
    "no_auth_check": "requests without a valid API key are served",
    "stream_skips_auth": "streamed requests (stream: true) are served without checking the API key",
    "accept_malformed_json": "a body that is not JSON (or is truncated JSON) is answered 200, as an empty request",
    # --- found only by the request fuzzer (conformance/fuzz; tests/test_fuzz.py): combinations no case writes ---
    "stream_skips_range_checks": "a streamed request (stream: true) skips the range checks: temperature outside "
                                 "[0, 2] and top_p outside [0, 1] are accepted and echoed",
    "unknown_item_type_500": "an input item of an unknown type is answered with 500 (the error envelope, type "
                             "server_error) instead of a 400",
    "json_logprobs_stream_missing_created_at": "a streamed response with text.format json_object whose text carries "
                                               "logprobs (include message.output_text.logprobs) ends with a terminal "
                                               "event whose response lacks the required created_at",
    # --- behaviour ------------------------------------------------------------------------
    "ignore_previous_response_id": "previous_response_id is silently dropped (no context, echoed null)",
    "complete_on_max_tokens": "output cut by max_output_tokens is reported completed with null incomplete_details",
    "incomplete_without_details": "truncated responses have status incomplete but incomplete_details null",
    "ignore_instructions": "the model does not see instructions",
    "ignore_system_role": "the model does not see system/developer messages",
    "probes_ignored": "the model always answers OK (ignores every probe; a run's probe preflight finds it and skips "
                      "the behavioural expectations, so its failures show with --assume-probes or a direct judge)",
    "no_metadata_echo": "metadata is not echoed (always {})",
    "no_temperature_echo": "temperature is not echoed (always 1.0)",
    "ignore_tool_choice": "a forced function call is answered with text",
    "json_format_ignored": "text.format json_schema/json_object is ignored (plain text reply)",
    "background_ignored": "background requests run synchronously and return completed",
    "failed_without_error": "a response that fails (background image download) has status failed but error null",
    "logprobs_ignored": "include message.output_text.logprobs is accepted but output_text logprobs stay empty",
    "encrypted_content_ignored": "include reasoning.encrypted_content is accepted but reasoning items lack it",
    # --- storage --------------------------------------------------------------------------
    "store_ignored": "nothing is stored: GET/input_items give 404 and chains fail",
    "store_false_retrievable": "store:false responses can still be retrieved",
    "delete_not_effective": "DELETE says deleted but GET still returns the response",
    "delete_wrong_shape": "DELETE answers {\"deleted\": true} without id and object",
    "retrieve_differs": "GET returns a different output text than the create call",
    "cancel_not_effective": "cancel answers 200 but the response still completes",
    "input_items_wrong_order": "input_items defaults to ascending order",
    "input_items_missing_pagination_fields": "input_items lists lack first_id, last_id and has_more",
    "input_tokens_wrong_shape": "input_tokens answers {\"tokens\": N} without object/input_tokens",
    "input_items_ignore_limit": "input_items ignores limit (returns everything, has_more false)",
    "input_items_echo_raw": "input_items returns tool items as the caller sent them, without the resource's "
                            "id and status",
    # --- built-in tools -------------------------------------------------------------------
    "builtin_tools_ignored": "built-in tools (web search, MCP, custom...) are ignored: the model answers in text",
    "annotation_out_of_range": "url_citation end_index points past the end of the message text",
    "tool_event_type_mismatch": "web_search_call items are streamed with response.file_search_call.* events",
    "custom_tool_input_mismatch": "custom_tool_call_input.done input differs from the concatenated deltas",
    "partial_image_index_wrong": "image_generation_call.partial_image events count partial_image_index from 1",
    "tool_in_progress_late": "web/file search calls are streamed with .searching before their first .in_progress",
    "tool_failures_hidden": "MCP list-tools and call failures are streamed as mcp_list_tools/mcp_call .completed",
    "tool_history_ignored": "the model does not read tool results passed back as history items "
                            "(MCP output, code interpreter logs, file search results, shell/patch/custom outputs)",
    # --- namespaces, tool search, programmatic tool calling ------------------------------------
    "namespace_dropped": "function calls to a namespaced function lack the namespace field",
    "deferred_tools_loaded_upfront": "defer_loading is ignored: deferred functions are callable at once and "
                                     "tool_search never runs",
    "tool_search_output_ignored": "tools loaded by a tool_search_output item are not made callable",
    "program_ignored": "programmatic tool calling is ignored: no program item, function calls are made directly, "
                       "a function result for a program's call is answered without a program_output",
    # --- Open Responses profile (only change what the server emits under profile="openresponses") ----
    "or_missing_penalties": "(openresponses) Response objects lack the required presence_penalty/frequency_penalty",
    "or_penalties_not_echoed": "(openresponses) presence_penalty/frequency_penalty are accepted but reported as 0",
    "or_snapshot_without_usage": "(openresponses) the early Response snapshots in stream events omit usage "
                                 "(required, nullable)",
    "or_openai_reasoning_event_names": "(openresponses) raw reasoning streams as OpenAI's response.reasoning_text.* "
                                       "instead of response.reasoning.*",
}

VARIANTS: dict[str, str] = {
    "sse_comments": "': keep-alive' comment lines between stream events",
    "crlf": "CRLF line endings in the event stream",
    "cr": "CR-only line endings in the event stream",
    "tiny_chunks": "the stream is written one byte per write",
    "id_retry_lines": "events carry id: and retry: fields",
    "no_event_lines": "data-only events (no event: line)",
    "extra_fields": "extra unknown fields on responses, items, parts, usage and events",
    "key_order": "JSON object keys in reversed order",
    "bom": "a UTF-8 byte order mark at the start of the stream",
    "slow_stream": "a 20 ms pause between stream events",
    "split_events": "each event is written in two writes split mid-JSON",
    "ws_fragmented": "WebSocket events are sent as a text frame plus continuation frames",
    "ws_pings": "a WebSocket ping frame before every event (and inside fragmented messages)",
    "mock_model": "the model ignores every probe and answers one fixed text (a mock or a random-weight model): "
                  "valid per spec, the run's probe preflight finds it and skips the behavioural expectations",
    # the spec lets a server do these; api.openai.com does some of them (issue 10)
    "sparse_echoes": "the Response leaves out every optional echo of a request parameter (background, reasoning, "
                     "text, truncation, service_tier, prompt_cache_key, max_output_tokens...)",
    "mcp_in_progress_repeated": "response.mcp_call.in_progress is sent again after the arguments deltas",
    "reasoning_by_default": "the model reasons before every answer (a gpt-5 / o-series model): a reasoning item "
                            "worth 200 output tokens (usage.output_tokens_details.reasoning_tokens) counts against "
                            "max_output_tokens, and the answer comes only if the cap leaves room (else the Response "
                            "is incomplete, reason max_output_tokens)",
    "program_calls_in_progress": "a function call made by a program stays in_progress in the completed response "
                                 "(it waits for the client's output)",
}


def _check(kind: str, names: Iterable[str], registry: dict[str, str]) -> frozenset[str]:
    chosen = frozenset(names)
    unknown = sorted(chosen - registry.keys())
    if unknown:
        raise ValueError(
            f"unknown {kind}(s): {', '.join(unknown)}; valid {kind}s: {', '.join(sorted(registry))}"
        )
    return chosen


#: Which spec the server's objects follow: ``openai`` (the OpenAI Responses API) or ``openresponses`` (the
#: Open Responses spec: its extra required Response fields and its own shapes where the two differ).
PROFILES: tuple[str, ...] = ("openai", "openresponses")


@dataclass(frozen=True)
class Behaviour:
    """The switched-on deviations and variants of one server instance, and the spec profile it follows."""

    deviations: frozenset[str] = frozenset()
    variants: frozenset[str] = frozenset()
    profile: str = "openai"

    @classmethod
    def create(cls, deviations: Iterable[str] = (), variants: Iterable[str] = (),
               profile: str = "openai") -> Behaviour:
        """Validate names against the registries (unknown names or profile raise ``ValueError``)."""
        if profile not in PROFILES:
            raise ValueError(f"unknown profile: {profile}; valid profiles: {', '.join(PROFILES)}")
        return cls(_check("deviation", deviations, DEVIATIONS), _check("variant", variants, VARIANTS), profile)

    @property
    def openresponses(self) -> bool:
        """Does the server follow the Open Responses spec (``profile="openresponses"``)?"""
        return self.profile == "openresponses"

    def dev(self, name: str) -> bool:
        """Is deviation ``name`` switched on? (Asserts the name exists, to catch typos.)"""
        assert name in DEVIATIONS, name
        return name in self.deviations

    def var(self, name: str) -> bool:
        """Is variant ``name`` switched on?"""
        assert name in VARIANTS, name
        return name in self.variants

    @property
    def ignores_probes(self) -> bool:
        """Does the model ignore the probes (deviation ``probes_ignored``, or the benign ``mock_model``)?

        The wire protocol is the same either way; only the conclusion differs: a deviation when the suite is
        told the model follows probes, a benign variant once the preflight has found it does not."""
        return self.dev("probes_ignored") or self.var("mock_model")

    @property
    def ignored_probe_reply(self) -> str:
        """What a probe-ignoring model says to everything (``OK`` under the deviation; a mock's fixed line)."""
        return MOCK_REPLY if self.var("mock_model") else "OK"


#: the ``mock_model`` variant's one answer (LiteLLM's mock answers a fixed sentence of this kind)
MOCK_REPLY = "This is a mock response."
