"""`grader eval`: agreement with human graders on a labelled data set."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import EvalDataError, ExitCode
from .app import main
from .common import (
    _check_output,
    _columns,
    _fit,
    _Progress,
    current_env,
    jobs_option,
    open_cache,
    sampled,
    samples_option,
)


@main.command("eval")
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--backend",
    type=click.Choice(["offline", "llm"]),
    default="offline",
    show_default=True,
    help="Who grades: the offline grader, or the LLM judge (cross-checked as always), shown "
    "beside the offline grader and the floor on the same rows. Never chosen from the "
    "environment: a data set of thousands of rows costs money.",
)
@click.option("--model", help="Judge model, with --backend llm. [env: GRADER_MODEL]")
@click.option("--base-url", help="OpenAI-compatible server, with --backend llm. [env: OPENAI_BASE_URL]")
@click.option(
    "--timeout",
    type=click.FloatRange(0, 3600, min_open=True),
    help="Seconds per LLM request. [env: GRADER_TIMEOUT; default: 60]",
)
@jobs_option
@samples_option
@click.option("--no-cache", is_flag=True, help="Ask the judge again even for rows graded before.")
@click.option(
    "--price-in",
    type=click.FloatRange(0),
    help="US dollars per million prompt tokens (default: the model's list price, if known).",
)
@click.option(
    "--price-out",
    type=click.FloatRange(0),
    help="US dollars per million completion tokens (default: the model's list price, if known).",
)
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
    backend: str,
    model: str | None,
    base_url: str | None,
    timeout: float | None,
    jobs: int,
    samples: int,
    no_cache: bool,
    price_in: float | None,
    price_out: float | None,
    limit: int | None,
    sample_size: int | None,
    seed: int,
    fmt: str,
    per_question: bool,
    plot: Path | None,
) -> None:
    """Measure a grader's agreement with human scores in DATA (JSON lines).

    Pearson, Spearman and RMSE on scores scaled to each row's max_score; quadratic-weighted kappa
    on fifths; for labelled rows, accuracy and macro-F1 with the threshold chosen on the other half
    of the questions, and with "contradictory" labels the 3-way macro-F1 and that class's
    precision and recall; all beside the unigram-overlap floor. A row with reference_answers is graded
    against each of them and keeps its best score.

    With --backend llm: the LLM judge's figures beside the offline grader's on the same rows, the
    requests sent and the tokens the server counted, and the cost where the price is known or
    given. Grades are cached, so a second run asks nothing again. Rows the judge could not
    grade are counted and left out of every figure, never scored 0; exit status 4 if there are
    any."""
    from ..evaluation import evaluate, load_rows, predict_verdicts, sample

    _check_output(plot)
    if backend != "llm":
        for name, value in [
            ("--model", model),
            ("--base-url", base_url),
            ("--price-in", price_in),
            ("--price-out", price_out),
        ]:
            if value is not None:
                raise click.UsageError(f"{name} applies to the LLM judge: add --backend llm")
    env = current_env()
    settings = None
    if backend == "llm":
        settings = sampled(
            env.settings(backend="llm", model=model, base_url=base_url, timeout=timeout), samples
        )
        price = _price(settings.model, price_in, price_out)
    elif samples > 1:
        raise click.UsageError("--samples repeats the LLM judge: add --backend llm")
    rows = sample(load_rows(data), limit, sample_size, seed)
    progress = _Progress(len(rows))
    llm: dict[str, Any] | None = None
    try:
        if settings is None:
            predicted, contradicted = predict_verdicts(
                rows, progress=lambda: progress(None), grader=_offline()
            )
            result = evaluate(rows, predicted, contradicted)
        else:
            result, llm = _eval_llm(rows, settings, price, jobs, no_cache, progress)
    finally:
        progress.close()
    if plot is not None:
        try:
            _scatter(result, plot)
        except OSError as exc:
            from ..errors import OutputError

            raise OutputError(plot, exc.strerror or str(exc)) from exc
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(_fit(_eval_text(result, per_question)))
    if llm is not None and llm["not_graded"]:
        sys.exit(int(ExitCode.NOT_GRADED))


def _price(model: str, price_in: float | None, price_out: float | None) -> Any:
    from ..usage import price_for

    price = price_for(model, price_in, price_out)
    if price is None and (price_in is not None or price_out is not None):
        raise click.UsageError(f"{model!r} has no list price here: give both --price-in and --price-out")
    return price


def _eval_llm(
    rows: list[Any], settings: Any, price: Any, jobs: int, no_cache: bool, progress: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The LLM judge's evaluation: its grades of every row, then the offline grader's of the
    rows it graded (the same embedder, so the cross-check's vectors are reused), then the
    metrics of both and the floor on those rows."""
    from ..evaluation import evaluate, grade_rows, predict_verdicts
    from ..samples import flip_rate

    env = current_env()
    grader = env.grader(settings, on_status=progress.note)
    cache = None if no_cache else open_cache(env)
    try:
        graded = grade_rows(rows, grader, jobs=jobs, cache=cache, progress=lambda: progress(None))
    finally:
        if cache is not None:
            cache.close()
    kept = [i for i, s in enumerate(graded.scores) if s is not None]
    sub = [rows[i] for i in kept]
    usage = grader.usage  # type: ignore[attr-defined]
    flips, voted = flip_rate(graded.reports)
    llm: dict[str, Any] = {
        "model": settings.model,
        "server": settings.shown_base_url or "OpenAI",
        "rows": len(rows),
        "graded": len(kept),
        "not_graded": len(graded.errors),
        "not_graded_rows": [
            {"id": rows[i].id, "line": rows[i].line, "error": why} for i, why in graded.errors.items()
        ],
        "cached": graded.cached,
        **usage.as_dict(),
        "price_per_million": None if price is None else {"input": price.input, "output": price.output},
        "price_source": None if price is None else price.source,
        "cost_usd": None if price is None else price.cost(usage),
        "samples": settings.samples,
        "flipped_points": flips if settings.samples > 1 else None,
        "voted_points": voted if settings.samples > 1 else None,
        "flip_rate": (flips / voted if voted else None) if settings.samples > 1 else None,
    }
    if not sub:
        raise EvalDataError(
            f"the judge graded none of the {len(rows)} rows; the first error: "
            + next(iter(graded.errors.values()), "none given")
        )
    offline_scores, offline_wrong = predict_verdicts(sub, grader=grader.offline)  # type: ignore[attr-defined]
    result = evaluate(
        sub,
        [graded.scores[i] for i in kept],  # type: ignore[misc]
        [graded.contradicted[i] for i in kept],
        others={"offline_grader": (offline_scores, offline_wrong)},
    )
    result["backend"] = "llm"
    result["llm"] = llm
    return result, llm


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}"


