"""The LLM grader: the judge's verdicts (`judge`), each cross-checked by the offline signals.

Quote verified = found in the answer, whitespace and case normalised, at least three words. What
the offline signals say of the quoted sentence, for that point:
  offline wrong   the sentence states the point wrongly (contradiction.py): negated or a declared
                  conflicting term (near-certain), or a listed misconception (a doubt);
  evidence        its offline evidence score reaches PARAMS.partial (PARAMS.covered when the
                  answer is flagged suspected-injection: a judge that may have been talked to
                  needs the offline grader's own credit);
  weak            tied to the point by meaning, without that evidence (a keyword group alone is
                  not enough: one stuffed sentence carries them all; nor is weak evidence
                  enough under suspected-injection).

    judge          quote          offline                   final          flag
    covered        verified       negated / conflict        contradicted   negated / conflicting-term
    covered        verified       misconception             partial        misconception
    covered        verified       evidence                  covered
    covered        verified       weak                      partial        uncorroborated
    covered        verified       neither                   missed         uncorroborated
    covered        not verified   -                         partial        unverified-quote
                                                            (offline evidence >= covered, no
                                                            injection; otherwise missed)
    partial        verified       negated / conflict        contradicted   negated / conflicting-term
    partial        verified       evidence or weak          partial        (uncorroborated if weak)
    partial        verified       neither                   missed         uncorroborated
    partial        not verified   -                         missed         unverified-quote
    contradicted   verified       -                         contradicted   judge-contradicted
    contradicted   not verified   -                         missed         unverified-quote
    missed         -              -                         missed         (keyword-only if all
                                                            keywords present but the offline
                                                            evidence is low)

So a judge that credits everything, obeys an injection or quotes the wrong sentence gets no
more than the offline evidence of the sentences it quotes allows.

The grader owns its concurrency: `grade_many` sends every judge request first, computes every
answer's offline signals while they are out (they do not depend on the reply), and cross-checks
each answer as soon as both its signals and its replies are in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING

from .errors import GraderError
from .grading import clean_answer, grade_or_error, needs_judge
from .keywords import analyse_all, check_point
from .models import (
    FLAG_CONFLICT,
    FLAG_INJECTION,
    FLAG_JUDGE_CONTRADICTED,
    FLAG_KEYWORD_ONLY,
    FLAG_MISCONCEPTION,
    FLAG_NEGATED,
    FLAG_SAMPLES_DISAGREE,
    FLAG_SAMPLES_FAILED,
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

if TYPE_CHECKING:
    from .samples import Vote
    from .usage import Usage


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
    *,
    injected: bool = False,
) -> Verdicts:
    """The final verdict on one point from the judge's and the offline signals (the table above)."""
    if judged == "missed":
        keyword_only = signal.keywords_anywhere and signal.score < PARAMS.partial
        return Verdicts("missed", (FLAG_KEYWORD_ONLY,) if keyword_only else (), None)
    if not verify_quote(quote, answer):
        if judged == "covered" and signal.score >= PARAMS.covered and not injected:
            return Verdicts("partial", (FLAG_UNVERIFIED_QUOTE,), evidence_of(signal))
        return Verdicts("missed", (FLAG_UNVERIFIED_QUOTE,), None)
    assert quote is not None  # verify_quote is False for None
    idx = _units_for_quote(quote, units)
    keywords = check_point(signal.point, analyse_all([units[i] for i in idx]))
    line = units[idx[0]].line if idx else None
    evidence = Evidence(quote=quote.strip(), line=line, terms=[h.term for h in keywords.hits])
    stated = [signal.contradicting[i] for i in idx if i < len(signal.contradicting)]
    wrong = next((c for c in stated if c is not None), None)
    if judged == "contradicted":
        fix = wrong.correction if wrong is not None else signal.point.text
        return Verdicts("contradicted", (FLAG_JUDGE_CONTRADICTED,), evidence, fix)
    if wrong is not None and wrong.kind in (FLAG_NEGATED, FLAG_CONFLICT):
        return Verdicts("contradicted", (wrong.kind,), evidence, wrong.correction)
    if wrong is not None:  # a listed misconception: the judge may know better, but not for sure
        return Verdicts("partial", (wrong.kind,), evidence)
    best = max((signal.scores[i] for i in idx), default=0.0)
    # Tied by meaning, not by a keyword alone: a keyword-stuffed sentence carries every group.
    weak = any(signal.tied_units[i] for i in idx)
    needed = PARAMS.covered if injected else PARAMS.partial
    if best >= needed:
        return Verdicts(judged, (), evidence)
    if best >= PARAMS.partial or (weak and not injected):
        flags = () if judged == "partial" and best >= PARAMS.partial else (FLAG_UNCORROBORATED,)
        return Verdicts("partial", flags, evidence)
    return Verdicts("missed", (FLAG_UNCORROBORATED,), None)


