"""The terminal tier: every command run as a person runs it, with stdout and stderr on real
pseudo-terminals 100 columns wide (and, separately, piped), asserting on what they see.

A green in-process suite once hid a traceback that every terminal user hit (click 8.5 removed
`click.get_terminal_size`); these tests run the installed entry point in a subprocess instead.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pexpect
import pytest

from .conftest import EXAMPLES
from .terminal import CLIPPING_REFERENCE, COLUMNS, grader_env, plain, run_piped, run_tty, spawn

ANSWER = (
    "Attention lets each token weigh every other token of the sequence. Each token is projected "
    "into a query, a key and a value vector by learned matrices. The softmax of the scaled dot "
    "products of queries and keys gives weights over the values, and the output is their "
    "weighted sum.\n"
)
SHEET = EXAMPLES / "answers.md"


@pytest.fixture
def answer_file(tmp_path: Path) -> Path:
    path = tmp_path / "my-answer.md"
    path.write_text(ANSWER)
    return path


def _lines_fit(text: str) -> None:
    # A line may be wider only if it is one word (a long path) that nothing could break.
    too_wide = [line for line in text.splitlines() if len(line) > COLUMNS and len(line.split()) > 1]
    assert not too_wide, f"{len(too_wide)} lines wider than the terminal: {too_wide[:2]}"


def _commands(tmp_path: Path, answer_file: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Each command, and what a person must see in its output (regular expressions)."""
    ref = tmp_path / "ref.md"
    ref.write_text(CLIPPING_REFERENCE)
    data = Path(__file__).parent / "data" / "eval_small.jsonl"
    return {
        "list": (["list"], [r"attention-mechanisms", r"#\s+id\s+points"]),
        "show": (["show", "4"], [r"Question 4 \(attention-mechanisms\)", r"Key points:"]),
        "template": (["template", "-q", "1,4"], [r"## Question 4", r"\*\*Answer:\*\*"]),
        "grade": (
            ["grade", "4", str(answer_file)],
            [r"Score [\d.]+/100", r"Each token is projected", r"Graded by offline grader"],
        ),
        "score": (
            ["score", str(SHEET)],
            [r"mean score [\d.]+/100 over 23 graded answers", r"Question 4 \u00b7 attention"],
        ),
        "history": (["history"], [r"No attempts yet"]),
        "stats": (["stats"], [r"No attempts yet"]),
        "eval": (["eval", str(data)], [r"\d+ rows", r"offline grader", r"unigram overlap"]),
        "new": (
            [
                "new",
                "grad-clip",
                "--question",
                "What is gradient clipping?",
                "--reference",
                str(ref),
                "--bank",
                str(tmp_path / "mybank"),
            ],
            [r"Wrote .*grad-clip\.yaml \(\d key points\)"],
        ),
        "check": (["check"], [r"OK: 23 questions, \d+ key points, all covered"]),
        "config": (["config"], [r"backend\s+offline", r"api_key\s+\(not set\)"]),
        "batch": (["batch", "status"], [r"No saved batches"]),
    }


COMMANDS = [
    "list",
    "show",
    "template",
    "grade",
    "score",
    "history",
    "stats",
    "eval",
    "new",
    "check",
    "config",
    "batch",
]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_in_a_terminal(name, tmp_path, answer_file):
    args, expected = _commands(tmp_path, answer_file)[name]
    seen = run_tty(*args)
    seen.assert_no_crash()
    assert seen.code == 0, seen.err_text
    joined = " ".join(seen.text.split())  # a message wrapped to the terminal reads as one line
    for pattern in expected:
        assert re.search(pattern, joined), f"{pattern!r} not in:\n{seen.text[:3000]}"
    _lines_fit(seen.text)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_piped(name, tmp_path, answer_file):
    args, expected = _commands(tmp_path, answer_file)[name]
    seen = run_piped(*args)
    seen.assert_no_crash()
    assert seen.code == 0, seen.err
    for pattern in expected:
        assert re.search(pattern, seen.out), f"{pattern!r} not in:\n{seen.out[:3000]}"
    # No colour, cursor movement or progress bar in a pipe or a log.
    assert "\x1b" not in seen.out and "\x1b" not in seen.err
    assert "\u2501" not in seen.err  # the bar's line character


def test_grade_in_a_terminal_is_coloured_and_reads_its_width(answer_file):
    seen = run_tty("grade", "4", str(answer_file))
    assert seen.code == 0
    assert "\x1b[" in seen.out  # colour: it is a terminal, and NO_COLOR is not set
    # The table spans the terminal's 100 columns (found from the terminal: COLUMNS is unset).
    widest = max(len(line) for line in seen.text.splitlines())
    assert widest == COLUMNS
    assert seen.err == ""


