"""The GPU check of issue 16: one run of a few minutes on one H100/H200, one JSON summary.

Builds random-weight Llama models from a transformers config (no downloads; ~434M parameters at the
default size: 24 layers, hidden 1280, vocab 32,000) and runs, on ``--device`` (default ``cuda``):

* ``score``: ``hackwatch bench score``'s timing (``run_score_bench``) with the model in bf16 —
  shared-prompt batched scoring at ``--batch-size`` 64 vs the naive loop, tokens/s, the largest gap
  between the two paths, and the share of the card's bf16 FLOP ceiling (2 x parameters per token);
* ``precision``: ``bench score``'s bf16-vs-fp32 section (``run_precision_bench``) — |Δ log P| of
  128-token sampled and unlikely prefixes (bf16 weights with the float32 head, and with bf16
  logits), batched vs unbatched and sampler vs scorer per token in bf16;
* ``sample``: ``hackwatch bench sample`` (``run_sample_bench``) — hackwatch's sampler vs
  ``model.generate`` at batch 64, tokens/s (the model in float32, as that bench builds it);
* ``cli``: the two commands themselves on a small model on the same device (flags and CUDA path);
* ``vllm``: ``import vllm``; when it imports (and the device is CUDA), the ``vllm:`` backend on the
  same random model saved to a temporary folder: per-token log-probs of its samples against the
  transformers scorer, its prompt log-probs against the same, and seed reproducibility;
* ``targets``: issue 16's targets checked against the figures (only meaningful on a GPU at full size).

Every section records its own error instead of stopping the run. Exit status 0 when every section
ran, 1 when one raised, 2 for bad arguments or a missing device. ``--tiny`` runs everything on a
two-layer model (seconds on a CPU), so the script is known to work before GPU time is spent::

    python benchmarks/gpu_check.py --out gpu_check.json                 # on the GPU machine
    python benchmarks/gpu_check.py --tiny --device cpu --threads 1      # here, to test the script
    python benchmarks/gpu_check.py --size 2,64,32000 --device cpu       # the full work, a toy model

Needs torch, transformers, tokenizers, typer, rich, tqdm, numpy, pyyaml, httpx (not DuckDB, TRL or
datasets); from a checkout without installing: ``PYTHONPATH=src python benchmarks/gpu_check.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from typing import Any

FULL = {"layers": 24, "hidden": 1280, "vocab": 32000}
"""~434M parameters (tied embeddings): 24 x 16.4M per layer + 41M embedding."""
TINY = {"layers": 2, "hidden": 64, "vocab": 500}

PEAK_BF16_TFLOPS = (("H100 NVL", 835.0), ("H100 PCIe", 756.0), ("H100", 989.0), ("H200 NVL", 835.0),
                    ("H200", 989.0), ("A100", 312.0))
"""Dense bf16 peak TFLOP/s by device-name fragment (vendor data sheets), first match wins."""

TARGETS = {"sampled_median_nat": 0.1, "batched_vs_unbatched_nat_per_token": 1e-3, "flop_share": 0.30,
           "sampler_vs_generate": 1.0}
"""Issue 16's GPU targets."""


def _section(summary: dict[str, Any], name: str, fn: Callable[[], dict[str, Any]]) -> None:
    """Run one section; its figures (or its error) go to ``summary[name]`` with its wall time."""
    print(f"[gpu_check] {name} ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    try:
        out = fn()
    except Exception as e:  # noqa: BLE001 - the summary records any failure and the run goes on
        out = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-3000:]}
    out["seconds"] = round(time.perf_counter() - t0, 2)
    summary[name] = out
    print(f"[gpu_check] {name}: {'error' if 'error' in out else 'ok'} ({out['seconds']} s)", file=sys.stderr,
          flush=True)


def _environment(device: str) -> dict[str, Any]:
    import torch
    import transformers

    import hackwatch

    env: dict[str, Any] = {"python": platform.python_version(), "torch": torch.__version__,
                           "transformers": transformers.__version__, "hackwatch": hackwatch.__version__,
                           "device": device, "cuda_available": torch.cuda.is_available(),
                           "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(torch.device(device))
        env.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                   capability=f"{props.major}.{props.minor}", cuda=torch.version.cuda,
                   # a TF32 float32 reference would not be float32: recorded so a reader can tell
                   allow_tf32=torch.backends.cuda.matmul.allow_tf32,
                   float32_matmul_precision=torch.get_float32_matmul_precision())
    return env


def peak_tflops(gpu_name: str) -> float:
    """The dense bf16 peak of a known card from its name, else 0 (unknown: no FLOP share computed)."""
    for fragment, peak in PEAK_BF16_TFLOPS:
        if fragment in gpu_name:
            return peak
    return 0.0


