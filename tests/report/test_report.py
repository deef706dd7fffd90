from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hackwatch.cli import app
from hackwatch.report import TOY_BANNER, write_report
from tests.report.synthetic_run import build_synthetic_run, write_rollouts_file


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("syn")
    return build_synthetic_run(root / "run", seed=0, rollouts=write_rollouts_file(root / "rollouts.jsonl"))


def test_flags_from_rollouts_reach_the_store_and_report(run_dir: Path) -> None:
    from hackwatch._api import open_run

    flags = open_run(run_dir).flags
    assert len(flags) >= 1
    assert "locked" in set(flags["subset"]) and "ordinary" not in set(flags["subset"])
    assert {"rule", "severity", "evidence", "first_step", "last_step"} <= set(flags.columns)
    html = write_report(run_dir, run_dir.parent / "flags.html").read_text()
    assert flags["evidence"].iloc[0][:40] in html.replace("&#x27;", "'")


def test_report_is_self_contained(run_dir: Path, tmp_path: Path) -> None:
    out = write_report(run_dir, tmp_path / "r.html")
    html = out.read_text()
    figs = sorted(p.name for p in (tmp_path / "r_figures").iterdir())
    assert figs == ["crossings.png", "exploration.png", "labels.png", "trajectories.png"]
    imgs = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert len(imgs) == 4 and all(src.startswith("data:image/png;base64,") for src in imgs)
    assert not re.search(r'(src|href)="(https?:)?//', html), "the report must not fetch anything"
    assert TOY_BANNER in html  # the run's config asked for the banner
    assert "model: checkpoint-1=/models/ck1" in html  # figures say which model and data
    assert "data: tasks synthetic (6 tasks)" in html
    sections = ("Verdict", "Exploit probability per exploit type", "Forecasts", "Exploration-hacking flags",
                "Samples and verdicts", "Provenance")
    positions = [html.index(f"{s}</h2>") for s in sections]
    assert positions == sorted(positions)  # the verdict first, provenance last
    assert re.search(r'<details><summary>Estimates \(18 rows', html)  # long tables folded
    no_banner = write_report(run_dir, tmp_path / "plain.html", toy_banner=False, title="Custom <title>")
    text = no_banner.read_text()
    assert TOY_BANNER not in text and "Custom &lt;title&gt;" in text


def test_report_cli(run_dir: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["report", str(run_dir), "--out", str(tmp_path / "x.html"), "--no-toy-banner"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "x.html").is_file() and (tmp_path / "x_figures" / "trajectories.png").is_file()
    res = CliRunner().invoke(app, ["report", str(tmp_path / "nowhere")])
    assert res.exit_code == 2
    assert "no run database here" in res.output


def test_report_of_a_run_without_a_recorded_config(tmp_path: Path) -> None:
    """A run database whose provenance has no config (a run that stopped before recording it) still gets a
    report: the emergence threshold falls back to 0.1 instead of float('?')."""
    from hackwatch.store import RunStore

    with RunStore.open(tmp_path / "bare"):
        pass
    res = CliRunner().invoke(app, ["report", str(tmp_path / "bare"), "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.output
    assert "direct rate above 0.1" in (tmp_path / "r.html").read_text()
