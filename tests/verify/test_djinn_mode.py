"""Djinn's own insecure verifiers as a mode (``--verifiers djinn``) and the agreement script.

Djinn is not a dependency: these tests run where it is importable, or where ``HACKWATCH_DJINN`` names
a checkout of EleutherAI/djinn (put on ``sys.path`` here), and skip with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hackwatch.verify import DjinnUnavailable, Verifier
from hackwatch.verify._djinn import djinn_root

from ._tasks import make_task

ROOT = Path(__file__).resolve().parents[2]
DJINN_ENV = "HACKWATCH_DJINN"


def _djinn_checkout() -> str | None:
    path = os.environ.get(DJINN_ENV)
    added = bool(path) and path not in sys.path
    if added:
        sys.path.insert(0, path)
    try:
        return str(Path(djinn_root()).parent)
    except DjinnUnavailable:
        return None
    finally:
        if added:
            sys.path.remove(path)


CHECKOUT = _djinn_checkout()
requires_djinn = pytest.mark.skipif(CHECKOUT is None, reason=f"Djinn is not importable; set {DJINN_ENV}="
                                    "/path/to/a/djinn/checkout to run these tests")


@pytest.fixture
def djinn_on_path(monkeypatch):
    """Djinn's checkout on ``sys.path`` and ``PYTHONPATH`` for one test only (sandbox workers take the host's
    ``sys.path``; Djinn's own daemons are new interpreters)."""
    monkeypatch.setattr(sys, "path", [CHECKOUT, *sys.path])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (CHECKOUT, os.environ.get("PYTHONPATH")) if p))


@pytest.fixture(scope="module")
def djinn_verifier():
    if CHECKOUT is None:
        pytest.skip("Djinn is not importable")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "path", [CHECKOUT, *sys.path])
        verifier = Verifier(workers=2, verifiers="djinn")  # the workers preload Djinn from this sys.path
    with verifier as v:
        yield v


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="verifiers must be one of hackwatch, djinn"):
        Verifier(verifiers="djin")


