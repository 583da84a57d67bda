"""`grader --help` must stay fast: it may not import the heavy libraries."""

import subprocess
import sys

import pytest

from .conftest import EXAMPLES

HEAVY = ("openai", "numpy", "onnxruntime", "tokenizers", "jsonschema", "rich", "pysbd")

PROBE = """
import sys
from answer_grader.cli import main
try:
    main(["--help"], prog_name="grader")
except SystemExit as exc:
    assert exc.code == 0, exc.code
print("IMPORTED:" + ",".join(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def test_help_imports_no_heavy_library():
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Usage: grader" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "IMPORTED:"


@pytest.mark.model
def test_the_probe_sees_a_command_that_does_load_them(tmp_path):
    """The probe works on our own code: a command that grades (offline) is seen importing the
    model's libraries, through the same main() the --help probe runs."""
    answer = tmp_path / "a.md"
    answer.write_text(
        "Each token is projected into a query, a key and a value vector. The softmax of the "
        "scaled dot products weighs the values.\n"
    )
    probe = PROBE.replace('["--help"]', f'["grade", "4", {str(answer)!r}, "--format", "json"]')
    out = subprocess.run(
        [sys.executable, "-c", probe.format(heavy=HEAVY)], capture_output=True, text=True, check=True
    )
    seen = out.stdout.strip().splitlines()[-1].removeprefix("IMPORTED:").split(",")
    assert {"numpy", "onnxruntime", "tokenizers", "pysbd"} <= set(seen)


CACHED_HEAVY = ("openai", "numpy", "onnxruntime", "tokenizers", "pysbd", "jsonschema", "yaml")


def _imported(args: list[str]) -> set[str]:
    probe = PROBE.replace('["--help"]', repr(args)).replace(
        "    assert exc.code == 0, exc.code", "    assert exc.code in (0, None), exc.code"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe.format(heavy=CACHED_HEAVY)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return set(filter(None, out.stdout.strip().splitlines()[-1].removeprefix("IMPORTED:").split(",")))


def test_a_cached_offline_run_imports_nothing_heavy():
    """Every answer in the grade cache: no model, no sentence splitter, no rubric validation."""
    sheet = str(EXAMPLES / "answers.md")
    first = _imported(["score", sheet, "--format", "json"])
    assert {"numpy", "pysbd"} <= first  # the probe sees a run that grades
    assert _imported(["score", sheet, "--format", "json"]) == set()


def test_a_cached_llm_run_imports_nothing_heavy(monkeypatch):
    from answer_grader.testing import FakeOpenAI, rubric_responder

    sheet = str(EXAMPLES / "answers.md")
    with FakeOpenAI(default=rubric_responder()) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        assert "openai" in _imported(["score", sheet])
        assert _imported(["score", sheet]) == set()
        assert len(server.requests) == 23  # the second run asked nothing
