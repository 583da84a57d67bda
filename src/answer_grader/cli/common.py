"""What the commands share: options, terminal width and colour, columns, wrapping, progress."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import click

from ..environment import Environment

bank_option = click.option(
    "--bank",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Question bank directory (holds rubrics/ and reference_answers/). Default: $GRADER_BANK, "
    "else the bank shipped with grader.",
)


def current_env() -> Environment:
    """The Environment of the running command (the group puts one in click's context: the
    process's own, or the one a program or a test passed as `obj`)."""
    ctx = click.get_current_context(silent=True)
    found = ctx.find_object(Environment) if ctx is not None else None
    return found if found is not None else Environment()


def with_topic(bank: Any, topic: str | None) -> list[Any]:
    """The bank's questions with `topic` (all of them when it is None); a usage error naming the
    bank's topics when no question has it."""
    questions = [q for q in bank.questions if topic is None or topic in q.rubric.topics]
    if topic is not None and not questions:
        raise click.BadParameter(
            f"no question has topic {topic!r}; topics: {', '.join(bank.topics)}", param_hint="--topic"
        )
    return questions


def _width() -> int:
    """The width to render for: the terminal's on a terminal, else 100 (environment.DEFAULT_WIDTH)."""
    from ..environment import DEFAULT_WIDTH

    env = current_env()
    return env.width if env.stdout_isatty else DEFAULT_WIDTH


def _color() -> bool:
    return current_env().color


def _columns(rows: list[list[str]], header: list[str]) -> str:
    """Rows as aligned columns. On a terminal the last column (the free text) is shortened to fit
    its width, so no row wraps; in a pipe every row is whole."""
    from ..scrub import printable

    rows = [[printable(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    if current_env().stdout_isatty and rows:
        room = _width() - sum(widths[:-1]) - 2 * (len(widths) - 1)
        if room >= 10 and widths[-1] > room:
            rows = [
                [*r[:-1], r[-1] if len(r[-1]) <= room else r[-1][: room - 1] + "\u2026"] for r in rows
            ]
            widths[-1] = room
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines)


def _fit(text: str) -> str:
    """Prose wrapped to the terminal's width, continuation lines indented under their item;
    code blocks and piped output left as they are."""
    if not current_env().stdout_isatty:
        return text
    import textwrap

    width = _width()
    out, in_code = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            in_code = not in_code
        if in_code or len(line) <= width:
            out.append(line)
            continue
        lead = re.match(r"\s*(?:[-*]|\d+\.)?\s*", line)
        indent = " " * (lead.end() if lead else 0)
        out.append(
            textwrap.fill(
                line, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
            )
        )
    return "\n".join(out)


def _check_output(output: Path | None) -> None:
    """Refuse an --output whose folder does not exist before doing any work."""
    if output is not None and not output.parent.is_dir():
        raise click.BadParameter(f"folder {str(output.parent)!r} does not exist", param_hint="--output")


def _shown(path: Path | str) -> str:
    from ..scrub import printable

    return printable(str(path))


def _parse_numbers(value: str | None) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def backend_options(f: Any) -> Any:
    """--backend, --model and --base-url, shared by the commands that grade."""
    from ..config import BACKEND_CHOICES

    f = click.option(
        "--timeout",
        type=click.FloatRange(0, 3600, min_open=True),
        help="Seconds to wait for each LLM request; all the requests for one answer, retries "
        "included, get twice this. [env: GRADER_TIMEOUT; default: 60]",
    )(f)
    f = click.option(
        "--base-url",
        help="OpenAI-compatible server (http:// or https://), e.g. http://localhost:11434/v1 "
        "(Ollama). [env: OPENAI_BASE_URL]",
    )(f)
    f = click.option("--model", help="Judge model. [env: GRADER_MODEL; default: see grader config]")(f)
    f = click.option(
        "--backend",
        type=click.Choice(BACKEND_CHOICES),
        help="auto: the LLM judge when OPENAI_API_KEY or OPENAI_BASE_URL is set, else offline. "
        "[env: GRADER_BACKEND; default: auto]",
    )(f)
    return f


sheet_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json", "junit"]),
    default="text",
    show_default=True,
)
output_option = click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file instead of stdout (atomically: a failed write leaves "
    "any old file as it was, and the report goes to stdout instead).",
)
jobs_option = click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Concurrent LLM requests.",
)
poll_option = click.option(
    "--poll-interval",
    type=click.FloatRange(0.01, 3600),
    default=30.0,
    show_default=True,
    help="With a batch: seconds between looks at it.",
)

samples_option = click.option(
    "--samples",
    type=click.IntRange(1, 15),
    default=1,
    show_default=True,
    help="Ask the LLM judge N times per answer (distinct seeds) and take each point's majority "
    "verdict; points the samples disagree on are flagged, and confidence drops with them.",
)


def sampled(settings: Any, samples: int) -> Any:
    """The settings with `samples` judge requests per answer. Only the LLM judge varies between
    runs; asking the offline grader twice gives the same answer twice."""
    if samples == 1:
        return settings
    if settings.backend != "llm":
        raise click.UsageError(
            "--samples repeats the LLM judge; the offline grader is deterministic. Use it with "
            "--backend llm (or with OPENAI_API_KEY or OPENAI_BASE_URL set)"
        )
    import dataclasses

    return dataclasses.replace(settings, samples=samples)


def open_cache(env: Any) -> Any:
    """The grade cache, or None (with a note) when it cannot be opened: it only saves time."""
    from ..errors import GraderError

    try:
        return env.cache()
    except GraderError as exc:
        from ..scrub import clean

        click.echo(f"Note: grading without the cache: {clean(str(exc))}", err=True)
        return None


def _status_line(message: str) -> None:
    """What the judge is waiting for, or why it retries: a line on stderr, whatever it is."""
    from ..scrub import clean

    with contextlib.suppress(OSError):
        click.echo(clean(message), err=True)


class _Threshold(click.ParamType):
    """A score from 0 to 100. click's FloatRange lets NaN through, and `mean < nan` is never
    true, so a NaN threshold would pass every sheet."""

    name = "score"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        import math

        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if math.isnan(number) or not 0 <= number <= 100:
            self.fail(f"{value!r} is not a score from 0 to 100", param, ctx)
        return number


class _Progress:
    """A progress bar on stderr when stderr is a terminal; silent otherwise (logs, pipes, CI).
    `note` prints a line above the bar (or on stderr when there is none)."""

    def __init__(self, total: int) -> None:
        self._bar = None
        if current_env().stderr_isatty and total > 1:
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(transient=True, console=Console(stderr=True))
            self._bar.start()
            self._task = self._bar.add_task("grading", total=total)

    def __call__(self, row: Any) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)

    def note(self, message: str) -> None:
        from ..scrub import clean

        if self._bar is not None:
            self._bar.console.print(clean(message), markup=False, highlight=False)
        else:
            _status_line(message)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
