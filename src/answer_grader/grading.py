"""Grading: the `Grader` protocol, its two implementations (`offline.OfflineGrader`,
`llm.LLMGrader`), `grader_for(settings)` and `grade(question, answer)`; what makes an answer
gradable at all.

Signals (see `signals`), per key point and answer sentence ("unit"); every number named here is a
field of the parameters object (`params.PARAMS`, from data/offline_params.json):
  similarity   cosine similarity of the unit to the point (its text, or the reference sentence that
               carries it), with the all-MiniLM-L6-v2 embedding;
  lexical      the share of the point's own content words (in its text or the reference sentence
               that carries it; words the question gives away left out) that the unit repeats;
  keywords     the share of the point's keyword groups found in the unit;
  tied         the similarity beats what the question itself and off-topic or filler text reach
               for the same point (calibrated similarity > tie), or the unit is prose, carries a
               keyword group that the question does not, and its calibrated similarity is above
               novel_floor;
  clash        the unit is negated ("not", "no", "without", ...) where the point is not, or the
               reverse;
  evidence     alpha x similarity + beta x lexical + (1 - alpha - beta) x keywords - gamma x clash
               (at least 0) if tied, else 0.
Lists of terms and units under min_unit_words words are never evidence (for a one-sentence
reference, shorter units that read as a statement are). A point's score is its best unit's.

The offline grader's verdicts are in `offline`, the LLM judge's cross-check table in `llm`, and the
score (weighted credit, capped at critical_cap when a critical point is missed) in `scoring`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .errors import AnswerError, GraderError
from .models import GradeReport, Question
from .params import PARAMS
from .scrub import printable
from .signals import min_answer_words
from .text import word_count

if TYPE_CHECKING:
    from .config import Settings
    from .semantic import Embedder

MAX_ANSWER_CHARS = PARAMS.max_answer_chars  # about 3,000 words: far beyond an interview answer

_INJECTION = re.compile(
    r"ignore (all |any |the |your |previous |prior |above )*(instructions|rubric|rules|prompt)"
    r"|(give|award|assign|grant) (me |this( answer)? )?(full|maximum|max|perfect|100)"
    r"|(full|maximum|perfect) (marks|score|credit|points)"
    r"|note to (the )?(grader|judge|evaluator|examiner)"
    r"|you are (now )?(the|a) (grader|judge)|system prompt|as the grader"
    r"|mark (all|every) (points?|criteria) (as )?(covered|met)",
    re.IGNORECASE,
)


@runtime_checkable
class Grader(Protocol):
    """What grades answers. `version` names everything its grades depend on (the grade cache's
    key includes it); `grade` grades one answer; `grade_many` grades many, each failure kept in
    its place as a GraderError."""

    backend: str
    name: str
    version: str

    def grade(self, question: Question, answer: str) -> GradeReport: ...

    def grade_many(
        self,
        items: Sequence[tuple[Question, str]],
        *,
        jobs: int = ...,
        on_done: Callable[[int, GradeReport | GraderError], None] | None = None,
    ) -> list[GradeReport | GraderError]: ...


def grader_for(
    settings: Settings | None = None,
    *,
    embedder: Embedder | None = None,
    judge: object | None = None,
    on_status: Callable[[str], None] | None = None,
) -> Grader:
    """The grader the settings ask for: offline by default; the LLM judge (built from the
    settings unless `judge` is given) when the backend is "llm". `on_status` hears about the
    judge's waits and retries."""
    from .offline import OfflineGrader

    offline = OfflineGrader(embedder)
    if settings is None or settings.backend != "llm":
        return offline
    from .llm import LLMGrader

    return LLMGrader(
        judge or default_judge(settings, on_status),
        where=settings.shown_base_url or "OpenAI",
        offline=offline,
        samples=settings.samples,
    )


def grade(
    question: Question,
    answer: str,
    settings: Settings | None = None,
    *,
    embedder: Embedder | None = None,
    judge: object | None = None,
) -> GradeReport:
    """Grade one answer to one question: offline unless `settings` choose the LLM judge.

    Raises AnswerError (empty or too long) or, with the LLM, JudgeError (not graded)."""
    return grader_for(settings, embedder=embedder, judge=judge).grade(question, answer)


def needs_judge(question: Question, answer: str) -> bool:
    """Whether grading this answer would send it to the LLM: not if it is empty, too long or too
    short (grade() reports those itself, without a request)."""
    try:
        return word_count(clean_answer(answer)) >= min_answer_words(question)
    except AnswerError:
        return False


def clean_answer(text: str) -> str:
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


def default_judge(settings: Settings, on_status: Callable[[str], None] | None = None):  # type: ignore[no-untyped-def]
    """The judge the settings describe; `on_status` hears about waits and retries. The client
    (and openai, 0.6 s to import) is made on the first request: a sheet graded from the cache
    never needs it."""
    return _LazyJudge(settings, on_status)


class _LazyJudge:
    def __init__(self, settings: Settings, on_status: Callable[[str], None] | None) -> None:
        import threading

        self.model = settings.model
        self._settings = settings
        self._on_status = on_status
        self.seed = settings.seed
        self._judge: object | None = None
        self._lock = threading.Lock()  # LLMGrader.grade_many calls from several threads
        from .usage import Usage

        self.usage = Usage()  # counted from the first request, whenever the client is made

    def connect(self) -> None:
        """Make the client now (importing openai takes most of a second): before a run's
        requests, so that the first request does not wait on it while the offline work runs."""
        with self._lock:
            self._make()

    def judge(self, question: Question, answer: str, *, seed: int | None = None):  # type: ignore[no-untyped-def]
        with self._lock:
            self._make()
        return self._judge.judge(question, answer, seed=seed)  # type: ignore[attr-defined]

    def _make(self) -> None:
        """The judge and its client, made once (the caller holds the lock)."""
        if self._judge is None:
            from .judge import Judge, make_client

            s = self._settings
            self._judge = Judge(
                make_client(s.base_url, s.api_key, s.timeout),
                s.model,
                seed=s.seed,
                max_retries=s.max_retries,
                timeout=s.timeout,
                on_status=self._on_status,
                secrets=s.secrets,
                usage=self.usage,
            )


def grade_or_error(
    fn: Callable[[Question, str], GradeReport], question: Question, answer: str
) -> GradeReport | GraderError:
    """`fn(question, answer)`, with any failure as a value: one answer's failure, even a bug,
    must not cost the others their grades."""
    from .errors import InternalError

    try:
        return fn(question, answer)
    except GraderError as exc:
        return exc
    except Exception as exc:
        return InternalError(f"internal error: {type(exc).__name__}: {exc}")
