"""Per-point evidence from an answer, before any verdict: the best sentence by meaning, how far it is
above what off-topic or empty text scores for the same point, and the keyword groups it carries.

Both graders use these signals: the offline grader turns them into verdicts; the LLM judge's verdicts
are cross-checked against them.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .contradiction import (
    Contradiction,
    PointContent,
    conflicting_term,
    misconceptions_of,
    negation_clash,
    polarity,
)
from .keywords import AnalysedSentence, KeywordEvidence, analyse_all, check_point
from .models import FLAG_CONFLICT, FLAG_MISCONCEPTION, FLAG_NEGATED, KeyPoint, Misconception, Question
from .params import PARAMS
from .semantic import Embedder
from .text import WORD, Sentence, is_negation, split_sentences, word_count
from .text import words as text_words

# Text that mentions nothing a key point asks for (PARAMS.distractors): a sentence must score above
# all of it (and above the question itself, and above a bare list of the point's keywords) before it
# counts as evidence. It mixes off-topic text with the vague, on-topic filler a candidate stalls with.


def is_list_like(text: str) -> bool:
    """A string of terms rather than a statement: six words or more without a function word, or six
    or more short comma-separated items (PARAMS.list_*). Such a unit is never evidence, whatever
    its keywords (keyword stuffing)."""
    p = PARAMS
    words = text_words(text)
    if len(words) < p.list_min_words or "=" in text:  # a formula is not a list of terms
        return False
    function_share = sum(w in p.function_words for w in words) / len(words)
    if len(words) >= p.list_words and function_share < p.list_function_share:
        return True  # six words and not one "the", "of", "is"...
    items = [i for i in re.split(r"[,;|·•]", text) if WORD.search(i)]
    short = len(words) / max(1, len(items)) <= p.list_item_words
    # Ten or more short items are a catalogue whatever their articles ("the query, the key, the
    # value, ..."); six or more, when almost none of the words is a function word.
    if short and len(items) >= p.list_many_items:
        return True
    return function_share < p.list_items_function_share and len(items) >= p.list_items and short


def min_answer_words(question: Question) -> int:
    """The fewest words an answer needs before it is graded: PARAMS.min_answer_words for an
    interview question, fewer when the reference itself is one short sentence (a share of its
    words, at least 1), because "It has a seed." can be a full answer to a short question."""
    if len(split_sentences(question.reference_answer)) > 1:
        return PARAMS.min_answer_words
    reference_words = word_count(question.reference_answer)
    return max(
        1, min(PARAMS.min_answer_words, math.ceil(reference_words * PARAMS.short_reference_share))
    )


def min_unit_words(question: Question) -> int:
    """The fewest words a sentence needs to be evidence, by the same rule."""
    return min(PARAMS.min_unit_words, min_answer_words(question))


# Negations (PARAMS.negations) are content here: "are not connected" and "are connected" are
# different answers.


def negated(text: str) -> bool:
    """Whether a text contains a negation ("not", "no", "never", "without", "n't", ...)."""
    return any(is_negation(w) for w in text_words(text))


def content_stems(text: str) -> frozenset[str]:
    """Stems of the words that carry content (function words dropped, negations kept)."""
    from .keywords import stem

    p = PARAMS
    out: set[str] = set()
    for w in text_words(text):
        if w.endswith("n't"):  # "don't" says what "do not" says
            out.update((stem(w[:-3]), "not"))
        elif w not in p.function_words or w in p.negations:
            out.add(stem(w))
    return frozenset(out)


@dataclass(frozen=True)
class PointProfile:
    """What one point's evidence is compared with: its anchors and its baseline."""

    point: KeyPoint
    anchors: tuple[str, ...]  # the point's text, and the reference sentence that carries it
    expected: str | None  # that reference sentence, shown to users as what was expected
    baseline: float  # the best similarity the question or a distractor reaches against the anchors
    # Per anchor, its content stems that the question does not give away (all of them if the
    # question gives every one away): what an answer must say in its own words to match it.
    lexical: tuple[frozenset[str], ...]
    # Per keyword group, whether the question itself carries it (then it proves nothing).
    given: tuple[bool, ...]
    content: PointContent  # what the point asserts and negates (for negation scope)
    misconceptions: tuple[Misconception, ...]  # those the bank ties to this point
    claim_words: tuple[frozenset[str], ...]  # per misconception: its content stems the point lacks
    reference_words: tuple[frozenset[str], ...] = ()  # each reference sentence's content stems
    # What every answer needs of the profile, computed at its first answer: the anchors' and the
    # misconceptions' vectors, the compiled keyword groups, the keyword baseline. A profile belongs
    # to one embedder (`profiles`), so its vectors are that embedder's.
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def keyword_baseline(self, embedder: Embedder) -> float:
        """What a bare list of the point's own keywords reaches against the anchors. Needed only
        for terse units, so computed only then, once."""
        if "keyword_baseline" not in self.memo:
            anchors = self.vectors("anchors", self.anchors, embedder)
            listed = embedder.embed([keyword_list(self.point)])
            self.memo["keyword_baseline"] = float((anchors @ listed.T).max())
        return self.memo["keyword_baseline"]

    def vectors(self, name: str, texts: Sequence[str], embedder: Embedder) -> Any:
        if name not in self.memo:
            self.memo[name] = embedder.embed(list(texts))
        return self.memo[name]

    def groups(self) -> list[list[Any]]:
        """The point's keyword groups, compiled."""
        if "groups" not in self.memo:
            from .keywords import compile_term

            self.memo["groups"] = [[compile_term(t) for t in g] for g in self.point.keywords]
        return self.memo["groups"]


