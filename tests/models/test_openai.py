import importlib.util

import pytest

from hackwatch.models import (
    BackendError,
    OpenAIBackend,
    SampleRequest,
    ScoreRequest,
    VLLMBackend,
    load_backend,
    serve_in_thread,
)


@pytest.fixture(scope="module")
def server(peaked_backend):
    srv, url = serve_in_thread(peaked_backend)
    yield url
    srv.shutdown()


@pytest.fixture(scope="module")
def processed_server(peaked_backend):
    srv, url = serve_in_thread(peaked_backend, logprobs_mode="processed")
    yield url
    srv.shutdown()


def _reqs(be):
    return [SampleRequest("Write add.", be.encode("Let me think"), n=2, key="a"),
            SampleRequest("Sort the list", (), n=1, key="b")]


def test_samples_agree_with_transformers(server, processed_server, peaked_backend, think_tok):
    be = peaked_backend
    local = be.sample(_reqs(be), temperature=0.6, max_new_tokens=16, seed=9)
    proc = OpenAIBackend(processed_server, "tiny", think_tok, logprobs_mode="processed", concurrency=3)
    remote = proc.sample(_reqs(be), temperature=0.6, max_new_tokens=16, seed=9)
    assert [c.generated_ids for c in remote] == [c.generated_ids for c in local]
    for r, c in zip(remote, local, strict=True):
        assert r.prompt_ids == c.prompt_ids and r.text == c.text and r.finish_reason == c.finish_reason
        assert r.exact and r.token_logprobs == pytest.approx(c.token_logprobs, abs=1e-4)
    # a raw-logprobs server (vLLM's default) at τ≠1: top-K renormalised, inexact, with a bound that holds
    raw = OpenAIBackend(server, "tiny", think_tok, score_top_k=5)
    approx = raw.sample(_reqs(be), temperature=0.6, max_new_tokens=16, seed=9)
    for r, c in zip(approx, local, strict=True):
        assert r.generated_ids == c.generated_ids and not r.exact
        assert 0 <= r.logprob - c.logprob <= r.logprob_error_bound + 1e-3


@pytest.mark.parametrize("api", ["prompt_logprobs", "echo"])
def test_scores_agree_and_topk_bound_holds(server, peaked_backend, think_tok, api):
    be = peaked_backend
    reqs = [ScoreRequest(p, be.encode(w), key=w) for p in ("Write add.", "Sort")
            for w in ("Let me think about edge cases", "I will check the tests", "Maybe")]
    full = OpenAIBackend(server, "tiny", think_tok, score_top_k=-1, score_api=api, concurrency=4)
    top5 = OpenAIBackend(server, "tiny", think_tok, score_top_k=5, score_api=api, concurrency=4)
    for tau in (0.4, 1.0, 1.5):
        exact = be.score_prefixes(reqs, temperature=tau)
        for a, e in zip(full.score_prefixes(reqs, temperature=tau), exact, strict=True):
            assert a.logprob == pytest.approx(e.logprob, abs=1e-3) and a.n_tokens == e.n_tokens
            assert a.approx_error_bound == (None if tau == 1.0 else pytest.approx(0.0, abs=1e-4))
        approx = top5.score_prefixes(reqs, temperature=tau)
        for a, e in zip(approx, exact, strict=True):
            if tau == 1.0:
                assert a.approx_error_bound is None and a.logprob == pytest.approx(e.logprob, abs=1e-3)
            else:
                assert -1e-3 <= a.logprob - e.logprob <= a.approx_error_bound + 1e-3
        if tau != 1.0:
            assert any(a.approx_error_bound > 1e-3 for a in approx)


def test_retries_then_succeeds_and_gives_up(peaked_backend, think_tok):
    srv, url = serve_in_thread(peaked_backend, fail_first=2)
    try:
        ob = OpenAIBackend(url, "tiny", think_tok, backoff_s=0.01, max_retries=3)
        s = ob.score_prefixes([ScoreRequest("x", (40, 41))], temperature=1.0)
        assert s[0].n_tokens == 2
    finally:
        srv.shutdown()
    srv, url = serve_in_thread(peaked_backend, fail_first=100)
    try:
        ob = OpenAIBackend(url, "tiny", think_tok, backoff_s=0.001, max_retries=2)
        with pytest.raises(BackendError, match="gave up after 3 attempts.*503"):
            ob.score_prefixes([ScoreRequest("x", (40,))], temperature=1.0)
    finally:
        srv.shutdown()


def test_client_errors_are_not_retried(server, think_tok):
    ob = OpenAIBackend(server, "tiny", think_tok, max_retries=5, backoff_s=10.0)
    with pytest.raises(BackendError, match="HTTP 400"):
        ob._post({"prompt": [], "max_tokens": 1})


def test_load_backend_openai_spec(server, saved_model_dir):
    be = load_backend(f"openai:{server}#{saved_model_dir}")
    assert isinstance(be, OpenAIBackend) and be.chat_format.name == "think"
    with pytest.raises(BackendError, match="openai:http"):
        load_backend("openai:localhost")


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_vllm_missing_dependency_names_the_extra():
    with pytest.raises(ImportError, match=r"pip install 'hackwatch\[vllm\]'"):
        VLLMBackend("some/model")


@pytest.mark.slow
def test_serve_command_in_subprocess(saved_model_dir, think_tok):
    import re
    import subprocess
    import sys

    from hackwatch.models import TransformersBackend

    cmd = [sys.executable, "-c", "from hackwatch.cli import main; main()", "serve", str(saved_model_dir),
           "--port", "0", "--device", "cpu"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        while "serving" not in line:
            line = proc.stderr.readline()
            assert line, "server exited before printing its address"
        url = re.search(r"(http://\S+/v1)", line).group(1)
        ob = OpenAIBackend(url, "tiny", think_tok, score_top_k=-1)
        local = TransformersBackend(str(saved_model_dir), device="cpu")
        req = [ScoreRequest("Write add.", local.encode("Let me think"))]
        assert ob.score_prefixes(req, temperature=0.4)[0].logprob == pytest.approx(
            local.score_prefixes(req, temperature=0.4)[0].logprob, abs=1e-3)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
