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
        raise store_error(path, exc) from exc
    return db


def store_error(path: Path, exc: sqlite3.Error) -> StoreError:
    """The one line for a database that cannot be used, with advice that fits the cause: a folder
    that cannot be written is not fixed by moving a healthy file aside."""
    import os

    reason = str(exc)
    folder = path.parent
    if "unable to open" in reason or "readonly" in reason or "read-only" in reason:
        writable = os.access(folder, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))
        hint = (
            f"the folder {folder} cannot be written"
            if not writable or "readonly" in reason or "read-only" in reason
            else f"check the permissions of {folder} and the free space on its disk"
        )
        return StoreError(
            f"{path}: cannot open the database ({reason}): {hint}; "
            "set GRADER_HOME to a folder you can write to"
        )
    return StoreError(
        f"{path}: not a usable database ({reason}); move it aside and grader starts a new one"
    )
