"""The `grader` command: parse arguments, call the library, render, map errors to exit codes.

Imports of the library happen inside commands so that `grader --help` stays fast.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from .errors import ExitCode, GraderError

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
    import os

    from .scrub import url_secrets

    return [s for s in [os.environ.get("OPENAI_API_KEY")] if s] + url_secrets(
        os.environ.get("OPENAI_BASE_URL")
    )


def _say_error(line: str) -> None:
    from .scrub import clean

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
    import os

    if os.environ.get("GRADER_DEBUG"):
        raise exc
    _say_error(
        f"internal error: {type(exc).__name__}: {exc}. Please report it; "
        "GRADER_DEBUG=1 shows the traceback"
    )
    ctx.exit(int(ExitCode.ERROR))


bank_option = click.option(
    "--bank",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Question bank directory (holds rubrics/ and reference_answers/). Default: $GRADER_BANK, "
    "else the bank shipped with grader.",
)


@click.group(cls=_Group, epilog=EXIT_CODES_HELP)
@click.version_option(package_name="answer-grader", prog_name="grader")
def main() -> None:
    """Practise LLM/ML interview answers and get them graded point by point."""


def _width() -> int:
    """The terminal's width, at most 120 (long lines are hard to read); 100 when it is unknown.
    shutil reads $COLUMNS, then the terminal, so a pipe or a test can set it."""
    import shutil

    return max(40, min(120, shutil.get_terminal_size((100, 24)).columns))


def _color() -> bool:
    """Colour on stdout: a terminal, NO_COLOR unset (https://no-color.org), TERM not dumb."""
    import os

    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _columns(rows: list[list[str]], header: list[str]) -> str:
    """Rows as aligned columns. On a terminal the last column (the free text) is shortened to fit
    its width, so no row wraps; in a pipe every row is whole."""
    from .scrub import printable

    rows = [[printable(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    if sys.stdout.isatty() and rows:
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


@main.command("list")
@click.option("--topic", help="Only questions with this topic tag.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@bank_option
def list_(topic: str | None, fmt: str, bank: Path | None) -> None:
    """List the questions of the bank."""
    from .bank import load_bank

    loaded = load_bank(bank)
    questions = [q for q in loaded.questions if topic is None or topic in q.rubric.topics]
    if topic is not None and not questions:
        raise click.BadParameter(
            f"no question has topic {topic!r}; topics: {', '.join(loaded.topics)}",
            param_hint="--topic",
        )
    if fmt == "json":
        data = [
            {
                "number": q.number,
                "id": q.id,
                "question": q.text,
                "topics": list(q.rubric.topics),
                "difficulty": q.rubric.difficulty,
                "points": len(q.key_points),
            }
            for q in questions
        ]
        click.echo(json.dumps(data, indent=2))
        return
    rows = [
        [str(q.number), q.id, str(len(q.key_points)), ",".join(q.rubric.topics), q.text]
        for q in questions
    ]
    click.echo(_columns(rows, ["#", "id", "points", "topics", "question"]))


@main.command()
@click.argument("question")
@click.option("--reference", is_flag=True, help="Also print the reference answer.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@bank_option
def show(question: str, reference: bool, fmt: str, bank: Path | None) -> None:
    """Show a question (by number or id) and its key points."""
    from .bank import load_bank

    q = load_bank(bank).get(question)
    if fmt == "json":
        data = q.rubric.model_dump(mode="json")
        if reference:
            data["reference_answer"] = q.reference_answer
        click.echo(json.dumps(data, indent=2))
        return
    r = q.rubric
    out = [
        f"Question {q.number} ({q.id}): {q.text}",
        f"topics: {', '.join(r.topics)}   difficulty: {r.difficulty}",
        "",
        "Key points:",
    ]
    for i, p in enumerate(r.key_points, 1):
        marks = [f"weight {p.weight:g}"] + (["critical"] if p.critical else [])
        out.append(f"  {i}. {p.text} [{p.id}; {', '.join(marks)}]")
    if r.misconceptions:
        out += ["", "Misconceptions an interviewer would flag:"]
        out += [f"  - {m.claim} -> {m.correction}" for m in r.misconceptions]
    if reference:
        out += ["", "Reference answer:", "", q.reference_answer.strip()]
    from .scrub import printable

    click.echo(_fit(printable("\n".join(out))))


def _fit(text: str) -> str:
    """Prose wrapped to the terminal's width, continuation lines indented under their item;
    code blocks and piped output left as they are."""
    if not sys.stdout.isatty():
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


@main.command()
@click.option(
    "--no-offline",
    is_flag=True,
    help="Skip the offline grader's pass: files and keywords only, no model loaded.",
)
@bank_option
def check(no_offline: bool, bank: Path | None) -> None:
    """Check the bank: every rubric valid against the schema, ids unique, numbers 1..N, both files
    present for each question, and every key point carried by its own reference answer, by the
    keyword check and by the offline grader."""
    from .audit import audit_bank
    from .errors import CheckFailed

    report = audit_bank(bank, offline=not no_offline)
    rows = []
    for a in report.questions:
        missed = [e.point_id for e in a.evidence if not e.complete]
        missed += [
            p.id
            for p, (verdict, _) in zip(a.question.key_points, a.offline, strict=False)
            if verdict != "covered" and p.id not in missed
        ]
        offline = f"{a.offline_covered}/{len(a.evidence)}" if a.offline else "skipped"
        n = len(a.evidence)
        row = [str(a.question.number), a.question.id, f"{a.covered}/{n}", offline, str(a.words)]
        rows.append([*row, ", ".join(missed) or "-"])
    if rows:
        click.echo(_columns(rows, ["#", "id", "keywords", "offline", "words", "not covered"]))
    failures = report.failures
    if failures:
        raise CheckFailed([str(f) for f in failures])
    points = sum(len(a.evidence) for a in report.questions)
    click.echo(
        _fit(
            f"\nOK: {len(report.questions)} questions, {points} key points, all covered "
            f"by their reference answers ({report.root}, from {report.source})"
            + (" (offline grader skipped)." if no_offline else ".")
        )
    )


def _check_output(output: Path | None) -> None:
    """Refuse an --output whose folder does not exist before doing any work."""
    if output is not None and not output.parent.is_dir():
        raise click.BadParameter(f"folder {str(output.parent)!r} does not exist", param_hint="--output")


def _shown(path: Path | str) -> str:
    from .scrub import printable

    return printable(str(path))


def _parse_numbers(value: str | None) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


@main.command()
@click.option("--questions", "-q", help="Comma-separated numbers or ids, e.g. 1,4,7. Default: all.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the sheet to this file instead of stdout.",
)
@bank_option
def template(questions: str | None, output: Path | None, bank: Path | None) -> None:
    """Write a blank answer sheet to fill in and grade later."""
    from .answers import write_template
    from .bank import load_bank

    _check_output(output)
    loaded = load_bank(bank)
    wanted = _parse_numbers(questions)
    chosen = loaded.select(wanted) if wanted else list(loaded.questions)
    sheet = write_template(chosen)
    if output is None:
        click.echo(sheet, nl=False)
    else:
        from .files import write_atomic

        write_atomic(output, sheet)
        click.echo(f"Wrote {len(chosen)} question(s) to {_shown(output)}", err=True)


def backend_options(f: Any) -> Any:
    """--backend, --model and --base-url, shared by the commands that grade."""
    from .config import BACKEND_CHOICES

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


@main.command()
@click.argument("question")
@click.argument("answer_file", metavar="[FILE|-]", required=False)
@backend_options
@click.option(
    "--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True
)
@bank_option
def grade(
    question: str,
    answer_file: str | None,
    backend: str | None,
    model: str | None,
    base_url: str | None,
    timeout: float | None,
    fmt: str,
    bank: Path | None,
) -> None:
    """Grade one answer to QUESTION (a number or id), read from FILE or standard input."""
    from .bank import load_bank
    from .config import resolve_settings
    from .grading import grader_for
    from .report import render

    settings = resolve_settings(backend=backend, model=model, base_url=base_url, timeout=timeout)
    q = load_bank(bank).get(question)
    if answer_file is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise click.UsageError("give the answer as FILE, or pipe it in: echo '...' | grader grade 4")
        answer_file = "-"
    from .answers import MAX_ANSWER_BYTES
    from .errors import AnswerError
    from .files import read_input

    text = read_input(answer_file, max_bytes=MAX_ANSWER_BYTES, error=AnswerError)
    report = grader_for(settings, on_status=_status_line).grade(q, text)
    color = fmt == "text" and _color()
    width = _width() if sys.stdout.isatty() else 100
    click.echo(render(report, fmt, color=color, width=width), nl=False)


def _status_line(message: str) -> None:
    """What the judge is waiting for, or why it retries: a line on stderr, whatever it is."""
    from .scrub import clean

    with contextlib.suppress(OSError):
        click.echo(clean(message), err=True)


@main.command()
@backend_options
@click.option(
    "--test",
    "test_connection",
    is_flag=True,
    help="Send one small request to check the connection and the model.",
)
def config(
    backend: str | None,
    model: str | None,
    base_url: str | None,
    timeout: float | None,
    test_connection: bool,
) -> None:
    """Show the grading settings in effect (key and URL credentials masked) and where each came
    from."""
    from .config import DEFAULT_MODEL, resolve_settings

    s = resolve_settings(backend=backend, model=model, base_url=base_url, timeout=timeout)
    backend_line = s.backend + (
        f" (auto: {'a key or base URL is set' if s.backend == 'llm' else 'no key or base URL set'})"
        if s.requested_backend == "auto"
        else ""
    )
    rows = [
        ("backend", backend_line, s.source("backend")),
        ("model", s.model + (" (default)" if s.model == DEFAULT_MODEL else ""), s.source("model")),
        ("base_url", s.shown_base_url or "(OpenAI)", s.source("base_url")),
        ("api_key", s.masked_key, s.source("api_key")),
        ("timeout", f"{s.timeout:g} s per request, {2 * s.timeout:g} s per answer", s.source("timeout")),
        ("retries", str(s.max_retries), "default"),
    ]
    if s.backend == "offline":
        from .semantic import MODEL_NAME

        rows.append(("offline model", MODEL_NAME, "built in"))
    click.echo(_columns([list(r) for r in rows], ["setting", "value", "from"]))
    if test_connection:
        if s.backend != "llm":
            raise click.UsageError(
                "--test checks an LLM connection; set OPENAI_API_KEY or "
                "OPENAI_BASE_URL, or pass --backend llm --base-url URL"
            )
        from .judge import check_connection

        seconds, reply = check_connection(s)
        click.echo(f"\nOK: {s.model} answered in {seconds:.2f} s: {reply!r}")


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


@main.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE|- [FILE...]")
@backend_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json", "junit"]),
    default="text",
    show_default=True,
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file instead of stdout (atomically: a failed write leaves "
    "any old file as it was, and the report goes to stdout instead).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Concurrent LLM requests.",
)
@click.option("--no-cache", is_flag=True, help="Grade again even if a cached grade exists.")
@click.option(
    "--fail-under",
    type=_Threshold(),
    help="Exit with status 3 if the mean score of the graded answers is below this (0-100).",
)
@click.option(
    "--record",
    is_flag=True,
    help="Add the sheet's answers to your practice history and review schedule. Each is saved "
    "before it is graded; the same answer from the same file is recorded once, however often "
    "the sheet is scored. Off by default: an instructor's sheets are not their own practice.",
)
@click.option("--no-history", is_flag=True, hidden=True)  # the old opt-out; recording is now opt-in
@bank_option
def score(
    files: tuple[str, ...],
    backend: str | None,
    model: str | None,
    base_url: str | None,
    timeout: float | None,
    fmt: str,
    output: Path | None,
    jobs: int,
    no_cache: bool,
    fail_under: float | None,
    record: bool,
    no_history: bool,
    bank: Path | None,
) -> None:
    """Grade every answer of one or more answer sheets (markdown, as `grader template` writes).

    Unanswered questions are counted, not scored. Nothing is added to your practice history
    unless --record is given. Exit status 3 when the mean score is below --fail-under; 4 when
    some answer could not be graded (its row says why); 1 when the report cannot be written
    (it is then printed to stdout, so the grading is not lost)."""
    from .answers import MAX_SHEET_BYTES, match_entries, parse_sheet
    from .bank import load_bank
    from .batch import score_matches, sheet_report
    from .config import resolve_settings
    from .errors import SheetError
    from .files import read_input
    from .grading import grader_for
    from .report import render_sheet

    settings = resolve_settings(backend=backend, model=model, base_url=base_url, timeout=timeout)
    _check_output(output)
    loaded = load_bank(bank)
    matches = []
    for name in files:
        text = read_input(name, max_bytes=MAX_SHEET_BYTES, error=SheetError)
        label = "stdin" if name == "-" else name
        entries = parse_sheet(text, _shown(label))
        matches += [(label, m) for m in match_entries(entries, loaded.questions)]
    cache = None if no_cache else _open_cache()
    recorder = _recorder(matches) if record and not no_history else None
    progress = _Progress(len(matches))
    try:
        grader = grader_for(settings, on_status=progress.note)
        rows = score_matches(
            matches,
            grader,
            jobs=jobs,
            cache=cache,
            progress=(lambda row: (recorder.graded(row) if recorder else None, progress(row))),
        )
    finally:
        progress.close()
        if recorder is not None:
            recorder.history.close()
    report = sheet_report(rows, grader, ["stdin" if f == "-" else f for f in files], fail_under)
    to_file = output is not None
    color = fmt == "text" and not to_file and _color()
    width = _width() if not to_file and sys.stdout.isatty() else 100
    rendered = render_sheet(report, fmt, color=color, width=width)
    if output is not None:
        from .errors import OutputError
        from .files import write_atomic

        try:
            write_atomic(output, rendered)
        except OutputError as exc:
            # The grading is done (and cached): do not lose it to a full disk or a read-only folder.
            click.echo(render_sheet(report, fmt, color=False, width=100), nl=False)
            _say_error(f"{exc}; the report is on standard output instead")
            sys.exit(int(ExitCode.ERROR))
        click.echo(f"Wrote the report to {_shown(output)}", err=True)
    else:
        click.echo(rendered, nl=False)
    t = report.totals
    if t.errors:
        sys.exit(int(ExitCode.NOT_GRADED))
    if fail_under is not None and (t.mean_score is None or t.mean_score < fail_under):
        mean = "No answer was graded" if t.mean_score is None else f"Mean score {t.mean_score:g}"
        click.echo(f"{mean}: below --fail-under {fail_under:g}", err=True)
        sys.exit(int(ExitCode.BELOW_THRESHOLD))


def _recorder(matches: Any) -> Any:
    from .attempts import SheetRecorder
    from .history import open_history

    return SheetRecorder(open_history(), matches)


def _open_cache() -> Any:
    """The grade cache, or None (with a note) when it cannot be opened: it only saves time."""
    from .cache import default_cache

    try:
        return default_cache()
    except GraderError as exc:
        from .scrub import clean

        click.echo(f"Note: grading without the cache: {clean(str(exc))}", err=True)
        return None


class _Progress:
    """A progress bar on stderr when stderr is a terminal; silent otherwise (logs, pipes, CI).
    `note` prints a line above the bar (or on stderr when there is none)."""

    def __init__(self, total: int) -> None:
        self._bar = None
        if sys.stderr.isatty() and total > 1:
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(transient=True, console=Console(stderr=True))
            self._bar.start()
            self._task = self._bar.add_task("grading", total=total)

    def __call__(self, row: Any) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)

    def note(self, message: str) -> None:
        from .scrub import clean

        if self._bar is not None:
            self._bar.console.print(clean(message), markup=False, highlight=False)
        else:
            _status_line(message)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


@main.command()
@click.option("--question", "-q", "question_ref", help="Practise this question (number or id).")
@click.option("--topic", help="Pick from the questions with this topic.")
@click.option("--random", "shuffle", is_flag=True, help="Pick a question at random.")
@click.option("--editor", is_flag=True, help="Write the answer in $EDITOR instead of the terminal.")
@backend_options
@bank_option
def practice(
    question_ref: str | None,
    topic: str | None,
    shuffle: bool,
    editor: bool,
    backend: str | None,
    model: str | None,
    base_url: str | None,
    timeout: float | None,
    bank: Path | None,
) -> None:
    """Answer questions one at a time and get each graded; by default the next one due for review.

    Every answer is saved to the history before it is graded. Ctrl-C while typing keeps a draft,
    offered back the next time; so do closing the terminal (SIGHUP) and SIGTERM. Exit status 130
    after Ctrl-C (129 after SIGHUP, 143 after SIGTERM)."""
    from rich.console import Console

    from .bank import load_bank
    from .config import resolve_settings
    from .history import open_history
    from .practice import DraftSaved, Session, catch_signals
    from .schedule import next_question

    settings = resolve_settings(backend=backend, model=model, base_url=base_url, timeout=timeout)
    catch_signals()
    loaded = load_bank(bank)
    questions = list(loaded.questions)
    if topic is not None:
        questions = [q for q in questions if topic in q.rubric.topics]
        if not questions:
            raise click.BadParameter(
                f"no question has topic {topic!r}; topics: {', '.join(loaded.topics)}",
                param_hint="--topic",
            )
    history = open_history()
    console = Console(highlight=False)
    grader: list[Any] = []  # built on the first answer: openai is not imported before it is needed

    def status(message: str) -> None:
        from .scrub import clean

        console.print(clean(message), style="dim", markup=False, highlight=False)

    def grade_one(q: Any, text: str) -> Any:
        from .grading import grader_for

        if not grader:
            grader.append(grader_for(settings, on_status=status))
        return grader[0].grade(q, text)

    session = Session(
        questions=questions,
        history=history,
        settings=settings,
        console=console,
        editor=(lambda text: click.edit(text, extension=".md")) if editor else None,
        grade=grade_one,
    )
    draft_text = ""
    first = None
    reason = ""
    draft = history.latest_draft()
    if draft is not None and draft[0] not in {q.id for q in loaded.questions}:
        draft = None  # a draft for a question of another bank: keep it, but not for this one
    if draft is not None and (question_ref is None or loaded.get(question_ref).id == draft[0]):
        q = loaded.get(draft[0])
        console.print(
            f"You have an unfinished answer to question {q.number} ({q.id}), saved "
            f"{draft[2].astimezone().strftime('%Y-%m-%d %H:%M')}."
        )
        try:
            keep = input("Resume it? [Y/n] ").strip().lower() in ("", "y", "yes")
        except (EOFError, KeyboardInterrupt):
            keep = False
        if keep:
            first, reason, draft_text = q, "your draft", draft[1]
    if first is None:
        if question_ref is not None:
            first, reason = loaded.get(question_ref), "chosen"
        else:
            first, reason = next_question(questions, history, shuffle=shuffle)
    try:
        session.run(first, reason, draft_text)
    except DraftSaved as exc:
        _farewell(
            console,
            f"\nDraft of question {loaded.get(exc.question_id).number} saved: "
            "`grader practice` will offer it next time.",
        )
        sys.exit(128 + exc.signum)
    except KeyboardInterrupt as exc:
        _farewell(console, "\nInterrupted. Answers already submitted are in `grader history`.")
        sys.exit(128 + getattr(exc, "signum", 2))
    finally:
        history.close()


def _farewell(console: Any, text: str) -> None:
    # The terminal may be closed (SIGHUP): the draft is saved all the same.
    with contextlib.suppress(OSError):
        console.print(text, markup=False, highlight=False)


@main.command()
@click.option("--question", "-q", "question_ref", help="Only this question (number or id).")
@click.option("--limit", "-n", type=click.IntRange(1), default=20, show_default=True)
@click.option("--regrade", is_flag=True, help="Grade the attempts that were saved ungraded.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@backend_options
@bank_option
def history(
    question_ref: str | None,
    limit: int,
    regrade: bool,
    fmt: str,
    backend: str | None,
    model: str | None,
    base_url: str | None,
    timeout: float | None,
    bank: Path | None,
) -> None:
    """List past attempts, newest first; --regrade grades those saved ungraded."""
    from .bank import load_bank
    from .history import open_history

    loaded = load_bank(bank)
    qid = loaded.get(question_ref).id if question_ref else None
    store = open_history()
    try:
        if regrade:
            _regrade(store, loaded, qid, backend, model, base_url, timeout)
            return
        attempts = store.attempts(qid, limit=limit)
    finally:
        store.close()
    if fmt == "json":
        data = [
            {
                "id": a.id,
                "question_id": a.question_id,
                "submitted": a.submitted.isoformat(),
                "seconds": a.seconds,
                "status": a.status,
                "score": a.score,
                "backend": a.backend,
                "source": a.source,
                "error": a.error,
                "answer": a.answer,
            }
            for a in attempts
        ]
        click.echo(json.dumps(data, indent=2))
        return
    if not attempts:
        click.echo("No attempts yet: start with `grader practice`.")
        return
    numbers = {q.id: q.number for q in loaded.questions}
    rows = []
    for a in attempts:
        score = f"{a.score:g}" if a.score is not None else ("error" if a.error else "ungraded")
        took = f"{a.seconds:.0f}s" if a.seconds is not None else "-"
        rows.append(
            [
                f"#{a.id}",
                a.submitted.astimezone().strftime("%Y-%m-%d %H:%M"),
                str(numbers.get(a.question_id, "?")),
                a.question_id,
                score,
                took,
                a.backend or "-",
                a.source,
            ]
        )
    click.echo(
        _columns(rows, ["attempt", "when", "#", "question", "score", "took", "graded by", "from"])
    )


def _regrade(
    store: Any,
    loaded: Any,
    qid: str | None,
    backend: str | None,
    model: str | None,
    base_url: str | None,
    timeout: float | None,
) -> None:
    from .attempts import regrade
    from .config import resolve_settings
    from .grading import grader_for
    from .scrub import clean

    settings = resolve_settings(backend=backend, model=model, base_url=base_url, timeout=timeout)

    def said(done: Any) -> None:
        if isinstance(done.result, GraderError):
            message = clean(" ".join(done.result.lines()), settings.secrets)
            click.echo(f"#{done.attempt_id} {done.question_id}: {message}", err=True)
        else:
            r = done.result
            click.echo(f"#{done.attempt_id} {done.question_id}: {r.score:g}/100 ({r.backend})")

    if not store.attempts(qid, status="ungraded"):
        click.echo("Nothing to regrade: every attempt is graded.")
        return
    results = regrade(store, loaded, grader_for(settings, on_status=_status_line), qid, said)
    failed = sum(isinstance(d.result, GraderError) for d in results)
    click.echo(f"Regraded {len(results) - failed} of {len(results)} attempts.")
    if failed:
        sys.exit(int(ExitCode.NOT_GRADED))


@main.command()
@bank_option
def stats(bank: Path | None) -> None:
    """Your progress: per question attempts, best, last and next review; per topic averages."""
    from .bank import load_bank
    from .history import now, open_history
    from .stats import progress, sparkline

    loaded = load_bank(bank)
    store = open_history()
    try:
        p = progress(loaded.questions, store.attempts(), store.due_dates())
    finally:
        store.close()
    if not p.attempts:
        click.echo("No attempts yet: start with `grader practice`.")
        return
    when = now()

    def due(d: Any) -> str:
        return "-" if d is None else "now" if d <= when else d.astimezone().strftime("%Y-%m-%d %H:%M")

    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:g}"

    rows = [
        [str(r.question.number), r.question.id, str(r.attempts), num(r.best), num(r.last), *more]
        for r in p.questions
        for more in [(due(r.due), sparkline(r.scores))]
    ]
    click.echo(_columns(rows, ["#", "question", "attempts", "best", "last", "next due", "scores"]))
    if p.topics:
        trows = [[t, str(n), f"{mean:.1f}"] for t, n, mean in p.topics]
        click.echo("\n" + _columns(trows, ["topic", "graded attempts", "mean score"]))
    regrade = f", {p.ungraded} ungraded (grader history --regrade)" if p.ungraded else ""
    click.echo(
        f"\n{p.attempts} attempts, {p.graded} graded{regrade}. Scores over time: {sparkline(p.scores)}"
    )


@main.command("eval")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--limit", type=click.IntRange(1), help="Use only the first N rows.")
@click.option(
    "--sample", "sample_size", type=click.IntRange(1), help="Use N rows drawn at random (with --seed)."
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--per-question", is_flag=True, help="Also list each question's agreement.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Draw predicted against human scores into this PNG (needs matplotlib).",
)
def eval_(
    data: Path,
    limit: int | None,
    sample_size: int | None,
    seed: int,
    fmt: str,
    per_question: bool,
    plot: Path | None,
) -> None:
    """Measure the offline grader's agreement with human scores in DATA (JSON lines).

    Pearson, Spearman and RMSE on scores scaled to each row's max_score; quadratic-weighted kappa
    on fifths; for labelled rows, accuracy and macro-F1 with the threshold chosen on the other half
    of the questions; all beside the unigram-overlap floor. A row with reference_answers is graded
    against each of them and keeps its best score."""
    from .evaluation import evaluate, load_rows, predict, sample

    _check_output(plot)
    rows = sample(load_rows(data), limit, sample_size, seed)
    progress = _Progress(len(rows))
    try:
        predicted = predict(rows, progress=lambda: progress(None))
    finally:
        progress.close()
    result = evaluate(rows, predicted)
    if plot is not None:
        try:
            _scatter(result, plot)
        except OSError as exc:
            from .errors import OutputError

            raise OutputError(plot, exc.strerror or str(exc)) from exc
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(_fit(_eval_text(result, per_question)))


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}"


def _eval_text(result: dict[str, Any], per_question: bool) -> str:
    header = ["scope", "scorer", "n", "pearson", "spearman", "rmse", "qwk", "accuracy", "macro-F1"]
    rows = []
    scopes = [("all", result["overall"]), *result["corpora"].items()]
    for name, both in scopes:
        for scorer in ("grader", "unigram_overlap"):
            m = both[scorer]
            rows.append(
                [
                    name,
                    "offline grader" if scorer == "grader" else "unigram overlap",
                    str(m["n"]),
                    _fmt(m["pearson"]),
                    _fmt(m["spearman"]),
                    _fmt(m["rmse"]),
                    _fmt(m["qwk"]),
                    _fmt(m["accuracy"]),
                    _fmt(m["macro_f1"]),
                ]
            )
    out = [f"{result['rows']} rows", _columns(rows, header)]
    if per_question:
        qrows = [
            [qid, str(q["n"]), f"{q['human_mean']:.2f}", f"{q['grader_mean']:.2f}", _fmt(q["pearson"])]
            for qid, q in result["per_question"].items()
        ]
        out += ["", _columns(qrows, ["question", "n", "human mean", "grader mean", "pearson"])]
    out.append(
        "\nAccuracy and macro-F1 (2-way: label 'correct' or not) use a threshold chosen on "
        "the other half of the questions, never on the rows scored."
    )
    return "\n".join(out)


def _scatter(result: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise click.UsageError("--plot needs matplotlib: pip install matplotlib") from exc
    pts = result["predictions"]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter([p["human"] for p in pts], [p["grader"] for p in pts], s=8, alpha=0.4)
    ax.set_xlabel("human score (fraction of max)")
    ax.set_ylabel("offline grader score")
    ax.set_title(f"grader eval: {len(pts)} answers")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


@main.command()
@click.argument("question_id")
@click.option("--question", "question_text", required=True, help="The question, as asked.")
@click.option(
    "--reference",
    "reference_file",
    required=True,
    metavar="FILE|-",
    help="The reference answer (markdown).",
)
@click.option("--topic", "topics", multiple=True, help="Topic tag (repeatable).")
@click.option(
    "--difficulty",
    # The models' Literal, repeated: importing pydantic here would slow `grader --help`.
    type=click.Choice(["foundational", "intermediate", "advanced"]),
    default="intermediate",
    show_default=True,
)
@click.option(
    "--bank",
    "bank_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The bank to add the question to (your own; see --bank).",
)
def new(
    question_id: str,
    question_text: str,
    reference_file: str,
    topics: tuple[str, ...],
    difficulty: str,
    bank_dir: Path,
) -> None:
    """Add a question to your own bank, with key points derived from its reference answer.

    Each sentence (or clause of a long sentence) of the reference becomes a key point with its
    most specific words as keywords: a first draft of the rubric to edit, then `grader check`."""
    from .answers import MAX_ANSWER_BYTES
    from .bootstrap import new_question
    from .errors import AnswerError
    from .files import read_input

    reference = read_input(reference_file, max_bytes=MAX_ANSWER_BYTES, error=AnswerError)
    path, n = new_question(
        bank_dir,
        question_id,
        question_text,
        reference,
        topics=topics,
        difficulty=difficulty,
        reference_name=reference_file,
    )
    click.echo(
        _fit(
            f"Wrote {_shown(path)} ({n} key points) and its reference answer.\n"
            f"Edit the points, then run: grader check --bank {_shown(bank_dir)}"
        )
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(prog_name="grader"))
