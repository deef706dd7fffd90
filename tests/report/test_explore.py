"""Exploration-hacking panel: the run's flags, a locked organism's flags found beside the run, extra tables."""

from __future__ import annotations

import html as html_lib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hackwatch.cli import app
from hackwatch.monitor import detect_flags, flags_frame, step_metrics, write_rollouts
from hackwatch.report import write_report
from hackwatch.report._explore import DEMO_CONFIG_ORIGIN, flag_sources, flags_table, is_demo_run
from tests.report.synthetic_run import build_synthetic_run, write_rollouts_file


def _locked_organism(folder: Path, seed: int = 1) -> Path:
    """Rollouts in which subset ``trigger`` always fails while ``plain`` learns, and their flags file."""
    rng = np.random.default_rng(seed)
    rows = [{"step": step, "prompt_id": f"{sub}-{p}", "group_id": f"{step}:{sub}-{p}", "subset": sub,
             "reward": float(sub == "plain" and rng.random() < 0.3 + 0.05 * step), "completion": f"c{g}", "length": 2}
            for step in range(1, 9) for sub in ("plain", "trigger") for p in range(3) for g in range(4)]
    folder.mkdir(parents=True)
    rollouts = pd.DataFrame(rows)
    write_rollouts(rollouts, folder / "rollouts.parquet")
    flags = flags_frame(detect_flags(step_metrics(rollouts)))  # what HackwatchCallback writes at train end
    write_rollouts(flags, folder / "flags.parquet")
    return folder / "flags.parquet"


def _mark_as_demo_run(run_dir: Path) -> None:
    """Record the provenance ``hackwatch demo`` gives its run (``config_origin`` = ``demo``)."""
    from hackwatch.store import RunStore

    with RunStore.open(run_dir) as store:
        store.set_provenance({"config_origin": DEMO_CONFIG_ORIGIN})


@pytest.fixture(scope="module")
def demo_like(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUT/run (a demo run that monitored its RL rollouts) and OUT/locked/flags.parquet, as the demo lays them out."""
    out = tmp_path_factory.mktemp("demo_out")
    build_synthetic_run(out / "run", rollouts=write_rollouts_file(out / "rollouts.jsonl"))
    _mark_as_demo_run(out / "run")
    _locked_organism(out / "locked")
    return out


def test_locked_organism_flags_beside_the_run_are_reported_with_evidence(demo_like: Path) -> None:
    from hackwatch._api import open_run

    r = open_run(demo_like / "run")
    assert is_demo_run(r.provenance)
    sources = flag_sources(r.flags, r.config, r.run_dir, demo_run=True)
    assert [s.label for s in sources] == ["RL run", "locked organism"]
    for src in sources:  # evidence curves from each run's own rollouts
        assert src.metrics is not None and {"pass@1", "frac_zero_std"} <= set(src.metrics.columns)
    locked = sources[1]
    assert set(locked.metrics["subset"]) == {"plain", "trigger"}
    assert (locked.metrics.loc[locked.metrics["subset"] == "trigger", "frac_zero_std"] == 1).all()
    table = flags_table(sources)
    assert set(table["run"]) == {"RL run", "locked organism"}
    assert "trigger" in set(table.loc[table["run"] == "locked organism", "subset"])
    assert table["numbers"].str.contains("frac_all_fail=1").any()  # the flags' numbers, readable

    out = write_report(demo_like / "run", demo_like / "report.html")
    text = html_lib.unescape(out.read_text())
    assert "locked organism: " + str(demo_like / "locked" / "flags.parquet") in text
    assert "subset 'trigger'" in text and (demo_like / "report_figures" / "exploration.png").is_file()


def test_a_run_that_is_not_the_demo_does_not_take_a_locked_organism_beside_it(demo_like: Path, tmp_path: Path) -> None:
    """A user's run copied next to a demo output (OUT/mine beside OUT/locked) reports only its own flags."""
    from hackwatch._api import open_run

    mine = demo_like / "mine"
    shutil.copytree(demo_like / "run", mine, ignore=shutil.ignore_patterns("report*"))
    try:
        from hackwatch.store import RunStore

        with RunStore.open(mine) as store:
            store.set_provenance({"config_origin": "mine.toml"})  # what hackwatch run records for a config file
        r = open_run(mine)
        assert not is_demo_run(r.provenance)
        assert [s.label for s in flag_sources(r.flags, r.config, r.run_dir, demo_run=False)] == ["RL run"]
        text = html_lib.unescape(write_report(mine, tmp_path / "r.html").read_text())
        assert "locked organism" not in text and "trigger" not in text
        # ... and one in the locked organism's own place inside the run folder is not taken either.
        _locked_organism(mine / "locked")
        assert "locked organism" not in html_lib.unescape(write_report(mine, tmp_path / "r2.html").read_text())
    finally:
        shutil.rmtree(mine)


def test_report_cli_extra_flags(demo_like: Path, tmp_path: Path) -> None:
    """``hackwatch report --extra-flags LABEL=PATH`` (repeatable) adds those runs' flags with their evidence."""
    other = _locked_organism(tmp_path / "other", seed=3)
    out = tmp_path / "r.html"
    res = CliRunner().invoke(app, ["report", str(demo_like / "run"), "--out", str(out),
                                   "--extra-flags", f"probe run={other}",
                                   "--extra-flags", f"locked organism={demo_like / 'locked' / 'flags.parquet'}"])
    assert res.exit_code == 0, res.output
    text = html_lib.unescape(out.read_text())
    assert f"probe run: {other}" in text
    assert text.count("locked organism: ") == 1  # given explicitly: not picked up a second time


@pytest.mark.parametrize("value, expected", [
    ("no-equals-sign", "expected LABEL=PATH"),
    ("=flags.parquet", "expected LABEL=PATH"),
    ("probe=", "expected LABEL=PATH"),
    ("probe={missing}", "is not a file"),
    ("probe={bad}", "cannot read the probe's flags table"),
    ("probe={rollouts}", "not a flags table (no column 'rule'"),  # the rollouts file beside the flags file
])
def test_report_cli_bad_extra_flags_is_one_line_and_writes_nothing(demo_like: Path, tmp_path: Path, value: str,
                                                                   expected: str) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"\x00\xffnot parquet")
    value = value.format(missing=tmp_path / "missing.parquet", bad=bad, rollouts=demo_like / "locked" / "rollouts.parquet")
    out = tmp_path / "out" / "r.html"
    out.parent.mkdir()
    res = CliRunner().invoke(app, ["report", str(demo_like / "run"), "--out", str(out), "--extra-flags", value])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], res.output
    assert list(out.parent.iterdir()) == []


