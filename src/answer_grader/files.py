"""The user's files: answers and sheets read safely, reports and banks written atomically.

Reading: only regular files (and standard input) are read, because a FIFO with no writer blocks
`open()` for ever and a device such as /dev/zero has no end; the size limit is enforced while
reading, not only from `st_size`, which is 0 for devices and can change under us.
Writing: a temporary file in the same folder, then a rename, so a full disk or a kill half-way
never leaves a truncated report where the old one was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
from pathlib import Path

from .errors import GraderError, OutputError
from .scrub import printable


def _name(path: str) -> str:
    # File names are echoed in error lines: no escape sequence of theirs reaches the terminal.
    shown = printable(path)
    return shown if len(shown) <= 120 else shown[:119] + "\u2026"


def read_input(path: str, *, max_bytes: int, error: type[GraderError]) -> str:
    """Read a regular file, or standard input for `-`, as UTF-8 text (a byte-order mark is
    dropped). Missing, not a regular file, too large, unreadable, not UTF-8 or empty: one `error`."""
    if path == "-":
        data = sys.stdin.buffer.read(max_bytes + 1)
        name = "standard input"
    else:
        name = _name(path)
        data = _read_regular(path, name, max_bytes, error)
    if len(data) > max_bytes:
        raise error(f"{name}: more than {max_bytes:,} bytes is too large (the limit is {max_bytes:,})")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{name}: not UTF-8 text (invalid byte at offset {exc.start})") from exc
    if not text.strip():
        raise error(f"{name}: is empty")
    return text


def _read_regular(path: str, name: str, max_bytes: int, error: type[GraderError]) -> bytes:
    try:
        info = os.stat(path)  # stat never blocks, even on a FIFO
    except OSError as exc:
        raise error(f"{name}: {_why(exc)}") from exc
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{name}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        kind = (
            "a named pipe (FIFO)"
            if stat.S_ISFIFO(info.st_mode)
            else "a device"
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
            else "a socket"
            if stat.S_ISSOCK(info.st_mode)
            else "not a regular file"
        )
        raise error(f"{name}: is {kind}, not a regular file; pipe it in with - instead")
    if info.st_size > max_bytes:
        raise error(f"{name}: {info.st_size:,} bytes is too large (the limit is {max_bytes:,})")
    try:
        # O_NONBLOCK: should the path have become a FIFO since the stat, open() still returns.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise error(f"{name}: cannot read: {_why(exc)}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error(f"{name}: is not a regular file")
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise error(f"{name}: cannot read: {_why(exc)}") from exc
    finally:
        os.close(fd)
    return b"".join(chunks)


def _why(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "no such file"
    if exc.errno == errno.ELOOP:
        return "a loop of symbolic links"
    if exc.errno == errno.ENAMETOOLONG:
        return "the name is too long"
    return exc.strerror or str(exc)


def write_atomic(path: Path, text: str | bytes, *, mode: int | None = None) -> None:
    """Write `text` (or bytes) to `path` through a temporary file and a rename; `mode` sets the
    file's permissions (mkstemp makes it 0600). Raises OutputError."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    tmp = None
    try:
        if path.exists() and not path.is_file():
            # /dev/null, /dev/stdout, a FIFO: not something a rename may replace; write through it.
            with open(path, "wb") as f:
                f.write(data)
            return
        folder = path.parent if str(path.parent) else Path(".")
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc)) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def make_dirs(path: Path) -> None:
    """`mkdir -p`, as one OutputError when it fails."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc)) from exc
