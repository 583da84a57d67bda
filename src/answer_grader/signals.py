"""Per-point evidence from an answer, before any verdict: the best sentence by meaning, how far it is
above what off-topic or empty text scores for the same point, and the keyword groups it carries.

Both graders use these signals: the offline grader turns them into verdicts; the LLM judge's verdicts
are cross-checked against them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .keywords import AnalysedSentence, KeywordEvidence, analyse_all, check_point
from .models import KeyPoint, Question
from .semantic import Embedder
from .text import Sentence, split_sentences

# Text that mentions nothing a key point asks for. A sentence must score above all of these (and above
# the question itself, and above a bare list of the point's keywords) before it counts as evidence.
# The list mixes off-topic text with the vague, on-topic filler a candidate uses to stall.
DISTRACTORS = (
    "Preheat the oven and bake the cake for thirty minutes until golden.",
    "The football match ended in a draw after extra time.",
    "I am not sure, but I think it depends on many factors.",
    "This is a very important and interesting topic in machine learning and AI.",
    "Large language models are powerful tools that are changing many industries.",
    "There are many different approaches, each with its own advantages and disadvantages.",
    "It is a key concept that every engineer working with neural networks should understand.",
    "In practice you should evaluate carefully and choose what works best for your use case.",
)

FUNCTION_WORDS = frozenset(
    """a an the of to in on for with by from as at into over under between through about and or
    but if then so because while whereas which that this these those it its is are was were be been
    being has have had do does did can could should would may might must will not no than each every
    all any some one two per we you they he she i our your their them what when where how why who""".split()
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+")


def is_list_like(text: str) -> bool:
    """A string of terms rather than a statement: many short comma-separated items and almost no
    function words. Such a unit is never evidence, whatever its keywords (keyword stuffing)."""
    words = _WORD.findall(text.lower())
    if len(words) < 4 or "=" in text:  # a formula is not a list of terms
        return False
    function_share = sum(w in FUNCTION_WORDS for w in words) / len(words)
    items = [i for i in re.split(r"[,;|·•]", text) if _WORD.search(i)]
    return function_share < 0.12 and len(items) >= 4 and len(words) / len(items) <= 3.5


MIN_UNIT_WORDS = 4  # shorter units ("Softmax.", "Q, K, V") cannot state a point on their own


@dataclass(frozen=True)
class PointProfile:
    """What one point's evidence is compared with: its anchors and its baseline."""

    point: KeyPoint
    anchors: tuple[str, ...]  # the point's text, and the reference sentence that carries it
    expected: str | None  # that reference sentence, shown to users as what was expected
    baseline: float  # the best similarity any distractor reaches against the anchors


@dataclass(frozen=True)
class PointSignal:
    point: KeyPoint
    unit: Sentence | None  # the best sentence by meaning (None: nothing above the baseline)
    raw: float  # cosine similarity of that sentence to the nearest anchor
    semantic: float  # (raw - baseline) / (1 - baseline), clipped to 0..1
    keywords: KeywordEvidence  # keyword groups within sentences tied to the point by meaning
    keywords_anywhere: bool  # every group matched in some sentence, tied or not
    expected: str | None


def keyword_list(point: KeyPoint) -> str:
    terms = [t if isinstance(t, str) else t.regex for group in point.keywords for t in group[:2]]
    return ", ".join(terms)


_PROFILES: dict[tuple[int, str], tuple[PointProfile, ...]] = {}


def profiles(question: Question, embedder: Embedder) -> tuple[PointProfile, ...]:
    """The profiles of a question's points, computed once per embedder and rubric content."""
    key = (id(embedder), question.content_hash)
    if key not in _PROFILES:
        _PROFILES[key] = _build_profiles(question, embedder)
    return _PROFILES[key]


def _build_profiles(question: Question, embedder: Embedder) -> tuple[PointProfile, ...]:
    reference = analyse_all(split_sentences(question.reference_answer))
    profiles = []
    for point in question.key_points:
        ev = check_point(point, reference)
        expected = ev.sentence.text if ev.sentence is not None and ev.complete else None
        anchors = (point.text, expected) if expected else (point.text,)
        distractors = [*DISTRACTORS, question.text, keyword_list(point)]
        sims = embedder.embed(list(anchors)) @ embedder.embed(distractors).T
        profiles.append(PointProfile(point, anchors, expected, float(sims.max())))
    return tuple(profiles)


def point_signals(
    question: Question,
    units: Sequence[Sentence],
    embedder: Embedder,
    tie_threshold: float,
) -> list[PointSignal]:
    """Signals for every key point of `question` in the answer `units`.

    A unit is tied to a point when its calibrated semantic score reaches `tie_threshold`; keyword
    evidence is looked for only in tied units, so keywords alone never earn a point.
    """
    import numpy as np

    analysed: list[AnalysedSentence] = analyse_all(units)
    usable = [
        i
        for i, u in enumerate(units)
        if len(_WORD.findall(u.text)) >= MIN_UNIT_WORDS and not is_list_like(u.text)
    ]
    texts = [units[i].text for i in usable]
    vectors = embedder.embed(texts) if texts else None
    out = []
    for prof in profiles(question, embedder):
        anywhere = check_point(prof.point, analysed).complete
        if vectors is None:
            empty = check_point(prof.point, [])
            out.append(PointSignal(prof.point, None, 0.0, 0.0, empty, anywhere, prof.expected))
            continue
        sims = (embedder.embed(list(prof.anchors)) @ vectors.T).max(axis=0)
        calibrated = np.clip((sims - prof.baseline) / max(1e-6, 1.0 - prof.baseline), 0.0, 1.0)
        best = int(np.argmax(sims))
        tied = [analysed[usable[j]] for j in np.flatnonzero(calibrated >= tie_threshold)]
        keywords = check_point(prof.point, tied)
        out.append(
            PointSignal(
                point=prof.point,
                unit=units[usable[best]] if calibrated[best] > 0 else None,
                raw=float(sims[best]),
                semantic=float(calibrated[best]),
                keywords=keywords,
                keywords_anywhere=anywhere,
                expected=prof.expected,
            )
        )
    return out
