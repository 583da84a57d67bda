"""How sure each grader says it is: the two confidence rules, pinned at their boundaries."""

from types import SimpleNamespace

import pytest

from answer_grader.llm import confidence_llm
from answer_grader.models import FLAG_UNCORROBORATED, FLAG_UNVERIFIED_QUOTE
from answer_grader.offline import confidence_offline
from answer_grader.params import PARAMS


def signals(*scores: float) -> list[SimpleNamespace]:
    return [SimpleNamespace(score=s) for s in scores]


def far_from_the_cuts() -> float:
    """An evidence score at least the margin away from both cuts."""
    return min(1.0, PARAMS.covered + 2 * PARAMS.confidence_margin)


@pytest.mark.parametrize("cut", ["partial", "covered"])
def test_offline_a_score_near_a_cut_is_a_close_call(cut):
    near = getattr(PARAMS, cut) + PARAMS.confidence_margin / 2
    # Every point a close call: low. The same points well clear of both cuts: medium.
    assert confidence_offline(signals(near, near, near)) == "low"
    assert confidence_offline(signals(*[far_from_the_cuts()] * 3)) == "medium"


def test_offline_low_only_above_the_share_of_close_calls():
    near, far = PARAMS.covered, far_from_the_cuts()
    n = 10
    at_share = round(PARAMS.confidence_low_share * n)  # 4 of 10: not more than the share
    assert confidence_offline(signals(*[near] * at_share, *[far] * (n - at_share))) == "medium"
    over = at_share + 1
    assert confidence_offline(signals(*[near] * over, *[far] * (n - over))) == "low"


def test_offline_is_never_high():
    assert confidence_offline(signals(0.0, 1.0, far_from_the_cuts())) == "medium"
    assert confidence_offline([]) == "medium"


def points(doubted: int, total: int, flag: str = FLAG_UNVERIFIED_QUOTE) -> list[SimpleNamespace]:
    return [SimpleNamespace(flags=[flag] if i < doubted else []) for i in range(total)]


def test_llm_high_only_when_nothing_is_in_doubt():
    assert confidence_llm(points(0, 6), []) == "high"
    # The server did not honour the request as sent (no JSON schema, no temperature 0).
    assert confidence_llm(points(0, 6), ["used json_object output"]) == "medium"


@pytest.mark.parametrize("flag", [FLAG_UNVERIFIED_QUOTE, FLAG_UNCORROBORATED])
def test_llm_medium_up_to_a_third_in_doubt_then_low(flag):
    assert confidence_llm(points(1, 6, flag), []) == "medium"
    assert confidence_llm(points(2, 6, flag), []) == "medium"  # a third
    assert confidence_llm(points(3, 6, flag), []) == "low"
