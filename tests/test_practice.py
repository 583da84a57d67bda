"""`grader practice` driven in a real pseudo-terminal, and the history under it."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta

import pexpect
import pytest

from answer_grader.history import MIGRATIONS, History
from answer_grader.schedule import next_question, rating_for, review
from answer_grader.testing import FakeOpenAI, rubric_responder

from .conftest import run

ANSWER_LINES = [
    "Each token is projected into a query, a key and a value vector by learned matrices.",
    "The softmax of the scaled dot products of queries and keys gives weights over the values.",
]


def spawn(*args: str, env_extra: dict[str, str] | None = None) -> pexpect.spawn:
    # TERM=dumb: rich writes no escape codes, so the tests match plain text.
    from .terminal import spawn as spawn_grader

    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb", **(env_extra or {})}
    return spawn_grader(*args, env=env)


def type_answer(child: pexpect.spawn, lines: list[str]) -> None:
    child.expect("Type your answer")
    for line in lines:
        child.sendline(line)
    child.sendline(".")


def quit_practice(child: pexpect.spawn) -> None:
    """Choose "quit" at the menu and wait for the process to end."""
    child.expect(r"\[q\]uit")
    child.sendline("q")
    child.expect(pexpect.EOF)


def test_full_practice_loop(bank):
    child = spawn("practice", "--question", "4")
    child.expect("Can you explain the concept of attention mechanisms")
    type_answer(child, ANSWER_LINES)
    child.expect(r"Saved as attempt #1 \(answered in \d+s\)")
    child.expect(r"Score [\d.]+/100")
    child.expect("Next review of this question: in")
    child.expect(r"\[q\]uit")
    child.sendline("s")  # show the reference
    child.expect("Reference answer to question 4")
    child.expect("Bahdanau")
    child.expect(r"\[q\]uit")
    child.sendline("h")
    child.expect("Hint: one point you did not fully make concerns")
    child.expect(r"\[q\]uit")
    child.sendline("r")  # retry with a better answer
    type_answer(
        child,
        [
            *ANSWER_LINES,
            "In a decoder a causal mask stops a position from attending to later positions.",
        ],
    )
    child.expect(r"Saved as attempt #2")
    child.expect(r"Score [\d.]+/100")
    quit_practice(child)
    child.close()
    assert child.exitstatus == 0

    listed = json.loads(run("history", "--format", "json").stdout)
    assert [a["id"] for a in listed] == [2, 1]
    assert all(a["status"] == "graded" and a["question_id"] == "attention-mechanisms" for a in listed)
    assert listed[1]["answer"] == "\n".join(ANSWER_LINES)
    stats = run("stats").stdout
    row = next(line for line in stats.splitlines() if "attention-mechanisms" in line)
    assert row.split()[2] == "2"  # attempts
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row)  # next due date
    assert "2 attempts, 2 graded" in stats


def test_ctrl_c_keeps_a_draft_that_the_next_run_offers():
    child = spawn("practice", "--question", "5")
    child.expect("Type your answer")
    child.sendline("Attention alone has no sense of word order.")
    child.expect("word order")  # the terminal echoed it: the line was read
    child.sendintr()
    child.expect("Draft of question 5 saved")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert json.loads(run("history", "--format", "json").stdout) == []

    child = spawn("practice")
    child.expect(r"unfinished answer to question 5 \(positional-encodings\)")
    child.expect(r"Resume it\? \[Y/n\]")
    child.sendline("y")
    child.expect("Your draft so far")
    child.expect("Attention alone has no sense of word order.")
    child.sendline("RoPE rotates query and key vectors by position-dependent angles.")
    child.sendline(".")
    child.expect(r"Score [\d.]+/100")
    quit_practice(child)
    (attempt,) = json.loads(run("history", "--format", "json").stdout)
    assert attempt["answer"] == (
        "Attention alone has no sense of word order.\n"
        "RoPE rotates query and key vectors by position-dependent angles."
    )
    # The draft is gone once submitted.
    child = spawn("practice", "--question", "1")
    index = child.expect(["unfinished answer", "What are Large Language Models"])
    assert index == 1
    child.expect("Type your answer")
    child.sendeof()
    child.expect("Nothing typed: nothing saved.")
    quit_practice(child)


def test_killed_while_grading_keeps_the_answer_ungraded_then_regrade():
    with FakeOpenAI(default=rubric_responder(delay=60)) as server:
        child = spawn("practice", "--question", "4", env_extra={"OPENAI_BASE_URL": server.url})
        type_answer(child, ANSWER_LINES)
        child.expect(r"Saved as attempt #1 .* Grading \(llm\)")
        # Wait until the request is at the server: grading is under way.
        deadline = datetime.now() + timedelta(seconds=30)
        while not server.requests and datetime.now() < deadline:
            child.expect([pexpect.TIMEOUT], timeout=0.2)
        assert server.requests
        child.kill(signal.SIGKILL)
        child.close(force=True)
    (attempt,) = json.loads(run("history", "--format", "json").stdout)
    assert attempt["status"] == "ungraded" and attempt["answer"] == "\n".join(ANSWER_LINES)
    assert "ungraded" in run("history").stdout

    regraded = run("history", "--regrade", "--backend", "offline")
    assert regraded.exit_code == 0, regraded.stderr
    assert "Regraded 1 of 1 attempts." in regraded.stdout
    (attempt,) = json.loads(run("history", "--format", "json").stdout)
    assert attempt["status"] == "graded" and attempt["backend"] == "offline"


@pytest.mark.slow
def test_grading_failure_keeps_the_attempt(monkeypatch):
    child = spawn(
        "practice", "--question", "4", "--backend", "llm", "--base-url", "http://127.0.0.1:9/v1"
    )
    type_answer(child, ANSWER_LINES)
    child.expect("could not grade: the server is unreachable")
    child.expect(r"saved as attempt #1, ungraded")
    quit_practice(child)
    (attempt,) = json.loads(run("history", "--format", "json").stdout)
    assert attempt["status"] == "ungraded" and "unreachable" in attempt["error"]


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from answer_grader.history import History
    h = History(Path(sys.argv[1]))
    for i in range(int(sys.argv[2])):
        h.add_attempt("attention-mechanisms", f"{sys.argv[3]} answer {i}", source=sys.argv[3])
""")


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    db = tmp_path / "history.db"
    history = History(db)
    # What lets them share the file: WAL (a reader never waits for a writer) and a writer that
    # waits for the other's transaction instead of failing at once.
    assert history.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert history.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 30_000
    history.close()
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(db), "300", name])
        for name in ("practice", "score:x.md")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    attempts = History(db).attempts()
    assert len(attempts) == 600
    assert len({a.id for a in attempts}) == 600
    assert {a.source for a in attempts} == {"practice", "score:x.md"}


