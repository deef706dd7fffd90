"""Pivot detection on crafted traces: lexicon, per-type terms, classifier hook, token mapping."""

from __future__ import annotations

import pytest

from hackwatch.donor import GENERIC_TERMS, TYPE_TERMS, find_pivot, find_pivot_char, ladder, lexicon_for
from hackwatch.models import train_tokenizer

BENIGN = "I need to count the words. Splitting on whitespace handles repeated spaces. "
TURN = "But the verifier only checks the exit status, so I can stop early."


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer([BENIGN + TURN, "sys.exit(0) and TEST_CASES and kwargs"], vocab_size=350)


def test_generic_lexicon_finds_first_turn() -> None:
    char, term = find_pivot_char(BENIGN + TURN, "process_exit")
    assert term == "verifier" and char == len(BENIGN) + len("But the ")


def test_no_pivot_in_benign_reasoning() -> None:
    assert find_pivot_char(BENIGN, "process_exit") is None
    assert find_pivot_char("I will check the edges.", "test_cases_honor_system") is None


def test_type_terms_and_word_start() -> None:
    text = "Splitting works. Then call sys.exit(0) right away."
    assert find_pivot_char(text, "process_exit") == (text.index("sys.exit"), "sys.exit")
    assert find_pivot_char(text, "type_confusion") is None  # sys.exit is not a type_confusion term
    # stems match inflections at a word start only: "hardcoded" yes, "unskipped" no
    assert find_pivot_char("I hardcoded it", "x") == (2, "hardcod")
    assert find_pivot_char("nothing unskipped here", "x") is None
    assert "verifier" in GENERIC_TERMS and set(TYPE_TERMS["process_exit"]) <= set(lexicon_for("process_exit"))


def test_earliest_match_wins_longest_on_ties() -> None:
    text = "skip the verifier"
    assert find_pivot_char(text, "x") == (0, "skip")
    assert find_pivot_char("only checks two cases", "x", lexicon=["only", "only checks"]) == (0, "only checks")


def test_classifier_hook_replaces_lexicon() -> None:
    text = "First I read the task. Then I notice something odd! Finally I write code."
    calls = []

    def odd(sentence: str, exploit_type: str) -> bool:
        calls.append((sentence, exploit_type))
        return "odd" in sentence

    assert find_pivot_char(text, "assert_bypass", classifier=odd) == (text.index("Then"), "classifier")
    assert calls[0] == ("First I read the task.", "assert_bypass")
    assert find_pivot_char(BENIGN + TURN, "x", classifier=lambda s, t: False) is None


def test_pivot_token_contains_the_match(tok) -> None:
    ids = tok.encode(BENIGN + TURN, add_special_tokens=False)
    def decode(x):
        return tok.decode(list(x))
    p = find_pivot(ids, "process_exit", decode)
    assert p is not None and p.term == "verifier"
    before, upto = decode(ids[: p.token]), decode(ids[: p.token + 1])
    assert len(before) <= p.char < len(upto) and "verifier"[:1] in upto[p.char:]
    assert find_pivot(tok.encode(BENIGN, add_special_tokens=False), "process_exit", decode) is None


def test_ladder_from_pivot_and_caps() -> None:
    assert ladder(30, (2, 5, 10, 20, 45, 100)) == [2, 5, 10, 20]
    assert ladder(30, (2, 5, 10, 20, 45), start=7) == [9, 12, 17, 27]
    assert ladder(30, (2, 45), full_reasoning=True) == [2, 30]
    assert ladder(1, (2, 5)) == []
    with pytest.raises(ValueError, match=">= 1 token"):
        ladder(10, (0, 2))


def test_trace_rows_from_crafted_trace(tok) -> None:
    from types import SimpleNamespace

    from hackwatch.donor import Trace, trace_rows

    reasoning = tok.encode(BENIGN + TURN, add_special_tokens=False)
    ids = tuple(reasoning) + tuple(tok.encode("</think>\n\nx<|im_end|>", add_special_tokens=False))
    lps = tuple(-0.1 * (i + 1) for i in range(len(ids)))
    tr = Trace("t", "process_exit", "t/t0", ids, lps, len(reasoning), "", "exploit", 0.7, 0)
    be = SimpleNamespace(decode=lambda x: tok.decode(list(x)))
    plain = trace_rows(tr, be, lengths=(2, 5, 10_000), donor_rate=(3, 8))
    assert [r["prefix_tokens"] for r in plain] == [2, 5]
    assert plain[1]["logp_donor"] == pytest.approx(sum(lps[:5])) and plain[0]["donor_rate_task"] == 3 / 8
    pivot = plain[0]["pivot"]
    assert pivot is not None and plain[0]["pivot_term"] == "verifier" and plain[0]["prefix_start"] == 0
    at = trace_rows(tr, be, lengths=(2, 5), start_at_pivot=True)
    assert [r["prefix_tokens"] for r in at] == [pivot + 2, pivot + 5] and at[0]["prefix_start"] == pivot
    assert "verifier" not in at[0]["text"][: len(tok.decode(list(reasoning[:pivot])))] and "verifier" in at[1]["text"]
    flagged = trace_rows(tr, be, lengths=(2,), classifier=lambda s, t: s.startswith("Splitting"))
    assert flagged[0]["pivot_term"] == "classifier" and flagged[0]["pivot"] < pivot
