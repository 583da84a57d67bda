"""The offline grader's parameters: one frozen object, one data file, one version over all of it."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path

import pytest

from answer_grader import params
from answer_grader.params import PARAMS, OfflineParams


def _changed(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, frozenset):
        return value | {"zzz"}
    if isinstance(value, tuple):
        return (*value, "Another distractor sentence about the weather today.")
    raise AssertionError(f"no change defined for {type(value)}")


@pytest.mark.parametrize("name", [f.name for f in fields(OfflineParams)])
def test_changing_any_field_changes_the_version(name):
    other = replace(PARAMS, **{name: _changed(getattr(PARAMS, name))})
    assert other.version != PARAMS.version


def test_the_offline_graders_version_is_the_parameters(bank):
    from answer_grader.llm import LLMGrader
    from answer_grader.offline import OfflineGrader

    class Judge:
        model = "m"

    assert PARAMS.version in OfflineGrader().version
    assert OfflineGrader().version in LLMGrader(Judge()).version


def test_the_data_file_round_trips(tmp_path: Path):
    target = tmp_path / "p.json"
    params.write(PARAMS, target)
    assert params.load(target) == PARAMS
    shipped = json.loads((Path(params.__file__).parent / params.DATA_FILE).read_text())
    assert json.loads(target.read_text()) == shipped  # the shipped file is in canonical form


def test_a_data_file_with_a_missing_or_unknown_field_is_refused(tmp_path: Path):
    data = PARAMS.to_json()
    del data["design"]["tie"]
    data["design"]["tei"] = 0.02
    target = tmp_path / "p.json"
    target.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"missing \['tie'\], unknown \['tei'\]"):
        params.load(target)


def test_no_steering_number_is_left_in_the_grading_modules():
    # The numbers that steer grading live in the parameters; the modules that grade keep none of
    # the old module-level constants.
    import answer_grader.keywords as keywords
    import answer_grader.offline as offline
    import answer_grader.signals as signals
    import answer_grader.text as text

    for module, names in [
        (offline, ["ALPHA", "BETA", "GAMMA", "NOVEL_FLOOR", "PARTIAL", "COVERED", "OFF_TOPIC"]),
        (signals, ["TIE", "TERSE_SHARE", "MIN_UNIT_WORDS", "DISTRACTORS", "FUNCTION_WORDS"]),
        (keywords, ["NEGATION_WINDOW", "NEGATION_CUES"]),
        (text, ["FRAGMENT_WORDS", "CHUNK"]),
    ]:
        assert not [n for n in names if hasattr(module, n)], module.__name__