def test_an_older_history_file_is_migrated(tmp_path, monkeypatch):
    db = tmp_path / "history.db"
    monkeypatch.setattr("answer_grader.history.MIGRATIONS", MIGRATIONS[:1])
    old = History(db)
    old.db.execute(
        "INSERT INTO attempts (question_id, answer, submitted) VALUES (?, ?, ?)",
        ("bert", "an old answer", "2025-01-01T00:00:00+00:00"),
    )
    old.close()
    monkeypatch.undo()

    new = History(db)
    assert new.migrate() == []  # all applied on open
    names = [r[0] for r in new.db.execute("SELECT name FROM _migrations ORDER BY rowid")]
    assert names == [name for name, _ in MIGRATIONS]
    (attempt,) = new.attempts()
    assert attempt.answer == "an old answer" and attempt.source == "practice"


def test_ratings_from_scores():
    from fsrs import Rating

    assert [rating_for(s) for s in (0, 39.9, 40, 64, 65, 84.9, 85, 100)] == [
        Rating.Again,
        Rating.Again,
        Rating.Hard,
        Rating.Hard,
        Rating.Good,
        Rating.Good,
        Rating.Easy,
        Rating.Easy,
    ]


def test_next_question_order(tmp_path, bank):
    h = History(tmp_path / "h.db")
    questions = list(bank.questions)
    assert next_question(questions, h)[0].number == 1  # nothing attempted: list order
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    for q, score in ((questions[0], 90), (questions[1], 20)):
        h.record_grade(h.add_attempt(q.id, "x", submitted=t0), _fake_report(q, score))
        review(h, q.id, score, when=t0)
    q, why = next_question(questions, h, when=t0 + timedelta(minutes=1))
    assert (q.number, why) == (3, "not attempted yet")
    q, why = next_question(questions, h, when=t0 + timedelta(days=3))
    assert (q.number, why) == (2, "due for review")  # the weak one comes back first
    assert h.due_dates()[questions[0].id] > h.due_dates()[questions[1].id]


def _fake_report(q, score):
    from answer_grader.models import GradeReport

    return GradeReport(
        question_id=q.id,
        question_number=q.number,
        question=q.text,
        backend="offline",
        grader="test",
        model="m",
        score=score,
        uncapped_score=score,
        confidence="medium",
        points=[],
        answer_words=10,
    )


def test_score_records_in_the_history_only_with_record_and_each_answer_once(tmp_path):
    from pathlib import Path

    sheet = Path(__file__).parent.parent / "examples" / "answers.md"
    run("score", str(sheet))  # an instructor's run: nothing joins their own history
    assert json.loads(run("history", "--format", "json").stdout) == []
    run("score", str(sheet), "--record")
    listed = json.loads(run("history", "--format", "json", "--limit", "100").stdout)
    assert len(listed) == 23 and all(a["source"] == f"score:{sheet}" for a in listed)
    assert all(a["status"] == "graded" for a in listed)
    # Again, from the cache and without it: the same answers from the same file are not re-added.
    run("score", str(sheet), "--record")
    run("score", str(sheet), "--record", "--no-cache")
    assert len(json.loads(run("history", "--format", "json", "--limit", "100").stdout)) == 23


@pytest.mark.parametrize("command", ["history", "stats"])
def test_empty_history(command):
    assert "No attempts yet" in run(command).stdout


def test_editor_mode(tmp_path):
    editor = tmp_path / "fake-editor"
    answer = " ".join(ANSWER_LINES)
    editor.write_text(f"#!{sys.executable}\nimport sys\nopen(sys.argv[1], 'w').write({answer!r})\n")
    editor.chmod(0o755)
    child = spawn("practice", "-q", "4", "--editor", env_extra={"EDITOR": str(editor)})
    child.expect(r"Saved as attempt #1")
    child.expect(r"Score [\d.]+/100")
    quit_practice(child)
    (attempt,) = json.loads(run("history", "--format", "json").stdout)
    assert attempt["answer"] == answer


def test_regrading_an_old_attempt_does_not_rewind_the_schedule(tmp_path, bank):
    h = History(tmp_path / "h.db")
    q = bank.get("4")
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    due = review(h, q.id, 90, when=t0 + timedelta(days=5))
    assert review(h, q.id, 5, when=t0) == due  # older than the last review: ignored
    assert h.due_dates()[q.id] == due
