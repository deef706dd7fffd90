"""The resumable run: direct sampling → prefilled sampling → verification → probe scoring → prefix
scoring → reward-sensitivity probe ([monitor.sensitivity]) → estimates → forecasts → flags → report, every
unit of work committed with its key so a rerun skips finished units. Prefilled sampling and scoring cover the donor bank and every ``[[proposals]]`` bank.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from hackwatch.runs._checkpoints import backend_spec, resolve_checkpoints
from hackwatch.runs._config import Checkpoint, ConfigError, RunConfig
from hackwatch.runs._executors import Executor, LocalExecutor, make_executor
from hackwatch.runs._inputs import DONOR_PROPOSAL, load_bank, select_tasks, tasks_frame
from hackwatch.runs._jobs import (
    ModelJob,
    SampleUnit,
    ScoreUnit,
    close_verifiers,
    sample_job,
    score_job,
    verify_job,
)
from hackwatch.runs._probes import ProbeUnit, load_run_probe, plan_probe_units, probe_job
from hackwatch.runs._progress import Progress
from hackwatch.store import RunStore

log = logging.getLogger("hackwatch.runs")

DONOR = "donor"
"""Model name of the donor in the ``scores`` and ``checkpoints`` tables."""


def proposal_model(proposal: str) -> str:
    """Model name of a bank's proposal model in ``scores``/``checkpoints``: ``donor`` or ``donor:<name>``."""
    return DONOR if proposal == DONOR_PROPOSAL else f"{DONOR}:{proposal}"


def proposal_models(config: RunConfig) -> dict[str, str]:
    """Proposal-model name → configured model path, for every bank that has a model (donor first)."""
    out = {DONOR: config.donor.model} if config.donor.bank and config.donor.model else {}
    out.update({proposal_model(p.name): p.model for p in config.proposals if p.model})
    return out


class RunError(RuntimeError):
    """The run cannot continue (e.g. the run directory holds a run of a different config)."""


@dataclass(frozen=True)
class RunSummary:
    """What a finished run produced."""

    run_dir: Path
    db_path: Path
    report_path: Path | None
    counts: dict[str, int]


def plan_sample_units(config: RunConfig, tasks: Sequence[Any], checkpoints: Sequence[Checkpoint],
                      prefixes: pd.DataFrame) -> tuple[list[SampleUnit], list[SampleUnit]]:
    """All direct and prefilled sampling units of the run (attempt batches of ``[sampling].batch_size``)."""
    s = config.sampling
    by_id = {t.id: t for t in tasks}

    def batches(total: int) -> Iterable[tuple[int, int]]:
        for k, start in enumerate(range(0, total, s.batch_size)):
            yield k, min(s.batch_size, total - start)

    direct, prefilled = [], []
    for c in checkpoints:
        for t in tasks:
            for k, n in batches(s.direct_samples):
                direct.append(SampleUnit(f"direct/{c.name}/{t.id}/{k}", "direct", t.id, t.prompt, c.name, c.step,
                                         None, (), n, k * s.batch_size))
        for p in prefixes.itertuples(index=False):
            for k, n in batches(s.attempts_per_prefix):
                prefilled.append(SampleUnit(f"prefilled/{c.name}/{p.prefix_id}/{k}", "prefilled", p.task_id,
                                            by_id[p.task_id].prompt, c.name, c.step, p.prefix_id,
                                            tuple(int(i) for i in p.prefix_ids), n, k * s.batch_size))
    return direct, prefilled


def plan_score_units(tasks: Sequence[Any], models: Sequence[str], prefixes: pd.DataFrame) -> list[ScoreUnit]:
    """One scoring unit per model × prefix (a proposal model gets only its own bank's prefixes)."""
    by_id = {t.id: t for t in tasks}
    return [ScoreUnit(f"score/{m}/{p.prefix_id}", "score", m, p.task_id, by_id[p.task_id].prompt, p.prefix_id,
                      tuple(int(i) for i in p.prefix_ids))
            for m in models for p in prefixes.itertuples(index=False)]


def _chunks(units: Sequence[Any], size: Callable[[Any], int], limit: int) -> list[list[Any]]:
    """Consecutive groups of units whose summed size stays within ``limit`` (at least one unit each)."""
    out: list[list[Any]] = []
    cur: list[Any] = []
    total = 0
    for u in units:
        if cur and total + size(u) > limit:
            out.append(cur)
            cur, total = [], 0
        cur.append(u)
        total += size(u)
    if cur:
        out.append(cur)
    return out


