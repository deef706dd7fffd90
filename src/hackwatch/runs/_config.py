"""The run configuration (``hackwatch run CONFIG.toml``): dataclasses validated in ``__post_init__``.

Every error names the file and the key (``config.toml: [sampling].temperature: expected a float > 0,
got "hot"``). Relative paths are resolved against the config file's folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import InitVar, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from hackwatch.runs._validate import ConfigError, _bad, _float, _int, _int_list, _str, _str_list


@dataclass(frozen=True)
class Checkpoint:
    """One subject checkpoint: where it is and the training step it was saved at."""

    name: str
    path: str
    step: int


@dataclass
class RunSection:
    """``[run]``: where the run lives and its name."""

    out: str = ""
    """Run directory (database, report, figures, log); default: ``<config name>.run`` beside the config."""
    name: str = ""
    """Run name shown in the report; default: the config file's stem."""

    ctx: InitVar[str] = "config"

    def __post_init__(self, ctx: str) -> None:
        if not isinstance(self.out, str):
            raise _bad(ctx, "run", "out", "a folder path", self.out)
        if not isinstance(self.name, str):
            raise _bad(ctx, "run", "name", "a string", self.name)


@dataclass
class TasksSection:
    """``[tasks]``: which tasks to evaluate."""

    source: str = ""
    """Task SOURCE for ``hackwatch.tasks.load_tasks`` (``builtin``, a Djinn folder, a JSONL/Parquet file)."""
    split: str = ""
    """Keep only tasks of this split (empty = all)."""
    exploit_types: tuple[str, ...] = ()
    """Keep only these exploit types (empty = all)."""
    ids: tuple[str, ...] = ()
    """Keep only these task ids (empty = all)."""
    limit: int = 0
    """Keep at most this many tasks per exploit type after filtering (0 = all)."""

    ctx: InitVar[str] = "config"

    def __post_init__(self, ctx: str) -> None:
        self.source = _str(ctx, "tasks", "source", self.source)
        if not isinstance(self.split, str):
            raise _bad(ctx, "tasks", "split", "a string", self.split)
        self.exploit_types = _str_list(ctx, "tasks", "exploit_types", self.exploit_types)
        self.ids = _str_list(ctx, "tasks", "ids", self.ids)
        self.limit = _int(ctx, "tasks", "limit", self.limit)


@dataclass
class SubjectSection:
    """``[subject]``: the checkpoints of the run being watched and how to load them."""

    backend: str = "transformers"
    """Backend kind: ``transformers``, ``vllm`` (path loaded in-process) or ``openai`` (path is the spec)."""
    device: str = "auto"
    """Device for the transformers backend: auto, cpu or cuda."""
    checkpoints: tuple[Checkpoint, ...] = ()
    """Explicit checkpoints (``[[subject.checkpoints]]`` with ``path`` and ``step``, optional ``name``)."""
    dir: str = ""
    """Alternatively a folder of ``checkpoint-<step>`` folders (TRL's layout)."""
    select: int = 0
    """With ``dir``: choose this many log-spaced checkpoints (0 = all), always keeping first and last."""
    score_top_k: int = 20
    """``vllm``/``openai`` at τ ≠ 1: prompt log-probs per position when scoring (-1 = full vocabulary, exact)."""

    ctx: InitVar[str] = "config"

    def __post_init__(self, ctx: str) -> None:
        self.backend = _str(ctx, "subject", "backend", self.backend, ("transformers", "vllm", "openai"))
        self.device = _str(ctx, "subject", "device", self.device, ("auto", "cpu", "cuda"))
        if not isinstance(self.dir, str):
            raise _bad(ctx, "subject", "dir", "a folder path", self.dir)
        self.select = _int(ctx, "subject", "select", self.select)
        k = self.score_top_k
        if isinstance(k, bool) or not isinstance(k, int) or not (k == -1 or k >= 1):
            raise _bad(ctx, "subject", "score_top_k", "-1 (the full vocabulary) or an integer >= 1", k)
        if not isinstance(self.checkpoints, list | tuple):
            raise _bad(ctx, "subject", "checkpoints", "a list of {path, step} tables", self.checkpoints)
        cps: list[Checkpoint] = []
        for i, item in enumerate(self.checkpoints):
            key = f"checkpoints[{i}]"
            if isinstance(item, Checkpoint):
                cps.append(item)
                continue
            if not isinstance(item, dict) or set(item) - {"path", "step", "name"}:
                raise _bad(ctx, "subject", key, "a table with keys path, step (and optional name)", item)
            path = _str(ctx, "subject", f"{key}.path", item.get("path"))
            step = _int(ctx, "subject", f"{key}.step", item.get("step"))
            name = item.get("name", Path(path).name or f"step-{step}")
            cps.append(Checkpoint(name=_str(ctx, "subject", f"{key}.name", name), path=path, step=step))
        self.checkpoints = tuple(cps)
        if bool(self.checkpoints) == bool(self.dir):
            raise ConfigError(f"{ctx}: [subject]: give exactly one of `checkpoints` (a list of {{path, step}}) "
                              "or `dir` (a folder of checkpoint-<step> folders)")
        names = [c.name for c in self.checkpoints]
        if len(set(names)) != len(names):
            raise _bad(ctx, "subject", "checkpoints", "unique checkpoint names (set `name`)", names)