def keyword_list(point: KeyPoint) -> str:
    n = PARAMS.keyword_list_terms
    terms = [t if isinstance(t, str) else t.regex for group in point.keywords for t in group[:n]]
    return ", ".join(terms)


# Per embedder (weakly: a test's fake embedder must not leave profiles that a later embedder, given
# the same id(), would reuse), then per rubric content.
_PROFILES: weakref.WeakKeyDictionary[Any, dict[str, tuple[PointProfile, ...]]] = (
    weakref.WeakKeyDictionary()
)


def _profiles_of(embedder: Embedder) -> dict[str, tuple[PointProfile, ...]]:
    return _PROFILES.setdefault(embedder, {})


def profiles(question: Question, embedder: Embedder) -> tuple[PointProfile, ...]:
    """The profiles of a question's points, computed once per embedder and rubric content."""
    known = _profiles_of(embedder)
    if question.content_hash not in known:
        known[question.content_hash] = _build_profiles(question, embedder)
    return known[question.content_hash]


_ANCHORS: dict[str, list[tuple[KeyPoint, tuple[str, ...], str | None]]] = {}
_REFERENCE: dict[str, list[AnalysedSentence]] = {}


def _reference(question: Question) -> list[AnalysedSentence]:
    """The reference answer's sentences, analysed once per rubric content."""
    if question.content_hash not in _REFERENCE:
        _REFERENCE[question.content_hash] = analyse_all(split_sentences(question.reference_answer))
    return _REFERENCE[question.content_hash]


def _anchors(question: Question) -> list[tuple[KeyPoint, tuple[str, ...], str | None]]:
    """Each point with its anchors; the keyword check of the reference behind it is the slow
    part, so the result is kept per rubric content."""
    if question.content_hash not in _ANCHORS:
        reference = _reference(question)
        out = []
        for point in question.key_points:
            ev = check_point(point, reference)
            expected = ev.sentence.text if ev.sentence is not None and ev.complete else None
            out.append((point, (point.text, expected) if expected else (point.text,), expected))
        _ANCHORS[question.content_hash] = out
    return _ANCHORS[question.content_hash]


def _texts_to_embed(question: Question) -> list[str]:
    # The keyword lists too: terse answers need them, and one batched call beats one call each.
    texts = [*PARAMS.distractors, question.text]
    for point, anchors, _ in _anchors(question):
        texts += [*anchors, keyword_list(point)]
    texts += [t for m in question.rubric.misconceptions for t in (m.claim, m.correction)]
    return texts


def warm_profiles(questions: Sequence[Question], embedder: Embedder) -> None:
    """Embed the anchors of many questions in one batched call (a sheet's worth at once)."""
    todo = [q for q in questions if q.content_hash not in _profiles_of(embedder)]
    if todo:
        embedder.embed([t for q in todo for t in _texts_to_embed(q)])


