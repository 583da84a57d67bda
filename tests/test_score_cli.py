"""`grader score`: whole sheets, reports, cache, concurrency, exit codes and bad input."""

import json
import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest

from answer_grader.testing import FakeEmbedder, Reply, judgement_json, parse_request, rubric_responder

from .conftest import run
from .terminal import run_cli

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).parent.parent / "examples"
GOOD_4 = (
    "Each token gets a query, a key and a value vector from learned projections. The "
    "weights are a softmax over query-key dot products scaled by the square root of the key "
    "dimension, and the output is the weighted sum of the values."
)
Q4 = "Can you explain the concept of attention mechanisms in transformer models?"
Q5 = "What are positional encodings in the context of LLMs?"
GOOD_5 = (
    "Self-attention has no notion of order, so position must be injected. The original "
    "transformer added fixed sinusoidal encodings; modern LLMs such as LLaMA use RoPE, "
    "which rotates query and key pairs so that scores depend on relative distance."
)


def fill(sheet: str, answers: dict[int, str]) -> str:
    for number, answer in answers.items():
        sheet = re.sub(
            rf"(## Question {number}\n\n\*\*.+?\*\*\n\n\*\*Answer:\*\*)\n",
            lambda m, a=answer: f"{m.group(1)} {a}\n",
            sheet,
            count=1,
        )
    return sheet