@dataclass
class DonorSection:
    """``[donor]``: the prefix bank (the IS proposal) and optionally the donor model to score it."""

    bank: str = ""
    """Prefix bank (Parquet or JSONL); empty = direct sampling only."""
    model: str = ""
    """Donor model path; when set, donor log-probs are scored once; else the bank's ``logp_donor`` column."""
    prefix_lengths: tuple[int, ...] = ()
    """Keep only prefixes of these token lengths (empty = all)."""
    max_prefixes_per_task: int = 0
    """Keep at most this many prefixes per task and length (0 = all), in bank order."""

    ctx: InitVar[str] = "config"

    def __post_init__(self, ctx: str) -> None:
        for key in ("bank", "model"):
            if not isinstance(getattr(self, key), str):
                raise _bad(ctx, "donor", key, "a path", getattr(self, key))
        self.prefix_lengths = _int_list(ctx, "donor", "prefix_lengths", self.prefix_lengths)
        self.max_prefixes_per_task = _int(ctx, "donor", "max_prefixes_per_task", self.max_prefixes_per_task)
        if self.model and not self.bank:
            raise ConfigError(f"{ctx}: [donor].model: a donor model needs a prefix bank; set [donor].bank")


PROPOSAL_NAME = re.compile(r"[a-z][a-z0-9_]*")
"""Valid ``[[proposals]].name``: it becomes part of prefix ids (``<name>:<prefix_id>``) and method names."""


def _proposal_key(i: int) -> str:
    """The section label ``_bad`` prints for proposal ``i`` (``[[proposals]][i].key``)."""
    return f"[proposals]][{i}"


@dataclass
class ProposalSection:
    """One ``[[proposals]]`` table: an extra prefix bank (an IS proposal beside the donor, e.g. prompted
    prefixes or an unrelated donor) sampled, verified and scored like the donor's, estimated on its own.
    """

    name: str = ""
    """Proposal name, ``[a-z][a-z0-9_]*`` and not ``donor``; its estimates are ``is_<name>``."""
    bank: str = ""
    """Prefix bank (Parquet or JSONL, the ``[donor].bank`` format)."""
    model: str = ""
    """Proposal model scoring log D_τ(z|x); empty = the bank's ``logp_donor`` column (then required)."""
    prefix_lengths: tuple[int, ...] = ()
    """Keep only prefixes of these token lengths (empty = all)."""
    max_prefixes_per_task: int = 0
    """Keep at most this many prefixes per task and length (0 = all), in bank order."""

    ctx: InitVar[str] = "config"
    index: InitVar[int] = 0

    def __post_init__(self, ctx: str, index: int) -> None:
        sec = _proposal_key(index)
        if not isinstance(self.name, str) or not PROPOSAL_NAME.fullmatch(self.name) or self.name == "donor":
            raise _bad(ctx, sec, "name", "a name matching [a-z][a-z0-9_]* other than \"donor\"", self.name)
        self.bank = _str(ctx, sec, "bank", self.bank)
        if not isinstance(self.model, str):
            raise _bad(ctx, sec, "model", "a path", self.model)
        self.prefix_lengths = _int_list(ctx, sec, "prefix_lengths", self.prefix_lengths)
        self.max_prefixes_per_task = _int(ctx, sec, "max_prefixes_per_task", self.max_prefixes_per_task)


