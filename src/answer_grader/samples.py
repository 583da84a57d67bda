"""Several judge samples of one answer: the majority verdict of each point, and how far they agree.

Judges are not deterministic, even at temperature 0 with a seed (providers batch requests on
different hardware, and a point near the line between partial and covered flips). N requests,
each with its own seed, and a vote per point turn that noise into a stated doubt: a point on which
the samples disagree is flagged, and the report's confidence drops with it.

A tie goes to the verdict earlier in TIE_ORDER: toward less credit, and toward "missed" over
"contradicted", the verdict that claims the least and needs no quote.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

TIE_ORDER = ("missed", "contradicted", "partial", "covered")


@dataclass(frozen=True)
class Vote:
    """One point's verdicts over the samples, and the winner."""

    counts: dict[str, int]  # verdict -> samples that gave it, in TIE_ORDER
    verdict: str

    @property
    def unanimous(self) -> bool:
        return len(self.counts) == 1

    @property
    def agreement(self) -> float:
        """The share of samples that gave the majority verdict."""
        return self.counts[self.verdict] / sum(self.counts.values())


def vote(verdicts: Sequence[str]) -> Vote:
    """The majority of one point's verdicts (ties as TIE_ORDER says)."""
    if not verdicts:
        raise ValueError("no verdicts to vote on")
    counts = Counter(verdicts)
    best = max(counts.values())
    winner = next(v for v in TIE_ORDER if counts.get(v) == best)
    return Vote({v: counts[v] for v in TIE_ORDER if v in counts}, winner)


def combine(results: Sequence[object]) -> tuple[object, list[Vote]]:
    """One judge result from several of the same answer: each point's majority verdict, with the
    evidence and feedback of the first sample that gave it; the reasoning and advice of the first
    sample. Returns it with each point's vote, in rubric order. `results` are `judge.JudgeResult`s
    (their judgements' points in rubric order, as the judge returns them)."""
    first = results[0]
    judgements = [r.judgement for r in results]  # type: ignore[attr-defined]
    points, votes = [], []
    for i, point in enumerate(judgements[0].points):
        given = [j.points[i] for j in judgements]
        v = vote([p.verdict for p in given])
        votes.append(v)
        points.append(next(p for p in given if p.verdict == v.verdict))
        assert all(p.point_id == point.point_id for p in given)  # _ordered puts them in rubric order
    judgement = judgements[0].model_copy(update={"points": points})
    from dataclasses import replace

    combined = replace(
        first,  # type: ignore[type-var]
        judgement=judgement,
        attempts=sum(r.attempts for r in results),  # type: ignore[attr-defined]
        reasked=any(r.reasked for r in results),  # type: ignore[attr-defined]
        temperature_dropped=any(r.temperature_dropped for r in results),  # type: ignore[attr-defined]
    )
    return combined, votes


def flip_rate(reports: Sequence[object]) -> tuple[int, int]:
    """(points on which the samples disagreed, points voted on) over graded reports: how often a
    verdict flips between samples of the same answer."""
    voted = [p for r in reports for p in r.points if p.votes]  # type: ignore[attr-defined]
    return sum(len(p.votes) > 1 for p in voted), len(voted)
