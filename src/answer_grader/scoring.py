"""From point verdicts to a score and a report, the same for every grader (and for the calibration
script, which scores its candidate constants with these functions):

    score = 100 x sum(weight x credit) / sum(weight), credit covered 1, partial 0.5, missed and
    contradicted 0; a critical point missed or contradicted caps the score at PARAMS.critical_cap:
    such an answer is not a good answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .models import (
    CREDIT,
    FLAG_CRITICAL_MISSED,
    NO_CREDIT,
    Evidence,
    GradeReport,
    KeyPoint,
    PointResult,
    Question,
    Verdict,
)
from .params import PARAMS


def score_points(points: Sequence[PointResult]) -> tuple[float, float]:
    """(score, uncapped score), 0..100, rounded to one decimal."""
    total = sum(p.weight for p in points)
    raw = 100.0 * sum(p.weight * CREDIT[p.verdict] for p in points) / total if total else 0.0
    capped = raw
    if any(p.critical and p.verdict in NO_CREDIT for p in points):
        capped = min(raw, PARAMS.critical_cap)
    return round(capped, 1), round(raw, 1)


def grouped_scores(levels: Any, weights: Any, critical: Any, owner: Any, n: int) -> Any:
    """`score_points` for many answers at once, as fractions 0..1 (numpy). Per point: its verdict
    level (0 missed, 1 partial, 2 covered, 3 contradicted), weight, critical flag and the index of
    the answer it belongs to. The calibration script scores thousands of candidate constant sets
    with it."""
    import numpy as np

    levels = np.asarray(levels)
    order = ("missed", "partial", "covered", "contradicted")
    credit = np.array([CREDIT[v] for v in order])[levels]
    weights = np.asarray(weights, dtype=float)
    total = np.maximum(1e-9, np.bincount(owner, weights, minlength=n))
    raw = np.bincount(owner, weights * credit, minlength=n) / total
    none = (levels == 0) | (levels == 3)
    missed = np.bincount(owner, np.asarray(critical, bool) & none, minlength=n) > 0
    return np.where(missed, np.minimum(raw, PARAMS.critical_cap / 100), raw)


def point_result(
    point: KeyPoint,
    verdict: Verdict,
    *,
    evidence: Evidence | None = None,
    semantic: float | None = None,
    keywords_found: int = 0,
    judge_verdict: Verdict | None = None,
    feedback: str | None = None,
    expected: str | None = None,
    correction: str | None = None,
    flags: Sequence[str] = (),
) -> PointResult:
    return PointResult(
        id=point.id,
        text=point.text,
        weight=point.weight,
        critical=point.critical,
        verdict=verdict,
        evidence=evidence,
        semantic=semantic,
        keywords_found=keywords_found if evidence is not None else 0,
        keywords_total=len(point.keywords),
        judge_verdict=judge_verdict,
        feedback=feedback,
        expected=expected,
        correction=correction if verdict == "contradicted" else None,
        flags=list(flags),
    )


def assemble(
    question: Question,
    points: list[PointResult],
    *,
    backend: str,
    grader: str,
    model: str,
    confidence: str,
    words: int,
    flags: Sequence[str] = (),
    feedback: str | None = None,
    caveats: Sequence[str] = (),
) -> GradeReport:
    """The report of one answer: the score (capped, with the flag, when a critical point is
    missed) and everything the points and the grader said."""
    score, uncapped = score_points(points)
    report_flags = [*flags, *([FLAG_CRITICAL_MISSED] if score < uncapped else [])]
    return GradeReport(
        question_id=question.id,
        question_number=question.number,
        question=question.text,
        backend=backend,  # type: ignore[arg-type]
        grader=grader,
        model=model,
        score=score,
        uncapped_score=uncapped,
        confidence=confidence,  # type: ignore[arg-type]
        points=points,
        flags=report_flags,
        feedback=feedback,
        caveats=list(caveats),
        answer_words=words,
    )
