"""`grader eval --backend llm`: the judge's agreement beside the offline grader's and the floor's,
on the same rows, with the requests, tokens and cost of the run. The judge is scripted, so every
figure can be worked out by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from answer_grader.testing import FakeOpenAI, Reply, judgement_json, parse_request

from .conftest import run

DROPOUT = "What does dropout do in a neural network?"
DROPOUT_POINTS = [
    "Dropout zeroes a random subset of activations at each training step.",
    "At inference dropout is switched off and the activations are rescaled to match.",
]
LAYERNORM = "What does layer normalisation do?"
LAYERNORM_POINTS = [
    "Layer normalisation rescales each token's features to zero mean and unit variance.",
    "Layer normalisation then applies a learned gain and bias to every feature.",
]


def _row(id: str, question: str, points: list[str], answer: str, score: float) -> dict:
    return {
        "id": id,
        "question_id": question.split()[2],
        "question": question,
        "reference_answer": " ".join(points),
        "rubric": points,
        "student_answer": answer,
        "score": score,
        "max_score": 2,
    }


# Each answer, and what the scripted judge says of it: point index -> its verdict, quoting the
# point's own sentence (which the answer contains word for word, so the offline cross-check
# finds the same evidence and lets the credit stand).
ROWS = [
    (_row("r1", DROPOUT, DROPOUT_POINTS, " ".join(DROPOUT_POINTS), 2), {0: "covered", 1: "covered"}),
    (
        _row("r2", DROPOUT, DROPOUT_POINTS, DROPOUT_POINTS[0] + " It helps against overfitting.", 2),
        {0: "covered"},
    ),
    (
        _row("r3", LAYERNORM, LAYERNORM_POINTS, "It makes the training of big models more stable.", 0),
        {},
    ),
    (
        _row("r4", LAYERNORM, LAYERNORM_POINTS, " ".join(LAYERNORM_POINTS), 1),
        {0: "covered", 1: "covered"},
    ),
    # The server refuses this one: the row is not graded, and is in no figure.
    (
        _row("r5", LAYERNORM, LAYERNORM_POINTS, "Layer normalisation is like batch norm, per token.", 2),
        None,
    ),
]
PROMPT_TOKENS, COMPLETION_TOKENS = 1200, 300


def _responder(request: dict) -> Reply:
    ids, answer = parse_request(request)
    for row, said in ROWS:
        if row["student_answer"] == answer:
            if said is None:
                return Reply.error(400, "this request is too large for the model")
            points = row["rubric"]
            verdicts = {ids[i]: (v, points[i]) for i, v in said.items()}
            return Reply.completion(
                judgement_json(ids, verdicts), usage=(PROMPT_TOKENS, COMPLETION_TOKENS)
            )
    return Reply.error(500, f"no script for {answer!r}")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row, _ in ROWS))
    return path


def _eval(server: FakeOpenAI, data: Path, *extra: str):
    return run(
        "eval", str(data), "--backend", "llm", "--base-url", server.url, "--model", "judge-x",
        "--format", "json", *extra,
    )  # fmt: skip


def test_eval_with_the_llm_judge_reports_agreement_tokens_and_cost(data: Path) -> None:
    with FakeOpenAI(default=_responder) as server:
        result = _eval(server, data, "--price-in", "2", "--price-out", "8")
        assert result.exit_code == 4, result.output + result.stderr  # one row not graded
        out = json.loads(result.stdout)
        assert len(server.requests) == 5

    # The four graded rows: the judge gives 1, 0.5, 0 and 1; the humans gave 1, 1, 0 and 0.5.
    # Both means are 0.625; deviations (.375, -.125, -.625, .375) and (.375, .375, -.625, -.125);
    # their products sum to .4375 and each sum of squares is .6875: Pearson 7/11.
    # Errors 0, -.5, 0, .5: RMSE sqrt(.5 / 4).
    judge = out["overall"]["grader"]
    assert judge["n"] == 4
    assert judge["pearson"] == pytest.approx(7 / 11)
    assert judge["rmse"] == pytest.approx(math.sqrt(0.125))
    # The offline grader and the floor are scored on the same four rows, not on all five.
    assert out["overall"]["offline_grader"]["n"] == 4
    assert out["overall"]["unigram_overlap"]["n"] == 4
    assert [p["id"] for p in out["predictions"]] == ["r1", "r2", "r3", "r4"]

    llm = out["llm"]
    assert (llm["rows"], llm["graded"], llm["not_graded"]) == (5, 4, 1)
    assert llm["not_graded_rows"][0]["id"] == "r5"
    assert "too large" in llm["not_graded_rows"][0]["error"]
    # Five requests; four completions of 1,200 + 300 tokens (the refused request has no usage).
    assert (llm["requests"], llm["prompt_tokens"], llm["completion_tokens"]) == (5, 4800, 1200)
    # 4,800 x $2 / 1M + 1,200 x $8 / 1M = $0.0096 + $0.0096.
    assert llm["cost_usd"] == pytest.approx(0.0192)


def test_a_second_run_replays_the_graded_rows_from_the_cache(data: Path) -> None:
    with FakeOpenAI(default=_responder) as server:
        _eval(server, data)
        again = _eval(server, data)
        out = json.loads(again.stdout)
        # Only the row that failed is asked again; the rest cost nothing.
        assert len(server.requests) == 5 + 1
    assert (out["llm"]["requests"], out["llm"]["cached"]) == (1, 4)
    assert out["llm"]["prompt_tokens"] == 0
    assert out["overall"]["grader"]["pearson"] == pytest.approx(7 / 11)


def test_the_text_report_names_the_judge_the_tokens_and_an_unknown_price(data: Path) -> None:
    with FakeOpenAI(default=_responder) as server:
        result = run("eval", str(data), "--backend", "llm", "--base-url", server.url)
    text = result.stdout
    assert "4 of 5 rows graded by the LLM judge" in text
    assert "LLM judge" in text and "offline grader" in text and "unigram overlap" in text
    assert (
        "Requests: 5 (0 grades replayed from the cache); tokens: 4,800 prompt, 1,200 completion." in text
    )
    # The default model has no list price here, so the cost is not guessed.
    assert "Cost: unknown" in text
    assert "line 5 (id r5)" in text


def test_a_listed_model_is_priced_without_flags(data: Path) -> None:
    with FakeOpenAI(default=_responder) as server:
        out = json.loads(_eval(server, data, "--model", "gpt-4o-mini").stdout)
    # gpt-4o-mini's list price: $0.15 in, $0.60 out per million tokens.
    assert out["llm"]["cost_usd"] == pytest.approx((4800 * 0.15 + 1200 * 0.60) / 1e6)
    assert "list price" in out["llm"]["price_source"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "x"], "--model applies to the LLM judge"),
        (["--price-in", "1"], "--price-in applies to the LLM judge"),
        (["--samples", "3"], "--samples repeats the LLM judge"),
        (["--backend", "llm", "--base-url", "http://127.0.0.1:9/v1", "--price-in", "1"], "give both"),
    ],
)
def test_options_that_do_not_fit_are_refused_before_any_work(data: Path, args, message) -> None:
    result = run("eval", str(data), *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_samples_count_how_often_verdicts_flip(data: Path) -> None:
    def flipping(request: dict) -> Reply:
        ids, answer = parse_request(request)
        if answer == ROWS[0][0]["student_answer"] and request["seed"] % 2:  # r1, odd seeds
            points = ROWS[0][0]["rubric"]
            verdicts = {ids[0]: ("covered", points[0]), ids[1]: ("partial", points[1])}
            return Reply.completion(judgement_json(ids, verdicts), usage=(1200, 300))
        return _responder(request)

    with FakeOpenAI(default=flipping) as server:
        out = json.loads(_eval(server, data, "--samples", "3").stdout)
    llm = out["llm"]
    # Three samples of five rows; the refused row fails all three.
    assert llm["requests"] == 15
    assert llm["prompt_tokens"] == 12 * 1200
    # Seeds 1234, 1235, 1236: one odd seed, so r1's second point is covered, partial, covered.
    # Of the eight points of the four graded rows, that one flips.
    assert (llm["flipped_points"], llm["voted_points"]) == (1, 8)
    assert llm["flip_rate"] == pytest.approx(1 / 8)
    # The majority is covered, so the figures are those of one sample.
    assert out["overall"]["grader"]["pearson"] == pytest.approx(7 / 11)


def test_eval_with_the_judge_in_a_terminal_and_piped(data: Path) -> None:
    from .terminal import COLUMNS, run_piped, run_tty

    with FakeOpenAI(default=_responder) as server:
        args = ["eval", str(data), "--backend", "llm", "--base-url", server.url, "--no-cache"]
        tty = run_tty(*args)
        piped = run_piped(*args)
    for seen in (tty, piped):
        seen.assert_no_crash()
        assert seen.code == 4  # one row not graded
    assert "Requests: 5" in " ".join(tty.text.split())
    assert all(len(line) <= COLUMNS for line in tty.text.splitlines() if len(line.split()) > 1)
    assert "Requests: 5" in piped.out and "\x1b" not in piped.out + piped.err