def mentions(point: KeyPoint, sentence: AnalysedSentence) -> bool:
    """Whether the sentence mentions any keyword term of the point (a plain term's first stem, or
    its joined form, in the sentence's vocabulary; a regex term searched): a cheap superset of
    the keyword check, enough to pick the reference sentences about the point."""
    from .keywords import compile_term, find_term

    for group in point.keywords:
        for t in group:
            term = compile_term(t)
            if term.pattern is not None:
                if find_term(term, sentence):
                    return True
            elif term.stems[:1] and (
                term.stems[0] in sentence.vocabulary or term.joined in sentence.vocabulary
            ):
                return True
    return False


def _build_profiles(question: Question, embedder: Embedder) -> tuple[PointProfile, ...]:
    anchors_by_point = _anchors(question)
    from .keywords import compile_term, find_term

    distractors = [*PARAMS.distractors, question.text]
    # One call for everything this question needs: far faster than a call per point.
    embedder.embed(_texts_to_embed(question))
    distractor_vectors = embedder.embed(distractors)
    asked = content_stems(question.text)
    question_sentences = analyse_all(split_sentences(question.text))
    reference = _reference(question)
    ref_polarity = [polarity(a, implicit=True) for a in reference]
    reference_words = tuple(content_stems(a.sentence.text) for a in reference)
    asked_stems = frozenset(t.stem for a in question_sentences for t in a.tokens)
    out = []
    for point, anchors, expected in anchors_by_point:
        anchor_vectors = embedder.embed(list(anchors))
        baseline = float((anchor_vectors @ distractor_vectors.T).max())
        # A heading such as "Queries, keys and values." carries a point for the keyword check, but
        # is too thin to measure repeated wording against: any mention of its words would match.
        stems = [c for a in anchors if len(c := content_stems(a)) >= PARAMS.lexical_min_words]
        stems = stems or [content_stems(point.text)]
        lexical = tuple((c - asked) or c for c in stems)
        given = tuple(
            any(find_term(compile_term(t), s) for t in group for s in question_sentences)
            for group in point.keywords
        )
        carriers = [pol for a, pol in zip(reference, ref_polarity, strict=True) if mentions(point, a)]
        content = PointContent.of(point, carriers, ref_polarity, asked_stems)
        wrong = tuple(misconceptions_of(point, question.rubric.misconceptions))
        point_words = content_stems(point.text) | content_stems(question.text)
        claim_words = tuple(content_stems(m.claim) - point_words for m in wrong)
        out.append(
            PointProfile(
                point,
                anchors,
                expected,
                baseline,
                lexical,
                given,
                content,
                wrong,
                claim_words,
                reference_words,
            )
        )
    return tuple(out)


# PARAMS.tie: how far above its point's baseline (calibrated similarity) a sentence must be to be
# tied to the point by meaning; fixed just above 0 by design, since a sentence no closer to a point
# than the question itself or filler text is not about that point.


def function_share(text: str) -> float:
    words = text_words(text)
    return sum(w in PARAMS.function_words for w in words) / len(words) if words else 0.0


def usable(unit: Sentence, min_words: int | None = None) -> bool:
    """Whether a unit can be evidence at all: long enough, and a statement, not a list of terms.
    A unit shorter than PARAMS.min_unit_words (allowed only for one-sentence references) must still
    read as a statement: "It has a seed." does, "closed path battery" does not."""
    p = PARAMS
    words = text_words(unit.text)
    if len(words) < (p.min_unit_words if min_words is None else min_words) or is_list_like(unit.text):
        return False
    return len(words) >= p.min_unit_words or any(w in p.function_words for w in words)


