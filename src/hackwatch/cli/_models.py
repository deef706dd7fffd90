"""``hackwatch sample``, ``hackwatch score``, ``hackwatch serve``, ``hackwatch bench score`` and ``bench sample``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hackwatch._files import check_out_suffix
from hackwatch.cli._app import app, bench_app, fail

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Model: a saved model directory, "
                                       "'openai:http://host:port/v1#name' or 'vllm:PATH'.")]
TempOpt = Annotated[float, typer.Option("--temperature", "-t", help="Temperature τ > 0 (sampling and scoring).")]
ChatOpt = Annotated[str | None, typer.Option("--chat-format", help="Override the detected reasoning format: "
                                             "'think' or 'channel'.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu or cuda (transformers backend).")]
TokOpt = Annotated[str | None, typer.Option("--tokenizer", help="Tokenizer directory (needed for openai: "
                                            "when the served name is not a local path).")]


def _backend(model: str, chat_format: str | None, device: str, tokenizer: str | None, **extra: Any) -> Any:
    from hackwatch.models import BackendError, load_backend
    try:
        return load_backend(model, tokenizer=tokenizer, device=device, chat_format=chat_format, **extra)
    except (BackendError, ImportError, OSError, ValueError) as e:
        raise fail(f"--model {model}: {e}") from e


def score_top_k_arg(spec: str, score_top_k: int | None) -> dict[str, int] | str:
    """``{"score_top_k": K}`` for an openai:/vllm: spec (``{}`` when not given), or the error for a bad value."""
    if score_top_k is None:
        return {}
    if not spec.startswith(("openai:", "vllm:")):
        return (f"--score-top-k {score_top_k}: only for openai: and vllm: models (the transformers backend "
                "scores over the full vocabulary)")
    if score_top_k == 0 or score_top_k < -1:
        return f"--score-top-k {score_top_k}: expected -1 (the full vocabulary) or an integer >= 1"
    return {"score_top_k": score_top_k}


CheckpointOpt = Annotated[str | None, typer.Option("--checkpoint", help="Checkpoint name written on every row "
                                                   "(default: the model folder's name, e.g. step-32).")]
StepOpt = Annotated[int | None, typer.Option("--step", help="Training step written on every row (default: from "
                                             "a checkpoint-N or step-N folder name; else left empty).")]


CARRIED_BANK_COLUMNS = ("trace_id", "source", "logp_donor", "donor_rate_task", "donor_rate_prefix",
                        "donor_prefix_attempts", "text")
"""Prefix-bank columns ``hackwatch score`` copies onto its rows (what the IS estimate needs besides logp_subject)."""


def checkpoint_of(model: str, checkpoint: str | None, step: int | None) -> tuple[str, int | None]:
    """The (checkpoint name, step) rows of ``model`` carry: the options, else the model folder's name."""
    from hackwatch.runs._checkpoints import checkpoint_step

    spec = model.split("#", 1)[1] if model.startswith("openai:") and "#" in model else model
    name = Path(spec.removeprefix("vllm:").rstrip("/")).name or spec
    name = checkpoint if checkpoint is not None else name
    return name, step if step is not None else checkpoint_step(Path(name).name)


