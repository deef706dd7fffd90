"""``HackwatchCallback``: the exploration-hacking monitor inside a TRL ``GRPOTrainer`` run.

Design (the thinnest robust one): the callback hands out a *reward-function wrapper*. GRPO calls
each reward function once per generation batch with the prompts, completions, completion ids,
the dataset columns and ``trainer_state``; the wrapper records those as rollout rows, computes the
step's metrics and reports them through TRL's own ``log_metric`` hook, so they are averaged into
the trainer's next ``log()`` call and reach every logger (console, TensorBoard, W&B) exactly once.
(Editing ``logs`` in ``on_log`` would be too late: transformers runs reporting callbacks first.)
The callback appends rows to a run table and, at ``on_train_end``, evaluates the flag rules.

    cb = HackwatchCallback(table_path="rollouts.parquet")
    trainer = GRPOTrainer(model=..., reward_funcs=[cb.wrap_reward(my_reward)], callbacks=[cb], ...)
    trainer.train()
"""

from __future__ import annotations

import functools
import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from transformers import TrainerCallback

from hackwatch.monitor._flags import Flag, FlagThresholds, detect_flags, flags_frame
from hackwatch.monitor._rollouts import rollouts_from_trl_batch, write_rollouts
from hackwatch.monitor._step_metrics import metrics_as_keys, step_metrics


def _group_size(value: Any, name: str) -> int | None:
    """``num_generations`` checked where it enters (``__init__``, ``on_train_begin``), never in the reward hook,
    which must not stop a run: None (read from the trainer's args later) or an integer >= 2.
    """
    if value is None:
        return None
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 2:
        raise ValueError(f"HackwatchCallback: {name}={value!r}: expected an integer >= 2 (rollouts per prompt; "
                         "GRPO compares the rewards within each group)")
    return int(value)


