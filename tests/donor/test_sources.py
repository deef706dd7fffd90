"""The other proposal sources: a user file and an LLM writer behind the OpenAI-compatible backend."""

from __future__ import annotations

import json

import pytest

from hackwatch.donor import (
    BankError,
    file_prefixes,
    prompted_prefixes,
    write_bank,
)
from hackwatch.models import (
    OpenAIBackend,
    TransformersBackend,
    serve_in_thread,
    tiny_causal_lm,
    train_tokenizer,
)

TEXT = "The verifier only checks the exit status, so I exit early."


@pytest.fixture(scope="module")
def subject(tasks):
    tok = train_tokenizer([TEXT, *(t.prompt + t.exploit for t in tasks)], vocab_size=400)
    return TransformersBackend(tiny_causal_lm(tok, layers=1, hidden=32, seed=5), tok, device="cpu")


def test_file_prefixes_tokenised_once(tmp_path, subject, tasks) -> None:
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps({"task_id": "count_words", "text": TEXT}) + "\n\n"
                 + json.dumps({"task_id": "leap_year", "text": TEXT, "prefix_id": "mine"}) + "\n")
    rows, prov = file_prefixes(f, subject, tasks, lengths=(3, 500))
    ids = list(subject.encode(TEXT))
    assert [r["prefix_id"] for r in rows] == ["count_words/f1/3", "mine/3"]
    assert rows[0]["prefix_ids"] == ids[:3] and rows[0]["text"] == subject.decode(ids[:3])
    assert rows[0]["source"] == "file" and rows[0]["logp_donor"] is None and rows[0]["pivot_term"] == "verifier"
    whole, _ = file_prefixes(f, subject, tasks)
    assert [r["prefix_tokens"] for r in whole] == [len(ids)] * 2 and prov["missing"] == []
    write_bank(rows, tmp_path / "b.jsonl", prov)


@pytest.mark.parametrize(("content", "message"), [
    ("{bad\n", r"p.jsonl:1: not valid JSON"),
    ('{"task_id": "nope", "text": "x"}\n', r"p.jsonl:1, field 'task_id': 'nope' is not a task"),
    ('{"task_id": "count_words", "text": "  "}\n', r"p.jsonl:1, field 'text': expected non-empty"),
    ('{"task_id": "count_words", "text": "a", "prefix_id": "d"}\n{"task_id": "leap_year", "text": "b", '
     '"prefix_id": "d"}\n', r"p.jsonl:2, field 'prefix_id': duplicate id 'd'"),
])
def test_file_errors(tmp_path, subject, tasks, content, message) -> None:
    f = tmp_path / "p.jsonl"
    f.write_text(content)
    with pytest.raises(BankError, match=message):
        file_prefixes(f, subject, tasks)


def test_prompted_through_openai_backend(subject, tasks) -> None:
    wtok = train_tokenizer(["Write the first sentences of the reasoning.", TEXT], vocab_size=350)
    writer_local = TransformersBackend(tiny_causal_lm(wtok, layers=1, hidden=32, seed=6), wtok, device="cpu")
    server, url = serve_in_thread(writer_local)
    try:
        writer = OpenAIBackend(url, "writer", wtok)
        rows, prov = prompted_prefixes(writer, subject, tasks, n=2, temperature=1.0, max_new_tokens=12, seed=3)
    finally:
        server.shutdown()
    assert {r["source"] for r in rows} == {"prompted"} and prov["n"] == 2
    assert len(rows) + len(prov["empty_answers"]) == 4
    for r in rows:  # the writer's text is stored re-encoded with the *subject* tokenizer
        assert r["prefix_ids"] == list(subject.encode(r["trace_text"]))[: r["prefix_tokens"]]
        assert r["trace_id"].startswith(r["task_id"] + "/p")
    with pytest.raises(ValueError, match="unknown field 'nope'"):
        prompted_prefixes(writer_local, subject, tasks, template="{nope}")
