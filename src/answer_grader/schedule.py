"""Spaced repetition for practice: FSRS (the `fsrs` package), one card per question.

A grade becomes a review rating: below 40 Again, below 65 Hard, below 85 Good, else Easy. The next
question is the one most overdue, then one never attempted (in list order), then the weakest.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime

from .history import History, now
from .models import Question


def rating_for(score: float):  # type: ignore[no-untyped-def]
    from fsrs import Rating

    if score < 40:
        return Rating.Again
    if score < 65:
        return Rating.Hard
    if score < 85:
        return Rating.Good
    return Rating.Easy


def review(history: History, question_id: str, score: float, when: datetime | None = None) -> datetime:
    """Record a graded attempt in the question's schedule; returns when it is next due."""
    from fsrs import Card, Scheduler

    stored = history.card(question_id)
    card = Card.from_dict(stored) if stored else Card()
    when = when or now()
    if card.last_review is not None and when < card.last_review:
        # An older attempt graded late (history --regrade) must not undo newer reviews.
        return card.due
    # Practice is not learning a fact from scratch: skip FSRS's minutes-long learning steps.
    scheduler = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)
    card, _ = scheduler.review_card(card, rating_for(score), review_datetime=when)
    history.save_card(question_id, card.to_dict(), card.due)
    return card.due


def next_question(
    questions: Sequence[Question],
    history: History,
    *,
    exclude: str | None = None,
    rng: random.Random | None = None,
    shuffle: bool = False,
    when: datetime | None = None,
) -> tuple[Question, str]:
    """The question to practise next, and why."""
    pool = [q for q in questions if q.id != exclude] or list(questions)
    if shuffle:
        return (rng or random.Random()).choice(pool), "random"
    when = when or now()
    due = history.due_dates()
    overdue = sorted((d, q.number, q) for q in pool if (d := due.get(q.id)) and d <= when)
    if overdue:
        return overdue[0][2], "due for review"
    attempted = {a.question_id for a in history.attempts()}
    fresh = [q for q in pool if q.id not in attempted]
    if fresh:
        return fresh[0], "not attempted yet"
    best: dict[str, float] = {}
    for a in history.attempts(status="graded"):
        best[a.question_id] = max(best.get(a.question_id, 0.0), a.score or 0.0)
    weakest = min(pool, key=lambda q: (best.get(q.id, 0.0), due.get(q.id, when), q.number))
    return weakest, f"your weakest (best {best.get(weakest.id, 0.0):g})"
