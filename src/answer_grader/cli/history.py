"""`grader history` and `grader stats`: past attempts and progress."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import ExitCode, GraderError
from .app import main
from .common import _columns, _status_line, backend_options, bank_option, current_env


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
    from ..bank import load_bank

    env = current_env()
    loaded = load_bank(bank, env)
    qid = loaded.get(question_ref).id if question_ref else None
    store = env.history()
    try:
        if regrade:
            _regrade(store, loaded, qid, backend, model, base_url, timeout)
            return
        attempts = store.attempts(qid, limit=limit)
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps([a.to_json() for a in attempts], indent=2))
        return
    if not attempts:
        click.echo("No attempts yet: start with `grader practice`.")
        return
    click.echo(_attempt_table(attempts, {q.id: q.number for q in loaded.questions}))


def _attempt_table(attempts: Any, numbers: dict[str, int]) -> str:
    rows = []
    for a in attempts:
        score = f"{a.score:g}" if a.score is not None else ("error" if a.error else "ungraded")
        took = f"{a.seconds:.0f}s" if a.seconds is not None else "-"
        when = a.submitted.astimezone().strftime("%Y-%m-%d %H:%M")
        number = str(numbers.get(a.question_id, "?"))
        rows.append([f"#{a.id}", when, number, a.question_id, score, took, a.backend or "-", a.source])
    return _columns(rows, ["attempt", "when", "#", "question", "score", "took", "graded by", "from"])


def _regrade(
    store: Any,
    loaded: Any,
    qid: str | None,
    backend: str | None,
    model: str | None,
    base_url: str | None,
    timeout: float | None,
) -> None:
    from ..attempts import regrade
    from ..scrub import clean

    env = current_env()
    settings = env.settings(backend=backend, model=model, base_url=base_url, timeout=timeout)

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
    results = regrade(store, loaded, env.grader(settings, on_status=_status_line), qid, said)
    failed = sum(isinstance(d.result, GraderError) for d in results)
    click.echo(f"Regraded {len(results) - failed} of {len(results)} attempts.")
    if failed:
        sys.exit(int(ExitCode.NOT_GRADED))


@main.command()
@bank_option
def stats(bank: Path | None) -> None:
    """Your progress: per question attempts, best, last and next review; per topic averages."""
    from ..bank import load_bank
    from ..history import now
    from ..stats import progress, sparkline

    env = current_env()
    loaded = load_bank(bank, env)
    store = env.history()
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
        for more in [(str(r.wrong), due(r.due), sparkline(r.scores))]
    ]
    head = ["#", "question", "attempts", "best", "last", "wrong", "next due", "scores"]
    click.echo(_columns(rows, head))
    if p.topics:
        trows = [[t, str(n), f"{mean:.1f}"] for t, n, mean in p.topics]
        click.echo("\n" + _columns(trows, ["topic", "graded attempts", "mean score"]))
    regrade = f", {p.ungraded} ungraded (grader history --regrade)" if p.ungraded else ""
    wrong = f"; {p.wrong} point{'s' * (p.wrong != 1)} stated wrongly" if p.wrong else ""
    click.echo(
        f"\n{p.attempts} attempts, {p.graded} graded{regrade}{wrong}. "
        f"Scores over time: {sparkline(p.scores)}"
    )
    if p.questions:
        click.echo('"wrong": points of the last graded attempt stated incorrectly (contradicted).')
