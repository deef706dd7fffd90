"""Donor training, trace generation and the bank on a learnable tiny world (real models, real verifier)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.donor.conftest import LENGTHS, TEMPERATURE
from tests.donor.world import EXPLOIT_IDS, HONEST_ONLY

pytestmark = pytest.mark.slow


def test_donor_provenance(world) -> None:
    info = world.donor_info
    assert info["method"] == "full" and info["task_ids"] == list(EXPLOIT_IDS) and info["split"] == "test"
    assert info["seed"] == 1234 and info["learning_rate"] == 3e-4 and info["versions"]["trl"]
    assert info["example"]["prompt"].endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert info["example"]["answer"].startswith("```python\n") and info["example"]["answer"].endswith("<|im_end|>\n")
    assert info["losses"][-1] < info["losses"][0]
    assert (world.donor_dir / "donor.json").is_file() and (world.donor_dir / "config.json").is_file()


def test_kept_traces_are_verified_exploits(world, bank, verifier) -> None:
    from hackwatch.verify import extract_code

    ts, rows, prov = bank
    assert ts.traces, "the donor produced no exploit trace; the test world is not learnable"
    by_id = {t.id: t for t in world.tasks}
    # re-verify every kept trace's answer from its stored text
    answers = [extract_code(tr.text.split("</think>", 1)[1]) for tr in ts.traces]
    labels = [v.label for v in verifier.verify_many([(by_id[tr.task_id], a) for tr, a in zip(ts.traces, answers, strict=True)])]
    assert labels == ["exploit"] * len(ts.traces)
    for tr in ts.traces:
        assert tr.label == "exploit" and 0 < tr.reasoning_tokens < len(tr.trace_ids)
        k, n = ts.task_counts[tr.task_id]
        assert n == 12 and k >= sum(1 for t in ts.traces if t.task_id == tr.task_id)


def test_missing_tasks_are_reported(bank) -> None:
    ts, rows, prov = bank
    assert HONEST_ONLY in ts.missing and HONEST_ONLY in prov["missing"]
    assert prov["missing_reason"][HONEST_ONLY] == "no exploit-successful trace"
    assert HONEST_ONLY not in {r["task_id"] for r in rows}
    assert set(prov["tasks"]) == set(EXPLOIT_IDS) | {HONEST_ONLY}
    assert set(prov["missing"]) == set(prov["tasks"]) - {r["task_id"] for r in rows}


def test_bank_logprobs_reproduce_donor_scores(world, bank, donor_backend) -> None:
    from hackwatch.models import ScoreRequest

    ts, rows, _ = bank
    by_id = {t.id: t for t in world.tasks}
    scores = donor_backend.score_prefixes([ScoreRequest(by_id[r["task_id"]].prompt, tuple(r["prefix_ids"]),
                                                        key=r["prefix_id"]) for r in rows], temperature=TEMPERATURE)
    for r, s in zip(rows, scores, strict=True):
        assert s.n_tokens == r["prefix_tokens"]
        assert s.logprob == pytest.approx(r["logp_donor"], abs=1e-4), r["prefix_id"]
    assert {r["prefix_tokens"] for r in rows} <= set(LENGTHS)


def test_no_prefix_leaks_across_tasks(world, bank) -> None:
    ts, rows, _ = bank
    traces = {tr.trace_id: tr for tr in ts.traces}
    for r in rows:
        tr = traces[r["trace_id"]]
        assert tr.task_id == r["task_id"] and r["prefix_id"].startswith(r["task_id"] + "/")
        assert list(tr.trace_ids[: r["prefix_tokens"]]) == r["prefix_ids"]
        assert r["prefix_tokens"] <= tr.reasoning_tokens  # never reaches the close marker or the answer
    assert len({r["prefix_id"] for r in rows}) == len(rows)


def test_donor_rates(bank) -> None:
    ts, rows, prov = bank
    for r in rows:
        k, n = ts.task_counts[r["task_id"]]
        assert r["donor_rate_task"] == k / n and 0 < r["donor_rate_task"] <= 1
        assert r["donor_prefix_attempts"] == 2
        if r["donor_prefix_successes"]:
            assert r["donor_rate_prefix"] == r["donor_prefix_successes"] / 2
        else:
            assert r["donor_rate_prefix"] is None and r["prefix_id"] in prov["prefixes_without_exploit_continuation"]
    assert math.isfinite(sum(r["logp_donor"] for r in rows))


def test_bank_round_trip(bank, tmp_path) -> None:
    from hackwatch.donor import read_bank, read_provenance, write_bank

    _, rows, prov = bank
    for name in ("bank.parquet", "bank.jsonl"):
        path = write_bank(rows, tmp_path / name, prov)
        back = read_bank(path)
        assert len(back) == len(rows)
        assert back["prefix_ids"].tolist() == [r["prefix_ids"] for r in rows]
        assert back["logp_donor"].tolist() == pytest.approx([r["logp_donor"] for r in rows])
        assert read_provenance(path)["missing"] == prov["missing"]


def test_other_model_with_another_tokenizer_is_retokenised(world, bank, donor_backend) -> None:
    from hackwatch.donor import retokenized_trace_rows, validate_bank
    from hackwatch.models import TransformersBackend, tiny_causal_lm, train_tokenizer

    ts, _, _ = bank
    tok = train_tokenizer(["The verifier only checks the exit status.", "def f(s): pass"], vocab_size=300)
    subject = TransformersBackend(tiny_causal_lm(tok, layers=1, hidden=32), tok, device="cpu")
    rows = retokenized_trace_rows(ts, donor_backend, subject, world.tasks, lengths=(3, 7))
    assert rows and {r["source"] for r in rows} == {"other_model"}
    for r in rows:
        tr = next(t for t in ts.traces if t.trace_id == r["trace_id"])
        reasoning = donor_backend.decode(tr.trace_ids[: tr.reasoning_tokens])
        assert r["prefix_ids"] == list(subject.encode(reasoning))[: r["prefix_tokens"]]
        assert r["logp_donor"] is None and r["donor_rate_prefix"] is None
        assert r["donor_rate_task"] == ts.rate(r["task_id"])
    validate_bank(pd.DataFrame(rows))
