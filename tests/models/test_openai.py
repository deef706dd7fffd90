import copy
import importlib.util
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from hackwatch.models import (
    BackendError,
    OpenAIBackend,
    SampleRequest,
    ScoreRequest,
    TransformersBackend,
    VLLMBackend,
    load_backend,
    serve_in_thread,
    tiny_causal_lm,
)
from hackwatch.models._openai import PLAIN_SAMPLING
from hackwatch.models._stop import cut_at_stop
from tests.models.conftest import peaked


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
        ob = OpenAIBackend(url, "tiny", think_tok, backoff_s=0.001, max_retries=2, probe=False)
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


# -- one stop rule ------------------------------------------------------------------------------------

def test_cut_at_stop_keeps_the_first_stop_token_only():
    assert cut_at_stop([5, 7, 9, 7], [-1.0, -2.0, -3.0, -4.0], (9, 7)) == ([5, 7], [-1.0, -2.0], True)
    assert cut_at_stop([5, 6], [-1.0, -2.0], (9,)) == ([5, 6], [-1.0, -2.0], False)


def test_two_eos_ids_stop_transformers_and_openai_alike(think_tok, tmp_path):
    model = peaked(tiny_causal_lm(think_tok, layers=2, hidden=64, seed=3), 3.0)
    plain = TransformersBackend(model, think_tok, device="cpu")
    reqs = [SampleRequest("Write add.", plain.encode("Let me think") + plain._close_ids, n=2, key="a"),
            SampleRequest("Sort the list", plain._close_ids, n=2, key="b")]
    base = plain.sample(reqs, temperature=1.0, max_new_tokens=16, seed=9)
    # a second EOS id: a token the model does generate, after some other token
    second = next(t for c in base for j, t in enumerate(c.generated_ids) if j > 0 and t != c.generated_ids[0])
    two = copy.deepcopy(model)
    two.generation_config.eos_token_id = [think_tok.eos_token_id, second]
    local = TransformersBackend(two, think_tok, device="cpu")
    assert local.stop_ids == (think_tok.eos_token_id, second)
    want = local.sample(reqs, temperature=1.0, max_new_tokens=16, seed=9)
    cut = [c for c in want if c.generated_ids[-1] == second]
    assert cut and all(c.finish_reason == "eos" for c in cut)
    assert all(think_tok.decode([second]).strip() not in c.final for c in cut)
    two.save_pretrained(tmp_path)
    think_tok.save_pretrained(tmp_path)
    # the server knows both ids (as vLLM does for Qwen3), or only the tokenizer's (the client's
    # stop_token_ids must then stop it): the openai backend gives the transformers backend's samples
    for server_backend in (local, plain):
        srv, url = serve_in_thread(server_backend, logprobs_mode="processed")
        try:
            remote = load_backend(f"openai:{url}#{tmp_path}", logprobs_mode="processed")
            assert remote.stop_ids == local.stop_ids  # generation config read from the model directory
            got = remote.sample(reqs, temperature=1.0, max_new_tokens=16, seed=9)
        finally:
            srv.shutdown()
        for g, w in zip(got, want, strict=True):
            assert (g.generated_ids, g.final, g.reasoning, g.finish_reason) == \
                (w.generated_ids, w.final, w.reasoning, w.finish_reason)


# -- hackwatch serve: the OpenAI completions response shape -----------------------------------------