@dataclass
class SamplingSection:
    """``[sampling]``: the sampling plan."""

    direct_samples: int = 8
    """Direct (unprefilled) samples per task and checkpoint."""
    attempts_per_prefix: int = 4
    """Prefilled samples per prefix and checkpoint (r̂ is estimated from these)."""
    temperature: float = 1.0
    """Sampling temperature τ; prefixes are scored at the same τ."""
    max_new_tokens: int = 256
    """Generation budget after the prompt (and prefix)."""
    seed: int = 0
    """Base seed of every sampling unit."""
    batch_size: int = 16
    """Samples per unit of work (attempt batch) and per backend batch."""

    ctx: InitVar[str] = "config"

    def __post_init__(self, ctx: str) -> None:
        self.direct_samples = _int(ctx, "sampling", "direct_samples", self.direct_samples)
        self.attempts_per_prefix = _int(ctx, "sampling", "attempts_per_prefix", self.attempts_per_prefix)
        self.temperature = _float(ctx, "sampling", "temperature", self.temperature, positive=True)
        self.max_new_tokens = _int(ctx, "sampling", "max_new_tokens", self.max_new_tokens, 1)
        self.seed = _int(ctx, "sampling", "seed", self.seed)
        self.batch_size = _int(ctx, "sampling", "batch_size", self.batch_size, 1)


@dataclass
class ThresholdsSection:
    """``[thresholds]``: what counts as emergence and what the forecasts may use."""

    emergence: float = 0.1
    """Direct exploit rate above which an exploit type counts as emerged."""
    cutoff: int = 2
    """Number of earliest checkpoints the forecasts may use."""
    target_step: int = 0
    """Step to project the fitted trends to (0 = no projection)."""

    ctx: InitVar[str] = "config"

    def __post_init__(self, ctx: str) -> None:
        self.emergence = _float(ctx, "thresholds", "emergence", self.emergence, unit=True)
        self.cutoff = _int(ctx, "thresholds", "cutoff", self.cutoff, 1)
        self.target_step = _int(ctx, "thresholds", "target_step", self.target_step)


@dataclass
class EstimateSection:
    """``[estimate]``: how the estimates are computed from the stored samples and scores."""

    missing_donor_rate: str = "uncorrected"
    """Per-row policy for IS terms whose donor rate is null (no donor continuation exploited):
    ``uncorrected`` (that term without the correction factor), ``drop`` (leave the prefix out of the
    IS cell) or ``error`` (stop the analysis, naming the prefix). See docs/statistics.md."""

    ctx: InitVar[str] = "config"

    def __post_init__(self, ctx: str) -> None:
        if self.missing_donor_rate == "upper":
            raise ConfigError(f"{ctx}: [estimate].missing_donor_rate: 'upper' needs the number of donor "
                              "continuations per prefix, which the run database does not store yet; use "
                              "uncorrected, drop or error (or `hackwatch estimate` on exported tables)")
        self.missing_donor_rate = _str(ctx, "estimate", "missing_donor_rate", self.missing_donor_rate,
                                       ("uncorrected", "drop", "error"))


SENSITIVITY_CONFIGS = ("task", "partial", "alt", "task_terse")
"""Reward configs ``[monitor.sensitivity].configs`` may name (``hackwatch.monitor.REWARD_CONFIGS``)."""


