"""Benchmark `grader score` on the 23-answer example sheet, as a user runs it (a fresh process each
time, model load included):

    python benchmarks/score_sheet.py [--delay 0.5] [--jobs 8] [--runs 3]

(a) offline, with no caches at all (a new GRADER_HOME), then with the embedding store warm;
(b) with the LLM judge against a scripted OpenAI-compatible server on 127.0.0.1 that answers every
    request after a fixed delay, compared with the ideal delay x ceil(23 / jobs): the whole process,
    and the grading step alone (in process, after start-up), which is what concurrency governs;
(c) the same LLM run again, answered from the grade cache.
Prints the median of --runs runs of each.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from answer_grader.testing import FakeOpenAI, rubric_responder

ROOT = Path(__file__).resolve().parent.parent
SHEET = ROOT / "examples" / "answers.md"
ANSWERS = 23


def grader(*args: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "answer_grader.cli", *args], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 3):
        sys.exit(f"grader {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed


def clean_env(home: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GRADER_"))}
    return {**env, "GRADER_HOME": home, **extra}


def median_of(runs: int, fn) -> float:  # type: ignore[no-untyped-def]
    return statistics.median(fn() for _ in range(runs))


def in_process(url: str, jobs: int) -> float:
    """The grading step alone, as `grader score --no-cache` runs it, after start-up (imports, the
    model and the bank's vectors already loaded by a first run in this process)."""
    from answer_grader.answers import match_entries, parse_sheet
    from answer_grader.bank import load_bank
    from answer_grader.batch import score_matches
    from answer_grader.config import resolve_settings
    from answer_grader.grading import grader_for

    grader = grader_for(resolve_settings(backend="llm", base_url=url, env={}))
    bank = load_bank()
    matches = [
        ("sheet", m) for m in match_entries(parse_sheet(SHEET.read_text("utf-8")), bank.questions)
    ]
    score_matches(matches, grader, jobs=jobs)  # warm-up: imports, model, vectors
    start = time.perf_counter()
    rows = score_matches(matches, grader, jobs=jobs)
    elapsed = time.perf_counter() - start
    assert sum(r.status == "graded" for r in rows) == ANSWERS
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--delay", type=float, default=0.5)
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    os.environ["GRADER_HOME"] = tempfile.mkdtemp()  # the in-process runs' data, not the user's
    sheet = str(SHEET)
    print(
        f"{ANSWERS} answers ({SHEET.relative_to(ROOT)}), {os.cpu_count()} cores, "
        f"median of {args.runs} runs, each a fresh `grader score` process"
    )

    def offline_cold() -> float:
        with tempfile.TemporaryDirectory() as home:
            return grader("score", sheet, "--no-cache", env=clean_env(home))

    with tempfile.TemporaryDirectory() as home:
        cold = median_of(args.runs, offline_cold)
        grader("score", sheet, "--no-cache", env=clean_env(home))  # fills the embedding store
        warm = median_of(args.runs, lambda: grader("score", sheet, "--no-cache", env=clean_env(home)))
    print(f"(a) offline, no caches:            {cold:6.2f} s wall, {ANSWERS / cold:5.1f} answers/s")
    print(f"    offline, embedding store warm: {warm:6.2f} s wall, {ANSWERS / warm:5.1f} answers/s")

    ideal = args.delay * math.ceil(ANSWERS / args.jobs)
    with FakeOpenAI(default=rubric_responder(delay=args.delay)) as server:

        def llm() -> float:
            with tempfile.TemporaryDirectory() as home:
                env = clean_env(home, OPENAI_BASE_URL=server.url)
                grader("score", sheet, "--jobs", str(args.jobs), env=env)  # warms the model store
                return grader("score", sheet, "--jobs", str(args.jobs), "--no-cache", env=env)

        llm_wall = median_of(args.runs, llm)
        with tempfile.TemporaryDirectory() as home:
            env = clean_env(home, OPENAI_BASE_URL=server.url)
            grader("score", sheet, "--jobs", str(args.jobs), env=env)
            cached = median_of(
                args.runs, lambda: grader("score", sheet, "--jobs", str(args.jobs), env=env)
            )
        inproc = median_of(args.runs, lambda: in_process(server.url, args.jobs))
        print(
            f"(b) LLM judge, {args.delay:g} s per request, --jobs {args.jobs}; ideal "
            f"{args.delay:g} x ceil({ANSWERS}/{args.jobs}) = {ideal:.2f} s"
        )
        print(
            f"    whole process:                 {llm_wall:6.2f} s wall, "
            f"{ANSWERS / llm_wall:5.1f} answers/s, ratio to ideal {llm_wall / ideal:.2f}"
        )
        print(
            f"    grading only (in process):     {inproc:6.2f} s wall, "
            f"{ANSWERS / inproc:5.1f} answers/s, ratio to ideal {inproc / ideal:.2f}"
        )
        print(f"(c) cached re-run:                 {cached:6.2f} s wall")
        print(f"    requests served: {len(server.requests)}, at most {server.max_in_flight} at once")


if __name__ == "__main__":
    main()
