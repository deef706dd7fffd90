r"""Chat formats: where the reasoning section opens and closes, detected from the model's own template.

Two families are supported out of the box:

* ``think`` — Qwen3 / DeepSeek-R1: the assistant writes ``<think>\n … </think>`` then the answer. Some
  templates already end the generation prompt with ``<think>\n``; others do not, and then the opening is
  appended *as tokens* so that a forced prefix sits inside the reasoning.
* ``channel`` — gpt-oss harmony: ``<|channel|>analysis<|message|> … <|end|>`` then
  ``<|start|>assistant<|channel|>final<|message|> …``.

Any other layout is a user-supplied :class:`ChatFormat`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


@dataclass(frozen=True)
class ChatFormat:
    """Reasoning-section markers of a chat format (text; matched as token ids when splitting output)."""

    name: str
    """Short name: ``think``, ``channel`` or anything for a custom format."""
    reasoning_open: str
    """Text that opens the reasoning section; the forced prefix goes right after it."""
    reasoning_close: str
    """Text that closes the reasoning section."""
    final_open: str = ""
    """Text between the close marker and the answer that is not part of the answer (harmony's final header)."""
    template_kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Extra keyword arguments for ``apply_chat_template`` (e.g. ``{"enable_thinking": True}``)."""

    def __post_init__(self) -> None:
        if self.reasoning_open and not self.reasoning_close:
            raise ValueError(f"ChatFormat {self.name!r}: reasoning_close is empty; give the marker that ends "
                             "the reasoning section (e.g. '</think>')")


THINK = ChatFormat("think", "<think>\n", "</think>")
CHANNEL = ChatFormat("channel", "<|channel|>analysis<|message|>", "<|end|>",
                     final_open="<|channel|>final<|message|>")
FORMATS = {"think": THINK, "channel": CHANNEL}


def detect_chat_format(tokenizer: PreTrainedTokenizerBase) -> ChatFormat:
    """Pick the reasoning format from the tokenizer's vocabulary and chat template; raise if none fits."""
    template = str(getattr(tokenizer, "chat_template", None) or "")
    vocab = tokenizer.get_vocab()
    if "<|channel|>" in vocab or "<|channel|>" in template:
        return CHANNEL
    if "<think>" in vocab or "<think>" in template:
        return THINK
    raise ValueError("cannot detect the reasoning section of this model's chat template (no <think> or "
                     "<|channel|> token); pass chat_format=ChatFormat(name, reasoning_open, reasoning_close) "
                     "or --chat-format think|channel")


def resolve_chat_format(tokenizer: PreTrainedTokenizerBase, chat_format: ChatFormat | str | None) -> ChatFormat:
    """A user override (object or name) or the detected format."""
    if chat_format is None:
        return detect_chat_format(tokenizer)
    if isinstance(chat_format, ChatFormat):
        return chat_format
    if chat_format not in FORMATS:
        raise ValueError(f"unknown chat format {chat_format!r}; expected one of {sorted(FORMATS)}")
    return FORMATS[chat_format]


def render_prompt_ids(tokenizer: PreTrainedTokenizerBase, fmt: ChatFormat, prompt: str) -> tuple[int, ...]:
    """Token ids of the rendered chat prompt, ending exactly at the opening of the reasoning section.

    Whatever part of ``fmt.reasoning_open`` the template's generation prompt does not already end with
    is appended as separately encoded tokens, so the opening is never merged with the template text.
    """
    if getattr(tokenizer, "chat_template", None) is None:
        raise ValueError("the tokenizer has no chat_template; hackwatch uses the model's own template — "
                         "set tokenizer.chat_template or use a tokenizer that ships one")
    text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                         add_generation_prompt=True, **dict(fmt.template_kwargs))
    ids = list(tokenizer.encode(text, add_special_tokens=False))
    opening = fmt.reasoning_open
    done = 0
    for k in range(len(opening), 0, -1):
        if text.endswith(opening[:k]):
            done = k
            break
    rest = opening[done:]
    if rest:
        ids.extend(tokenizer.encode(rest, add_special_tokens=False))
    return tuple(ids)


def find_subsequence(ids: Sequence[int], needle: Sequence[int], start: int = 0) -> int:
    """Index of the first occurrence of ``needle`` in ``ids`` at or after ``start``, or -1."""
    n = len(needle)
    if n == 0:
        return -1
    first = needle[0]
    for i in range(start, len(ids) - n + 1):
        if ids[i] == first and tuple(ids[i:i + n]) == tuple(needle):
            return i
    return -1


@dataclass(frozen=True)
class SplitIds:
    """Output ids split at the reasoning section's closing marker."""

    reasoning: tuple[int, ...]
    """Ids before the close marker (all ids when it never appears)."""
    final: tuple[int, ...]
    """Answer ids: after the close marker and the final header, without stop tokens."""
    closed: bool
    """Whether the reasoning section was closed."""


def split_reasoning(ids: Sequence[int], close_ids: Sequence[int], final_open_ids: Sequence[int],
                    stop_ids: Sequence[int]) -> SplitIds:
    """Split prefix+generated ids into reasoning and final answer on token ids (no text re-joining)."""
    ids = tuple(ids)
    stops = set(stop_ids)
    pos = find_subsequence(ids, close_ids) if close_ids else -1
    if pos < 0:
        reasoning = ids
        while reasoning and reasoning[-1] in stops:
            reasoning = reasoning[:-1]
        return SplitIds(reasoning, (), False)
    rest = ids[pos + len(close_ids):]
    if final_open_ids:
        j = find_subsequence(rest, final_open_ids)
        if j >= 0:
            rest = rest[j + len(final_open_ids):]
    cut = next((i for i, t in enumerate(rest) if t in stops), len(rest))
    return SplitIds(ids[:pos], rest[:cut], True)


class TokenizerMixin:
    """Text <-> ids and prompt rendering, identical for every backend (they differ only in the engine)."""

    tokenizer: Any
    chat_format: ChatFormat

    def encode(self, text: str) -> tuple[int, ...]:
        """Token ids of ``text`` with no special tokens added."""
        return tuple(self.tokenizer.encode(text, add_special_tokens=False)) if text else ()

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids`` exactly as the tokenizer decodes them (special tokens kept)."""
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)

    def prompt_ids(self, prompt: str) -> tuple[int, ...]:
        """Rendered chat prompt ending at the opening of the reasoning section."""
        return render_prompt_ids(self.tokenizer, self.chat_format, prompt)