@dataclass(frozen=True)
class UnitFeatures:
    """For one point, per answer unit (aligned with the units; zeros for unusable ones): the raw
    cosine similarity to the nearest anchor, that similarity calibrated against the point's baseline
    (0 = no closer than the question or filler text; for terse notes, no closer than a bare list of
    the point's keywords), the share of keyword groups matched, the share of an anchor's own
    content words (those the question does not give away) the unit repeats, whether it matches
    a keyword group the question does not carry, and whether its polarity clashes with the
    point's (negated where the point is not, or the reverse)."""

    raw: tuple[float, ...]
    calibrated: tuple[float, ...]
    keyword_share: tuple[float, ...]
    usable: tuple[bool, ...]
    lexical: tuple[float, ...]
    novel: tuple[bool, ...]
    clash: tuple[bool, ...]  # the unit is negated where every anchor is not, or the reverse
    terse: tuple[bool, ...]  # notes rather than prose (few function words)
    # The three signals of a contradiction (contradiction.py), per unit:
    denied: tuple[frozenset[str], ...] = ()  # the point's content the unit negates
    conflict: tuple[str | None, ...] = ()  # a declared conflicting term the unit affirms
    # (how much closer to the nearest misconception than to the point, its index), or None
    wrong: tuple[tuple[float, int] | None, ...] = ()

    def tied(self, novel_floor: float) -> tuple[bool, ...]:
        """Units tied to the point: closer to it by meaning than the question or filler text; or,
        written as prose, carrying one of its keyword groups that the question does not already
        give away and not much further from it than filler (calibrated similarity > novel_floor).
        The second way lets a short answer that echoes the question's words count; the floor and
        the prose rule keep keywords in an off-topic sentence or in terse notes from counting."""
        return tuple(
            ok and (c > PARAMS.tie or (n and not t and c > novel_floor))
            for c, n, t, ok in zip(self.calibrated, self.novel, self.terse, self.usable, strict=True)
        )


def unit_features(
    question: Question,
    units: Sequence[Sentence],
    embedder: Embedder,
    analysed_units: Sequence[AnalysedSentence] | None = None,
) -> list[tuple[PointProfile, UnitFeatures]]:
    """Features of every unit for every key point; the expensive step, done once per answer.
    `analysed_units`: the units already analysed (keywords.analyse_all), if the caller has them."""
    from .keywords import find_term

    min_words = min_unit_words(question)
    ok = [usable(u, min_words) for u in units]
    idx = [i for i, flag in enumerate(ok) if flag]
    vectors = embedder.embed([units[i].text for i in idx]) if idx else None
    every = analysed_units if analysed_units is not None else analyse_all(units)
    analysed = [every[i] for i in idx]
    said = [content_stems(units[i].text) for i in idx]
    unit_negated = [negated(units[i].text) for i in idx]
    polarities = [polarity(a, implicit=True) for a in analysed]
    copied: dict[int, bool] = {}

    def copies(j: int, prof: PointProfile) -> bool:
        """Whether unit j is (nearly) a sentence of the reference: the same question's profiles
        share the reference, so this is computed once per unit."""
        if j not in copied:
            share = PARAMS.negated_copy_share
            copied[j] = any(
                len(r) >= 3
                and len(r & said[j]) >= share * len(r)
                and len(r & said[j]) >= share * len(said[j])
                for r in prof.reference_words
            )
        return copied[j]

    out = []
    for prof in profiles(question, embedder):
        raw = [0.0] * len(units)
        cal = [0.0] * len(units)
        share = [0.0] * len(units)
        lexical = [0.0] * len(units)
        novel = [False] * len(units)
        clash = [False] * len(units)
        terse = [False] * len(units)
        denied: list[frozenset[str]] = [frozenset()] * len(units)
        conflict: list[str | None] = [None] * len(units)
        wrong: list[tuple[float, int] | None] = [None] * len(units)
        anchor_polarity = {negated(a) for a in prof.anchors}
        if vectors is not None:
            sims = (prof.vectors("anchors", prof.anchors, embedder) @ vectors.T).max(axis=0)
            claims = corrections = None
            if prof.misconceptions:
                said_claims = [m.claim for m in prof.misconceptions]
                fixes = [m.correction for m in prof.misconceptions]
                claims = prof.vectors("claims", said_claims, embedder) @ vectors.T
                corrections = prof.vectors("corrections", fixes, embedder) @ vectors.T
            groups = prof.groups()
            for j, i in enumerate(idx):
                base = prof.baseline
                if function_share(units[i].text) < PARAMS.terse_share:
                    terse[i] = True
                    base = max(base, prof.keyword_baseline(embedder))
                raw[i] = float(sims[j])
                cal[i] = (raw[i] - base) / max(1e-6, 1.0 - base)
                matched = [any(find_term(t, analysed[j]) for t in g) for g in groups]
                share[i] = sum(matched) / len(groups)
                novel[i] = any(m and not g for m, g in zip(matched, prof.given, strict=True))
                lexical[i] = max((len(a & said[j]) / len(a) for a in prof.lexical if a), default=0.0)
                clash[i] = unit_negated[j] not in anchor_polarity
                denied[i] = negation_clash(polarities[j], prof.content)
                conflict[i] = conflicting_term(prof.point, analysed[j])
                if claims is not None and corrections is not None:
                    # Closer to the claim than to its own correction: the correction says the
                    # same things rightly, so it is the sharpest contrast the bank has.
                    # And it must say something of the claim's own: a word of the claim that
                    # neither the point nor the question has ("optimizer states" in "it shrinks
                    # weights and optimizer states"), not only the topic they share.
                    # What the reference itself says is never a misconception.
                    k = int(claims[:, j].argmax())
                    own = prof.claim_words[k] & said[j]
                    if claims[k, j] >= PARAMS.misconception_min and own and not copies(j, prof):
                        wrong[i] = (float(claims[k, j] - max(corrections[k, j], sims[j])), k)
        features = UnitFeatures(
            tuple(raw),
            tuple(cal),
            tuple(share),
            tuple(ok),
            tuple(lexical),
            tuple(novel),
            tuple(clash),
            tuple(terse),
            tuple(denied),
            tuple(conflict),
            tuple(wrong),
        )
        out.append((prof, features))
    return out