@app.command()
def sample(model: ModelOpt, tasks: Annotated[str, typer.Option("--tasks", help="Task SOURCE (see hackwatch tasks).")],
           out: Annotated[Path, typer.Option("--out", "-o", help="Output .jsonl or .parquet.")],
           n: Annotated[int, typer.Option("--n", help="Samples per task (per prefix with --prefixes).")] = 1,
           temperature: TempOpt = 1.0,
           max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", help="Token limit after the prefix.")] = 512,
           prefixes: Annotated[Path | None, typer.Option("--prefixes", help="Prefix bank (.jsonl/.parquet rows with "
                                                         "task_id, prefix_ids and optional prefix_id).")] = None,
           seed: Annotated[int, typer.Option("--seed", help="Run seed; each sample's seed derives from it.")] = 0,
           batch_size: Annotated[int, typer.Option("--batch-size")] = 16,
           limit: Annotated[int | None, typer.Option("--limit", help="Only the first N tasks.")] = None,
           checkpoint: CheckpointOpt = None, step: StepOpt = None,
           chat_format: ChatOpt = None, device: DeviceOpt = "auto", tokenizer: TokOpt = None) -> None:
    """Sample completions (optionally continuing forced reasoning prefixes) and write one row per sample.

    Rows carry what `hackwatch verify` keeps and `hackwatch estimate` needs: task_id, exploit_type,
    checkpoint, step, prefix_id, prefix_tokens, temperature, seed (plus text and token ids).
    """
    from hackwatch.models import SampleRequest
    from hackwatch.models._rows import RowsError, completion_row, read_rows, token_ids, write_rows
    from hackwatch.tasks import TaskError, load_tasks

    if n < 1 or max_new_tokens < 0 or temperature <= 0:
        raise fail("--n must be >= 1, --max-new-tokens >= 0 and --temperature > 0")
    check_out_suffix(out, fail)
    ck_name, ck_step = checkpoint_of(model, checkpoint, step)
    try:
        task_list = load_tasks(tasks)[:limit]
    except TaskError as e:
        raise fail(str(e)) from e
    by_id = {t.id: t for t in task_list}
    plan: list[tuple[str, str, SampleRequest]] = []
    if prefixes is None:
        plan = [(t.id, "", SampleRequest(t.prompt, (), n, key=t.id)) for t in task_list]
    else:
        try:
            rows = read_rows(prefixes)
            for i, row in enumerate(rows, start=1):
                where = f"{prefixes}:{i}"
                tid = str(row.get("task_id", ""))
                if tid not in by_id:
                    if limit is not None:
                        continue
                    raise RowsError(f"{where}: task_id {tid!r} is not in --tasks {tasks}")
                pid = str(row.get("prefix_id") or i)
                plan.append((tid, pid, SampleRequest(by_id[tid].prompt, token_ids(row, "prefix_ids", where), n,
                                                     key=f"{tid}/{pid}")))
        except RowsError as e:
            raise fail(str(e)) from e
    be = _backend(model, chat_format, device, tokenizer)
    comps = be.sample([r for _, _, r in plan], temperature=temperature, max_new_tokens=max_new_tokens, seed=seed,
                      batch_size=batch_size, progress=True)
    meta = {r.key: (tid, pid) for tid, pid, r in plan}

    def row(c: Any) -> dict[str, Any]:
        tid, pid = meta[c.key]
        base = completion_row(c, task_id=tid, prefix_id=pid, model=be.model_id)
        return {**base, "exploit_type": by_id[tid].exploit_type, "checkpoint": ck_name,
                "step": ck_step, "prefix_tokens": base["prefix_len"]}

    write_rows((row(c) for c in comps), out)
    typer.echo(f"wrote {len(comps)} samples to {out}", err=True)


