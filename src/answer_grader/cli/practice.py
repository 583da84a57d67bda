"""`grader practice`: the interactive session."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click

from .app import main
from .common import backend_options, bank_option, current_env, sampled, samples_option, with_topic


@main.command()
@click.option("--question", "-q", "question_ref", help="Practise this question (number or id).")
@click.option("--topic", help="Pick from the questions with this topic.")
@click.option("--random", "shuffle", is_flag=True, help="Pick a question at random.")
@click.option("--editor", is_flag=True, help="Write the answer in $EDITOR instead of the terminal.")
@backend_options
@samples_option
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
    samples: int,
    bank: Path | None,
) -> None:
    """Answer questions one at a time and get each graded; by default the next one due for review.

    Every answer is saved to the history before it is graded. Ctrl-C while typing keeps a draft,
    offered back the next time; so do closing the terminal (SIGHUP) and SIGTERM. Exit status 130
    after Ctrl-C (129 after SIGHUP, 143 after SIGTERM)."""
    from rich.console import Console

    from ..bank import load_bank
    from ..practice import DraftSaved, Session, catch_signals

    env = current_env()
    settings = env.settings(backend=backend, model=model, base_url=base_url, timeout=timeout)
    settings = sampled(settings, samples)
    catch_signals()
    loaded = load_bank(bank, env)
    questions = with_topic(loaded, topic)
    history = env.history()
    console = Console(highlight=False)
    session = Session(
        questions=questions,
        history=history,
        settings=settings,
        env=env,
        console=console,
        editor=(lambda text: click.edit(text, extension=".md")) if editor else None,
    )
    first, reason, draft_text = session.first_question(loaded, question_ref, shuffle=shuffle)
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
