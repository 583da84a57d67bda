"""`grader new`: a user's own question, with key points derived from its reference answer."""

import yaml

from .conftest import run

REFERENCE = (
    "Dropout randomly zeroes activations during training with a fixed probability. "
    "This prevents units from co-adapting and acts like training an ensemble of thinned networks. "
    "At inference nothing is dropped and activations are scaled to match the training expectation. "
    "Typical rates are 0.1 for transformers and up to 0.5 for large fully connected layers. "
    "Too much dropout underfits, so the rate is tuned on a validation set."
)


def test_new_question_passes_check(tmp_path):
    bank = tmp_path / "bank"
    ref = tmp_path / "ref.md"
    ref.write_text(REFERENCE, "utf-8")
    result = run(
        "new",
        "dropout",
        "--question",
        "What is dropout, and why does dropping random activations work?",
        "--reference",
        str(ref),
        "--topic",
        "training",
        "--bank",
        str(bank),
    )
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load((bank / "rubrics" / "dropout.yaml").read_text("utf-8"))
    assert data["number"] == 1 and data["topics"] == ["training"]
    assert len(data["key_points"]) == 5
    assert data["key_points"][0]["text"].startswith("Dropout randomly zeroes")
    assert all(p["keywords"] for p in data["key_points"])
    # "activations" is the question's own word (and the first point's longest): an answer repeating
    # the question proves nothing, so it is not a keyword.
    first = data["key_points"][0]["keywords"]
    assert first and not any("activations" in group for group in first), first
    check = run("check", "--bank", str(bank))
    assert check.exit_code == 0, check.stderr
    assert "1  dropout  5" in run("list", "--bank", str(bank)).stdout


def test_new_needs_five_ideas(tmp_path):
    ref = tmp_path / "ref.md"
    ref.write_text("Dropout zeroes activations at random during training.", "utf-8")
    result = run(
        "new",
        "dropout",
        "--question",
        "What is dropout?",
        "--reference",
        str(ref),
        "--bank",
        str(tmp_path / "bank"),
    )
    assert result.exit_code == 1
    assert "gives 1 key point(s); a rubric needs 5 to 9" in result.stderr


def test_new_writes_topics_the_bank_accepts(tmp_path):
    # "Deep Learning" used to be written as it was typed, and `grader check` then refused it.
    bank = tmp_path / "bank"
    ref = tmp_path / "ref.md"
    ref.write_text(REFERENCE, "utf-8")
    result = run(
        "new", "dropout", "--question", "What is dropout?", "--reference", str(ref),
        "--topic", "Deep Learning", "--topic", "Regularisation!", "--bank", str(bank),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load((bank / "rubrics" / "dropout.yaml").read_text("utf-8"))
    assert data["topics"] == ["deep-learning", "regularisation"]
    checked = run("check", "--no-offline", "--bank", str(bank))
    assert checked.exit_code == 0, checked.stderr


def test_new_numbers_after_every_rubric_of_the_bank(tmp_path, bank_copy):
    ref = tmp_path / "ref.md"
    ref.write_text(REFERENCE, "utf-8")
    result = run(
        "new", "dropout", "--question", "What is dropout?", "--reference", str(ref),
        "--bank", str(bank_copy),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load((bank_copy / "rubrics" / "dropout.yaml").read_text("utf-8"))
    assert data["number"] == 24
    assert run("check", "--no-offline", "--bank", str(bank_copy)).exit_code == 0