def test_round_trip_template_fill_score(tmp_path):
    sheet = tmp_path / "answers.md"
    assert run("template", "-q", "3,4,5", "-o", str(sheet)).exit_code == 0
    sheet.write_text(fill(sheet.read_text("utf-8"), {4: GOOD_4, 5: GOOD_5}), "utf-8")

    result = run("score", str(sheet), "--format", "json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    status = {r["number"]: r["status"] for r in report["rows"]}
    assert status == {3: "unanswered", 4: "graded", 5: "graded"}
    assert report["totals"]["graded"] == 2 and report["totals"]["unanswered"] == 1
    row4 = next(r for r in report["rows"] if r["number"] == 4)
    assert row4["question_id"] == "attention-mechanisms" and row4["score"] > 20
    assert row4["report"]["points"][0]["verdict"] == "covered"


def test_the_question_list_is_23_unanswered(tmp_path):
    result = run("score", str(DATA / "question_list.md"))
    assert result.exit_code == 0
    assert "no answer graded; 23 unanswered" in result.stdout
    assert result.stdout.count("unanswered") >= 23


def test_example_sheet_text_report():
    result = run("score", str(EXAMPLES / "answers.md"))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "points missed" in out and "over 23 graded answers; 0 unanswered" in out
    assert "Graded by offline grader" in out
    assert re.search(r"Question 4 \u00b7 attention-mechanisms \u00b7 [\d.]+/100", out)


def test_markdown_and_junit(tmp_path):
    md = run("score", str(EXAMPLES / "answers.md"), "--format", "markdown").stdout
    assert md.startswith("# Answer sheet report")
    assert "| # | Question | Score | Points missed |" in md and "## Missed points" in md

    scores = [
        r["score"]
        for r in json.loads(run("score", str(EXAMPLES / "answers.md"), "--format", "json").stdout)[
            "rows"
        ]
    ]
    threshold = sorted(scores)[12]  # the median: about half the questions fall below it
    out = tmp_path / "junit.xml"
    result = run(
        "score",
        str(EXAMPLES / "answers.md"),
        "--format",
        "junit",
        "-o",
        str(out),
        "--fail-under",
        str(threshold),
    )
    suite = ET.parse(out).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "23"
    cases = suite.findall("testcase")
    assert len(cases) == 23 and cases[3].get("name") == "Question 4: attention-mechanisms"
    below = sum(s < threshold for s in scores)
    assert 0 < below < 23
    assert len(suite.findall("testcase/failure")) == below == int(suite.get("failures"))
    assert cases[0].find("system-out").text.startswith("score ")
    assert result.exit_code == (3 if sum(scores) / 23 < threshold else 0)


def test_fail_under(tmp_path):
    low = run("score", str(EXAMPLES / "answers.md"), "--fail-under", "99")
    assert low.exit_code == 3
    assert re.search(r"Mean score [\d.]+: below --fail-under 99", low.stderr)
    assert run("score", str(EXAMPLES / "answers.md"), "--fail-under", "1").exit_code == 0


def test_cache_reuses_grades_and_no_cache_bypasses_it(tmp_path):
    sheet = EXAMPLES / "answers.md"
    first = json.loads(run("score", str(sheet), "--format", "json").stdout)
    second = json.loads(run("score", str(sheet), "--format", "json").stdout)
    assert first["totals"]["cached"] == 0 and second["totals"]["cached"] == 23
    assert [r["score"] for r in first["rows"]] == [r["score"] for r in second["rows"]]
    third = json.loads(run("score", str(sheet), "--format", "json", "--no-cache").stdout)
    assert third["totals"]["cached"] == 0


def test_a_changed_answer_is_graded_again(tmp_path):
    sheet = tmp_path / "s.md"
    shutil.copy(EXAMPLES / "answers.md", sheet)
    run("score", str(sheet))
    text = sheet.read_text("utf-8").replace("**Answer:** ", "**Answer:** Indeed. ", 1)
    sheet.write_text(text, "utf-8")
    again = json.loads(run("score", str(sheet), "--format", "json").stdout)
    assert again["totals"]["cached"] == 22


def test_several_files_and_stdin(tmp_path):
    one = tmp_path / "one.md"
    one.write_text(f"## Question 4\n\n**{Q4}**\n\n**Answer:** {GOOD_4}\n", "utf-8")
    stdin = f"## Question 5\n\n**{Q5}**\n\n**Answer:** {GOOD_5}\n"
    report = json.loads(run("score", str(one), "-", "--format", "json", input=stdin).stdout)
    rows = [(r["source"], r["number"], r["status"]) for r in report["rows"]]
    assert rows == [(str(one), 4, "graded"), ("stdin", 5, "graded")]
    assert report["files"] == [str(one), "stdin"]


def llm_env(server) -> dict[str, str]:
    env = {**os.environ, "OPENAI_BASE_URL": server.url, "GRADER_HOME": os.environ["GRADER_HOME"]}
    env.pop("OPENAI_API_KEY", None)
    return env


def grader(*args, env, input=None):
    """`grader ARGS` in this process, seeing exactly `env` (tests.terminal.run_cli)."""
    seen = run_cli(*args, stdin=input, env=env)
    return SimpleNamespace(returncode=seen.code, stdout=seen.out, stderr=seen.err)


def test_llm_requests_run_concurrently_and_are_cached(fake_server):
    fake_server.default = rubric_responder(delay=0.3)
    env = llm_env(fake_server)
    done = grader("score", str(EXAMPLES / "answers.md"), "--jobs", "8", "--format", "json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["backend"] == "llm" and report["totals"]["graded"] == 23
    assert len(fake_server.requests) == 23
    assert fake_server.max_in_flight > 1  # requests overlapped
    assert fake_server.max_in_flight <= 8
    again = grader("score", str(EXAMPLES / "answers.md"), "--format", "json", env=env)
    assert json.loads(again.stdout)["totals"]["cached"] == 23
    assert len(fake_server.requests) == 23  # nothing sent the second time


def test_one_failing_answer_does_not_stop_the_others(fake_server):
    def respond(request):
        ids, answer = parse_request(request)
        if "favourite" in answer:
            return Reply.error(400, "this request is malformed")
        return Reply.completion(judgement_json(ids))

    fake_server.default = respond
    sheet = (
        f"## Question 4\n\n**{Q4}**\n\n**Answer:** {GOOD_4}\n\n---\n\n"
        f"## Question 5\n\n**{Q5}**\n\n**Answer:** My favourite encoding is the sinusoidal "
        "one, because it is pretty.\n\n---\n"
    )
    done = grader("score", "-", input=sheet, env=llm_env(fake_server))
    assert done.returncode == 4
    assert "Question 5: could not grade: the server rejected the request" in done.stdout
    assert re.search(r"\u2502\s+4 \u2502", done.stdout)  # question 4 still has its row
    assert "1 could not be graded" in done.stdout
    assert "mean score" in done.stdout and "over 1 graded answer;" in done.stdout


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_bytes(b"## Question 1\n\n**Q?**\n\n**Answer:** caf\xe9\n"), "not UTF-8 text"),
        (lambda p: p.write_text("\n\n", "utf-8"), "is empty"),
        (lambda p: p.write_text("# Notes\n\nno headings here\n", "utf-8"), "no question found"),
        (lambda p: p.write_bytes(b"## Question 1\n" + b"x" * 10_000_000), "is too large"),
    ],
)
def test_bad_sheets(tmp_path, setup, message):
    path = tmp_path / "sheet.md"
    setup(path)
    result = run("score", str(path))
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_sheet_text_is_not_markup():
    sheet = "## Question 4\n\n**What is a[i] and [/x] in [bold]arrays?**\n\n**Answer:** Arrays.\n"
    result = run("score", "-", input=sheet)
    assert result.exit_code == 0, result.stderr
    assert "What is a[i] and [/x] in [bold]arrays?" in result.stdout


