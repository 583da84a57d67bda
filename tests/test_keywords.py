"""The deterministic keyword check: stemming, variants, negation, regexes, sentence scope."""

import pytest

from answer_grader.keywords import analyse_all, check_point
from answer_grader.models import KeyPoint, RegexTerm
from answer_grader.text import split_sentences


def evidence(groups, text):
    point = KeyPoint(id="p", text="a point under test", keywords=groups)
    return check_point(point, analyse_all(split_sentences(text)))


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("query", "Each token emits queries."),  # plural
        ("queries", "Form a query per token."),  # singular
        ("scaled", "Scaling keeps the logits small."),  # inflection
        ("self-attention", "Self attention mixes tokens."),  # hyphen vs space
        ("self-attention", "Selfattention mixes tokens."),  # joined
        ("self attention", "Self-attention mixes tokens."),
        ("pretraining", "Pre-training is self-supervised."),  # joined term, hyphenated text
        ("KV cache", "The kv-caches grow with context."),
        ("softmax", "A SoftMax normalises the scores."),  # case
    ],
)
def test_variants_match(term, text):
    assert evidence([[term]], text).complete


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("key", "Press a keyboard button."),  # whole words only
        ("head", "Overhead is small."),
        ("softmax", "It does not use a softmax."),  # negated
        ("softmax", "Attention without softmax is linear."),
        ("softmax", "It isn't a softmax at all."),
        ("recurrence", "There is no recurrence here."),
    ],
)
def test_non_matches(term, text):
    assert not evidence([[term]], text).complete


def test_negation_does_not_cross_a_clause():
    assert evidence([["softmax"]], "It is not slow, and softmax is applied.").complete


def test_negation_window_is_three_words():
    from answer_grader.params import PARAMS

    assert PARAMS.negation_window == 3
    # A cue three words before the term denies it; four words before, it does not.
    assert not evidence([["softmax"]], "It does not use a softmax.").complete
    assert evidence([["softmax"]], "It does not really use a softmax.").complete
    assert evidence([["softmax"]], "No one doubts that the final softmax matters.").complete


def test_not_only_affirms():
    assert evidence([["dropout"]], "It uses not only dropout but also weight decay.").complete


def test_all_groups_must_match_in_one_sentence():
    groups = [["query", "queries"], ["key", "keys"], ["value"]]
    split = "Tokens form queries and keys. Values are mixed later."
    ev = evidence(groups, split)
    assert not ev.complete
    assert ev.missing == (("value",),)
    assert evidence(groups, "Tokens form queries, keys and values.").complete


def test_list_items_are_separate_sentences():
    text = "- queries and keys\n- values\n"
    assert not evidence([["query"], ["value"]], text).complete


def test_regex_alternative():
    groups = [["softmax"], [RegexTerm(regex=r"sqrt|√")]]
    assert evidence(groups, "Take softmax(QK^T / √d_k).").complete
    assert not evidence(groups, "Take softmax(QK^T).").complete


def test_evidence_reports_sentence_and_terms():
    ev = evidence([["softmax"], ["scaled"]], "Intro here.\n\nScores are scaled, then a softmax.")
    assert ev.sentence is not None and ev.sentence.text == "Scores are scaled, then a softmax."
    assert ev.sentence.line == 3
    assert {h.term for h in ev.hits} == {"softmax", "scaled"}
    hit = next(h for h in ev.hits if h.term == "softmax")
    assert ev.sentence.text[hit.start : hit.end] == "softmax"


def test_abbreviations_do_not_split_sentences():
    sentences = split_sentences("Use a norm, e.g. RMSNorm, in 1.5 layers. Then add the residual.")
    assert [s.text for s in sentences] == [
        "Use a norm, e.g. RMSNorm, in 1.5 layers.",
        "Then add the residual.",
    ]


def test_a_lead_in_fragment_joins_the_next_sentence():
    sentences = split_sentences(
        "- **Dynamic masking.** A new mask is drawn each epoch. It was static before."
    )
    assert [s.text for s in sentences] == [
        "Dynamic masking. A new mask is drawn each epoch.",
        "It was static before.",
    ]
