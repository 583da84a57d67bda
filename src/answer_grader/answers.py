"""Answer sheets in the question list's markdown format: `## Question N`, the bold question,
`**Answer:**`, the answer, `---`."""

from __future__ import annotations

from collections.abc import Iterable

from .models import Question

SHEET_TITLE = "# Answer sheet"


def write_template(questions: Iterable[Question], title: str = SHEET_TITLE) -> str:
    """A blank answer sheet for `questions`, ready to fill in and grade with `grader score`."""
    parts = [f"{title}\n\nWrite each answer below its 'Answer:' line, then grade the sheet.\n"]
    for q in questions:
        parts.append(f"## Question {q.number}\n\n**{q.text}**\n\n**Answer:**\n\n\n---\n")
    return "\n".join(parts)
