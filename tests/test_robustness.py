"""Every defect of the reliability review (../shared/reviews/reliability-review.md, tables A-D),
each as a test that failed before its fix. Case ids (A14, D2, ...) are the review's.

Commands run in subprocesses, as a person runs them, against files, devices, damaged data
folders and a scripted OpenAI-compatible server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from answer_grader.testing import FakeOpenAI, Reply, judgement_json, parse_request, rubric_responder

from .conftest import EXAMPLES
from .terminal import CLIPPING_REFERENCE, grader_env, plain, run_cli, run_tty, spawn

KEY = "sk-test-FAKEKEY1234567890"
ANSWER = (
    "Each token is projected into a query, a key and a value vector by learned matrices. The "
    "softmax of the scaled dot products of queries and keys gives weights over the values.\n"
)
SHEET = EXAMPLES / "answers.md"


def one_error_line(seen, pattern: str) -> str:  # type: ignore[no-untyped-def]
    """The command said exactly one thing on stderr, an Error: line matching `pattern`."""
    seen.assert_no_crash()
    lines = [line for line in plain(seen.err).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: ") and re.search(pattern, lines[0]), lines[0]
    return lines[0]


@pytest.fixture
def answer_file(tmp_path: Path) -> Path:
    path = tmp_path / "answer.md"
    path.write_text(ANSWER)
    return path


@pytest.fixture
def server():
    with FakeOpenAI() as srv:
        yield srv


def llm_env(server: FakeOpenAI, **extra: str) -> dict[str, str]:
    return grader_env(OPENAI_BASE_URL=server.url, OPENAI_API_KEY=KEY, **extra)


def _freeze(folder: Path, frozen: bool) -> None:
    """Make a folder read-only (or writable again): chmod for a normal user; `chattr +i` for
    root, whom permissions do not stop."""
    if os.geteuid() != 0:
        folder.chmod(0o555 if frozen else 0o755)
        return
    flag = "+i" if frozen else "-i"
    if shutil.which("chattr") is None or subprocess.run(["chattr", flag, str(folder)]).returncode:
        pytest.skip("running as root and cannot make a folder immutable here")


@pytest.fixture
def readonly(tmp_path: Path):
    """Freeze folders for the test; they are writable again afterwards, so pytest can clean up."""
    frozen: list[Path] = []

    def freeze(folder: Path) -> Path:
        _freeze(folder, True)
        frozen.append(folder)
        return folder

    yield freeze
    for folder in frozen:
        _freeze(folder, False)


@pytest.fixture
def readonly_dir(tmp_path: Path, readonly) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path / "readonly"
    folder.mkdir()
    return readonly(folder)


# -- A. bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "args", "kind"),
    [
        ("A8d", ["grade", "4", "/dev/zero"], "a device"),
        ("A8e", ["score", "/dev/urandom"], "a device"),
    ],
)
def test_devices_are_refused_at_once(case, args, kind):
    seen = run_cli(*args, timeout=30)
    assert seen.code == 1
    one_error_line(seen, rf"is {kind}, not a regular file")
    assert seen.seconds < 20


@pytest.mark.parametrize(("case", "command"), [("A14", "grade"), ("A14b", "score")])
def test_a_fifo_with_no_writer_is_refused_not_waited_on(case, command, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    args = ["grade", "4", str(fifo)] if command == "grade" else ["score", str(fifo)]
    seen = run_cli(*args, timeout=30)
    assert seen.code == 1
    one_error_line(seen, r"is a named pipe \(FIFO\), not a regular file; pipe it in with -")


def test_a_symlink_loop_is_named_as_such(tmp_path):  # A13
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    seen = run_cli("grade", "4", str(tmp_path / "a"))
    assert seen.code == 1
    one_error_line(seen, r"a loop of symbolic links")


@pytest.mark.parametrize(("case", "size"), [("A7e", 400_000), ("A7d", 4_800_000)])
def test_one_huge_answer_in_a_legal_sheet_is_refused_quickly(case, size, tmp_path):
    filler = "Attention uses softmax over scaled query key dot products. "
    sheet = tmp_path / "sheet.md"
    sheet.write_text(
        "## Question 4\n\n**Answer:** " + filler * (size // len(filler)) + "\n\n---\n\n"
        "## Question 5\n\n**Answer:** Transformers need positional encodings because attention "
        "itself is order-blind; sinusoidal, learned and rotary (RoPE) encodings are common.\n"
    )
    assert sheet.stat().st_size < 5_000_000  # under the sheet limit: the sheet itself is legal
    seen = run_cli("score", str(sheet), "--format", "json", timeout=90)
    seen.assert_no_crash()
    assert seen.code == 4  # one answer could not be graded
    rows = json.loads(seen.out)["rows"]
    assert rows[0]["status"] == "error" and "the limit is 20,000" in rows[0]["error"]
    assert rows[1]["status"] == "graded"  # the other answer is graded all the same
    # Before: 133 s for 400 KB, over 12 minutes for 4.8 MB.
    assert seen.seconds < 60


def test_sentence_splitting_is_linear_in_the_length():
    from answer_grader.text import split_sentences

    filler = "Attention uses softmax over scaled query key dot products. "
    start = time.perf_counter()
    sentences = split_sentences(filler * 7000)  # 420 KB in one paragraph
    assert len(sentences) == 7000
    assert time.perf_counter() - start < 30  # was over 2 minutes (quadratic)


@pytest.mark.parametrize(
    ("case", "heading", "number"),
    [("A12e", "## Question -1", -1), ("", "### Question #7", 7), ("", "# Question: 8a", 8)],
)
def test_odd_headings_start_their_own_entry(case, heading, number):
    from answer_grader.answers import parse_sheet

    entries = parse_sheet(f"## Question 0\n\n**Answer:** zero\n\n{heading}\n\n**Answer:** other\n")
    assert [(e.number, e.answer) for e in entries] == [(0, "zero"), (number, "other")]


def test_a_heading_like_sentence_inside_an_answer_is_not_a_question():
    from answer_grader.answers import parse_sheet

    (entry,) = parse_sheet("## Question 4\n\n**Answer:** one\n\n## Question answering\n\nmore\n")
    assert "## Question answering" in entry.answer


# -- A17: keyword regexes that backtrack catastrophically ------------------------------------------


@pytest.fixture
def redos_bank(bank_copy: Path) -> Path:
    rubric = bank_copy / "rubrics" / "attention-mechanisms.yaml"
    text = rubric.read_text()
    # The first keyword group of the first point gains the pathological alternative.
    text = text.replace("- [query, queries]", "- [{regex: '(a|aa)+$'}, query, queries]", 1)
    rubric.write_text(text)
    return bank_copy


def test_check_names_a_catastrophic_regex(redos_bank):  # A17d
    seen = run_cli("check", "--no-offline", "--bank", str(redos_bank), timeout=60)
    seen.assert_no_crash()
    assert seen.code == 1
    assert re.search(
        r"attention-mechanisms\.yaml: key_points\[0\]\.keywords\[0\]\[0\]\.regex: "
        r"/\(a\|aa\)\+\$/ backtracks catastrophically",
        seen.err,
    )


def test_grading_with_a_catastrophic_regex_stops_at_once(redos_bank, tmp_path):  # A17c
    answer = tmp_path / "a.txt"
    answer.write_text("a" * 40 + "!\n" + ANSWER)
    seen = run_cli("grade", "4", str(answer), "--bank", str(redos_bank), timeout=60)
    assert seen.code == 1
    assert "backtracks catastrophically" in seen.err
    assert seen.seconds < 30  # was a hang (killed after 30 s)


def test_a_slow_pattern_that_slips_through_is_stopped_while_grading():
    from answer_grader.errors import PatternTimeout
    from answer_grader.keywords import analyse, compile_term, find_term
    from answer_grader.models import RegexTerm
    from answer_grader.text import Sentence

    term = compile_term(RegexTerm(regex="(a|aa)+$"))
    start = time.perf_counter()
    with pytest.raises(PatternTimeout, match=r"/\(a\|aa\)\+\$/ took more than"):
        find_term(term, analyse(Sentence(0, "a" * 40 + "!", 1)))
    assert time.perf_counter() - start < 5


# -- A18, A19: data folders ---------------------------------------------------------------------


def test_a_history_with_a_dropped_table_is_one_line(isolated_env):  # A19g
    assert run_cli("history").code == 0  # creates a current history
    db = sqlite3.connect(isolated_env / "history.db")
    db.execute("DROP TABLE attempts")
    db.commit()
    db.close()
    for command in ("history", "stats"):
        seen = run_cli(command)
        assert seen.code == 1
        one_error_line(seen, r"history\.db: not a usable history: attempts.* missing")


@pytest.mark.slow
@pytest.mark.model  # the embedding store is opened (read-only) only for the real model
def test_a_read_only_data_folder(tmp_path, readonly, warm_vectors, answer_file):  # A18d-f
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(warm_vectors, home / "embeddings.db")  # filled before it was frozen
    env = grader_env(GRADER_HOME=str(readonly(home)))
    # Offline grading needs no write: it works.
    seen = run_cli("grade", "4", str(answer_file), env=env)
    seen.assert_no_crash()
    assert seen.code == 0 and re.search(r"Score [\d.]+/100", seen.out), seen.err
    # A sheet is graded without the cache, and says so.
    seen = run_cli("score", str(SHEET), env=env)
    assert seen.code == 0 and "grading without the cache" in seen.err
    # The history cannot be created: the advice is about the folder, not a healthy file.
    seen = run_cli("history", env=env)
    assert seen.code == 1
    line = one_error_line(seen, r"cannot be written")
    assert "move it aside" not in line


# -- A24, A35: settings that cannot work are usage errors --------------------------------------------


@pytest.mark.parametrize(
    ("case", "args", "env_extra"),
    [
        ("A24d", ["score", str(SHEET), "--fail-under", "nan"], {}),
        ("A35", ["grade", "4", "-", "--backend", "llm", "--base-url", "not a url"], {}),
        ("", ["grade", "4", "-", "--backend", "llm"], {"OPENAI_BASE_URL": "ftp://example.org/v1"}),
        ("", ["grade", "4", "-", "--timeout", "nan"], {}),
        ("", ["grade", "4", "-"], {"GRADER_TIMEOUT": "soon"}),
    ],
)
def test_settings_that_cannot_work_exit_2(case, args, env_extra):
    seen = run_cli(*args, stdin=ANSWER, env=grader_env(**env_extra))
    seen.assert_no_crash()
    assert seen.code == 2, seen.err


# -- A26: writing reports, sheets and banks -------------------------------------------------------


def test_a_report_that_cannot_be_written_goes_to_stdout():  # A26f
    seen = run_cli("score", str(SHEET), "--format", "markdown", "-o", "/dev/full")
    assert seen.code == 1
    one_error_line(
        seen,
        r"cannot write /dev/full: No space left on device; the report is on "
        r"standard output instead",
    )
    assert seen.out.startswith("# Answer sheet report")  # the grading is not lost


def test_a_report_into_a_read_only_folder(readonly_dir):  # A26c
    seen = run_cli("score", str(SHEET), "--format", "json", "-o", str(readonly_dir / "r.json"))
    assert seen.code == 1
    one_error_line(seen, r"cannot write .*r\.json: (Operation not permitted|Permission denied)")
    assert json.loads(seen.out)["totals"]["graded"] == 23
    assert list(readonly_dir.iterdir()) == []  # no temporary file left behind


def test_a_failed_write_leaves_the_old_report_whole(tmp_path, monkeypatch):
    from answer_grader.errors import OutputError
    from answer_grader.files import write_atomic

    target = tmp_path / "report.md"
    target.write_text("the old report\n")

    def fail(*a, **k):  # the disk fills up half-way
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OutputError, match="No space left"):
        write_atomic(target, "the new report\n" * 1000)
    assert target.read_text() == "the old report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


@pytest.mark.parametrize(
    ("case", "args"),
    [
        ("A26d", ["template", "-o", "{ro}/t.md"]),
        ("A26d", ["template", "-o", "/dev/full"]),
        (
            "A26e",
            [
                "new",
                "my-q",
                "--question",
                "What is attention?",
                "--reference",
                "{ref}",
                "--bank",
                "{ro}/bank",
            ],
        ),
    ],
)
def test_template_and_new_into_unwritable_places(case, args, readonly_dir, tmp_path):
    ref = tmp_path / "ref.md"
    ref.write_text(CLIPPING_REFERENCE)
    args = [a.format(ro=readonly_dir, ref=ref) for a in args]
    seen = run_cli(*args)
    assert seen.code == 1
    one_error_line(seen, r"cannot write ")


# -- B. LLM faults --------------------------------------------------------------------------------


@pytest.mark.slow
def test_html_with_200_is_not_graded_everywhere(server, answer_file):
    server.default = lambda request: Reply.html()
    env = llm_env(server)
    page = r"answered 200 with an HTML page, not a chat completion .*check the base URL"
    seen = run_cli("grade", "4", str(answer_file), env=env)
    assert seen.code == 4
    one_error_line(seen, page)

    seen = run_cli("score", str(SHEET), "--format", "json", env=env)
    seen.assert_no_crash()
    assert seen.code == 4
    rows = json.loads(seen.out)["rows"]
    assert {r["status"] for r in rows} == {"error"}
    assert all(re.search(page, r["error"]) for r in rows)

    seen = run_cli("config", "--test", env=env)
    assert seen.code == 1
    one_error_line(seen, "the connection test failed: the server answered 200 with an HTML page")

    child = spawn("practice", "-q", "4", env=env, timeout=60)
    child.expect("Type your answer")
    child.sendline(ANSWER.strip())
    child.sendline(".")
    child.expect("HTML page")
    child.expect(r"saved as attempt #1, ungraded")
    child.expect(r"\[q\]uit")
    child.sendline("q")
    child.expect(pexpect.EOF)
    assert "Traceback" not in plain(child.before)

    seen = run_cli("history", "--regrade", env=env)
    seen.assert_no_crash()
    assert seen.code == 4 and "HTML page" in seen.err
    (attempt,) = json.loads(run_cli("history", "--format", "json").out)
    assert attempt["status"] == "ungraded" and "HTML page" in attempt["error"]

    server.default = rubric_responder()  # fixed: the saved answer is graded
    seen = run_cli("history", "--regrade", env=env)
    assert seen.code == 0 and "Regraded 1 of 1 attempts." in seen.out


@pytest.mark.slow
def test_a_hung_server_costs_about_two_timeouts_and_says_so(server, answer_file):
    server.default = lambda request: Reply.completion("{}", delay=30)
    seen = run_cli("grade", "4", str(answer_file), "--timeout", "2", env=llm_env(server))
    assert seen.code == 4
    said = plain(seen.err).splitlines()
    assert said[0] == "Question 4: the server timed out (no reply within 2 s), retry 1 of 3 in 0.5 s"
    assert re.match(
        r"Error: could not grade: the server timed out .*gave up after 2 attempts in 4 s", said[-1]
    )
    assert seen.seconds < 4 * 1.5 + 3  # about twice the timeout in all, not four times (245 s before)
    # The environment variable does the same.
    seen = run_cli("grade", "4", str(answer_file), env=llm_env(server, GRADER_TIMEOUT="1"))
    assert seen.code == 4 and "no reply within 1 s" in seen.err and seen.seconds < 8


def test_waiting_is_announced(make_judge, fake_server, monkeypatch, bank):
    from answer_grader import judge as judge_module

    monkeypatch.setattr(judge_module, "WAIT_NOTICE", 0.3)
    q = bank.get("4")
    ids = [p.id for p in q.key_points]
    fake_server.push(Reply.completion(judgement_json(ids), delay=1.0))
    heard: list[str] = []
    make_judge(on_status=heard.append).judge(q, ANSWER)
    assert heard and heard[0] == "Question 4: waiting for the server: 0 s of 5 s"


@pytest.mark.slow
def test_a_connection_cut_midway_is_not_called_unreachable(server, answer_file):  # defect 21
    server.push(*[Reply(drop="midway", body={"padding": "x" * 1000})] * 4)
    seen = run_cli("grade", "4", str(answer_file), env=llm_env(server))
    assert seen.code == 4
    assert "the server closed the connection before answering; gave up after 4 attempts" in seen.err


def test_the_shorten_request_is_added_once(make_judge, fake_server, bank):  # defect 24
    q = bank.get("4")
    ids = [p.id for p in q.key_points]
    cut = Reply.completion('{"reasoning": "', finish_reason="length")
    fake_server.push(cut, cut, cut, Reply.completion(judgement_json(ids)))
    make_judge().judge(q, ANSWER)
    last = fake_server.requests[-1]["messages"]
    assert sum("Keep the reasoning under 80" in m["content"] for m in last) == 1


@pytest.mark.slow
def test_a_judgement_with_invented_quotes_is_not_cached(server, isolated_env):  # defect 20
    def fake_quotes(request):
        ids, _ = parse_request(request)
        return Reply.completion(
            judgement_json(ids, {i: ("covered", "A sentence that is nowhere in it.") for i in ids})
        )

    server.default = fake_quotes
    env = llm_env(server)
    sheet = isolated_env / "sheet.md"
    sheet.write_text("## Question 4\n\n**Answer:** " + ANSWER)
    assert run_cli("score", str(sheet), env=env).code == 0
    assert len(server.requests) == 1
    server.default = rubric_responder()
    assert run_cli("score", str(sheet), env=env).code == 0
    assert len(server.requests) == 2  # asked again, not replayed
    assert run_cli("score", str(sheet), env=env).code == 0
    assert len(server.requests) == 2  # a good judgement is replayed


# -- C. secrets -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_secrets_never_reach_messages_reports_cache_or_history(server, tmp_path, isolated_env):
    password = "S3CRETPW-hunter2"
    url = server.url.replace("http://", f"http://alice:{password}@")

    def echo(request):
        # A gateway that echoes the credentials: in an error first, then inside the grading.
        if len(server.requests) % 2:
            return Reply.error(400, "bad request from client with {authorization} " + KEY)
        ids, answer = parse_request(request)
        first = answer.split(".")[0] + "."
        return Reply.completion(
            judgement_json(ids, {ids[0]: ("covered", first)}, reasoning=f"key {KEY} {password}").replace(
                "About ", f"Key {KEY}, password {password}. About "
            )
        )

    server.default = echo
    env = grader_env(OPENAI_BASE_URL=url, OPENAI_API_KEY=KEY)
    reports = tmp_path / "reports"
    reports.mkdir()
    sheet = tmp_path / "sheet.md"
    sheet.write_text(
        "## Question 4\n\n**Answer:** " + ANSWER + "\n## Question 5\n\n**Answer:** "
        "Attention is order-blind, so positions are encoded, e.g. with RoPE rotations.\n"
    )
    outputs = []
    for fmt in ("json", "markdown", "junit", "text"):
        seen = run_cli(
            "score",
            str(sheet),
            "--record",
            "--no-cache",
            "--format",
            fmt,
            "-o",
            str(reports / f"r.{fmt}"),
            env=env,
        )
        outputs += [seen.out, seen.err]
    for fmt in ("json", "text"):
        seen = run_cli("grade", "4", "-", "--format", fmt, stdin=ANSWER, env=env)
        outputs += [seen.out, seen.err]
    seen = run_cli("config", env=env)
    assert "alice" not in seen.out and "[redacted]@127.0.0.1" in seen.out
    outputs += [seen.out, run_cli("config", "--test", env=env).err]
    outputs += [run_cli("history", "--format", "json", env=env).out]
    saved = [p.read_bytes() for p in [*reports.iterdir(), *isolated_env.iterdir()] if p.is_file()]
    assert any(b"history" in p.name.encode() for p in isolated_env.iterdir())
    for secret in (KEY, "FAKEKEY", password, "alice:"):
        for text in outputs:
            assert secret not in text
        for data in saved:
            assert secret.encode() not in data
    # The server did get the credentials and echo them: the test would prove nothing otherwise.
    assert server.headers and all(h.get("authorization") for h in server.headers)


def test_redaction_rules():
    from answer_grader.scrub import display_url, redact

    assert redact("key sk-abcdef123456 and Bearer abc.def-ghi") == (
        "key sk-[redacted] and Bearer [redacted]"
    )
    assert redact("https://bob:pw@host/v1 said my-secret-key", ["my-secret-key"]) == (
        "https://[redacted]@host/v1 said [redacted]"
    )
    assert display_url("http://u:p@127.0.0.1:8080/v1") == "http://[redacted]@127.0.0.1:8080/v1"
    assert display_url("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1"


# -- A22: control characters from answers, sheets and file names ----------------------------------

EVIL = "\x1b[31;1mRED\x1b[0m \x1b]0;PWNED\x07 \x1b[2J \x07 \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"
LEAKS = ("\x1b]0;", "PWNED\x07", "\x1b[2J", "\x07", "\x1b[31;1m", "\x1b]8;")


def _evil_answer(tmp_path: Path) -> Path:
    path = tmp_path / "evil.md"
    # Each sentence carries the escapes, so whichever is quoted as evidence carries them too.
    sentences = [s.strip().rstrip(".").split(" ", 3) for s in ANSWER.split(". ")]
    path.write_text(" ".join(f"{' '.join(w[:3])} {EVIL} {w[3]}." for w in sentences) + "\n")
    return path


def _no_leak(text: str) -> None:
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} reached the output"


def test_escape_sequences_in_an_answer_never_reach_a_terminal(tmp_path):  # A22f
    evil = _evil_answer(tmp_path)
    for fmt in ("text", "markdown"):
        seen = run_tty("grade", "4", str(evil), "--format", fmt)
        assert seen.code == 0 and "RED" in plain(seen.out)  # the words stay, the codes go
        _no_leak(seen.out)


def test_escape_sequences_never_reach_a_saved_markdown_report(tmp_path):  # A22g
    evil = _evil_answer(tmp_path)
    seen = run_cli("grade", "4", str(evil), "--format", "markdown")
    assert seen.code == 0 and "\u201c" in seen.out  # evidence is quoted
    _no_leak(seen.out)
    sheet = tmp_path / "sheet.md"
    sheet.write_text(f"## Question 4\n\n**{EVIL} question**\n\n**Answer:** " + evil.read_text())
    for fmt in ("text", "markdown", "junit"):
        _no_leak(run_cli("score", str(sheet), "--format", fmt).out)


def test_an_answer_is_graded_on_its_words_not_its_escape_codes(tmp_path, bank):
    from answer_grader.config import resolve_settings
    from answer_grader.grading import grade

    settings = resolve_settings(env={})
    evil = grade(bank.get("4"), _evil_answer(tmp_path).read_text(), settings)
    clean = grade(bank.get("4"), ANSWER, settings)
    assert [p.verdict for p in evil.points] == [p.verdict for p in clean.points]
    assert evil.score == clean.score > 0


def test_the_text_renderer_strips_what_rich_lets_through(bank):  # A22h
    from answer_grader.config import resolve_settings
    from answer_grader.grading import grade
    from answer_grader.report import render, to_text

    report = grade(bank.get("4"), ANSWER, resolve_settings(env={}))
    # A report whose strings carry escapes: a judge's feedback, a quote from an older grader.
    points = [
        p.model_copy(
            update={
                "feedback": f"Say more {EVIL}",
                "evidence": p.evidence and p.evidence.model_copy(update={"quote": EVIL}),
            }
        )
        for p in report.points
    ]
    report = report.model_copy(update={"points": points, "feedback": EVIL})
    _no_leak(to_text(report, color=True))
    _no_leak(render(report, "markdown"))
    assert "\\u001b" in render(report, "json")  # JSON keeps them, escaped as JSON does


def test_escape_sequences_in_a_file_name_are_not_echoed(tmp_path):  # A22i
    name = str(tmp_path / "\x1b]0;PWNED\x07\x1b[31;1mRED.txt")
    seen = run_tty("grade", "4", name)
    assert seen.code == 1
    _no_leak(seen.err)
    assert "RED.txt: no such file" in seen.err


def test_escape_sequences_typed_into_practice_are_not_printed_back():  # A22k
    child = spawn("practice", "-q", "4", codec_errors="replace")
    child.expect("Type your answer")
    # A terminal in canonical mode passes ESC through to the program as typed.
    child.sendline(ANSWER.split(". ")[0] + " \x1b]0;PWNED\x07 \x1b[2J.")
    child.sendline(".")
    child.expect(r"\[q\]uit")
    shown = child.before
    child.sendline("q")
    child.expect(pexpect.EOF)
    after_echo = shown.split("Saved as attempt", 1)[1]  # what grader printed, not the echo
    _no_leak(after_echo)


# -- D. crash safety ------------------------------------------------------------------------------


def _history_rows() -> list[dict]:
    return json.loads(run_cli("history", "--format", "json", "--limit", "1000").out)


@pytest.mark.slow
def test_kill_9_during_score_record_then_rerun_records_every_answer_once(server):  # D2
    server.default = rubric_responder(delay=0.5)
    env = llm_env(server)
    proc = subprocess.Popen(
        [sys.executable, "-m", "answer_grader.cli", "score", str(SHEET), "--record", "-j", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while len(server.requests) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert 0 < len(server.requests) < 23
    # Every answer was saved before grading began: the kill lost none of them.
    rows = _history_rows()
    assert len(rows) == 23
    server.default = rubric_responder()
    assert run_cli("score", str(SHEET), "--record", env=env).code == 0
    rows = _history_rows()
    assert len(rows) == 23 and all(r["status"] == "graded" for r in rows)
    assert len({(r["question_id"], r["answer"]) for r in rows}) == 23
    assert run_cli("score", str(SHEET), "--record", env=env).code == 0
    assert len(_history_rows()) == 23


def test_two_recording_runs_at_once_record_each_answer_once():  # D3
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "answer_grader.cli", "score", str(SHEET), "--record"],
            env=grader_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()  # type: ignore[union-attr]
    rows = _history_rows()
    assert len(rows) == 23 and all(r["status"] == "graded" for r in rows)


@pytest.mark.slow
def test_answers_score_could_not_grade_are_kept_for_regrade(server):  # defect 19
    server.default = lambda request: Reply.error(503, "overloaded")
    seen = run_cli("score", str(SHEET), "--record", "--timeout", "1", env=llm_env(server))
    assert seen.code == 4
    rows = _history_rows()
    assert len(rows) == 23 and all(r["status"] == "ungraded" and r["error"] for r in rows)
    seen = run_cli("history", "--regrade", "--backend", "offline")
    assert seen.code == 0 and "Regraded 23 of 23 attempts." in seen.out


class InterruptedWhileLoading:
    """An embedder whose loading is hit by Ctrl-C inside numpy's import, which wraps the
    KeyboardInterrupt in an ImportError."""

    name = "interrupted"

    def __init__(self) -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise ImportError("import numpy failed") from exc


def test_ctrl_c_during_the_first_import_of_numpy_exits_130(monkeypatch):  # D1c'
    from click.testing import CliRunner

    from answer_grader.cli import main

    monkeypatch.setenv("GRADER_EMBEDDER", f"{__name__}:InterruptedWhileLoading")
    result = CliRunner().invoke(main, ["grade", "4", "-"], input=ANSWER, catch_exceptions=False)
    assert result.exit_code == 130
    assert result.stderr.strip() == "Interrupted."


def _practice(*args: str, **kw) -> pexpect.spawn:  # type: ignore[no-untyped-def]
    return spawn("practice", *args, env=grader_env(TERM="dumb"), timeout=60, **kw)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_or_sighup_while_typing_keeps_a_draft(sig, code):  # D4b
    child = _practice("-q", "5")
    child.expect("Type your answer")
    child.sendline("Attention alone has no sense of word order.")
    child.expect("word order")
    time.sleep(0.5)
    child.kill(sig)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == code
    db = sqlite3.connect(Path(os.environ["GRADER_HOME"]) / "history.db")
    (draft,) = db.execute("SELECT question_id, text FROM drafts").fetchall()
    assert draft == ("positional-encodings", "Attention alone has no sense of word order.")


def test_ctrl_c_keeps_a_draft_when_sigint_was_inherited_ignored():  # issue 10, item 4
    # A CI runner's background job starts its children with SIGINT ignored; Python then leaves it
    # ignored, and Ctrl-C did nothing: the test waited 90 s on '.\r\n^C'.
    child = _practice("-q", "5", preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    child.expect("Type your answer")
    child.sendline("Attention alone has no sense of word order.")
    child.expect("word order")
    time.sleep(0.5)
    child.sendintr()
    child.expect("Draft of question 5 saved", timeout=20)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130


def test_a_line_typed_before_ctrl_c_survives_a_busy_machine():  # issue 10, item 4
    # The machine too busy to read the line before Ctrl-C arrives, made certain: the process is
    # stopped while the line and the interrupt are typed. A terminal flushes unread input on
    # Ctrl-C, so the line used to be lost.
    child = _practice("-q", "5")
    child.expect("Type your answer")
    time.sleep(0.5)  # inside input() now
    os.kill(child.pid, signal.SIGSTOP)
    child.sendline("Attention alone has no sense of word order.")
    child.expect("word order")
    child.sendintr()
    time.sleep(0.3)
    os.kill(child.pid, signal.SIGCONT)
    child.expect("Draft of question 5 saved", timeout=20)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    db = sqlite3.connect(Path(os.environ["GRADER_HOME"]) / "history.db")
    assert db.execute("SELECT text FROM drafts").fetchall() == [
        ("Attention alone has no sense of word order.",)
    ]


@pytest.mark.parametrize("kind", ["latin-1", "fifo", "device"])
def test_eval_data_that_is_not_a_utf8_regular_file_is_one_line(kind, tmp_path):
    path = tmp_path / "data.jsonl"
    if kind == "latin-1":
        path.write_bytes('{"question": "caf\xe9"}\n'.encode("latin-1"))
        expected = r"not UTF-8 text"
    elif kind == "fifo":
        os.mkfifo(path)
        expected = r"is a named pipe"
    else:
        path = Path("/dev/zero")
        expected = r"is a device"
    seen = run_cli("eval", str(path), timeout=30)
    assert seen.code == 1
    one_error_line(seen, expected)
