"""Questions whose reference answer is one short sentence (a user's own quiz question, or a short-answer
data set such as SemEval): short answers are graded, alternatives count, and echoing the question
still earns nothing. The texts are our own."""

from __future__ import annotations

import json

import pytest

from answer_grader.bootstrap import derive_key_points, point_from_text
from answer_grader.config import resolve_settings
from answer_grader.evaluation import EvalRow, load_rows, question_for

from .conftest import run

OFFLINE = resolve_settings(backend="offline", env={})


def row(student: str, reference: str, question: str, **extra) -> EvalRow:
    return EvalRow(
        line=1,
        id="r",
        question_id="q",
        question=question,
        reference=reference,
        student=student,
        score=1,
        max_score=1,
        **extra,
    )


BAND = "Why does the rubber band make a sound when you pluck it?"
BAND_REF = "The rubber band vibrates."


def test_derived_keywords_leave_out_what_the_question_says():
    point = point_from_text(
        "The embryo contains the tiny leaves and root of the plant.",
        "p1",
        question="What does the embryo of a seed contain?",
    )
    words = {group[0] for group in point.keywords}
    assert "embryo" not in words and "contains" not in words
    assert {"leaves", "root", "plant"} <= words
    # Without a question every content word may be a keyword.
    assert "embryo" in {g[0] for g in point_from_text(point.text, "p1").keywords}


def test_a_short_answer_to_a_short_reference_is_graded():
    from answer_grader.grading import grade

    q = question_for(row("", BAND_REF, BAND))
    good = grade(q, "Because it vibrates.", OFFLINE)
    assert "too-short" not in good.flags and good.score >= 50
    wrong = grade(q, "Because it is stretched.", OFFLINE)
    assert wrong.score < good.score


def test_a_short_answer_to_an_interview_question_is_still_too_short(bank):
    from answer_grader.grading import grade

    report = grade(bank.get("attention-mechanisms"), "Queries, keys and softmax.", OFFLINE)
    assert "too-short" in report.flags and report.score == 0


def test_the_question_pasted_back_earns_nothing_on_a_short_reference():
    from answer_grader.grading import grade

    question = "Explain why bulb A stayed on when switch Z was opened."
    q = question_for(row("", "Bulb A is still in a closed path with the battery.", question))
    assert grade(q, question, OFFLINE).score == 0
    assert grade(q, "Bulb A is still in a closed path with the battery.", OFFLINE).score == 100


def test_derived_points_of_a_long_reference_are_unchanged_in_number():
    reference = (
        "Dropout randomly zeroes activations during training. It acts as an ensemble of thinned "
        "networks. At inference the weights are scaled so expected activations match."
    )
    assert len(derive_key_points(reference, question="What is dropout?")) == 3


def write(tmp_path, rows):
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return path


def base(student, label, **extra):
    return {
        "question_id": "circuit",
        "question": "Explain why bulb A stayed on when switch Z was opened.",
        "reference_answer": "Bulb A is still in a closed path with the battery.",
        "student_answer": student,
        "score": 1 if label == "correct" else 0,
        "max_score": 1,
        "label": label,
        **extra,
    }


def test_eval_grades_against_the_best_of_the_alternative_references(tmp_path):
    student = "Switch Z is not in the same path as bulb A, so opening it does not break that path."
    alternative = "Switch Z is not in the same path as bulb A."
    alone = write(tmp_path, [base(student, "correct")])
    with_alt = tmp_path / "alt.jsonl"
    with_alt.write_text(
        json.dumps(base(student, "correct", reference_answers=[{"text": alternative}])) + "\n",
        "utf-8",
    )
    one = json.loads(run("eval", str(alone), "--format", "json").stdout)["predictions"][0]
    two = json.loads(run("eval", str(with_alt), "--format", "json").stdout)["predictions"][0]
    assert two["grader"] > one["grader"]
    assert two["unigram_overlap"] > one["unigram_overlap"]  # the floor gets the same references
    assert load_rows(with_alt)[0].references == (
        "Bulb A is still in a closed path with the battery.",
        alternative,
    )


def test_eval_rejects_malformed_alternatives(tmp_path):
    path = write(tmp_path, [base("x", "correct", reference_answers=[{"id": 3}])])
    result = run("eval", str(path))
    assert result.exit_code == 1
    assert "data.jsonl:1: reference_answers must be a list" in result.stderr


@pytest.mark.parametrize("alternatives", [["one", "two"], [{"text": "one"}, "two"]])
def test_eval_reads_alternatives_as_strings_or_objects(tmp_path, alternatives):
    path = write(tmp_path, [base("x", "correct", reference_answers=alternatives)])
    assert load_rows(path)[0].alternatives == ("one", "two")


def test_a_clash_of_polarity_costs_credit():
    """'are connected' against a reference saying 'are not connected': the same words, the
    opposite claim. Without the polarity term both would score alike."""
    from answer_grader.grading import grade

    question = "Explain why you got a voltage reading of 1.5 for terminal 1 and the positive terminal."
    q = question_for(row("", "Terminal 1 and the positive terminal are not connected.", question))
    agrees = grade(q, "Terminal 1 is not connected to the positive terminal.", OFFLINE)
    opposite = grade(q, "Terminal 1 is connected to the positive terminal.", OFFLINE)
    assert agrees.points[0].semantic - opposite.points[0].semantic >= 0.15
    assert agrees.score > opposite.score
