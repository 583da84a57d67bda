"""`grader --help` must stay fast: it may not import the heavy libraries."""

import subprocess
import sys

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


def test_probe_detects_an_import():
    """The probe itself works: a command that does import a heavy library is seen."""
    probe = "import sys, jsonschema; print(','.join(m for m in ('jsonschema',) if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "jsonschema"