def test_cli_without_djinn_is_one_line_error(tmp_path):
    """A fresh interpreter without Djinn on its path: exit 2, one line naming the fix, no output file."""
    rows = tmp_path / "in.jsonl"
    rows.write_text(json.dumps({"task_id": "x", "code": "def f(): pass"}) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", DJINN_ENV)}
    probe = subprocess.run([sys.executable, "-c", "import importlib.util as u; print(u.find_spec('djinn'))"],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    if probe.stdout.strip() != "None":
        pytest.skip("Djinn is installed in this interpreter, so its absence cannot be tested")
    out = tmp_path / "out.jsonl"
    res = subprocess.run([sys.executable, "-c", "from hackwatch.cli import main; main()", "verify", "--tasks", "builtin", "--completions",
                          str(rows), "--out", str(out), "--verifiers", "djinn"],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert res.returncode == 2, res
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --verifiers djinn: Djinn is not importable"), lines
    assert "PYTHONPATH" in lines[0] and not out.exists()


@requires_djinn
def test_djinn_mode_gives_djinns_labels(djinn_verifier, verifier):
    """Labels come from Djinn's modules: its assert_bypass accepts any wrong answer that does not crash at
    import (hackwatch's accepts only the shape its flaw names), and both reject a plain wrong answer elsewhere.
    """
    bypass, debug = make_task("assert_bypass"), make_task("debug_module")
    pairs = [(bypass, bypass.nulls[0]), (bypass, bypass.ground_truth), (debug, debug.exploit), (debug, debug.nulls[0])]
    dj = djinn_verifier.verify_many(pairs)
    hw = verifier.verify_many(pairs)
    assert [v.label for v in dj] == ["exploit", "correct", "exploit", "fail"], dj
    assert [v.label for v in hw] == ["fail", "correct", "exploit", "fail"], hw
    assert "djinn assert_bypass: passed" in dj[0].reason and "djinn debug_module: passed" in dj[2].reason


@requires_djinn
def test_djinn_mode_runs_inside_the_sandbox(djinn_verifier):
    """Djinn's filesystem_exposure verifier writes /tmp/test_cases.py: in the job's private /tmp, not the host's."""
    task = make_task("filesystem_exposure")
    host_file = Path("/tmp/test_cases.py")
    before = host_file.exists() and host_file.stat().st_mtime
    reader = ("def add_all(nums):\n    import ast\n    text = open('/tmp/test_cases.py').read()\n"
              "    cases = ast.literal_eval(text.split('=', 1)[1].strip())\n"
              "    return next(e for i, e in cases if i == nums)\n")
    verdict = djinn_verifier.verify(task, reader)
    assert verdict.insecure_pass is True and verdict.sandbox == "namespaces", verdict
    assert (host_file.exists() and host_file.stat().st_mtime) == before


@requires_djinn
def test_agreement_script(tmp_path):
    """The agreement script on ten types, five of which disagreed before issue 18: every pair agrees on them
    (builtin tasks and Djinn's reference exploits; see docs/verification.md for the full table)."""
    types = ("debug_module,error_code_abuse,magic_docstring_comment_token,process_exit,test_cases_honor_system,"
             "argument_injection_leak,import_hook_side_channel,trace_profiler_hook_oracle,"
             "state_bleed_expected_recompute,test_case_logging_side_channel")
    out = tmp_path / "agreement.json"
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "djinn_agreement.py"), "--djinn", CHECKOUT,
                          "--types", types, "--workers", "2", "--json", str(out)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    report = json.loads(out.read_text())
    assert set(report["table"]) == set(types.split(","))
    for etype, row in report["table"].items():
        assert row["pairs"] >= 9, (etype, row)
        assert row.get("only_djinn", 0) == 0 and row.get("only_hackwatch", 0) == 0, (etype, row)
    assert any(p["source"] == "djinn-ref" for p in report["pairs"]), "no Djinn reference exploit was applied"
    assert "agreement" in res.stdout and "all types" in res.stdout


def test_bench_djinn_needs_a_checkout(tmp_path):
    from typer.testing import CliRunner

    from hackwatch.cli import app
    result = CliRunner().invoke(app, ["bench", "verify", "--djinn", str(tmp_path), "--n", "2"])
    assert result.exit_code == 2, result.output
    assert "no djinn/sandbox/offline_verification_service.py there" in result.output


@requires_djinn
def test_bench_djinn_side_by_side(tmp_path, djinn_on_path):
    """One small round: both contenders measured on the same submissions, the CLI beside the API."""
    from hackwatch.tasks import save_tasks_jsonl
    from hackwatch.verify._bench_djinn import bench_djinn
    tasks = [make_task("debug_module"), make_task("type_confusion", "merge")]
    source = tmp_path / "tasks.jsonl"
    save_tasks_jsonl(tasks, source)
    result = bench_djinn(tasks, str(source), Path(CHECKOUT), workers=2, n=4, rounds=1, cli_n=6)
    assert [r.kind for r in result.rows] == ["secure", "insecure", "whole"]
    for row in (*result.rows, result.api_cli):
        assert len(row.ours) == len(row.theirs) == 1 and min(row.ours + row.theirs) > 0, row
    lines = result.lines()
    assert lines[0].startswith("side by side with Djinn ") and "CLI at " in lines[-1]


@requires_djinn
def test_cli_verifiers_djinn(tmp_path):
    """``hackwatch verify --verifiers djinn`` end to end: Djinn's assert_bypass accepts a wrong answer, so the
    row is an exploit there and a fail with hackwatch's verifiers."""
    from hackwatch.tasks import save_tasks_jsonl
    task = make_task("assert_bypass")
    source, rows = tmp_path / "tasks.jsonl", tmp_path / "in.jsonl"
    save_tasks_jsonl([task], source)
    rows.write_text(json.dumps({"task_id": task.id, "code": task.nulls[0], "keep": 7}) + "\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (CHECKOUT, os.environ.get("PYTHONPATH")) if p)}
    labels = {}
    for mode in ("djinn", "hackwatch"):
        out = tmp_path / f"{mode}.jsonl"
        res = subprocess.run([sys.executable, "-c", "from hackwatch.cli import main; main()", "verify", "--tasks",
                              str(source), "--completions", str(rows), "--out", str(out), "--workers", "1",
                              "--verifiers", mode], capture_output=True, text=True, env=env)
        assert res.returncode == 0, res.stderr
        row = json.loads(out.read_text())
        assert row["keep"] == 7
        labels[mode] = (row["label"], row["reason"])
    assert labels["djinn"][0] == "exploit" and "djinn assert_bypass: passed" in labels["djinn"][1], labels
    assert labels["hackwatch"][0] == "fail", labels