@app.command()
def score(model: ModelOpt,
          prefixes: Annotated[Path, typer.Option("--prefixes", help="Rows with prefix_ids and either prompt or "
                                                 "task_id (then --tasks); sample rows work as they are.")],
          out: Annotated[Path, typer.Option("--out", "-o", help="Output .jsonl or .parquet.")],
          temperature: TempOpt = 1.0,
          tasks: Annotated[str | None, typer.Option("--tasks", help="Task SOURCE for rows with task_id.")] = None,
          with_generated: Annotated[bool, typer.Option("--with-generated", help="Score prefix_ids + generated_ids "
                                                       "(a whole sampled continuation).")] = False,
          batch_size: Annotated[int, typer.Option("--batch-size")] = 16,
          checkpoint: CheckpointOpt = None, step: StepOpt = None,
          chat_format: ChatOpt = None, device: DeviceOpt = "auto", tokenizer: TokOpt = None,
          score_top_k: Annotated[int | None, typer.Option(
              "--score-top-k", help="openai:/vllm: at τ ≠ 1: prompt log-probs asked per position (default 20: each "
              "row gets an error bound); -1 = the full vocabulary, exact (vLLM: start it with --max-logprobs -1). "
              "The transformers backend is always exact.")] = None) -> None:
    """Write log P_τ(prefix | prompt) of every row: τ-exact over the full vocabulary (top-K bound on servers).

    The model is the subject: each row gets ``logprob`` and, for `hackwatch estimate --scores`,
    ``logp_subject`` with checkpoint, step and exploit_type; a prefix bank's own columns (prefix_tokens,
    logp_donor, donor_rate_task, donor_rate_prefix, trace_id, ...) are carried through.
    """
    from hackwatch.models import ScoreRequest
    from hackwatch.models._rows import RowsError, read_rows, score_row, token_ids, write_rows
    from hackwatch.tasks import TaskError, load_tasks

    if temperature <= 0:
        raise fail("--temperature must be > 0")
    extra = score_top_k_arg(model, score_top_k)
    if isinstance(extra, str):
        raise fail(extra)
    check_out_suffix(out, fail)
    ck_name, ck_step = checkpoint_of(model, checkpoint, step)
    try:
        rows = read_rows(prefixes)
        task_list = load_tasks(tasks) if tasks else []
        prompts = {t.id: t.prompt for t in task_list}
        types = {t.id: t.exploit_type for t in task_list}
        reqs, ids_list = [], []
        for i, row in enumerate(rows, start=1):
            where = f"{prefixes}:{i}"
            ids = token_ids(row, "prefix_ids", where)
            if with_generated:
                ids += token_ids(row, "generated_ids", where)
            if isinstance(row.get("prompt"), str):
                prompt = row["prompt"]
            elif str(row.get("task_id")) in prompts:
                prompt = prompts[str(row["task_id"])]
            else:
                raise RowsError(f"{where}: needs a 'prompt' field, or a 'task_id' found in --tasks "
                                f"({'not given' if not tasks else tasks})")
            reqs.append(ScoreRequest(prompt, ids, key=str(i)))
            ids_list.append(ids)
    except (RowsError, TaskError) as e:
        raise fail(str(e)) from e
    be = _backend(model, chat_format, device, tokenizer, **extra)
    scores = be.score_prefixes(reqs, temperature=temperature, batch_size=batch_size, progress=True)
    scored = "prefix+generated" if with_generated else "prefix"

    def row(s: Any, source: dict[str, Any], ids: tuple[int, ...]) -> dict[str, Any]:
        out_row = score_row(s, source, model=be.model_id, scored=scored, ids=ids)
        carried = {k: source[k] for k in CARRIED_BANK_COLUMNS if k in source}
        etype = source.get("exploit_type") or types.get(str(source.get("task_id")))
        return {**carried, **out_row, "exploit_type": etype, "checkpoint": ck_name, "step": ck_step,
                "prefix_tokens": source.get("prefix_tokens", len(ids)), "logp_subject": out_row["logprob"]}

    write_rows((row(s, r, ids) for s, r, ids in zip(scores, rows, ids_list, strict=True)), out)
    stats = getattr(be, "last_score_stats", {})
    rate = f" ({stats['tokens_per_s']:.0f} tokens/s)" if stats.get("tokens_per_s") else ""
    typer.echo(f"wrote {len(scores)} scores to {out}{rate}", err=True)


