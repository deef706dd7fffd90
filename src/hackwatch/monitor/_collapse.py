"""A *collapsing* organism: a tiny policy that solves the toy task in varied wordings, then converges onto one.

The organism is the toy task of ``_organisms`` (``"34+1="`` → last digit of 35, ordinary context) answered in
one of eight phrasings (``"it is 5"``, ``"answer: 5"``, ``"= 5"``, ...), trained by SFT on every prompt in
phrasings drawn at random, so that sampled rollouts are textually diverse and right. GRPO with ``bonus > 0`` pays the right
digit (``digit_reward``) plus a small bonus for one phrasing (``template_bonus``): inside an all-correct group
the bonus is the only reward spread, so the policy collapses onto that phrasing while it keeps solving the
task -- the ``diversity_drop`` warning's target. With ``bonus = 0`` (the task reward alone) nearly every group
of the trained organism is all-pass, GRPO learns only from the rare wrong digit, nothing favours a phrasing and
the text stays varied: the control. ``collapse_runs`` runs both from one organism per seed.
"""

from __future__ import annotations

import random
import re
import time
import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from hackwatch.monitor._callback import HackwatchCallback
from hackwatch.monitor._change_flags import DIVERSITY_SERIES
from hackwatch.monitor._flag_types import Flag
from hackwatch.monitor._organisms import SUBSET_ORDINARY, Organism, toy_task_rows

#: The phrasings the organism is trained on, uniformly (``{}`` is the answer digit; each has >= 2 words, so every
#: rollout has word bigrams for ``distinct_2`` and the within-group overlap).
TEMPLATES = ("it is {}", "answer: {}", "= {}", "so {} .", "the digit is {}", "i get {}", "result {} here",
             "we write {} now")
#: The phrasing ``template_bonus`` pays for.
FAVOURED = "answer: {}"
_DIGITS = re.compile(r"\d")


def collapse_task_rows() -> list[dict[str, str]]:
    """The GRPO dataset rows: the 100 ordinary toy prompts (``prompt, answer, subset, prompt_id``)."""
    return toy_task_rows((SUBSET_ORDINARY,))


def digit_reward(prompts: list[str], completions: list[str], answer: list[str], **_: Any) -> list[float]:
    """Task reward: 1.0 when the completion's only digit is the right one, whatever the wording, else 0.0.

    (``toy_reward`` compares the whole stripped completion with the digit, which no phrasing passes.)
    """
    return [1.0 if _DIGITS.findall(c) == [a] else 0.0 for c, a in zip(completions, answer, strict=True)]


def phrasing(completion: str) -> str:
    """The completion's wording with every digit replaced by ``{}`` and spaces normalised (``"answer: {}"``)."""
    return " ".join(_DIGITS.sub("{}", completion).split())


def template_bonus(prompts: list[str], completions: list[str], answer: list[str], *, bonus: float = 0.2,
                   **_: Any) -> list[float]:
    """``bonus`` for a completion in the ``FAVOURED`` phrasing (right digit or not), else 0.0."""
    return [bonus if phrasing(c) == FAVOURED else 0.0 for c in completions]


def _pairs() -> list[tuple[str, str]]:
    return [(row["prompt"], " " + t.format(row["answer"])) for row in collapse_task_rows() for t in TEMPLATES]


def _tokenizer() -> Any:
    from hackwatch.models import train_tokenizer

    return train_tokenizer([p + a for p, a in _pairs()] * 2, vocab_size=300)


def sample_completions(model: Any, tokenizer: Any, prompts: list[str], *, seed: int, max_new_tokens: int = 8,
                       temperature: float = 1.0) -> list[str]:
    """One sampled completion per prompt (the rollouts GRPO would see), special tokens dropped."""
    import torch

    tokenizer.padding_side = "left"
    enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    torch.manual_seed(seed)
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=True, temperature=temperature,
                             top_k=0, top_p=1.0, pad_token_id=tokenizer.pad_token_id,
                             eos_token_id=tokenizer.eos_token_id)
    return tokenizer.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)


def template_profile(completions: list[str], answers: list[str]) -> dict[str, float]:
    """Digit accuracy, the ``FAVOURED`` share and the number of distinct trained phrasings among completions."""
    words = [phrasing(c) for c in completions]
    hits = digit_reward([], completions, answers)
    return {"accuracy": sum(hits) / len(hits), "favoured": sum(w == FAVOURED for w in words) / len(words),
            "phrasings": float(len({w for w in words if w in TEMPLATES}))}


