"""Sentence splitting: pysbd's rules, and the shortcut that skips pysbd for a block it would return
whole. The shortcut must never split otherwise than pysbd (a review found "1) ... 2) ..." lists,
which pysbd splits into items, taken whole by a first version of it)."""

from __future__ import annotations

import pysbd
import pytest

from answer_grader.text import _one_sentence, split_sentences

SEGMENTER = pysbd.Segmenter(language="en", clean=False)

BLOCKS = [
    "RoBERTa differs from BERT in its training recipe: 1) it removes next sentence prediction "
    "2) it uses dynamic masking 3) it trains on ten times more data",
    "It has (a) more data (b) bigger batches and (c) dynamic masks",
    "Uses i) this ii) that",
    "Full-width sentences 句子。第二句",
    "Wait\u2026 what is it",
    "Attention weighs every token of the sequence",
    "Attention weighs every token of the sequence.",
    "He said \u201cyes\u201d and left",
    "The model: attention and MLP layers; then a softmax",
]


@pytest.mark.parametrize("block", BLOCKS)
def test_a_block_splits_as_pysbd_splits_it(block: str) -> None:
    expected = [p.strip() for p in SEGMENTER.segment(block) if p.strip()]
    got = [s.text for s in split_sentences(block)]
    # (short pieces are joined to the next sentence afterwards, as for any block: compare the words)
    assert " ".join(got).split() == " ".join(expected).split()
    assert len(got) <= len(expected)
    if _one_sentence(block):
        assert expected == [block.strip()]


def test_a_numbered_list_in_a_sentence_is_not_taken_whole() -> None:
    assert not _one_sentence(BLOCKS[0])
    assert len(split_sentences(BLOCKS[0])) == len([p for p in SEGMENTER.segment(BLOCKS[0]) if p.strip()])
