"""--samples N: N judge requests per answer with distinct seeds, each point's majority verdict,
and the points the samples disagree on flagged, shown and counted."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from answer_grader.samples import vote
from answer_grader.testing import FakeOpenAI, Reply, judgement_json, parse_request

from .conftest import run


def _flipping(flip: str):
    """A judge that credits every point from the answer's first sentence ("partial"), except
    `flip`, which it calls covered for an even seed and partial for an odd one."""

    def respond(request: dict) -> Reply:
        ids, answer = parse_request(request)
        first = re.split(r"(?<=[.!?])\s", answer.strip(), maxsplit=1)[0]
        verdicts = {pid: ("partial", first) for pid in ids}
        verdicts[flip] = ("covered" if request["seed"] % 2 == 0 else "partial", first)
        return Reply.completion(judgement_json(ids, verdicts))

    return respond


def test_three_samples_flag_the_point_they_disagree_on(bank, tmp_path: Path) -> None:
    q = bank.get("4")
    flip = q.key_points[1].id
    answer = tmp_path / "answer.md"
    answer.write_text(q.reference_answer)
    with FakeOpenAI(default=_flipping(flip)) as server:
        base = ["grade", "4", str(answer), "--backend", "llm", "--base-url", server.url]
        result = run(*base, "--samples", "3", "--format", "json")
        seeds = sorted(r["seed"] for r in server.requests)
        text = run(*base, "--samples", "3").stdout  # from the cache? no: grade does not cache
    assert result.exit_code == 0, result.stderr
    assert seeds == [1234, 1235, 1236]  # distinct seeds, one request each
    report = json.loads(result.stdout)
    by_id = {p["id"]: p for p in report["points"]}
    # Seeds 1234 and 1236 said covered, 1235 partial: the majority is covered.
    assert by_id[flip]["votes"] == {"partial": 1, "covered": 2}
    assert by_id[flip]["judge_verdict"] == "covered"
    assert "samples-disagree" in by_id[flip]["flags"]
    others = [p for p in report["points"] if p["id"] != flip]
    assert all(p["votes"] == {"partial": 3} for p in others)
    assert not any("samples-disagree" in p["flags"] for p in others)
    assert report["confidence"] != "high"
    assert "majority of 3 samples" in report["grader"]
    table = " ".join(text.replace("\u2502", " ").split())  # the table's cells wrap
    assert "samples-disagree: partial 1, covered 2" in table


def test_one_sample_sends_one_request_with_the_configured_seed(bank, tmp_path: Path) -> None:
    answer = tmp_path / "answer.md"
    answer.write_text(bank.get("4").reference_answer)
    with FakeOpenAI(default=_flipping(bank.get("4").key_points[1].id)) as server:
        result = run("grade", "4", str(answer), "--backend", "llm", "--base-url", server.url)
        assert [r["seed"] for r in server.requests] == [1234]
    assert result.exit_code == 0
    assert "samples-disagree" not in result.stdout


def test_score_with_samples_shows_the_disagreement_in_the_sheet(bank, tmp_path: Path) -> None:
    q = bank.get("4")
    sheet = tmp_path / "sheet.md"
    sheet.write_text(f"## Question 4\n\n**{q.text}**\n\n**Answer:** {q.reference_answer}\n")
    with FakeOpenAI(default=_flipping(q.key_points[1].id)) as server:
        result = run(
            "score", str(sheet), "--backend", "llm", "--base-url", server.url,
            "--samples", "3", "--format", "json",
        )  # fmt: skip
        assert len(server.requests) == 3
    row = json.loads(result.stdout)["rows"][0]
    assert row["report"]["points"][1]["votes"] == {"partial": 1, "covered": 2}


@pytest.mark.parametrize(
    "verdicts, winner",
    [
        (["covered", "covered", "partial"], "covered"),
        (["covered", "partial"], "partial"),  # a tie goes to less credit
        (["missed", "contradicted"], "missed"),  # and to the verdict that claims least
        (["contradicted", "contradicted", "missed"], "contradicted"),
        (["partial", "covered", "missed"], "missed"),
    ],
)
def test_the_vote(verdicts: list[str], winner: str) -> None:
    assert vote(verdicts).verdict == winner


def test_offline_refuses_samples() -> None:
    result = run("grade", "4", "--backend", "offline", "--samples", "3", input="x")
    assert result.exit_code == 2
    assert "--samples repeats the LLM judge" in result.stderr


def test_a_vote_short_of_samples_is_not_cached(bank, tmp_path: Path) -> None:
    """Two of three samples refused: the grade is the one sample's, flagged, and asked again
    next time rather than replayed."""
    q = bank.get("4")
    sheet = tmp_path / "sheet.md"
    sheet.write_text(f"## Question 4\n\n**{q.text}**\n\n**Answer:** {q.reference_answer}\n")
    flipping = _flipping(q.key_points[1].id)

    def respond(request: dict) -> Reply:
        if request["seed"] != 1234:
            return Reply.error(400, "this seed is refused")
        return flipping(request)

    with FakeOpenAI(default=respond) as server:
        args = ["score", str(sheet), "--backend", "llm", "--base-url", server.url, "--samples", "3"]
        first = json.loads(run(*args, "--format", "json").stdout)["rows"][0]
        again = json.loads(run(*args, "--format", "json").stdout)["rows"][0]
        assert len(server.requests) == 6  # asked again: not replayed from the cache
    assert "samples-failed" in first["report"]["flags"]
    assert "2 of 3 judge samples failed" in first["report"]["caveats"][0]
    assert again["cached"] is False
