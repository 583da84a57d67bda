"""Fit the offline grader's thresholds on labelled answers and print how well it agrees with people.

    python benchmarks/calibrate_offline.py [--data tests/data/labelled] [--folds 5]

Each labelled answer (tests/data/labelled/*.jsonl) carries a careful human verdict per key point
(covered / partial / missed). The expensive part, the per-sentence features of every answer for every
point (answer_grader.signals.unit_features), is computed once; then a grid search picks ALPHA, PARTIAL
and COVERED (TIE is fixed at 0, see grading.py) to maximise quadratic-weighted kappa between the
offline verdicts and the human ones. Agreement is first reported on held-out questions (questions
split into folds; thresholds fit on the other folds), so those figures are not the ones the thresholds
were fit on. Copy the printed constants into grading.py.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np

from answer_grader.bank import load_bank
from answer_grader.grading import TIE
from answer_grader.semantic import default_embedder
from answer_grader.signals import unit_features, unit_scores
from answer_grader.text import split_sentences

LEVEL = {"missed": 0, "partial": 1, "covered": 2}
ALPHAS = (0.4, 0.5, 0.6, 0.7, 0.8)


def load_rows(folder: Path) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return rows


def collect(rows: list[dict]) -> dict[str, np.ndarray]:
    """One row per (answer, key point): the human level, and the point's best unit score for each
    ALPHA in the grid."""
    bank = load_bank()
    emb = default_embedder()
    cols: dict[str, list] = {"human": [], "question": [], "answer": [], "weight": []}
    best: dict[float, list[float]] = {a: [] for a in ALPHAS}
    for a, row in enumerate(rows):
        q = bank.get(row["question_id"])
        units = split_sentences(row["answer"])
        for prof, feats in unit_features(q, units, emb):
            cols["human"].append(LEVEL[row["labels"][prof.point.id]])
            cols["question"].append(q.number)
            cols["answer"].append(a)
            cols["weight"].append(prof.point.weight)
            for alpha in ALPHAS:
                best[alpha].append(max(unit_scores(feats, alpha, TIE), default=0.0))
    out = {k: np.array(v) for k, v in cols.items()}
    out.update({f"score{a}": np.array(v) for a, v in best.items()})
    return out


def qwk(a: np.ndarray, b: np.ndarray, k: int = 3) -> float:
    """Quadratic-weighted Cohen's kappa of two integer ratings 0..k-1."""
    observed = np.zeros((k, k))
    np.add.at(observed, (a, b), 1)
    w = (np.subtract.outer(np.arange(k), np.arange(k)) ** 2) / (k - 1) ** 2
    expected = np.outer(observed.sum(1), observed.sum(0)) / max(1.0, observed.sum())
    denom = (w * expected).sum()
    return float(1.0 - (w * observed).sum() / denom) if denom else 0.0


def verdicts(score: np.ndarray, partial: float, covered: float) -> np.ndarray:
    return np.where(score >= covered, 2, np.where(score >= partial, 1, 0))


def fit(data: dict[str, np.ndarray], mask: np.ndarray) -> tuple[float, float, float]:
    best, best_k = (0.0, 0.0, 0.0), -2.0
    grid = np.round(np.arange(0.30, 0.90, 0.01), 2)
    for alpha in ALPHAS:
        score = data[f"score{alpha}"][mask]
        for partial, covered in itertools.combinations(grid, 2):
            k = qwk(data["human"][mask], verdicts(score, partial, covered))
            if k > best_k:
                best, best_k = (alpha, float(partial), float(covered)), k
    return best


def answer_scores(data, levels) -> np.ndarray:
    out = []
    for a in np.unique(data["answer"]):
        m = data["answer"] == a
        out.append(100 * (data["weight"][m] * levels[m] / 2).sum() / data["weight"][m].sum())
    return np.array(out)


def summary(name: str, data, pred) -> None:
    human = data["human"]
    hs, ms = answer_scores(data, human), answer_scores(data, pred)
    print(
        f"{name}: {len(human)} points; exact agreement {(human == pred).mean():.3f}, "
        f"QWK {qwk(human, pred):.3f}; per-answer score Pearson {np.corrcoef(hs, ms)[0, 1]:.3f}, "
        f"mean absolute difference {np.abs(hs - ms).mean():.1f} points"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("tests/data/labelled"))
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    t = time.perf_counter()
    rows = load_rows(args.data)
    data = collect(rows)
    print(
        f"{len(rows)} answers, {len(data['human'])} labelled key points "
        f"(features in {time.perf_counter() - t:.1f} s)"
    )
    questions = np.unique(data["question"])
    rng = np.random.default_rng(0)
    held = np.zeros_like(data["human"])
    for fold in np.array_split(rng.permutation(questions), args.folds):
        test = np.isin(data["question"], fold)
        alpha, partial, covered = fit(data, ~test)
        held[test] = verdicts(data[f"score{alpha}"][test], partial, covered)
    summary(f"held-out questions ({args.folds} folds)", data, held)
    alpha, partial, covered = fit(data, np.ones_like(data["human"], dtype=bool))
    pred = verdicts(data[f"score{alpha}"], partial, covered)
    summary("all questions (in-sample)", data, pred)
    print(f"chosen: ALPHA = {alpha}, TIE = {TIE}, PARTIAL = {partial}, COVERED = {covered}")
    confusion = np.zeros((3, 3), dtype=int)
    np.add.at(confusion, (data["human"], pred), 1)
    print("confusion, rows = human (missed, partial, covered), columns = offline grader:")
    print(confusion)


if __name__ == "__main__":
    main()