def _weak_credits_capped(points: list[PointResult], p: Prepared) -> list[PointResult]:
    """A quoted sentence backs at most PARAMS.points_per_unit credits that only its meaning
    supports (flagged uncorroborated), as the offline grader lets a sentence be the evidence of
    at most that many points: a judge that credits every point from one sentence is not
    believed for the rest, which keep the points whose offline evidence there is highest."""
    by_quote: dict[str, list[int]] = {}
    for k, pt in enumerate(points):
        if pt.evidence is not None and FLAG_UNCORROBORATED in pt.flags and pt.verdict != "missed":
            by_quote.setdefault(pt.evidence.quote, []).append(k)
    out = list(points)
    for ks in by_quote.values():
        ks.sort(key=lambda k: -(points[k].semantic or 0.0))
        for k in ks[PARAMS.points_per_unit :]:
            out[k] = points[k].model_copy(update={"verdict": "missed", "evidence": None})
    return out


def confidence_llm(
    points: Sequence[PointResult], caveats: Sequence[str], *, injected: bool = False
) -> str:
    """High when every verdict is corroborated (a verified quote, offline evidence that agrees),
    the server honoured the request as sent and nothing in the answer addresses the grader;
    medium when at most a third of the points are in doubt; low beyond."""
    doubts = {FLAG_UNVERIFIED_QUOTE, FLAG_UNCORROBORATED, FLAG_MISCONCEPTION, FLAG_SAMPLES_DISAGREE}
    flagged = sum(bool(doubts & set(pt.flags)) for pt in points)
    if flagged == 0 and not caveats and not injected:
        return "high"
    return "medium" if flagged <= len(points) // 3 else "low"


