"""What the bank ships prebuilt (`prebuilt/`: its texts' vectors, its rubrics validated, its
reference answers split): current for the bank, the model and the code, refused by `grader check`
once stale, and used, so a first run embeds only the answer."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from answer_grader.bank import load_bank
from answer_grader.prebuilt import FOLDER, RUBRICS, SENTENCES, VECTORS, bank_texts, folder, problems

from .conftest import run


def test_the_shipped_bank_carries_current_prebuilt_files(bank_dir: Path, bank) -> None:
    for name in (VECTORS, RUBRICS, SENTENCES):
        assert (folder(bank_dir) / name).is_file()
    assert problems(bank_dir, bank.questions) == []


@pytest.fixture
def bank_with_vectors(bank_copy: Path, bank_dir: Path) -> Path:
    shutil.copytree(bank_dir / FOLDER, bank_copy / FOLDER)
    return bank_copy


def _edit_a_point(bank: Path) -> None:
    rubric = bank / "rubrics" / "bert.yaml"
    text = rubric.read_text(encoding="utf-8")
    first = load_bank(bank).get("bert").key_points[0].text
    assert text.count(first) == 1
    rubric.write_text(text.replace(first, first.rstrip(".") + ", as the paper shows."), encoding="utf-8")


def test_check_fails_when_a_rubric_point_changes(bank_with_vectors: Path) -> None:
    assert run("check", "--bank", str(bank_with_vectors), "--no-offline").exit_code == 0
    _edit_a_point(bank_with_vectors)
    result = run("check", "--bank", str(bank_with_vectors), "--no-offline")
    assert result.exit_code == 1
    n = len(bank_texts(load_bank(bank_with_vectors).questions))
    assert f"{FOLDER}/{VECTORS} is stale: 1 of the bank's {n} texts are not in it" in result.stderr
    # The rubric's file changed, so its validation is not the shipped one either.
    assert f"{FOLDER}/{RUBRICS} is stale: 1 of the bank's 23 rubrics are not in it" in result.stderr
    assert "rebuild it: grader check --prebuild" in result.stderr
    assert "entries the bank no longer needs" in result.stderr  # the old text's vector
    assert "Traceback" not in result.stderr


def test_a_bank_without_prebuilt_files_is_not_refused(bank_copy: Path) -> None:
    """A bank made with `grader new` has no prebuilt folder: it embeds its texts on first use."""
    assert not folder(bank_copy).exists()
    assert run("check", "--bank", str(bank_copy), "--no-offline").exit_code == 0


@pytest.mark.slow
@pytest.mark.model
def test_prebuild_makes_a_stale_bank_current(bank_with_vectors: Path) -> None:
    _edit_a_point(bank_with_vectors)
    result = run("check", "--bank", str(bank_with_vectors), "--no-offline", "--prebuild")
    assert result.exit_code == 0, result.stderr
    assert problems(bank_with_vectors, load_bank(bank_with_vectors).questions) == []


@pytest.mark.model
def test_a_first_run_embeds_the_answer_and_none_of_the_bank(tmp_path: Path, isolated_env: Path) -> None:
    (isolated_env / "embeddings.db").unlink(missing_ok=True)  # a machine that never ran grader
    answer = tmp_path / "a.md"
    answer.write_text(
        "Each token is projected into a query, a key and a value vector. The softmax of the "
        "scaled dot products gives the weights over the values.\n"
    )
    result = run("grade", "4", str(answer))
    assert result.exit_code == 0, result.stderr
    with sqlite3.connect(isolated_env / "embeddings.db") as db:
        stored = {key for (key,) in db.execute("SELECT key FROM vectors")}
    from answer_grader.prebuilt import text_key

    bank = {text_key(t).hex() for t in bank_texts(load_bank().questions)}
    assert stored, "the answer's sentences are embedded and stored"
    assert not stored & bank, "no text of the bank was embedded: its vectors are shipped"
