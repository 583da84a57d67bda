"""The agreement metrics, checked against values computed by hand."""

import math

import pytest

from answer_grader import metrics as m


def test_pearson_by_hand():
    # x = 1,2,3; y = 1,3,2: means 2,2; cov = (-1*-1 + 0*1 + 1*0)/3 = 1/3; var 2/3 each -> 0.5
    assert m.pearson([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    assert m.pearson([1, 1, 1], [1, 2, 3]) is None


def test_spearman_with_ties():
    assert list(m.ranks([10, 20, 20, 30])) == [1, 2.5, 2.5, 4]
    assert m.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert m.spearman([1, 2, 3, 4], [40, 30, 20, 10]) == pytest.approx(-1.0)


def test_rmse_by_hand():
    assert m.rmse([0, 1], [1, 1]) == pytest.approx(math.sqrt(0.5))


def test_binning():
    assert list(m.binned([0, 0.19, 0.2, 0.99, 1.0], 5)) == [0, 0, 1, 4, 4]


def test_quadratic_kappa_by_hand():
    assert m.quadratic_kappa([0, 1, 2], [0, 1, 2], 3) == pytest.approx(1.0)
    # a = 0,0,1,1; b = 0,1,1,1 with k=2: observed [[1,1],[0,2]], weights [[0,1],[1,0]]
    # expected = outer([2,2],[1,3])/4 = [[0.5,1.5],[0.5,1.5]]; kappa = 1 - 1/(1.5+0.5) = 0.5
    assert m.quadratic_kappa([0, 0, 1, 1], [0, 1, 1, 1], 2) == pytest.approx(0.5)


def test_macro_f1_by_hand():
    # truth T,T,F,F; predicted T,F,F,F: F1(T) = 2/(2+0+1) = 2/3, F1(F) = 4/(4+1+0) = 4/5
    assert m.macro_f1([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx((2 / 3 + 4 / 5) / 2)


def test_threshold_is_chosen_on_the_other_questions_only():
    # Question a separates at 0.5, question b at 0.8: each half gets the other's cut.
    scores = [0.4, 0.6, 0.7, 0.9]
    truth = [False, True, False, True]
    groups = ["a", "a", "b", "b"]
    result = m.held_out_classification(scores, truth, groups)
    assert result["thresholds"] == [pytest.approx(0.5), pytest.approx(0.8)]  # fit on a, on b
    # a is judged with b's cut 0.8: both negative (one wrong); b with a's cut 0.5: both positive
    # (one wrong) -> accuracy 0.5
    assert result["accuracy"] == pytest.approx(0.5)


@pytest.mark.model
def test_grader_eval_on_a_small_slice(tmp_path):
    """`grader eval --format json` on six rows: its metrics equal the formulas applied by hand to
    the per-row predictions it reports."""
    import json
    from pathlib import Path

    from .conftest import run

    data = Path(__file__).parent / "data" / "eval_small.jsonl"
    result = run("eval", str(data), "--format", "json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    preds = out["predictions"]
    assert [p["id"] for p in preds] == ["a1", "a2", "a3", "b1", "b2", "b3"]
    assert [p["human"] for p in preds] == [1, 0, 1, 1, 0, 0.5]  # score / max_score
    g = [p["grader"] for p in preds]
    h = [p["human"] for p in preds]
    mean_g, mean_h = sum(g) / 6, sum(h) / 6
    cov = sum((a - mean_g) * (b - mean_h) for a, b in zip(g, h, strict=True)) / 6
    sd_g = (sum((a - mean_g) ** 2 for a in g) / 6) ** 0.5
    sd_h = (sum((b - mean_h) ** 2 for b in h) / 6) ** 0.5
    overall = out["overall"]["grader"]
    assert overall["pearson"] == pytest.approx(cov / (sd_g * sd_h))
    assert overall["rmse"] == pytest.approx(
        (sum((a - b) ** 2 for a, b in zip(g, h, strict=True)) / 6) ** 0.5
    )
    assert overall["n"] == 6 and overall["macro_f1"] is not None
    # The floor: share of the reference's words found in the answer.
    assert preds[1]["unigram_overlap"] < preds[0]["unigram_overlap"]
    # Good answers score above the wrong ones.
    assert min(g[0], g[2], g[3]) > max(g[1], g[4])
    assert set(out["per_question"]) == {"attn", "pos"}


def test_grader_eval_bad_data(tmp_path):
    from .conftest import run

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q"}\n', "utf-8")
    result = run("eval", str(bad))
    assert result.exit_code == 1
    assert "bad.jsonl:1: missing reference_answer, student_answer, score, max_score" in result.stderr


@pytest.mark.slow
@pytest.mark.model
def test_calibration_script_fits_and_reports_on_a_small_file():
    """`benchmarks/calibrate_offline.py` (how grading.py's constants are refit) runs end to end on
    our own six-row file: held-out figures beside the floor, constants that pass the bank checks."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    data = root / "tests" / "data" / "eval_small.jsonl"
    result = subprocess.run(
        [sys.executable, "benchmarks/calibrate_offline.py", "--semeval", str(data), "--folds", "2"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "6 SemEval answers" in out
    assert "offline grader" in out and "unigram-overlap floor" in out
    assert "chosen on all questions: alpha = " in out
    assert "'ok': True" in out and "reference_min': 100.0" in out