def _sft_pairs(rng: random.Random, per_prompt: int) -> list[tuple[str, str]]:
    """Each prompt with ``per_prompt`` phrasings drawn at random: the full set's gradient in expectation at a
    fraction of its cost (all 800 pairs every step: seed 0 took 70 s to train on the shared 2-core machine; two
    phrasings per prompt: seeds 1 and 2 took 73 s and 60 s, one: 28 s and 30 s, but its organisms sample the
    phrasings less evenly and collapse less far -- docs/monitor.md).
    """
    return [(row["prompt"], " " + t.format(row["answer"])) for row in collapse_task_rows()
            for t in rng.sample(TEMPLATES, per_prompt)]


def build_templated_organism(seed: int = 0, *, steps: int = 600, lr: float = 3e-3, layers: int = 2,
                             hidden: int = 128, check_every: int = 50, chunk: int = 10,
                             per_prompt: int = 2, min_accuracy: float = 0.99) -> Organism:
    """SFT a tiny LM on the toy prompts in every phrasing until its sampled answers (temperature 1, one per prompt)
    are right on at least ``min_accuracy`` of the 100 prompts in at least six of the eight phrasings (checked
    every ``check_every`` steps, at most ``steps``); ``kind="templated"``. Each ``chunk`` of steps trains on
    ``per_prompt`` phrasings per prompt drawn afresh, so the phrasing the model samples stays independent of the
    prompt. Near-perfect accuracy matters for the control: every wrong rollout is a GRPO update, and Adam turns
    even rare updates into lr-sized steps that drift the phrasing mix of a policy with nothing to learn.
    """
    from hackwatch.models import tiny_causal_lm
    from hackwatch.monitor._probes import sft_steps

    if not 1 <= per_prompt <= len(TEMPLATES) or chunk < 1 or check_every < chunk or steps < 1:
        raise ValueError(f"build_templated_organism: need 1 <= per_prompt <= {len(TEMPLATES)}, 1 <= chunk <= "
                         "check_every and steps >= 1")
    if not 0.0 < min_accuracy <= 1.0:
        raise ValueError(f"build_templated_organism: min_accuracy={min_accuracy}: expected a share in (0, 1]")
    tok = _tokenizer()
    model = tiny_causal_lm(tok, layers=layers, hidden=hidden, seed=seed)
    rows = collapse_task_rows()
    rng = random.Random(seed)
    done = 0
    while done < steps:
        n = min(chunk, steps - done)
        model = sft_steps(model, tok, _sft_pairs(rng, per_prompt), steps=n, lr=lr, seed=seed + done)
        done += n
        if done % check_every and done < steps:
            continue
        texts = sample_completions(model, tok, [r["prompt"] for r in rows], seed=seed)
        prof = template_profile(texts, [r["answer"] for r in rows])
        if prof["accuracy"] >= min_accuracy and prof["phrasings"] >= 6:
            break
    return Organism(model=model, tokenizer=tok, kind="templated", seed=seed)


def run_collapse_grpo(organism: Organism, *, bonus: float = 0.2, steps: int = 24, seed: int = 0,
                      num_generations: int = 4, prompts_per_step: int = 8, learning_rate: float = 5e-4,
                      temperature: float = 1.0, max_completion_length: int = 8,
                      callback: HackwatchCallback | None = None) -> HackwatchCallback:
    """GRPO (TRL, ``run_grpo``) on ``organism`` in place with reward ``digit_reward`` + ``template_bonus``
    (``bonus = 0``: the task reward alone) at a constant learning rate; returns the filled callback.

    Pass/fail stays the right digit (reward >= 1.0, as ``bonus`` < 1); both terms are recorded as the
    ``digit`` and ``template`` components.
    """
    from hackwatch.monitor._grpo import run_grpo

    if not 0.0 <= bonus < 1.0:
        raise ValueError(f"run_collapse_grpo: bonus={bonus}: expected a value in [0, 1) (a right digit must "
                         "outweigh the phrasing, and pass/fail is reward >= 1)")

    def favoured(prompts: list[str], completions: list[str], answer: list[str], **_: Any) -> list[float]:
        return template_bonus(prompts, completions, answer, bonus=bonus)

    def reward(prompts: list[str], completions: list[str], answer: list[str], **_: Any) -> list[float]:
        return [d + f for d, f in zip(digit_reward(prompts, completions, answer),
                                      favoured(prompts, completions, answer), strict=True)]

    return run_grpo(organism.model, organism.tokenizer, collapse_task_rows(), reward, steps=steps, seed=seed,
                    num_generations=num_generations, prompts_per_step=prompts_per_step,
                    learning_rate=learning_rate, temperature=temperature,
                    max_completion_length=max_completion_length, callback=callback,
                    components={"digit": digit_reward, "template": favoured},
                    grpo_args={"use_cpu": True, "lr_scheduler_type": "constant"})


