"""benchmarks/gpu_check.py, the prepared GPU check of issue 16, run here with ``--tiny`` on the CPU so it is
known to work before GPU time is spent on it (real tiny models, real CLI subprocesses; no GPU figures).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers import REPO

SCRIPT = REPO / "benchmarks" / "gpu_check.py"
SECTIONS = ("environment", "score", "precision", "sample")


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tiny_run_writes_every_section_and_the_targets(tmp_path: Path) -> None:
    out = tmp_path / "check.json"
    # vLLM's sections run for real in tests/models/test_vllm_real.py (where vLLM imports); here they are left out
    assert _module().main(["--tiny", "--device", "cpu", "--skip", "cli,vllm,vllm_serve", "--out", str(out)]) == 0
    summary = json.loads(out.read_text())
    assert summary["format"] == "hackwatch.gpu_check/1" and summary["failed_sections"] == []
    for name in SECTIONS:
        assert "error" not in summary[name], summary[name]
    assert "cli" not in summary and "vllm" not in summary and "vllm_serve" not in summary
    score, precision, sample = summary["score"], summary["precision"], summary["sample"]
    assert score["dtype"] == "bfloat16" and score["max_abs_diff"] < 0.05 and score["flop_share"] is None
    assert precision["prefix_len"] == 16 and 0 <= precision["sampled_fp32_head_median"] < 1
    assert precision["bf16_batched_vs_unbatched_max_per_token"] < 0.05
    assert sample["tokens"] == 4 * 8 and sample["hackwatch_tps"] > 0 and sample["generate_tps"] > 0
    targets = summary["targets"]
    assert targets["applies"] is False  # a tiny CPU run checks the script, not the targets
    assert targets["bf16_batched_vs_unbatched_per_token"]["value"] == precision[
        "bf16_batched_vs_unbatched_max_per_token"]
    assert targets["score_flop_share_batch_64"]["met"] is None  # no peak known for a CPU


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed: test_vllm_real runs it")
def test_vllm_sections_say_why_they_did_not_run_without_vllm() -> None:
    mod = _module()
    for section in (mod._vllm, mod._vllm_serve):
        out = section(mod.TINY, "cpu", True)
        assert out["imported"] is False and out["ran"] is False
        assert out["reason"].startswith("import vllm: ModuleNotFoundError")


def test_peak_is_taken_from_the_card_name() -> None:
    mod = _module()
    assert mod.peak_tflops("NVIDIA H100 80GB HBM3") == 989.0 and mod.peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert mod.peak_tflops("NVIDIA H200") == 989.0 and mod.peak_tflops("NVIDIA H200 NVL") == 835.0
    assert mod.peak_tflops("Some CPU") == 0.0


def test_bad_arguments_and_a_missing_device_fail_in_one_line(tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--skip", "score,bogus", "--out", str(out)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 2 and not out.exists()
    assert proc.stderr.strip() == ("gpu_check: --skip: unknown section(s) ['bogus']; expected score, precision, "
                                   "sample, cli, vllm, vllm_serve")
    for size in ("24,1280", "2,100,500", "0,64,500", "a,b,c"):
        proc = subprocess.run([sys.executable, str(SCRIPT), "--size", size, "--out", str(out)],
                              capture_output=True, text=True, cwd=REPO, timeout=300)
        assert proc.returncode == 2 and not out.exists(), size
        assert proc.stderr.startswith(f"gpu_check: --size {size!r}: expected LAYERS,HIDDEN,VOCAB"), proc.stderr
    proc = subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--out", str(tmp_path / "no" / "x.json")],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 2 and "--out" in proc.stderr and "folder does not exist" in proc.stderr
    import torch

    if torch.cuda.is_available():
        return
    proc = subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--device", "cuda", "--out", str(out)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 2 and not out.exists()
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "sees no CUDA device" in proc.stderr


@pytest.mark.slow
def test_tiny_run_as_a_user_types_it_including_the_cli_commands(tmp_path: Path) -> None:
    out = tmp_path / "check.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--threads", "1", "--skip", "precision,vllm,vllm_serve",
                           "--out", str(out)], capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(out.read_text())
    assert json.loads(proc.stdout) == summary
    cli = summary["cli"]
    assert cli["ok"] is True
    assert "bf16 vs fp32" in cli["bench score"]["stdout"] and "ratio hackwatch/generate" in cli["bench sample"]["stdout"]
