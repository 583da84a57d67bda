"""How the offline grader does on points stated wrongly, on the labelled interview answers, with
the questions held out.

    python benchmarks/contradiction.py            # the grader as shipped, folds by question
    python benchmarks/contradiction.py --as-is    # no fitting: any version of the grader (the
                                                  # figures "before" came from the last commit
                                                  # without contradictions, run this way)

tests/data/labelled holds 138 answers: 69 strong/medium/weak ones, and 69 written for this
measure (part4: per question one stating two or three points wrongly from the rubric's
misconceptions, one with errors no misconception lists, one strong answer in other words than
the rubric's), labelled by their writer and, blind to the writer's intent, by a second reader.

The one constant the contradiction signals fit, how much closer to a misconception's claim than
to its correction a sentence must be (PARAMS.misconception_margin), is chosen on four fifths of
the questions (best exact agreement on the four verdicts) and the fifth is scored with it; every
figure printed is pooled over the five held-out folds. Each signal is also measured on its own
(the other two switched off), held out the same way.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections import Counter
from pathlib import Path

from answer_grader import load_bank
from answer_grader.config import resolve_settings
from answer_grader.grading import grader_for

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "labelled"
CREDIT = {"covered": 2, "partial": 1, "missed": 0, "contradicted": 0}
MARGINS = (-0.04, -0.02, 0.0, 0.02, 0.04, 0.06, 0.1)


def rows() -> list[dict]:
    out = []
    for path in sorted(LABELLED.glob("*.jsonl")):
        out += [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return out


def human_score(question, labels: dict[str, str]) -> float:  # type: ignore[no-untyped-def]
    """The score the grader's own rule gives the human verdicts (a critical point missed or
    stated wrongly caps it)."""
    from answer_grader.scoring import point_result, score_points

    return score_points([point_result(p, labels[p.id]) for p in question.key_points])[0]


def quadratic_kappa(a: list[int], b: list[int], k: int = 3) -> float:
    from answer_grader.metrics import quadratic_kappa as qk

    return qk(a, b, k) or 0.0


@dataclasses.dataclass
class Graded:
    row: dict
    verdicts: dict[str, str]
    score: float
    flags: dict[str, list[str]]


def grade_all(data: list[dict], bank, grader) -> list[Graded]:  # type: ignore[no-untyped-def]
    out = []
    for row in data:
        q = bank.get(row["question_id"])
        report = grader.grade(q, row["answer"])
        out.append(
            Graded(
                row,
                {p.id: p.verdict for p in report.points},
                report.score,
                {p.id: list(p.flags) for p in report.points},
            )
        )
    return out


def figures(graded: list[Graded], bank) -> dict[str, float]:  # type: ignore[no-untyped-def]
    pairs = [(g.row["labels"][pid], v) for g in graded for pid, v in g.verdicts.items()]
    wrong = [v for h, v in pairs if h == "contradicted"]
    right = [v for h, v in pairs if h in ("covered", "partial")]
    strong = [g for g in graded if g.row["quality"] == "strong"]
    human_strong = [human_score(bank.get(g.row["question_id"]), g.row["labels"]) for g in strong]
    found = [v for h, v in pairs if v == "contradicted"]
    return {
        "points": len(pairs),
        "wrong points": len(wrong),
        "wrong credited": sum(v in ("covered", "partial") for v in wrong) / max(1, len(wrong)),
        "wrong found": sum(v == "contradicted" for v in wrong) / max(1, len(wrong)),
        "right called contradicted": sum(v == "contradicted" for v in right) / max(1, len(right)),
        "precision of contradicted": (
            sum(h == "contradicted" for h, v in pairs if v == "contradicted") / len(found)
            if found
            else float("nan")
        ),
        "exact (4 verdicts)": sum(h == v for h, v in pairs) / len(pairs),
        "QWK": quadratic_kappa([CREDIT[h] for h, _ in pairs], [CREDIT[v] for _, v in pairs]),
        "strong mean, grader": sum(g.score for g in strong) / max(1, len(strong)),
        "strong mean, human": sum(human_strong) / max(1, len(human_strong)),
    }


def second_reader(data: list[dict]) -> str:
    pairs = [
        (r["labels"][p], r["second_reader"][p])
        for r in data
        if "second_reader" in r
        for p in r["labels"]
    ]
    if not pairs:
        return "no second reader in the data"
    n = len(pairs)
    po = sum(a == b for a, b in pairs) / n
    ca, cb = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / n / n
    qwk = quadratic_kappa([CREDIT[a] for a, _ in pairs], [CREDIT[b] for _, b in pairs])
    return (
        f"second reader (blind to the writer's intent) on {n} points of "
        f"{sum('second_reader' in r for r in data)} answers: exact agreement {po:.1%}, "
        f"Cohen's kappa {(po - pe) / (1 - pe):.3f}, QWK {qwk:.3f}"
    )


def folds(data: list[dict], k: int) -> list[set[str]]:
    ids = sorted({r["question_id"] for r in data})
    return [set(ids[i::k]) for i in range(k)]


def with_signals(margin: float, *, negation: bool = True, conflict: bool = True, misconception=True):  # type: ignore[no-untyped-def]
    """Switch the contradiction signals in the grader's modules (a benchmark's knob, not an API)."""
    import answer_grader.contradiction as contradiction
    import answer_grader.signals as signals

    params = dataclasses.replace(signals.PARAMS, misconception_margin=margin if misconception else 99.0)
    signals.PARAMS = contradiction.PARAMS = params
    signals.negation_clash = contradiction.negation_clash if negation else (lambda *a: frozenset())
    signals.conflicting_term = contradiction.conflicting_term if conflict else (lambda *a: None)


def held_out(data, bank, grader, k: int, **switches) -> tuple[list[Graded], list[float]]:  # type: ignore[no-untyped-def]
    cache: dict[float, list[Graded]] = {}
    for m in MARGINS:
        with_signals(m, **switches)
        cache[m] = grade_all(data, bank, grader)
    out, chosen = [], []
    for test in folds(data, k):
        train = {m: [g for g in gs if g.row["question_id"] not in test] for m, gs in cache.items()}
        best = max(MARGINS, key=lambda m: (figures(train[m], bank)["exact (4 verdicts)"], -abs(m)))
        chosen.append(best)
        out += [g for g in cache[best] if g.row["question_id"] in test]
    with_signals(0.0)
    return out, chosen


def show(name: str, f: dict[str, float]) -> None:
    print(
        f"{name:34} wrong credited {f['wrong credited']:6.1%}  found {f['wrong found']:6.1%}  "
        f"right called wrong {f['right called contradicted']:5.1%}  precision "
        f"{f['precision of contradicted']:5.1%}  QWK {f['QWK']:.3f}  "
        f"exact {f['exact (4 verdicts)']:.1%}  "
        f"strong {f['strong mean, grader']:.1f} vs human {f['strong mean, human']:.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--as-is", action="store_true", help="grade with the grader as installed")
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    start = time.perf_counter()
    bank = load_bank()
    grader = grader_for(resolve_settings(backend="offline", env={}))
    data = rows()
    print(f"{len(data)} labelled answers, {sum(len(r['labels']) for r in data)} points")
    print(second_reader(data))
    if args.as_is:
        show("as installed (no fitting)", figures(grade_all(data, bank, grader), bank))
    else:
        graded, chosen = held_out(data, bank, grader, args.folds)
        print(f"misconception margin chosen per fold: {chosen}")
        show("held out, all three signals", figures(graded, bank))
        for name, switches in (
            ("negation scope alone", {"conflict": False, "misconception": False}),
            ("misconceptions alone", {"negation": False, "conflict": False}),
            ("conflicting terms alone", {"negation": False, "misconception": False}),
            (
                "no signal (evidence only)",
                {"negation": False, "conflict": False, "misconception": False},
            ),
        ):
            show(name, figures(held_out(data, bank, grader, args.folds, **switches)[0], bank))
        for kind in ("misconception", "unlisted", "paraphrase", None):
            subset = [g for g in graded if g.row.get("kind") == kind]
            show(f"  answers of kind {kind or 'strong/medium/weak'}", figures(subset, bank))
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
