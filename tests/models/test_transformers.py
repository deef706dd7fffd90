import math

import pytest

from hackwatch.models import (
    Backend,
    SampleRequest,
    ScoreRequest,
    TransformersBackend,
    load_backend,
    sample_seed,
)


def _requests(be, n=2):
    return [SampleRequest("Write add.", be.encode("Let me think about the tests"), n=n, key="a"),
            SampleRequest("Sort the list", (), n=n, key="b"),
            SampleRequest("Write add.", be.encode("Maybe I can just"), n=1, key="c")]


def test_is_a_backend(think_backend):
    assert isinstance(think_backend, Backend)


@pytest.mark.parametrize("tau", [0.4, 1.0])
def test_scored_logprob_equals_sampler_logprobs(peaked_backend, tau):
    be = peaked_backend
    reqs = _requests(be)
    comps = be.sample(reqs, temperature=tau, max_new_tokens=24, seed=11, batch_size=8)
    by_key = {r.key: r for r in reqs}
    # log P(prefix + generated) - log P(prefix) = Σ sampler log-probs of the generated tokens
    full = be.score_prefixes([ScoreRequest(by_key[c.key].prompt, c.prefix_ids + c.generated_ids) for c in comps],
                             temperature=tau)
    pre = be.score_prefixes([ScoreRequest(by_key[c.key].prompt, c.prefix_ids) for c in comps], temperature=tau)
    for c, f, p in zip(comps, full, pre, strict=True):
        assert len(c.generated_ids) > 0
        assert f.token_logprobs[len(c.prefix_ids):] == pytest.approx(c.token_logprobs, abs=1e-4)
        assert f.logprob - p.logprob == pytest.approx(c.logprob, abs=1e-3), (c.key, c.index)
        assert f.n_tokens == len(c.prefix_ids) + len(c.generated_ids) and f.temperature == tau


def test_prefill_continues_exactly_after_prefix(think_backend):
    be = think_backend
    req = SampleRequest("Write add.", be.encode("I will check the tests"), n=2, key="p")
    for c in be.sample([req], temperature=0.7, max_new_tokens=12, seed=3):
        assert c.prompt_ids == be.prompt_ids(req.prompt)
        assert c.prefix_ids == req.prefix_ids
        assert c.text == be.decode(c.prefix_ids + c.generated_ids)
        assert c.text.startswith("I will check the tests")
        assert c.reasoning.startswith("I will check the tests")
        assert len(c.token_logprobs) == len(c.generated_ids) == 12 and c.finish_reason == "length"
        assert all(lp <= 0 for lp in c.token_logprobs)


def test_sampling_is_seeded_and_batch_independent(think_backend):
    be = think_backend
    reqs = _requests(be, n=3)
    big = be.sample(reqs, temperature=0.8, max_new_tokens=16, seed=5, batch_size=16)
    one = be.sample(reqs, temperature=0.8, max_new_tokens=16, seed=5, batch_size=1)
    alone = be.sample(reqs[1:2], temperature=0.8, max_new_tokens=16, seed=5, batch_size=1)
    assert [c.generated_ids for c in big] == [c.generated_ids for c in one]
    for a, b in zip(big, one, strict=True):
        assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-4)
    assert [c.generated_ids for c in big if c.key == "b"] == [c.generated_ids for c in alone]
    other = be.sample(reqs, temperature=0.8, max_new_tokens=16, seed=6)
    assert [c.generated_ids for c in other] != [c.generated_ids for c in big]
    assert len({c.generated_ids for c in big if c.key == "a"}) == 3  # the n samples differ
    assert sample_seed(5, "a", 0) != sample_seed(5, "a", 1)


def test_shared_prompt_scoring_matches_naive_and_unbatched(think_backend):
    be = think_backend
    words = ["Let me", "I will check the tests and", "Maybe", "The function should return the sum of the list"]
    reqs = [ScoreRequest(p, be.encode(w), key=f"{p}|{w}") for p in ("Write add.", "Sort") for w in words]
    reqs.append(ScoreRequest("Sort", (), key="empty"))
    for tau in (0.4, 1.0):
        shared = be.score_prefixes(reqs, temperature=tau, batch_size=3)
        assert be.last_score_stats["tokens"] == sum(len(r.prefix_ids) for r in reqs)
        naive = be.score_prefixes(reqs, temperature=tau, share_prompt=False)
        single = [be.score_prefixes([r], temperature=tau)[0] for r in reqs]
        for s, n, o, r in zip(shared, naive, single, reqs, strict=True):
            assert s.key == r.key and s.n_tokens == len(r.prefix_ids)
            assert s.token_logprobs == pytest.approx(n.token_logprobs, abs=1e-4)
            assert s.logprob == pytest.approx(o.logprob, abs=1e-4)
        assert shared[-1].logprob == 0.0 and shared[-1].token_logprobs == ()
    # temperature changes the value: scoring at τ=1 is not the same as at τ=0.4
    a = be.score_prefixes(reqs[:1], temperature=0.4)[0].logprob
    b = be.score_prefixes(reqs[:1], temperature=1.0)[0].logprob
    assert not math.isclose(a, b, abs_tol=1e-3)


