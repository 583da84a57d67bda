"""A cache of grade reports in the user data directory, so re-grading an unchanged answer is free.

The key covers everything a grade depends on: the backend, the model, the grader's version (the
judge prompt version for the LLM, the model and thresholds for the offline grader), the rubric and
reference content, and the answer itself. Change any of them and the old entry is simply not found.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .models import GradeReport, Question

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .errors import GraderError
    from .grading import Grader

SCHEMA = """
CREATE TABLE IF NOT EXISTS grades (
    key TEXT PRIMARY KEY,
    report TEXT NOT NULL,
    created TEXT NOT NULL
)
"""


def cache_key(question: Question, answer: str, version: str) -> str:
    """The key of one answer's grade: the grader's `version` (everything its grades depend on),
    the rubric and reference content, and the answer."""
    parts = [version, question.content_hash, answer]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def cacheable(report: GradeReport) -> bool:
    """Whether a grade may be replayed later. Not when the judge quoted text that is not in the
    answer: that is the judge misbehaving (a hallucination, a confused small model), and a later
    run, perhaps against a fixed server, should ask again rather than replay it; nor when some of
    its judge samples failed."""
    from .models import FLAG_SAMPLES_FAILED, FLAG_UNVERIFIED_QUOTE

    if FLAG_SAMPLES_FAILED in report.flags:  # a vote short of samples: ask again next time
        return False
    return not any(FLAG_UNVERIFIED_QUOTE in p.flags for p in report.points)


def grade_through(
    cache: GradeCache | None,
    grader: Grader,
    items: Sequence[tuple[Question, str]],
    *,
    jobs: int,
    on_done: Callable[[int, GradeReport | GraderError, bool], None],
) -> None:
    """Grade answers (question, answer) through the cache: a grade found in `cache` (None: no
    cache) is replayed; the rest go together to `grader.grade_many`, each new grade that may be
    replayed is stored; `on_done(index, result, cached)` hears of each. With nothing left to
    grade, the grader does no work at all (nor loads its model)."""
    todo: list[tuple[int, str]] = []  # (index, cache key)
    for i, (question, answer) in enumerate(items):
        key = cache_key(question, answer, grader.version)
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            on_done(i, hit, True)
        else:
            todo.append((i, key))

    def graded(k: int, result: GradeReport | GraderError) -> None:
        i, key = todo[k]
        if cache is not None and isinstance(result, GradeReport) and cacheable(result):
            cache.put(key, result)
        on_done(i, result, False)

    if todo:
        grader.grade_many([items[i] for i, _ in todo], jobs=jobs, on_done=graded)


class GradeCache:
    """SQLite, in WAL mode so that several grader processes can use it at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        from .storage import open_db

        self._db = open_db(path)
        try:
            self._db.execute(SCHEMA)
            self._db.commit()
        except sqlite3.DatabaseError as exc:
            from .storage import store_error

            raise store_error(path, exc) from exc

    def get(self, key: str) -> GradeReport | None:
        with self._lock:
            row = self._db.execute("SELECT report FROM grades WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return GradeReport.model_validate_json(row[0])
        except ValueError:  # written by an older, incompatible version: grade again
            return None

    def put(self, key: str, report: GradeReport) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO grades (key, report, created) VALUES (?, ?, ?)",
                    (key, report.model_dump_json(), now),
                )
                self._db.commit()
            except sqlite3.Error:
                # A full disk or a folder made read-only mid-run: the grade is in the report all
                # the same; only the next run's replay of it is lost.
                self._db.rollback()

    def close(self) -> None:
        self._db.close()
