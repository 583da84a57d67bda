"""answer-grader: grade interview answers point by point against expert rubrics.

    from answer_grader import load_bank, grade

    question = load_bank().get("4")
    report = grade(question, "Each token is projected into a query, a key and a value ...")
    print(report.score, [(p.id, p.verdict) for p in report.missed])

Names are imported on first use, so `import answer_grader` (and `grader --help`) stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# name -> the module that defines it
_EXPORTS = {
    # the bank and its questions
    "load_bank": "bank",
    "Bank": "bank",
    "Question": "models",
    "Rubric": "models",
    "KeyPoint": "models",
    "Misconception": "models",
    "RegexTerm": "models",
    # graders
    "grade": "grading",
    "grader_for": "grading",
    "Grader": "grading",
    "OfflineGrader": "offline",
    "LLMGrader": "llm",
    "Judge": "judge",
    "Settings": "config",
    "resolve_settings": "config",
    "Environment": "environment",
    # sheets
    "grade_sheet": "batch",
    "parse_sheet": "answers",
    # reports
    "GradeReport": "models",
    "PointResult": "models",
    "Evidence": "models",
    "SheetReport": "models",
    "render": "report",
    "render_sheet": "report",
    # errors
    "GraderError": "errors",
    "AnswerError": "errors",
    "BankNotFound": "errors",
    "ConfigError": "errors",
    "JudgeError": "errors",
    "OutputError": "errors",
    "PatternTimeout": "errors",
    "QuestionNotFound": "errors",
    "RubricError": "errors",
    "SheetError": "errors",
    "StoreError": "errors",
    "ExitCode": "errors",
}

# Written out (not sorted(_EXPORTS)) so that tools read it; a test keeps the two equal.
__all__ = [
    "AnswerError",
    "Bank",
    "BankNotFound",
    "ConfigError",
    "Environment",
    "Evidence",
    "ExitCode",
    "GradeReport",
    "Grader",
    "GraderError",
    "Judge",
    "JudgeError",
    "KeyPoint",
    "LLMGrader",
    "Misconception",
    "OfflineGrader",
    "OutputError",
    "PatternTimeout",
    "PointResult",
    "Question",
    "QuestionNotFound",
    "RegexTerm",
    "Rubric",
    "RubricError",
    "Settings",
    "SheetError",
    "SheetReport",
    "StoreError",
    "grade",
    "grade_sheet",
    "grader_for",
    "load_bank",
    "parse_sheet",
    "render",
    "render_sheet",
    "resolve_settings",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("answer-grader")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'answer_grader' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:  # for type checkers and editors: the same names, imported eagerly
    from .answers import parse_sheet
    from .bank import Bank, load_bank
    from .batch import grade_sheet
    from .config import Settings, resolve_settings
    from .environment import Environment
    from .errors import (
        AnswerError,
        BankNotFound,
        ConfigError,
        ExitCode,
        GraderError,
        JudgeError,
        OutputError,
        PatternTimeout,
        QuestionNotFound,
        RubricError,
        SheetError,
        StoreError,
    )
    from .grading import Grader, grade, grader_for
    from .judge import Judge
    from .llm import LLMGrader
    from .models import (
        Evidence,
        GradeReport,
        KeyPoint,
        Misconception,
        PointResult,
        Question,
        RegexTerm,
        Rubric,
        SheetReport,
    )
    from .offline import OfflineGrader
    from .report import render, render_sheet
