"""Sizes of the demo world: every knob of the toy run in one validated dataclass.

``small`` is the test configuration (a few exploit types, few steps, few samples; a few minutes on
a 2-core CPU); ``default`` is what ``hackwatch demo`` runs (about ten minutes on the same machine).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

SIZES = ("small", "default")


@dataclass(frozen=True)
class DemoConfig:
    """Every number the demo world uses; fixed per size, overridable in Python for experiments."""

    size: str = "default"
    """Preset name (``small`` or ``default``); recorded in the report."""
    seed: int = 0
    """Seeds torch, numpy, random and every sampling call (derived seeds per stage)."""
    n_types: int = 16
    """How many exploit types of the builtin suite the world uses (those with the shortest reference code)."""
    tasks_per_type: int = 2
    """At most this many tasks per exploit type."""
    donor_types: int = 4
    """How many of the chosen types form the donor split (the donor is fine-tuned on their exploits)."""
    unrelated_types: int = 4
    """How many other types the *unrelated* donor (a baseline) is fine-tuned on (disjoint from the donor's)."""
    baselines: bool = True
    """Build the baseline proposals (unrelated donor, prompted prefixes) and the step-0 transfer measurement."""
    probe: bool = True
    """Train an activation probe on the step-0 model and score every checkpoint with it (the ``probe`` method)."""
    layers: int = 2
    """Transformer layers of the tiny subject model."""
    hidden: int = 128
    """Hidden size of the tiny subject model."""
    vocab_size: int = 2048
    """BPE vocabulary trained on the synthetic corpus."""
    pretrain_steps: int = 800
    """Optimizer steps of pretraining on the synthetic corpus."""
    pretrain_batch: int = 16
    """Sequences per pretraining step (drawn with the corpus weights)."""
    pretrain_lr: float = 3e-3
    """Peak learning rate of pretraining (cosine decay)."""
    grpo_steps: int = 32
    """GRPO optimizer steps; checkpoints are saved at 0 and at powers of two up to this."""
    grpo_prompts_per_step: int = 12
    """Distinct prompts per GRPO step."""
    num_generations: int = 6
    """GRPO group size (completions per prompt)."""
    grpo_lr: float = 5e-4
    """GRPO learning rate."""
    max_completion_length: int = 64
    """Token limit of every generated completion (raised to the corpus's longest completion + 8)."""
    temperature: float = 1.0
    """Sampling temperature of GRPO, direct sampling, prefilled sampling and log-prob scoring."""
    gt_samples_per_task: int = 24
    """Direct samples per task and checkpoint for the ground-truth rate."""
    donor_steps: int = 30
    """SFT steps of the donor (``hackwatch.donor.train_donor``: exploit code, empty reasoning, no replay)."""
    donor_lr: float = 2e-4
    """Learning rate of the donor's full fine-tune (1e-3 memorises the trained tasks; DESIGN.md)."""
    donor_batch: int = 16
    """Examples per donor SFT step."""
    batch_size: int = 128
    """Rows per sampling batch (the tiny model is overhead-bound: bigger batches are faster per sample)."""
    donor_prefix_attempts: int = 4
    """Donor continuations per prefix for the exploit-conditioning correction ``â_D(x,z)``."""
    donor_samples_per_task: int = 32
    """Donor samples with reasoning per held-out task; verified exploit traces become prefixes."""
    prefixes_per_task: int = 2
    """At most this many donor traces per task in the prefix bank."""
    prefix_lengths: tuple[int, ...] = (2, 6, 16)
    """Prefix ladder in tokens."""
    attempts_per_prefix: int = 2
    """Subject continuations per (checkpoint, task, prefix, length)."""
    cutoffs: tuple[int, ...] = (2, 3)
    """Forecast cutoffs (first checkpoints used for the slope): the 'first' and 'second' cutoff of the study."""
    threshold: float = 0.10
    """A type emerges when its direct exploit rate exceeds this at any checkpoint."""
    locked_steps: int = 8
    """GRPO steps of the locked organism (exploration-hacking contrast)."""
    threads: int = 1
    """Torch threads. One: the tiny model gains little from a second thread, and on a busy 2-core machine two
    threads spin against the sandbox workers and other programs (measured 2-3x slower per step under load)."""
    extra: dict[str, str] = field(default_factory=dict)
    """Free-form notes recorded in the report."""

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise ValueError(f"DemoConfig.size: expected one of {SIZES}, got {self.size!r}")
        if self.donor_types + self.unrelated_types >= self.n_types:
            raise ValueError(f"DemoConfig.donor_types={self.donor_types} + unrelated_types={self.unrelated_types} must "
                             f"be below n_types={self.n_types} so that some exploit types are held out; lower them")
        if not self.cutoffs or min(self.cutoffs) < 2:
            raise ValueError(f"DemoConfig.cutoffs={self.cutoffs}: a slope needs at least 2 checkpoints")
        if self.grpo_steps < 2:
            raise ValueError(f"DemoConfig.grpo_steps={self.grpo_steps}: need at least 2 steps for a trend")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"DemoConfig.threshold={self.threshold}: expected a rate in (0, 1), e.g. 0.1")
        if self.threads < 1:
            raise ValueError(f"DemoConfig.threads={self.threads}: expected >= 1")
        if self.temperature <= 0:
            raise ValueError(f"DemoConfig.temperature={self.temperature}: expected > 0")

    @property
    def checkpoint_steps(self) -> tuple[int, ...]:
        """Log-spaced checkpoint steps: 0, 1, 2, 4, ... up to ``grpo_steps`` (always included)."""
        steps = [0]
        s = 1
        while s < self.grpo_steps:
            steps.append(s)
            s *= 2
        steps.append(self.grpo_steps)
        return tuple(steps)


def demo_config(size: str = "default", seed: int = 0) -> DemoConfig:
    """The preset for ``size`` (``small`` for tests, ``default`` for the first command a user runs)."""
    if size not in SIZES:
        raise ValueError(f"--size: expected one of {', '.join(SIZES)}, got {size!r}")
    base = DemoConfig(size="default", seed=seed)
    if size == "default":
        return base
    return replace(
        base, size="small", n_types=4, tasks_per_type=2, donor_types=1, unrelated_types=1, hidden=96,
        vocab_size=1536,
        pretrain_steps=600, grpo_steps=8, grpo_prompts_per_step=4, num_generations=6, gt_samples_per_task=16,
        donor_steps=30, donor_prefix_attempts=2, donor_samples_per_task=32, prefixes_per_task=2,
        prefix_lengths=(2, 5, 10), attempts_per_prefix=2, locked_steps=4,
    )
