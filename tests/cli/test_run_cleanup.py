"""A ``hackwatch run`` that fails before finishing any unit leaves no run folder behind."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from hackwatch.cli import app


def test_failed_run_leaves_no_run_folder(tmp_path: Path) -> None:
    (tmp_path / "ckpts" / "step-1").mkdir(parents=True)  # a checkpoint folder without a model in it
    config = tmp_path / "run.toml"
    config.write_text('[run]\nout = "my-run"\n[tasks]\nsource = "builtin"\nids = ["count_vowels"]\n'
                      '[subject]\ndevice = "cpu"\ndir = "ckpts"\n[sampling]\ndirect_samples = 1\nmax_new_tokens = 2\n')
    result = CliRunner().invoke(app, ["run", str(config)])
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "step-1" in lines[-1], result.stderr
    assert not (tmp_path / "my-run").exists(), list((tmp_path / "my-run").iterdir())
