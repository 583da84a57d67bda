"""The `grader` command: parse arguments, call the library, render, map errors to exit codes.

Imports of the library happen inside commands so that `grader --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .errors import GraderError

EXIT_CODES_HELP = """\b
Exit status:
  0  success
  1  runtime error (a malformed bank, a failed check, an unreadable or empty answer)
  2  usage error (an unknown option or a bad argument, settings that cannot work)
  3  graded, but the score is below --fail-under
  4  could not grade (the LLM judge failed after its retries; no score was given)
"""


class _Group(click.Group):
    """Turns every GraderError into one line per problem on stderr and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GraderError as exc:
            for line in exc.lines():
                click.echo(f"Error: {line}", err=True)
            ctx.exit(int(exc.exit_code))


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


def _columns(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
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
    click.echo("\n".join(out))


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
        f"\nOK: {len(report.questions)} questions, {points} key points, all covered "
        f"by their reference answers ({report.root}, from {report.source})"
        + (" (offline grader skipped)." if no_offline else ".")
    )


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

    loaded = load_bank(bank)
    wanted = _parse_numbers(questions)
    chosen = loaded.select(wanted) if wanted else list(loaded.questions)
    sheet = write_template(chosen)
    if output is None:
        click.echo(sheet, nl=False)
    else:
        output.write_text(sheet, encoding="utf-8")
        click.echo(f"Wrote {len(chosen)} question(s) to {output}", err=True)


MAX_ANSWER_FILE_BYTES = 1_000_000


def read_text_input(path: str) -> str:
    """Read an answer from a file or `-` (stdin) as UTF-8, with one clear error for bad input."""
    from .errors import AnswerError

    if path == "-":
        data = sys.stdin.buffer.read(MAX_ANSWER_FILE_BYTES + 1)
        name = "standard input"
    else:
        p = Path(path)
        if not p.exists():
            raise AnswerError(f"{path}: no such file")
        if p.is_dir():
            raise AnswerError(f"{path}: is a directory, not a file")
        if p.stat().st_size > MAX_ANSWER_FILE_BYTES:
            raise AnswerError(f"{path}: {p.stat().st_size:,} bytes is too large for an answer")
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise AnswerError(f"{path}: cannot read: {exc.strerror}") from exc
        name = path
    if len(data) > MAX_ANSWER_FILE_BYTES:
        raise AnswerError(f"{name}: more than {MAX_ANSWER_FILE_BYTES:,} bytes is too large")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnswerError(f"{name}: not UTF-8 text (invalid byte at offset {exc.start})") from exc


def backend_options(f: Any) -> Any:
    """--backend, --model and --base-url, shared by the commands that grade."""
    from .config import BACKEND_CHOICES

    f = click.option(
        "--base-url",
        help="OpenAI-compatible server, e.g. http://localhost:11434/v1 (Ollama). [env: OPENAI_BASE_URL]",
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
    fmt: str,
    bank: Path | None,
) -> None:
    """Grade one answer to QUESTION (a number or id), read from FILE or standard input."""
    from .bank import load_bank
    from .config import resolve_settings
    from .grading import grade as grade_answer
    from .report import render

    settings = resolve_settings(backend=backend, model=model, base_url=base_url)
    q = load_bank(bank).get(question)
    if answer_file is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise click.UsageError("give the answer as FILE, or pipe it in: echo '...' | grader grade 4")
        answer_file = "-"
    text = read_text_input(answer_file)
    report = grade_answer(q, text, settings)
    color = fmt == "text" and sys.stdout.isatty()
    width = min(120, click.get_terminal_size()[0]) if color else 100
    click.echo(render(report, fmt, color=color, width=width), nl=False)


@main.command()
@backend_options
@click.option(
    "--test",
    "test_connection",
    is_flag=True,
    help="Send one small request to check the connection and the model.",
)
def config(backend: str | None, model: str | None, base_url: str | None, test_connection: bool) -> None:
    """Show the grading settings in effect (key masked) and where each came from."""
    from .config import DEFAULT_MODEL, resolve_settings

    s = resolve_settings(backend=backend, model=model, base_url=base_url)
    backend_line = s.backend + (
        f" (auto: {'a key or base URL is set' if s.backend == 'llm' else 'no key or base URL set'})"
        if s.requested_backend == "auto"
        else ""
    )
    rows = [
        ("backend", backend_line, s.source("backend")),
        ("model", s.model + (" (default)" if s.model == DEFAULT_MODEL else ""), s.source("model")),
        ("base_url", s.base_url or "(OpenAI)", s.source("base_url")),
        ("api_key", s.masked_key, s.source("api_key")),
        ("timeout", f"{s.timeout:g} s", "default"),
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
