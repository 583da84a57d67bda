"""How fast grader is as a user runs it: every figure a fresh `grader` process, model load
included, the median of --runs runs, and each beside a ratio that a noisy machine changes less
than a time (cold / warm, whole process / ideal, cached / cold):

    python benchmarks/score_sheet.py [--runs 3]

(a) `grader score examples/answers.md` offline, first run on a machine (a new GRADER_HOME: no
    grade cache, no stored vectors; the bank's own vectors ship with it), then with the vectors
    of the sheet's answers stored;
(b) `grader grade 4 answer.md` offline, first run, then warm;
(c) the 23 answers with the LLM judge, a scripted server on 127.0.0.1 answering each request after
    0.5 s, --jobs 8 (answer vectors stored, grades not cached), against the ideal
    0.5 x ceil(23 / 8) = 1.5 s;
(d) the cached re-run of (c);
(e) 230 distinct answers (ten sheets: the 138 labelled answers of tests/data/labelled, the
    references, their first halves, and two gaming strategies) with the LLM judge at 0.2 s per
    request, --jobs 32, against the ideal 0.2 x ceil(230 / 32) = 1.6 s, and with a server that
    answers at once (the floor: everything but the waiting).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from answer_grader import gaming
from answer_grader.bank import load_bank
from answer_grader.testing import FakeOpenAI, rubric_responder

ROOT = Path(__file__).resolve().parent.parent
SHEET = ROOT / "examples" / "answers.md"
ANSWERS = 23
ANSWER = (
    "Each token is projected into a query, a key and a value vector by learned matrices. The "
    "softmax of the scaled dot products of queries and keys gives the weights over the values.\n"
)


def grader(*args: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "answer_grader.cli", *args], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 3):
        sys.exit(f"grader {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return elapsed


def clean_env(home: str, **extra: str) -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE (set on some build machines, this one included) makes every process
    # compile the package from source again; an installed grader has its bytecode, so measure that.
    drop = ("OPENAI_", "GRADER_", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return {**env, "GRADER_HOME": home, **extra}


def median_of(runs: int, fn) -> float:  # type: ignore[no-untyped-def]
    return statistics.median(fn() for _ in range(runs))


def cohort(folder: Path) -> list[str]:
    """Ten sheets of 23 distinct answers each: 230 answers, none the same."""
    bank = load_bank()
    by_id = {q.id: q for q in bank.questions}
    labelled: dict[str, list[str]] = defaultdict(list)
    for part in sorted((ROOT / "tests" / "data" / "labelled").glob("*.jsonl")):
        for line in part.read_text("utf-8").splitlines():
            row = json.loads(line)
            labelled[row["question_id"]].append(row["answer"])
    sets: list[dict[int, str]] = []
    for k in range(max(len(v) for v in labelled.values())):
        sets.append({by_id[q].number: a[k] for q, a in labelled.items() if k < len(a)})
    for make in (
        lambda q: q.reference_answer,
        lambda q: q.reference_answer[: len(q.reference_answer) // 2],
        gaming.keyword_prose,
        gaming.keyword_fragments,
    ):
        sets.append({q.number: make(q) for q in bank.questions})
    paths, total = [], 0
    for i, answers in enumerate(sets):
        parts = [
            f"## Question {n}\n\n**{by_id_n.text}**\n\n**Answer:** {answers[n]}\n\n---\n"
            for n, by_id_n in sorted((q.number, q) for q in bank.questions)
            if n in answers
        ]
        total += len(parts)
        path = folder / f"candidate-{i:02}.md"
        path.write_text("\n".join(parts), encoding="utf-8")
        paths.append(str(path))
    distinct = {a for s in sets for a in s.values()}
    assert total == len(distinct) == 230, (total, len(distinct))
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    runs = args.runs
    sheet = str(SHEET)
    print(f"{os.cpu_count()} cores; each figure the median of {runs} fresh processes")

    def score_cold() -> float:
        with tempfile.TemporaryDirectory() as home:
            return grader("score", sheet, env=clean_env(home))

    cold = median_of(runs, score_cold)
    with tempfile.TemporaryDirectory() as home:
        grader("score", sheet, env=clean_env(home))
        warm = median_of(runs, lambda: grader("score", sheet, "--no-cache", env=clean_env(home)))
        cached_offline = median_of(runs, lambda: grader("score", sheet, env=clean_env(home)))
    print(f"(a) score, offline, first run:          {cold:5.2f} s")
    print(f"    the same, answer vectors stored:    {warm:5.2f} s   cold / warm {cold / warm:.2f}")
    ratio = cached_offline / cold
    print(f"    the same, grades cached:            {cached_offline:5.2f} s   cached / cold {ratio:.2f}")

    with tempfile.TemporaryDirectory() as tmp:
        answer = Path(tmp) / "answer.md"
        answer.write_text(ANSWER)

        def grade_cold() -> float:
            with tempfile.TemporaryDirectory() as home:
                return grader("grade", "4", str(answer), env=clean_env(home))

        g_cold = median_of(runs, grade_cold)
        with tempfile.TemporaryDirectory() as home:
            grader("grade", "4", str(answer), env=clean_env(home))
            g_warm = median_of(runs, lambda: grader("grade", "4", str(answer), env=clean_env(home)))
    print(f"(b) grade 4, offline, first run:        {g_cold:5.2f} s")
    print(f"    the same, warm:                     {g_warm:5.2f} s   cold / warm {g_cold / g_warm:.2f}")

    ideal = 0.5 * math.ceil(ANSWERS / 8)
    with (
        FakeOpenAI(default=rubric_responder(delay=0.5)) as server,
        tempfile.TemporaryDirectory() as home,
    ):
        env = clean_env(home, OPENAI_BASE_URL=server.url)
        grader("score", sheet, "--jobs", "8", env=env)  # stores the answers' vectors
        llm = median_of(runs, lambda: grader("score", sheet, "--jobs", "8", "--no-cache", env=env))
        cached = median_of(runs, lambda: grader("score", sheet, "--jobs", "8", env=env))
    print(
        f"(c) 23 answers, LLM 0.5 s/request, -j 8: {llm:5.2f} s   whole process / ideal "
        f"{ideal:.2f} s = {llm / ideal:.2f}"
    )
    print(f"(d) cached re-run:                      {cached:5.2f} s   cached / (c) {cached / llm:.2f}")

    ideal230 = 0.2 * math.ceil(230 / 32)
    with tempfile.TemporaryDirectory() as tmp:
        sheets = cohort(Path(tmp))
        results = {}
        for delay in (0.2, 0.0):
            with (
                FakeOpenAI(default=rubric_responder(delay=delay)) as server,
                tempfile.TemporaryDirectory() as home,
            ):
                env = clean_env(home, OPENAI_BASE_URL=server.url)
                grader("score", *sheets, "--jobs", "32", env=env)
                results[delay] = median_of(
                    runs,
                    lambda env=env: grader("score", *sheets, "--jobs", "32", "--no-cache", env=env),
                )
    print(
        f"(e) 230 answers, LLM 0.2 s/request, -j 32: {results[0.2]:5.2f} s   whole process / ideal "
        f"{ideal230:.2f} s = {results[0.2] / ideal230:.2f}"
    )
    print(f"    the same, server answering at once: {results[0.0]:5.2f} s (the floor)")


if __name__ == "__main__":
    main()
