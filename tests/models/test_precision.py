"""bf16 models: float32 output projection (``_precision.fp32_head``) and the GPU-ready sampler loop."""

from __future__ import annotations

import copy

import pytest
import torch

from hackwatch.models import SampleRequest, ScoreRequest, TransformersBackend, tiny_causal_lm
from hackwatch.models._kernels import generate, tempered_logprobs
from hackwatch.models._precision import fp32_head
from tests.models.conftest import peaked

BF16_TOKEN_TOL = 0.05
"""Per-token nat tolerance for two bf16 computations of the same log-prob on CPU (different matmul
shapes round differently in the bf16 body; measured ≤ 0.022 with ``hackwatch bench score``)."""


@pytest.fixture(scope="module")
def bf16_model(think_tok):
    return peaked(tiny_causal_lm(think_tok, layers=2, hidden=64, seed=5), 4.0).to(torch.bfloat16)


def test_fp32_head_computes_float32_logits_from_the_bf16_body(bf16_model):
    ids = torch.tensor([[5, 40, 41, 42, 43]])
    head = bf16_model.get_output_embeddings()
    with torch.no_grad():
        hidden = bf16_model.model(input_ids=ids).last_hidden_state  # bf16, after the final norm
        want = hidden.float() @ head.weight.float().T
        plain = bf16_model(input_ids=ids).logits
        with fp32_head(bf16_model):
            got = bf16_model(input_ids=ids).logits
            with fp32_head(bf16_model):  # re-entrant: the inner exit keeps the outer in place
                pass
            again = bf16_model(input_ids=ids).logits
    assert plain.dtype == torch.bfloat16 and got.dtype == torch.float32 and again.dtype == torch.float32
    assert torch.allclose(got, want, atol=1e-5) and not torch.equal(got, plain.float())
    assert "forward" not in head.__dict__ and head.weight.dtype == torch.bfloat16  # restored, weights untouched
    with torch.no_grad():
        assert bf16_model(input_ids=ids).logits.dtype == torch.bfloat16


def test_fp32_head_follows_weight_updates_and_wrapped_heads(think_tok):
    model = tiny_causal_lm(think_tok, layers=1, hidden=64, seed=6).to(torch.bfloat16)
    ids = torch.tensor([[5, 40, 41]])
    head = model.get_output_embeddings()
    with torch.no_grad():
        with fp32_head(model):
            model(input_ids=ids)
        head.weight.add_(0.5)  # a training step: in place, a new version of the same storage
        with fp32_head(model):
            after = model(input_ids=ids).logits
        want = model.model(input_ids=ids).last_hidden_state.float() @ head.weight.float().T
        assert torch.allclose(after, want, atol=1e-5)
        wrapped = head.forward  # a wrapper installed on the instance, as accelerate's hooks do
        head.forward = lambda x: wrapped(x)
        with fp32_head(model):
            hooked = model(input_ids=ids).logits
        assert hooked.dtype == torch.float32 and torch.allclose(hooked, after)
        assert head.forward is not wrapped and not head._forward_hooks  # the hook is gone again


def test_bf16_backend_batched_unbatched_and_sampler_scorer_agree(bf16_model, think_tok):
    be = TransformersBackend(bf16_model, think_tok, device="cpu")
    comps = be.sample([SampleRequest("Write add.", be.encode("Let me think"), n=3, key="a"),
                       SampleRequest("Sort the list", (), n=2, key="b")], temperature=0.7, max_new_tokens=24, seed=2)
    reqs = [ScoreRequest(p, c.prefix_ids + c.generated_ids, key=c.key)
            for p, c in zip(["Write add."] * 3 + ["Sort the list"] * 2, comps, strict=True)]
    batched = be.score_prefixes(reqs, temperature=0.7, batch_size=8)
    single = be.score_prefixes(reqs, temperature=0.7, share_prompt=False)
    for c, b, s in zip(comps, batched, single, strict=True):
        assert b.token_logprobs == pytest.approx(s.token_logprobs, abs=BF16_TOKEN_TOL)
        gen = b.token_logprobs[len(c.prefix_ids):]
        assert gen == pytest.approx(c.token_logprobs, abs=BF16_TOKEN_TOL)


def _reference_sample(model, context, seed, temperature, steps):
    """The sampler's contract, slowly: one row, a full forward per token (no cache), its own generator."""
    g = torch.Generator().manual_seed(seed)
    ids, lps = list(context), []
    with torch.no_grad():
        for _ in range(steps):
            logp = tempered_logprobs(model(input_ids=torch.tensor([ids])).logits[0, -1], temperature)
            t = int(torch.multinomial(logp.exp(), 1, generator=g))
            ids.append(t)
            lps.append(float(logp[t]))
    return ids[len(context):], lps


def test_batched_sampler_draws_the_reference_tokens(think_tok):
    model = peaked(tiny_causal_lm(think_tok, layers=2, hidden=64, seed=7), 2.0)
    contexts = [[5, 40, 41, 42], [5, 43], [5, 44, 45, 46, 47, 48]]  # different lengths: left padding
    seeds = [11, 12, 13]
    rows = generate(model, contexts, seeds, temperature=0.8, max_new_tokens=12, stop_ids=(), pad_id=0, device="cpu")
    for ctx, seed, (gen, lps, finish) in zip(contexts, seeds, rows, strict=True):
        want_ids, want_lps = _reference_sample(model, ctx, seed, 0.8, 12)
        assert gen == want_ids and finish == "length"
        assert lps == pytest.approx(want_lps, abs=1e-4)
    # a row that stops early draws no more: the others' tokens do not change
    stop = rows[0][0][3]
    stopped = generate(model, contexts, seeds, temperature=0.8, max_new_tokens=12, stop_ids=(stop,), pad_id=0,
                       device="cpu")
    for (gen, _, _), (full, _, _) in zip(stopped, rows, strict=True):
        cut = full[:full.index(stop) + 1] if stop in full else full
        assert gen == cut


def test_float32_head_is_wired_in_and_bf16_stays_near_fp32(think_tok):
    """Not a speed or accuracy target: the float32 head changes the numbers (so it is wired in) and
    keeps bf16 within a loose bound of the float32 computation of the same weights."""
    model = peaked(tiny_causal_lm(think_tok, layers=2, hidden=64, seed=8), 4.0).to(torch.bfloat16)
    ref = TransformersBackend(copy.deepcopy(model).float(), think_tok, device="cpu")
    low = TransformersBackend(model, think_tok, device="cpu")
    raw = TransformersBackend(model, think_tok, device="cpu", fp32_logits=False)
    reqs = [ScoreRequest("Write add.", tuple(range(10 + i, 74 + i)), key=str(i)) for i in range(4)]
    exact = ref.score_prefixes(reqs, temperature=1.0)
    ours = low.score_prefixes(reqs, temperature=1.0)
    plain = raw.score_prefixes(reqs, temperature=1.0)
    assert any(a.logprob != b.logprob for a, b in zip(ours, plain, strict=True))
    for o, e in zip(ours, exact, strict=True):
        assert abs(o.logprob - e.logprob) < 64 * BF16_TOKEN_TOL
