"""The practice history: every attempt, saved before it is graded, in SQLite in the user data dir.

Schema changes are append-only named migrations (never edit one that has shipped: add another), so
a newer grader reads any older history file. WAL mode and a busy timeout let `grader practice` and
`grader score` write to the same file at the same time.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .models import GradeReport

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_attempts(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE attempts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            question_id TEXT NOT NULL,
            answer TEXT NOT NULL,
            started TEXT,
            submitted TEXT NOT NULL,
            seconds REAL,
            status TEXT NOT NULL DEFAULT 'ungraded',
            backend TEXT,
            model TEXT,
            score REAL,
            report TEXT,
            graded TEXT,
            error TEXT
        )"""
    )
    db.execute("CREATE INDEX attempts_question ON attempts (question_id, submitted)")


@migration
def m002_drafts(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE drafts (question_id TEXT PRIMARY KEY, text TEXT NOT NULL, saved TEXT NOT NULL)"
    )


@migration
def m003_cards(db: sqlite3.Connection) -> None:
    # One FSRS card per question: its scheduling state, as fsrs.Card.to_json() writes it.
    db.execute(
        "CREATE TABLE cards (question_id TEXT PRIMARY KEY, card TEXT NOT NULL, due TEXT NOT NULL)"
    )


@migration
def m004_attempt_source(db: sqlite3.Connection) -> None:
    # Where an attempt came from: "practice", or "score:<file>" for answers graded in a batch.
    db.execute("ALTER TABLE attempts ADD COLUMN source TEXT NOT NULL DEFAULT 'practice'")


@migration
def m005_attempt_source_index(db: sqlite3.Connection) -> None:
    # `grader score --record` looks up each answer by question and sheet before it adds it.
    db.execute("CREATE INDEX attempts_source ON attempts (question_id, source)")


# What each migration makes, checked on every open (`History._check_tables`).
_MADE_BY = {
    "m001_attempts": ("attempts", "attempts.answer", "attempts.status"),
    "m002_drafts": ("drafts",),
    "m003_cards": ("cards",),
    "m004_attempt_source": ("attempts.source",),
}


def now() -> datetime:
    return datetime.now(UTC)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Attempt:
    id: int
    question_id: str
    answer: str
    submitted: datetime
    seconds: float | None
    status: str  # "ungraded" or "graded"
    backend: str | None
    score: float | None
    report: GradeReport | None
    error: str | None
    source: str

    def to_json(self) -> dict[str, Any]:
        """What `grader history --format json` shows of an attempt."""
        return {
            "id": self.id,
            "question_id": self.question_id,
            "submitted": self.submitted.isoformat(),
            "seconds": self.seconds,
            "status": self.status,
            "score": self.score,
            "backend": self.backend,
            "source": self.source,
            "error": self.error,
            "answer": self.answer,
        }

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Attempt:
        try:
            report = GradeReport.model_validate_json(row["report"]) if row["report"] else None
        except ValueError:  # stored by an incompatible version: the score still stands
            report = None
        return cls(
            id=row["id"],
            question_id=row["question_id"],
            answer=row["answer"],
            submitted=datetime.fromisoformat(row["submitted"]),
            seconds=row["seconds"],
            status=row["status"],
            backend=row["backend"],
            score=row["score"],
            report=report,
            error=row["error"],
            source=row["source"],
        )