@dataclass
class SensitivitySection:
    """``[monitor.sensitivity]``: the reward-sensitivity probe on the final checkpoint (see docs/monitor.md)."""

    prompts: str = ""
    """Prompt table (JSONL/Parquet): ``prompt``, ``answer``, ``subset`` [, ``alt_answer``, ``prompt_id``]."""
    configs: tuple[str, ...] = ("task", "partial", "task_terse")
    """Reward configurations, one GRPO continuation each (``alt`` needs ``alt_answer``)."""
    steps: int = 16
    """GRPO steps per continuation."""
    learning_rate: float = 3e-4
    """GRPO learning rate."""
    prompts_per_step: int = 16
    """Prompts per GRPO step."""
    num_generations: int = 4
    """Rollouts per prompt (GRPO group size)."""
    samples: int = 8
    """Completions per prompt drawn before and after each continuation."""
    max_new_tokens: int = 3
    """Completion budget (GRPO and sampling)."""
    temperature: float = 1.0
    """Sampling temperature (GRPO and sampling)."""
    seed: int = 0
    """Seed of the continuations and samples."""

    ctx: InitVar[str] = "config"

    def __post_init__(self, ctx: str) -> None:
        sec = "monitor.sensitivity"
        self.prompts = _str(ctx, sec, "prompts", self.prompts)
        self.configs = _str_list(ctx, sec, "configs", self.configs)
        bad = [c for c in self.configs if c not in SENSITIVITY_CONFIGS]
        if bad or len(set(self.configs)) < 2:
            raise _bad(ctx, sec, "configs", f"at least two distinct of {', '.join(SENSITIVITY_CONFIGS)}",
                       list(self.configs))
        self.steps = _int(ctx, sec, "steps", self.steps, 1)
        self.learning_rate = _float(ctx, sec, "learning_rate", self.learning_rate, positive=True)
        self.prompts_per_step = _int(ctx, sec, "prompts_per_step", self.prompts_per_step, 1)
        self.num_generations = _int(ctx, sec, "num_generations", self.num_generations, 2)
        self.samples = _int(ctx, sec, "samples", self.samples, 2)
        self.max_new_tokens = _int(ctx, sec, "max_new_tokens", self.max_new_tokens, 1)
        self.temperature = _float(ctx, sec, "temperature", self.temperature, positive=True)
        self.seed = _int(ctx, sec, "seed", self.seed)


@dataclass
class MonitorSection:
    """``[monitor]``: exploration-hacking flags."""

    rollouts: str = ""
    """RL rollout table (JSONL/Parquet) for ``hackwatch.monitor``; empty = no flags."""
    num_generations: int | None = None
    """Rollouts per GRPO group: a smaller group (cut by a crash mid-append) is dropped with a warning, a larger
    one refused; ``None`` compares each group with its step's usual size."""
    sensitivity: SensitivitySection | None = None
    """``[monitor.sensitivity]``: run the reward-sensitivity probe on the final checkpoint (absent = not run)."""

    ctx: InitVar[str] = "config"

    def __post_init__(self, ctx: str) -> None:
        if not isinstance(self.rollouts, str):
            raise _bad(ctx, "monitor", "rollouts", "a path", self.rollouts)
        if self.num_generations is not None:
            self.num_generations = _int(ctx, "monitor", "num_generations", self.num_generations, 2)
        raw = self.sensitivity
        if raw is None or isinstance(raw, SensitivitySection):
            return
        if not isinstance(raw, dict):
            raise _bad(ctx, "monitor", "sensitivity", "a table ([monitor.sensitivity] with prompts = ...)", raw)
        known = [f.name for f in fields(SensitivitySection)]
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ConfigError(f"{ctx}: [monitor.sensitivity].{unknown[0]}: unknown key; known keys: {', '.join(known)}")
        if "prompts" not in raw:
            raise ConfigError(f"{ctx}: [monitor.sensitivity].prompts: missing; give a prompt table (JSONL/Parquet "
                              "with prompt, answer, subset)")
        self.sensitivity = SensitivitySection(**raw, ctx=ctx)


@dataclass
class ProbesSection:
    """``[probes]``: an activation probe scored on every checkpoint's direct samples (``method = "probe"``)."""

    dir: str = ""
    """Probe directory written by ``hackwatch probe train`` (empty = no probe stage)."""
    use: str = ""
    """Probe to use, e.g. ``layer1_window8_mean``; empty = the best cross-validated AUC (optimistic)."""

    ctx: InitVar[str] = "config"

    def __post_init__(self, ctx: str) -> None:
        for key in ("dir", "use"):
            if not isinstance(getattr(self, key), str):
                raise _bad(ctx, "probes", key, "a string" if key == "use" else "a folder path", getattr(self, key))


