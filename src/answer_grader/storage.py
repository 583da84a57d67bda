"""Opening grader's SQLite files (history, grade cache, embedding store) in one careful way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .errors import StoreError


def open_db(path: Path, *, autocommit: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode with a busy timeout, so several grader processes can share the file.
    A file that is not a usable database is one clear error, not a traceback."""
    try:
        db = sqlite3.connect(
            str(path),
            timeout=30,
            check_same_thread=False,
            **({"isolation_level": None} if autocommit else {}),
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=30000")
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{path}: not a usable database ({exc}); move it aside and grader starts a new one"
        ) from exc
    return db
