r"""Tiny real language models built in-process: a locally trained tokenizer and a few-layer causal LM.

Tests, benchmarks and the demo world use these instead of downloading anything. The chat template
mirrors Qwen3's: the generation prompt ends with ``<|im_start|>assistant\n`` and the model writes
``<think>\n…\n</think>\n\n`` followed by its final answer.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|pad|>"]

#: Qwen3-style template: assistant turns may carry ``reasoning_content``; ``enable_thinking=False``
#: emits an empty reasoning section, exactly as Qwen3 does.
CHAT_TEMPLATE = (
    "{%- for m in messages %}"
    "{{- '<|im_start|>' + m['role'] + '\\n' }}"
    "{%- if m['role'] == 'assistant' %}"
    "{%- if m.get('reasoning_content') is not none and m.get('reasoning_content') is defined %}"
    "{{- '<think>\\n' + m['reasoning_content'] + '\\n</think>\\n\\n' }}"
    "{%- endif %}"
    "{%- endif %}"
    "{{- m['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}"
    "{%- endif %}"
    "{%- endif %}"
)

HARMONY_SPECIAL_TOKENS = ["<|endoftext|>", "<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|return|>",
                          "<|pad|>"]

#: gpt-oss-harmony-like template: reasoning in ``<|channel|>analysis<|message|> … <|end|>``, the answer in
#: ``<|start|>assistant<|channel|>final<|message|> … <|return|>``; the generation prompt is
#: ``<|start|>assistant`` (the model — or hackwatch, when prefilling — opens the analysis channel).
HARMONY_CHAT_TEMPLATE = (
    "{%- for m in messages %}"
    "{{- '<|start|>' + m['role'] }}"
    "{%- if m['role'] == 'assistant' and m.get('reasoning_content') %}"
    "{{- '<|channel|>analysis<|message|>' + m['reasoning_content'] + '<|end|><|start|>assistant' }}"
    "{{- '<|channel|>final<|message|>' + m['content'] + '<|return|>' }}"
    "{%- else %}"
    "{{- '<|message|>' + m['content'] + '<|end|>' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|start|>assistant' }}"
    "{%- endif %}"
)

DEFAULT_CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "The function should return the sum of the list. Let me think about edge cases.",
    "```python\ndef solve(x):\n    return sorted(x)\n```",
    "I will check the tests and the verifier before writing the code.",
]


def train_tokenizer(corpus: Iterable[str] | None = None, vocab_size: int = 512, *,
                    chat_format: str = "think") -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer on ``corpus`` (any text round-trips) with chat special tokens.

    ``chat_format="think"`` (default) gives the Qwen3-style template, ``"channel"`` a gpt-oss
    harmony-like one (analysis/final channels, EOS ``<|return|>``).
    """
    if chat_format not in ("think", "channel"):
        raise ValueError(f"train_tokenizer: chat_format must be 'think' or 'channel', got {chat_format!r}")
    harmony = chat_format == "channel"
    specials = HARMONY_SPECIAL_TOKENS if harmony else SPECIAL_TOKENS
    texts = list(corpus) if corpus is not None else list(DEFAULT_CORPUS)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|return|>" if harmony else "<|im_end|>",
        pad_token="<|pad|>",
        bos_token=None,
        unk_token=None,
        additional_special_tokens=([t for t in specials if t not in ("<|return|>", "<|pad|>")] if harmony
                                   else ["<|im_start|>", "<|endoftext|>"]),
    )
    fast.chat_template = HARMONY_CHAT_TEMPLATE if harmony else CHAT_TEMPLATE
    fast.padding_side = "left"
    return fast


def tiny_causal_lm(
    tokenizer: PreTrainedTokenizerFast,
    *,
    layers: int = 2,
    hidden: int = 64,
    heads: int = 4,
    max_positions: int = 1024,
    seed: int = 0,
) -> LlamaForCausalLM:
    """A randomly initialised few-layer Llama-architecture causal LM sized to ``tokenizer``."""
    import torch

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_positions,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = None
    model.eval()
    return model