class LLMGrader:
    """Grades with an LLM judge (`judge.Judge`), every credit cross-checked offline.

    `where` names the server in reports (credentials masked); `offline` supplies the signals."""

    backend = "llm"

    def __init__(
        self,
        judge: object,
        *,
        where: str = "OpenAI",
        offline: OfflineGrader | None = None,
        samples: int = 1,
    ):
        from .judge import JUDGE_PROMPT_VERSION

        if samples < 1:
            raise ValueError("samples must be at least 1")
        self.judge = judge
        self.offline = offline or OfflineGrader()
        self.samples = samples
        self.model: str = getattr(judge, "model", "?")
        checked_by = f"keywords and {self.offline.model}"
        voted = f", majority of {samples} samples" if samples > 1 else ""
        self.name = f"LLM judge {self.model} at {where}{voted}, cross-checked by {checked_by}"
        # The judge's verdicts are cross-checked by the offline signals, so their version counts;
        # a vote of several samples is another grade than one sample's.
        self.version = f"llm|{self.model}|{where}|{JUDGE_PROMPT_VERSION}|{self.offline.version}" + (
            f"|samples={samples}" if samples > 1 else ""
        )

    @property
    def usage(self) -> Usage | None:
        """The judge's requests and tokens so far (None for a judge that does not count them)."""
        return getattr(self.judge, "usage", None)

    def _seeds(self) -> list[int | None]:
        """The seed of each sample: the judge's own for one sample; distinct ones for several."""
        if self.samples == 1:
            return [None]
        base = int(getattr(self.judge, "seed", 0) or 0)
        return [base + k for k in range(self.samples)]

    def _ask(self, question: Question, text: str, seed: int | None) -> object:
        if seed is None:
            return self.judge.judge(question, text)  # type: ignore[attr-defined]
        return self.judge.judge(question, text, seed=seed)  # type: ignore[attr-defined]

    def grade(self, question: Question, answer: str) -> GradeReport:
        """Grade one answer. Raises JudgeError when the judge fails (the answer is then not
        graded, never scored 0), AnswerError for an empty or too long answer."""
        p = self.offline.prepare(question, answer)
        if p.too_short:
            return self.offline.too_short_report(p, self.name, self.backend, self.model)
        outcomes: list[object] = []
        for seed in self._seeds():
            try:
                outcomes.append(self._ask(question, p.text, seed))
            except GraderError as exc:
                outcomes.append(exc)
        return self._combine_samples(p, outcomes)

    def _combine_samples(self, p: Prepared, outcomes: Sequence[object]) -> GradeReport:
        """One report from the samples' outcomes (results or errors): a single sample as it is;
        several by a vote over those that succeeded. None succeeded: the first error."""
        results = [o for o in outcomes if not isinstance(o, GraderError)]
        errors = [o for o in outcomes if isinstance(o, GraderError)]
        if not results:
            raise errors[0]
        if self.samples == 1:
            return self._combine(p, results[0])
        from .samples import combine

        result, votes = combine(results)
        note = None
        if errors:
            note = (
                f"{len(errors)} of {len(outcomes)} judge samples failed ({errors[0].message}); "
                f"the vote is over {len(results)}."
            )
        return self._combine(p, result, votes, note)

    def _combine(
        self, p: Prepared, result: object, votes: Sequence[Vote] | None = None, note: str | None = None
    ) -> GradeReport:
        judgement = result.judgement  # type: ignore[attr-defined]
        points = []
        injected = FLAG_INJECTION in p.flags
        for k, (signal, judged) in enumerate(zip(p.signals, judgement.points, strict=True)):
            combined = llm_verdict(
                judged.verdict, judged.evidence, signal, p.text, p.units, injected=injected
            )
            point = result_of(signal, combined, judged.verdict, judged.feedback)
            if votes is not None:
                v = votes[k]
                flags = [*point.flags] + ([] if v.unanimous else [FLAG_SAMPLES_DISAGREE])
                point = point.model_copy(update={"votes": dict(v.counts), "flags": flags})
            points.append(point)
        points = _weak_credits_capped(points, p)
        caveats = [note] if note else []
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
            confidence=confidence_llm(points, caveats, injected=injected),
            words=p.words,
            flags=[*p.flags, FLAG_SAMPLES_FAILED] if note else p.flags,
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

        asked = [i for i, (q, a) in enumerate(items) if needs_judge(q, a)]
        if asked:
            # The model loads in native code meanwhile, while this thread makes the client
            # (importing openai: most of a second of Python) before the offline work starts, which
            # would otherwise share the interpreter with it and hold the first request back.
            self.offline.preload()
            connect = getattr(self.judge, "connect", None)
            if connect is not None:
                connect()
        pool = ThreadPoolExecutor(max_workers=max(1, jobs))
        try:
            waiting: dict[int, list[Future]] = {}  # an answer's samples, in seed order
            for i in asked:  # empty, too long and too short answers need no request
                question, answer = items[i]
                text = clean_answer(answer)  # what `grade` sends: validated, normalised
                for seed in self._seeds():
                    waiting.setdefault(i, []).append(pool.submit(self._ask, question, text, seed))
            self.offline.warm(items)  # its own preload waits for the one above
            prepared: dict[int, Prepared | Exception] = {}

            def finish_ready() -> None:
                """Finish every answer whose offline signals and replies are all in."""
                for i in [i for i in waiting if i in prepared and all(f.done() for f in waiting[i])]:
                    fs = waiting.pop(i)
                    p = prepared.pop(i)
                    done(i, grade_or_error(lambda q, a, p=p, fs=fs: self._finish(p, fs), *items[i]))

            # The offline signals do not depend on the judge's reply: compute them while the
            # requests are out, finishing each answer whose replies are already in as we go.
            for i in list(waiting):
                try:
                    prepared[i] = self.offline.prepare(*items[i])
                except Exception as exc:  # reported in the answer's place by grade_or_error
                    prepared[i] = exc
                finish_ready()
            for _ in as_completed([f for fs in waiting.values() for f in fs]):
                finish_ready()
            finish_ready()
            for i, (question, answer) in enumerate(items):
                if results[i] is None:  # nothing to ask: empty, too long or too short
                    done(i, grade_or_error(self.grade, question, answer))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return [r for r in results if r is not None]

    def _finish(self, p: Prepared | Exception, futures: Sequence[Future]) -> GradeReport:
        if isinstance(p, Exception):
            raise p
        outcomes: list[object] = []
        for f in futures:
            exc = f.exception()
            if exc is not None and not isinstance(exc, GraderError):
                raise exc  # a bug: grade_or_error reports it as this answer's internal error
            outcomes.append(exc if exc is not None else f.result())
        return self._combine_samples(p, outcomes)
