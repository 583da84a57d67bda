"""Every number and word list that steers the offline grader, in one frozen object, loaded from
one data file (`data/offline_params.json`).

The fitted fields (weights and cuts) are written by `benchmarks/calibrate_offline.py`; the others
are fixed by design and edited by hand, with the reason in the module that uses them. `version` is
a hash of every field, so any change to the file gives new cache keys: no grade computed under
other parameters is ever replayed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

DATA_FILE = "data/offline_params.json"


@dataclass(frozen=True)
class OfflineParams:
    model: str  # the embedding model's package and version the fit was made with
    # -- fitted (benchmarks/calibrate_offline.py) --
    alpha: float  # weight of the meaning (embedding similarity)
    beta: float  # weight of the repeated content words; the keyword groups get 1 - alpha - beta
    gamma: float  # taken off when a sentence's polarity clashes with the point's
    novel_floor: float  # how far below filler a prose sentence with a novel keyword may be, tied
    partial: float  # evidence >= partial: partial
    covered: float  # evidence >= covered: covered
    # -- by design --
    tie: float  # calibrated similarity above which a sentence is tied to a point by meaning
    terse_share: float  # below this share of function words a sentence reads as notes
    critical_cap: float  # the score of an answer that misses a critical point, at most
    min_unit_words: int  # a sentence shorter than this cannot state a point on its own
    min_answer_words: int  # an answer shorter than this says nothing gradable
    short_reference_share: float  # for a one-sentence reference: this share of its words
    lexical_min_words: int  # an anchor needs this many content words to compare wording with
    off_topic: float  # no sentence this similar to any point: the answer is off-topic
    confidence_margin: float  # evidence this close to a cut is a close call
    confidence_low_share: float  # more close calls than this share: confidence low
    min_quote_words: int  # a judge's quote needs this many words to be evidence
    fragment_words: int  # a lead-in shorter than this is joined to the next sentence
    chunk_chars: int  # longer blocks are cut at sentence ends before segmentation
    negation_window: int  # a cue at most this many words before a keyword negates it
    negation_scope: int  # a cue denies this many content words after it, in its clause
    negated_copy_share: float  # a sentence sharing this share of a point's words copies it
    short_statement_words: int  # a sentence of at most this many content words is one claim
    misconception_margin: float  # this much closer to a misconception than to its point: wrong
    misconception_min: float  # ... and at least this similar to the misconception's claim
    max_answer_chars: int  # longer answers are refused
    list_min_words: int  # fewer words: never a list of terms
    list_words: int  # this many words with almost no function word: a list of terms
    list_function_share: float  # ... "almost no": below this share
    list_items: int  # this many short comma-separated items: a list of terms
    list_item_words: int  # ... "short": at most this many words per item
    list_items_function_share: float  # ... and a function-word share below this
    list_many_items: int  # this many short items: a list of terms, whatever its function words
    points_per_unit: int  # one sentence is the evidence of at most this many points
    keyword_list_terms: int  # terms per keyword group in the bare keyword list (terse baseline)
    # -- key points derived from a reference (grader new, and eval rows without a rubric) --
    derive_long_sentence_words: int  # a longer sentence is split into its clauses
    derive_clause_words: int  # ... clauses shorter than this stay with their sentence
    derive_keywords: int  # keyword groups per derived point
    derive_min_keyword_chars: int  # shorter words are never keywords
    # words that deny what follows: a keyword up to negation_window words later, and a sentence's
    # polarity ("n't" forms count too: text.is_negation)
    negations: frozenset[str]
    function_words: frozenset[str]
    distractors: tuple[str, ...]  # off-topic and filler text a sentence must beat to be evidence
    generic_words: frozenset[str]  # too general to be a derived point's keyword

    @property
    def version(self) -> str:
        """A hash of every field: part of every cached offline grade's key."""
        data = {f.name: _plain(getattr(self, f.name)) for f in fields(self)}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def to_json(self) -> dict:
        """The data file's layout (what `load` reads and the calibration script writes)."""
        data = asdict(self)
        out: dict = {"model": data.pop("model"), "fitted": {}, "design": {}, "words": {}}
        for name in FITTED:
            out["fitted"][name] = data.pop(name)
        for name in WORDS:
            out["words"][name] = _plain(data.pop(name))
        out["design"] = data
        return out


FITTED = ("alpha", "beta", "gamma", "novel_floor", "partial", "covered")
WORDS = ("negations", "function_words", "distractors", "generic_words")


def _plain(value: object) -> object:
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def from_json(data: dict) -> OfflineParams:
    """Parameters from the data file's layout; every field must be there, and nothing else."""
    flat = {"model": data["model"], **data["fitted"], **data["design"], **data["words"]}
    names = {f.name for f in fields(OfflineParams)}
    if set(flat) != names:
        missing, extra = sorted(names - set(flat)), sorted(set(flat) - names)
        raise ValueError(f"offline parameters: missing {missing}, unknown {extra}")
    for name in ("negations", "function_words", "generic_words"):
        flat[name] = frozenset(flat[name])
    flat["distractors"] = tuple(flat["distractors"])
    return OfflineParams(**flat)


def load(path: Path | None = None) -> OfflineParams:
    """The parameters in `path`, by default the data file shipped in the package."""
    text = (
        path.read_text("utf-8")
        if path is not None
        else files("answer_grader").joinpath(DATA_FILE).read_text("utf-8")
    )
    data = json.loads(text)
    data.pop("_comment", None)
    return from_json(data)


def write(params: OfflineParams, path: Path) -> None:
    """Write `params` in the data file's layout (the calibration script's output)."""
    comment = json.loads(files("answer_grader").joinpath(DATA_FILE).read_text("utf-8"))["_comment"]
    path.write_text(json.dumps({"_comment": comment, **params.to_json()}, indent=2) + "\n", "utf-8")


@lru_cache(maxsize=1)
def default_params() -> OfflineParams:
    """The shipped parameters, read once per process."""
    return load()


PARAMS = default_params()