def test_extra_flags_tables_and_files_are_added(demo_like: Path, tmp_path: Path) -> None:
    extra = pd.DataFrame([{"rule": "reference_gap", "severity": "alarm", "subset": "math", "first_step": 3,
                           "last_step": 9, "evidence": "subset 'math': reference pass@4 0.80 vs policy 0.10",
                           "numbers": '{"gap": 0.7}'}])
    out = write_report(demo_like / "run", tmp_path / "r.html",
                       extra_flags={"honest organism": extra,
                                    "locked organism": demo_like / "locked" / "flags.parquet"})
    text = html_lib.unescape(out.read_text())
    assert "subset 'math': reference pass@4 0.80 vs policy 0.10" in text and "gap=0.7" in text
    assert text.count("locked organism: ") == 1  # given explicitly: not picked up a second time


def test_unreadable_extra_flags_file_fails_before_anything_is_written(demo_like: Path, tmp_path: Path) -> None:
    bad = tmp_path / "flags.parquet"
    bad.write_bytes(b"\x00\xffnot parquet")
    with pytest.raises(ValueError, match=rf"{bad}: cannot read the probe run's flags table"):
        write_report(demo_like / "run", tmp_path / "r.html", extra_flags={"probe run": bad})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flags.parquet"]  # no report, no figure folder


def test_a_flags_file_with_an_upper_case_suffix_reads_as_write_rollouts_wrote_it(tmp_path: Path) -> None:
    """``write_rollouts`` (and so HackwatchCallback) picks Parquet by the suffix in any case; so does the report."""
    flags = pd.DataFrame([{"rule": "reward_homogeneity", "severity": "warning", "subset": "trigger", "first_step": 1,
                           "last_step": 4, "evidence": "e", "numbers": "{}"}])
    path = tmp_path / "FLAGS.PARQUET"
    write_rollouts(flags, path)
    [src] = flag_sources(pd.DataFrame(), {}, tmp_path, {"other run": path})
    assert src.flags["rule"].tolist() == ["reward_homogeneity"]


def test_run_without_monitor_says_so(tmp_path: Path) -> None:
    run_dir = build_synthetic_run(tmp_path / "run")
    text = write_report(run_dir, tmp_path / "r.html").read_text()
    assert "No rollouts were monitored in this run" in text
    assert not (tmp_path / "r_figures" / "exploration.png").exists()
