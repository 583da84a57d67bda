"""`grader eval`: how closely the offline grader agrees with human graders on a labelled data set.

Each JSON line: question, reference_answer, student_answer, score, max_score; optionally id,
question_id, label ("correct" is the positive class of the 2-way task; with "contradictory"
among the labels, the 3-way task of SemEval-2013 is scored too), rubric (key points as
strings or bank-style objects), corpus (reported separately) and reference_answers (other
acceptable answers, as strings or objects with a "text"). Without a rubric, key points are
derived from the reference answer (`bootstrap.derive_key_points`, as `grader new` does); with
alternatives, the answer is graded against each and keeps its best score, as a human grader
accepts any of them.
Beside the grader, the same metrics are computed for the unigram-overlap floor: the share of the
reference's words that the student's answer contains (the best over the same references).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import EvalDataError, GraderError
from .models import KeyPoint, Question
from .text import words

if TYPE_CHECKING:
    from .cache import GradeCache
    from .grading import Grader
    from .models import GradeReport
    from .offline import OfflineGrader

BINS = 5  # quadratic-weighted kappa is computed on scores binned into fifths


@dataclass(frozen=True)
class EvalRow:
    line: int
    id: str
    question_id: str
    question: str
    reference: str
    student: str
    score: float
    max_score: float
    label: str | None = None
    rubric: tuple[Any, ...] | None = None
    corpus: str | None = None
    alternatives: tuple[str, ...] = ()  # other acceptable reference answers

    @property
    def references(self) -> tuple[str, ...]:
        """The references the row is graded against: a given rubric is the row's one standard;
        otherwise the reference answer and each distinct alternative."""
        if self.rubric is not None:
            return (self.reference,)
        return (self.reference, *(a for a in self.alternatives if a != self.reference))

    @property
    def human(self) -> float:
        return self.score / self.max_score


REQUIRED = ("question", "reference_answer", "student_answer", "score", "max_score")


MAX_DATA_BYTES = 500_000_000  # SemEval-2013's training answers are under 10 MB


def load_rows(path: Path) -> list[EvalRow]:
    from .files import read_input

    # Through read_input: a regular file (or - for stdin), UTF-8, bounded; one line if not.
    text = read_input(str(path), max_bytes=MAX_DATA_BYTES, error=EvalDataError)
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalDataError(f"{path}:{n}: not JSON ({exc.msg})") from exc
        missing = [k for k in REQUIRED if k not in data]
        if missing:
            raise EvalDataError(f"{path}:{n}: missing {', '.join(missing)}")
        try:
            score, max_score = float(data["score"]), float(data["max_score"])
        except (TypeError, ValueError) as exc:
            raise EvalDataError(f"{path}:{n}: score and max_score must be numbers") from exc
        if max_score <= 0 or not 0 <= score <= max_score:
            raise EvalDataError(f"{path}:{n}: need 0 <= score <= max_score and max_score > 0")
        rubric = data.get("rubric")
        if rubric is not None and not (
            isinstance(rubric, list) and all(isinstance(p, str | dict) for p in rubric)
        ):
            raise EvalDataError(f"{path}:{n}: rubric must be a list of key points (strings or objects)")
        alternatives = data.get("reference_answers") or []
        if not isinstance(alternatives, list) or not all(
            isinstance(a, str) or (isinstance(a, dict) and isinstance(a.get("text"), str))
            for a in alternatives
        ):
            raise EvalDataError(
                f"{path}:{n}: reference_answers must be a list of strings or objects with a text"
            )
        rows.append(
            EvalRow(
                line=n,
                id=str(data.get("id", n)),
                question_id=str(data.get("question_id") or data["question"]),
                question=str(data["question"]),
                reference=str(data["reference_answer"]),
                student=str(data["student_answer"]),
                score=score,
                max_score=max_score,
                label=data.get("label"),
                rubric=tuple(rubric) if rubric else None,
                corpus=data.get("corpus"),
                alternatives=tuple(a if isinstance(a, str) else a["text"] for a in alternatives),
            )
        )
    if not rows:
        raise EvalDataError(f"{path}: no rows")
    return rows


def question_for(row: EvalRow, reference: str | None = None) -> Question:
    """The row's question as the grader sees it, with given or derived key points (derived from
    `reference`, by default the row's reference answer). Data sets have any number of points, so
    the bank's 5-9 rule does not apply."""
    from .bootstrap import derive_key_points, point_from_text

    reference = reference if reference is not None else row.reference
    points: list[KeyPoint] = []
    if row.rubric:
        for i, item in enumerate(row.rubric, 1):
            if isinstance(item, str):
                point = point_from_text(item, f"p{i}", question=row.question)
                if point is not None:
                    points.append(point)
            else:
                try:
                    points.append(KeyPoint.model_validate(item))
                except ValueError as exc:  # pydantic's ValidationError
                    first = exc.errors()[0] if hasattr(exc, "errors") else {}
                    where = ".".join(str(x) for x in first.get("loc", ()))
                    raise EvalDataError(
                        f"line {row.line}: rubric[{i - 1}] is not a key point "
                        f"({where + ': ' if where else ''}{first.get('msg', exc)})"
                    ) from exc
    if not points:
        points = derive_key_points(reference, question=row.question)
    if not points:
        raise EvalDataError(f"line {row.line}: no key point could be derived from the reference answer")
    qid = re.sub(r"[^a-z0-9]+", "-", row.question_id.lower()).strip("-")[:64].strip("-") or "q"
    return Question.create(row.question or qid, reference, points, id=qid, topics=["eval"])