class HackwatchCallback(TrainerCallback):
    """Collect GRPO rollouts via ``wrap_reward``, log ``hackwatch/...`` metrics, write a run table, flag."""

    def __init__(self, *, table_path: str | Path | None = None, flags_path: str | Path | None = None,
                 subset_col: str = "subset", prompt_id_col: str = "prompt_id", pass_threshold: float = 1.0,
                 ks: Sequence[int] = (1, 4), thresholds: FlagThresholds | None = None,
                 num_generations: int | None = None) -> None:
        for name, p in (("table_path", table_path), ("flags_path", flags_path)):
            if p is not None and Path(p).suffix not in (".jsonl", ".parquet"):
                raise ValueError(f"HackwatchCallback: {name}={str(p)!r} must end in .jsonl or .parquet")
            if p is not None and not Path(p).parent.exists():
                raise ValueError(f"HackwatchCallback: {name}: folder {Path(p).parent} does not exist; create it first")
        if not ks or any(int(k) < 1 for k in ks):
            raise ValueError(f"HackwatchCallback: ks={list(ks)} must be positive integers (e.g. (1, 4))")
        self.table_path = Path(table_path) if table_path is not None else None
        self.flags_path = Path(flags_path) if flags_path is not None else None
        self.subset_col, self.prompt_id_col = subset_col, prompt_id_col
        self.pass_threshold, self.ks = float(pass_threshold), tuple(int(k) for k in ks)
        self.thresholds = thresholds or FlagThresholds()
        self.num_generations = _group_size(num_generations, "num_generations")
        self._frames: list[pd.DataFrame] = []
        self.flags: list[Flag] = []
        self._wrapped = 0

    # -- collection -------------------------------------------------------------------------------
    def wrap_reward(self, fn: Callable[..., Sequence[float]], *,
                    components: Mapping[str, Callable[..., Sequence[float]]] | None = None,
                    ran: Callable[..., Sequence[bool | None]] | None = None) -> Callable[..., list[float]]:
        """Wrap the reward function whose value decides pass/fail (``reward >= pass_threshold``).

        ``components`` are extra reward functions (same signature) recorded as columns, e.g. partial
        credit; ``ran`` returns whether each completion compiled/ran. Only one function may be wrapped.
        """
        if self._wrapped:
            raise ValueError("HackwatchCallback.wrap_reward: already wrapping a reward function; wrap only the "
                             "pass/fail reward and pass the others as components=")
        self._wrapped += 1

        @functools.wraps(fn)
        def wrapped(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
            rewards = list(fn(prompts=prompts, completions=completions, **kwargs))
            try:
                self._record(prompts, completions, rewards, kwargs, components, ran)
            except Exception as exc:  # the monitor must never kill a training run
                warnings.warn(f"hackwatch: could not record rollouts ({exc})", RuntimeWarning, stacklevel=2)
            return rewards

        return wrapped

    def _record(self, prompts: list[Any], completions: list[Any], rewards: list[float], kwargs: dict[str, Any],
                components: Mapping[str, Callable[..., Sequence[float]]] | None,
                ran: Callable[..., Sequence[bool | None]] | None) -> None:
        state = kwargs.get("trainer_state")
        step = int(state.global_step) + 1 if state is not None else len(self._frames) + 1
        n_gen = self.num_generations
        if n_gen is None:  # neither given nor read from the trainer: never guess the groups
            raise ValueError("num_generations unknown: pass callbacks=[cb] to the trainer (the callback reads "
                             "args.num_generations) or HackwatchCallback(num_generations=...)")
        comps = {name: list(f(prompts=prompts, completions=completions, **kwargs))
                 for name, f in (components or {}).items()}
        batch = rollouts_from_trl_batch(
            prompts=prompts, completions=completions, rewards=[r if r is not None else float("nan") for r in rewards],
            step=step, num_generations=n_gen,
            completion_ids=kwargs.get("completion_ids"), kwargs=kwargs, components=comps,
            subset_col=self.subset_col, prompt_id_col=self.prompt_id_col,
            ran=list(ran(prompts=prompts, completions=completions, **kwargs)) if ran else None)
        # An unscored rollout (reward None: the reward does not apply) takes its whole group with it:
        # the rest of the group would give a spread over part of it, or a group of one.
        unscored = batch["reward"].isna().groupby(batch["group_id"]).transform("any")
        batch = batch[~unscored]
        self._frames.append(batch)
        if self.table_path is not None:
            write_rollouts(batch, self.table_path, append=True)
        log_metric = kwargs.get("log_metric")
        if log_metric is not None and not batch.empty:
            table = step_metrics(batch, pass_threshold=self.pass_threshold, ks=self.ks, components=list(comps))
            for key, value in metrics_as_keys(table).get(step, {}).items():
                log_metric(key, value)

    # -- trainer hooks ----------------------------------------------------------------------------
    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        n = getattr(args, "num_generations", None)
        if self.num_generations is None and n is not None:
            self.num_generations = _group_size(n, "args.num_generations")
        if self.table_path is not None and self.table_path.exists() and state.global_step == 0:
            self.table_path.unlink()  # a fresh run starts a fresh table

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.flags = self.check()
        if self.flags_path is not None:
            write_rollouts(flags_frame(self.flags), self.flags_path)
        for f in self.flags:
            warnings.warn(f"hackwatch [{f.severity}] {f.rule}: {f.evidence}", RuntimeWarning, stacklevel=2)

    # -- results ----------------------------------------------------------------------------------
    @property
    def rollouts(self) -> pd.DataFrame:
        """Every rollout recorded so far (the run table)."""
        return pd.concat(self._frames, ignore_index=True) if self._frames else pd.DataFrame()

    def metrics(self) -> pd.DataFrame:
        """Per-(step, subset) metrics over the whole run so far."""
        return step_metrics(self.rollouts, pass_threshold=self.pass_threshold, ks=self.ks)

    def check(self) -> list[Flag]:
        """Evaluate the flag rules over the whole run so far."""
        if not self._frames:
            return []
        return detect_flags(self.metrics(), self.thresholds)
