"""From verdicts to a score: a point stated wrongly earns nothing, and a critical one caps the
score as a missed one does; the vectorised form the calibration uses agrees."""

import numpy as np
import pytest

from answer_grader.models import KeyPoint
from answer_grader.scoring import grouped_scores, point_result, score_points

POINTS = [
    KeyPoint(id="a", text="The first idea, critical.", weight=2, critical=True, keywords=[["a"]]),
    KeyPoint(id="b", text="The second idea, plain.", weight=1, keywords=[["b"]]),
    KeyPoint(id="c", text="The third idea, plain.", weight=1, keywords=[["c"]]),
]
LEVEL = {"missed": 0, "partial": 1, "covered": 2, "contradicted": 3}


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        (("covered", "covered", "covered"), (100.0, 100.0)),
        (("covered", "contradicted", "covered"), (75.0, 75.0)),
        (("covered", "missed", "partial"), (62.5, 62.5)),
        (("contradicted", "covered", "covered"), (50.0, 50.0)),  # capped: critical, wrong
        (("missed", "covered", "covered"), (50.0, 50.0)),
        (("contradicted", "partial", "partial"), (25.0, 25.0)),  # below the cap already
    ],
)
def test_scores_and_the_critical_cap(verdicts, expected):
    points = [point_result(p, v) for p, v in zip(POINTS, verdicts, strict=True)]
    assert score_points(points)[0] == expected[0]
    vectorised = grouped_scores(
        np.array([LEVEL[v] for v in verdicts]),
        [p.weight for p in POINTS],
        [p.critical for p in POINTS],
        np.zeros(3, int),
        1,
    )
    assert round(100 * float(vectorised[0]), 1) == expected[1]


def test_only_a_contradicted_point_carries_a_correction():
    wrong = point_result(POINTS[1], "contradicted", correction="What is true.")
    right = point_result(POINTS[1], "covered", correction="What is true.")
    assert wrong.correction == "What is true." and right.correction is None
