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


def _without(question, point_id: str, grader) -> str:
    """The reference answer less the sentences that carry `point_id`, removed until the offline
    grader no longer finds the point: a near-complete answer that lacks just that point. The
    sentences that carry the critical points are kept (the answer must still state the question's
    defining idea); a point carried only by such a sentence fails the test that uses this."""
    full = grader.grade(question, question.reference_answer)
    critical = {p.id for p in question.key_points if p.critical} - {point_id}
    keep = {p.evidence.quote for p in full.points if p.id in critical and p.evidence}
    kept = [u.text for u in split_sentences(question.reference_answer)]
    for _ in range(6):
        report = grader.grade(question, "\n\n".join(kept))
        (point,) = [p for p in report.points if p.id == point_id]
        if point.verdict == "missed" or point.evidence is None or point.evidence.quote in keep:
            break
        kept = [t for t in kept if t != point.evidence.quote]
    return "\n\n".join(kept)


@pytest.mark.slow  # every non-critical point of every question: about 20 s
def test_missing_one_non_critical_point_never_caps_the_score(bank):
    """The rule for `critical` (docs/writing-rubrics.md), held by the bank: an answer that covers
    every point but one non-critical one is not capped at 50."""
    from answer_grader.config import resolve_settings
    from answer_grader.grading import grader_for

    grader = grader_for(resolve_settings("offline", env={}))
    capped = []
    for q in bank.questions:
        for p in q.key_points:
            if p.critical:
                continue
            report = grader.grade(q, _without(q, p.id, grader))
            if "critical-missed" in report.flags:
                capped.append((q.id, p.id, report.uncapped_score))
    assert capped == []


@pytest.mark.parametrize(
    ("question", "point"),
    [
        ("llm-applications", "code-generation"),
        ("roberta", "nsp-removed"),
        ("production-monitoring", "offline-regression-evals"),
        ("future-applications", "autonomous-agents"),
    ],
)
def test_a_strong_answer_missing_one_list_item_is_not_capped(bank, question, point):
    """The four caps the content review measured (82.6, 84.6, 82.6, 83.3 -> 50): each point is one
    item of a list, not the question's defining idea, so lacking it costs its weight, no more."""
    from answer_grader.config import resolve_settings
    from answer_grader.grading import grader_for

    grader = grader_for(resolve_settings("offline", env={}))
    q = bank.get(question)
    report = grader.grade(q, _without(q, point, grader))
    assert next(p for p in report.points if p.id == point).verdict == "missed"
    assert "critical-missed" not in report.flags
    assert report.score > 50 and report.score == report.uncapped_score


def test_check_holds_the_rules_for_critical_points_and_misconceptions(bank_copy):
    import yaml

    path = bank_copy / "rubrics" / "llm-applications.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    for p in data["key_points"][:3]:
        p["critical"] = True
    data["key_points"][0]["text"] += " (e.g. chat assistants)"
    data["misconceptions"] = data["misconceptions"][:2]
    data["misconceptions"][0].pop("point")
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")

    result = run("check", "--no-offline", "--bank", str(bank_copy))

    assert result.exit_code == 1
    assert "a critical point names examples ('e.g.')" in result.stderr
    assert "3 critical points" in result.stderr and "at most 2" in result.stderr
    assert "misconceptions[0]: no point" in result.stderr


def test_a_misconception_must_name_a_point_of_its_rubric(bank_copy):
    path = bank_copy / "rubrics" / "t5.yaml"
    text = path.read_text("utf-8")
    first = text.index("point: ", text.index("misconceptions:"))
    end = text.index("\n", first)
    path.write_text(text[:first] + "point: no-such-point" + text[end:], "utf-8")

    result = run("check", "--no-offline", "--bank", str(bank_copy))

    assert result.exit_code == 1
    assert "'no-such-point' is not a key point of this rubric" in result.stderr
