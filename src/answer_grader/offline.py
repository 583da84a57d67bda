"""The offline grader: keyword checks and sentence similarity, no network, no key.

How a point's evidence is scored is specified in `grading` (the module docstring) and computed in
`signals`; this module turns the evidence into verdicts, a confidence and a report:

    a sentence carrying the point states it wrongly  contradicted (contradiction.py)
    evidence >= PARAMS.covered                       covered
    evidence >= PARAMS.partial                       partial
    below, all keyword groups present somewhere      missed, flagged keyword-only
    otherwise                                        missed
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .errors import GraderError
from .grading import clean_answer, grade_or_error, suspected_injection
from .models import (
    FLAG_INJECTION,
    FLAG_KEYWORD_ONLY,
    FLAG_OFF_TOPIC,
    FLAG_TOO_SHORT,
    OFFLINE_CAVEAT,
    Evidence,
    GradeReport,
    PointResult,
    Question,
    Verdict,
)
from .params import PARAMS
from .scoring import assemble, point_result
from .semantic import MODEL_NAME, Embedder
from .signals import PointSignal, min_answer_words, point_signals
from .text import Sentence, split_sentences, word_count

# Threads loading the model. The process waits for them before it exits: onnxruntime aborts the
# process (SIGABRT) if the interpreter shuts down while a session is being made, which a run that
# needed no model after all (every vector stored) would otherwise risk.
_LOADERS: list[threading.Thread] = []
_LOADERS_LOCK = threading.Lock()


def _join_loaders() -> None:
    for loader in list(_LOADERS):
        loader.join(timeout=60)


def _preload(embedder: Embedder) -> None:
    """Load the embedder's model now, if it can say so (the shipped one can)."""
    try:
        preload = getattr(embedder, "preload", None)
        if preload is not None:
            preload()
    except Exception:  # embedding reports it again, in the grader's thread
        pass


# The weights and cuts (PARAMS.alpha, beta, gamma, novel_floor, partial, covered) are fit by
# `python benchmarks/calibrate_offline.py`, which writes them to data/offline_params.json and prints
# the search and the held-out figures. Three sources, fit together, every one split into 5 folds by
# question; the constants are chosen on four folds and scored on the fifth, and the README gives
# those held-out figures:
#   - SemEval-2013 Task 7 training answers (Beetle, SciEntsBank; ../shared/datasets): 2-way
#     macro-F1 of each corpus, the cut also chosen on the four folds;
#   - the 69 hand-labelled interview answers of tests/data/labelled: per-point agreement (QWK);
#   - the bank, as a condition: every reference answer still scores >= 90, and the question pasted
#     back, another question's reference, half a reference and the gaming answers of
#     answer_grader.gaming (keywords as filler prose, terse notes, off-topic sentences) score low.
# The fit chose no novel_floor (-1.0) over -0.2, -0.1 and none of that route at all (tie): requiring
# prose and measuring repeated wording only against full sentences already keeps the gaming answers
# low.


@dataclass(frozen=True)
class Verdicts:
    """One point's verdict, its flags and the evidence shown for it."""

    verdict: Verdict
    flags: tuple[str, ...]
    evidence: Evidence | None
    correction: str | None = None  # for a contradicted point: what is true instead


def evidence_of(signal: PointSignal) -> Evidence | None:
    unit = signal.keywords.sentence or signal.unit
    if unit is None:
        return None
    terms = [h.term for h in signal.keywords.hits] if signal.keywords.sentence == unit else []
    return Evidence(quote=unit.text, line=unit.line, terms=terms)


def offline_verdict(signal: PointSignal) -> Verdicts:
    wrong = signal.contradiction
    if wrong is not None:
        return Verdicts("contradicted", (wrong.kind,), evidence_of(signal), wrong.correction)
    s = signal.score
    if s >= PARAMS.covered:
        return Verdicts("covered", (), evidence_of(signal))
    if s >= PARAMS.partial:
        return Verdicts("partial", (), evidence_of(signal))
    flags = (FLAG_KEYWORD_ONLY,) if signal.keywords_anywhere else ()
    return Verdicts("missed", flags, None)


def verdict_levels(evidence, partial: float, covered: float):  # type: ignore[no-untyped-def]
    """`offline_verdict`'s cuts for many points at once (numpy): 0 missed, 1 partial, 2 covered.
    The calibration script tries its candidate cuts with it."""
    import numpy as np

    return np.where(evidence >= covered, 2, np.where(evidence >= partial, 1, 0))


def result_of(
    signal: PointSignal,
    combined: Verdicts,
    judged: Verdict | None = None,
    feedback: str | None = None,
) -> PointResult:
    """A point's result from its signal and final verdict (and the judge's, on the LLM path)."""
    return point_result(
        signal.point,
        combined.verdict,
        evidence=combined.evidence,
        semantic=round(signal.score, 3),
        keywords_found=len(signal.keywords.hits),
        judge_verdict=judged,
        feedback=feedback,
        expected=signal.expected,
        correction=combined.correction,
        flags=combined.flags,
    )


def confidence_offline(signals: Sequence[PointSignal]) -> str:
    """Low when many points sit close to a cut (a small change of wording would flip them);
    never "high": the offline grader cannot check correctness."""
    p = PARAMS
    close = sum(
        any(abs(s.score - e) < p.confidence_margin for e in (p.partial, p.covered)) for s in signals
    )
    return "low" if close / max(1, len(signals)) > p.confidence_low_share else "medium"


