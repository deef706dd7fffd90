from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hackwatch._api import open_run
from hackwatch.runs import RunSummary, load_config, run_pipeline
from tests.helpers import requires_ray


@requires_ray
@pytest.mark.slow
def test_ray_executor_matches_local_run(world: Path, reference_run: RunSummary) -> None:
    """Sampling, verification and scoring as Ray tasks on a local Ray instance give the local run's rows."""
    import ray

    cfg = load_config(world)
    cfg.run.out = str(world.parent / "run_ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summary = run_pipeline(cfg, executor="ray", workers=2, bars=False, report=False)
    finally:
        ray.shutdown()
    assert summary.counts["samples"] == reference_run.counts["samples"]
    assert open_run(summary.run_dir).provenance["executor"] == "ray"
    cols = ["sample_id", "attempt", "seed", "completion", "label"]
    a, b = (open_run(d).samples.merge(open_run(d).verdicts, on="sample_id").sort_values("sample_id")
            .reset_index(drop=True)[cols] for d in (reference_run.run_dir, summary.run_dir))
    pd.testing.assert_frame_equal(a, b)
    sa, sb = (open_run(d).scores.sort_values(["model", "prefix_id"]).reset_index(drop=True)
              for d in (reference_run.run_dir, summary.run_dir))
    pd.testing.assert_frame_equal(sa[["model", "prefix_id", "n_tokens"]], sb[["model", "prefix_id", "n_tokens"]])
    assert (sa["logprob"] - sb["logprob"]).abs().max() < 1e-4
