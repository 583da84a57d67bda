"""Every test runs isolated: its own data dir, no API keys, no bank chosen by the environment, and
the fake embedder unless it is marked `model`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from answer_grader.bank import default_bank_dir
from answer_grader.cli import main

DATA = Path(__file__).parent / "data"


FAKE_EMBEDDER = "answer_grader.testing:FakeEmbedder"


@pytest.fixture(autouse=True)
def isolated_env(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """Each test gets its own data folder and no configured key, URL or bank. Tests of plumbing
    (not marked `model`) grade with the deterministic fake embedder, in this process and in every
    process they start (GRADER_EMBEDDER is inherited); tests marked `model` use the real one."""
    home = tmp_path_factory.mktemp("grader-home")
    monkeypatch.setenv("GRADER_HOME", str(home))
    if request.node.get_closest_marker("model") is None:
        monkeypatch.setenv("GRADER_EMBEDDER", FAKE_EMBEDDER)
    else:
        monkeypatch.delenv("GRADER_EMBEDDER", raising=False)
        # The bank's vectors, embedded once per run: a process the test starts (or this one,
        # the first time) reads them instead of embedding the bank again.
        shutil.copy(request.getfixturevalue("warm_vectors"), home / "embeddings.db")
    for name in (
        "GRADER_BANK",
        "GRADER_BACKEND",
        "GRADER_MODEL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture(scope="session")
def bank_dir() -> Path:
    """The project's own bank (the repository's, in a checkout)."""
    return default_bank_dir()[0]


@pytest.fixture
def bank_copy(tmp_path: Path, bank_dir: Path) -> Path:
    """A writable copy of the project's bank, for tests that break it."""
    dest = tmp_path / "bank"
    shutil.copytree(bank_dir / "rubrics", dest / "rubrics")
    shutil.copytree(bank_dir / "reference_answers", dest / "reference_answers")
    return dest


def run(*args: str, input: str | None = None) -> Result:
    """Run `grader ARGS` in-process, stdout and stderr kept apart."""
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def fake_server():
    """A scripted OpenAI-compatible server on 127.0.0.1 (answer_grader.testing.FakeOpenAI)."""
    from answer_grader.testing import FakeOpenAI

    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def make_judge(fake_server):
    """Build a Judge whose client talks to the fake server; backoff sleeps are recorded, not slept."""
    import openai

    from answer_grader.judge import Judge

    def build(max_retries: int = 3, timeout: float = 5.0, budget: float | None = None, **kw):
        client = openai.OpenAI(base_url=fake_server.url, api_key="test-key")
        judge = Judge(
            client,
            "fake-judge",
            max_retries=max_retries,
            timeout=timeout,
            budget=budget,
            sleep=judge_sleeps.append,
            **kw,
        )
        return judge

    judge_sleeps: list[float] = []
    build.sleeps = judge_sleeps  # type: ignore[attr-defined]
    return build


@pytest.fixture(scope="session")
def bank(bank_dir):
    from answer_grader.bank import load_bank

    return load_bank(bank_dir)


@pytest.fixture(scope="session")
def warm_vectors(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """An embedding store holding the bank's vectors, made once per test run by a real `grader
    score` of the example sheet (which embeds every rubric point and reference sentence). The
    pytest-xdist workers share it: the first to get here builds it, the others wait and reuse it."""
    import os
    import subprocess
    import sys

    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    root = base.parent if worker_id != "master" else base
    store = root / "warm-vectors" / "embeddings.db"
    with FileLock(str(root / "warm-vectors.lock")):
        if not store.exists():
            env = {**os.environ, "GRADER_HOME": str(store.parent)}
            for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GRADER_BACKEND", "GRADER_BANK"):
                env.pop(name, None)
            env.pop("GRADER_EMBEDDER", None)  # the real model: that is what the store is for
            subprocess.run(
                [sys.executable, "-m", "answer_grader.cli", "score", str(EXAMPLES / "answers.md")],
                env=env,
                check=True,
                capture_output=True,
            )
    return store


@pytest.fixture
def warm_home(isolated_env: Path) -> Path:
    """The test's own data folder (for a test marked `model`, with the bank's vectors in it)."""
    return isolated_env


EXAMPLES = Path(__file__).parent.parent / "examples"
