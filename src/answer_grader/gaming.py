"""Answers that try to game a grader, built from a question's rubric: what the offline grader's
calibration must keep low (benchmarks/calibrate_offline.py) and the tests check for every question.
"""

from __future__ import annotations

from .models import Question


def _first_terms(question: Question, per_group: int = 1) -> list[str]:
    return [
        t if isinstance(t, str) else t.regex
        for p in question.key_points
        for g in p.keywords
        for t in g[:per_group]
    ]


def keyword_list(question: Question) -> str:
    """Every keyword of the rubric, comma-separated, as a stuffer would paste them."""
    return ", ".join(_first_terms(question, per_group=2))


def keyword_lines(question: Question) -> str:
    """One line of keywords per point: the stuffer's other format."""
    return "\n".join(
        "- " + " ".join(g[0] if isinstance(g[0], str) else g[0].regex for g in p.keywords)
        for p in question.key_points
    )


def keyword_prose(question: Question) -> str:
    """The rubric's keywords strung into two sentences of filler prose, so that no list detector
    sees a list: it names everything and explains nothing."""
    terms = [t for t in _first_terms(question) if t.isascii()][:14]
    first, rest = terms[:8], terms[8:] or terms[-2:]
    return (
        f"In my experience the answer involves {', '.join(first[:-1])} and also {first[-1]}, "
        f"which is why it matters for the model. It also relates to {', '.join(rest)} in the end."
    )


def keyword_fragments(question: Question) -> str:
    """One terse line per point, its keywords and their plurals: notes, not statements."""
    lines = []
    for p in question.key_points:
        words = [g[0] for g in p.keywords if isinstance(g[0], str)]
        if words:
            lines.append(" ".join(f"{w} {w}s" for w in words).capitalize() + ".")
    return "\n".join(lines)


def off_topic_with_keywords(question: Question) -> str:
    """Sentences about something else that drop in each point's first two keywords."""
    sentences = []
    for p in question.key_points:
        words = [g[0] for g in p.keywords if isinstance(g[0], str)][:2]
        if words:
            sentences.append(
                f"My cat sleeps near the {' and the '.join(words)} in the garden every afternoon."
            )
    return " ".join(sentences)
