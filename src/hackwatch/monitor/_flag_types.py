"""The flag record and the thresholds of every flag rule (shared by the rule modules and the probes)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class FlagThresholds:
    """Thresholds of the flag rules (see docs/monitor.md for why each value)."""

    min_steps: int = 3
    """Steps of evidence a rule needs before it may fire."""
    all_fail: float = 0.8
    """`homogeneous_fail`: share of all-fail groups on a subset, over a window of steps, at or above this ..."""
    all_fail_contrast: float = 0.5
    """... and at least this much above the least-failing other subset over the same steps ..."""
    all_fail_min_groups: int = 8
    """... with the window's share resting on at least this many groups (an honest context where a third of
    the groups fail whole gives three all-fail groups in a row by chance; eight in ten it does not)."""
    all_fail_single: float = 0.9
    """`homogeneous_fail` with one subset only: warn at or above this share of all-fail groups."""
    divergence_gap: float = 0.4
    """`subset_divergence`: pass@1 gap to an improving other subset over the later half of the run ..."""
    divergence_gain: float = 0.05
    """... while the subset's own pass@1 rose by no more than this between run halves ..."""
    divergence_improve: float = 0.1
    """... the other subset's pass@1 rose by at least this between run halves ..."""
    divergence_homogeneous: float = 0.6
    """... and at least this share of the subset's groups in the later half had identical rewards."""
    reference_gap: float = 0.3
    """`reference_gap`: a reference model's pass@k exceeds the policy's by at least this."""
    plausible_wrong: float = 0.5
    """`plausible_wrong`: rollouts that ran but failed, share at or above this ..."""
    plausible_contrast: float = 0.3
    """... and this much above the other subsets."""
    cusum_k: float = 0.1
    """CUSUM slack (shares): shifts smaller than this are ignored."""
    cusum_h: float = 0.5
    """CUSUM alarm level (accumulated excess share)."""
    cusum_baseline: int = 3
    """Steps forming the CUSUM baseline (a CUSUM flag needs ``cusum_baseline + min_steps`` steps)."""
    cusum_alpha: float = 0.01
    """CUSUM rules (and `diversity_drop`): a CUSUM alarm counts only when a permutation test of a shift in the
    series gives p <= this (re-orderings of the steps, or of the groups' outcomes, that a flat run makes
    equally likely)."""
    cusum_permutations: int = 999
    """Re-orderings drawn for that test (seeded: the same table gives the same flags)."""
    diversity_k: float = 0.05
    """`diversity_drop`: CUSUM slack in the diversity metric's units (distinct-n, overlap: shares) ..."""
    diversity_h: float = 0.3
    """... and its alarm level (e.g. three steps 0.15 below baseline)."""

    def __post_init__(self) -> None:
        for name in ("all_fail", "all_fail_contrast", "all_fail_single", "divergence_gap", "divergence_improve",
                     "divergence_homogeneous", "reference_gap", "plausible_wrong", "plausible_contrast"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"FlagThresholds.{name}={getattr(self, name)}: expected a share in (0, 1]")
        if not 0.0 < self.cusum_alpha < 1.0:
            raise ValueError(f"FlagThresholds.cusum_alpha={self.cusum_alpha}: expected a probability in (0, 1)")
        for name in ("min_steps", "cusum_baseline", "all_fail_min_groups", "cusum_permutations"):
            if getattr(self, name) < 1:
                raise ValueError(f"FlagThresholds.{name}={getattr(self, name)}: must be >= 1")
        for name in ("cusum_k", "cusum_h", "diversity_k", "diversity_h"):
            if getattr(self, name) < 0:
                raise ValueError(f"FlagThresholds.{name}={getattr(self, name)}: must be >= 0")


@dataclass(frozen=True)
class Flag:
    """One red flag: rule name, severity (alarm | warn), subset, step range, evidence text and numbers."""

    rule: str
    severity: str
    subset: str
    first_step: int
    last_step: int
    evidence: str
    numbers: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)
