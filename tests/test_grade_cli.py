"""`grader grade` and `grader config`, as a user runs them."""

import json
import os
import subprocess
import sys

import jsonschema
import pytest

from answer_grader.report import report_schema
from answer_grader.testing import rubric_responder

from .conftest import run

GOOD = (
    "Each token gets a query, a key and a value vector from learned projections. The weights are "
    "a softmax over query-key dot products scaled by the square root of the key dimension, and "
    "the output is the weighted sum of the values."
)


def test_grade_from_stdin_text_report():
    result = run("grade", "4", "-", input=GOOD)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith("Question 4 \u00b7 attention-mechanisms")
    assert "Score " in out and "/100" in out
    assert "Graded by offline grader" in out
    assert "\u2713 covered" in out and "\u2717 missed" in out
    assert "What to add" in out and "An interviewer expects something like" in out
    assert "cannot check correctness in general" in " ".join(out.split())  # wrapped


def test_grade_from_file_json_matches_the_shipped_schema(tmp_path, bank_dir):
    answer = tmp_path / "answer.md"
    answer.write_text(GOOD, encoding="utf-8")
    result = run("grade", "attention-mechanisms", str(answer), "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, report_schema())
    assert data["backend"] == "offline" and data["question_number"] == 4
    assert {p["id"]: p["verdict"] for p in data["points"]}["qkv-projections"] == "covered"


def test_shipped_report_schema_is_current():
    from importlib import resources

    shipped = json.loads(
        resources.files("answer_grader").joinpath("schemas/report.schema.json").read_text("utf-8")
    )
    regenerate = (
        "python -c 'from answer_grader.report import dumps_schema; print(dumps_schema(), end=\"\")' "
        "> src/answer_grader/schemas/report.schema.json"
    )
    assert shipped == report_schema(), f"regenerate with: {regenerate}"


def test_grade_markdown():
    result = run("grade", "4", "-", "--format", "markdown", input=GOOD)
    assert result.stdout.startswith("## Question 4: Can you explain")
    assert "| # | Key point | Status | Evidence from the answer |" in result.stdout
    assert "### What to add" in result.stdout


def test_grade_bom_and_crlf_are_fine(tmp_path):
    answer = tmp_path / "a.md"
    answer.write_bytes(b"\xef\xbb\xbf" + GOOD.replace(". ", ".\r\n\r\n").encode("utf-8"))
    result = run("grade", "4", str(answer), "--format", "json")
    assert result.exit_code == 0
    quotes = [p["evidence"] for p in json.loads(result.stdout)["points"] if p["evidence"]]
    assert quotes and not any("\ufeff" in q["quote"] or "\r" in q["quote"] for q in quotes)
    assert quotes[0]["quote"].startswith("Each token")
    assert {q["line"] for q in quotes} >= {1, 3}  # CRLF line numbers are counted right


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_bytes(b"caf\xe9 au lait " * 5), "not UTF-8 text (invalid byte at offset 3)"),
        (lambda p: p.write_text("  \n\n ", "utf-8"), "answer.md: is empty"),
        (lambda p: p.write_text("x" * 1_000_001, "utf-8"), "too large"),
        (lambda p: p.write_text("word " * 5000, "utf-8"), "the limit is 20,000"),
    ],
)
def test_grade_bad_input(tmp_path, setup, message):
    path = tmp_path / "answer.md"
    setup(path)
    result = run("grade", "4", str(path))
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_grade_unknown_question():
    result = run("grade", "atention", "-", input=GOOD)
    assert result.exit_code == 1
    assert "did you mean" in result.stderr


def test_grade_llm_without_key_says_what_to_set():
    result = run("grade", "4", "-", "--backend", "llm", input=GOOD)
    assert result.exit_code == 2
    assert "OPENAI_API_KEY" in result.stderr and "OPENAI_BASE_URL" in result.stderr


def _grader(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "answer_grader.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_openai_base_url_selects_the_llm_judge(fake_server):
    """A real `grader grade` process, pointed at a local OpenAI-compatible server by the
    environment alone, grades with the LLM judge."""
    fake_server.default = rubric_responder()
    env = {**os.environ, "OPENAI_BASE_URL": fake_server.url}
    env.pop("OPENAI_API_KEY", None)
    done = _grader("grade", "4", "--format", "json", env=env, stdin=GOOD)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["backend"] == "llm"
    assert fake_server.url in report["grader"]
    assert len(fake_server.requests) == 1
    assert all(p["judge_verdict"] == "partial" for p in report["points"])


@pytest.mark.slow
def test_unreachable_server_is_not_graded_exit_4():
    env = {**os.environ, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "GRADER_BACKEND": "llm"}
    done = _grader("grade", "4", env=env, stdin=GOOD)
    assert done.returncode == 4
    *said, error = done.stderr.splitlines()
    assert error.startswith("Error: could not grade: the server is unreachable")
    # While it retries, a line says what is happening.
    assert said == [
        f"Question 4: the server is unreachable, retry {n} of 3 in {d} s"
        for n, d in [(1, "0.5"), (2, "1"), (3, "2")]
    ]
    assert done.stdout == ""


def test_config_shows_sources_and_masks_the_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-1234567890abcdefWXYZ")
    monkeypatch.setenv("GRADER_MODEL", "my-judge")
    result = run("config")
    assert result.exit_code == 0
    out = result.stdout
    assert "sk-...WXYZ" in out and "1234567890" not in out
    assert "my-judge" in out and "GRADER_MODEL" in out
    assert "llm (auto: a key or base URL is set)" in out


def test_config_offline_by_default():
    out = run("config").stdout
    assert "offline (auto: no key or base URL set)" in out
    assert "all-MiniLM-L6-v2" in out


def test_config_test_connection(fake_server):
    from answer_grader.testing import Reply

    fake_server.push(Reply.completion("OK"))
    result = run("config", "--base-url", fake_server.url, "--test")
    assert result.exit_code == 0, result.stderr
    assert "OK: gpt-6.1-terra answered in" in result.stdout
    assert fake_server.requests[0]["messages"][0]["content"].startswith("Reply with")


def test_config_test_failure(fake_server):
    from answer_grader.testing import Reply

    fake_server.push(Reply.error(404, "no such model"))
    result = run("config", "--base-url", fake_server.url, "--test")
    assert result.exit_code == 1
    assert result.stderr == "Error: the connection test failed: no such model\n"