def overlap(student: str, reference: str) -> float:
    """The unigram-overlap floor: the share of the reference's distinct words in the answer."""
    ref = set(words(reference))
    return len(ref & set(words(student))) / len(ref) if ref else 0.0


def floor(row: EvalRow) -> float:
    """The floor's score of a row: its best overlap with any of the row's references."""
    return max(overlap(row.student, r) for r in row.references)


def versions(row: EvalRow, questions: dict[tuple[str, str, str], Question]) -> list[Question]:
    """The questions a row is graded against, one per reference (`questions` caches them across
    rows). An alternative too thin to derive a key point from ("", "It is.") is skipped."""
    rubric = json.dumps(row.rubric, sort_keys=True)
    out = []
    for reference in row.references:
        key = (row.question_id, reference, rubric)
        if key not in questions:
            try:
                questions[key] = question_for(row, reference)
            except EvalDataError:
                if reference == row.reference:
                    raise
                continue
        out.append(questions[key])
    return out


def predict(
    rows: Sequence[EvalRow],
    progress: Callable[[], None] | None = None,
    grader: OfflineGrader | None = None,
) -> list[float]:
    """The offline grader's score of each row, as a fraction 0..1."""
    return predict_verdicts(rows, progress, grader)[0]


def predict_verdicts(
    rows: Sequence[EvalRow],
    progress: Callable[[], None] | None = None,
    grader: OfflineGrader | None = None,
) -> tuple[list[float], list[bool]]:
    """Per row, the offline grader's score (a fraction 0..1, the best over the row's references)
    and whether grading it against any of them found a point stated wrongly (contradicted)."""
    from .offline import OfflineGrader

    grader = grader or OfflineGrader()
    questions: dict[tuple[str, str, str], Question] = {}
    per_row = [versions(row, questions) for row in rows]
    grader.warm([(q, r.student) for r, qs in zip(rows, per_row, strict=True) for q in qs])
    scores, wrong = [], []
    for row, qs in zip(rows, per_row, strict=True):
        best, contradicted = -1.0, False
        for q in qs:
            try:
                report = grader.grade(q, row.student)
            except GraderError:  # an empty student answer earns nothing
                break
            best = max(best, report.score / 100)
            # Against any of its references: an answer that denies one acceptable answer's
            # point states something wrong, whatever it scores against another.
            contradicted = contradicted or bool(report.contradicted)
        scores.append(max(best, 0.0))
        wrong.append(contradicted)
        if progress is not None:
            progress()
    return scores, wrong


@dataclass
class Graded:
    """What a grader made of each row: its score (a fraction 0..1, the best over the row's
    references), or None when it could not be graded (the judge failed: such a row is left out
    of every figure, never scored 0); whether a point was stated wrongly; why a row was not
    graded; and every report (for the judge samples' flip rate)."""

    scores: list[float | None]
    contradicted: list[bool]
    errors: dict[int, str]
    reports: list[GradeReport]
    cached: int = 0


def grade_rows(
    rows: Sequence[EvalRow],
    grader: Grader,
    *,
    jobs: int = 8,
    cache: GradeCache | None = None,
    progress: Callable[[], None] | None = None,
) -> Graded:
    """Grade every row with `grader` (the LLM judge, or any `grading.Grader`): each reference of
    each row is one answer to grade, all of them through `grader.grade_many` (concurrent
    requests), grades found in `cache` replayed and new ones stored. An empty student answer
    earns 0, as `predict_verdicts` scores it; a row the grader failed on is not graded."""
    from .cache import grade_through
    from .errors import AnswerError
    from .models import GradeReport

    questions: dict[tuple[str, str, str], Question] = {}
    items: list[tuple[Question, str]] = []
    owner: list[int] = []
    for i, row in enumerate(rows):
        for q in versions(row, questions):
            items.append((q, row.student))
            owner.append(i)
    outcomes: list[GradeReport | GraderError | None] = [None] * len(items)
    left = [0] * len(rows)  # items of each row still out
    for i in owner:
        left[i] += 1
    cached = 0

    def finished(k: int, result: GradeReport | GraderError, hit: bool) -> None:
        nonlocal cached
        cached += hit
        outcomes[k] = result
        left[owner[k]] -= 1
        if left[owner[k]] == 0 and progress is not None:
            progress()

    grade_through(cache, grader, items, jobs=jobs, on_done=finished)
    out = Graded([], [], {}, [], cached)
    by_row: list[list[GradeReport | GraderError | None]] = [[] for _ in rows]
    for k, outcome in enumerate(outcomes):
        by_row[owner[k]].append(outcome)
    for i, mine in enumerate(by_row):
        failed = [o for o in mine if isinstance(o, GraderError) and not isinstance(o, AnswerError)]
        reports = [o for o in mine if isinstance(o, GradeReport)]
        out.reports += reports
        if failed:
            out.scores.append(None)
            out.contradicted.append(False)
            out.errors[i] = " ".join(failed[0].lines())
            continue
        out.scores.append(max((r.score / 100 for r in reports), default=0.0))
        out.contradicted.append(any(r.contradicted for r in reports))
    return out


