"""`python -m answer_grader.cli`: the same as `grader`."""

import sys

from . import main

sys.exit(main(prog_name="grader"))
