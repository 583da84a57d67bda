"""Your progress, from the history: per question the attempts, best and last score and the next
review; per topic the mean of the graded attempts; all scores in the order they were made."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .history import Attempt
from .models import Question


@dataclass(frozen=True)
class QuestionProgress:
    question: Question
    attempts: int
    scores: tuple[float, ...]  # graded attempts, oldest first
    due: datetime | None  # the next review (None: never graded)
    wrong: int = 0  # points stated wrongly (contradicted) in the last graded attempt

    @property
    def best(self) -> float | None:
        return max(self.scores) if self.scores else None

    @property
    def last(self) -> float | None:
        return self.scores[-1] if self.scores else None


@dataclass(frozen=True)
class Progress:
    questions: tuple[QuestionProgress, ...]  # those attempted or scheduled, in bank order
    topics: tuple[tuple[str, int, float], ...]  # (topic, graded attempts, mean score)
    attempts: int
    graded: int
    scores: tuple[float, ...]  # every graded attempt's score, oldest first
    wrong: int = 0  # points stated wrongly (contradicted), over every graded attempt

    @property
    def ungraded(self) -> int:
        return self.attempts - self.graded


def progress(
    questions: Sequence[Question], attempts: Sequence[Attempt], due: dict[str, datetime]
) -> Progress:
    """The summary `grader stats` prints; `attempts` in any order."""
    ordered = sorted(attempts, key=lambda a: (a.submitted, a.id))
    graded = [a for a in ordered if a.score is not None]
    rows = []
    for q in questions:
        mine = [a for a in ordered if a.question_id == q.id]
        if mine or q.id in due:
            scores = tuple(a.score for a in mine if a.score is not None)
            last = next((a.report for a in reversed(mine) if a.report is not None), None)
            wrong = len(last.contradicted) if last is not None else 0
            rows.append(QuestionProgress(q, len(mine), scores, due.get(q.id), wrong))  # type: ignore[arg-type]
    by_id = {q.id: q for q in questions}
    per_topic: dict[str, list[float]] = {}
    for a in graded:
        if a.question_id in by_id:
            for t in by_id[a.question_id].rubric.topics:
                per_topic.setdefault(t, []).append(a.score or 0.0)
    topics = tuple((t, len(v), sum(v) / len(v)) for t, v in sorted(per_topic.items()))
    wrong = sum(len(a.report.contradicted) for a in graded if a.report is not None)
    return Progress(
        tuple(rows), topics, len(ordered), len(graded), tuple(a.score or 0.0 for a in graded), wrong
    )


SPARK = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"


def sparkline(values: Sequence[float]) -> str:
    """Scores 0..100 as a row of block characters."""
    return "".join(SPARK[min(len(SPARK) - 1, int(v / 100 * len(SPARK)))] for v in values)
