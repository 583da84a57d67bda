"""The `grader` group: every GraderError becomes one line per problem and its exit code, Ctrl-C
exit status 130, anything unexpected one line too; never a traceback."""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import click

from ..errors import ExitCode, GraderError

EXIT_CODES_HELP = """\b
Exit status:
  0  success
  1  runtime error (a malformed bank, a failed check, an unreadable or empty answer,
     a report that could not be written)
  2  usage error (an unknown option or a bad argument, settings that cannot work)
  3  graded, but the score is below --fail-under
  4  could not grade (the LLM judge failed after its retries, or in grader score an
     answer over the length limit; no score was given)
  130  interrupted (Ctrl-C; in grader practice a draft is kept); 129 and 143 after SIGHUP
     and SIGTERM
"""


def _secrets() -> list[str]:
    """The configured secrets, redacted from every error line (key-like text is, in any case)."""
    from .common import current_env

    return current_env().secrets


def _say_error(line: str) -> None:
    from ..scrub import clean

    # stderr may be gone (a closed terminal): the exit status still tells.
    with contextlib.suppress(OSError):
        click.echo(f"Error: {clean(line, _secrets())}", err=True)


def _interrupted(exc: BaseException) -> bool:
    """Ctrl-C, even when it arrived during an import that wrapped it (numpy turns a
    KeyboardInterrupt inside its import into an ImportError)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
        seen += 1
    return False


class _Group(click.Group):
    """Turns every GraderError into one line per problem on stderr and its exit code; Ctrl-C into
    exit status 130; anything unexpected into one line too, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GraderError as exc:
            for line in exc.lines():
                _say_error(line)
            ctx.exit(int(exc.exit_code))
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            # `grader list | head -1`: the reader left; nothing more to say, and nothing to say it on.
            import os

            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(int(ExitCode.ERROR))
        except (KeyboardInterrupt, ImportError) as exc:
            if not _interrupted(exc):
                _internal(ctx, exc)
            signum = getattr(exc, "signum", 2)
            with contextlib.suppress(OSError):
                click.echo("\nInterrupted.", err=True)
            ctx.exit(128 + signum)
        except Exception as exc:
            _internal(ctx, exc)


def _internal(ctx: click.Context, exc: BaseException) -> None:
    """A bug: one line that says so (GRADER_DEBUG=1 shows the traceback)."""
    from .common import current_env

    if current_env().debug:
        raise exc
    _say_error(
        f"internal error: {type(exc).__name__}: {exc}. Please report it; "
        "GRADER_DEBUG=1 shows the traceback"
    )
    ctx.exit(int(ExitCode.ERROR))


@click.group(cls=_Group, epilog=EXIT_CODES_HELP)
@click.version_option(package_name="answer-grader", prog_name="grader")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Practise LLM/ML interview answers and get them graded point by point."""
    from ..environment import Environment

    # The process's surroundings, read once; a program or a test passes its own as `obj`.
    ctx.ensure_object(Environment)