def test_serve_response_shape_field_by_field(server, peaked_backend):
    be = peaked_backend
    ids = list(be.prompt_ids("Write add."))
    before = int(time.time())
    r = httpx.post(f"{server}/completions", json={"model": "tiny", "prompt": ids, "max_tokens": 4, "echo": True,
                                                   "temperature": 0.7, "seed": 1}).json()
    assert set(r) == {"id", "object", "created", "model", "choices", "usage"}
    assert isinstance(r["id"], str) and r["object"] == "text_completion" and r["model"] == be.model_id
    assert isinstance(r["created"], int) and before <= r["created"] <= time.time() + 1
    [choice] = r["choices"]
    assert choice["index"] == 0 and choice["logprobs"] is None and choice["finish_reason"] in ("stop", "length")
    gen = choice["token_ids"]
    assert choice["text"] == be.decode(ids) + be.decode(gen)  # echo without logprobs
    assert r["usage"] == {"prompt_tokens": len(ids), "completion_tokens": len(gen),
                          "total_tokens": len(ids) + len(gen)}
    r = httpx.post(f"{server}/completions", json={"prompt": ids, "max_tokens": 2, "logprobs": 2, "seed": 1,
                                                   "n": 2}).json()
    assert [c["index"] for c in r["choices"]] == [0, 1]
    for c in r["choices"]:
        assert set(c["logprobs"]) == {"tokens", "token_logprobs", "top_logprobs"}
        assert len(c["logprobs"]["tokens"]) == len(c["token_ids"]) and c["text"] == be.decode(c["token_ids"])
    assert r["usage"]["total_tokens"] == len(ids) + sum(len(c["token_ids"]) for c in r["choices"])


def test_serve_refuses_sampling_knobs_that_bend_the_distribution(server, peaked_backend):
    ids = list(peaked_backend.prompt_ids("x"))
    ok = httpx.post(f"{server}/completions", json={"prompt": ids, "max_tokens": 1, **PLAIN_SAMPLING, "top_k": 0})
    assert ok.status_code == 200
    for name, value in (("top_k", 40), ("top_p", 0.95), ("min_p", 0.05), ("repetition_penalty", 1.1)):
        bad = httpx.post(f"{server}/completions", json={"prompt": ids, "max_tokens": 1, name: value})
        assert bad.status_code == 400 and name in bad.json()["error"]["message"]


# -- the openai backend against a server that cannot serve it (llama.cpp's, as measured) -------------

class _LlamaCppLike(BaseHTTPRequestHandler):
    """Answers as llama-cpp-python's server did (0.3.36): string prompts only (a token-id prompt is
    HTTP 500 with a pydantic message), token *strings* in replies, no prompt log-probs."""

    bodies: list[dict] = []

    def log_message(self, format, *args):  # noqa: A002
        return

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        if not isinstance(body.get("prompt"), str):
            reply, code = {"detail": [{"type": "string_type", "loc": ["body", "prompt", "str"],
                                       "msg": "Input should be a valid string"}]}, 500
        else:
            reply, code = {"id": "x", "object": "text_completion", "created": 0, "model": "m", "choices": [
                {"index": 0, "text": " hi", "finish_reason": "length",
                 "logprobs": {"tokens": [" hi"], "token_logprobs": [-0.5], "top_logprobs": [{" hi": -0.5}],
                              "text_offset": [0]}}]}, 200
        data = json.dumps(reply).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def llamacpp_like():
    _LlamaCppLike.bodies = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _LlamaCppLike)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()


def test_probe_refuses_an_incapable_server_in_one_line_without_retries(llamacpp_like, think_tok):
    start = time.monotonic()
    with pytest.raises(BackendError) as err:
        OpenAIBackend(llamacpp_like, "m", think_tok, backoff_s=1.0, max_retries=5)
    msg = str(err.value)
    assert "\n" not in msg and "missing token-id prompts" in msg and "hackwatch serve" in msg and "vLLM" in msg
    assert len(_LlamaCppLike.bodies) == 1 and time.monotonic() - start < 1.0  # rejected as invalid: no retry
    with pytest.raises(BackendError) as err:
        OpenAIBackend(llamacpp_like, "m", think_tok, token_ids_prompt=False)
    msg = str(err.value)
    assert "\n" not in msg and "token ids in replies" in msg and "prompt log-probs" in msg


def test_every_request_switches_sampling_knobs_off_and_sends_the_stop_set(llamacpp_like, think_tok):
    ob = OpenAIBackend(llamacpp_like, "m", think_tok, token_ids_prompt=False, probe=False)
    with pytest.raises(BackendError, match="as text"):
        ob.sample([SampleRequest("hi")], temperature=0.7, max_new_tokens=3, seed=0)
    with pytest.raises(BackendError, match="malformed"):
        ob.score_prefixes([ScoreRequest("hi", (40,))], temperature=1.0)
    assert len(_LlamaCppLike.bodies) == 2
    for body in _LlamaCppLike.bodies:
        assert {k: body[k] for k in PLAIN_SAMPLING} == PLAIN_SAMPLING
    assert _LlamaCppLike.bodies[0]["stop_token_ids"] == [think_tok.eos_token_id]