def test_channel_format_sampling_and_split(channel_backend):
    be = channel_backend
    prefix = be.encode("I will check the tests")
    c = be.sample([SampleRequest("Write add.", prefix, key="h")], temperature=1.0, max_new_tokens=8, seed=0)[0]
    assert be.decode(c.prompt_ids).endswith("<|start|>assistant<|channel|>analysis<|message|>")
    assert c.prefix_ids == prefix and c.text.startswith("I will check the tests")
    forced = be.encode("plan<|end|><|start|>assistant<|channel|>final<|message|>return 1<|return|>")
    done = be.make_completion(SampleRequest("x", be.encode("my ")), 0, c.prompt_ids, forced, [0.0] * len(forced),
                              "eos", 1.0, 0)
    assert done.reasoning == "my plan" and done.final == "return 1"
    s = be.score_prefixes([ScoreRequest("Write add.", c.prefix_ids + c.generated_ids)], temperature=1.0)[0]
    assert s.token_logprobs[len(prefix):] == pytest.approx(c.token_logprobs, abs=1e-4)


def test_truncated_sampling_is_marked_inexact(think_backend):
    be = think_backend
    req = [SampleRequest("Write add.", (), key="k")]
    c = be.sample(req, temperature=1.0, max_new_tokens=6, seed=0, top_k=5)[0]
    assert not c.exact
    assert be.sample(req, temperature=1.0, max_new_tokens=6, seed=0)[0].exact


def test_bad_temperature_is_refused(think_backend):
    with pytest.raises(ValueError, match="temperature"):
        think_backend.score_prefixes([ScoreRequest("x", (5,))], temperature=0.0)


def test_load_backend_from_directory(saved_model_dir, think_tok):
    be = load_backend(str(saved_model_dir), device="cpu")
    assert isinstance(be, TransformersBackend) and be.chat_format.name == "think"
    assert be.prompt_ids("hi") == TransformersBackend(be.model, think_tok, device="cpu").prompt_ids("hi")
    with pytest.raises(Exception, match="config.json"):
        load_backend(str(saved_model_dir / "missing"), device="cpu")


def test_require_exact_refuses_approximations(think_backend):
    from hackwatch.models import InexactScoreError, PrefixScore, require_exact

    req = [SampleRequest("Write add.", (), key="k")]
    require_exact(think_backend.sample(req, temperature=1.0, max_new_tokens=3, seed=0))
    require_exact([PrefixScore("a", -1.0, (-1.0,), 1, 0.4, None), PrefixScore("b", -1.0, (-1.0,), 1, 0.4, 0.0)])
    with pytest.raises(InexactScoreError, match="'k'"):
        require_exact(think_backend.sample(req, temperature=1.0, max_new_tokens=3, seed=0, top_p=0.9))
    with pytest.raises(InexactScoreError, match="bound 0.5"):
        require_exact([PrefixScore("b", -1.0, (-1.0,), 1, 0.4, 0.5)])
    require_exact([PrefixScore("b", -1.0, (-1.0,), 1, 0.4, 0.5)], tolerance=1.0)


def test_sampler_draws_from_tempered_distribution(peaked_backend):
    import math as m

    import torch

    be = peaked_backend
    tau, n, prompt = 2.0, 600, "Sort the list"
    comps = be.sample([SampleRequest(prompt, (), n=n, key="d")], temperature=tau, max_new_tokens=1,
                      seed=2, batch_size=200)
    first = [c.generated_ids[0] for c in comps]
    with torch.no_grad():
        logits = be.model(torch.tensor([be.prompt_ids(prompt)])).logits[0, -1]
    probs = torch.softmax(logits / tau, -1)
    top = torch.topk(probs, 4)
    assert top.values[0] > 0.05  # a distribution where frequencies are informative
    for p, tok in zip(top.values.tolist(), top.indices.tolist(), strict=True):
        sd = m.sqrt(p * (1 - p) / n)
        assert abs(first.count(tok) / n - p) < 4 * sd, (tok, first.count(tok) / n, p)
    for c in comps:
        assert m.exp(c.token_logprobs[0]) == pytest.approx(probs[c.generated_ids[0]].item(), rel=1e-4)


def test_cache_argument_follows_the_model_signature(think_backend):
    import torch

    from hackwatch.models._kernels import cache_kwarg

    class OldStyle(torch.nn.Module):
        def forward(self, input_ids, past_key_values=None, use_cache=None):
            return input_ids

    import transformers
    from packaging.version import Version

    # transformers 5.24 renamed the argument (past_key_values is deprecated, removed in 5.40); 5.19-5.23 lack it
    new = Version(transformers.__version__) >= Version("5.24")
    assert cache_kwarg(think_backend.model) == ("cache" if new else "past_key_values")
    assert cache_kwarg(OldStyle()) == "past_key_values"
