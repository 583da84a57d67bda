"""Batch grading for cohorts: `grader score --batch` (submitted, interrupted, resumed, graded
once), `--batch-file` (accepted line for line by the scripted server's batch endpoint) and
`--batch-results` (graded from an output file made elsewhere), and `grader batch`."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pexpect
import pytest

from answer_grader.testing import FakeOpenAI, Reply, rubric_responder

from .conftest import EXAMPLES, run
from .terminal import grader_env, run_piped, spawn

SHEET = EXAMPLES / "answers.md"
ANSWERS = 23  # the example sheet answers every question


@pytest.fixture
def server():
    with FakeOpenAI(default=rubric_responder()) as s:
        yield s


def _posts(server: FakeOpenAI, what: str) -> int:
    return sum(1 for method, path in server.calls if method == "POST" and path.endswith(what))


def _batch_args(server: FakeOpenAI) -> list[str]:
    return ["--backend", "llm", "--base-url", server.url, "--poll-interval", "0.05"]


def test_an_interrupted_batch_resumes_and_grades_every_answer_once(server: FakeOpenAI) -> None:
    server.hold_batches.set()  # the batch runs until released
    child = spawn("score", str(SHEET), "--batch", *_batch_args(server))
    child.expect("Submitted batch batch_1: 23 requests for 23 answers")
    child.expect("in_progress")
    child.sendintr()  # Ctrl-C while it waits
    child.expect(r"grader batch collect batch_1")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in (child.before or "")

    server.hold_batches.clear()
    seen = run_piped("score", str(SHEET), "--batch", *_batch_args(server), "--format", "json")
    assert seen.code == 0, seen.err
    assert "Resuming batch batch_1" in seen.err
    report = json.loads(seen.out)
    assert report["totals"]["graded"] == ANSWERS and report["totals"]["errors"] == 0
    # One batch, one upload, and each answer asked once: no direct request at all.
    assert _posts(server, "/batches") == 1 and _posts(server, "/files") == 1
    assert _posts(server, "/chat/completions") == 0
    assert len(server.requests) == ANSWERS

    # The grades are in the cache under the direct route's version: a plain run asks nothing.
    again = run_piped("score", str(SHEET), "--backend", "llm", "--base-url", server.url)
    assert again.code == 0 and "23 graded answers" in again.out
    assert len(server.requests) == ANSWERS


def test_batch_collect_grades_a_batch_submitted_and_left(server: FakeOpenAI) -> None:
    server.hold_batches.set()
    child = spawn("score", str(SHEET), "--batch", *_batch_args(server))
    child.expect("Submitted batch batch_1")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130

    listed = run("batch", "status")
    assert "batch_1" in listed.stdout and "not yet" in listed.stdout
    status = run("batch", "status", "batch_1", "--base-url", server.url)
    assert status.exit_code == 0 and "in_progress" in status.stdout

    server.hold_batches.clear()
    result = run("batch", "collect", "batch_1", "--base-url", server.url, "--poll-interval", "0.05",
                 "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["graded"] == ANSWERS
    assert len(server.requests) == ANSWERS
    assert "not yet" not in run("batch", "status").stdout


def test_the_batch_file_is_accepted_line_for_line_and_its_results_grade(
    server: FakeOpenAI, tmp_path: Path
) -> None:
    out = tmp_path / "requests.jsonl"
    written = run("score", str(SHEET), "--batch-file", str(out))  # no key, no server needed
    assert written.exit_code == 0, written.stderr
    assert "Wrote 23 requests for 23 answers" in written.stderr
    assert "vllm.entrypoints.openai.run_batch" in written.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == ANSWERS
    assert server.requests == []

    client = openai.OpenAI(base_url=server.url, api_key="test")
    upload = client.files.create(file=out, purpose="batch")
    batch = client.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert batch.status == "validating" and batch.errors is None
    while batch.status not in ("completed", "failed"):
        batch = client.batches.retrieve(batch.id)
    assert batch.status == "completed"
    assert (batch.request_counts.total, batch.request_counts.completed) == (ANSWERS, ANSWERS)
    results = tmp_path / "results.jsonl"
    results.write_text(client.files.content(batch.output_file_id).text)

    graded = run("score", str(SHEET), "--batch-results", str(results), "--format", "json")
    assert graded.exit_code == 0, graded.stderr
    report = json.loads(graded.stdout)
    assert report["totals"]["graded"] == ANSWERS
    assert "batch results" in report["grader"]
    assert len(server.requests) == ANSWERS  # the results file was read, nothing asked

    # Graded answers are cached: a second --batch-file has nothing left to ask.
    again = run("score", str(SHEET), "--batch-file", str(tmp_path / "more.jsonl"))
    assert "Wrote 0 requests for 0 answers" in again.stderr


def test_the_scripted_batch_endpoint_refuses_a_bad_file(server: FakeOpenAI, tmp_path: Path) -> None:
    """The check above can fail: a line without a custom_id or with another url fails the batch."""
    out = tmp_path / "requests.jsonl"
    run("score", str(SHEET), "--batch-file", str(out))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    del lines[3]["custom_id"]
    lines[5]["url"] = "/v1/embeddings"
    lines[7]["custom_id"] = lines[8]["custom_id"]
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    client = openai.OpenAI(base_url=server.url, api_key="test")
    upload = client.files.create(file=out, purpose="batch")
    batch = client.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert batch.status == "failed"
    assert sorted(e.line for e in batch.errors.data) == [4, 6, 9]


def test_results_missing_or_failed_leave_their_answers_not_graded(
    server: FakeOpenAI, tmp_path: Path
) -> None:
    out = tmp_path / "requests.jsonl"
    run("score", str(SHEET), "--batch-file", str(out))
    requests = [json.loads(line) for line in out.read_text().splitlines()]
    results = []
    for n, request in enumerate(requests[:-1]):  # the last answer has no result at all
        reply = rubric_responder()(request["body"])
        if n == 0:  # the first failed at the server
            reply = Reply.error(429, "rate limit reached for this batch")
        results.append(
            {
                "custom_id": request["custom_id"],
                "response": {"status_code": reply.status, "body": reply.body},
            }
        )
    path = tmp_path / "results.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in results))
    graded = run("score", str(SHEET), "--batch-results", str(path), "--format", "json")
    assert graded.exit_code == 4
    rows = json.loads(graded.stdout)["rows"]
    errors = {r["number"]: r["error"] for r in rows if r["status"] == "error"}
    assert list(errors) == [1, 23]
    assert "429" in errors[1] and "rate limit" in errors[1]
    assert "no result for this answer" in errors[23]
    assert sum(r["status"] == "graded" for r in rows) == ANSWERS - 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--batch", "--backend", "offline"], "--batch sends the LLM judge's requests"),
        (["--batch", "--batch-file", "x.jsonl"], "are different routes"),
    ],
)
def test_batch_options_that_cannot_work_are_refused(args, message) -> None:
    result = run("score", str(SHEET), *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_malformed_results_file_is_one_line_of_error(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text('{"custom_id": "a"}\nnot json\n')
    result = run("score", str(SHEET), "--batch-results", str(path))
    assert result.exit_code == 4
    assert f"{path}:2: not JSON" in result.stderr


def test_an_unknown_batch_is_one_clear_line() -> None:
    seen = run_piped(
        "batch", "collect", "batch_9", "--base-url", "http://127.0.0.1:9/v1", env=grader_env()
    )
    assert seen.code == 1
    assert "no saved batch 'batch_9'" in seen.err and "Traceback" not in seen.err


def test_the_batch_file_can_go_to_standard_output() -> None:
    result = run("score", str(SHEET), "--batch-file", "-")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == ANSWERS
    assert {json.loads(line)["url"] for line in lines} == {"/v1/chat/completions"}


@pytest.mark.slow  # waits out the client's retries (about 8 s)
def test_a_server_lost_while_waiting_says_how_to_resume(server: FakeOpenAI) -> None:
    server.hold_batches.set()
    child = spawn("score", str(SHEET), "--batch", *_batch_args(server), "--timeout", "2")
    child.expect("Submitted batch batch_1")
    server.batch_lookup_reply = Reply.error(503, "the batch service is unavailable")
    child.expect(pexpect.EOF, timeout=120)
    child.close()
    assert child.exitstatus == 4
    seen = " ".join((child.before or "").split())
    assert "looking up batch batch_1: the server answered 503" in seen
    assert "grader batch collect batch_1" in seen and "Traceback" not in seen
    # The batch is still saved, so the same command resumes it once the server is back.
    server.batch_lookup_reply = None
    server.hold_batches.clear()
    again = run_piped("score", str(SHEET), "--batch", *_batch_args(server))
    assert again.code == 0 and "Resuming batch batch_1" in again.err


def test_a_cancelled_batch_is_not_resumed_but_submitted_anew(server: FakeOpenAI) -> None:
    server.hold_batches.set()
    child = spawn("score", str(SHEET), "--batch", *_batch_args(server))
    child.expect("Submitted batch batch_1")
    openai.OpenAI(base_url=server.url, api_key="test").batches.cancel("batch_1")
    child.expect(pexpect.EOF, timeout=60)
    child.close()
    assert child.exitstatus == 4
    assert "batch batch_1 cancelled" in " ".join((child.before or "").split())
    assert "no: cancelled" in run("batch", "status").stdout

    server.hold_batches.clear()
    again = run_piped("score", str(SHEET), "--batch", *_batch_args(server))
    assert again.code == 0, again.err
    assert "Resuming" not in again.err and "Submitted batch batch_2" in again.err


def test_a_malformed_result_line_leaves_its_answer_not_graded(tmp_path: Path) -> None:
    out = tmp_path / "requests.jsonl"
    run("score", str(SHEET), "--batch-file", str(out))
    requests = [json.loads(line) for line in out.read_text().splitlines()]
    results = [{"custom_id": r["custom_id"], "response": "oops"} for r in requests[:1]]
    for r in requests[1:2]:
        body = {"choices": [{"message": {"content": ["not", "text"]}, "finish_reason": "stop"}]}
        results.append({"custom_id": r["custom_id"], "response": {"status_code": 200, "body": body}})
    path = tmp_path / "results.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in results))
    graded = run("score", str(SHEET), "--batch-results", str(path), "--format", "json")
    assert graded.exit_code == 4
    rows = {r["number"]: r["error"] for r in json.loads(graded.stdout)["rows"]}
    assert "malformed batch result" in rows[1] and "malformed batch result" in rows[2]
    assert "internal error" not in graded.stdout
