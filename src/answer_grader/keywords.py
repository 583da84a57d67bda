"""Deterministic keyword checks: which keyword groups of a key point a sentence matches, and where.

Matching rules (documented for bank authors in docs/writing-rubrics.md):
- terms and text are lower-cased, split into words and stemmed (Snowball English), so plurals and
  inflections match; multi-word terms match as a contiguous phrase;
- hyphen, space and no space are equivalent ("self-attention" = "self attention" = "selfattention");
- {regex: ...} alternatives are searched case-insensitively in the sentence's plain text;
- a match preceded by a negation cue within three words of the same clause is not evidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .errors import PatternTimeout
from .models import KeyPoint, RegexTerm
from .params import PARAMS
from .text import WORD, Sentence, is_negation, normalise

# A negation (text.is_negation) at most PARAMS.negation_window words before a term in the same
# clause turns its mention into a denial.
# Clause boundaries: a negation does not reach across these.
_CLAUSE_BREAK = re.compile(r"[,;:()\[\]]|\s[-\u2013\u2014]\s|\bbut\b|\bwhereas\b|\bwhile\b")


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    # PyStemmer: the Snowball algorithms in C, ~100x faster than the pure-Python port.
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball English stem of one lower-case word."""
    return _stemmer().stemWord(word)


@dataclass(frozen=True)
class _Token:
    stem: str
    start: int
    end: int
    clause: int
    negator: bool


@dataclass
class AnalysedSentence:
    """A sentence prepared once for matching against many terms."""

    sentence: Sentence
    tokens: list[_Token]
    # stems of two adjacent words written together: "pre training" -> stem("pretraining")
    joined_pairs: list[str] = field(default_factory=list)
    stems: tuple[str, ...] = ()
    # every stem and joined pair, so that most terms are ruled out with one set lookup
    vocabulary: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.stems = tuple(t.stem for t in self.tokens)
        self.vocabulary = frozenset(self.stems) | frozenset(self.joined_pairs)


def _parts(text: str) -> list[tuple[int, int, str]]:
    """The words of normalised text split at their hyphens, with their spans: "self-attention"
    is matched as "self attention" (and, through the joined pairs, as "selfattention")."""
    out: list[tuple[int, int, str]] = []
    for m in WORD.finditer(text):
        start = m.start()
        for piece in m.group().split("-"):
            out.append((start, start + len(piece), piece))
            start += len(piece) + 1
    return out


def analyse(sentence: Sentence) -> AnalysedSentence:
    """Tokenise, stem and mark clauses and negation cues of one sentence."""
    text = normalise(sentence.text)
    breaks = [m.start() for m in _CLAUSE_BREAK.finditer(text)]
    tokens: list[_Token] = []
    raws: list[str] = []
    clause = 0
    b = 0
    for start, end, raw in _parts(text):
        while b < len(breaks) and breaks[b] < start:
            clause += 1
            b += 1
        tokens.append(_Token(stem(raw), start, end, clause, is_negation(raw)))
        raws.append(raw)
    pairs = [stem(raws[i] + raws[i + 1]) for i in range(len(raws) - 1)]
    return AnalysedSentence(sentence=sentence, tokens=tokens, joined_pairs=pairs)


def analyse_all(sentences: Sequence[Sentence]) -> list[AnalysedSentence]:
    return [analyse(s) for s in sentences]


@dataclass(frozen=True)
class Term:
    """One compiled keyword alternative."""

    label: str
    stems: tuple[str, ...] = ()
    joined: str | None = None
    pattern: Any = None  # a compiled `regex` pattern


@lru_cache(maxsize=16384)
def _compile_plain(term: str) -> Term:
    raws = [raw for _, _, raw in _parts(normalise(term))]
    stems = tuple(stem(r) for r in raws)
    joined = stem("".join(raws)) if len(raws) > 1 else None
    return Term(label=term, stems=stems, joined=joined)


# Keyword regexes come from banks anyone can write, so they run in the `regex` package with a time
# limit: a pattern that backtracks catastrophically ("(a|aa)+$") stops with PatternTimeout instead
# of hanging grading. A sane pattern takes microseconds on a sentence.
REGEX_TIMEOUT = 0.25  # seconds per search of one sentence
CHECK_TIMEOUT = 0.05  # seconds per probe in `slow_pattern` (grader check, loading a bank)


def compile_regex(pattern: str):  # type: ignore[no-untyped-def]
    """A keyword pattern compiled as grading runs it (raises regex.error if it is invalid)."""
    import regex

    return regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)


@lru_cache(maxsize=4096)
def _compile_regex(pattern: str) -> Term:
    return Term(label=f"/{pattern}/", pattern=compile_regex(pattern))