@dataclass
class Metrics:
    n: int
    pearson: float | None
    spearman: float | None
    rmse: float
    qwk: float | None
    accuracy: float | None = None
    macro_f1: float | None = None
    thresholds: list[float] = field(default_factory=list)
    # SemEval-2013's 3-way task (labels correct / contradictory / incorrect), held out the same way
    macro_f1_3way: float | None = None
    contradictory_precision: float | None = None
    contradictory_recall: float | None = None


def metrics_for(
    rows: Sequence[EvalRow],
    predicted: Sequence[float],
    contradicted: Sequence[bool] | None = None,
) -> Metrics:
    from . import metrics as m

    human = [r.human for r in rows]
    result = Metrics(
        n=len(rows),
        pearson=m.pearson(predicted, human),
        spearman=m.spearman(predicted, human),
        rmse=m.rmse(predicted, human),
        qwk=m.quadratic_kappa(m.binned(human, BINS), m.binned(predicted, BINS), BINS),
    )
    if all(r.label is not None for r in rows) and len({r.question_id for r in rows}) >= 2:
        truth = [r.label == "correct" for r in rows]
        c = m.held_out_classification(predicted, truth, [r.question_id for r in rows])
        result.accuracy, result.macro_f1 = c["accuracy"], c["macro_f1"]
        result.thresholds = list(c["thresholds"])  # type: ignore[arg-type]
        if contradicted is not None and any(r.label == "contradictory" for r in rows):
            three = m.held_out_three_way(
                predicted, contradicted, [r.label for r in rows], [r.question_id for r in rows]
            )
            result.macro_f1_3way = three["macro_f1_3way"]
            result.contradictory_precision = three["contradictory_precision"]
            result.contradictory_recall = three["contradictory_recall"]
    return result


def negation_flip(row: EvalRow) -> bool:
    """The floor's contradiction: the answer is negated and its best reference is not, or the
    reverse (text.is_negation, the grader's own cue list)."""
    from .signals import negated

    best = max(row.references, key=lambda r: overlap(row.student, r))
    return negated(row.student) != negated(best)


def evaluate(
    rows: Sequence[EvalRow],
    predicted: Sequence[float],
    contradicted: Sequence[bool] | None = None,
    others: dict[str, tuple[Sequence[float], Sequence[bool] | None]] | None = None,
) -> dict[str, Any]:
    """Metrics overall, per corpus and per question, for the grader, any `others` scored on the
    same rows (name -> scores and contradictions; `grader eval --backend llm` puts the offline
    grader there), and the overlap floor (whose contradiction, for the 3-way task, is a negation
    present in only one of answer and reference)."""
    floors = [floor(r) for r in rows]
    flips = [negation_flip(r) for r in rows] if contradicted is not None else None
    others = others or {}

    def both(idx: list[int]) -> dict[str, Any]:
        sub = [rows[i] for i in idx]
        wrong = [contradicted[i] for i in idx] if contradicted is not None else None
        floor_wrong = [flips[i] for i in idx] if flips is not None else None
        out = {"grader": metrics_for(sub, [predicted[i] for i in idx], wrong).__dict__}
        for name, (scores, said_wrong) in others.items():
            w = [said_wrong[i] for i in idx] if said_wrong is not None else None
            out[name] = metrics_for(sub, [scores[i] for i in idx], w).__dict__
        out["unigram_overlap"] = metrics_for(sub, [floors[i] for i in idx], floor_wrong).__dict__
        return out

    everything = list(range(len(rows)))
    corpora = sorted({r.corpus for r in rows if r.corpus})
    per_question = {}
    for qid in sorted({r.question_id for r in rows}):
        idx = [i for i in everything if rows[i].question_id == qid]
        per_question[qid] = {
            "n": len(idx),
            "human_mean": sum(rows[i].human for i in idx) / len(idx),
            "grader_mean": sum(predicted[i] for i in idx) / len(idx),
            "pearson": metrics_for([rows[i] for i in idx], [predicted[i] for i in idx]).pearson,
        }
    return {
        "rows": len(rows),
        "overall": both(everything),
        "corpora": {c: both([i for i in everything if rows[i].corpus == c]) for c in corpora},
        "per_question": per_question,
        "predictions": [
            {"id": r.id, "human": r.human, "grader": p, "unigram_overlap": f}
            for r, p, f in zip(rows, predicted, floors, strict=True)
        ],
    }


def sample(rows: list[EvalRow], limit: int | None, size: int | None, seed: int) -> list[EvalRow]:
    if size is not None:
        rows = random.Random(seed).sample(rows, min(size, len(rows)))
    return rows[:limit] if limit is not None else rows
