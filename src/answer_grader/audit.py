"""`grader check`: prove the bank sound, down to each key point carried by its reference."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .bank import scan_bank
from .errors import Problem
from .keywords import KeywordEvidence, analyse_all, check_point
from .models import Question
from .text import split_sentences, word_count

if TYPE_CHECKING:
    from .environment import Environment
    from .grading import Grader


@dataclass(frozen=True)
class QuestionAudit:
    """One question's coverage: the keyword evidence of each key point in its reference answer, and
    the offline grader's verdict on each point when it grades the reference answer."""

    question: Question
    words: int
    evidence: tuple[KeywordEvidence, ...]
    offline: tuple[tuple[str, float], ...] = ()  # (verdict, evidence score) per point

    @property
    def covered(self) -> int:
        return sum(e.complete for e in self.evidence)

    @property
    def offline_covered(self) -> int:
        return sum(v == "covered" for v, _ in self.offline)

    def failures(self) -> list[Problem]:
        rubric = f"rubrics/{Path(self.question.rubric_path).name}"
        ref = f"reference_answers/{Path(self.question.reference_path).name}"
        out = []
        for i, ev in enumerate(self.evidence):
            if ev.complete:
                continue
            groups = "; ".join("[" + ", ".join(g) + "]" for g in ev.missing)
            best = f" (best sentence, line {ev.sentence.line}, lacks {groups})" if ev.sentence else ""
            msg = f"not carried by {ref}{best}" if best else f"not carried by {ref}: {groups} not found"
            out.append(Problem(rubric, f"key_points[{i}] ({ev.point_id})", msg))
        for i, (point, (verdict, score)) in enumerate(
            zip(self.question.key_points, self.offline, strict=False)
        ):
            if verdict != "covered":
                msg = f"the offline grader finds it {verdict} in {ref} (evidence {score:.2f})"
                out.append(Problem(rubric, f"key_points[{i}] ({point.id})", msg))
        return out + rule_problems(self.question, rubric)


# The bank's rules that a program can check (docs/writing-rubrics.md, "Critical points" and
# "Misconceptions"): a critical point is the defining idea of the question, so it never names
# examples and a question has at most MAX_CRITICAL of them; a misconception names the point it
# contradicts. (This project's bank also lists at least three misconceptions per question:
# tests/test_bank.py holds that; a new question of a user's own bank may have none yet.)
MAX_CRITICAL = 2
_EXAMPLES = re.compile(r"\b(e\.g\.|such as|for example|for instance|including)", re.IGNORECASE)


def rule_problems(question: Question, label: str) -> list[Problem]:
    """Where a rubric breaks the bank's rules for critical points and misconceptions."""
    out = []
    critical = [(i, p) for i, p in enumerate(question.key_points) if p.critical]
    for i, p in critical:
        found = _EXAMPLES.search(p.text)
        if found:
            msg = (
                f"a critical point names examples ({found.group(0)!r}): an answer that gives other "
                "examples is still good; make the point the idea, or not critical"
            )
            out.append(Problem(label, f"key_points[{i}] ({p.id})", msg))
    if len(critical) > MAX_CRITICAL:
        ids = ", ".join(p.id for _, p in critical)
        msg = f"{len(critical)} critical points ({ids}); at most {MAX_CRITICAL}, the defining idea"
        out.append(Problem(label, "key_points", msg))
    for i, m in enumerate(question.rubric.misconceptions):
        if m.point is None:
            msg = "no point: name the key point it contradicts"
            out.append(Problem(label, f"misconceptions[{i}]", msg))
    return out


@dataclass(frozen=True)
class AuditReport:
    root: Path
    source: str
    problems: tuple[Problem, ...]
    questions: tuple[QuestionAudit, ...]

    @property
    def failures(self) -> list[Problem]:
        return [*self.problems, *(f for q in self.questions for f in q.failures())]

    @property
    def ok(self) -> bool:
        return not self.failures


def audit_question(question: Question, *, grader: Grader | None = None) -> QuestionAudit:
    """Keyword evidence for each point in the reference; with a `grader` (offline), its verdicts."""
    sentences = analyse_all(split_sentences(question.reference_answer))
    evidence = tuple(check_point(p, sentences) for p in question.key_points)
    verdicts: tuple[tuple[str, float], ...] = ()
    if grader is not None:
        report = grader.grade(question, question.reference_answer)
        verdicts = tuple((p.verdict, p.semantic or 0.0) for p in report.points)
    return QuestionAudit(question, word_count(question.reference_answer), evidence, verdicts)


def audit_bank(
    explicit: str | os.PathLike[str] | None = None,
    *,
    offline: bool = True,
    env: Environment | None = None,
) -> AuditReport:
    """Validate every file of the bank and check each key point against its reference answer, by
    keywords and (unless `offline` is False) by the offline grader."""
    from .environment import Environment

    env = env or Environment()
    root, source = env.bank_dir(explicit)
    questions, problems = scan_bank(root, source)
    grader = None
    if offline:
        from .config import resolve_settings

        grader = env.grader(resolve_settings("offline", env={}))
    audits = tuple(audit_question(q, grader=grader) for q in questions)
    return AuditReport(root, source, tuple(problems), audits)
