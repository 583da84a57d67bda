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


# What the model's tests embed most: every question's profile (points, anchors, distractors), the
# reference answers' sentences (the bank checks grade them) and the example sheet's answers.
_WARM = """
import sys
from answer_grader.answers import read_sheets
from answer_grader.bank import load_bank
from answer_grader.environment import Environment
from answer_grader.offline import OfflineGrader

questions = load_bank().questions
answers = [(m.question, m.entry.answer) for _, m in read_sheets(sys.argv[1:], questions) if m.question]
OfflineGrader(Environment().get_embedder()).warm([(q, q.reference_answer) for q in questions] + answers)
"""


def _warm_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """Where the run's shared embedding store is built: the same folder for every xdist worker
    of a run (the parent of the workers' temporary folders, which pytest cleans up)."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if worker_id != "master" else base) / "warm-vectors"


@pytest.fixture(scope="session", autouse=True)
def _start_warm_vectors(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> None:
    """When tests of the real model are to run, start building their embedding store at once, in
    the background, with the real model (_WARM). The first worker to get here starts it; the
    plumbing tests run meanwhile (the model's tests run last), and `warm_vectors` waits for it
    only if it is not done yet."""
    import os
    import shlex
    import subprocess
    import sys

    if not any(item.get_closest_marker("model") for item in request.session.items):
        return
    folder = _warm_dir(tmp_path_factory, worker_id)
    folder.mkdir(exist_ok=True)
    try:
        os.close(os.open(folder / "started", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return  # another worker builds it
    home = folder / "home"
    env = {**os.environ, "GRADER_HOME": str(home)}
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GRADER_BACKEND", "GRADER_BANK"):
        env.pop(name, None)
    env.pop("GRADER_EMBEDDER", None)  # the real model: that is what the store is for
    q = shlex.quote
    build = (
        f"{q(sys.executable)} -c {q(_WARM)} {q(str(EXAMPLES / 'answers.md'))} >/dev/null "
        f"2>{q(str(folder / 'errors'))} "
        f"&& mv {q(str(home / 'embeddings.db'))} {q(str(folder / 'embeddings.db'))} "
        f"|| touch {q(str(folder / 'failed'))}"
    )
    subprocess.Popen(["sh", "-c", build], env=env, start_new_session=True)


@pytest.fixture(scope="session")
def warm_vectors(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The run's embedding store holding the bank's vectors (see _start_warm_vectors)."""
    import time

    folder = _warm_dir(tmp_path_factory, worker_id)
    store = folder / "embeddings.db"
    deadline = time.monotonic() + 600
    while not store.exists():
        if (folder / "failed").exists():
            raise RuntimeError(f"building the embedding store failed: {(folder / 'errors').read_text()}")
        if time.monotonic() > deadline or not (folder / "started").exists():
            raise RuntimeError(f"no embedding store was built in {folder}")
        time.sleep(0.1)
    return store


EXAMPLES = Path(__file__).parent.parent / "examples"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests of the real model last, so that their embedding store is built while the plumbing
    tests run."""
    items.sort(key=lambda item: item.get_closest_marker("model") is not None)
