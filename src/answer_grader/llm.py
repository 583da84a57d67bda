"""The LLM grader: the judge's verdicts (`judge`), each cross-checked by the offline signals.

Quote verified = found in the answer, whitespace and case normalised, at least three words;
corroborated = the quoted sentence is tied to the point or carries one of its keyword groups:

    judge     quote          corroborated   final     flag
    covered   verified       yes            covered
    covered   verified       no             partial   uncorroborated
    covered   not verified   -              partial   unverified-quote  (offline evidence >= covered)
    covered   not verified   -              missed    unverified-quote  (otherwise)
    partial   verified       yes            partial
    partial   verified       no             partial   uncorroborated
    partial   not verified   -              missed    unverified-quote
    missed    -              -              missed    (keyword-only if all keywords present
                                                           but the offline evidence is low)

The grader owns its concurrency: `grade_many` sends every judge request first, computes the
offline signals while they are out, and cross-checks each answer as its reply arrives.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed

from .errors import GraderError
from .grading import clean_answer, grade_or_error, needs_judge
from .keywords import analyse_all, check_point
from .models import (
    FLAG_KEYWORD_ONLY,
    FLAG_UNCORROBORATED,
    FLAG_UNVERIFIED_QUOTE,
    Evidence,
    GradeReport,
    PointResult,
    Question,
    Verdict,
)
from .offline import (
    OfflineGrader,
    Prepared,
    Verdicts,
    evidence_of,
    result_of,
)
from .params import PARAMS
from .scoring import assemble
from .signals import PointSignal
from .text import Sentence, word_count


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
    if not parts or sum(word_count(p) for p in parts) < PARAMS.min_quote_words:
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


def llm_verdict(
    judged: Verdict,
    quote: str | None,
    signal: PointSignal,
    answer: str,
    units: Sequence[Sentence],
) -> Verdicts:
    """The final verdict on one point from the judge's and the offline signals (the table above)."""
    if judged == "missed":
        keyword_only = signal.keywords_anywhere and signal.score < PARAMS.partial
        return Verdicts("missed", (FLAG_KEYWORD_ONLY,) if keyword_only else (), None)
    if not verify_quote(quote, answer):
        if judged == "covered" and signal.score >= PARAMS.covered:
            return Verdicts("partial", (FLAG_UNVERIFIED_QUOTE,), evidence_of(signal))
        return Verdicts("missed", (FLAG_UNVERIFIED_QUOTE,), None)
    assert quote is not None  # verify_quote is False for None
    idx = _units_for_quote(quote, units)
    keywords = check_point(signal.point, analyse_all([units[i] for i in idx]))
    corroborated = any(signal.tied_units[i] for i in idx) or bool(keywords.hits)
    line = units[idx[0]].line if idx else None
    evidence = Evidence(quote=quote.strip(), line=line, terms=[h.term for h in keywords.hits])
    if corroborated:
        return Verdicts(judged, (), evidence)
    return Verdicts("partial", (FLAG_UNCORROBORATED,), evidence)


def confidence_llm(points: Sequence[PointResult], caveats: Sequence[str]) -> str:
    """High when every verdict is corroborated (a verified quote, offline evidence that agrees)
    and the server honoured the request as sent; medium when at most a third of the points are in
    doubt; low beyond."""
    doubts = {FLAG_UNVERIFIED_QUOTE, FLAG_UNCORROBORATED}
    flagged = sum(bool(doubts & set(pt.flags)) for pt in points)
    if flagged == 0 and not caveats:
        return "high"
    return "medium" if flagged <= len(points) // 3 else "low"


class LLMGrader:
    """Grades with an LLM judge (`judge.Judge`), every credit cross-checked offline.

    `where` names the server in reports (credentials masked); `offline` supplies the signals."""

    backend = "llm"

    def __init__(self, judge: object, *, where: str = "OpenAI", offline: OfflineGrader | None = None):
        from .judge import JUDGE_PROMPT_VERSION

        self.judge = judge
        self.offline = offline or OfflineGrader()
        self.model: str = getattr(judge, "model", "?")
        checked_by = f"keywords and {self.offline.model}"
        self.name = f"LLM judge {self.model} at {where}, cross-checked by {checked_by}"
        # The judge's verdicts are cross-checked by the offline signals, so their version counts.
        self.version = f"llm|{self.model}|{where}|{JUDGE_PROMPT_VERSION}|{self.offline.version}"

    def grade(self, question: Question, answer: str) -> GradeReport:
        """Grade one answer. Raises JudgeError when the judge fails (the answer is then not
        graded, never scored 0), AnswerError for an empty or too long answer."""
        p = self.offline.prepare(question, answer)
        if p.too_short:
            return self.offline.too_short_report(p, self.name, self.backend, self.model)
        return self._combine(p, self.judge.judge(question, p.text))  # type: ignore[attr-defined]

    def _combine(self, p: Prepared, result: object) -> GradeReport:
        judgement = result.judgement  # type: ignore[attr-defined]
        points = []
        for signal, judged in zip(p.signals, judgement.points, strict=True):
            combined = llm_verdict(judged.verdict, judged.evidence, signal, p.text, p.units)
            points.append(result_of(signal, combined, judged.verdict, judged.feedback))
        caveats = []
        if result.mode != "json_schema":  # type: ignore[attr-defined]
            caveats.append(f"The server does not enforce JSON schemas; used {result.mode} output.")  # type: ignore[attr-defined]
        if result.temperature_dropped:  # type: ignore[attr-defined]
            caveats.append("The model does not accept temperature 0; verdicts may vary by run.")
        return assemble(
            p.question,
            points,
            backend=self.backend,
            grader=self.name,
            model=self.model,
            confidence=confidence_llm(points, caveats),
            words=p.words,
            flags=p.flags,
            feedback=judgement.overall_feedback,
            caveats=caveats,
        )

    def grade_many(
        self,
        items: Sequence[tuple[Question, str]],
        *,
        jobs: int = 8,
        on_done: Callable[[int, GradeReport | GraderError], None] | None = None,
    ) -> list[GradeReport | GraderError]:
        """Grade many answers, `jobs` judge requests at a time. The requests go first, so the
        network wait overlaps the offline model's work; each answer is finished as its reply
        arrives (and `on_done` hears of it then). One answer's failure is its error, in its place."""
        results: list[GradeReport | GraderError | None] = [None] * len(items)

        def done(i: int, result: GradeReport | GraderError) -> None:
            results[i] = result
            if on_done is not None:
                on_done(i, result)

        pool = ThreadPoolExecutor(max_workers=max(1, jobs))
        try:
            futures: dict[Future, int] = {}
            for i, (question, answer) in enumerate(items):
                if needs_judge(question, answer):  # empty, too long and too short: no request
                    text = clean_answer(answer)  # what `grade` sends: validated, normalised
                    futures[pool.submit(self.judge.judge, question, text)] = i  # type: ignore[attr-defined]
            self.offline.warm(items)
            for future in as_completed(futures):
                i = futures[future]
                done(i, grade_or_error(lambda q, a, f=future: self._finish(q, a, f), *items[i]))
            for i, (question, answer) in enumerate(items):
                if results[i] is None:  # nothing to ask: empty, too long or too short
                    done(i, grade_or_error(self.grade, question, answer))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return [r for r in results if r is not None]

    def _finish(self, question: Question, answer: str, future: Future) -> GradeReport:
        p = self.offline.prepare(question, answer)
        return self._combine(p, future.result())
