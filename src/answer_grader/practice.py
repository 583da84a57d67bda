"""`grader practice`: answer a question, get it graded, retry or move on; every attempt kept.

Order of events is what makes it safe: the answer is written to the history *before* grading, and
Ctrl-C while typing stores a draft that the next session offers back.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .config import Settings
from .environment import Environment
from .errors import GraderError
from .history import History, now
from .models import GradeReport, Question
from .scrub import clean, printable

END_MARK = "."
MENU = "[r]etry  [s]how reference  [h]int  [n]ext question  [q]uit"


class DraftSaved(Exception):
    """Ctrl-C (or SIGHUP, SIGTERM) while typing: the text so far is kept as a draft."""

    def __init__(self, question_id: str, signum: int = signal.SIGINT) -> None:
        self.question_id = question_id
        self.signum = int(signum)
        super().__init__(question_id)


class Terminated(KeyboardInterrupt):
    """SIGHUP (the terminal closed) or SIGTERM, handled as Ctrl-C is: what was typed is kept."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        super().__init__(signal.Signals(signum).name)


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


def catch_signals() -> None:
    """Make Ctrl-C, SIGHUP and SIGTERM reach the session as exceptions, so a draft is saved.

    SIGINT is set back to Python's handler explicitly: a process started from a background job or
    a supervisor inherits SIGINT as *ignored*, and Python then leaves it ignored, so Ctrl-C would
    do nothing at all (this is what made a pty test hang for 90 s in a CI runner)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for name in ("SIGHUP", "SIGTERM"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _terminate)


def read_multiline(
    read_line: Callable[[str], str], kept: _TypedLinesKept | None = None
) -> tuple[list[str], int | None]:
    """Lines until a line holding only "." or end of input. Returns (lines, the signal that
    interrupted the typing, or None). `kept`: a _TypedLinesKept already entered (by a caller
    that prompts first), else one is entered here."""
    if kept is None:
        with _TypedLinesKept() as own:
            return read_multiline(read_line, own)
    lines: list[str] = []
    while True:
        try:
            line = read_line("")
        except EOFError:
            return lines, None
        except KeyboardInterrupt as exc:
            return lines + kept.pending(), getattr(exc, "signum", signal.SIGINT)
        if line.strip() == END_MARK:
            return lines, None
        lines.append(line)


class _TypedLinesKept:
    """A line typed (Enter pressed) just before Ctrl-C is not lost, however slow the machine.

    A terminal discards its unread input when it sends SIGINT, so a line that was typed but not
    yet read by a busy process would vanish. While the answer is typed, the terminal is told not
    to (NOFLSH); after an interrupt, the complete lines still waiting are read back, and the rest
    (a half-typed line) is discarded as the terminal would have done, so it never reaches the
    shell. Does nothing when standard input is not a terminal."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._saved: list[Any] | None = None

    def __enter__(self) -> _TypedLinesKept:
        try:
            import termios

            fd = sys.stdin.fileno()
            if os.isatty(fd):
                self._saved = termios.tcgetattr(fd)
                changed = termios.tcgetattr(fd)
                changed[3] |= termios.NOFLSH
                termios.tcsetattr(fd, termios.TCSANOW, changed)
                self._fd = fd
        except (ImportError, OSError, ValueError, AttributeError):  # not a terminal, or not POSIX
            self._fd = None
        return self

    def pending(self) -> list[str]:
        """The complete lines typed but not read yet (then the rest of the input is dropped)."""
        if self._fd is None:
            return []
        import select
        import termios

        lines: list[str] = []
        try:
            while select.select([self._fd], [], [], 0.05)[0]:
                data = os.read(self._fd, 65536)
                if not data:
                    break
                text = data.decode("utf-8", "replace")
                lines += [ln for ln in text.splitlines() if ln.strip() != END_MARK]
            termios.tcflush(self._fd, termios.TCIFLUSH)
        except (OSError, KeyboardInterrupt):
            pass
        return lines

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None and self._saved is not None:
            import termios

            with contextlib.suppress(OSError):  # the terminal is gone (SIGHUP)
                termios.tcsetattr(self._fd, termios.TCSANOW, self._saved)


