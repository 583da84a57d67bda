"""Batch grading: `grader score --batch`, `--batch-file`, `--batch-results`, and `grader batch`."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any

import click

from ..errors import BatchError
from .app import main
from .common import (
    _columns,
    _shown,
    _status_line,
    backend_options,
    current_env,
    open_cache,
    output_option,
    poll_option,
    sheet_format_option,
)

RESULTS_LABEL = "batch results"  # the judge's "where" for file-based routes: one cache version


def file_settings(settings: Any, samples: int) -> Any:
    """Settings for the file routes (--batch-file, --batch-results): the LLM judge's model and
    seed, without a server: nothing is sent."""
    return dataclasses.replace(settings, backend="llm", samples=samples)


def replay_grader(env: Any, settings: Any, results: dict[str, Any], where: str) -> Any:
    """An LLM grader whose judge answers from batch results, with this environment's offline
    grader for the cross-check."""
    from ..batches import ReplayJudge
    from ..config import resolve_settings
    from ..llm import LLMGrader

    judge = ReplayJudge(results, settings.model, settings.seed, secrets=settings.secrets)
    offline = env.grader(resolve_settings("offline", env={}))
    return LLMGrader(judge, where=where, offline=offline, samples=settings.samples)


def write_batch_file(
    env: Any, settings: Any, matches: Any, cache: Any, output: Path, files: Any
) -> None:
    """--batch-file: the judge requests of every answer not yet graded, to `output`."""
    from ..batches import batch_text, pending, requests_for, seeds
    from ..files import write_atomic

    grader = replay_grader(env, settings, {}, RESULTS_LABEL)
    todo = pending(matches, grader.version, cache)
    requests = requests_for(todo, settings.model, seeds(settings.samples, settings.seed))
    if str(output) == "-":  # to standard output, for a pipe
        click.echo(batch_text(requests), nl=False)
    else:
        write_atomic(output, batch_text(requests))
    sheets = " ".join(_shown(f) for f in files)
    click.echo(
        f"Wrote {len(requests)} requests for {len(todo)} answers to {_shown(output)}"
        + (f" ({len(matches) - len(todo)} need no request)" if len(matches) > len(todo) else "")
        + ".\nRun them with OpenAI's Batch API, or on vLLM:\n"
        f"  python -m vllm.entrypoints.openai.run_batch -i {_shown(output)} -o results.jsonl "
        f"--model {settings.model}\nthen grade them with:\n"
        f"  grader score {sheets} --batch-results results.jsonl --model {settings.model}"
        + (f" --samples {settings.samples}" if settings.samples > 1 else "")
        + "\n(the same model and samples: each request's custom_id depends on them)",
        err=True,
    )


def results_grader(env: Any, settings: Any, path: str) -> Any:
    """--batch-results: an LLM grader that answers from the output file at `path`."""
    from ..batches import MAX_RESULTS_BYTES, read_results
    from ..errors import BatchError
    from ..files import read_input

    text = read_input(path, max_bytes=MAX_RESULTS_BYTES, error=BatchError)
    return replay_grader(env, settings, read_results(text, path), RESULTS_LABEL)


def batch_grader(
    env: Any,
    settings: Any,
    matches: Any,
    cache: Any,
    *,
    sheets: list[tuple[str, str]],
    bank: Path | None,
    poll: float,
    batch_id: str | None = None,
) -> tuple[Any, str | None]:
    """--batch: submit the judge requests of the answers not yet graded as one batch (or resume
    the saved batch of the same requests, or the batch `batch_id`), wait for it, and return an
    LLM grader that answers from its results, with the batch's id."""
    from ..batches import (
        BatchStore,
        batch_text,
        digest,
        new_state,
        pending,
        requests_for,
        results_of,
        seeds,
        submit,
    )
    from ..judge import make_client

    where = settings.shown_base_url or "OpenAI"
    direct = env.grader(settings)  # its version: collected grades replay in a direct run
    store = BatchStore(env.data_dir / "batches")
    client = make_client(settings.base_url, settings.api_key, settings.timeout).with_options(
        max_retries=3
    )
    if batch_id is None:
        todo = pending(matches, direct.version, cache)
        if not todo:
            return replay_grader(env, settings, {}, where), None
        text = batch_text(requests_for(todo, settings.model, seeds(settings.samples, settings.seed)))
        state = store.pending(digest(text), where)
        if state is not None:
            batch_id = state["id"]
            _status_line(f"Resuming batch {batch_id}, submitted {state['submitted']}.")
        else:
            batch = submit(client, text, description=f"answer-grader: {len(todo)} answers")
            batch_id = batch.id
            store.save(
                new_state(
                    batch,
                    text=text,
                    model=settings.model,
                    server=where,
                    samples=settings.samples,
                    seed=settings.seed,
                    sheets=sheets,
                    bank=str(bank) if bank else None,
                )
            )
            _status_line(
                f"Submitted batch {batch_id}: {len(text.splitlines())} requests for {len(todo)} "
                f"answers. If this is interrupted: grader batch collect {batch_id}"
            )
    assert batch_id is not None
    try:
        finished = _wait(client, batch_id, poll)
    except BatchError as exc:
        if exc.status == 404:  # not this server's (another key, or purged): submit anew next time
            store.ended(batch_id, "unknown to the server")
        raise
    if finished.status != "completed":
        store.ended(batch_id, finished.status)
        _status_line(
            f"Batch {batch_id} {finished.status}: grading the requests it finished; the rest are "
            "not graded (the same command submits them anew)"
        )
    grader = replay_grader(env, settings, results_of(client, finished), where)
    return grader, batch_id


