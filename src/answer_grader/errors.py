"""Error types. Each carries its facts as attributes; the CLI makes it a line and an exit code."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses of `grader`, documented in `grader --help` and the README."""

    OK = 0
    ERROR = 1  # runtime error: bad bank, unreadable file, grading failed
    USAGE = 2  # misuse: unknown option, bad argument (click's own code)
    BELOW_THRESHOLD = 3  # graded, but the score is below --fail-under
    NOT_GRADED = 4  # the grader itself failed (LLM unreachable, invalid output): no score given
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT); SIGHUP and SIGTERM give 129 and 143


class GraderError(Exception):
    """Base of every error the CLI reports as one clear line instead of a traceback."""

    exit_code: ExitCode = ExitCode.ERROR

    def lines(self) -> list[str]:
        """The message, one problem per line."""
        return [str(self)]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file of the bank, at a field path such as `key_points[2].weight`."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class RubricError(GraderError):
    """The bank has problems: malformed rubric files, missing or orphaned reference answers."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"the question bank has {len(problems)} {noun}")

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class BankNotFound(GraderError):
    """The bank directory does not exist or has no rubrics/ folder."""

    def __init__(self, path: str, source: str):
        self.path = path
        self.source = source
        super().__init__(f"no question bank at {path} (from {source}): expected a rubrics/ folder")


class QuestionNotFound(GraderError):
    """No question matches an id or number; carries the closest ids as suggestions."""

    def __init__(self, query: str, suggestions: list[str]):
        self.query = query
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"no question {query!r} in the bank{hint}")


class CheckFailed(GraderError):
    """`grader check` found problems: invalid files, or key points their reference lacks."""

    def __init__(self, failures: list[str]):
        self.failures = failures
        noun = "problem" if len(failures) == 1 else "problems"
        super().__init__(f"the check failed with {len(failures)} {noun}")

    def lines(self) -> list[str]:
        return [*self.failures, str(self)]


class ConfigError(GraderError):
    """The settings cannot work together (an unknown backend, the LLM judge with no key or URL)."""

    exit_code = ExitCode.USAGE


class StoreError(GraderError):
    """The user data directory or one of its databases is unusable."""


class ConnectionTestFailed(GraderError):
    """`grader config --test` got no good answer from the server."""


class AnswerError(GraderError):
    """The answer cannot be graded as given: missing, unreadable, empty or too long."""


class JudgeError(GraderError):
    """The LLM judge could not grade the answer. Reported as "could not grade", never as a 0."""

    exit_code = ExitCode.NOT_GRADED

    def __init__(self, message: str, *, attempts: int = 0, cause: str | None = None):
        self.message = message
        self.attempts = attempts
        self.cause = cause
        super().__init__(f"could not grade: {message}")


class BatchError(GraderError):
    """A batch of judge requests could not be submitted, run or read: its answers are not graded.
    `transient`: the server may answer later (no reply, a 5xx or a 429)."""

    exit_code = ExitCode.NOT_GRADED
    transient = False
    status: int | None = None


class SheetError(GraderError):
    """An answer sheet cannot be read: missing, not UTF-8, empty, too large, no question in it."""


class OutputError(GraderError):
    """A report, sheet or bank file could not be written (a read-only folder, a full disk)."""

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        from .scrub import printable

        super().__init__(f"cannot write {printable(self.path)}: {reason}")


class PatternTimeout(GraderError):
    """A keyword regex of the bank took too long on one text: a pattern that backtracks
    catastrophically, such as `(a|aa)+$`. `grader check` finds such patterns in a bank."""

    def __init__(self, pattern: str, seconds: float):
        self.pattern = pattern
        self.seconds = seconds
        super().__init__(
            f"the keyword pattern /{pattern}/ took more than {seconds:g} s on this answer and was "
            "stopped; simplify it (grader check --bank DIR tests every pattern)"
        )


class ModelUnavailable(GraderError):
    """The embedding model's package is not installed or its files are missing."""


class EvalDataError(GraderError):
    """The evaluation file cannot be used: missing, not JSON lines, a row without a needed field."""


class InternalError(GraderError):
    """A bug met while grading one answer of many: reported in that answer's place, so the others
    keep their grades."""
