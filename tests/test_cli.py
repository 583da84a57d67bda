"""list, show and template, as a user runs them."""

import json
import re

from answer_grader.bank import load_bank

from .conftest import run


def test_list_shows_the_23_questions(bank_dir):
    result = run("list")
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["#", "id", "points"]
    assert len(lines) == 24
    for q in load_bank(bank_dir).questions:
        assert q.text in result.stdout
    assert "What are Large Language Models (LLMs) and how do they work?" in result.stdout


def test_list_json_and_topic_filter():
    everything = json.loads(run("list", "--format", "json").stdout)
    assert len(everything) == 23
    assert set(everything[0]) == {"number", "id", "question", "topics", "difficulty", "points"}
    topic = everything[3]["topics"][0]
    some = json.loads(run("list", "--topic", topic, "--format", "json").stdout)
    assert 1 <= len(some) < 23
    assert all(topic in q["topics"] for q in some)


def test_list_unknown_topic_is_a_usage_error():
    result = run("list", "--topic", "cooking")
    assert result.exit_code == 2
    assert "no question has topic 'cooking'" in result.stderr


def test_show_by_number_and_id():
    by_number = run("show", "4")
    assert by_number.exit_code == 0
    assert by_number.stdout.startswith("Question 4 (attention-mechanisms):")
    assert "Key points:" in by_number.stdout
    assert by_number.stdout == run("show", "attention-mechanisms").stdout
    assert "Reference answer:" not in by_number.stdout


def test_show_reference(bank_dir):
    result = run("show", "bert", "--reference")
    reference = (bank_dir / "reference_answers" / "bert.md").read_text("utf-8").strip()
    assert reference in result.stdout


def test_show_json_round_trips_the_rubric():
    data = json.loads(run("show", "5", "--format", "json").stdout)
    assert data["id"] == "positional-encodings" and len(data["key_points"]) >= 5


def test_unknown_question_suggests_closest():
    result = run("show", "atention-mechanism")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: no question 'atention-mechanism' in the bank; did you mean attention-mechanisms?"
    )


def test_unknown_number():
    result = run("show", "99")
    assert result.exit_code == 1
    assert "no question '99'" in result.stderr


def test_template_selected_questions(tmp_path):
    out = tmp_path / "sheet.md"
    result = run("template", "--questions", "1,4,bert", "--output", str(out))
    assert result.exit_code == 0
    sheet = out.read_text("utf-8")
    assert re.findall(r"^## Question (\d+)$", sheet, flags=re.M) == ["1", "4", "10"]
    assert "**Can you explain the concept of attention mechanisms in transformer models?**" in sheet
    assert sheet.count("**Answer:**") == 3
    assert sheet.count("\n---\n") == 3


def test_template_all_to_stdout():
    result = run("template")
    assert result.exit_code == 0
    assert result.stdout.count("## Question ") == 23


def test_template_unknown_question():
    result = run("template", "-q", "1,42")
    assert result.exit_code == 1
    assert "no question '42'" in result.stderr


def test_version():
    assert run("--version").stdout.startswith("grader, version ")
