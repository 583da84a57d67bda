"""The project's own bank: the 23 questions of the question list, complete and well formed."""

import re
from pathlib import Path

import pytest

from answer_grader.bank import load_bank
from answer_grader.text import word_count

DATA = Path(__file__).parent / "data"


def seed_questions() -> dict[int, str]:
    text = (DATA / "question_list.md").read_text(encoding="utf-8")
    pairs = re.findall(r"^## Question (\d+)\s+\*\*(.+?)\*\*", text, flags=re.M)
    return {int(n): q for n, q in pairs}


@pytest.fixture(scope="module")
def bank(bank_dir):
    return load_bank(bank_dir)


def test_bank_has_the_23_questions_in_order(bank):
    assert [q.number for q in bank.questions] == list(range(1, 24))


def test_question_texts_match_the_list_with_words_repaired(bank):
    seed = seed_questions()
    assert len(seed) == 23
    for q in bank.questions:
        original = seed[q.number]
        # Same characters apart from the spaces the list lost ...
        assert re.sub(r"\s", "", q.text) == re.sub(r"\s", "", original), q.id
        # ... and every glue point of the original has its space back.
        assert len(q.text.split()) > len(original.split()) or original == q.text, q.id
        assert not re.search(r"[a-z]\(|\)[a-z]|[a-z]{2}(LLM|BERT|GPT)", q.text), q.text


@pytest.mark.parametrize("number", range(1, 24))
def test_reference_answer_length_and_points(bank, number):
    q = bank.get(str(number))
    words = word_count(q.reference_answer)
    assert 200 <= words <= 500, f"{q.id}: {words} words"
    assert 5 <= len(q.key_points) <= 9


def test_key_point_texts_are_distinct(bank):
    texts = [p.text for q in bank.questions for p in q.key_points]
    assert len(texts) == len(set(texts))


def test_every_labelled_answer_labels_exactly_its_rubrics_points(bank):
    """tests/data/labelled stays true to the bank: a verdict for every key point of the answer's
    question, and none for a point it no longer has (the calibration reads them all)."""
    import json

    wrong = []
    for part in sorted((DATA / "labelled").glob("*.jsonl")):
        for line in part.read_text("utf-8").splitlines():
            row = json.loads(line)
            points = [p.id for p in bank.get(row["question_id"]).key_points]
            if sorted(row["labels"]) != sorted(points):
                wrong.append((row["answer_id"], sorted(set(points) ^ set(row["labels"]))))
            for labels in (row["labels"], row.get("second_reader", {})):
                verdicts = {"covered", "partial", "missed", "contradicted"}
                assert set(labels.values()) <= verdicts, row["answer_id"]
            if "second_reader" in row:
                assert sorted(row["second_reader"]) == sorted(points), row["answer_id"]
    assert wrong == []


def test_every_question_lists_three_misconceptions_tied_to_points(bank):
    """What candidates really get wrong, at least three per question, each naming the key point it
    contradicts (the loader checks that the id exists)."""
    few = [q.id for q in bank.questions if len(q.rubric.misconceptions) < 3]
    untied = [q.id for q in bank.questions if any(m.point is None for m in q.rubric.misconceptions)]
    assert few == [] and untied == []