def slow_pattern(pattern: str) -> bool:
    """Whether a keyword pattern backtracks catastrophically on text built from its own letters
    (runs of one letter, with and without spaces, ending in a character that cannot match): the
    inputs that make patterns such as (a|aa)+$ or (\\w+\\s?)*$ take exponential time."""
    compiled = compile_regex(pattern)
    letters = sorted({c for c in pattern.lower() if c.isalnum()})[:12] or ["a"]
    for c in letters:
        for probe in (c * 48 + "!", (c + " ") * 24 + "!", c * 48):
            try:
                compiled.search(probe, timeout=CHECK_TIMEOUT)
            except TimeoutError:
                return True
    return False


def compile_term(term: str | RegexTerm) -> Term:
    if isinstance(term, RegexTerm):
        return _compile_regex(term.regex)
    return _compile_plain(term)


def _negated(tokens: list[_Token], index: int) -> bool:
    """Whether the token at `index` is denied by a cue up to PARAMS.negation_window words before it."""
    clause = tokens[index].clause
    for j in range(index - 1, max(-1, index - 1 - PARAMS.negation_window), -1):
        tok = tokens[j]
        if tok.clause != clause:
            return False
        if tok.negator:
            # "not only X but also Y" affirms X.
            follows = tokens[j + 1].stem if j + 1 < len(tokens) else ""
            return not (tok.stem == "not" and follows in ("onli", "just"))
    return False


@dataclass(frozen=True)
class TermHit:
    """Where a term matched: character span in the sentence's text."""

    term: str
    start: int
    end: int


def find_term(term: Term, sent: AnalysedSentence) -> TermHit | None:
    """The first affirmative occurrence of `term` in the sentence, or None."""
    tokens = sent.tokens
    if term.pattern is not None:
        try:
            for m in term.pattern.finditer(sent.sentence.text, timeout=REGEX_TIMEOUT):
                idx = next((i for i, t in enumerate(tokens) if t.end > m.start()), None)
                if idx is None or not _negated(tokens, idx):
                    return TermHit(term.label, m.start(), m.end())
        except TimeoutError as exc:
            raise PatternTimeout(term.label.strip("/"), REGEX_TIMEOUT) from exc
        return None
    n = len(term.stems)
    if n == 0:
        return None
    if term.stems[0] not in sent.vocabulary and term.joined not in sent.vocabulary:
        return None
    stems = sent.stems
    for i in range(len(stems) - n + 1):
        if stems[i : i + n] == term.stems and not _negated(tokens, i):
            return TermHit(term.label, tokens[i].start, tokens[i + n - 1].end)
    if term.joined is not None:  # "self-attention" written "selfattention"
        for i, s in enumerate(stems):
            if s == term.joined and not _negated(tokens, i):
                return TermHit(term.label, tokens[i].start, tokens[i].end)
    if n == 1:  # "pretraining" written "pre-training"
        for i, s in enumerate(sent.joined_pairs):
            if s == term.stems[0] and not _negated(tokens, i):
                return TermHit(term.label, tokens[i].start, tokens[i + 1].end)
    return None


@dataclass(frozen=True)
class KeywordEvidence:
    """The keyword check of one key point against one answer.

    `sentence` is the sentence that matched the most groups (None if none matched any);
    `hits` the terms found there, one per matched group; `missing` the groups it lacks.
    """

    point_id: str
    sentence: Sentence | None
    hits: tuple[TermHit, ...]
    missing: tuple[tuple[str, ...], ...]

    @property
    def complete(self) -> bool:
        """Every group matched in one sentence."""
        return self.sentence is not None and not self.missing


def group_labels(group: Sequence[str | RegexTerm]) -> tuple[str, ...]:
    return tuple(compile_term(t).label for t in group)


def check_point(point: KeyPoint, sentences: Sequence[AnalysedSentence]) -> KeywordEvidence:
    """Find the sentence that best carries the point's keyword groups."""
    groups = [[compile_term(t) for t in group] for group in point.keywords]
    best: tuple[int, AnalysedSentence | None, list[TermHit], list[int]] = (0, None, [], [])
    for sent in sentences:
        hits: list[TermHit] = []
        missing: list[int] = []
        for g, group in enumerate(groups):
            hit = next((h for t in group if (h := find_term(t, sent)) is not None), None)
            if hit is None:
                missing.append(g)
            else:
                hits.append(hit)
        if len(hits) > best[0]:
            best = (len(hits), sent, hits, missing)
            if not missing:
                break
    _, sent, hits, missing = best
    if sent is None:
        missing = list(range(len(groups)))
    return KeywordEvidence(
        point_id=point.id,
        sentence=sent.sentence if sent is not None else None,
        hits=tuple(hits),
        missing=tuple(group_labels(point.keywords[g]) for g in missing),
    )
