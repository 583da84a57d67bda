"""Commands that grade one answer and show the settings: grade, config."""

from __future__ import annotations

from pathlib import Path

import click

from .app import main
from .common import (
    _columns,
    _status_line,
    _width,
    backend_options,
    bank_option,
    current_env,
    sampled,
    samples_option,
)


@main.command()
@click.argument("question")
@click.argument("answer_file", metavar="[FILE|-]", required=False)
@backend_options
@samples_option
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
    samples: int,
    fmt: str,
    bank: Path | None,
) -> None:
    """Grade one answer to QUESTION (a number or id), read from FILE or standard input."""
    from ..bank import load_bank
    from ..report import render

    env = current_env()
    settings = env.settings(backend=backend, model=model, base_url=base_url, timeout=timeout)
    settings = sampled(settings, samples)
    q = load_bank(bank, env).get(question)
    if answer_file is None:
        if env.stdin is None or env.stdin_isatty:
            raise click.UsageError("give the answer as FILE, or pipe it in: echo '...' | grader grade 4")
        answer_file = "-"
    from ..answers import MAX_ANSWER_BYTES
    from ..errors import AnswerError
    from ..files import read_input

    text = read_input(answer_file, max_bytes=MAX_ANSWER_BYTES, error=AnswerError)
    report = env.grader(settings, on_status=_status_line).grade(q, text)
    color = fmt == "text" and env.color
    click.echo(render(report, fmt, color=color, width=_width()), nl=False)


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
    from ..config import DEFAULT_MODEL

    s = current_env().settings(backend=backend, model=model, base_url=base_url, timeout=timeout)
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
        from ..semantic import MODEL_NAME

        rows.append(("offline model", MODEL_NAME, "built in"))
    click.echo(_columns([list(r) for r in rows], ["setting", "value", "from"]))
    if test_connection:
        if s.backend != "llm":
            raise click.UsageError(
                "--test checks an LLM connection; set OPENAI_API_KEY or "
                "OPENAI_BASE_URL, or pass --backend llm --base-url URL"
            )
        from ..judge import check_connection

        seconds, reply = check_connection(s)
        click.echo(f"\nOK: {s.model} answered in {seconds:.2f} s: {reply!r}")
