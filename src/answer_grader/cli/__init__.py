"""The `grader` command: parse arguments, call the library, render, map errors to exit codes.

One module per group of commands; each imports the library inside its commands, so that
`grader --help` stays fast.
"""

from __future__ import annotations

from . import bank, batches, evaluation, grading, history, practice, sheets  # noqa: F401 (they register)
from .app import main

__all__ = ["main"]