@dataclass(frozen=True)
class Prepared:
    """An answer made ready for grading: its text, sentences, words and report flags, and the
    offline signals of every point (what the LLM grader cross-checks against, too)."""

    question: Question
    text: str
    units: list[Sentence]
    words: int
    flags: list[str]
    signals: list[PointSignal]

    @property
    def too_short(self) -> bool:
        return FLAG_TOO_SHORT in self.flags


class OfflineGrader:
    """The embedded default: grades with keywords and all-MiniLM-L6-v2, on this machine.

    `embedder` defaults to the model shipped in the package, loaded on first use, with its
    vectors kept in the data folder of the process's Environment."""

    backend = "offline"

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder

    @property
    def model(self) -> str:
        """The embedding model's name (known without loading it)."""
        return MODEL_NAME if self._embedder is None else self._embedder.name

    @property
    def name(self) -> str:
        return f"offline grader: keywords + {self.model}"

    @property
    def version(self) -> str:
        """Everything its grades depend on: the embedding model, every parameter (a hash of them
        all) and the sentence splitter's version, so a refit, another model or another way of
        splitting answers never replays a cached grade."""
        from .text import splitter_version

        return f"offline|{self.model}|{PARAMS.version}|split {splitter_version()[:12]}"

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from .environment import Environment

            self._embedder = Environment().get_embedder()
        return self._embedder

    def prepare(self, question: Question, answer: str) -> Prepared:
        """Validate the answer and compute its signals. Raises AnswerError."""
        text = clean_answer(answer)
        units = split_sentences(text)
        words = word_count(text)
        flags = [FLAG_INJECTION] if suspected_injection(text) else []
        short = words < min_answer_words(question)
        if short:
            flags.insert(0, FLAG_TOO_SHORT)
        p = PARAMS
        signals = point_signals(
            question, [] if short else units, self.embedder, p.alpha, p.beta, p.gamma, p.novel_floor
        )
        if not short and all(s.raw < p.off_topic for s in signals):
            flags.append(FLAG_OFF_TOPIC)
        return Prepared(question, text, units, words, flags, signals)

    def too_short_report(self, p: Prepared, grader: str, backend: str, model: str) -> GradeReport:
        """Every point missed, score 0, nothing sent anywhere: the same for both graders."""
        points = [result_of(s, Verdicts("missed", (), None)) for s in p.signals]
        return assemble(
            p.question,
            points,
            backend=backend,
            grader=grader,
            model=model,
            confidence="low",
            words=p.words,
            flags=p.flags,
            caveats=[f"The answer has {p.words} words: too short to grade."],
        )

    def grade(self, question: Question, answer: str) -> GradeReport:
        """Grade one answer to one question. Raises AnswerError for an empty or too long one."""
        p = self.prepare(question, answer)
        if p.too_short:
            return self.too_short_report(p, self.name, self.backend, self.model)
        points = [result_of(s, offline_verdict(s)) for s in p.signals]
        return assemble(
            question,
            points,
            backend=self.backend,
            grader=self.name,
            model=self.model,
            confidence=confidence_offline(p.signals),
            words=p.words,
            flags=p.flags,
            caveats=[OFFLINE_CAVEAT],
        )

    def warm(self, items: Sequence[tuple[Question, str]]) -> None:
        """Embed what many answers need in one batched pass (much faster than answer by answer):
        every question's anchors, and every sentence of every answer grade() will accept."""
        from .signals import _texts_to_embed, usable, warm_profiles

        # The model loads (0.4 s: a session and a tokenizer, native code that frees the GIL) while
        # this thread splits the answers and reads the references, which needs no model.
        loader = self.preload()
        try:
            questions = list({q.content_hash: q for q, _ in items}.values())
            for q in questions:
                _texts_to_embed(q)  # the references' keyword checks, kept per rubric content
            # min_words=1: a short sentence is usable when the reference is one short sentence.
            texts = [
                u.text
                for _, a in items
                if len(a) <= PARAMS.max_answer_chars  # a 5 MB answer is refused, not split first
                for u in split_sentences(a)
                if usable(u, min_words=1)
            ]
        finally:
            loader.join()
        warm_profiles(questions, self.embedder)
        if texts:
            self.embedder.embed(texts)

    def preload(self) -> threading.Thread:
        """Start loading the embedder's model in a thread (native code: it frees the GIL for
        whatever this thread does meanwhile); an embedding meanwhile waits for it."""
        embedder = self.embedder  # resolved here: one thread makes it
        loader = threading.Thread(target=_preload, args=(embedder,), daemon=True)
        with _LOADERS_LOCK:
            if not _LOADERS:
                atexit.register(_join_loaders)
            _LOADERS.append(loader)
        loader.start()
        return loader

    def grade_many(
        self,
        items: Sequence[tuple[Question, str]],
        *,
        jobs: int = 1,
        on_done: Callable[[int, GradeReport | GraderError], None] | None = None,
    ) -> list[GradeReport | GraderError]:
        """Grade many answers; one that cannot be graded is its error, in its place."""
        self.warm(items)
        out: list[GradeReport | GraderError] = []
        for i, (question, answer) in enumerate(items):
            result = grade_or_error(self.grade, question, answer)
            out.append(result)
            if on_done is not None:
                on_done(i, result)
        return out
