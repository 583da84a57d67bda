"""The public library: what `from answer_grader import ...` offers, and the README's example."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import answer_grader
from answer_grader.testing import FakeOpenAI, Reply, rubric_responder

ROOT = Path(__file__).parent.parent


def test_every_exported_name_resolves_and_all_is_complete():
    assert answer_grader.__all__ == sorted(answer_grader._EXPORTS)
    for name in answer_grader.__all__:
        assert getattr(answer_grader, name) is not None, name
    with pytest.raises(AttributeError):
        answer_grader.no_such_thing  # noqa: B018


def test_importing_the_library_loads_nothing_heavy():
    probe = (
        "import sys, answer_grader; from answer_grader import load_bank, grade, Question;"
        "print(sorted(m for m in ('numpy', 'onnxruntime', 'openai', 'tokenizers') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_readme_example_runs_as_written():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## From Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=os.environ
    )
    assert done.returncode == 0, done.stderr
    first, *_, last = done.stdout.strip().splitlines()
    assert re.fullmatch(r"[\d.]+ (low|medium) offline grader: .*", first)
    assert float(last) > 0  # the example sheet's mean score


@pytest.mark.model
def test_a_question_built_in_code_needs_no_bank_rules():
    from answer_grader import Question, grade

    q = Question.create(
        "What is dropout?",
        "Dropout randomly zeroes units during training so the network cannot rely on one.",
        [{"id": "zeroing", "text": "Dropout zeroes random units.", "keywords": [["zero"]]}],
        topics=["Deep Learning"],  # not a slug: fine outside a bank's files
    )
    assert len(q.key_points) == 1
    report = grade(q, "During training, dropout sets a random subset of activations to zero.")
    assert report.points[0].verdict == "covered"


def test_both_graders_are_graders(bank):
    from answer_grader import Grader, LLMGrader, OfflineGrader

    class FakeJudge:
        model = "m"

    assert isinstance(OfflineGrader(), Grader)
    assert isinstance(LLMGrader(FakeJudge()), Grader)
    assert OfflineGrader().version != LLMGrader(FakeJudge()).version


def test_the_llm_grader_runs_its_own_concurrency_and_keeps_order(bank, make_judge, fake_server):
    from answer_grader import JudgeError, LLMGrader

    fake_server.default = rubric_responder(delay=0.3)
    questions = list(bank.questions)[:6]
    answers = [q.reference_answer for q in questions]
    answers[2] = "Attention weighs tokens by relevance to each other. " * 3  # judged too
    # One request fails for good: its answer's error stays in its place.
    fake_server.push(*[Reply.error(400, "no")])
    heard: list[int] = []
    grader = LLMGrader(make_judge())
    results = grader.grade_many(
        list(zip(questions, answers, strict=True)), jobs=3, on_done=lambda i, r: heard.append(i)
    )
    assert len(results) == 6 and sorted(heard) == list(range(6))
    errors = [r for r in results if isinstance(r, JudgeError)]
    assert len(errors) == 1
    graded = [r for r in results if not isinstance(r, JudgeError)]
    assert [r.question_id for r in graded] == [
        q.id for q, r in zip(questions, results, strict=True) if r in graded
    ]
    assert fake_server.max_in_flight == 3  # requests ran 3 at a time, as asked


def test_grade_sheet_grades_a_sheet_offline():
    from answer_grader import grade_sheet

    report = grade_sheet((ROOT / "examples" / "answers.md").read_text())
    assert report.totals.graded == 23 and report.backend == "offline"


def test_a_fake_server_is_fine_for_the_library_too():
    with FakeOpenAI(default=rubric_responder()) as server:
        from answer_grader import grader_for, load_bank, resolve_settings

        settings = resolve_settings(backend="llm", base_url=server.url, env={})
        report = grader_for(settings).grade(load_bank().get("4"), load_bank().get("4").reference_answer)
        assert report.backend == "llm" and len(server.requests) == 1
