"""Statements that contradict a key point: the offline grader's three signals of a point stated
wrongly, each computed (and measured, `benchmarks/contradiction.py`) on its own.

- **negation scope**: the sentence says the point's content under a negation the point does not
  have. What is negated matters, not whether a negation is present: "does not use a causal mask"
  contradicts "decoders apply a causal mask"; "does not look anything up" beside the same point
  does not, because nothing the point says is under the negation.
- **misconception**: the sentence is closer by meaning to one of the point's listed misconceptions
  than to the point itself (and close to it in absolute terms).
- **conflicting term**: the sentence names a specific the rubric declares wrong for the point
  (`contradicts:` in the rubric: "decoder-only" for BERT, `d_k` without its square root).

A signal is looked for only in sentences that carry the point (tied to it, with evidence of at
least a partial): a wrong statement about something else is not this point's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .keywords import AnalysedSentence, analyse, compile_term, find_term, stem
from .models import KeyPoint, Misconception
from .params import PARAMS
from .text import Sentence, normalise

# After a negation cue, these words make the negation deny the whole statement that follows ("it
# is not true that ...", "it is not the case that ..."), not only the next few words.
_DENY_STATEMENT = frozenset({"true", "case", "correct", "accur"})
# Words that deny the statement after them, with "that": "it is false that", "a myth that".
_FALSE_THAT = frozenset({"fals", "untru", "incorrect", "wrong", "myth"})
# Two-word cues that deny what follows in the clause: "rather than X", "instead of X".
_CONTRAST = {("rather", "than"), ("instead", "of")}
# Verbs that deny their object, read as negations in a point's own text (and the reference's):
# "avoids wasting compute" negates "wasting compute", so "no compute is wasted" agrees with it.
_IMPLICIT = frozenset({"avoid", "prevent", "elimin", "lack", "remov", "skip", "stop", "free"})


@lru_cache(maxsize=1)
def _function_stems() -> frozenset[str]:
    return frozenset(stem(w) for w in PARAMS.function_words) - {stem(w) for w in PARAMS.negations}


@dataclass(frozen=True)
class Polarity:
    """A sentence's content stems, split by whether a negation covers them (an odd number of
    negation scopes: "it is not true that X is not Y" affirms Y)."""

    negated: frozenset[str]
    affirmed: frozenset[str]
    whole: bool  # a denial of the whole statement: "it is not true that ...", "... is a myth"
    heads: frozenset[str] = frozenset()  # the first content stem after each negation cue


def _cues(sent: AnalysedSentence, implicit: bool) -> list[tuple[int, int, bool]]:
    """Each negation cue of the sentence: (its token, the first token it denies, whether it
    denies the whole statement after it)."""
    stems = [t.stem for t in sent.tokens]
    n = len(stems)
    out = []
    for i, tok in enumerate(sent.tokens):
        nxt = stems[i + 1] if i + 1 < n else ""
        if tok.negator:
            if tok.stem == "not" and nxt in ("onli", "just", "mere", "simpli"):
                continue  # "not only X but also Y" affirms X
            # "not true that", "not the case that", "not correct to say that"
            k = i + 2 if nxt == "the" else i + 1
            if k < n and stems[k] in _DENY_STATEMENT and "that" in stems[k + 1 : k + 4]:
                out.append((i, k + 1, True))
            else:
                out.append((i, i + 1, False))
        elif tok.stem in _FALSE_THAT and nxt == "that":
            out.append((i, i + 2, True))
        elif (tok.stem, nxt) in _CONTRAST:
            out.append((i, i + 2, False))
        elif implicit and tok.stem in _IMPLICIT:
            out.append((i, i + 1, False))
    return out


def polarity(sent: AnalysedSentence, implicit: bool = False) -> Polarity:
    """Which content stems of the sentence a negation covers. `implicit`: "avoid", "prevent" ...
    deny what follows too (for the point's own wording, which states what it rules out).

    A cue denies up to PARAMS.negation_scope content words after it, in its clause; a denial of
    the whole statement reaches to the next semicolon or the next such denial ("It is not true
    that A; it is not true that B" denies A and B, it does not affirm B)."""
    tokens = sent.tokens
    n = len(tokens)
    cover = [0] * n
    stems = [t.stem for t in tokens]
    function = _function_stems()
    text = normalise(sent.sentence.text)
    statement = [text.count(";", 0, t.start) for t in tokens]
    cues = _cues(sent, implicit)
    whole_starts = {i for i, _, whole in cues if whole}
    heads: set[str] = set()
    for i, start, whole in cues:
        head = next((stems[j] for j in range(start, n) if stems[j] not in function), None)
        if head is not None:
            heads.add(head)
        content = 0
        for j in range(start, n):
            if whole and (statement[j] != statement[i] or j in whole_starts):
                break
            if not whole and tokens[j].clause != tokens[i].clause:
                break
            cover[j] += 1
            if stems[j] not in function:
                content += 1
                if not whole and content >= PARAMS.negation_scope:
                    break
    denies_all = any(whole for _, _, whole in cues)
    negated = {stems[j] for j in range(n) if cover[j] % 2 and stems[j] not in function}
    affirmed = {stems[j] for j in range(n) if not cover[j] % 2 and stems[j] not in function}
    affirmed -= {t.stem for t in tokens if t.negator}
    return Polarity(frozenset(negated), frozenset(affirmed), denies_all, frozenset(heads & negated))


@dataclass(frozen=True)
class PointContent:
    """What a point asserts, for comparing polarity: the content stems its text affirms and its
    keyword terms, less the question's words; and what its text, and the reference sentences
    about it, negate (a candidate who words a denial as the reference does is not wrong)."""

    stems: frozenset[str]
    negated: frozenset[str]
    # (content stems, affirmed stems, the first stem after each negation) of the point's text and
    # of each reference sentence about it: what a negated copy is compared with.
    copies: tuple[tuple[frozenset[str], frozenset[str], frozenset[str]], ...] = ()
    affirmed: frozenset[str] = frozenset()  # what the point's text or the reference affirms

    @classmethod
    def of(
        cls,
        point: KeyPoint,
        carriers: Sequence[Polarity],
        reference: Sequence[Polarity],
        given: frozenset[str],
    ) -> PointContent:
        """`carriers`: the polarity of the reference sentences that carry the point;
        `reference`: of every sentence of the reference answer, whose own negations (and
        affirmations) are never held against a copy of it."""
        own = polarity(analyse(Sentence(0, point.text, 0)), implicit=True)
        polarities = [own, *carriers]
        stems = set(own.affirmed)
        for group in point.keywords:
            for t in group:
                stems.update(s for s in compile_term(t).stems if s not in _function_stems())
        negated = frozenset().union(*(p.negated for p in [*polarities, *reference]))
        affirmed = frozenset().union(*(p.affirmed for p in [*polarities, *reference]))
        copies = tuple((p.negated | p.affirmed, p.affirmed, p.heads) for p in polarities)
        return cls(frozenset(stems - given - negated), negated, copies, affirmed)


@dataclass(frozen=True)
class Contradiction:
    """Why a sentence contradicts a point, and what is true instead."""

    kind: str  # FLAG_NEGATED, FLAG_MISCONCEPTION or FLAG_CONFLICT
    unit: int  # the index of the sentence among the answer's units
    correction: str
    detail: str = ""  # the words negated, the misconception's claim or the term


def negation_clash(unit: Polarity, content: PointContent) -> frozenset[str]:
    """The point's content the sentence denies (and the point does not), when the denial is
    unambiguous: a denial of the whole statement ("it is not true that ..."), or a negated copy
    of the point or of a reference sentence about it (most of its words, and little else, with a
    negation put in: that sentence, which carries the point, is then false, whichever of its words
    the negation reaches). A negation inside a candidate's own wording is not enough: "can't peek at
    the future" restates "attends only to earlier positions", and measured on labelled answers
    such clause negations were wrong calls four times in five (benchmarks/contradiction.py).
    The reverse, a sentence affirming what the point denies, is left to misconceptions and
    conflicting terms: "BERT's masks were static" affirms what "instead of BERT's static masks"
    denies, rightly."""
    said = unit.negated | unit.affirmed
    if unit.whole or len(said) <= PARAMS.short_statement_words:
        # A denial of the whole statement, or a short sentence (one claim, so what it negates
        # is what it says): "there is no gap between the terminals".
        return (unit.negated - content.negated) & content.stems
    share = PARAMS.negated_copy_share
    for words, affirmed, denied in content.copies:
        common = len(said & words)
        if len(words) >= 3 and common >= share * len(words) and common >= share * len(said):
            # A negation put in, or the copied sentence's own negation taken out (judged by the
            # word right after it: "never seen in training" is what "unseen in training" says).
            taken_out = unit.affirmed & denied - affirmed
            if found := ((unit.negated - content.negated) & affirmed) | taken_out:
                return found
    return frozenset()


def conflicting_term(point: KeyPoint, sent: AnalysedSentence) -> str | None:
    """The first of the point's declared conflicting terms the sentence affirms."""
    for t in point.contradicts:
        hit = find_term(compile_term(t), sent)
        if hit is not None:
            return hit.term
    return None


def misconceptions_of(point: KeyPoint, misconceptions: Sequence[Misconception]) -> list[Misconception]:
    return [m for m in misconceptions if m.point == point.id]
