"""Grade a whole answer sheet: unanswered and unknown entries sorted out, cached grades reused, the
rest graded together by the grader (which batches the offline model's work and runs LLM requests
concurrently), and one answer's failure kept to its own row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from .answers import Match
from .cache import GradeCache, cache_key, cacheable
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
    todo: list[tuple[int, str]] = []  # (index, cache key)

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
            continue
        if not m.entry.answered:
            done(i, SheetRow(**base(i), status="unanswered"))
            continue
        key = cache_key(m.question, m.entry.answer, grader.version)
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            done(i, SheetRow(**base(i), status="graded", report=hit, cached=True))
        else:
            todo.append((i, key))

    def graded(k: int, result: GradeReport | GraderError) -> None:
        i, key = todo[k]
        if isinstance(result, GraderError):
            done(i, SheetRow(**base(i), status="error", error=" ".join(result.lines())))
            return
        if cache is not None and cacheable(result):
            cache.put(key, result)
        done(i, SheetRow(**base(i), status="graded", report=result))

    if todo:  # only now, with something left to grade, is the model loaded (cached runs never)
        items = [(matches[i][1].question, matches[i][1].entry.answer) for i, _ in todo]
        grader.grade_many(items, jobs=jobs, on_done=graded)  # type: ignore[arg-type]
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
