"""Every kind of rubric error: a line per problem naming file and field, exit 1, no traceback."""

import re
from pathlib import Path

import pytest
import yaml

from .conftest import run

RUBRIC = "rubrics/attention-mechanisms.yaml"


def edit(bank: Path, rel: str, old: str, new: str, count: int = 1) -> None:
    path = bank / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def check_fails(bank: Path, *expected: str) -> str:
    # The offline grader's pass is tested in test_check.py; these tests are about the files.
    result = run("check", "--no-offline", "--bank", str(bank))
    assert result.exit_code == 1, result.stdout
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in result.stderr, f"{text!r} not in:\n{result.stderr}"
    return result.stderr


def first_point_line(bank: Path, rel: str = RUBRIC) -> str:
    text = (bank / rel).read_text(encoding="utf-8")
    return re.search(r"^(\s*)- id: .*$", text, flags=re.M).group(0)


def test_yaml_syntax_error(bank_copy):
    edit(bank_copy, RUBRIC, "key_points:", "key_points: [unclosed")
    check_fails(bank_copy, RUBRIC, "YAML syntax error", "line ")


def test_unknown_field(bank_copy):
    line = first_point_line(bank_copy)
    indent = " " * (len(line) - len(line.lstrip()) + 2)
    edit(bank_copy, RUBRIC, line, f"{line}\n{indent}colour: blue")
    check_fails(bank_copy, RUBRIC, "key_points[0].colour", "unknown field")


def test_unknown_top_level_field(bank_copy):
    edit(bank_copy, RUBRIC, "difficulty:", "author: me\ndifficulty:")
    check_fails(bank_copy, RUBRIC, "author: unknown field")


def test_wrong_type(bank_copy):
    edit(bank_copy, RUBRIC, "number: 4", "number: four")
    check_fails(bank_copy, RUBRIC, "number: 'four' is not of type 'integer'")


def rewrite(bank: Path, change, rel: str = RUBRIC) -> None:
    """Load the rubric as data, change it, write it back as YAML."""
    path = bank / rel
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_wrong_type_deep(bank_copy):
    rewrite(bank_copy, lambda d: d["key_points"][2].update(weight="heavy"))
    check_fails(bank_copy, RUBRIC, "key_points[2].weight: 'heavy' is not of type 'number'")


def test_out_of_range(bank_copy):
    rewrite(bank_copy, lambda d: d["key_points"][1].update(weight=0))
    check_fails(bank_copy, RUBRIC, "key_points[1].weight", "less than or equal to the minimum")


def test_wrong_enum(bank_copy):
    rewrite(bank_copy, lambda d: d.update(difficulty="easy"))
    check_fails(bank_copy, RUBRIC, "difficulty: 'easy' is not one of")


def test_boolean_keyword_gets_a_hint(bank_copy):
    edit(bank_copy, RUBRIC, "keywords:\n", "keywords:\n      - [no]\n")
    check_fails(bank_copy, RUBRIC, "keywords[0][0]", "quote it")


def test_missing_required_field(bank_copy):
    text = (bank_copy / RUBRIC).read_text(encoding="utf-8")
    (bank_copy / RUBRIC).write_text(re.sub(r"^difficulty:.*\n", "", text, flags=re.M), "utf-8")
    check_fails(bank_copy, RUBRIC, "difficulty: required field is missing")


def test_too_few_key_points(bank_copy):
    path = bank_copy / RUBRIC
    text = path.read_text(encoding="utf-8")
    head, points = text.split("key_points:", 1)
    items = re.split(r"(?m)^(?=\s*- id: )", points)
    kept = "".join(items[:3])  # the text before the first item, and two points
    tail = points[points.find("misconceptions:") :] if "misconceptions:" in points else ""
    path.write_text(f"{head}key_points:{kept}{tail}", encoding="utf-8")
    check_fails(bank_copy, RUBRIC, "key_points:", "too short")


def test_duplicate_point_id(bank_copy):
    text = (bank_copy / RUBRIC).read_text(encoding="utf-8")
    ids = re.findall(r"^\s*- id: (\S+)$", text, flags=re.M)
    edit(bank_copy, RUBRIC, f"- id: {ids[1]}\n", f"- id: {ids[0]}\n")
    check_fails(bank_copy, RUBRIC, "key_points[1].id", f"duplicate id '{ids[0]}'")


def test_duplicate_question_id(bank_copy):
    src = bank_copy / RUBRIC
    (bank_copy / "rubrics" / "attention-mechanisms.yml").write_text(src.read_text("utf-8"), "utf-8")
    stderr = check_fails(bank_copy, "duplicate id 'attention-mechanisms'", "number 4 is used by 2")
    assert "rubrics/attention-mechanisms.yml" in stderr


def test_id_differs_from_file_name(bank_copy):
    edit(bank_copy, RUBRIC, "id: attention-mechanisms", "id: attention")
    check_fails(bank_copy, f"{RUBRIC}: id: 'attention' differs from the file name")


def test_duplicate_yaml_key(bank_copy):
    edit(bank_copy, RUBRIC, "difficulty:", "topics: [x]\ndifficulty:")
    check_fails(bank_copy, RUBRIC, "duplicate key 'topics'")


def test_bad_slug(bank_copy):
    edit(bank_copy, RUBRIC, "topics: [", "topics: [Not A Slug, ")
    check_fails(bank_copy, RUBRIC, "topics[0]", "does not match")


def test_invalid_regex(bank_copy):
    edit(bank_copy, RUBRIC, "keywords:\n", "keywords:\n      - [{regex: 'a(b'}]\n")
    check_fails(bank_copy, RUBRIC, "keywords[0][0].regex", "invalid regular expression")


def test_missing_reference_answer(bank_copy):
    (bank_copy / "reference_answers" / "attention-mechanisms.md").unlink()
    check_fails(bank_copy, RUBRIC, "missing reference answer reference_answers/attention-mechanisms.md")


def test_orphaned_reference_answer(bank_copy):
    (bank_copy / "reference_answers" / "stray.md").write_text("An answer without a rubric.", "utf-8")
    check_fails(bank_copy, "reference_answers/stray.md", "orphaned")


def test_number_gap(bank_copy):
    edit(bank_copy, "rubrics/zero-and-few-shot.yaml", "number: 23", "number: 24")
    check_fails(bank_copy, "rubrics/", "numbers must run 1..23 without gaps; missing [23]")


def test_non_utf8_rubric(bank_copy):
    (bank_copy / RUBRIC).write_bytes(b"id: caf\xe9\n")
    check_fails(bank_copy, RUBRIC, "not valid UTF-8")


def test_several_problems_one_line_each(bank_copy):
    edit(bank_copy, RUBRIC, "number: 4", "number: four")
    (bank_copy / "reference_answers" / "bert.md").unlink()
    stderr = check_fails(bank_copy, RUBRIC, "rubrics/bert.yaml")
    problem_lines = [ln for ln in stderr.splitlines() if ln.startswith("Error: rubrics/")]
    assert len(problem_lines) == 2


@pytest.mark.parametrize("command", [["list"], ["show", "4"], ["template"]])
def test_other_commands_refuse_a_malformed_bank(bank_copy, command):
    edit(bank_copy, RUBRIC, "number: 4", "number: four")
    result = run(*command, "--bank", str(bank_copy))
    assert result.exit_code == 1
    assert f"Error: {RUBRIC}: number:" in result.stderr


def test_bank_without_rubrics_folder(tmp_path):
    result = run("list", "--bank", str(tmp_path))
    assert result.exit_code == 1
    assert "no question bank at" in result.stderr and "--bank" in result.stderr