def humanise(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def until(when: datetime) -> str:
    delta = (when - now()).total_seconds()
    if delta < 3600:
        return "within the hour"
    if delta < 86400:
        return f"in {round(delta / 3600)} hours"
    return f"in {round(delta / 86400)} days ({when.date().isoformat()})"


@dataclass
class Session:
    """One practice session: the console, the input, the history, the grading settings."""

    questions: Sequence[Question]
    history: History
    settings: Settings
    console: object  # rich.console.Console
    read_line: Callable[[str], str] = input
    editor: Callable[[str], str | None] | None = None
    grade: Callable[[Question, str], GradeReport] | None = None
    env: Environment | None = None  # where the grader's embedder comes from (None: the process)
    attempts_made: list[int] = field(default_factory=list)
    _grader: Any = None

    def say(self, text: str = "", style: str | None = None) -> None:
        # markup=False: "[r]etry" is text, not a rich style tag.
        self.console.print(text, style=style, highlight=False, markup=False)  # type: ignore[attr-defined]

    def show_question(self, q: Question, reason: str) -> None:
        from rich.panel import Panel

        title = f"Question {q.number} \u00b7 {q.id}"
        subtitle = f"{', '.join(q.rubric.topics)} \u00b7 {q.rubric.difficulty} \u00b7 {reason}"
        self.console.print(Panel(q.text, title=title, subtitle=subtitle, expand=False))  # type: ignore[attr-defined]

    def take_answer(self, q: Question, draft: str = "") -> tuple[str, float] | None:
        """The typed (or edited) answer and the seconds it took; None if empty."""
        started = time.monotonic()
        if self.editor is not None:
            text = self.editor(draft) or ""
        else:
            # Typed lines are kept from before the prompt shows: a person (or a test) may type
            # and press Ctrl-C the moment it appears, before a busy process reads a thing.
            with _TypedLinesKept() as kept:
                self.say(
                    f"Type your answer. Finish with a line holding a single '{END_MARK}' "
                    "or Ctrl-D; Ctrl-C keeps a draft.",
                    style="dim",
                )
                if draft:
                    self.say("Your draft so far (continue below it):", style="dim")
                    self.say(printable(draft))
                lines, signum = read_multiline(self.read_line, kept)
            text = "\n".join([draft, *lines] if draft else lines)
            if signum is not None:
                if text.strip():
                    self.history.save_draft(q.id, text)
                    raise DraftSaved(q.id, signum)
                if signum == signal.SIGINT:
                    raise KeyboardInterrupt
                raise Terminated(signum)
        if not text.strip():
            return None
        return text, time.monotonic() - started

    def attempt(self, q: Question, draft: str = "") -> GradeReport | None:
        from .report import to_text

        taken = self.take_answer(q, draft)
        if taken is None:
            self.say("Nothing typed: nothing saved.", style="yellow")
            return None
        text, seconds = taken
        submitted = now()
        started = datetime.fromtimestamp(submitted.timestamp() - seconds, tz=submitted.tzinfo)
        attempt_id = self.history.add_attempt(q.id, text, started=started, submitted=submitted)
        self.history.delete_draft(q.id)
        self.attempts_made.append(attempt_id)
        self.say(
            f"Saved as attempt #{attempt_id} (answered in {humanise(seconds)}). "
            f"Grading ({self.settings.backend})...",
            style="dim",
        )
        from .attempts import record

        try:
            report = (self.grade or self._grade)(q, text)
        except GraderError as exc:
            record(self.history, attempt_id, q.id, exc)
            self.say(clean(" ".join(exc.lines())), style="red")
            self.say(
                f"Your answer is saved as attempt #{attempt_id}, ungraded. Grade it later "
                "with: grader history --regrade",
                style="yellow",
            )
            return None
        due = record(self.history, attempt_id, q.id, report)
        assert due is not None  # recorded: this attempt was just saved, ungraded
        width = min(120, self.console.width)  # type: ignore[attr-defined]
        self.console.print(
            # No colour where rich has none: a dumb terminal, NO_COLOR, a pipe.
            to_text(report, color=self._color(), width=width),
            end="",
            markup=False,
            highlight=False,
        )
        self.say(f"Next review of this question: {until(due)}.", style="bold")
        return report

    def _color(self) -> bool:
        console: Any = self.console
        return console.color_system is not None and not console.no_color

    def _grade(self, q: Question, text: str) -> GradeReport:
        # Built on the first answer, so openai is not imported before it is needed; it tells the
        # console when the judge waits or retries.
        if self._grader is None:
            from .environment import Environment

            def status(message: str) -> None:
                self.console.print(clean(message), style="dim", markup=False, highlight=False)  # type: ignore[attr-defined]

            self._grader = (self.env or Environment()).grader(self.settings, on_status=status)
        return self._grader.grade(q, text)

    def first_question(
        self, bank: Any, question_ref: str | None, *, shuffle: bool = False
    ) -> tuple[Question, str, str]:
        """(question, why it was chosen, draft text to continue): an unfinished answer first, if
        the user wants it back (a draft of another bank's question is kept, not offered); then
        the question asked for; then the one the schedule says is due."""
        from .schedule import next_question

        draft = self.history.latest_draft()
        ids = {q.id for q in bank.questions}
        if draft is not None and draft[0] in ids:
            q = bank.get(draft[0])
            if question_ref is None or bank.get(question_ref).id == q.id:
                saved = draft[2].astimezone().strftime("%Y-%m-%d %H:%M")
                self.say(
                    f"You have an unfinished answer to question {q.number} ({q.id}), saved {saved}."
                )
                try:
                    keep = self.read_line("Resume it? [Y/n] ").strip().lower() in ("", "y", "yes")
                except (EOFError, KeyboardInterrupt):
                    keep = False
                if keep:
                    return q, "your draft", draft[1]
        if question_ref is not None:
            return bank.get(question_ref), "chosen", ""
        q, why = next_question(self.questions, self.history, shuffle=shuffle)
        return q, why, ""

    def hint(self, q: Question, report: GradeReport | None, given: int) -> str:
        missed = [p for p in (report.points if report else []) if p.verdict != "covered"]
        if not missed:
            return "No hint: nothing was missed." if report else "Answer first, then ask for a hint."
        point = next(p for p in q.key_points if p.id == missed[given % len(missed)].id)
        group = point.keywords[0]
        concept = next((t for t in group if isinstance(t, str)), None) or point.id.split("-")[0]
        return f"Hint: one point you did not fully make concerns \u201c{concept}\u201d."

    def run(self, first: Question, reason: str, draft: str = "") -> None:
        from .schedule import next_question

        q, why = first, reason
        report: GradeReport | None = None
        hints = 0
        self.show_question(q, why)
        report = self.attempt(q, draft)
        while True:
            self.say(MENU, style="bold")
            try:
                choice = self.read_line("> ").strip().lower()[:1]
            except (EOFError, KeyboardInterrupt):
                choice = "q"
            if choice == "q":
                return
            if choice == "r":
                hints = 0
                self.show_question(q, "retry")
                report = self.attempt(q) or report
            elif choice == "s":
                self.say(f"Reference answer to question {q.number}:", style="bold")
                self.say(q.reference_answer.strip())
            elif choice == "h":
                self.say(self.hint(q, report, hints), style="cyan")
                hints += 1
            elif choice == "n":
                q, why = next_question(self.questions, self.history, exclude=q.id)
                report, hints = None, 0
                self.show_question(q, why)
                report = self.attempt(q)
            else:
                self.say(f"Choose one of: {MENU}", style="yellow")
