"""Heartbeat lines when piped, ``hackwatch --version``, quiet third-party libraries, wide tables when piped."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hackwatch import __version__
from hackwatch.cli import app
from hackwatch.progress import HEARTBEAT_SECONDS, Heartbeat, heartbeat_seconds, progress

LINE = re.compile(r"^\[hackwatch\] (\w[\w ]*): (\d+)/(\d+) (\w+)s \((\d+)%\)(, [\d.e+-]+ \w+s/s)?(, ETA \S+)?, \S+ elapsed")


def test_heartbeat_prints_stage_counts_rate_eta_when_not_a_terminal():
    out = io.StringIO()
    with Heartbeat("pretrain", 4, unit="step", every=0.05, stream=out) as hb:
        hb.update(2)
        time.sleep(0.3)  # one slow unit: the ticker still prints (no update for 0.3 s)
        hb.update(2)
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("started") and lines[-1].endswith("done"), lines
    assert len(lines) >= 4, lines  # started, >= 2 ticks during the slow unit, done
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [m.group(2) for m in parsed][-1] == "4" and parsed[-1].group(5) == "100"
    mid = [m for m in parsed[1:-1] if m.group(2) == "2"]
    assert mid and all(m.group(6) and m.group(7) for m in mid), lines  # rate and ETA once units are done


def test_a_stage_that_ends_early_says_stopped_not_done(tmp_path):
    """An error inside the stage, a loop left before its end, a run stage closed after an error: the last
    line says ``stopped`` (a log that said ``done`` claimed a failed stage had finished)."""
    from hackwatch.runs._progress import Progress

    out = io.StringIO()
    with pytest.raises(RuntimeError), Heartbeat("sample", 4, every=60, stream=out) as hb:
        hb.update(1)
        raise RuntimeError("backend died")
    last = out.getvalue().splitlines()[-1]
    assert LINE.match(last) and last.endswith("stopped") and "1/4 items (25%)" in last, last
    out = io.StringIO()
    for _ in progress(["a", "b", "c"], "verify", stream=out, every=60):
        break
    assert out.getvalue().splitlines()[-1].endswith("stopped"), out.getvalue()
    with Heartbeat("score", 2, every=60, stream=io.StringIO()) as hb:
        hb.update(2)
    assert hb.stream.getvalue().splitlines()[-1].endswith("done")
    run = Progress(tmp_path, bars=False)
    with contextlib.redirect_stderr(io.StringIO()) as err:
        run.start("verify", 3, 0)
        run.advance()
        run.close()
    assert err.getvalue().splitlines()[-1].endswith("stopped"), err.getvalue()


def test_heartbeat_on_a_terminal_draws_a_bar_and_prints_no_lines():
    out = io.StringIO()
    with Heartbeat("score", 3, every=0.01, stream=out, bar=True) as hb:
        hb.update(3)
        time.sleep(0.05)
    assert "[hackwatch]" not in out.getvalue() and "3/3" in out.getvalue()


def test_progress_wraps_an_iterable_and_counts_it():
    out = io.StringIO()
    assert list(progress(["a", "b", "c"], "verify", unit="check", stream=out, every=60)) == ["a", "b", "c"]
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[hackwatch] verify: 0/3 checks (0%)") and "3/3 checks (100%)" in lines[-1]


def test_heartbeat_refuses_a_nonpositive_interval():
    with pytest.raises(ValueError, match="every=0"):
        Heartbeat("x", 1, every=0)


def test_heartbeat_interval_from_the_environment(monkeypatch):
    monkeypatch.setenv("HACKWATCH_HEARTBEAT_SECONDS", "0.05")
    assert heartbeat_seconds() == 0.05
    out = io.StringIO()
    with Heartbeat("verify", 2, stream=out) as hb:  # no every=: the environment's interval
        time.sleep(0.3)
        hb.update(2)
    assert len(out.getvalue().splitlines()) >= 4, out.getvalue()  # started, ticks, done
    for bad in ("0", "-1", "soon", "inf"):
        monkeypatch.setenv("HACKWATCH_HEARTBEAT_SECONDS", bad)
        with pytest.warns(UserWarning, match=f"HACKWATCH_HEARTBEAT_SECONDS='{bad}': expected seconds > 0"):
            assert heartbeat_seconds() == HEARTBEAT_SECONDS
    monkeypatch.delenv("HACKWATCH_HEARTBEAT_SECONDS")
    assert heartbeat_seconds() == HEARTBEAT_SECONDS


def test_disabled_heartbeat_counts_and_prints_nothing():
    out = io.StringIO()
    with Heartbeat("sample", 3, every=0.01, stream=out, enabled=False) as hb:
        hb.update(3)
        time.sleep(0.05)
        hb.beat("asked")
    assert hb.done == 3 and out.getvalue() == ""


def test_version_option():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"hackwatch {__version__}"


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> Path:
    from hackwatch.models import tiny_causal_lm, train_tokenizer
    from hackwatch.tasks import load_tasks

    tasks = load_tasks("builtin")[:4]
    tok = train_tokenizer([t.prompt for t in tasks] + [t.ground_truth for t in tasks], vocab_size=300)
    path = tmp_path_factory.mktemp("quiet") / "step-3"
    tiny_causal_lm(tok, layers=1, hidden=32, heads=2, seed=0).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TRANSFORMERS_VERBOSITY",
                                                                 "HF_HUB_DISABLE_PROGRESS_BARS")}
    return subprocess.run([sys.executable, "-c", "from hackwatch.cli import main; main()", *args], cwd=cwd,
                          capture_output=True, text=True, env={**environ, **env}, timeout=300)


@pytest.mark.slow  # CLI subprocesses on a tiny model: 30 s to 2 min on 2 busy cores
def test_sample_piped_is_quiet_about_libraries(saved_model, tmp_path):
    """Piped stderr of a model command: no weight-loading bar, no library deprecation warnings;
    HACKWATCH_LIBRARY_LOGS=1 brings them back (so the silence is ours, not an accident of versions)."""
    args = ["sample", "--model", str(saved_model), "--tasks", "builtin", "--limit", "1", "--n", "1",
            "--max-new-tokens", "3", "--out", "s.jsonl"]
    quiet = _cli(args, tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert _others(quiet.stderr) == ["wrote 1 samples to s.jsonl"], quiet.stderr
    loud = _cli(args, tmp_path, HACKWATCH_LIBRARY_LOGS="1")
    assert loud.returncode == 0 and len(_others(loud.stderr)) > 1, loud.stderr


def _others(stderr: str) -> list[str]:
    """The stderr lines that are not hackwatch heartbeat lines."""
    return [line for line in stderr.strip().splitlines() if not line.startswith("[hackwatch] ")]


def _beats(stderr: str, stage: str) -> list[re.Match[str]]:
    """The heartbeat lines of ``stage``, parsed (every one must parse)."""
    lines = [line for line in stderr.splitlines() if line.startswith(f"[hackwatch] {stage}: ")]
    parsed = [LINE.match(line) for line in lines]
    assert lines and all(parsed), stderr
    assert lines[0].endswith("started") and "done" in lines[-1], lines
    return [m for m in parsed if m is not None]


@pytest.fixture(scope="module")
def piped(saved_model, tmp_path_factory) -> dict[str, subprocess.CompletedProcess[str]]:
    """The standalone commands run in a row on a tiny model, stderr piped, heartbeat every 0.05 s."""
    import json

    d = tmp_path_factory.mktemp("piped")
    model = str(saved_model)
    beat = {"HACKWATCH_HEARTBEAT_SECONDS": "0.05"}
    runs: dict[str, subprocess.CompletedProcess[str]] = {}

    def run(name: str, args: list[str]) -> None:
        runs[name] = res = _cli(args, d, **beat)
        assert res.returncode == 0, f"{name}: {res.stderr}"

    run("sample", ["sample", "--model", model, "--tasks", "builtin", "--limit", "3", "--n", "2",
                   "--max-new-tokens", "6", "--temperature", "0.8", "--out", "s.jsonl", "--device", "cpu"])
    run("score", ["score", "--model", model, "--prefixes", "s.jsonl", "--tasks", "builtin", "--temperature", "0.8",
                  "--with-generated", "--out", "sc.jsonl", "--device", "cpu"])
    from hackwatch.tasks import load_tasks

    code = [{"task_id": t.id, "code": t.ground_truth + "\n" * i} for t in load_tasks("builtin")[:3] for i in (1, 2)]
    (d / "code.jsonl").write_text("".join(json.dumps(r) + "\n" for r in code))  # the tiny model writes no code
    run("verify", ["verify", "--tasks", "builtin", "--completions", "code.jsonl", "--out", "v.jsonl", "--workers", "1"])
    run("capture", ["probe", "capture", "--model", model, "--samples", "s.jsonl", "--tasks", "builtin",
                    "--windows", "1,2", "--out", "acts", "--device", "cpu"])
    rows = [json.loads(line) for line in (d / "s.jsonl").read_text().splitlines()]
    (d / "labels.jsonl").write_text("".join(json.dumps({**r, "label": "exploit" if r["sample_index"] == 0 else "fail"})
                                            + "\n" for r in rows))
    run("probe train", ["probe", "train", "--acts", "acts", "--labels", "labels.jsonl", "--out", "probe",
                        "--folds", "2", "--inner-folds", "2", "--quiet"])
    run("donor train", ["donor", "train", "--model", model, "--tasks", "builtin", "--split", "all", "--out", "donor",
                        "--full", "--max-steps", "3", "--batch-size", "2"])
    return runs


@pytest.mark.slow  # CLI subprocesses on a tiny model: 30 s to 2 min on 2 busy cores
@pytest.mark.parametrize("name, stage, total, unit", [
    ("sample", "sample", 6, "seq"),
    ("score", "score", 6, "seq"),
    ("verify", "verify", 6, "submission"),
    ("capture", "capture", 6, "seq"),
    ("probe train", "probe train", 2, "probe"),  # windows 1,2 x layer -1 x mean
    ("donor train", "donor train", 3, "step"),
])
def test_standalone_commands_print_heartbeats_when_piped(piped, name, stage, total, unit):
    """Each long loop of a standalone command prints heartbeat lines when stderr is not a terminal:
    stage, done/total, rate and ETA, from ``started`` to a ``done`` line at 100%."""
    res = piped[name]
    beats = _beats(res.stderr, stage)
    assert {(int(m.group(3)), m.group(4)) for m in beats} == {(total, unit)}, res.stderr
    assert beats[0].group(2) == "0" and beats[-1].group(2) == str(total) and beats[-1].group(5) == "100"
    counts = [int(m.group(2)) for m in beats]
    assert counts == sorted(counts), res.stderr  # done only grows
    assert "it/s]" not in res.stderr and "\r" not in res.stderr  # no tqdm bar drawn into a pipe


@pytest.mark.slow  # CLI subprocesses on a tiny model: 30 s to 2 min on 2 busy cores
def test_donor_train_heartbeat_ticks_with_the_last_loss(piped):
    lines = [line for line in piped["donor train"].stderr.splitlines() if line.startswith("[hackwatch] donor train:")]
    assert len(lines) >= 3 and re.search(r"done, last loss [\d.]+", lines[-1]), lines  # ticks between start and end
    assert not any(line.startswith("{'loss'") for line in piped["donor train"].stdout.splitlines())  # no TRL dicts


def test_tables_keep_their_columns_when_piped(tmp_path):
    """``hackwatch estimate`` prints a rich table; piped, it is not cut to 80 columns."""
    rows = [{"task_id": f"t{i}", "exploit_type": "a_rather_long_exploit_type_name", "checkpoint": "step-1",
             "step": 1, "prefix_id": None, "prefix_tokens": 0, "temperature": 1.0, "exploit": i % 3 == 0}
            for i in range(12)]
    import json

    (tmp_path / "v.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = _cli(["estimate", "--verdicts", "v.jsonl", "--out", "e.jsonl"], tmp_path)
    assert res.returncode == 0, res.stderr
    widest = max(len(line) for line in res.stdout.splitlines())
    assert widest > 80 and "a_rather_long_exploit_type_name" in res.stdout, res.stdout


class _Engine:
    """Stands in for ``vllm.LLM`` (vLLM is a GPU extra, not installed here): records ``use_tqdm``, takes 0.3 s."""

    def __init__(self) -> None:
        self.use_tqdm: list[object] = []

    def generate(self, prompts: list[object], params: object, use_tqdm: object = True) -> list[object]:
        self.use_tqdm.append(use_tqdm)
        time.sleep(0.3)
        return list(prompts)


def test_vllm_generate_beats_around_the_engine_call_when_piped(monkeypatch, capsys):
    from hackwatch.models._vllm import generate

    monkeypatch.setenv("HACKWATCH_HEARTBEAT_SECONDS", "0.05")
    engine = _Engine()
    assert generate(engine, ["a", "b", "c"], None, progress=True, stage="sample") == ["a", "b", "c"]
    lines = capsys.readouterr().err.splitlines()
    assert engine.use_tqdm == [False]  # no vLLM bar drawn into a pipe
    assert len(lines) >= 4 and all(LINE.match(line) for line in lines), lines  # started, ticks while it runs, done
    assert lines[1].startswith("[hackwatch] sample: 0/3 seqs") and lines[-1].endswith("done")
    assert "3/3 seqs (100%)" in lines[-1]
    assert generate(engine, ["a"], None, progress=False, stage="sample") == ["a"]
    assert engine.use_tqdm[-1] is False and capsys.readouterr().err == ""


def test_a_bar_inside_a_bar_is_cleared_when_it_ends_and_the_outer_one_stays():
    """Inner bars used to stay on screen (tqdm ``leave=True``), one finished line per inner stage under the outer
    bar; now only the outermost bar leaves its final state, and a later top-level bar is outermost again."""
    out = io.StringIO()
    with Heartbeat("run", 2, stream=out, bar=True) as outer:
        for _ in range(2):
            with Heartbeat("verify", 3, stream=out, bar=True) as inner:
                inner.update(3)
            outer.update()
    text = out.getvalue()
    assert "run: 100%" in text and "2/2" in text, text  # the outer bar's final state is left
    assert "verify: 100%" not in text and "3/3" not in text, text  # the inner bars' are not
    with Heartbeat("score", 3, stream=out, bar=True) as hb:
        hb.update(3)
    assert "score: 100%" in out.getvalue()


def test_a_bar_dropped_without_close_does_not_make_every_later_bar_inner():
    """A bar left unclosed (an error between creating it and its ``with``) counted as open forever, so every
    later top-level bar of the process was cleared when it ended; once the dropped bar is collected it no longer
    counts."""
    import gc

    def fails() -> None:
        Heartbeat("lost", 3, stream=io.StringIO(), bar=True)
        raise RuntimeError("before the with")

    with pytest.raises(RuntimeError):
        fails()
    gc.collect()
    out = io.StringIO()
    with Heartbeat("score", 3, stream=out, bar=True) as hb:
        hb.update(3)
    assert "score: 100%" in out.getvalue(), out.getvalue()
