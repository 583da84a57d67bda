"""`grader eval`: agreement with human graders on a labelled data set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .app import main
from .common import _check_output, _columns, _fit, _Progress, current_env


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
    of the questions, and with "contradictory" labels the 3-way macro-F1 and that class's
    precision and recall; all beside the unigram-overlap floor. A row with reference_answers is graded
    against each of them and keeps its best score."""
    from ..evaluation import evaluate, load_rows, predict_verdicts, sample

    _check_output(plot)
    rows = sample(load_rows(data), limit, sample_size, seed)
    progress = _Progress(len(rows))
    try:
        predicted, contradicted = predict_verdicts(
            rows, progress=lambda: progress(None), grader=_offline()
        )
    finally:
        progress.close()
    result = evaluate(rows, predicted, contradicted)
    if plot is not None:
        try:
            _scatter(result, plot)
        except OSError as exc:
            from ..errors import OutputError

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
    three = [
        [name, "offline grader" if scorer == "grader" else "unigram overlap + negation", *cells]
        for name, both in scopes
        for scorer in ("grader", "unigram_overlap")
        if (m := both[scorer])["macro_f1_3way"] is not None
        for cells in [
            [
                _fmt(m["macro_f1_3way"]),
                _fmt(m["contradictory_precision"]),
                _fmt(m["contradictory_recall"]),
            ]
        ]
    ]
    if three:
        head3 = ["scope", "scorer", "3-way macro-F1", "contradictory precision", "recall"]
        out += ["", _columns(three, head3)]
    if per_question:
        qrows = [
            [qid, str(q["n"]), f"{q['human_mean']:.2f}", f"{q['grader_mean']:.2f}", _fmt(q["pearson"])]
            for qid, q in result["per_question"].items()
        ]
        out += ["", _columns(qrows, ["question", "n", "human mean", "grader mean", "pearson"])]
    out.append(
        "\nAccuracy and macro-F1 (2-way: label 'correct' or not) use a threshold chosen on "
        "the other half of the questions, never on the rows scored; so does the 3-way task "
        "(correct above the threshold; below it, contradictory if a point was stated wrongly, "
        "for the floor if only one of answer and reference is negated; else incorrect)."
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


def _offline() -> Any:
    """The offline grader, with the environment's embedder (what eval measures)."""
    from ..config import resolve_settings

    return current_env().grader(resolve_settings("offline", env={}))
