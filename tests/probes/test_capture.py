"""Capture: hooks read the same hidden states as transformers' output_hidden_states; the sampling path equals
a separate forward pass over the same token ids; pooling; the activations store."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from hackwatch.models import SampleRequest
from hackwatch.probes import (
    ActivationsError,
    CaptureSpec,
    capture_forward,
    load_activations,
    n_hidden_states,
    pool_windows,
    record_residual,
    sample_with_activations,
    save_activations,
    to_activations,
    window_tokens,
)

SPEC = CaptureSpec(layers=(0, 1, -1), windows=(1, 2, 4, 8), poolings=("mean", "last"))


def reference_states(model, prompt_ids, cont_ids, n_reasoning, layer, window, pooling):
    """Independent reference: one forward with output_hidden_states over the exact ids, pooled by hand."""
    ids = list(prompt_ids) + list(cont_ids)
    with torch.no_grad():
        hs = model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states
    k = window_tokens(n_reasoning, window)
    toks = hs[layer][0, len(prompt_ids):len(prompt_ids) + k].double().numpy()
    return toks.mean(axis=0) if pooling == "mean" else toks[-1]


def test_hooks_match_output_hidden_states(backend):
    model = backend.model
    n = n_hidden_states(model)
    assert n == 4  # 3 blocks + embeddings
    got = {}
    x = torch.tensor([[5, 9, 17, 33, 2]])
    with torch.no_grad(), record_residual(model, range(n), lambda i, h: got.__setitem__(i, h.clone())):
        hs = model(input_ids=x, output_hidden_states=True).hidden_states
    for i in range(n):
        torch.testing.assert_close(got[i], hs[i], rtol=0, atol=0)
    # hooks are gone afterwards
    got.clear()
    with torch.no_grad():
        model(input_ids=x)
    assert got == {}


def requests(backend):
    return [SampleRequest("add two numbers", (), n=3, key="a"),
            SampleRequest("sort a list", backend.encode("Let me think"), n=2, key="b"),
            SampleRequest("x", backend.encode("I will check the tests and the verifier"), n=2, key="c")]


def test_sampling_capture_equals_separate_forward(backend):
    reqs = requests(backend)
    comps, cap = sample_with_activations(backend, reqs, SPEC, temperature=1.0, max_new_tokens=20, seed=3,
                                         batch_size=3)
    plain = backend.sample(reqs, temperature=1.0, max_new_tokens=20, seed=3, batch_size=3)
    assert [c.generated_ids for c in comps] == [c.generated_ids for c in plain]  # hooks only read
    assert cap.spec.layers == (0, 1, 3)
    assert len(cap.arrays) == 3 * 4 * 2 and all(a.shape == (7, 32) for a in cap.arrays.values())
    assert set(cap.capture) == {"sampling"}
    # at least one sample closed its reasoning early, one ran past the largest window
    totals = [len(c.prefix_ids) + len(c.generated_ids) for c in comps]
    assert any(r < t for r, t in zip(cap.n_reasoning, totals, strict=True)), (cap.n_reasoning, totals)
    assert max(cap.n_reasoning) > 8
    fw = capture_forward(backend.model, [c.prompt_ids for c in comps], [c.prefix_ids + c.generated_ids for c in comps],
                         cap.n_reasoning, SPEC)
    for key, arr in cap.arrays.items():
        np.testing.assert_allclose(arr, fw.arrays[key], atol=1e-5, err_msg=key)
    for j, c in enumerate(comps):
        for layer, w, p in [(0, 1, "mean"), (1, 4, "last"), (3, 8, "mean"), (3, 2, "last")]:
            ref = reference_states(backend.model, c.prompt_ids, c.prefix_ids + c.generated_ids, cap.n_reasoning[j],
                                   layer, w, p)
            np.testing.assert_allclose(cap.arrays[f"layer{layer}_window{w}_{p}"][j], ref, atol=1e-5)


def test_last_token_of_a_batch_falls_back_to_a_forward_pass(backend):
    # 3 new tokens, window 8: the third generated token is never fed back, so it needs one forward pass
    reqs = [SampleRequest("add two numbers", (), n=2, key="a")]
    spec = CaptureSpec(layers=(-1,), windows=(8,), poolings=("mean",))
    comps, cap = sample_with_activations(backend, reqs, spec, temperature=1.0, max_new_tokens=3, seed=0)
    assert "forward" in cap.capture
    for j, c in enumerate(comps):
        ref = reference_states(backend.model, c.prompt_ids, c.generated_ids, cap.n_reasoning[j], 3, 8, "mean")
        np.testing.assert_allclose(cap.arrays["layer3_window8_mean"][j], ref, atol=1e-5)


def test_pool_windows_math():
    states = np.arange(12, dtype=np.float32).reshape(4, 3)  # 4 tokens, width 3
    out = pool_windows(states, n_reasoning=3, windows=[1, 2, 8], poolings=["mean", "last"])
    np.testing.assert_allclose(out[(1, "mean")], states[0])
    np.testing.assert_allclose(out[(2, "mean")], states[:2].mean(0))
    np.testing.assert_allclose(out[(8, "mean")], states[:3].mean(0))  # reasoning shorter than the window
    np.testing.assert_allclose(out[(8, "last")], states[2])
    empty = pool_windows(states, n_reasoning=0, windows=[4], poolings=["mean"])  # closed at once: first token
    np.testing.assert_allclose(empty[(4, "mean")], states[0])
    with pytest.raises(ValueError, match="needs 3 token states"):
        pool_windows(states[:2], n_reasoning=5, windows=[3], poolings=["mean"])


def test_capture_spec_validation():
    with pytest.raises(ValueError, match="windows must be integers >= 1"):
        CaptureSpec(layers=(1,), windows=(0,))
    with pytest.raises(ValueError, match="poolings must be among"):
        CaptureSpec(layers=(1,), poolings=("max",))
    with pytest.raises(ValueError, match="out of range: the model has 4 hidden states"):
        CaptureSpec(layers=(4,)).resolve(4)
    assert CaptureSpec(layers=(-1, 0, 3), windows=(4, 1, 4)).resolve(4).layers == (0, 3)


def test_store_roundtrip_and_malformed(backend, tmp_path):
    reqs = requests(backend)[:2]
    comps, cap = sample_with_activations(backend, reqs, SPEC, temperature=1.0, max_new_tokens=10, seed=1)
    index = pd.DataFrame([{"sample_id": f"{c.key}/{c.index}", "task_id": c.key, "exploit_type": "t",
                           "checkpoint": "ck", "step": 4, "prefix_id": "", "prefix_tokens": len(c.prefix_ids),
                           "sample_index": c.index, "temperature": 1.0} for c in comps])
    acts = to_activations(cap, index, model="tiny")
    path = save_activations(acts, tmp_path / "acts")
    back = load_activations(path)
    assert back.meta["n_hidden_states"] == 4 and back.meta["layers"] == [0, 1, 3]
    assert list(back.index["capture"]) == ["sampling"] * 5
    for key, arr in acts.arrays.items():
        np.testing.assert_allclose(back.arrays[key], arr, rtol=1e-3, atol=1e-3)  # float16 storage
    assert np.load(path / "activations.npz")["layer3_window8_mean"].dtype == np.float16
    meta = json.loads((path / "meta.json").read_text())
    (path / "meta.json").write_text(json.dumps({**meta, "format": "other/9"}))
    with pytest.raises(ActivationsError, match="'format' is 'other/9'"):
        load_activations(path)
    with pytest.raises(ActivationsError, match="no meta.json"):
        load_activations(tmp_path)
    (path / "meta.json").write_text(json.dumps(meta))
    (path / "activations.npz").write_bytes(b"garbage")
    with pytest.raises(ActivationsError, match="cannot read"):
        load_activations(path)


def test_concat_activations_checks_layout():
    from hackwatch.probes import concat_activations, make_activations

    def store(ids, keys, width=4):
        index = pd.DataFrame({"sample_id": ids, "task_id": "t", "exploit_type": "x", "checkpoint": "c", "step": 1,
                              "prefix_id": "", "prefix_tokens": 0, "sample_index": 0, "temperature": 1.0,
                              "n_reasoning_tokens": 3, "capture": "forward"})
        return make_activations(index, {k: np.ones((len(ids), width), np.float32) for k in keys}, model="m",
                                layers=[1], windows=[2], poolings=["mean"], n_states=3)

    both = concat_activations([store(["a", "b"], ["layer1_window2_mean"]), store(["c"], ["layer1_window2_mean"])])
    assert list(both.index["sample_id"]) == ["a", "b", "c"] and both.arrays["layer1_window2_mean"].shape == (3, 4)
    with pytest.raises(ActivationsError, match="different arrays or hidden size"):
        concat_activations([store(["a"], ["layer1_window2_mean"]), store(["c"], ["layer1_window2_mean"], width=5)])
    with pytest.raises(ActivationsError, match="duplicate sample_id 'a'"):
        concat_activations([store(["a"], ["layer1_window2_mean"]), store(["a"], ["layer1_window2_mean"])])


def test_hooks_on_gpt2_layout():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=16, n_head=2, vocab_size=50, bos_token_id=0,
                                       eos_token_id=0)).eval()
    got = {}
    with torch.no_grad(), record_residual(model, range(3), lambda i, h: got.__setitem__(i, h.clone())):
        hs = model(input_ids=torch.tensor([[1, 2, 3]]), output_hidden_states=True).hidden_states
    for i in range(3):
        torch.testing.assert_close(got[i], hs[i], rtol=0, atol=0)


def test_sampling_capture_with_harmony_channels():
    from hackwatch.models import TransformersBackend, tiny_causal_lm, train_tokenizer

    from .conftest import CORPUS

    tok = train_tokenizer(CORPUS, vocab_size=400, chat_format="channel")
    be = TransformersBackend(tiny_causal_lm(tok, layers=2, hidden=32, seed=7), tok, device="cpu")
    spec = CaptureSpec(layers=(-1,), windows=(1, 8), poolings=("mean",))
    reqs = [SampleRequest("add two numbers", be.encode("Let me think"), n=3, key="h")]
    comps, cap = sample_with_activations(be, reqs, spec, temperature=1.0, max_new_tokens=16, seed=2)
    assert be.chat_format.name == "channel"
    for j, c in enumerate(comps):
        ref = reference_states(be.model, c.prompt_ids, c.prefix_ids + c.generated_ids, cap.n_reasoning[j], 2, 8,
                               "mean")
        np.testing.assert_allclose(cap.arrays["layer2_window8_mean"][j], ref, atol=1e-5)