def _score(size: dict[str, int], device: str, tiny: bool, peak: float) -> dict[str, Any]:
    from hackwatch.models._bench import run_score_bench

    work = ({"prompt_words": 20, "prefix_len": 16, "prefixes": 4, "prompts": 2, "batch_size": 4} if tiny else
            {"prompt_words": 200, "prefix_len": 128, "prefixes": 64, "prompts": 2, "batch_size": 64})
    res = run_score_bench(**size, **work, temperature=0.4, device=device, dtype="bfloat16")
    res.update(work)
    res["gflops"] = 2 * res["params"] * res["shared_tps"] / 1e9
    res["peak_tflops"] = peak
    res["flop_share"] = res["gflops"] / (peak * 1e3) if peak > 0 else None
    return res


def _precision(size: dict[str, int], device: str, tiny: bool) -> dict[str, Any]:
    from hackwatch.models._bench import run_precision_bench

    return run_precision_bench(**size, prefix_len=16 if tiny else 128, prefixes=4 if tiny else 32, device=device)


def _sample(size: dict[str, int], device: str, tiny: bool) -> dict[str, Any]:
    from hackwatch.models._bench import run_sample_bench

    res = run_sample_bench(**size, batch=4 if tiny else 64, new_tokens=8 if tiny else 128, device=device,
                           rounds=1 if tiny else 2)
    res["dtype"] = "float32"
    return res


def _cli(device: str) -> dict[str, Any]:
    """``hackwatch bench score`` and ``bench sample`` as a user types them, on a small model."""
    small = ["--layers", "2", "--hidden", "128", "--vocab", "1000", "--device", device]
    commands = {
        "bench score": ["bench", "score", *small, "--prompts", "1", "--prefixes", "4", "--prefix-len", "16",
                        "--prompt-len", "20", "--batch-size", "4", "--precision-prefixes", "2",
                        "--precision-len", "16", "--dtype", "bfloat16"],
        "bench sample": ["bench", "sample", *small, "--batch", "4", "--new-tokens", "8", "--rounds", "1"],
    }
    out: dict[str, Any] = {}
    for name, args in commands.items():
        proc = subprocess.run([sys.executable, "-c", "from hackwatch.cli import main; main()", *args],
                              capture_output=True, text=True, timeout=300)
        out[name] = {"argv": "hackwatch " + " ".join(args), "returncode": proc.returncode,
                     "stdout": proc.stdout[-2000:], "stderr": proc.stderr[-1500:]}
    out["ok"] = all(v["returncode"] == 0 for v in out.values() if isinstance(v, dict))
    return out


def _vllm(size: dict[str, int], device: str, tiny: bool) -> dict[str, Any]:
    """Import vLLM; where it imports on CUDA, run the ``vllm:`` backend against the transformers scorer."""
    try:
        import vllm
    except Exception as e:  # noqa: BLE001 - ImportError, or a broken install raising anything
        return {"imported": False, "ran": False, "reason": f"import vllm: {type(e).__name__}: {e}"}
    out: dict[str, Any] = {"imported": True, "version": getattr(vllm, "__version__", "?"), "ran": False}
    if not device.startswith("cuda"):
        out["reason"] = f"vLLM runs on CUDA here; device is {device}"
        return out
    import gc
    import statistics

    import torch

    from hackwatch.models._bench import _tiny_world
    from hackwatch.models._transformers import TransformersBackend
    from hackwatch.models._types import SampleRequest, ScoreRequest
    from hackwatch.models._vllm import VLLMBackend

    tok, model = _tiny_world(**size, positions=1024, seed=3)
    with tempfile.TemporaryDirectory(prefix="hackwatch-gpu-check-") as path:
        model.to(torch.bfloat16).save_pretrained(path)
        tok.save_pretrained(path)
        hf = TransformersBackend(path, device=device)  # bf16 weights, float32 head: hackwatch's scorer
        # eager: no torch.compile / CUDA-graph capture (minutes of device time for a correctness check)
        be = VLLMBackend(path, dtype="bfloat16", gpu_memory_utilization=0.35, max_model_len=1024, seed=0,
                         enforce_eager=True)
        out["ran"] = True
        reqs = [SampleRequest(f"Task {i}: write the function and explain the tests.", n=2, key=f"t{i}")
                for i in range(4 if tiny else 8)]
        prompts = {r.key: r.prompt for r in reqs}
        for tau in (1.0, 0.7):
            comps = be.sample(reqs, temperature=tau, max_new_tokens=32 if tiny else 128, seed=0)
            again = be.sample(reqs, temperature=tau, max_new_tokens=32 if tiny else 128, seed=0)
            prefixes = [ScoreRequest(prompts[c.key], c.generated_ids, key=c.key) for c in comps]
            ref = hf.score_prefixes(prefixes, temperature=tau)
            gaps = [abs(a - b) for c, s in zip(comps, ref, strict=True)
                    for a, b in zip(c.token_logprobs, s.token_logprobs, strict=True)]
            row: dict[str, Any] = {
                "samples": len(comps), "tokens": len(gaps),
                "prompt_ids_agree": all(c.prompt_ids == hf.prompt_ids(prompts[c.key]) for c in comps),
                "same_seed_same_tokens": all(a.generated_ids == b.generated_ids for a, b in zip(comps, again,
                                                                                                 strict=True)),
                "sampler_vs_hf_scorer_median_per_token": statistics.median(gaps) if gaps else None,
                "sampler_vs_hf_scorer_max_per_token": max(gaps) if gaps else None}
            if tau == 1.0:  # vLLM's prompt log-probs are exact at τ = 1 (top-K rescaling elsewhere)
                mine = be.score_prefixes(prefixes, temperature=tau)
                per_prefix = [abs(a.logprob - b.logprob) for a, b in zip(mine, ref, strict=True)]
                row["vllm_scorer_vs_hf_scorer_median_per_prefix"] = statistics.median(per_prefix)
                row["vllm_scorer_vs_hf_scorer_max_per_prefix"] = max(per_prefix)
            out[f"tau_{tau:g}"] = row
        del be
        gc.collect()
    return out