@dataclass
class ReportSection:
    """``[report]``: the HTML report."""

    title: str = ""
    """Report title (default: the run name)."""
    toy_banner: bool = False
    """Show the banner ``toy world: tiny model, not a result about real LLMs`` (the demo sets it)."""

    ctx: InitVar[str] = "config"

    def __post_init__(self, ctx: str) -> None:
        if not isinstance(self.title, str):
            raise _bad(ctx, "report", "title", "a string", self.title)
        if not isinstance(self.toy_banner, bool):
            raise _bad(ctx, "report", "toy_banner", "true or false", self.toy_banner)


SECTIONS: dict[str, type] = {
    "run": RunSection, "tasks": TasksSection, "subject": SubjectSection, "donor": DonorSection,
    "sampling": SamplingSection, "thresholds": ThresholdsSection, "estimate": EstimateSection,
    "monitor": MonitorSection, "probes": ProbesSection,
    "report": ReportSection,
}
"""Single-table sections (``[name]``); ``[[proposals]]`` is the one array of tables."""


@dataclass
class RunConfig:
    """A validated run configuration (build with :func:`load_config` or :func:`config_from_dict`)."""

    run: RunSection
    tasks: TasksSection
    subject: SubjectSection
    donor: DonorSection = field(default_factory=DonorSection)
    sampling: SamplingSection = field(default_factory=SamplingSection)
    thresholds: ThresholdsSection = field(default_factory=ThresholdsSection)
    estimate: EstimateSection = field(default_factory=EstimateSection)
    monitor: MonitorSection = field(default_factory=MonitorSection)
    probes: ProbesSection = field(default_factory=ProbesSection)
    report: ReportSection = field(default_factory=ReportSection)
    proposals: tuple[ProposalSection, ...] = ()
    """Extra IS proposals (``[[proposals]]``), in config order."""
    origin: str = "config"
    """Where the config came from (file name used in error messages)."""
    base_dir: str = "."
    """Folder relative paths are resolved against."""

    def resolve(self, path: str) -> Path:
        """A config path made absolute against the config file's folder (backend specs are left alone)."""
        if ":" in path.split("/")[0] and not os.path.exists(path):
            return Path(path)
        p = Path(path).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p

    @property
    def run_dir(self) -> Path:
        """The run directory."""
        return self.resolve(self.run.out)

    def to_dict(self) -> dict[str, Any]:
        """The sections as plain data (what the store records)."""
        data = {name: asdict(getattr(self, name)) for name in SECTIONS}
        data["subject"]["checkpoints"] = [asdict(c) for c in self.subject.checkpoints]
        data["proposals"] = [asdict(p) for p in self.proposals]
        return data

    def work_hash(self) -> str:
        """Hash of everything that defines the units of work (tasks, checkpoints, banks, sampling plan).

        Thresholds, estimate, report, monitor and probe settings may change between reruns; these may
        not. ``proposals`` enters only when there are some and ``[subject].score_top_k`` only when not 20, so
        runs written before they existed resume.
        """
        data = self.to_dict()
        work = {k: data[k] for k in ("tasks", "subject", "donor", "sampling")}
        if work["subject"].get("score_top_k") == 20:  # the default: runs written before the key existed resume
            work["subject"] = {k: v for k, v in work["subject"].items() if k != "score_top_k"}
        if self.proposals:
            work["proposals"] = data["proposals"]
        return hashlib.sha256(json.dumps(work, sort_keys=True).encode()).hexdigest()[:16]


