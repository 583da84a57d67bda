"""Attempts: an answer saved before it is graded, its grade (or why it has none) recorded, and its
review scheduled, in one place for every way an answer arrives (practice, a recorded sheet, a
regrade of what was saved ungraded).

The order is what makes it safe: saved first, so a crash, a signal or an API failure never loses
an answer; the grade recorded once, so two processes never count one answer's review twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from .errors import GraderError
from .history import History
from .models import GradeReport


def record(
    history: History,
    attempt_id: int,
    question_id: str,
    result: GradeReport | GraderError,
    *,
    when: datetime | None = None,
    if_ungraded: bool = False,
) -> datetime | None:
    """Store an attempt's grade and schedule the question's next review (as of `when`, by
    default now); or store why it could not be graded. Returns the next review's date, None if
    nothing was graded (or, with `if_ungraded`, another process graded it first)."""
    from .schedule import review

    if isinstance(result, GraderError):
        history.record_error(attempt_id, " ".join(result.lines()))
        return None
    if not history.record_grade(attempt_id, result, if_ungraded=if_ungraded):
        return None
    return review(history, question_id, result.score, when=when)


@dataclass(frozen=True)
class Regraded:
    attempt_id: int
    question_id: str
    result: GradeReport | GraderError


def regrade(
    history: History,
    bank: object,
    grader: object,
    question_id: str | None = None,
    on_result: Callable[[Regraded], None] | None = None,
) -> list[Regraded]:
    """Grade the attempts saved ungraded (of one question, or all), oldest first so the schedule
    sees them in order, each reviewed as of when it was submitted."""
    out = []
    for a in reversed(history.attempts(question_id, status="ungraded")):
        try:
            question = bank.get(a.question_id)  # type: ignore[attr-defined]
            result: GradeReport | GraderError = grader.grade(question, a.answer)  # type: ignore[attr-defined]
        except GraderError as exc:
            result = exc
        record(history, a.id, a.question_id, result, when=a.submitted)
        done = Regraded(a.id, a.question_id, result)
        out.append(done)
        if on_result is not None:
            on_result(done)
    return out


class SheetRecorder:
    """`grader score --record`: every answered entry of a sheet saved before anything is graded (a
    kill -9 loses none: the next run, or a regrade, completes them), each grade recorded as it
    arrives, and the same answer to the same question from the same file recorded once, however
    often the sheet is scored."""

    def __init__(self, history: History, matches: Sequence[tuple[str, object]]) -> None:
        self.history = history
        self.pending: dict[int, int] = {}  # entry index -> attempt id, for those not yet graded
        for i, (source, m) in enumerate(matches):
            question, entry = m.question, m.entry  # type: ignore[attr-defined]
            if question is None or not entry.answered:
                continue
            attempt, graded = history.add_once(question.id, entry.answer, source=f"score:{source}")
            if not graded:
                self.pending[i] = attempt

    def graded(self, row: object) -> None:
        """A sheet row is done (batch.SheetRow): record its grade, or its error."""
        attempt = self.pending.pop(row.entry, None)  # type: ignore[attr-defined]
        if attempt is None:
            return
        report, error = row.report, row.error  # type: ignore[attr-defined]
        if row.status == "graded" and report is not None:  # type: ignore[attr-defined]
            # Another run scoring the same sheet may have graded it first: one review, not two.
            record(self.history, attempt, row.question_id, report, if_ungraded=True)  # type: ignore[attr-defined]
        elif error:
            self.history.record_error(attempt, error)