@app.command()
def serve(model_dir: Annotated[Path, typer.Argument(help="Saved transformers model directory.")],
          port: Annotated[int, typer.Option("--port", help="Port (0 = any free port).")] = 8000,
          host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
          logprobs_mode: Annotated[str, typer.Option("--logprobs-mode", help="'raw' (τ=1, like vLLM) or "
                                                     "'processed' (τ) for generated-token log-probs.")] = "raw",
          chat_format: ChatOpt = None, device: DeviceOpt = "auto") -> None:
    """Serve a model over an OpenAI-compatible /v1/completions API (subset used by the openai: backend)."""
    from hackwatch.models import make_server

    be = _backend(str(model_dir), chat_format, device, None)
    try:
        server = make_server(be, host, port, logprobs_mode=logprobs_mode)
    except (OSError, ValueError) as e:
        raise fail(f"serve {host}:{port}: {e}") from e
    h, p = server.server_address[:2]
    typer.echo(f"serving {be.model_id} at http://{h}:{p}/v1 (Ctrl-C to stop)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@bench_app.command("score")
def bench_score(layers: Annotated[int, typer.Option("--layers")] = 4,
                hidden: Annotated[int, typer.Option("--hidden")] = 256,
                vocab: Annotated[int, typer.Option("--vocab", help="Tokenizer vocabulary size.")] = 2000,
                prompt_len: Annotated[int, typer.Option("--prompt-len", help="Prompt length in words.")] = 200,
                prefix_len: Annotated[int, typer.Option("--prefix-len", help="Prefix length in tokens.")] = 64,
                prefixes: Annotated[int, typer.Option("--prefixes", help="Prefixes per prompt.")] = 64,
                prompts: Annotated[int, typer.Option("--prompts")] = 2,
                batch_size: Annotated[int, typer.Option("--batch-size")] = 32,
                temperature: TempOpt = 0.4, device: DeviceOpt = "cpu", seed: int = 0,
                precision_prefixes: Annotated[int, typer.Option(
                    "--precision-prefixes", help="Sampled and unlikely prefixes for the bf16-vs-fp32 "
                    "log P error (0 = skip).")] = 8,
                precision_len: Annotated[int, typer.Option("--precision-len",
                                                           help="Their length in tokens.")] = 128,
                peak_tflops: Annotated[float, typer.Option(
                    "--peak-tflops", help="The device's peak TFLOP/s in the model's dtype, to print the "
                    "shared path's share of it (e.g. 989 for an H100 SXM in bf16 dense).")] = 0.0,
                dtype: Annotated[str, typer.Option("--dtype", help="Model weights for the timing: float32, "
                                                   "bfloat16 or float16.")] = "float32") -> None:
    """Prefix-scoring tokens/s (batched shared-prompt KV path vs a naive one-forward-per-sample loop) and
    the bf16-vs-fp32 error of log P(prefix) on sampled and unlikely prefixes.
    """
    from hackwatch.models._bench import run_precision_bench, run_score_bench

    res = run_score_bench(layers=layers, hidden=hidden, vocab=vocab, prompt_words=prompt_len, prefix_len=prefix_len,
                          prefixes=prefixes, prompts=prompts, batch_size=batch_size, temperature=temperature,
                          device=device, seed=seed, dtype=dtype)
    typer.echo(f"model: tiny Llama, {layers} layers, hidden {hidden}, vocab {res['vocab']}, device {res['device']}, "
               f"{res['dtype']}")
    typer.echo(f"work: {prompts} prompts x {prefixes} prefixes x {prefix_len} tokens "
               f"(prompt {res['prompt_tokens']} tokens), τ={temperature}")
    typer.echo(f"{'path':<28}{'tokens/s':>12}{'seconds':>10}")
    typer.echo(f"{'shared-prompt batched':<28}{res['shared_tps']:>12.0f}{res['shared_s']:>10.3f}")
    typer.echo(f"{'naive one-forward-per-sample':<28}{res['naive_tps']:>12.0f}{res['naive_s']:>10.3f}")
    typer.echo(f"ratio shared/naive: {res['ratio']:.2f}x   max |Δ logprob| between paths: {res['max_abs_diff']:.2e}")
    flops = 2 * res["params"] * res["shared_tps"]
    share = f", {100 * flops / (peak_tflops * 1e12):.2f} % of {peak_tflops:g} TFLOP/s" if peak_tflops > 0 else ""
    typer.echo(f"compute: 2 x {res['params'] / 1e6:.2f}M parameters per token -> shared path "
               f"{flops / 1e9:.2f} GFLOP/s{share}")
    if precision_prefixes <= 0:
        return
    pr = run_precision_bench(layers=layers, hidden=hidden, vocab=vocab, prefix_len=precision_len,
                             prefixes=precision_prefixes, device=device, seed=seed)
    typer.echo(f"bf16 vs fp32 (same bf16-rounded weights, final norm x{pr['peak']:g}, τ={pr['temperature']:g}), "
               f"|Δ log P| per {precision_len}-token prefix, {precision_prefixes} prefixes each:")
    typer.echo(f"{'prefixes':<10}{'mean log P':>12}{'fp32 head: median':>20}{'max':>8}{'bf16 logits: median':>22}{'max':>8}")
    for name in ("sampled", "unlikely"):
        typer.echo(f"{name:<10}{pr[f'{name}_mean_logp']:>12.1f}{pr[f'{name}_fp32_head_median']:>20.4f}"
                   f"{pr[f'{name}_fp32_head_max']:>8.4f}{pr[f'{name}_bf16_logits_median']:>22.4f}"
                   f"{pr[f'{name}_bf16_logits_max']:>8.4f}")
    typer.echo(f"bf16, max per-token |Δ|: batched vs unbatched {pr['bf16_batched_vs_unbatched_max_per_token']:.2e}, "
               f"sampler vs scorer {pr['bf16_sampler_vs_scorer_max_per_token']:.2e} (device {pr['device']}; "
               "toy model, not a result about real LLMs)")


@bench_app.command("sample")
def bench_sample(layers: Annotated[int, typer.Option("--layers")] = 4,
                 hidden: Annotated[int, typer.Option("--hidden")] = 256,
                 vocab: Annotated[int, typer.Option("--vocab", help="Tokenizer vocabulary size.")] = 2000,
                 batch: Annotated[int, typer.Option("--batch", help="Rows sampled together.")] = 16,
                 new_tokens: Annotated[int, typer.Option("--new-tokens", help="Tokens per row.")] = 64,
                 prompt_len: Annotated[int, typer.Option("--prompt-len", help="Prompt length in words.")] = 40,
                 temperature: TempOpt = 1.0, device: DeviceOpt = "cpu", seed: int = 0,
                 rounds: Annotated[int, typer.Option("--rounds", help="Timed rounds each (best kept).")] = 2) -> None:
    """Sampling tokens/s: hackwatch's sampler vs transformers' model.generate on the same batch."""
    from hackwatch.models._bench import run_sample_bench

    res = run_sample_bench(layers=layers, hidden=hidden, vocab=vocab, batch=batch, new_tokens=new_tokens,
                           prompt_words=prompt_len, temperature=temperature, device=device, seed=seed, rounds=rounds)
    typer.echo(f"model: tiny Llama, {layers} layers, hidden {hidden}, vocab {res['vocab']}, device {res['device']}")
    typer.echo(f"work: {batch} rows x {new_tokens} tokens (prompts up to {res['prompt_tokens_max']} tokens), "
               f"τ={temperature}, best of {rounds}")
    typer.echo(f"{'sampler':<28}{'tokens/s':>12}{'seconds':>10}")
    typer.echo(f"{'hackwatch (_kernels.generate)':<28}{res['hackwatch_tps']:>12.0f}{res['hackwatch_s']:>10.3f}")
    typer.echo(f"{'transformers model.generate':<28}{res['generate_tps']:>12.0f}{res['generate_s']:>10.3f}")
    typer.echo(f"ratio hackwatch/generate: {res['ratio']:.2f}x (toy model, not a result about real LLMs)")