def unit_scores(
    features: UnitFeatures, alpha: float, beta: float, gamma: float, novel_floor: float
) -> list[float]:
    """Evidence score of each unit for a point: alpha x similarity + beta x the share of the
    anchor's own words repeated + the rest x the share of keyword groups found, less gamma if its
    polarity clashes with the point's, for units tied to the point (UnitFeatures.tied); 0 for
    the rest. A unit no closer to the point than the question itself or filler text, and without a
    keyword the question does not give away, earns nothing. The polarity term is the offline
    grader's only hold on "X is not Y" against "X is Y": embeddings barely separate the two."""
    return [
        max(0.0, alpha * r + beta * lex + (1 - alpha - beta) * k - gamma * c) if tied else 0.0
        for r, lex, k, c, tied in zip(
            features.raw,
            features.lexical,
            features.keyword_share,
            features.clash,
            features.tied(novel_floor),
            strict=True,
        )
    ]


@dataclass(frozen=True)
class PointSignal:
    point: KeyPoint
    unit: Sentence | None  # the unit with the best evidence score (None: no usable unit)
    score: float  # that unit's evidence score, 0..1
    raw: float  # its raw similarity to the point
    tied: bool  # whether it is tied to the point by meaning
    keywords: KeywordEvidence  # the keyword check of that unit alone
    keywords_anywhere: bool  # every group matched in one sentence somewhere, tied or not
    expected: str | None
    scores: tuple[float, ...]  # every unit's evidence score (for checking an LLM's quotes)
    tied_units: tuple[bool, ...]
    # A unit that carries the point and states it wrongly (None: none does).
    contradiction: Contradiction | None = None
    # Per unit tied to the point, how it states the point wrongly (a FLAG_* kind; None: it does
    # not): what the LLM cross-check holds against a judge's credit for that unit.
    contradicting: tuple[Contradiction | None, ...] = ()


def _stated_wrongly(prof: PointProfile, feats: UnitFeatures, i: int, kind: str) -> Contradiction | None:
    """Unit i's contradiction of the point by one signal (FLAG_CONFLICT, FLAG_NEGATED or
    FLAG_MISCONCEPTION), if its features show one."""
    point = prof.point
    if kind == FLAG_CONFLICT and feats.conflict and (term := feats.conflict[i]) is not None:
        return Contradiction(FLAG_CONFLICT, i, point.text, term)
    if kind == FLAG_NEGATED and feats.denied and feats.denied[i]:
        return Contradiction(FLAG_NEGATED, i, point.text, ", ".join(sorted(feats.denied[i])))
    wrong = feats.wrong[i] if feats.wrong else None
    if kind == FLAG_MISCONCEPTION and wrong is not None and wrong[0] >= PARAMS.misconception_margin:
        m = prof.misconceptions[wrong[1]]
        return Contradiction(FLAG_MISCONCEPTION, i, m.correction, m.claim)
    return None