# -- full-vocabulary log-probs the way vLLM accepts them ---------------------------------------------

def test_serve_refuses_negative_logprobs_like_vllm(server, peaked_backend):
    ids = list(peaked_backend.encode("Sort"))
    bad = httpx.post(f"{server}/completions", json={"prompt": ids, "max_tokens": 1, "logprobs": -1})
    assert bad.status_code == 400 and "logprobs=-1" in bad.text
    ok = httpx.post(f"{server}/completions", json={"prompt": ids, "max_tokens": 1, "prompt_logprobs": -1})
    assert ok.status_code == 200


def test_full_vocabulary_sampling_and_echo_send_the_vocabulary_size(server, peaked_backend, think_tok):
    """``score_top_k=-1`` at τ != 1 used to send ``logprobs=-1``, which vLLM answers with HTTP 400; it now
    sends the vocabulary size, and the tempered log-probs are exact (bound 0) against the local backend."""
    be = peaked_backend
    full = OpenAIBackend(server, "tiny", think_tok, score_top_k=-1, score_api="echo")
    remote = full.sample(_reqs(be), temperature=0.6, max_new_tokens=12, seed=9)
    local = be.sample(_reqs(be), temperature=0.6, max_new_tokens=12, seed=9)
    for r, c in zip(remote, local, strict=True):
        assert r.generated_ids == c.generated_ids and not r.exact
        assert r.logprob_error_bound == pytest.approx(0.0, abs=1e-4)
        assert r.logprob == pytest.approx(c.logprob, abs=1e-3)


def test_score_cli_score_top_k_makes_server_scores_exact(saved_model_dir, tmp_path):
    """``hackwatch score --score-top-k -1`` against a server: τ-exact scores (bound 0) equal to the transformers
    backend's; the default top-20 gives a bound that holds; a transformers model or a bad value is refused."""
    from typer.testing import CliRunner

    from hackwatch.cli import app

    local = TransformersBackend(str(saved_model_dir))
    srv, url = serve_in_thread(local)
    try:
        words = ("Let me think about edge cases", "I will check the tests", "Maybe")
        bank = tmp_path / "bank.jsonl"
        bank.write_text("".join(json.dumps({"prompt": "Write add.", "prefix_ids": list(local.encode(w)),
                                            "prefix_id": str(i)}) + "\n" for i, w in enumerate(words)))
        runner = CliRunner()

        def score(model: str, *extra: str) -> list[dict]:
            out = tmp_path / f"s{len(list(tmp_path.iterdir()))}.jsonl"
            res = runner.invoke(app, ["score", "--model", model, "--prefixes", str(bank), "--out", str(out),
                                      "--temperature", "0.7", *extra])
            assert res.exit_code == 0, res.output
            return [json.loads(line) for line in out.read_text().splitlines()]

        spec = f"openai:{url}#{saved_model_dir}"
        exact, full, top = score(str(saved_model_dir)), score(spec, "--score-top-k", "-1"), score(spec)
        for e, f, t in zip(exact, full, top, strict=True):
            assert f["logprob"] == pytest.approx(e["logprob"], abs=1e-3) and f["approx_error_bound"] == 0.0
            assert -1e-3 <= t["logprob"] - e["logprob"] <= t["approx_error_bound"] + 1e-3
        assert any(t["approx_error_bound"] > 1e-3 for t in top)
        for model, value, message in ((str(saved_model_dir), "-1", "only for openai: and vllm: models"),
                                      (spec, "0", "expected -1 (the full vocabulary) or an integer >= 1")):
            res = runner.invoke(app, ["score", "--model", model, "--prefixes", str(bank), "--out",
                                      str(tmp_path / "bad.jsonl"), "--score-top-k", value])
            assert res.exit_code == 2 and message in res.output and not (tmp_path / "bad.jsonl").exists()
    finally:
        srv.shutdown()
