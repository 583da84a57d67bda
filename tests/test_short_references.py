"""Questions whose reference answer is one short sentence (a user's own quiz question, or a short-answer
data set such as SemEval): short answers are graded, alternatives count, and echoing the question
still earns nothing. The texts are our own."""

from __future__ import annotations

import json

import pytest

from answer_grader.bootstrap import derive_key_points, point_from_text
from answer_grader.config import resolve_settings
from answer_grader.evaluation import EvalRow, load_rows, question_for
from answer_grader.signals import min_answer_words

from .conftest import run

pytestmark = pytest.mark.model  # grading quality: the real embedding model

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
    assert {"leaves", "plant"} <= words
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
    """'is connected' against a reference saying 'are not connected': the same words, the
    opposite claim. The clash is flagged and costs evidence; the derived keyword is the negated
    phrase, so only the answer that keeps the negation carries it."""
    from answer_grader.grading import grade
    from answer_grader.params import PARAMS

    ALPHA, BETA, GAMMA, NOVEL_FLOOR = PARAMS.alpha, PARAMS.beta, PARAMS.gamma, PARAMS.novel_floor
    from answer_grader.semantic import default_embedder
    from answer_grader.signals import unit_features, unit_scores
    from answer_grader.text import split_sentences

    question = "Explain why you got a voltage reading of 1.5 for terminal 1 and the positive terminal."
    q = question_for(row("", "Terminal 1 and the positive terminal are not connected.", question))
    assert q.key_points[0].keywords == [["not connected"]]
    agree, oppose = (
        "Terminal 1 is not connected to the positive terminal.",
        "Terminal 1 is connected to the positive terminal.",
    )
    [(_, features)] = unit_features(q, split_sentences(agree + " " + oppose), default_embedder())
    assert features.clash == (False, True)
    assert features.keyword_share == (1.0, 0.0)
    # The clash costs the clashing sentence exactly GAMMA of evidence, and nothing to the other.
    with_clash = unit_scores(features, ALPHA, BETA, GAMMA, NOVEL_FLOOR)
    without = unit_scores(features, ALPHA, BETA, 0.0, NOVEL_FLOOR)
    assert GAMMA > 0 and with_clash[0] == without[0]
    assert without[1] - with_clash[1] == pytest.approx(GAMMA)
    difference = (
        grade(q, agree, OFFLINE).points[0].semantic - grade(q, oppose, OFFLINE).points[0].semantic
    )
    assert difference >= 0.15


def features_of(question, reference, answer, rubric=None):
    from answer_grader.semantic import default_embedder
    from answer_grader.signals import unit_features
    from answer_grader.text import split_sentences

    q = question_for(row("", reference, question, rubric=rubric))
    return unit_features(q, split_sentences(answer), default_embedder())[0][1]


def test_a_keyword_the_question_uses_does_not_tie_a_sentence():
    """A sentence about something else that carries the point's keyword: it is tied when the
    question lacks that keyword (so it may be the answer's own word), not when the question has it."""
    reference = "The softmax turns the scaled scores into weights that sum to one."
    point = {"id": "p1", "text": reference, "keywords": [["softmax"]]}
    answer = "My cat chased the softmax around the garden all afternoon today."
    asked = features_of("What does the softmax do in attention?", reference, answer, (point,))
    unasked = features_of("What turns scores into weights in attention?", reference, answer, (point,))
    assert asked.novel == (False,) and asked.tied(-1.0) == (False,)
    assert unasked.novel == (True,)


def test_repeating_the_questions_words_is_not_repeating_the_point():
    question = "Why did bulb A stay lit when switch Z was opened?"
    reference = "Bulb A stayed lit because it is still in a closed path with the battery."
    echo = features_of(question, reference, "Bulb A stayed lit when switch Z was opened.")
    answer = features_of(question, reference, "It is still in a closed path with the battery.")
    assert echo.lexical[0] <= 0.2 < 0.8 <= answer.lexical[0]


def test_the_reference_among_its_alternatives_counts_once(tmp_path):
    ref = "Bulb A is still in a closed path with the battery."
    path = write(tmp_path, [base("x", "correct", reference_answers=[ref, "A closed path remains."])])
    assert load_rows(path)[0].references == (ref, "A closed path remains.")


def test_an_alternative_with_nothing_to_grade_is_skipped(tmp_path):
    student = "Bulb A is still in a closed path with the battery."
    path = write(tmp_path, [base(student, "correct", reference_answers=["", "It is."])])
    result = run("eval", str(path), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["predictions"][0]["grader"] == 1.0


def test_only_a_short_answer_to_a_short_reference_goes_to_the_judge(bank):
    from answer_grader.grading import needs_judge

    q = question_for(row("", BAND_REF, BAND))
    assert needs_judge(q, "Because it vibrates.")
    assert not needs_judge(bank.get("attention-mechanisms"), "Queries, keys and softmax.")
    # Two short sentences are already more than one short sentence: the usual minimum applies.
    two = question_for(row("", "The band vibrates fast. Its vibration makes the sound.", BAND))
    assert min_answer_words(two) == 8 and not needs_judge(two, "Because it vibrates.")


def test_a_bare_list_of_terms_is_no_evidence_even_for_a_short_reference():
    from answer_grader.grading import grade

    q = question_for(row("", "Bulb A is still in a closed path with the battery.", "Why was bulb A on?"))
    assert grade(q, "closed path battery", OFFLINE).score == 0
    assert grade(q, "It is in a closed path.", OFFLINE).score > 0


def test_a_rubric_given_as_objects_is_graded_and_its_alternatives_ignored(tmp_path):
    point = {"id": "path", "text": "Bulb A is still in a closed path.", "keywords": [["closed path"]]}
    student = "Bulb A stayed lit."
    path = write(
        tmp_path,
        [base(student, "correct", rubric=[point], reference_answers=["Bulb A stayed lit."])],
    )
    result = run("eval", str(path), "--format", "json")
    assert result.exit_code == 0, result.stderr
    prediction = json.loads(result.stdout)["predictions"][0]
    # The rubric is the standard: the alternative (which the answer copies) counts for neither.
    assert prediction["grader"] == 0 and prediction["unigram_overlap"] < 1


@pytest.mark.parametrize(
    ("rubric", "message"),
    [
        (5, "data.jsonl:1: rubric must be a list of key points"),
        ("closed path", "data.jsonl:1: rubric must be a list of key points"),
        ([5], "data.jsonl:1: rubric must be a list of key points"),
        ([{"id": "p1", "text": "short"}], "line 1: rubric[0] is not a key point (text: "),
    ],
)
def test_a_malformed_rubric_is_one_line(tmp_path, rubric, message):
    path = write(tmp_path, [base("Bulb A is in a closed path.", "correct", rubric=rubric)])
    result = run("eval", str(path))
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.stderr