def _wait(client: Any, batch_id: str, poll: float) -> Any:
    from ..batches import progress_text, wait

    last = [""]

    def shown(batch: Any) -> None:
        text = progress_text(batch)
        if text != last[0]:
            last[0] = text
            _status_line(text)

    try:
        return wait(client, batch_id, interval=poll, on_progress=shown)
    except BatchError as exc:
        if not exc.transient:
            raise
        # The server went away while we waited; the batch may well not have.
        resume = f"the batch is saved: `grader batch collect {batch_id}` resumes"
        error = BatchError(f"{exc}; {resume}")
        error.transient, error.status = exc.transient, exc.status
        raise error from exc
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):
            click.echo(
                f"\nBatch {batch_id} goes on at the server: `grader batch collect {batch_id}` "
                "(or the same command again) grades it when it is done.",
                err=True,
            )
        raise


@main.group()
def batch() -> None:
    """Batches of judge requests submitted by `grader score --batch`."""


@batch.command()
@click.argument("batch_id", required=False)
@backend_options
def status(
    batch_id: str | None,
    backend: str | None,
    model: str | None,
    base_url: str | None,
    timeout: float | None,
) -> None:
    """The saved batches (without BATCH_ID), or where BATCH_ID stands at the server."""
    from ..batches import BatchStore, progress_text, retrieve

    env = current_env()
    store = BatchStore(env.data_dir / "batches")
    if batch_id is None:
        rows = [
            [
                s["id"],
                s["submitted"],
                str(s["requests"]),
                s["model"],
                s["server"],
                s["collected"] or (f"no: {s['ended']}" if s.get("ended") else "not yet"),
            ]
            for s in store.all()
        ]
        if not rows:
            click.echo("No saved batches. `grader score SHEETS --batch` submits one.")
            return
        click.echo(_columns(rows, ["batch", "submitted", "requests", "model", "server", "collected"]))
        return
    state = store.get(batch_id)
    settings = _settings_for(env, state, backend, model, base_url, timeout)
    from ..judge import make_client

    client = make_client(settings.base_url, settings.api_key, settings.timeout).with_options(
        max_retries=3
    )
    click.echo(progress_text(retrieve(client, batch_id)))
    collected = f"; collected {state['collected']}" if state["collected"] else "; not collected yet"
    submitted = f"Submitted {state['submitted']}, {state['requests']} requests"
    click.echo(f"{submitted}, model {state['model']}{collected}.")


def _settings_for(
    env: Any, state: dict[str, Any], backend: Any, model: Any, base_url: Any, timeout: Any
) -> Any:
    """The connection from the flags and environment; the model, seed and samples the batch was
    submitted with (its requests were written for them)."""
    from ..errors import BatchError

    settings = env.settings(
        backend=backend or "llm", model=model or state["model"], base_url=base_url, timeout=timeout
    )
    if settings.backend != "llm":
        raise BatchError("a batch is collected from the LLM server: --backend llm")
    return dataclasses.replace(
        settings, samples=state.get("samples", 1), seed=state.get("seed", settings.seed)
    )


@batch.command()
@click.argument("batch_id")
@backend_options
@sheet_format_option
@output_option
@poll_option
def collect(
    batch_id: str,
    backend: str | None,
    model: str | None,
    base_url: str | None,
    timeout: float | None,
    fmt: str,
    output: Path | None,
    poll_interval: float,
) -> None:
    """Wait for BATCH_ID to end, then grade its answers and report them as `grader score` does.
    The answers are those saved when it was submitted. Exit status as for `grader score`."""
    from ..answers import match_sheets
    from ..bank import load_bank
    from ..batch import score_matches, sheet_report
    from ..batches import BatchStore
    from .common import _check_output, _Progress
    from .sheets import _deliver, _exit_status

    env = current_env()
    _check_output(output)
    store = BatchStore(env.data_dir / "batches")
    state = store.get(batch_id)
    settings = _settings_for(env, state, backend, model, base_url, timeout)
    bank = Path(state["bank"]) if state.get("bank") else None
    sheets = [(s["source"], s["text"]) for s in state["sheets"]]
    matches = match_sheets(sheets, load_bank(bank, env).questions)
    cache = open_cache(env)
    grader, _ = batch_grader(
        env, settings, matches, cache, sheets=sheets, bank=bank, poll=poll_interval, batch_id=batch_id
    )
    progress = _Progress(len(matches))
    try:
        rows = score_matches(matches, grader, cache=cache, progress=progress)
    finally:
        progress.close()
    if any(r.status == "graded" for r in rows):  # none matched: a wrong bank or model; collect again
        store.collected(batch_id)
    report = sheet_report(rows, grader, [s for s, _ in sheets])
    _deliver(report, fmt, output)
    _exit_status(report, None)
