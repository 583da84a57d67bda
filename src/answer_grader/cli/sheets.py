"""`grader score`: whole answer sheets."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..errors import ExitCode
from .app import _say_error, main
from .common import (
    _check_output,
    _Progress,
    _shown,
    _Threshold,
    _width,
    backend_options,
    bank_option,
    current_env,
    jobs_option,
    open_cache,
    output_option,
    poll_option,
    sampled,
    samples_option,
    sheet_format_option,
)


@main.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE|- [FILE...]")
@backend_options
@samples_option
@sheet_format_option
@output_option
@jobs_option
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
@click.option(
    "--batch",
    "use_batch",
    is_flag=True,
    help="Send the judge's requests as one batch (OpenAI's Batch API: half the price, no rate "
    "limits), wait for it, then grade. The batch id is saved: if interrupted, the same command "
    "or `grader batch collect ID` picks it up.",
)
@click.option(
    "--batch-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Only write the judge's requests to this batch file (- for standard output; OpenAI's "
    "batch format, which vLLM's run_batch reads too), for a batch run elsewhere.",
)
@click.option(
    "--batch-results",
    metavar="FILE",
    help="Grade from a batch output file produced elsewhere (for the requests --batch-file wrote).",
)
@poll_option
@bank_option
def score(
    files: tuple[str, ...],
    backend: str | None,
    model: str | None,
    base_url: str | None,
    timeout: float | None,
    samples: int,
    fmt: str,
    output: Path | None,
    jobs: int,
    no_cache: bool,
    fail_under: float | None,
    record: bool,
    no_history: bool,
    use_batch: bool,
    batch_file: Path | None,
    batch_results: str | None,
    poll_interval: float,
    bank: Path | None,
) -> None:
    """Grade every answer of one or more answer sheets (markdown, as `grader template` writes).

    Unanswered questions are counted, not scored. Nothing is added to your practice history
    unless --record is given. Exit status 3 when the mean score is below --fail-under; 4 when
    some answer could not be graded (its row says why); 1 when the report cannot be written
    (it is then printed to stdout, so the grading is not lost).

    For a cohort, --batch sends every judge request as one batch; --batch-file only writes them
    (for OpenAI's Batch API or vLLM's run_batch elsewhere) and --batch-results grades from the
    output of such a run."""
    from ..answers import match_sheets, read_sheet_texts
    from ..attempts import SheetRecorder
    from ..bank import load_bank
    from ..batch import score_matches, sheet_report
    from . import batches

    env = current_env()
    routes = [
        n
        for n, v in [
            ("--batch", use_batch),
            ("--batch-file", batch_file),
            ("--batch-results", batch_results),
        ]
        if v
    ]
    if len(routes) > 1:
        raise click.UsageError(f"{' and '.join(routes)} are different routes: choose one")
    settings = env.settings(backend=backend, model=model, base_url=base_url, timeout=timeout)
    if batch_file is not None or batch_results is not None:
        settings = batches.file_settings(settings, samples)  # nothing is sent: no server needed
    else:
        settings = sampled(settings, samples)
    if use_batch and settings.backend != "llm":
        raise click.UsageError(
            "--batch sends the LLM judge's requests: set OPENAI_API_KEY or OPENAI_BASE_URL, or "
            "pass --backend llm --base-url URL"
        )
    _check_output(output)
    if batch_file is not None and str(batch_file) != "-":
        _check_output(batch_file)
    sheets = read_sheet_texts(files)
    loaded = load_bank(bank, env)
    matches = match_sheets(sheets, loaded.questions)
    cache = None if no_cache else open_cache(env)
    if batch_file is not None:
        batches.write_batch_file(env, settings, matches, cache, batch_file, files)
        return
    batch_id = None
    if batch_results is not None:
        grader = batches.results_grader(env, settings, batch_results)
    elif use_batch:
        # The bank as found now (flag, $GRADER_BANK or the shipped one), as an absolute path:
        # `grader batch collect` may run from another folder or environment.
        grader, batch_id = batches.batch_grader(
            env, settings, matches, cache, sheets=sheets, bank=loaded.root.resolve(), poll=poll_interval
        )
    recorder = SheetRecorder(env.history(), matches) if record and not no_history else None
    progress = _Progress(len(matches))
    try:
        if batch_results is None and not use_batch:
            grader = env.grader(settings, on_status=progress.note)
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
    if batch_id is not None and any(r.status == "graded" for r in rows):
        from ..batches import BatchStore

        BatchStore(env.data_dir / "batches").collected(batch_id)
    report = sheet_report(rows, grader, ["stdin" if f == "-" else f for f in files], fail_under)
    _deliver(report, fmt, output)
    _exit_status(report, fail_under)


def _exit_status(report: Any, fail_under: float | None) -> None:
    """4 if an answer could not be graded; 3 if the mean is below --fail-under."""
    t = report.totals
    if t.errors:
        sys.exit(int(ExitCode.NOT_GRADED))
    if fail_under is not None and (t.mean_score is None or t.mean_score < fail_under):
        mean = "No answer was graded" if t.mean_score is None else f"Mean score {t.mean_score:g}"
        click.echo(f"{mean}: below --fail-under {fail_under:g}", err=True)
        sys.exit(int(ExitCode.BELOW_THRESHOLD))


def _deliver(report: Any, fmt: str, output: Path | None) -> None:
    """The report to stdout, or atomically to `output`; should that fail, to stdout all the same
    (the grading is done and cached: a full disk or a read-only folder must not lose it)."""
    from ..errors import OutputError
    from ..files import write_atomic
    from ..report import render_sheet

    if output is None:
        color = fmt == "text" and current_env().color
        click.echo(render_sheet(report, fmt, color=color, width=_width()), nl=False)
        return
    try:
        write_atomic(output, render_sheet(report, fmt, color=False, width=100))
    except OutputError as exc:
        click.echo(render_sheet(report, fmt, color=False, width=100), nl=False)
        _say_error(f"{exc}; the report is on standard output instead")
        sys.exit(int(ExitCode.ERROR))
    click.echo(f"Wrote the report to {_shown(output)}", err=True)
