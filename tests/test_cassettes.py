"""The LLM path replayed from vcrpy cassettes: real HTTP exchanges, recorded once against servers on
127.0.0.1, replayed with no server and no network.

Record mode is "none" unless GRADER_RECORD names what to re-record, so a changed request (the judge
prompt, the schema) fails loudly instead of reaching a network:

    GRADER_RECORD=fake pytest tests/test_cassettes.py     # the scripted server (started here)
    GRADER_RECORD=llama pytest tests/test_cassettes.py    # a llama_cpp.server on 127.0.0.1:8088
                                                          # serving SmolLM2-135M with --n_ctx 8192
                                                          # (see README)
Requests match on method, URL and JSON body. Authorization and organisation/project headers are
filtered from requests; responses keep only their content type.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import openai
import pytest
import vcr

from answer_grader.config import resolve_settings
from answer_grader.errors import JudgeError
from answer_grader.grading import grade
from answer_grader.judge import Judge
from answer_grader.testing import FakeOpenAI, Reply, judgement_json

CASSETTES = Path(__file__).parent / "cassettes"
FAKE_PORT = 18765
LLAMA_URL = "http://127.0.0.1:8088/v1"
SECRET_HEADERS = ["authorization", "openai-organization", "openai-project", "api-key"]

ANSWER = (
    "Attention lets each token look at every other token. Each token is turned into a query, a "
    "key and a value vector by learned matrices, and the softmax of the scaled query-key dot "
    "products weights the values. In a decoder a causal mask hides future positions."
)


def _keep_content_type(response):
    headers = response["headers"]
    response["headers"] = {k: v for k, v in headers.items() if k.lower() == "content-type"}
    return response


def cassette(name: str, recording: bool):
    if recording:  # start afresh: record mode "all" would keep the old interactions too
        (CASSETTES / f"{name}.yaml").unlink(missing_ok=True)
    return vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode="all" if recording else "none",
        match_on=["method", "scheme", "host", "port", "path", "query", "body"],
        filter_headers=SECRET_HEADERS,
        before_record_response=_keep_content_type,
        decode_compressed_response=True,
    ).use_cassette(f"{name}.yaml")


def recording(target: str) -> bool:
    return os.environ.get("GRADER_RECORD") == target


def judge_for(url: str) -> Judge:
    client = openai.OpenAI(base_url=url, api_key="not-needed")
    if "18765" in url:
        return Judge(client, "fake-judge", sleep=lambda s: None, max_retries=1, timeout=120)
    # SmolLM2-135M loops inside the JSON grammar (about 11 tokens/s here): bound its output.
    return Judge(
        client, "smollm2-135m", sleep=lambda s: None, max_retries=1, timeout=300, max_tokens=300
    )


def test_judge_through_cassette(bank):
    """grade() over HTTP: the strict-schema request, a quote outside the answer, the final report."""
    question = bank.get("attention-mechanisms")
    ids = [p.id for p in question.key_points]
    url = f"http://127.0.0.1:{FAKE_PORT}/v1"
    server = None
    if recording("fake"):
        server = FakeOpenAI(port=FAKE_PORT).start()
        server.push(
            Reply.completion(
                judgement_json(
                    ids,
                    {
                        "qkv-projections": (
                            "covered",
                            "Each token is turned into a query, a key and a value "
                            "vector by learned matrices",
                        ),
                        "causal-masking": (
                            "covered",
                            "In a decoder a causal mask hides future positions.",
                        ),
                        "quadratic-cost": ("covered", "Attention costs O(n^2) in the sequence length."),
                    },
                )
            )
        )
    try:
        with cassette("judge_scripted_server", recording("fake")) as tape:
            report = grade(
                question,
                ANSWER,
                resolve_settings(backend="llm", base_url=url, env={}),
                judge=judge_for(url),
            )
    finally:
        if server:
            server.stop()
    assert tape.play_count == 1 or recording("fake")
    verdicts = {p.id: (p.verdict, p.flags) for p in report.points}
    assert verdicts["qkv-projections"] == ("covered", [])
    assert verdicts["causal-masking"] == ("covered", [])
    assert verdicts["quadratic-cost"] == ("missed", ["unverified-quote"])  # not in the answer
    assert report.backend == "llm"


LLAMA_CASSETTE = CASSETTES / "judge_llama_cpp_smollm2.yaml"


@pytest.mark.skipif(
    not LLAMA_CASSETTE.exists() and not recording("llama"), reason="no llama.cpp cassette recorded"
)
def test_real_llama_cpp_server_through_cassette(bank):
    """A real OpenAI-compatible server (llama_cpp.server 0.3.36, SmolLM2-135M-Instruct Q4_1,
    --n_ctx 8192: the judge's prompt, with each point's misconceptions and, in json_object mode,
    the question's schema, is about 3,800 tokens): it answers the strict json_schema request with
    HTTP 500 ("Input should be 'text' or 'json_object'"), so the judge falls back to json_object
    at once, without spending a retry. There llama.cpp enforces the per-question schema by
    grammar: the tiny model writes the question's own point ids, in order, and no other (before
    that schema it invented ids such as "PointJudgement"), until the 300 tokens this test allows
    cut it off, twice; the answer is reported as not graded (exit 4), never as a score of 0."""
    question = bank.get("attention-mechanisms")
    with cassette("judge_llama_cpp_smollm2", recording("llama")) as tape:
        try:
            outcome = grade(
                question,
                ANSWER,
                resolve_settings(backend="llm", base_url=LLAMA_URL, env={}),
                judge=judge_for(LLAMA_URL),
            )
        except JudgeError as exc:
            outcome = exc
    requests = [r for r in tape.requests if r.path.endswith("/chat/completions")]
    formats = [json.loads(r.body).get("response_format", {}).get("type") for r in requests]
    assert formats[0] == "json_schema"
    assert tape.responses[0]["status"]["code"] == 500
    assert formats[1:] == ["json_object", "json_object"]
    assert [r["status"]["code"] for r in tape.responses] == [500, 200, 200]
    assert isinstance(outcome, JudgeError), outcome
    assert outcome.exit_code == 4
    assert "cut off" in str(outcome)
    ids = [p.id for p in question.key_points]
    for response in tape.responses[1:]:
        content = json.loads(
            response["content"] if "content" in response else response["body"]["string"]
        )
        text = content["choices"][0]["message"]["content"]
        keys = re.findall(r'"([a-z0-9-]+)"\s*:\s*\{', text.split('"points"', 1)[1])
        assert keys and keys == ids[: len(keys)], keys  # the question's ids, in rubric order


KEY_LIKE = re.compile(
    r"sk-[A-Za-z0-9_-]{12,}|Bearer\s+[A-Za-z0-9._-]{8,}|org-[A-Za-z0-9]{12,}|proj_[A-Za-z0-9]{12,}"
    r"|(?i:^\s*-?\s*(authorization|openai-organization|openai-project|api-key)\s*:)",
    re.MULTILINE,
)


def test_cassettes_hold_no_secrets():
    files = sorted(CASSETTES.glob("*.yaml"))
    assert files, "no cassettes found"
    for path in files:
        text = path.read_text("utf-8")
        assert not KEY_LIKE.search(text), f"{path.name}: {KEY_LIKE.search(text).group()}"


def test_secret_scan_catches_a_key(tmp_path):
    leaked = "headers:\n  Authorization:\n  - Bearer sk-proj-abcdefghijklmnop\n"
    assert KEY_LIKE.search(leaked)
