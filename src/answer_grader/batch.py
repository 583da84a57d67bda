"""Grade a whole answer sheet: unanswered and unknown entries sorted out, cached grades reused, the
offline model's embeddings computed for all answers together, LLM requests run concurrently, and one
answer's failure kept to its own row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Literal

from .answers import Match
from .cache import GradeCache, cache_key, cacheable
from .config import Settings
from .errors import GraderError
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
    how_matched: str = ""
    entry: int = -1  # the index of its entry in the matches graded


def warm_embeddings(answers: Sequence[str], embedder: object) -> None:
    """Embed every usable sentence of every answer in one batched pass (much faster than answer
    by answer); later grading finds them in the embedder's cache."""
    from .signals import usable
    from .text import split_sentences

    # min_words=1: a short sentence is usable when the reference is one short sentence.
    texts = [u.text for a in answers for u in split_sentences(a) if usable(u, min_words=1)]
    if texts:
        embedder.embed(texts)  # type: ignore[attr-defined]


def score_matches(
    matches: Sequence[tuple[str, Match]],
    settings: Settings,
    *,
    jobs: int = DEFAULT_JOBS,
    cache: GradeCache | None = None,
    progress: Callable[[SheetRow], None] | None = None,
    judge: object | None = None,
    embedder: object | None = None,
) -> list[SheetRow]:
    """Grade every answered, known entry; `matches` pairs each entry with its source file name."""
    from .grading import grade

    rows: list[SheetRow | None] = [None] * len(matches)
    todo: list[tuple[int, str]] = []  # (index, cache key)

    def done(i: int, row: SheetRow) -> None:
        rows[i] = row
        if progress is not None:
            progress(row)

    for i, (source, m) in enumerate(matches):
        base = {"source": source, "number": m.entry.number, "how_matched": m.how, "entry": i}
        if m.question is None:
            done(
                i,
                SheetRow(
                    **base, question_id=None, question=m.entry.question, status="unknown", error=m.how
                ),
            )
            continue
        base.update(question_id=m.question.id, question=m.question.text)
        if not m.entry.answered:
            done(i, SheetRow(**base, status="unanswered"))
            continue
        key = cache_key(m.question, m.entry.answer, settings)
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            done(i, SheetRow(**base, status="graded", report=hit, cached=True))
        else:
            todo.append((i, key))
    if not todo:
        return [r for r in rows if r is not None]

    # Only now, with something left to grade, load what grading needs (cached re-runs never do).
    from .grading import MAX_ANSWER_CHARS, needs_judge
    from .semantic import default_embedder
    from .signals import warm_profiles

    pool = None
    judged: dict[int, Future] = {}
    if settings.backend == "llm":
        if judge is None:
            from .grading import default_judge

            judge = default_judge(settings)
        # Send the requests first, so the network wait overlaps the embedding work below.
        pool = ThreadPoolExecutor(max_workers=max(1, jobs))
        for i, _ in todo:
            q, answer = matches[i][1].question, matches[i][1].entry.answer
            if needs_judge(q, answer):
                judged[i] = pool.submit(judge.judge, q, answer)  # type: ignore[attr-defined]
    embedder = embedder or default_embedder()
    warm_profiles([q for i, _ in todo if (q := matches[i][1].question) is not None], embedder)
    # Only answers grade() will accept: one 5 MB answer must be refused at once, not split first.
    warm_embeddings(
        [a for i, _ in todo if len(a := matches[i][1].entry.answer) <= MAX_ANSWER_CHARS], embedder
    )

    def work(i: int, key: str) -> SheetRow:
        source, m = matches[i]
        assert m.question is not None  # unknown entries never reach `todo`
        base = {
            "source": source,
            "number": m.entry.number,
            "how_matched": m.how,
            "question_id": m.question.id,
            "question": m.question.text,
            "entry": i,
        }
        try:
            result = judged[i].result() if i in judged else None
            report = grade(
                m.question, m.entry.answer, settings, embedder=embedder, judge=judge, judged=result
            )
        except GraderError as exc:
            return SheetRow(**base, status="error", error=" ".join(exc.lines()))
        except Exception as exc:  # a bug must not cost the other answers their grades
            return SheetRow(**base, status="error", error=f"internal error: {type(exc).__name__}: {exc}")
        if cache is not None and cacheable(report):
            cache.put(key, report)
        return SheetRow(**base, status="graded", report=report)

    try:
        if judged:
            # Combine in the order the judge finishes, so progress moves as answers arrive.
            order = {f: i for i, f in judged.items()}
            for future in as_completed(order):
                i = order[future]
                done(i, work(i, next(k for j, k in todo if j == i)))
        for i, key in todo:
            if rows[i] is None:
                done(i, work(i, key))
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
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
    settings: Settings,
    files: Sequence[str],
    fail_under: float | None = None,
) -> SheetReportModel:
    """The JSON-able report of a run (also what the text, markdown and JUnit renderings read)."""
    from .grading import grader_name
    from .semantic import MODEL_NAME

    t = totals(rows)
    out_rows = [
        SheetRowReport(
            source=r.source,
            number=r.number,
            question_id=r.question_id,
            question=r.question,
            status=r.status,
            score=r.report.score if r.report else None,
            missed=[p.id for p in r.report.points if p.verdict != "covered"] if r.report else [],
            error=r.error,
            cached=r.cached,
            report=r.report,
        )
        for r in rows
    ]
    return SheetReportModel(
        backend=settings.backend,
        grader=grader_name(settings, MODEL_NAME),
        files=list(files),
        rows=out_rows,
        totals=SheetTotals(**t.__dict__),
        fail_under=fail_under,
    )
