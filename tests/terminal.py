"""Run `grader` as a person does: stdout and stderr each on a real pseudo-terminal (or a pipe).

`run_tty` gives stdout and stderr a pseudo-terminal of their own, 100 columns wide, so a test sees
exactly what each stream shows, escape codes included, and can tell them apart (the progress bar
belongs on stderr). `TERM` is a colour terminal and `NO_COLOR` and `COLUMNS` are unset, so the
command finds the width from the terminal itself, as it does for a person.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

COLUMNS, ROWS = 100, 50
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][A-Z0-9]|\x1b[=>78]")
# What a crash looks like, whoever prints it.
CRASH = re.compile(r"Traceback \(most recent call last\)|internal error:|^\w+Error: ", re.M)


@dataclass
class Seen:
    """What a command printed, and how it ended."""

    code: int
    out: str  # raw, escape codes included
    err: str
    seconds: float

    @property
    def text(self) -> str:
        """stdout as a person reads it: escape codes removed, line ends normalised."""
        return plain(self.out)

    @property
    def err_text(self) -> str:
        return plain(self.err)

    def assert_no_crash(self) -> None:
        for name, stream in (("stdout", self.text), ("stderr", self.err_text)):
            assert not CRASH.search(stream), f"{name} shows a crash:\n{stream[-3000:]}"


def plain(text: str) -> str:
    return ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n")


def _pty() -> tuple[int, int]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    return master, slave


def grader_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env.update({"TERM": "xterm-256color", **extra})
    return env


def run_tty(
    *args: str,
    stdin: str | bytes | None = None,
    stdout_tty: bool = True,
    stderr_tty: bool = True,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 120,
) -> Seen:
    """Run `grader ARGS`; stdin from `stdin` (a pipe) or, when None, the stdout terminal."""
    fds: dict[str, tuple[int, int]] = {}
    if stdout_tty:
        fds["out"] = _pty()
    if stderr_tty:
        fds["err"] = _pty()
    out_target = fds["out"][1] if stdout_tty else subprocess.PIPE
    err_target = fds["err"][1] if stderr_tty else subprocess.PIPE
    if stdin is None:
        stdin_target = fds["out"][1] if stdout_tty else subprocess.DEVNULL
    else:
        stdin_target = subprocess.PIPE
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "answer_grader.cli", *args],
        stdin=stdin_target,
        stdout=out_target,
        stderr=err_target,
        env=env or grader_env(),
        cwd=cwd,
        start_new_session=True,
    )
    for _, slave in fds.values():
        os.close(slave)
    if stdin is not None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(stdin.encode() if isinstance(stdin, str) else stdin)
            proc.stdin.close()
        except BrokenPipeError:  # the command refused its input before reading it all
            pass
    chunks: dict[str, list[bytes]] = {"out": [], "err": []}
    readers = {fds[k][0]: k for k in fds}
    if not stdout_tty:
        readers[proc.stdout.fileno()] = "out"  # type: ignore[union-attr]
    if not stderr_tty:
        readers[proc.stderr.fileno()] = "err"  # type: ignore[union-attr]
    deadline = start + timeout
    while readers:
        left = deadline - time.monotonic()
        if left <= 0:
            proc.kill()
            raise AssertionError(
                f"grader {' '.join(args)} still running after {timeout} s; so far:\n"
                + plain(b"".join(chunks["out"] + chunks["err"]).decode("utf-8", "replace"))[-2000:]
            )
        ready, _, _ = select.select(list(readers), [], [], min(left, 0.5))
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the terminal's other end closed
                data = b""
            if data:
                chunks[readers[fd]].append(data)
            else:
                del readers[fd]
    code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    for master, _ in fds.values():
        os.close(master)
    return Seen(
        code=code,
        out=b"".join(chunks["out"]).decode("utf-8", "replace"),
        err=b"".join(chunks["err"]).decode("utf-8", "replace"),
        seconds=time.monotonic() - start,
    )


def run_piped(*args: str, stdin: str | bytes | None = None, **kw) -> Seen:  # type: ignore[no-untyped-def]
    """The same command with stdout and stderr piped (a script, CI, `| less`)."""
    return run_tty(*args, stdin=stdin, stdout_tty=False, stderr_tty=False, **kw)


def spawn(*args: str, env: dict[str, str] | None = None, **kw):  # type: ignore[no-untyped-def]
    """`grader ARGS` in one pseudo-terminal driven by pexpect (stdout and stderr together, as a
    person sees them), for interactive commands; `env` defaults to `grader_env()`."""
    import pexpect

    options = {"encoding": "utf-8", "timeout": 90, "dimensions": (ROWS, COLUMNS), **kw}
    return pexpect.spawn(
        sys.executable, ["-m", "answer_grader.cli", *args], env=env or grader_env(), **options
    )


# A six-sentence reference answer for `grader new` (it derives one key point per sentence).
CLIPPING_REFERENCE = (
    "Gradient clipping caps the norm of the gradient before the optimizer step. It prevents "
    "one bad batch from blowing up the weights. Clipping by global norm rescales all "
    "gradients together. Typical thresholds are around 1.0 for transformers. It is cheap "
    "and is standard in LLM pretraining. Without it, loss spikes can derail a long run.\n"
)


def run_cli(
    *args: str,
    stdin: str | bytes | None = None,
    env: dict[str, str] | None = None,
    **_: object,
) -> Seen:
    """`grader ARGS` in this process (click's CliRunner): stdout and stderr captured apart, neither
    a terminal, as when piped; `env`, when given, is the whole environment the command sees. For
    faults that need no real process (no signal, no second writer, no real terminal): milliseconds
    instead of a second of start-up. The terminal tier runs every command as a process too."""
    from click.testing import CliRunner

    from answer_grader.cli import main

    overrides: dict[str, str | None] | None = None
    if env is not None:
        overrides = {k: None for k in os.environ if k not in env}
        overrides.update(env)
    start = time.monotonic()
    result = CliRunner().invoke(main, list(args), input=stdin, env=overrides, catch_exceptions=False)
    return Seen(
        code=result.exit_code,
        out=result.stdout,
        err=result.stderr,
        seconds=time.monotonic() - start,
    )