class History:
    """The attempts, drafts and review schedule of one user."""

    def __init__(self, path: Path) -> None:
        self.path = path
        from .storage import open_db

        # autocommit: we open transactions ourselves, so each write is one short one.
        self.db = open_db(path, autocommit=True)
        self.db.row_factory = sqlite3.Row
        try:
            self.migrate()
            self._check_tables()
        except sqlite3.DatabaseError as exc:
            from .storage import store_error

            raise store_error(path, exc) from exc

    def _check_tables(self) -> None:
        """The migrations are recorded as done; make sure what they made is there. A table dropped
        by hand (or by a tool) would otherwise surface later as a traceback."""
        from .errors import StoreError

        have = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        columns = {r[1] for r in self.db.execute("PRAGMA table_info(attempts)")}
        missing = [
            what
            for name, _ in MIGRATIONS
            for what in _MADE_BY.get(name, ())
            if (what.split(".")[1] not in columns if "." in what else what not in have)
        ]
        if missing:
            raise StoreError(
                f"{self.path}: not a usable history: {', '.join(missing)} missing although its "
                "migrations are recorded (was the file edited?); move it aside and grader starts "
                "a new one"
            )

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def migrate(self) -> list[str]:
        """Apply the migrations this file has not seen, in order; returns their names."""
        applied: list[str] = []
        with self._write() as db:
            db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied TEXT)")
            done = {r[0] for r in db.execute("SELECT name FROM _migrations")}
            for name, fn in MIGRATIONS:
                if name not in done:
                    fn(db)
                    db.execute("INSERT INTO _migrations VALUES (?, ?)", (name, _iso(now())))
                    applied.append(name)
        return applied

    def close(self) -> None:
        self.db.close()

    # -- attempts ---------------------------------------------------------------------------------

    def add_attempt(
        self,
        question_id: str,
        answer: str,
        *,
        started: datetime | None = None,
        submitted: datetime | None = None,
        source: str = "practice",
    ) -> int:
        """Save an answer, ungraded. Done before grading, so nothing typed is ever lost."""
        submitted = submitted or now()
        seconds = (submitted - started).total_seconds() if started else None
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO attempts (question_id, answer, started, submitted, seconds, source)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    question_id,
                    answer,
                    _iso(started) if started else None,
                    _iso(submitted),
                    seconds,
                    source,
                ),
            )
            return int(cur.lastrowid or 0)

    def add_once(self, question_id: str, answer: str, *, source: str) -> tuple[int, bool]:
        """Save an answer unless the same text to the same question from the same source is
        saved already: (attempt id, whether that attempt is graded). One transaction, so two
        processes scoring the same sheet at once still record it once."""
        with self._write() as db:
            row = db.execute(
                "SELECT id, status FROM attempts WHERE question_id = ? AND source = ? AND answer = ?"
                " ORDER BY id LIMIT 1",
                (question_id, source, answer),
            ).fetchone()
            if row is not None:
                return int(row[0]), row[1] == "graded"
            cur = db.execute(
                "INSERT INTO attempts (question_id, answer, submitted, source) VALUES (?, ?, ?, ?)",
                (question_id, answer, _iso(now()), source),
            )
            return int(cur.lastrowid or 0), False

    def record_grade(self, attempt_id: int, report: GradeReport, *, if_ungraded: bool = False) -> bool:
        """Store an attempt's grade; with `if_ungraded`, only if no other process has graded it
        meanwhile. Returns whether it was stored (so its review is counted once)."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE attempts SET status='graded', backend=?, model=?, score=?, report=?,"
                " graded=?, error=NULL WHERE id=?" + (" AND status='ungraded'" if if_ungraded else ""),
                (
                    report.backend,
                    report.model,
                    report.score,
                    report.model_dump_json(),
                    _iso(now()),
                    attempt_id,
                ),
            )
            return cur.rowcount > 0

    def record_error(self, attempt_id: int, message: str) -> None:
        with self._write() as db:
            db.execute("UPDATE attempts SET error=? WHERE id=?", (message, attempt_id))

    def attempts(
        self,
        question_id: str | None = None,
        *,
        limit: int | None = None,
        status: str | None = None,
    ) -> list[Attempt]:
        """Attempts, newest first."""
        query = "SELECT * FROM attempts"
        where, args = [], []  # type: ignore[var-annotated]
        if question_id is not None:
            where.append("question_id = ?")
            args.append(question_id)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY submitted DESC, id DESC"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        return [Attempt.from_row(r) for r in self.db.execute(query, args)]

    # -- drafts -----------------------------------------------------------------------------------

    def save_draft(self, question_id: str, text: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO drafts VALUES (?, ?, ?)", (question_id, text, _iso(now()))
            )

    def latest_draft(self) -> tuple[str, str, datetime] | None:
        row = self.db.execute(
            "SELECT question_id, text, saved FROM drafts ORDER BY saved DESC LIMIT 1"
        ).fetchone()
        return (row[0], row[1], datetime.fromisoformat(row[2])) if row else None

    def delete_draft(self, question_id: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM drafts WHERE question_id = ?", (question_id,))

    # -- review schedule --------------------------------------------------------------------------

    def card(self, question_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT card FROM cards WHERE question_id = ?", (question_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def save_card(self, question_id: str, card: dict[str, Any], due: datetime) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO cards VALUES (?, ?, ?)",
                (question_id, json.dumps(card), _iso(due)),
            )

    def due_dates(self) -> dict[str, datetime]:
        return {
            q: datetime.fromisoformat(d)
            for q, d in self.db.execute("SELECT question_id, due FROM cards")
        }
