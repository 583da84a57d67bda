"""Commands on the question bank: list, show, template, new, check."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .app import main
from .common import (
    _check_output,
    _columns,
    _fit,
    _parse_numbers,
    _shown,
    bank_option,
    current_env,
    with_topic,
)


@main.command("list")
@click.option("--topic", help="Only questions with this topic tag.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@bank_option
def list_(topic: str | None, fmt: str, bank: Path | None) -> None:
    """List the questions of the bank."""
    from ..bank import load_bank

    questions = with_topic(load_bank(bank, current_env()), topic)
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
    from ..bank import load_bank

    q = load_bank(bank, current_env()).get(question)
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
        out += [
            f"  - {m.claim} -> {m.correction}" + (f" [{m.point}]" if m.point else "")
            for m in r.misconceptions
        ]
    if reference:
        out += ["", "Reference answer:", "", q.reference_answer.strip()]
    from ..scrub import printable

    click.echo(_fit(printable("\n".join(out))))


@main.command()
@click.option(
    "--no-offline",
    is_flag=True,
    help="Skip the offline grader's pass: files and keywords only, no model loaded.",
)
@click.option(
    "--prebuild",
    is_flag=True,
    help="First compute what the bank ships prebuilt (its texts' vectors, its rubrics validated, "
    "its reference answers split) and write it to its prebuilt/ folder, so that a first run "
    "does only what its answers need.",
)
@bank_option
def check(no_offline: bool, prebuild: bool, bank: Path | None) -> None:
    """Check the bank: every rubric valid against the schema, ids unique, numbers 1..N, both files
    present for each question, every key point carried by its own reference answer, by the
    keyword check and by the offline grader, and the bank's prebuilt files (if it has them)
    current for its texts, the installed model and this version of grader."""
    from ..audit import audit_bank
    from ..errors import CheckFailed
    from ..prebuilt import problems as prebuilt_problems

    env = current_env()
    if prebuild:
        from ..bank import load_bank
        from ..prebuilt import build, folder

        loaded = load_bank(bank, env)
        counts = build(loaded.root, loaded.questions)
        made = ", ".join(f"{n} {what}" for what, n in counts.items())
        click.echo(f"Wrote {made} to {_shown(folder(loaded.root))}", err=True)
    report = audit_bank(bank, offline=not no_offline, env=env)
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
    failures = [str(f) for f in report.failures]
    if report.questions:
        failures += prebuilt_problems(report.root, [a.question for a in report.questions])
    if failures:
        raise CheckFailed(failures)
    points = sum(len(a.evidence) for a in report.questions)
    click.echo(
        _fit(
            f"\nOK: {len(report.questions)} questions, {points} key points, all covered "
            f"by their reference answers ({report.root}, from {report.source})"
            + (" (offline grader skipped)." if no_offline else ".")
        )
    )


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
    from ..answers import write_template
    from ..bank import load_bank

    _check_output(output)
    loaded = load_bank(bank, current_env())
    wanted = _parse_numbers(questions)
    chosen = loaded.select(wanted) if wanted else list(loaded.questions)
    sheet = write_template(chosen)
    if output is None:
        click.echo(sheet, nl=False)
    else:
        from ..files import write_atomic

        write_atomic(output, sheet)
        click.echo(f"Wrote {len(chosen)} question(s) to {_shown(output)}", err=True)


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
    from ..answers import MAX_ANSWER_BYTES
    from ..bootstrap import new_question
    from ..errors import AnswerError
    from ..files import read_input

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