def _targets(summary: dict[str, Any], applies: bool) -> dict[str, Any]:
    """Issue 16's targets, each ``{"value", "target", "met"}`` (``met`` None where the figure is missing)."""
    def check(section: str, key: str, target: float, at_most: bool) -> dict[str, Any]:
        value = summary.get(section, {}).get(key)
        met = None if value is None else (value <= target if at_most else value >= target)
        return {"value": value, "target": ("<= " if at_most else ">= ") + f"{target:g}", "met": met}

    return {
        "applies": applies,
        "bf16_logp_sampled_128_median_nat": check("precision", "sampled_fp32_head_median",
                                                  TARGETS["sampled_median_nat"], True),
        "bf16_batched_vs_unbatched_per_token": check("precision", "bf16_batched_vs_unbatched_max_per_token",
                                                     TARGETS["batched_vs_unbatched_nat_per_token"], True),
        "score_flop_share_batch_64": check("score", "flop_share", TARGETS["flop_share"], False),
        "sampler_vs_generate_ratio": check("sample", "ratio", TARGETS["sampler_vs_generate"], False),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=None, help="cuda (default) or cpu; --tiny defaults to cpu")
    parser.add_argument("--tiny", action="store_true", help="a two-layer model and tiny work: tests the script")
    parser.add_argument("--out", default="gpu_check.json", help="where the JSON summary is written")
    parser.add_argument("--peak-tflops", type=float, default=None,
                        help="the device's dense bf16 peak (default: from its name, e.g. 989 for an H100 SXM)")
    parser.add_argument("--size", default=None, metavar="LAYERS,HIDDEN,VOCAB",
                        help="another model size with the full-size work (e.g. 2,64,32000 to try the full "
                        "work on a CPU, or a smaller model for a smaller card); default 24,1280,32000")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--skip", default="", help="comma-separated sections to leave out "
                        "(score, precision, sample, cli, vllm)")
    args = parser.parse_args(argv)
    device = args.device or ("cpu" if args.tiny else "cuda")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - {"score", "precision", "sample", "cli", "vllm"}
    if unknown:
        print(f"gpu_check: --skip: unknown section(s) {sorted(unknown)}; expected score, precision, sample, cli, "
              "vllm", file=sys.stderr)
        return 2
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
        print(f"gpu_check: --out {args.out}: its folder does not exist; create it or pass another path",
              file=sys.stderr)
        return 2

    size = TINY if args.tiny else FULL
    if args.size is not None:
        try:
            layers, hidden, vocab = (int(x) for x in args.size.split(","))
            if min(layers, hidden, vocab) < 1 or hidden % 64:
                raise ValueError
        except ValueError:
            print(f"gpu_check: --size {args.size!r}: expected LAYERS,HIDDEN,VOCAB, three positive integers with "
                  "HIDDEN a multiple of 64 (heads of 64), e.g. 24,1280,32000", file=sys.stderr)
            return 2
        size = {"layers": layers, "hidden": hidden, "vocab": vocab}

    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if device.startswith("cuda") and not torch.cuda.is_available():
        print(f"gpu_check: --device {device}: torch {torch.__version__} sees no CUDA device "
              "(run on the GPU machine, or pass --tiny --device cpu to test the script)", file=sys.stderr)
        return 2
    summary: dict[str, Any] = {"format": "hackwatch.gpu_check/1", "tiny": args.tiny, "size": size}
    _section(summary, "environment", lambda: _environment(device))
    peak = args.peak_tflops if args.peak_tflops is not None else peak_tflops(summary["environment"].get("gpu", ""))
    for name, fn in (("score", lambda: _score(size, device, args.tiny, peak)),
                     ("precision", lambda: _precision(size, device, args.tiny)),
                     ("sample", lambda: _sample(size, device, args.tiny)),
                     ("cli", lambda: _cli(device)),
                     ("vllm", lambda: _vllm(size, device, args.tiny))):  # last: its engine keeps GPU memory
        if name not in skip:
            _section(summary, name, fn)
    summary["targets"] = _targets(summary, applies=device.startswith("cuda") and not args.tiny
                                  and size == FULL)
    failed = sorted(k for k, v in summary.items() if isinstance(v, dict) and "error" in v)
    if summary.get("cli", {}).get("ok") is False:
        failed.append("cli")
    summary["failed_sections"] = failed
    text = json.dumps(summary, indent=1, default=str)
    tmp = f"{args.out}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, args.out)
    print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
