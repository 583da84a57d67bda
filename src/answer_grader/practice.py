"""`grader practice`: answer a question, get it graded, retry or move on; every attempt kept.

Order of events is what makes it safe: the answer is written to the history *before* grading, and
Ctrl-C while typing stores a draft that the next session offers back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .config import Settings
from .errors import GraderError
from .history import History, now
from .models import GradeReport, Question

END_MARK = "."
MENU = "[r]etry  [s]how reference  [h]int  [n]ext question  [q]uit"


class DraftSaved(Exception):
    """Ctrl-C while typing: the text so far is kept as a draft."""

    def __init__(self, question_id: str) -> None:
        self.question_id = question_id
        super().__init__(question_id)


def read_multiline(read_line: Callable[[str], str]) -> tuple[list[str], bool]:
    """Lines until a line holding only "." or end of input. Returns (lines, interrupted)."""
    lines: list[str] = []
    while True:
        try:
            line = read_line("")
        except EOFError:
            return lines, False
        except KeyboardInterrupt:
            return lines, True
        if line.strip() == END_MARK:
            return lines, False
        lines.append(line)


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
    attempts_made: list[int] = field(default_factory=list)

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
            self.say(
                f"Type your answer. Finish with a line holding a single '{END_MARK}' "
                "or Ctrl-D; Ctrl-C keeps a draft.",
                style="dim",
            )
            if draft:
                self.say("Your draft so far (continue below it):", style="dim")
                self.say(draft)
            lines, interrupted = read_multiline(self.read_line)
            text = "\n".join([draft, *lines] if draft else lines)
            if interrupted:
                if text.strip():
                    self.history.save_draft(q.id, text)
                    raise DraftSaved(q.id)
                raise KeyboardInterrupt
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
        try:
            report = (self.grade or self._grade)(q, text)
        except GraderError as exc:
            self.history.record_error(attempt_id, " ".join(exc.lines()))
            self.say(f"{' '.join(exc.lines())}", style="red")
            self.say(
                f"Your answer is saved as attempt #{attempt_id}, ungraded. Grade it later "
                "with: grader history --regrade",
                style="yellow",
            )
            return None
        self.history.record_grade(attempt_id, report)
        from .schedule import review

        due = review(self.history, q.id, report.score)
        width = min(120, self.console.width)  # type: ignore[attr-defined]
        self.console.print(
            # No colour where rich has none: a dumb terminal, NO_COLOR, a pipe.
            to_text(report, color=self.console.color_system is not None, width=width),  # type: ignore[attr-defined]
            end="",
            markup=False,
            highlight=False,
        )
        self.say(f"Next review of this question: {until(due)}.", style="bold")
        return report

    def _grade(self, q: Question, text: str) -> GradeReport:
        from .grading import grade

        return grade(q, text, self.settings)

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
