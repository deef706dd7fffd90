import pytest

from hackwatch.models import (
    CHANNEL,
    THINK,
    ChatFormat,
    detect_chat_format,
    render_prompt_ids,
    train_tokenizer,
)
from hackwatch.models._chat import split_reasoning


def test_detects_both_formats(think_tok, channel_tok):
    assert detect_chat_format(think_tok) == THINK
    assert detect_chat_format(channel_tok) == CHANNEL


def test_think_prompt_ends_with_opening_tokens(think_tok):
    ids = render_prompt_ids(think_tok, THINK, "Write add.")
    text = think_tok.decode(ids)
    assert text == "<|im_start|>user\nWrite add.<|im_end|>\n<|im_start|>assistant\n<think>\n"
    assert think_tok.convert_tokens_to_ids("<think>") in ids[-3:]


def test_template_that_already_opens_reasoning_is_not_doubled(think_tok):
    tok = train_tokenizer(["some text here"], vocab_size=300)
    tok.chat_template = think_tok.chat_template.replace("'<|im_start|>assistant\\n'",
                                                        "'<|im_start|>assistant\\n<think>\\n'")
    ids = render_prompt_ids(tok, THINK, "hi")
    assert tok.decode(ids).endswith("assistant\n<think>\n")
    assert tok.decode(ids).count("<think>") == 1
    partial = ChatFormat("think", "<think>\n", "</think>")
    tok.chat_template = think_tok.chat_template.replace("'<|im_start|>assistant\\n'",
                                                        "'<|im_start|>assistant\\n<think>'")
    assert tok.decode(render_prompt_ids(tok, partial, "hi")).endswith("assistant\n<think>\n")


def test_channel_prompt_opens_analysis_channel(channel_tok):
    ids = render_prompt_ids(channel_tok, CHANNEL, "Write add.")
    assert channel_tok.decode(ids) == ("<|start|>user<|message|>Write add.<|end|>"
                                       "<|start|>assistant<|channel|>analysis<|message|>")


def test_split_on_ids_think(think_tok):
    enc = lambda s: think_tok.encode(s, add_special_tokens=False)  # noqa: E731
    ids = enc("I reason here\n</think>\n\n```python\ndef f(): pass\n```<|im_end|>")
    parts = split_reasoning(ids, enc("</think>"), (), [think_tok.eos_token_id])
    assert parts.closed
    assert think_tok.decode(parts.reasoning) == "I reason here\n"
    assert think_tok.decode(parts.final).strip() == "```python\ndef f(): pass\n```"
    unclosed = split_reasoning(enc("still thinking"), enc("</think>"), (), [think_tok.eos_token_id])
    assert not unclosed.closed and unclosed.final == ()


def test_split_on_ids_channel(channel_tok):
    enc = lambda s: channel_tok.encode(s, add_special_tokens=False)  # noqa: E731
    ids = enc("plan it<|end|><|start|>assistant<|channel|>final<|message|>def f(): pass<|return|>")
    parts = split_reasoning(ids, enc("<|end|>"), enc("<|channel|>final<|message|>"), [channel_tok.eos_token_id])
    assert channel_tok.decode(parts.reasoning) == "plan it"
    assert channel_tok.decode(parts.final) == "def f(): pass"


def test_undetectable_format_names_the_fix():
    tok = train_tokenizer(["plain"], vocab_size=300)
    tok.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    # the tiny tokenizer always has <think>; build one without by removing it from the vocab check
    tok.get_vocab = lambda: {"a": 0}
    with pytest.raises(ValueError, match="chat_format=ChatFormat"):
        detect_chat_format(tok)


def test_close_marker_required():
    with pytest.raises(ValueError, match="reasoning_close"):
        ChatFormat("x", "<r>", "")