def _provenance(config: RunConfig, checkpoints: Sequence[Checkpoint], executor: Executor) -> dict[str, Any]:
    import duckdb
    import torch
    import transformers

    import hackwatch

    return {
        "hackwatch_version": hackwatch.__version__, "torch_version": torch.__version__,
        "transformers_version": transformers.__version__, "duckdb_version": duckdb.__version__,
        "python_version": platform.python_version(), "config": config.to_dict(),
        "config_origin": config.origin, "config_hash": config.work_hash(), "seed": config.sampling.seed,
        "model_ids": {c.name: c.path for c in checkpoints}, "donor_model": config.donor.model,
        "proposal_models": proposal_models(config),
        "run_name": config.run.name, "title": config.report.title or config.run.name,
        "toy_banner": config.report.toy_banner, "tasks_source": config.tasks.source,
        "executor": executor.name, "workers": executor.workers,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


class Pipeline:
    """One execution of a run config against its run directory (use :func:`run_pipeline`)."""

    def __init__(self, config: RunConfig, store: RunStore, executor: Executor, progress: Progress) -> None:
        self.config = config
        self.store = store
        self.executor = executor
        self.progress = progress

    def model_job(self, spec: str) -> ModelJob:
        s = self.config.sampling
        return ModelJob(spec=spec, device=self.config.subject.device, temperature=s.temperature,
                        max_new_tokens=s.max_new_tokens, seed=s.seed, batch_size=s.batch_size,
                        score_top_k=self.config.subject.score_top_k)

    def sample(self, stage: str, units: list[SampleUnit], specs: dict[str, str]) -> None:
        done = self.store.done_units(stage)
        todo = [u for u in units if u.unit_key not in done]
        self.progress.start(stage, len(units), len(units) - len(todo))
        jobs = [(self.model_job(specs[chunk[0].checkpoint]), chunk)
                for c in specs for chunk in _chunks([u for u in todo if u.checkpoint == c], lambda u: u.n,
                                                    2 * self.config.sampling.batch_size)]
        for _, result in self.executor.run(sample_job, jobs):
            for unit, rows in result:
                if self.store.commit_unit(unit.unit_key, stage, {"samples": pd.DataFrame(rows)}):
                    self.progress.advance()
        self.progress.finish()

    def verify(self, tasks: dict[str, Any]) -> None:
        # An infrastructure failure (label "error") is not a result: verify those samples again.
        retry = self.store.query("SELECT count(*) AS n FROM verdicts WHERE label = 'error'")["n"].iloc[0]
        if retry:
            log.warning("verify: %d samples had infrastructure errors earlier; verifying them again", retry)
            self.store.con.execute("DELETE FROM verdicts WHERE label = 'error'")
        pending = self.store.query(
            "SELECT s.sample_id, s.task_id, s.completion FROM samples s ANTI JOIN verdicts v "
            "ON s.sample_id = v.sample_id ORDER BY s.sample_id")
        total = int(self.store.query("SELECT count(*) AS n FROM samples")["n"].iloc[0])
        self.progress.start("verify", total, total - len(pending), unit="sample")
        items = [(r.sample_id, tasks[r.task_id], r.completion) for r in pending.itertuples(index=False)]
        size = max(8, 4 * self.config.sampling.batch_size)
        # Locally the verifier's own sandbox pool is the parallelism; on Ray each task gets one sandbox worker.
        if isinstance(self.executor, LocalExecutor):
            runner: Executor = LocalExecutor(1)
            jobs = [(self.executor.workers, items[i:i + size]) for i in range(0, len(items), size)]
        else:
            runner = self.executor
            jobs = [(1, items[i:i + size]) for i in range(0, len(items), size)]
        for _, rows in runner.run(verify_job, jobs):
            self.store.insert_rows("verdicts", pd.DataFrame(rows))
            self.progress.advance(len(rows))
        self.progress.finish()

    def score(self, units: list[ScoreUnit], specs: dict[str, str]) -> None:
        done = self.store.done_units("score")
        todo = [u for u in units if u.unit_key not in done]
        self.progress.start("score", len(units), len(units) - len(todo), unit="score")
        jobs = [(self.model_job(specs[m]), chunk)
                for m in specs for chunk in _chunks([u for u in todo if u.model == m], lambda u: 1,
                                                    4 * self.config.sampling.batch_size)]
        for _, result in self.executor.run(score_job, jobs):
            for unit, row in result:
                if self.store.commit_unit(unit.unit_key, "score", {"scores": pd.DataFrame([row])}):
                    self.progress.advance()
        self.progress.finish()

    def probe(self, units: list[ProbeUnit], specs: dict[str, str], tasks: dict[str, Any]) -> None:
        """Score each checkpoint's direct samples with the run's probe (one unit per checkpoint)."""
        done = self.store.done_units("probe")
        todo = [u for u in units if u.unit_key not in done]
        self.progress.start("probe", len(units), len(units) - len(todo), unit="checkpoint")
        jobs = []
        for u in todo:
            rows = self.store.query(
                "SELECT sample_id, task_id, checkpoint, step, prefix_tokens, attempt, temperature, generated_ids "
                "FROM samples WHERE checkpoint = ? AND prefix_id IS NULL ORDER BY sample_id", [u.checkpoint])
            records = [{**r, "generated_ids": [int(t) for t in r["generated_ids"]],
                        "prompt": tasks[r["task_id"]].prompt, "exploit_type": tasks[r["task_id"]].exploit_type}
                       for r in rows.to_dict("records")]
            jobs.append((self.model_job(specs[u.checkpoint]), u, records))
        from hackwatch.probes import ActivationsError, ProbeError

        try:
            for (_, unit, _), rows in self.executor.run(probe_job, jobs):
                if self.store.commit_unit(unit.unit_key, "probe", {"probe_scores": pd.DataFrame(rows)}):
                    self.progress.advance()
        except (ProbeError, ActivationsError) as exc:  # e.g. a probe trained on another model's width
            raise ConfigError(f"{self.config.origin}: [probes].dir: {exc}") from None
        self.progress.finish()


def run_pipeline(config: RunConfig, *, executor: str = "local", workers: int = 1, ray_address: str | None = None,
                 report: bool = True, bars: bool | None = None) -> RunSummary:
    """Run (or resume) every stage of ``config``; finished units of an earlier run are skipped."""
    from hackwatch.runs._analysis import analyse
    from hackwatch.runs._sensitivity import sensitivity_stage

    run_dir = config.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    tasks = select_tasks(config)
    checkpoints = resolve_checkpoints(config)
    prefixes = load_bank(config, tasks)
    probe = load_run_probe(config)
    progress = Progress(run_dir, bars=bars)
    try:
        with RunStore.open(run_dir) as store:
            old = store.provenance().get("config_hash")
            if old is not None and old != config.work_hash():
                raise RunError(f"{run_dir}: holds a run of a different config (tasks, checkpoints, bank or sampling "
                               "changed); use a new [run].out / --out, or delete the run directory to start over")
            ex = make_executor(executor, workers, address=ray_address)
            try:
                store.set_provenance(_provenance(config, checkpoints, ex))
                store.insert_rows("tasks", tasks_frame(tasks))
                cps = [{"checkpoint": c.name, "step": c.step, "path": c.path, "role": "subject"} for c in checkpoints]
                cps += [{"checkpoint": name, "step": -1, "path": str(config.resolve(path)), "role": "donor"}
                        for name, path in proposal_models(config).items()]
                store.insert_rows("checkpoints", pd.DataFrame(cps))
                store.insert_rows("prefixes", prefixes)
                log.info("run %s: %d tasks, %d checkpoints, %d prefixes, executor %s×%d → %s", config.run.name,
                         len(tasks), len(checkpoints), len(prefixes), ex.name, ex.workers, store.path)
                specs = {c.name: backend_spec(config.subject.backend, c.path) for c in checkpoints}
                pipe = Pipeline(config, store, ex, progress)
                direct, prefilled = plan_sample_units(config, tasks, checkpoints, prefixes)
                pipe.sample("direct", direct, specs)
                if prefilled:
                    pipe.sample("prefilled", prefilled, specs)
                pipe.verify({t.id: t for t in tasks})
                if probe is not None:
                    pipe.probe(plan_probe_units(probe, list(specs)), specs, {t.id: t for t in tasks})
                if len(prefixes):
                    units = plan_score_units(tasks, list(specs), prefixes)
                    score_specs = dict(specs)
                    for name, path in proposal_models(config).items():
                        own = prefixes[prefixes["proposal"].map(proposal_model) == name]
                        units += plan_score_units(tasks, [name], own)
                        score_specs[name] = backend_spec(config.subject.backend, str(config.resolve(path)))
                    pipe.score(units, score_specs)
            finally:
                ex.close()
                close_verifiers()
            sensitivity_stage(config, store, checkpoints, progress)
            analyse(config, store, progress)
            store.set_provenance({"finished_at": datetime.now(UTC).isoformat(timespec="seconds")})
            counts = {t: int(store.query(f'SELECT count(*) AS n FROM "{t}"')["n"].iloc[0]) for t in store.tables()}
            db_path = store.path
        report_path = None
        if report:
            from hackwatch.report import write_report

            progress.start("report", 1, 0, unit="file")
            report_path = write_report(run_dir, run_dir / "report.html")
            progress.advance()
            progress.finish()
            log.info("report: %s", report_path)
        progress.note(finished=True)
    finally:
        progress.close()  # a stage that raised must not leave its heartbeat thread printing
    return RunSummary(run_dir=run_dir, db_path=db_path, report_path=report_path, counts=counts)
