"""`grader check`: passes on the bank; fails naming a point whose sentence is removed."""

from pathlib import Path

import pytest

from answer_grader.audit import audit_question
from answer_grader.bank import load_bank
from answer_grader.text import split_sentences

from .conftest import run

pytestmark = pytest.mark.model  # grading quality: the real embedding model


def test_check_passes_on_the_bank(bank_dir):
    result = run("check", "--bank", str(bank_dir))
    assert result.exit_code == 0, result.stderr
    assert "OK: 23 questions" in result.stdout
    assert "attention-mechanisms" in result.stdout


def _removable_point(bank_copy: Path):
    """A (question, point, sentence) whose sentence appears verbatim in the source and carries the
    point alone: deleting it must make the check fail for that point."""
    bank = load_bank(bank_copy)
    for q in bank.questions:
        audit = audit_question(q)
        for point, ev in zip(q.key_points, audit.evidence, strict=True):
            assert ev.sentence is not None
            if q.reference_answer.count(ev.sentence.text) != 1:
                continue
            stripped = q.reference_answer.replace(ev.sentence.text, "")
            again = audit_question(q.model_copy(update={"reference_answer": stripped}))
            if not next(e for e in again.evidence if e.point_id == point.id).complete:
                return q, point, ev.sentence.text
    raise AssertionError("no point is carried by a single verbatim sentence")


def test_deleting_the_sentence_that_carries_a_point_fails_the_check(bank_copy):
    question, point, sentence = _removable_point(bank_copy)
    ref = bank_copy / "reference_answers" / f"{question.id}.md"
    ref.write_text(ref.read_text(encoding="utf-8").replace(sentence, ""), encoding="utf-8")

    result = run("check", "--bank", str(bank_copy))

    assert result.exit_code == 1
    assert f"rubrics/{question.id}.yaml" in result.stderr
    assert f"({point.id})" in result.stderr
    assert f"reference_answers/{question.id}.md" in result.stderr
    assert "Traceback" not in result.stderr
    # exactly one point fails: the check names that point and no other
    assert result.stderr.count("not carried by") == 1


def test_most_points_have_a_single_carrying_sentence(bank_copy):
    """Guards the test above from passing vacuously: most of the bank's points are carried by one
    sentence each, so deleting that sentence (from the answer's plain text) is detected."""
    bank = load_bank(bank_copy)
    removable = 0
    total = 0
    for q in bank.questions:
        sentences = split_sentences(q.reference_answer)
        for ev in audit_question(q).evidence:
            total += 1
            assert ev.sentence is not None
            rest = "\n\n".join(s.text for s in sentences if s.index != ev.sentence.index)
            again = audit_question(q.model_copy(update={"reference_answer": rest}))
            removable += not next(e for e in again.evidence if e.point_id == ev.point_id).complete
    assert removable / total > 0.5, (removable, total)


def test_a_point_carried_only_by_a_keyword_list_fails_the_offline_pass(bank_copy):
    """The keyword check passes, but the offline grader does not credit a list of terms."""
    bank = load_bank(bank_copy)
    q = bank.get("positional-encodings")
    audit = audit_question(q)
    point, ev = next(
        (p, e)
        for p, e in zip(q.key_points, audit.evidence, strict=True)
        if q.reference_answer.count(e.sentence.text) == 1
    )
    terms = ", ".join(str(g[0]) for g in point.keywords)
    stuffed = f"{terms}, {terms}, misc, notes, etc."
    ref = bank_copy / "reference_answers" / f"{q.id}.md"
    ref.write_text(ref.read_text("utf-8").replace(ev.sentence.text, stuffed), encoding="utf-8")

    result = run("check", "--bank", str(bank_copy))

    assert result.exit_code == 1
    lines = [ln for ln in result.stderr.splitlines() if f"({point.id})" in ln]
    assert lines and all("the offline grader finds it" in ln for ln in lines), result.stderr
    assert run("check", "--no-offline", "--bank", str(bank_copy)).exit_code == 0
