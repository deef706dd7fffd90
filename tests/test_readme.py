"""README's quickstart, run as written: its command blocks are read from README.md and run in order.

The blocks expect the output of ``hackwatch demo`` (``./hackwatch-demo``) and this repository's
``examples/``. The demo takes minutes, so the test builds a tiny stand-in of that folder with the same
layout — random tiny Llama checkpoints ``step-N``, a base model, a donor model, a prefix bank whose
prefixes close the reasoning with the task's reference exploit, and a GRPO rollout table — and copies
``examples/run.toml`` next to it. Any command that fails, or any block that disappears, fails the test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO

README = REPO / "README.md"
STEPS = (1, 32)


def quickstart_commands(text: str) -> list[str]:
    """Commands of the ``bash`` blocks of README's Quickstart section, continuation lines joined."""
    section = text.split("\n## Quickstart\n", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S):
        for command in block.replace("\\\n", " ").splitlines():
            command = command.strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def test_quickstart_is_extracted_from_the_readme():
    commands = quickstart_commands(README.read_text())
    verbs = [c.split()[1] for c in commands]
    assert all(c.startswith("hackwatch ") for c in commands), commands
    for verb in ("tasks", "sample", "verify", "score", "estimate", "donor", "run", "report", "export", "forecast",
                 "monitor"):
        assert verb in verbs, verb


def _demo_stand_in(root: Path) -> None:
    """The files of ``hackwatch demo``'s output that the quickstart uses, tiny (seconds, not minutes)."""
    import pandas as pd

    from hackwatch.donor import write_bank
    from hackwatch.models import tiny_causal_lm, train_tokenizer
    from hackwatch.tasks import load_tasks

    tasks = load_tasks("builtin")
    tok = train_tokenizer([t.prompt for t in tasks] + [t.exploit for t in tasks] + [t.ground_truth for t in tasks],
                          vocab_size=400)
    demo = root / "hackwatch-demo"
    dirs = {demo / "checkpoints" / f"step-{s}": s for s in STEPS}
    dirs.update({demo / "models" / "base": 0, demo / "donor" / "model": 7})
    for path, seed in dirs.items():
        tiny_causal_lm(tok, layers=1, hidden=32, heads=2, seed=seed).save_pretrained(path)
        tok.save_pretrained(path)
    rows = []
    for t in [t for t in tasks if t.split == "heldout"][:3]:
        text = f"The verifier is flawed.\n</think>\n\n```python\n{t.exploit.strip()}\n```\n"
        ids = list(tok.encode(text, add_special_tokens=False))
        for n in (4, len(ids)):
            rows.append({"schema_version": 1, "task_id": t.id, "exploit_type": t.exploit_type,
                         "trace_id": f"{t.id}/0", "prefix_id": f"{t.id}/0/{n}", "prefix_tokens": n,
                         "prefix_ids": ids[:n], "text": tok.decode(ids[:n]), "trace_ids": ids, "trace_text": text,
                         "trace_reasoning_tokens": len(ids), "source": "donor", "model": "donor",
                         "logp_donor": -1.5 * n, "temperature": 1.0, "seed": 0, "donor_rate_task": 0.5,
                         "donor_task_successes": 4, "donor_task_samples": 8, "donor_rate_prefix": 0.75,
                         "donor_prefix_successes": 3, "donor_prefix_attempts": 4, "pivot": 0,
                         "pivot_term": "verifier", "prefix_start": 0, "trace_label": "exploit"})
    write_bank(rows, demo / "donor" / "bank.jsonl", {"source": "test stand-in for hackwatch demo"})
    rollouts = [{"step": step, "prompt_id": f"p{p}", "group_id": f"{step}-{p}", "subset": "a" if p % 2 else "b",
                 "reward": float((step + p + g) % 3 == 0) if p % 2 else 0.0, "completion": f"answer {g}",
                 "length": 10 + g} for step in range(1, 9) for p in range(4) for g in range(4)]
    (demo / "rl").mkdir()
    pd.DataFrame(rollouts).to_parquet(demo / "rl" / "rollouts.parquet", index=False)
    shutil.copytree(REPO / "examples", root / "examples")


@pytest.mark.slow
def test_quickstart_runs_as_written(tmp_path):
    commands = quickstart_commands(README.read_text())
    _demo_stand_in(tmp_path)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("COLUMNS", None)
    assert shutil.which("hackwatch", path=env["PATH"]), "the hackwatch console script is not installed"
    for i, command in enumerate(commands, start=1):
        t0 = time.monotonic()
        res = subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, (f"README quickstart command {i} failed (exit {res.returncode}):\n{command}\n"
                                     f"stderr:\n{res.stderr[-3000:]}\nstdout:\n{res.stdout[-2000:]}")
        assert "Traceback" not in res.stderr, (command, res.stderr[-3000:])
        print(f"{time.monotonic() - t0:6.1f} s  {command}")
    for made in ("my-tasks.jsonl", "verdicts.jsonl", "direct.jsonl", "is.jsonl", "my-donor", "my-run/report.html",
                 "my-run-tables/verdicts.parquet", "est.parquet", "fc.parquet", "flags.jsonl"):
        assert (tmp_path / made).exists(), made
    import pandas as pd

    est = pd.read_json(tmp_path / "is.jsonl", lines=True)
    assert {"is", "lower_bound"} <= set(est["method"]), est  # the CLI chain reaches importance sampling
    run_est = pd.read_parquet(tmp_path / "est.parquet")
    assert {"direct", "is"} <= set(run_est["method"]) and set(run_est["step"]) == set(STEPS), run_est