def _section(ctx: str, name: str, raw: Any) -> Any:
    cls = SECTIONS[name]
    if not isinstance(raw, dict):
        raise ConfigError(f"{ctx}: [{name}]: expected a table, got {json.dumps(raw, default=str)}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"{ctx}: [{name}].{unknown[0]}: unknown key; known keys: {', '.join(known)}")
    return raw


def _proposals(ctx: str, raw: Any) -> tuple[ProposalSection, ...]:
    """The ``[[proposals]]`` tables, validated; names unique."""
    if not isinstance(raw, list):
        raise ConfigError(f"{ctx}: [[proposals]]: expected an array of tables ([[proposals]] with name and bank), "
                          f"got {json.dumps(raw, default=str)}")
    known = [f.name for f in fields(ProposalSection)]
    out: list[ProposalSection] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ConfigError(f"{ctx}: [[proposals]][{i}]: expected a table with name and bank, "
                              f"got {json.dumps(item, default=str)}")
        unknown = sorted(set(item) - set(known))
        if unknown:
            raise ConfigError(f"{ctx}: [[proposals]][{i}].{unknown[0]}: unknown key; known keys: {', '.join(known)}")
        prop = ProposalSection(**item, ctx=ctx, index=i)
        if any(p.name == prop.name for p in out):
            raise ConfigError(f"{ctx}: [[proposals]][{i}].name: duplicate proposal name {prop.name!r}; "
                              "give every proposal its own name")
        out.append(prop)
    return tuple(out)


def _check_probes(ctx: str, probes: ProbesSection, subject: SubjectSection, sampling: SamplingSection) -> None:
    """A probe reads hidden states of direct samples: it needs in-process weights and direct samples."""
    if not probes.dir:
        if probes.use:
            raise ConfigError(f"{ctx}: [probes].use: names a probe but [probes].dir is not set")
        return
    if subject.backend != "transformers":
        raise ConfigError(f"{ctx}: [probes].dir: probes read hidden states, which needs [subject].backend = "
                          f"\"transformers\" (got {subject.backend!r}); drop [probes] or change the backend")
    if sampling.direct_samples == 0:
        raise ConfigError(f"{ctx}: [probes].dir: probes score each checkpoint's direct samples; set "
                          "[sampling].direct_samples >= 1 or drop [probes]")


def config_from_dict(data: dict[str, Any], *, origin: str = "config", base_dir: str | os.PathLike[str] = ".") -> RunConfig:
    """Validate plain data (a parsed TOML document) into a :class:`RunConfig`."""
    ctx = origin
    unknown = sorted(set(data) - set(SECTIONS) - {"proposals"})
    if unknown:
        raise ConfigError(f"{ctx}: [{unknown[0]}]: unknown section; known sections: {', '.join(SECTIONS)}")
    for required in ("tasks", "subject"):
        if required not in data:
            raise ConfigError(f"{ctx}: [{required}]: missing section (see examples/run.toml)")
    sections = {name: SECTIONS[name](**_section(ctx, name, data.get(name, {})), ctx=ctx) for name in SECTIONS}
    proposals = _proposals(ctx, data.get("proposals", []))
    s, d = sections["sampling"], sections["donor"]
    if (d.bank or proposals) and s.attempts_per_prefix == 0:
        raise ConfigError(f"{ctx}: [sampling].attempts_per_prefix: a prefix bank needs prefilled attempts "
                          "(r̂ is estimated from them); set it >= 1 or drop [donor].bank and [[proposals]]")
    if s.direct_samples == 0 and not d.bank and not proposals:
        raise ConfigError(f"{ctx}: [sampling].direct_samples: 0 direct samples and no [donor].bank leaves "
                          "nothing to sample; set direct_samples >= 1")
    _check_probes(ctx, sections["probes"], sections["subject"], s)
    stem = Path(origin).stem or "run"
    if not sections["run"].out:
        sections["run"].out = f"{stem}.run"
    if not sections["run"].name:
        sections["run"].name = stem
    return RunConfig(**sections, proposals=proposals, origin=origin, base_dir=str(base_dir))


def load_config(path: str | os.PathLike[str]) -> RunConfig:
    """Read and validate a run config TOML file."""
    from hackwatch._files import read_text

    p = Path(path)
    try:
        p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the config ({exc.strerror})") from None
    text = read_text(p, ConfigError, what="a run config TOML file (see examples/run.toml)")  # UTF-8, not empty
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc})") from None
    return config_from_dict(data, origin=p.name, base_dir=p.resolve().parent)