def test_no_color_is_honoured_in_a_terminal(answer_file):
    seen = run_tty("grade", "4", str(answer_file), env=grader_env(NO_COLOR="1"))
    assert seen.code == 0 and re.search(r"Score [\d.]+/100", seen.text)
    assert not re.search(r"\x1b\[[0-9;]*m", seen.out)


def test_grade_reads_a_piped_answer_while_its_output_is_a_terminal():
    seen = run_tty("grade", "4", "-", stdin=ANSWER)
    assert seen.code == 0 and re.search(r"Score [\d.]+/100", seen.text)


def test_score_progress_bar_goes_to_stderr_only_when_it_is_a_terminal():
    # stdout piped (a report saved with >), stderr a terminal: the bar is shown there.
    seen = run_tty("score", str(SHEET), stdout_tty=False)
    assert seen.code == 0
    assert "grading" in seen.err_text and "100%" in seen.err_text
    assert "\x1b" not in seen.out and "grading" not in seen.out
    assert re.search(r"mean score [\d.]+/100", seen.out)
    # stderr piped too (CI): no bar at all.
    seen = run_tty("score", str(SHEET), stdout_tty=True, stderr_tty=False)
    assert seen.code == 0 and seen.err == ""
    assert re.search(r"mean score [\d.]+/100", seen.text)


def test_history_and_stats_in_a_terminal_after_a_recorded_sheet():
    assert run_piped("score", str(SHEET), "--record").code == 0
    seen = run_tty("history", "-n", "30")
    seen.assert_no_crash()
    assert seen.code == 0
    rows = [line for line in seen.text.splitlines() if line.startswith("#")]
    assert len(rows) == 23 and all("score:" in r for r in rows)
    seen = run_tty("stats")
    seen.assert_no_crash()
    assert seen.code == 0 and "23 attempts, 23 graded" in seen.text
    _lines_fit(seen.text)


def test_bad_input_in_a_terminal_is_one_line(tmp_path):
    for args, message in [
        (["grade", "4", str(tmp_path / "nope.md")], r"^Error: .*nope\.md: no such file$"),
        (["grade", "atenshun", str(SHEET)], r"^Error: no question 'atenshun' in the bank"),
        (["score", str(tmp_path)], r"is a directory, not a file$"),
    ]:
        seen = run_tty(*args)
        seen.assert_no_crash()
        assert seen.code == 1
        lines = seen.err_text.strip().splitlines()
        assert len(lines) == 1 and re.search(message, lines[0]), lines
        assert seen.out == ""


def test_usage_errors_in_a_terminal_exit_2():
    for args in (["score", str(SHEET), "--fail-under", "nan"], ["grade"], ["frobnicate"]):
        seen = run_tty(*args)
        seen.assert_no_crash()
        assert seen.code == 2, (args, seen.err_text)
        assert "Usage:" in seen.err_text


def test_practice_in_a_colour_terminal():
    child = spawn("practice", "-q", "4")
    child.expect("Type your answer")
    for line in ANSWER.strip().split(". "):
        child.sendline(line.rstrip(".") + ".")
    child.sendline(".")
    child.expect(r"Score")
    child.expect(r"\[q\]uit")
    seen = plain(child.before)
    assert re.search(r"[\d.]+/100", seen) and "Each token is projected" in seen
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in plain(child.before or "")
    (attempt,) = json.loads(run_piped("history", "--format", "json").out)
    assert attempt["status"] == "graded"


def test_help_of_every_command_fits_and_names_exit_codes():
    seen = run_tty("--help")
    assert seen.code == 0 and "130" in seen.text and "Exit status" in seen.text
    for name in [*COMMANDS, "practice"]:
        seen = run_tty(name, "--help")
        seen.assert_no_crash()
        assert seen.code == 0 and "Usage: grader" in seen.text
        _lines_fit(seen.text)


def test_score_help_says_history_is_opt_in():
    text = " ".join(run_piped("score", "--help").out.split())
    assert "--record" in text and "Nothing is added to your practice history unless --record" in text


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX")
def test_terminal_helper_sees_a_crash():
    # The tier's own check must catch a traceback, or every test above proves nothing.
    from .terminal import Seen

    with pytest.raises(AssertionError, match="shows a crash"):
        Seen(
            1, "", "Traceback (most recent call last):\n  ...\nAttributeError: x\n", 0
        ).assert_no_crash()
