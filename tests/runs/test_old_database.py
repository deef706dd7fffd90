"""A run database from before ``prefixes.proposal`` read by the read-only commands, which never migrate it.

``hackwatch report``, ``hackwatch export`` and :func:`hackwatch.open_run` open the database read-only;
an old one must read as the migrated database would (every prefix the donor bank's).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from hackwatch._api import open_run
from hackwatch.cli import app
from tests.report.synthetic_run import build_synthetic_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a current run, the same run with ``prefixes.proposal`` dropped as before ``[[proposals]]``)."""
    root = tmp_path_factory.mktemp("old")
    new = build_synthetic_run(root / "new")
    old = root / "old"
    shutil.copytree(new, old)
    con = duckdb.connect(str(old / "run.duckdb"))
    con.execute("ALTER TABLE prefixes DROP COLUMN proposal")
    con.close()
    return new, old


def test_old_database_reads_as_the_migrated_one(runs: tuple[Path, Path]) -> None:
    new, old = runs
    assert "proposal" not in open_run(old).prefixes.columns
    for name in ("verdict_table", "score_table"):
        want = getattr(open_run(new), name)()
        got = getattr(open_run(old), name)()
        assert len(got) > 0 and "proposal" in got.columns
        pd.testing.assert_frame_equal(got, want)
    assert "proposal" not in open_run(old).prefixes.columns  # read, never migrated


def test_report_and_export_of_an_old_database(runs: tuple[Path, Path], tmp_path: Path) -> None:
    _, old = runs
    res = CliRunner().invoke(app, ["report", str(old), "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r.html").is_file()
    res = CliRunner().invoke(app, ["export", str(old), "--out", str(tmp_path / "x")])
    assert res.exit_code == 0, res.output
    verdicts = pd.read_parquet(tmp_path / "x" / "verdicts.parquet")
    scores = pd.read_parquet(tmp_path / "x" / "scores.parquet")
    prefilled = verdicts["prefix_id"].notna()
    assert (verdicts.loc[prefilled, "proposal"] == "donor").all() and verdicts.loc[~prefilled, "proposal"].isna().all()
    assert len(scores) > 0 and (scores["proposal"] == "donor").all()