def test_output_folder_must_exist_before_any_grading(tmp_path):
    result = run("score", str(EXAMPLES / "answers.md"), "-o", str(tmp_path / "no" / "r.md"))
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert json.loads(run("history", "--format", "json").stdout) == []  # nothing was graded
    assert run("template", "-o", str(tmp_path / "no" / "t.md")).exit_code == 2


def test_fail_under_with_nothing_graded(tmp_path):
    result = run("score", str(DATA / "question_list.md"), "--fail-under", "50")
    assert result.exit_code == 3
    assert "No answer was graded: below --fail-under 50" in result.stderr


def test_unusable_data_directory(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "history.db").write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("GRADER_HOME", str(home))
    result = run("history")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {home / 'history.db'}: not a usable")
    monkeypatch.setenv("GRADER_HOME", str(home / "history.db"))
    result = run("stats")
    assert result.exit_code == 1 and "cannot use" in result.stderr


class OtherEmbedder(FakeEmbedder):
    name = "another embedder"


def test_cached_grades_are_not_replayed_for_another_model(monkeypatch):
    """A grade is cached under the grader's version: the model and every offline parameter
    (tests/test_params.py changes each). Grades made with another model are not replayed."""
    sheet = str(EXAMPLES / "answers.md")
    first = json.loads(run("score", sheet, "--format", "json").stdout)
    monkeypatch.setenv("GRADER_EMBEDDER", f"{__name__}:OtherEmbedder")
    other = json.loads(run("score", sheet, "--format", "json").stdout)
    monkeypatch.setenv("GRADER_EMBEDDER", "answer_grader.testing:FakeEmbedder")
    back = json.loads(run("score", sheet, "--format", "json").stdout)
    cached = [r["totals"]["cached"] for r in (first, other, back)]
    assert cached == [0, 0, 23]
    assert "another embedder" in other["grader"] and "another embedder" not in back["grader"]


def test_points_stated_wrongly_are_reported_everywhere(tmp_path, bank):
    """A sheet whose answer to question 4 is the reference with every sentence denied: each
    report format says which points it contradicts and what is true instead, the junit output
    lists them, and stats counts them once the sheet is recorded."""
    from answer_grader.gaming import negated_prefix

    sheet = tmp_path / "sheet.md"
    sheet.write_text(f"## Question 4\n\n{negated_prefix(bank.get('4'))}\n", "utf-8")
    data = json.loads(run("score", str(sheet), "--format", "json").stdout)
    (row,) = data["rows"]
    assert row["contradicted"] and set(row["contradicted"]) <= set(row["missed"])
    point = next(p for p in row["report"]["points"] if p["verdict"] == "contradicted")
    assert point["correction"] and point["evidence"]["quote"].startswith("It is not true that")

    text = run("score", str(sheet)).stdout
    assert "wrong)" in text and "You said \u201cIt is not true that" in text
    markdown = run("score", str(sheet), "--format", "markdown").stdout
    assert "contradicted:" in markdown and "; in fact: " in markdown
    junit = ET.fromstring(run("score", str(sheet), "--format", "junit").stdout)
    assert "contradicted: " in junit.find("testcase/system-out").text

    assert run("score", str(sheet), "--record").exit_code == 0
    stats = run("stats").stdout
    lines = stats.splitlines()
    head = next(line for line in lines if line.split()[:2] == ["#", "question"])
    row_line = next(line for line in lines if "attention-mechanisms" in line)
    wrong_column = head.split().index("wrong")
    assert int(row_line.split()[wrong_column]) == len(row["contradicted"])
    assert f"{len(row['contradicted'])} points stated wrongly" in stats
