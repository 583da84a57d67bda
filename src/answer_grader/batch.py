"""Grade a whole answer sheet: unanswered and unknown entries sorted out, cached grades reused, the
rest graded together by the grader (which batches the offline model's work and runs LLM requests
concurrently), and one answer's failure kept to its own row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from .answers import Match
from .cache import GradeCache, grade_through
from .errors import GraderError
from .grading import Grader
from .models import GradeReport, SheetRowReport, SheetTotals
from .models import SheetReport as SheetReportModel

Status = Literal["graded", "unanswered", "unknown", "error"]
DEFAULT_JOBS = 8  # concurrent LLM requests; most providers allow far more per minute


@dataclass(frozen=True)
class SheetRow:
    """The outcome for one entry of one sheet."""

    source: str
    number: int  # as numbered in the sheet
    question_id: str | None
    question: str
    status: Status
    report: GradeReport | None = None
    error: str | None = None
    cached: bool = False
    entry: int = -1  # the index of its entry in the matches graded


def score_matches(
    matches: Sequence[tuple[str, Match]],
    grader: Grader,
    *,
    jobs: int = DEFAULT_JOBS,
    cache: GradeCache | None = None,
    progress: Callable[[SheetRow], None] | None = None,
) -> list[SheetRow]:
    """Grade every answered, known entry; `matches` pairs each entry with its source file name.
    Cached grades are replayed; the rest go to `grader.grade_many`, and each row is reported to
    `progress` as it is done."""
    rows: list[SheetRow | None] = [None] * len(matches)
    todo: list[int] = []  # the entries to grade

    def done(i: int, row: SheetRow) -> None:
        rows[i] = row
        if progress is not None:
            progress(row)

    def base(i: int) -> dict:
        source, m = matches[i]
        out = {"source": source, "number": m.entry.number, "entry": i}
        if m.question is not None:
            out.update(question_id=m.question.id, question=m.question.text)
        return out

    for i, (_, m) in enumerate(matches):
        if m.question is None:
            done(
                i,
                SheetRow(
                    **base(i), question_id=None, question=m.entry.question, status="unknown", error=m.how
                ),
            )
        elif not m.entry.answered:
            done(i, SheetRow(**base(i), status="unanswered"))
        else:
            todo.append(i)

    def graded(k: int, result: GradeReport | GraderError, cached: bool) -> None:
        i = todo[k]
        if isinstance(result, GraderError):
            done(i, SheetRow(**base(i), status="error", error=" ".join(result.lines())))
        else:
            done(i, SheetRow(**base(i), status="graded", report=result, cached=cached))

    items = [(matches[i][1].question, matches[i][1].entry.answer) for i in todo]
    grade_through(cache, grader, items, jobs=jobs, on_done=graded)  # type: ignore[arg-type]
    return [r for r in rows if r is not None]


@dataclass(frozen=True)
class Totals:
    entries: int
    graded: int
    unanswered: int
    unknown: int
    errors: int
    mean_score: float | None  # over graded answers
    cached: int


def totals(rows: Sequence[SheetRow]) -> Totals:
    graded = [r for r in rows if r.status == "graded" and r.report is not None]
    mean = round(sum(r.report.score for r in graded) / len(graded), 1) if graded else None  # type: ignore[union-attr]
    return Totals(
        entries=len(rows),
        graded=len(graded),
        unanswered=sum(r.status == "unanswered" for r in rows),
        unknown=sum(r.status == "unknown" for r in rows),
        errors=sum(r.status == "error" for r in rows),
        mean_score=mean,
        cached=sum(r.cached for r in rows),
    )


def sheet_report(
    rows: Sequence[SheetRow],
    grader: Grader,
    files: Sequence[str],
    fail_under: float | None = None,
) -> SheetReportModel:
    """The JSON-able report of a run (also what the text, markdown and JUnit renderings read)."""
    t = totals(rows)
    out_rows = [
        SheetRowReport(
            source=r.source,
            number=r.number,
            question_id=r.question_id,
            question=r.question,
            status=r.status,
            score=r.report.score if r.report else None,
            missed=[p.id for p in r.report.missed] if r.report else [],
            contradicted=[p.id for p in r.report.contradicted] if r.report else [],
            error=r.error,
            cached=r.cached,
            report=r.report,
        )
        for r in rows
    ]
    return SheetReportModel(
        backend=grader.backend,  # type: ignore[arg-type]
        grader=grader.name,
        files=list(files),
        rows=out_rows,
        totals=SheetTotals(**t.__dict__),
        fail_under=fail_under,
    )


def grade_sheet(
    text: str,
    bank: object | None = None,
    grader: Grader | None = None,
    *,
    source: str = "sheet",
    jobs: int = DEFAULT_JOBS,
    cache: GradeCache | None = None,
) -> SheetReportModel:
    """Grade an answer sheet's text (the markdown `grader template` writes) against `bank` (the
    shipped bank by default) with `grader` (offline by default)."""
    from .answers import match_entries, parse_sheet
    from .bank import load_bank
    from .grading import grader_for

    questions = (bank or load_bank()).questions  # type: ignore[attr-defined]
    grader = grader or grader_for()
    matches = [(source, m) for m in match_entries(parse_sheet(text, source), questions)]
    rows = score_matches(matches, grader, jobs=jobs, cache=cache)
    return sheet_report(rows, grader, [source])
