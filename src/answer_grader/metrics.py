"""Agreement between predicted and human scores: correlation, error, kappa, classification.

Plain numpy, so the formulas can be read and checked by hand (tests/test_metrics.py does).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    a, b = np.asarray(x, float), np.asarray(y, float)
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def ranks(x: Sequence[float]) -> np.ndarray:
    """1-based ranks, ties given their average rank."""
    a = np.asarray(x, float)
    order = np.argsort(a, kind="mergesort")
    r = np.empty(len(a))
    r[order] = np.arange(1, len(a) + 1)
    for value in np.unique(a):
        tied = a == value
        r[tied] = r[tied].mean()
    return r


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    return pearson(ranks(x), ranks(y))


def rmse(x: Sequence[float], y: Sequence[float]) -> float:
    a, b = np.asarray(x, float), np.asarray(y, float)
    return float(np.sqrt(((a - b) ** 2).mean()))


def binned(x: Sequence[float], bins: int) -> np.ndarray:
    """Scores in 0..1 into `bins` equal bins (1.0 falls in the top one)."""
    return np.clip((np.asarray(x, float) * bins).astype(int), 0, bins - 1)


def quadratic_kappa(a: Sequence[int], b: Sequence[int], k: int) -> float | None:
    """Cohen's kappa with quadratic weights for ratings 0..k-1."""
    observed = np.zeros((k, k))
    np.add.at(observed, (np.asarray(a), np.asarray(b)), 1)
    w = (np.subtract.outer(np.arange(k), np.arange(k)) ** 2) / (k - 1) ** 2
    expected = np.outer(observed.sum(1), observed.sum(0)) / max(1.0, observed.sum())
    denom = (w * expected).sum()
    return float(1.0 - (w * observed).sum() / denom) if denom else None


def macro_f1(truth: Sequence[bool], predicted: Sequence[bool]) -> float:
    t, p = np.asarray(truth, bool), np.asarray(predicted, bool)
    scores = []
    for c in (True, False):
        tp = int(((p == c) & (t == c)).sum())
        fp = int(((p == c) & (t != c)).sum())
        fn = int(((p != c) & (t == c)).sum())
        scores.append(2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else 0.0)
    return float(np.mean(scores))


def best_threshold(scores: Sequence[float], truth: Sequence[bool]) -> float:
    """The cut (score >= cut means positive) with the best macro-F1; midpoints between distinct
    scores are the candidates, and the lowest cut wins ties."""
    s = np.unique(np.asarray(scores, float))
    candidates = np.concatenate([[s[0] - 1e-9], (s[:-1] + s[1:]) / 2, [s[-1] + 1e-9]])
    best, best_f = float(candidates[0]), -1.0
    for cut in candidates:
        f = macro_f1(truth, np.asarray(scores) >= cut)
        if f > best_f + 1e-12:
            best, best_f = float(cut), f
    return best


def split_by_group(groups: Sequence[str]) -> np.ndarray:
    """A stable two-way split by group (question): True for the first half of the sorted groups,
    alternating, so that neither half sees the other's questions."""
    names = sorted(set(groups))
    first = {g for i, g in enumerate(names) if i % 2 == 0}
    return np.array([g in first for g in groups])


def held_out_classification(
    scores: Sequence[float], truth: Sequence[bool], groups: Sequence[str]
) -> dict[str, float]:
    """Accuracy and macro-F1 where each half's threshold is chosen on the other half only."""
    s, t = np.asarray(scores, float), np.asarray(truth, bool)
    half = split_by_group(groups)
    predicted = np.zeros(len(s), bool)
    cuts = []
    for fit, apply in ((half, ~half), (~half, half)):
        if fit.any() and apply.any():
            cut = best_threshold(s[fit], t[fit])
            predicted[apply] = s[apply] >= cut
            cuts.append(cut)
    return {
        "accuracy": float((predicted == t).mean()),
        "macro_f1": macro_f1(t, predicted),
        "thresholds": cuts,  # type: ignore[dict-item]
    }


THREE_WAY = ("correct", "contradictory", "incorrect")


def macro_f1_labels(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> float:
    """Macro-F1 over `labels` (SemEval-2013's 3-way task: correct, contradictory, incorrect)."""
    t, p = np.asarray(truth), np.asarray(predicted)
    scores = []
    for c in labels:
        tp = int(((p == c) & (t == c)).sum())
        fp = int(((p == c) & (t != c)).sum())
        fn = int(((p != c) & (t == c)).sum())
        scores.append(2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else 0.0)
    return float(np.mean(scores))


def three_way(scores: np.ndarray, contradicted: np.ndarray, cut: float) -> np.ndarray:
    """correct at or above the cut; below it, contradictory if a point was stated wrongly, else
    incorrect."""
    return np.where(scores >= cut, "correct", np.where(contradicted, "contradictory", "incorrect"))


def held_out_three_way(
    scores: Sequence[float],
    contradicted: Sequence[bool],
    truth: Sequence[str],
    groups: Sequence[str],
) -> dict[str, float | None]:
    """3-way macro-F1 and the contradictory class's precision and recall, each half's cut chosen
    (for the best 3-way macro-F1) on the other half of the questions only."""
    s, c, t = np.asarray(scores, float), np.asarray(contradicted, bool), np.asarray(truth)
    half = split_by_group(groups)
    predicted = np.full(len(s), "incorrect", dtype=object)
    for fit, apply in ((half, ~half), (~half, half)):
        if fit.any() and apply.any():
            candidates = np.unique(np.round(s[fit], 3))
            cut = max(
                candidates,
                key=lambda x: macro_f1_labels(t[fit], three_way(s[fit], c[fit], x), THREE_WAY),
            )
            predicted[apply] = three_way(s[apply], c[apply], cut)
    said = predicted == "contradictory"
    actual = t == "contradictory"
    return {
        "macro_f1_3way": macro_f1_labels(t, predicted, THREE_WAY),
        "contradictory_precision": float((said & actual).sum() / said.sum()) if said.any() else None,
        "contradictory_recall": float((said & actual).sum() / actual.sum()) if actual.any() else None,
    }