def find_contradiction(
    prof: PointProfile, feats: UnitFeatures, scores: Sequence[float], gamma: float
) -> Contradiction | None:
    """The first unit that states the point wrongly: one tied to the point that repeats one of its
    misconceptions; one that carries it (tied, with evidence of a partial before the polarity
    penalty) with a declared conflicting term; or the unit tied to it with the best evidence, if
    it negates the point's content."""
    tied = feats.tied(PARAMS.novel_floor)
    evidence = [s + gamma * c if t else 0.0 for s, c, t in zip(scores, feats.clash, tied, strict=True)]
    pool = [i for i, t in enumerate(tied) if t]
    # A misconception is its own evidence of what the sentence is about (it is tied to this point
    # in the bank): a sentence that states it need not also carry the point's right wording.
    for i in pool:
        if found := _stated_wrongly(prof, feats, i, FLAG_MISCONCEPTION):
            return found
    for i in (i for i, e in enumerate(evidence) if e >= PARAMS.partial):
        if found := _stated_wrongly(prof, feats, i, FLAG_CONFLICT):
            return found
    # A negation lowers a sentence's evidence (its keywords no longer count, and the polarity
    # penalty), so the sentence looked at is the best tied to the point, carrier or not.
    if not pool:
        return None
    return _stated_wrongly(prof, feats, max(pool, key=lambda i: evidence[i]), FLAG_NEGATED)


def _shared_units_capped(scores: list[list[float]]) -> list[list[float]]:
    """Each unit is the evidence of at most PARAMS.points_per_unit points, those it scores
    highest for; the other points fall back to their next best unit. On the labelled answers and
    the references one sentence is the best evidence of at most two points (two sentences in 900
    carry three or more), while one sentence naming a keyword of every point carried them all."""
    cap = PARAMS.points_per_unit
    scores = [list(s) for s in scores]
    for _ in range(len(scores)):
        owners: dict[int, list[int]] = {}
        for k, s in enumerate(scores):
            best = max(range(len(s)), key=lambda i: s[i], default=None)
            if best is not None and s[best] >= PARAMS.partial:
                owners.setdefault(best, []).append(k)
        crowded = {u: ks for u, ks in owners.items() if len(ks) > cap}
        if not crowded:
            break
        for u, ks in crowded.items():
            for k in sorted(ks, key=lambda k: -scores[k][u])[cap:]:
                scores[k][u] = 0.0
    return scores


def point_signals(
    question: Question,
    units: Sequence[Sentence],
    embedder: Embedder,
    alpha: float,
    beta: float,
    gamma: float,
    novel_floor: float,
) -> list[PointSignal]:
    """Signals for every key point of `question` in the answer `units`."""
    analysed: list[AnalysedSentence] = analyse_all(units)
    features = unit_features(question, units, embedder, analysed)
    all_scores = _shared_units_capped(
        [unit_scores(feats, alpha, beta, gamma, novel_floor) for _, feats in features]
    )
    out = []
    for (prof, feats), scores in zip(features, all_scores, strict=True):
        tied = feats.tied(novel_floor)
        wrong = find_contradiction(prof, feats, scores, gamma)
        best = max(range(len(units)), key=lambda i: scores[i], default=None)
        if wrong is not None:
            best = wrong.unit  # the evidence shown is the wrong statement
        has_best = best is not None and feats.usable[best]
        unit = units[best] if has_best else None
        keywords = check_point(prof.point, [analysed[best]] if has_best else [])
        out.append(
            PointSignal(
                point=prof.point,
                unit=unit,
                score=scores[best] if has_best else 0.0,
                raw=feats.raw[best] if has_best else 0.0,
                tied=tied[best] if has_best else False,
                keywords=keywords,
                keywords_anywhere=check_point(prof.point, analysed).complete,
                expected=prof.expected,
                scores=tuple(scores),
                tied_units=tied,
                contradiction=wrong,
                contradicting=unit_contradictions(prof, feats, tied),
            )
        )
    return out


def unit_contradictions(
    prof: PointProfile, feats: UnitFeatures, tied: Sequence[bool]
) -> tuple[Contradiction | None, ...]:
    """For each unit tied to the point, the contradiction it carries, whatever its evidence."""
    kinds = (FLAG_CONFLICT, FLAG_NEGATED, FLAG_MISCONCEPTION)
    return tuple(
        next((c for k in kinds if (c := _stated_wrongly(prof, feats, i, k))), None) if t else None
        for i, t in enumerate(tied)
    )
