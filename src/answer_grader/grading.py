"""`grade(question, answer, settings) -> GradeReport`: the one function every command grades with.

Signals (see `signals`), per key point and answer sentence ("unit"):
  similarity   cosine similarity of the unit to the point (its text, or the reference sentence that
               carries it), with the all-MiniLM-L6-v2 embedding;
  lexical      the share of the point's own content words (in its text or the reference sentence
               that carries it; words the question gives away left out) that the unit repeats;
  keywords     the share of the point's keyword groups found in the unit;
  tied         the similarity beats what the question itself and off-topic or filler text reach
               for the same point (calibrated similarity > TIE), or the unit is prose, carries a
               keyword group that the question does not, and its calibrated similarity is above
               NOVEL_FLOOR;
  clash        the unit is negated ("not", "no", "without", ...) where the point is not, or the
               reverse;
  evidence     ALPHA x similarity + BETA x lexical + (1 - ALPHA - BETA) x keywords - GAMMA x clash
               (at least 0) if tied, else 0.
Lists of terms and units under four words are never evidence (for a one-sentence reference,
shorter units that read as a statement are).
A point's score is its best unit's.

Offline verdicts:

    evidence >= COVERED                              covered
    evidence >= PARTIAL                              partial
    below, all keyword groups present somewhere      missed, flagged keyword-only
    otherwise                                        missed

LLM verdicts, cross-checked (quote verified = found in the answer, whitespace and case normalised;
corroborated = the quoted sentence is tied to the point or carries one of its keyword groups):

    judge     quote          corroborated   final     flag
    covered   verified       yes            covered
    covered   verified       no             partial   uncorroborated
    covered   not verified   -              partial   unverified-quote  (if offline evidence >= COVERED)
    covered   not verified   -              missed    unverified-quote  (otherwise)
    partial   verified       yes            partial
    partial   verified       no             partial   uncorroborated
    partial   not verified   -              missed    unverified-quote
    missed    -              -              missed    (keyword-only if all keywords present
                                                           but the offline evidence is low)

Score: 100 x sum(weight x credit) / sum(weight), credit covered 1, partial 0.5, missed 0. When a
critical point is missed the score is capped at CRITICAL_CAP: such an answer is not a good answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .config import Settings
from .errors import AnswerError
from .keywords import analyse_all, check_point
from .models import (
    CREDIT,
    FLAG_CRITICAL_MISSED,
    FLAG_INJECTION,
    FLAG_KEYWORD_ONLY,
    FLAG_OFF_TOPIC,
    FLAG_TOO_SHORT,
    FLAG_UNCORROBORATED,
    FLAG_UNVERIFIED_QUOTE,
    Evidence,
    GradeReport,
    PointResult,
    Question,
    Verdict,
)
from .scrub import printable
from .semantic import Embedder
from .signals import TIE, PointSignal, min_answer_words, point_signals
from .text import Sentence, split_sentences, word_count

# Fit by `python benchmarks/calibrate_offline.py` (refit with that command; it prints the search and
# the held-out figures). Three sources, fit together, every one split into 5 folds by question; the
# constants are chosen on four folds and scored on the fifth, and the README gives those held-out
# figures:
#   - SemEval-2013 Task 7 training answers (Beetle, SciEntsBank; ../shared/datasets): 2-way
#     macro-F1 of each corpus, the cut also chosen on the four folds;
#   - the 69 hand-labelled interview answers of tests/data/labelled: per-point agreement (QWK);
#   - the bank, as a condition: every reference answer still scores >= 90, and the question pasted
#     back, another question's reference, half a reference and the gaming answers of
#     answer_grader.gaming (keywords as filler prose, terse notes, off-topic sentences) score low.
ALPHA = 0.4  # weight of the meaning (embedding similarity)
BETA = 0.5  # weight of the repeated content words; the keyword groups get the rest
GAMMA = 0.1  # taken off when the sentence's polarity clashes with the point's
# How far below filler a prose sentence with a keyword the question lacks may be and still be tied.
# The fit chose no floor (-1.0) over -0.2, -0.1 and none of this route at all (TIE): requiring prose
# and measuring repeated wording only against full sentences already keeps the gaming answers of
# answer_grader.gaming low.
NOVEL_FLOOR = -1.0
PARTIAL = 0.35
COVERED = 0.5
CRITICAL_CAP = 50.0
# Part of every cached offline grade's key: change it (or any constant above) and old grades are
# recomputed rather than reused.
_CONSTANTS = (ALPHA, BETA, GAMMA, NOVEL_FLOOR, TIE, PARTIAL, COVERED, CRITICAL_CAP)
OFFLINE_VERSION = "|".join(["minilm-int8-1.0.0", "signals-3", *map(str, _CONSTANTS)])
MAX_ANSWER_CHARS = 20_000  # about 3,000 words: far beyond an interview answer

OFFLINE_CAVEAT = (
    "Graded offline by sentence similarity and keywords: it finds where a point is discussed, but "
    "cannot tell a correct statement from its opposite. Use an LLM judge for a check of correctness."
)

_INJECTION = re.compile(
    r"ignore (all |any |the |your |previous |prior |above )*(instructions|rubric|rules|prompt)"
    r"|(give|award|assign|grant) (me |this( answer)? )?(full|maximum|max|perfect|100)"
    r"|(full|maximum|perfect) (marks|score|credit|points)"
    r"|note to (the )?(grader|judge|evaluator|examiner)"
    r"|you are (now )?(the|a) (grader|judge)|system prompt|as the grader"
    r"|mark (all|every) (points?|criteria) (as )?(covered|met)",
    re.IGNORECASE,
)


def needs_judge(question: Question, answer: str) -> bool:
    """Whether grading this answer would send it to the LLM: not if it is empty, too long or too
    short (grade() reports those itself, without a request)."""
    try:
        return word_count(read_answer(answer)) >= min_answer_words(question)
    except AnswerError:
        return False


def read_answer(text: str) -> str:
    """Validate an answer's text: not empty, not absurdly long. Returns it normalised to NFC, with
    terminal control sequences removed: colour codes pasted from a terminal carry no content, and
    no quote of the answer should carry them into a report."""
    if len(text) > MAX_ANSWER_CHARS:
        raise AnswerError(f"the answer is {len(text):,} characters; the limit is {MAX_ANSWER_CHARS:,}")
    text = printable(unicodedata.normalize("NFC", text).replace("\r\n", "\n"))
    if not text.strip():
        raise AnswerError("the answer is empty")
    return text


def suspected_injection(answer: str) -> bool:
    """Text addressed to the grader rather than the interviewer."""
    return _INJECTION.search(answer) is not None


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.translate(
        str.maketrans(
            {
                "\u2018": "'",
                "\u2019": "'",
                "\u201c": '"',
                "\u201d": '"',
                "\u2013": "-",
                "\u2014": "-",
            }
        )
    )
    text = re.sub(r"[*_`]", "", text)
    return " ".join(text.split())


def verify_quote(quote: str | None, answer: str) -> bool:
    """Whether `quote` (parts joined by an ellipsis allowed) appears in the answer. A quote must have
    substance: "master key" replies such as ":" or "Thought process:" are not evidence."""
    if not quote:
        return False
    haystack = _norm(answer)
    parts = [p.strip(" .,;:\"'") for p in re.split(r"\.\.\.|\u2026", _norm(quote))]
    parts = [p for p in parts if p]
    if not parts or sum(len(p.split()) for p in parts) < 3:
        return False
    position = 0
    for part in parts:
        found = haystack.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return True


def _units_for_quote(quote: str, units: Sequence[Sentence]) -> list[int]:
    q = _norm(quote)
    hits = [i for i, u in enumerate(units) if (n := _norm(u.text)) and (q in n or n in q)]
    if hits:
        return hits
    head = q.split("...")[0][:40]
    return [i for i, u in enumerate(units) if head and head in _norm(u.text)]


@dataclass(frozen=True)
class _Combined:
    verdict: Verdict
    flags: tuple[str, ...]
    evidence: Evidence | None


def _evidence(signal: PointSignal) -> Evidence | None:
    unit = signal.keywords.sentence or signal.unit
    if unit is None:
        return None
    terms = [h.term for h in signal.keywords.hits] if signal.keywords.sentence == unit else []
    return Evidence(quote=unit.text, line=unit.line, terms=terms)


def offline_verdict(signal: PointSignal) -> _Combined:
    s = signal.score
    if s >= COVERED:
        return _Combined("covered", (), _evidence(signal))
    if s >= PARTIAL:
        return _Combined("partial", (), _evidence(signal))
    flags = (FLAG_KEYWORD_ONLY,) if signal.keywords_anywhere else ()
    return _Combined("missed", flags, None)


def llm_verdict(
    judged: Verdict,
    quote: str | None,
    signal: PointSignal,
    answer: str,
    units: Sequence[Sentence],
) -> _Combined:
    if judged == "missed":
        keyword_only = signal.keywords_anywhere and signal.score < PARTIAL
        return _Combined("missed", (FLAG_KEYWORD_ONLY,) if keyword_only else (), None)
    if not verify_quote(quote, answer):
        if judged == "covered" and signal.score >= COVERED:
            return _Combined("partial", (FLAG_UNVERIFIED_QUOTE,), _evidence(signal))
        return _Combined("missed", (FLAG_UNVERIFIED_QUOTE,), None)
    assert quote is not None  # verify_quote is False for None
    idx = _units_for_quote(quote, units)
    keywords = check_point(signal.point, analyse_all([units[i] for i in idx]))
    corroborated = any(signal.tied_units[i] for i in idx) or bool(keywords.hits)
    line = units[idx[0]].line if idx else None
    evidence = Evidence(quote=quote.strip(), line=line, terms=[h.term for h in keywords.hits])
    if corroborated:
        return _Combined(judged, (), evidence)
    return _Combined("partial", (FLAG_UNCORROBORATED,), evidence)


def score_points(points: Sequence[PointResult]) -> tuple[float, float]:
    """(score, uncapped score), 0..100, rounded to one decimal."""
    total = sum(p.weight for p in points)
    raw = 100.0 * sum(p.weight * CREDIT[p.verdict] for p in points) / total if total else 0.0
    capped = raw
    if any(p.critical and p.verdict == "missed" for p in points):
        capped = min(raw, CRITICAL_CAP)
    return round(capped, 1), round(raw, 1)


def _confidence_offline(signals: Sequence[PointSignal]) -> str:
    edges = (PARTIAL, COVERED)
    close = sum(any(abs(s.score - e) < 0.05 for e in edges) for s in signals)
    # Never "high": the offline grader cannot check correctness.
    return "low" if close / max(1, len(signals)) > 0.4 else "medium"


def grade(
    question: Question,
    answer: str,
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    judge: object | None = None,
    judged: object | None = None,
) -> GradeReport:
    """Grade one answer to one question with the configured backend.

    `embedder` and `judge` are injected by callers that hold them (tests, batch runs); by default
    the offline model is loaded once per process and the judge built from `settings`. A batch run
    that already has the judge's result for this answer passes it as `judged`.
    """
    from .semantic import MODEL_NAME, default_embedder

    text = read_answer(answer)
    embedder = embedder or default_embedder()
    units = split_sentences(text)
    words = word_count(text)
    report_flags: list[str] = []
    if suspected_injection(text):
        report_flags.append(FLAG_INJECTION)

    if words < min_answer_words(question):
        signals = point_signals(question, [], embedder, ALPHA, BETA, GAMMA, NOVEL_FLOOR)
        points = [_result(s, _Combined("missed", (), None)) for s in signals]
        return _report(
            question,
            settings,
            points,
            [FLAG_TOO_SHORT, *report_flags],
            "low",
            None,
            [f"The answer has {words} words: too short to grade."],
            words,
            grader_name=grader_name(settings, MODEL_NAME),
        )

    signals = point_signals(question, units, embedder, ALPHA, BETA, GAMMA, NOVEL_FLOOR)
    caveats: list[str] = []
    feedback: str | None = None
    if settings.backend == "llm":
        result = judged or (judge or default_judge(settings)).judge(question, text)  # type: ignore[attr-defined]
        points = []
        for signal, judged in zip(signals, result.judgement.points, strict=True):
            combined = llm_verdict(judged.verdict, judged.evidence, signal, text, units)
            points.append(_result(signal, combined, judged.verdict, judged.feedback))
        feedback = result.judgement.overall_feedback
        if result.mode != "json_schema":
            caveats.append(f"The server does not enforce JSON schemas; used {result.mode} output.")
        if result.temperature_dropped:
            caveats.append("The model does not accept temperature 0; verdicts may vary by run.")
        doubts = {FLAG_UNVERIFIED_QUOTE, FLAG_UNCORROBORATED}
        flagged = sum(bool(doubts & set(p.flags)) for p in points)
        confidence = (
            "high"
            if flagged == 0 and not caveats
            else ("medium" if flagged <= len(points) // 3 else "low")
        )
    else:
        points = [_result(s, offline_verdict(s)) for s in signals]
        caveats.append(OFFLINE_CAVEAT)
        confidence = _confidence_offline(signals)
    if all(s.raw < 0.25 for s in signals):
        report_flags.append(FLAG_OFF_TOPIC)
    return _report(
        question,
        settings,
        points,
        report_flags,
        confidence,
        feedback,
        caveats,
        words,
        grader_name=grader_name(settings, MODEL_NAME),
    )


def default_judge(settings: Settings, on_status: Callable[[str], None] | None = None):  # type: ignore[no-untyped-def]
    """The judge the settings describe; `on_status` hears about waits and retries."""
    from .judge import Judge, make_client

    client = make_client(settings.base_url, settings.api_key, settings.timeout)
    return Judge(
        client,
        settings.model,
        seed=settings.seed,
        max_retries=settings.max_retries,
        timeout=settings.timeout,
        on_status=on_status,
        secrets=settings.secrets,
    )


def grader_name(settings: Settings, offline_model: str) -> str:
    if settings.backend == "llm":
        where = settings.shown_base_url or "OpenAI"
        return f"LLM judge {settings.model} at {where}, cross-checked by keywords and {offline_model}"
    return f"offline grader: keywords + {offline_model}"


def _result(
    signal: PointSignal,
    combined: _Combined,
    judged: Verdict | None = None,
    feedback: str | None = None,
) -> PointResult:
    point = signal.point
    found = len(signal.keywords.hits) if combined.evidence is not None else 0
    return PointResult(
        id=point.id,
        text=point.text,
        weight=point.weight,
        critical=point.critical,
        verdict=combined.verdict,
        evidence=combined.evidence,
        semantic=round(signal.score, 3),
        keywords_found=found,
        keywords_total=len(point.keywords),
        judge_verdict=judged,
        feedback=feedback,
        expected=signal.expected,
        flags=list(combined.flags),
    )


def _report(
    question: Question,
    settings: Settings,
    points: list[PointResult],
    flags: list[str],
    confidence: str,
    feedback: str | None,
    caveats: list[str],
    words: int,
    *,
    grader_name: str,
) -> GradeReport:
    score, uncapped = score_points(points)
    if score < uncapped:
        flags = [*flags, FLAG_CRITICAL_MISSED]
    model = settings.model if settings.backend == "llm" else "all-MiniLM-L6-v2-int8"
    return GradeReport(
        question_id=question.id,
        question_number=question.number,
        question=question.text,
        backend=settings.backend,
        grader=grader_name,
        model=model,
        score=score,
        uncapped_score=uncapped,
        confidence=confidence,  # type: ignore[arg-type]
        points=points,
        flags=flags,
        feedback=feedback,
        caveats=caveats,
        answer_words=words,
    )