_LABELS = {
    "offline_grader": "offline grader",
    "unigram_overlap": "unigram overlap",
}


def _label(result: dict[str, Any], scorer: str, floor: str = "unigram overlap") -> str:
    if scorer == "grader":
        return "LLM judge" if result.get("backend") == "llm" else "offline grader"
    return floor if scorer == "unigram_overlap" else _LABELS.get(scorer, scorer)


def _eval_text(result: dict[str, Any], per_question: bool) -> str:
    header = ["scope", "scorer", "n", "pearson", "spearman", "rmse", "qwk", "accuracy", "macro-F1"]
    rows = []
    scopes = [("all", result["overall"]), *result["corpora"].items()]
    for name, both in scopes:
        for scorer, m in both.items():
            rows.append(
                [
                    name,
                    _label(result, scorer),
                    str(m["n"]),
                    _fmt(m["pearson"]),
                    _fmt(m["spearman"]),
                    _fmt(m["rmse"]),
                    _fmt(m["qwk"]),
                    _fmt(m["accuracy"]),
                    _fmt(m["macro_f1"]),
                ]
            )
    llm = result.get("llm")
    head = f"{result['rows']} rows"
    if llm is not None:
        head = (
            f"{llm['graded']} of {llm['rows']} rows graded by the LLM judge {llm['model']} "
            f"at {llm['server']}"
        )
    out = [head, _columns(rows, header)]
    three = [
        [name, _label(result, scorer, "unigram overlap + negation"), *cells]
        for name, both in scopes
        for scorer, m in both.items()
        if m["macro_f1_3way"] is not None
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
    if llm is not None:
        out += ["", *_llm_lines(llm)]
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


def _llm_lines(llm: dict[str, Any]) -> list[str]:
    """Requests, tokens, cost, rows not graded and flips, in words."""
    lines = [
        f"Requests: {llm['requests']:,} ({llm['cached']:,} grades replayed from the cache); "
        f"tokens: {llm['prompt_tokens']:,} prompt, {llm['completion_tokens']:,} completion."
    ]
    if llm["cost_usd"] is None:
        lines.append(
            f"Cost: unknown (no list price for {llm['model']}; give --price-in and --price-out, "
            "dollars per million tokens)."
        )
    else:
        p = llm["price_per_million"]
        lines.append(
            f"Cost: ${llm['cost_usd']:.4f} at ${p['input']:g} in / ${p['output']:g} out per "
            f"million tokens ({llm['price_source']})."
        )
    if llm["samples"] > 1:
        rate = "-" if llm["flip_rate"] is None else f"{100 * llm['flip_rate']:.1f}%"
        lines.append(
            f"Samples: {llm['samples']} per answer; verdicts differ between samples on "
            f"{llm['flipped_points']:,} of {llm['voted_points']:,} points ({rate})."
        )
    if llm["not_graded"]:
        lines.append(
            f"Not graded: {llm['not_graded']} row{'s' if llm['not_graded'] > 1 else ''}, left out "
            "of every figure above (never scored 0):"
        )
        lines += [
            f"  line {r['line']} (id {r['id']}): {r['error']}" for r in llm["not_graded_rows"][:10]
        ]
        if llm["not_graded"] > 10:
            lines.append(f"  ... and {llm['not_graded'] - 10} more (--format json lists them all)")
    return lines


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