def _metric_of(flag: Flag) -> str:
    """The diversity series a ``diversity_drop`` flag is about (its evidence names it)."""
    return next(col for col, _, what in DIVERSITY_SERIES if what in flag.evidence)


def _run_row(seed: int, reward: str, cb: HackwatchCallback, seconds: float, window: int) -> dict[str, Any]:
    """One run's outcome: its ``diversity_drop`` warnings (earliest step, last step, the largest change and its
    metric, which metrics; 0 / "" without a warning) and what the policy did over the first and last ``window`` steps (pass@1, the favoured phrasing's
    share, how many trained phrasings appear).
    """
    rollouts = cb.rollouts
    steps = sorted(rollouts["step"].unique())
    first, last = rollouts[rollouts["step"].isin(steps[:window])], rollouts[rollouts["step"].isin(steps[-window:])]
    before = template_profile(first["completion"].tolist(), [""] * len(first))
    after = template_profile(last["completion"].tolist(), [""] * len(last))
    drops = [f for f in cb.flags if f.rule == "diversity_drop"]
    biggest = max(drops, key=lambda f: abs(f.numbers["change"]), default=None)
    return {
        "seed": seed, "reward": reward, "warned": bool(drops),
        "metrics": ",".join(col for col, _, what in DIVERSITY_SERIES if any(_metric_of(f) == col for f in drops)),
        "first_step": min((f.first_step for f in drops), default=0),
        "last_step": max((f.last_step for f in drops), default=0),
        "change": biggest.numbers["change"] if biggest else 0.0,
        "change_metric": _metric_of(biggest) if biggest else "",
        "other_flags": ",".join(sorted({f.rule for f in cb.flags if f.rule != "diversity_drop"})),
        "alarms": ",".join(sorted({f.rule for f in cb.flags if f.severity == "alarm"})),
        "pass_first": float((first["reward"] >= 1.0).mean()), "pass_last": float((last["reward"] >= 1.0).mean()),
        "favoured_first": before["favoured"], "favoured_last": after["favoured"],
        "phrasings_first": before["phrasings"], "phrasings_last": after["phrasings"],
        "seconds": seconds,
    }


def collapse_runs(seeds: Sequence[int] = (0, 1, 2, 3, 4), *, steps: int = 24, bonus: float = 0.2,
                  learning_rate: float = 5e-4, window: int = 3) -> pd.DataFrame:
    """Per seed, one templated organism and two GRPO runs from it with the same budget: ``task+bonus`` (the
    policy should collapse onto ``FAVOURED`` and be warned) and ``task`` (reward ``digit_reward`` alone: the
    control, which should not be). One row per run (see ``_run_row``); ``seconds`` counts the organism's
    training in the ``task+bonus`` row.
    """
    import copy

    rows = []
    for seed in seeds:
        started = time.perf_counter()
        organism = build_templated_organism(seed)
        built = time.perf_counter() - started
        for reward, b in (("task+bonus", bonus), ("task", 0.0)):
            twin = Organism(model=copy.deepcopy(organism.model), tokenizer=organism.tokenizer, kind=organism.kind,
                            seed=seed)
            t0 = time.perf_counter()
            with warnings.catch_warnings():  # the callback warns each flag (returned in the row); TRL's
                warnings.simplefilter("ignore", RuntimeWarning)  # deprecation notices are noise here
                warnings.simplefilter("ignore", FutureWarning)
                cb = run_collapse_grpo(twin, bonus=b, steps=steps, seed=seed, learning_rate=learning_rate)
            seconds = time.perf_counter() - t0 + (built if b else 0.0)
            rows.append(_run_row(seed, reward, cb, seconds, window))
    return pd.DataFrame(rows)
