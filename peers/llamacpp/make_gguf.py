#!/usr/bin/env python3
"""Write a tiny random-weight llama-architecture GGUF for the llama.cpp peer (no hub download).

    peers/.venv-llamacpp/bin/python peers/llamacpp/make_gguf.py OUT.gguf

Deterministic (fixed seed, fixed metadata): the same bytes on every machine. ~190 k parameters, F32,
~0.8 MB. It cannot follow any instruction (the providers file declares ``model_behaviour: false``); it only
has to load in llama.cpp and produce valid UTF-8 text of a bounded length, so that the *server* can be
judged:

* tokenizer: SentencePiece-style ("llama" model), every ``<0xNN>`` byte token (byte fallback, so any input
  tokenizes), the printable ASCII characters and "▁x" pairs as normal pieces, and the ChatML control tokens
  ``<|im_start|>`` / ``<|im_end|>`` (EOS).
* chat template: ChatML with Hermes-style tools (``<tools>`` in the system turn, ``<tool_call>{json}</tool_call>``
  replies, ``<tool_response>`` turns), the layout of Qwen2.5's template, so that llama.cpp detects its
  Hermes 2 Pro tool-call format: ``tool_choice: required`` then constrains the reply to a tool call by grammar.
* weights: random, except one constant dimension. Every token embedding has ``BIAS_DIM_VALUE`` in dimension
  0 and no layer writes to it, so after the final RMS norm that dimension is a near-constant, and column 0 of
  the output matrix acts as a per-token logit bias: byte tokens, BOS, ``<|im_start|>`` and the end token
  ``<|im_end|>`` are never sampled unless a grammar leaves nothing else (byte tokens could form invalid
  UTF-8). A free-form reply therefore always runs to its token limit (``max_output_tokens``, else the
  server's ``--n-predict``): the length of every reply is deterministic, only its text is random. The rest
  of each logit is random.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from gguf import GGUFWriter, TokenType

SEED = 20260611
N_EMBD = 64
N_LAYER = 2
N_HEAD = 4
N_HEAD_KV = 4
N_FF = 128
N_CTX_TRAIN = 4096
BIAS_DIM_VALUE = 4.0
NEVER_BIAS = -40.0      # logit bias of tokens that must not be generated (normal pieces have ~0)

CHATML = r"""{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}{%- else %}{{- 'You are a helpful assistant.' }}{%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}{{- "\n" }}{{- tool | tojson }}{%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}{%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}{{- '\n' + message.content }}{%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}{{- tool_call.name }}{{- '", "arguments": ' }}{{- tool_call.arguments | tojson }}{{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}{{- '<|im_start|>user' }}{%- endif %}
        {{- '\n<tool_response>\n' }}{{- message.content }}{{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}{{- '<|im_end|>\n' }}{%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}"""


def vocabulary() -> tuple[list[str], list[float], list[int]]:
    tokens: list[str] = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    types: list[int] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL, TokenType.CONTROL, TokenType.CONTROL]
    scores: list[float] = [0.0] * len(tokens)
    for b in range(256):
        tokens.append(f"<0x{b:02X}>")
        types.append(TokenType.BYTE)
        scores.append(0.0)
    chars = [chr(c) for c in range(0x21, 0x7F)]           # printable ASCII but the space
    pieces = ["▁"] + chars + ["▁" + c for c in chars if c.isalnum()]
    for i, piece in enumerate(pieces):
        tokens.append(piece)
        types.append(TokenType.NORMAL)
        scores.append(-1.0 - i / 1000.0 if len(piece) == 1 else -0.5 - i / 1000.0)  # pairs merge first
    return tokens, scores, types


def write(out: Path) -> None:
    rng = np.random.default_rng(SEED)
    tokens, scores, types = vocabulary()
    n_vocab = len(tokens)
    eos = tokens.index("<|im_end|>")
    bos = tokens.index("<s>")

    w = GGUFWriter(str(out), "llama")
    w.add_name("tiny-random-llama")
    w.add_description("random weights for protocol tests (responses-conformance peers/llamacpp/make_gguf.py)")
    w.add_context_length(N_CTX_TRAIN)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_rope_dimension_count(N_EMBD // N_HEAD)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(n_vocab)
    w.add_file_type(0)  # all F32

    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(bos)
    w.add_eos_token_id(eos)
    w.add_eot_token_id(eos)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(False)
    w.add_chat_template(CHATML)

    def rand(*shape: int, std: float) -> np.ndarray:
        return (rng.standard_normal(shape) * std).astype(np.float32)

    embd = rand(n_vocab, N_EMBD, std=1.0)
    embd[:, 0] = BIAS_DIM_VALUE
    w.add_tensor("token_embd.weight", embd)
    for i in range(N_LAYER):
        # Layer outputs (attn_output, ffn_down rows) never write to dimension 0: it stays constant.
        tensors = {
            "attn_norm": np.ones(N_EMBD, dtype=np.float32),
            "attn_q": rand(N_EMBD, N_EMBD, std=0.1),
            "attn_k": rand(N_EMBD // N_HEAD * N_HEAD_KV, N_EMBD, std=0.1),
            "attn_v": rand(N_EMBD // N_HEAD * N_HEAD_KV, N_EMBD, std=0.1),
            "attn_output": rand(N_EMBD, N_EMBD, std=0.1),
            "ffn_norm": np.ones(N_EMBD, dtype=np.float32),
            "ffn_gate": rand(N_FF, N_EMBD, std=0.1),
            "ffn_up": rand(N_FF, N_EMBD, std=0.1),
            "ffn_down": rand(N_EMBD, N_FF, std=0.1),
        }
        tensors["attn_output"][0, :] = 0.0
        tensors["ffn_down"][0, :] = 0.0
        for name, value in tensors.items():
            w.add_tensor(f"blk.{i}.{name}.weight", value)
    w.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))

    # After the RMS norm, dimension 0 is about BIAS_DIM_VALUE / rms ~ 3.6: column 0 becomes a logit bias.
    output = rand(n_vocab, N_EMBD, std=1.0 / np.sqrt(N_EMBD))
    scale = BIAS_DIM_VALUE / np.sqrt((BIAS_DIM_VALUE**2 + N_EMBD - 1) / N_EMBD)
    bias = np.zeros(n_vocab, dtype=np.float32)
    for t, kind in enumerate(types):
        if kind in (TokenType.BYTE, TokenType.UNKNOWN, TokenType.CONTROL):  # CONTROL: <s>, </s>, ChatML, EOS
            bias[t] = NEVER_BIAS
    output[:, 0] = bias / scale
    w.add_tensor("output.weight", output)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    write(tmp)
    tmp.replace(out)
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
