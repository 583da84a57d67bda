"""`grader --help` must stay fast: it may not import the heavy libraries."""

import subprocess
import sys

import pytest

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
    answer.write_text("Each token is projected into a query, a key and a value vector.\n")
    probe = PROBE.replace('["--help"]', f'["grade", "4", {str(answer)!r}, "--format", "json"]')
    out = subprocess.run(
        [sys.executable, "-c", probe.format(heavy=HEAVY)], capture_output=True, text=True, check=True
    )
    seen = out.stdout.strip().splitlines()[-1].removeprefix("IMPORTED:").split(",")
    assert {"numpy", "onnxruntime", "tokenizers", "pysbd"} <= set(seen)
