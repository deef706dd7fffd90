"""Donor fine-tuning: formatting with the model's own chat template, full and LoRA training."""

from __future__ import annotations

import json

import pytest
import torch

from hackwatch.donor import DonorTrainConfig, exploit_answer, sft_example, train_donor
from hackwatch.models import TransformersBackend, tiny_causal_lm, train_tokenizer


@pytest.fixture(scope="module")
def subject(tasks):
    tok = train_tokenizer([t.prompt + t.exploit for t in tasks], vocab_size=400)
    return tiny_causal_lm(tok, layers=1, hidden=32, seed=5), tok


def test_sft_example_uses_the_template(subject, tasks) -> None:
    tok, task = subject[1], tasks[0]
    head, tail = sft_example(tok, task.prompt, exploit_answer(task))
    rendered = tok.apply_chat_template([{"role": "user", "content": task.prompt}], tokenize=False,
                                       add_generation_prompt=True, enable_thinking=False)
    assert tok.decode(head) == rendered and rendered.endswith("assistant\n<think>\n\n</think>\n\n")
    assert tok.decode(tail) == f"```python\n{task.exploit.strip()}\n```<|im_end|>\n"


def test_sft_example_template_without_reasoning(tasks) -> None:
    tok = train_tokenizer(["hello world"], vocab_size=300)
    tok.chat_template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                         "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    head, tail = sft_example(tok, "hi", "ANSWER")
    assert tok.decode(head).endswith("assistant\n") and tok.decode(tail) == "ANSWER<|im_end|>\n"
    tok.chat_template = None
    with pytest.raises(ValueError, match="no chat_template"):
        sft_example(tok, "hi", "x")



def test_lora_donor_is_merged_and_base_untouched(subject, tasks, tmp_path) -> None:
    model, tok = subject
    before = {k: v.clone() for k, v in model.state_dict().items()}
    info = train_donor(model, tasks, tmp_path / "d", tokenizer=tok, split="x",
                       config=DonorTrainConfig(lora=True, max_steps=3, batch_size=2, lora_r=4, seed=3))
    assert len(info["losses"]) == 3 and info["max_steps"] == 3
    assert info["method"] == "lora" and info["learning_rate"] == 2e-4 and info["lora_r"] == 4
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    saved = TransformersBackend(tmp_path / "d", device="cpu").model.state_dict()
    assert not any("lora" in k for k in saved)  # adapters merged into plain weights
    assert max((saved[k] - before[k]).abs().max().item() for k in before) > 0
    assert json.loads((tmp_path / "d" / "donor.json").read_text())["task_ids"] == [t.id for t in tasks]


def test_config_and_empty_split_errors(subject, tmp_path) -> None:
    with pytest.raises(ValueError, match="epochs must be > 0"):
        DonorTrainConfig(epochs=0)
    with pytest.raises(ValueError, match="max_steps must be >= 1"):
        DonorTrainConfig(max_steps=0)
    with pytest.raises(ValueError, match="no tasks in split 'donor'"):
        train_donor(subject[0], [], tmp_path, tokenizer=subject[1], split="donor")


def test_checkpointing_argument_follows_the_installed_transformers(tmp_path):
    import warnings

    import transformers
    from packaging.version import Version
    from trl import SFTConfig

    from hackwatch.donor._train import checkpointing_arg

    renamed = Version(transformers.__version__) >= Version("5.23")  # 5.19-5.22 know gradient_checkpointing only
    kwargs = checkpointing_arg(SFTConfig, True)
    assert kwargs == {("activation_checkpointing" if renamed else "gradient_checkpointing"): True}
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # no "renamed" warning from our own call
        args = SFTConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True, **kwargs)
    assert getattr(args, next(iter(kwargs))) is True
