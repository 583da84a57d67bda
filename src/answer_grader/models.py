"""Pydantic models: rubrics, questions and reports.

The rubric models accept any question a program builds (`Question.create`); the bank's own file
rules (5 to 9 key points, slug topics) are the bank loader's, checked by
schemas/rubric.schema.json before these models see a file."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegexTerm(_Strict):
    """A keyword alternative given as a regular expression, searched case-insensitively."""

    regex: str = Field(min_length=1)


KeywordTerm = str | RegexTerm


class KeyPoint(_Strict):
    """One idea an interviewer listens for."""

    id: Slug
    text: str = Field(min_length=10)
    weight: float = Field(default=1.0, gt=0, le=5)
    critical: bool = False
    keywords: list[list[KeywordTerm]] = Field(min_length=1, max_length=6)
    # Specifics that contradict the point when a sentence about it affirms them.
    contradicts: list[KeywordTerm] = Field(default_factory=list)


class Misconception(_Strict):
    """A wrong claim candidates make, and its correction."""

    claim: str = Field(min_length=5)
    correction: str = Field(min_length=5)
    point: str | None = Field(default=None, description="The id of the key point it contradicts")


class Rubric(_Strict):
    """A question and its key points, as stored in rubrics/<id>.yaml."""

    id: Slug
    number: int = Field(default=1, ge=1)
    question: str = Field(min_length=1)
    topics: list[str] = Field(default_factory=list)
    difficulty: Literal["foundational", "intermediate", "advanced"] = "intermediate"
    key_points: list[KeyPoint] = Field(min_length=1)
    misconceptions: list[Misconception] = Field(default_factory=list)


class Question(BaseModel):
    """A rubric with its reference answer, as the rest of the library uses it."""

    model_config = ConfigDict(frozen=True)

    rubric: Rubric
    reference_answer: str
    rubric_path: str = ""
    reference_path: str = ""

    @classmethod
    def create(
        cls,
        text: str,
        reference_answer: str,
        key_points: list[KeyPoint | dict],
        *,
        id: str = "question",
        number: int = 1,
        topics: list[str] | None = None,
        difficulty: str = "intermediate",
    ) -> Question:
        """A question built in code, with as many key points as it needs:

        Question.create("What is dropout?", "Dropout randomly zeroes ...",
                        [{"id": "random-zeroing", "text": "Dropout zeroes random units.",
                          "keywords": [["zero", "drop"], ["random"]]}])
        """
        rubric = Rubric(
            id=id,
            number=number,
            question=text,
            topics=list(topics or []),
            difficulty=difficulty,  # type: ignore[arg-type]
            key_points=[KeyPoint.model_validate(p) for p in key_points],
        )
        return cls(rubric=rubric, reference_answer=reference_answer)

    @property
    def id(self) -> str:
        return self.rubric.id

    @property
    def content_hash(self) -> str:
        """Changes whenever the rubric or the reference answer changes (cache keys use it)."""
        import hashlib

        data = self.rubric.model_dump_json() + "\0" + self.reference_answer
        return hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]

    @property
    def number(self) -> int:
        return self.rubric.number

    @property
    def text(self) -> str:
        return self.rubric.question

    @property
    def key_points(self) -> list[KeyPoint]:
        return self.rubric.key_points


# -- grading --------------------------------------------------------------------------------------

# "contradicted": the answer states the point wrongly. It earns nothing, as a missed point does, and
# a contradicted critical point caps the score; it is reported apart because a wrong statement is
# worse news for a candidate than a gap, and tells them what to unlearn.
Verdict = Literal["covered", "partial", "missed", "contradicted"]
CREDIT: dict[str, float] = {"covered": 1.0, "partial": 0.5, "missed": 0.0, "contradicted": 0.0}
NO_CREDIT = ("missed", "contradicted")
# What every offline report (and sheet report) says of its limits: one wording, everywhere.
OFFLINE_CAVEAT = (
    "Graded offline by sentence similarity and keywords: it finds where a point is discussed and "
    "catches some wrong statements (denials, the bank's known misconceptions), but cannot check "
    "correctness in general. Use an LLM judge for that."
)

# Flags a point or a report can carry. Documented in the README's grading section.
FLAG_UNVERIFIED_QUOTE = "unverified-quote"  # the judge quoted text that is not in the answer
FLAG_KEYWORD_ONLY = "keyword-only"  # keywords present, but nothing ties the sentence to the point
FLAG_UNCORROBORATED = "uncorroborated"  # the judge credited it; keywords and embeddings disagree
FLAG_INJECTION = "suspected-injection"  # the answer addresses the grader instead of the question
FLAG_TOO_SHORT = "too-short"  # too little text to grade; no point can be credited
FLAG_OFF_TOPIC = "off-topic"  # nothing in the answer is near the question's subject
FLAG_CRITICAL_MISSED = "critical-missed"  # a critical point was missed or contradicted; capped
# Why a point is contradicted (a point flag; the offline grader's three signals, or the judge's word).
FLAG_NEGATED = "negated"  # the sentence says the point's content under a negation the point lacks
FLAG_MISCONCEPTION = "misconception"  # the sentence is closer to a listed misconception than to it
FLAG_CONFLICT = "conflicting-term"  # the sentence names a specific the rubric declares wrong for it
FLAG_JUDGE_CONTRADICTED = "judge-contradicted"  # the LLM judge said it is stated wrongly
FLAG_SAMPLES_DISAGREE = "samples-disagree"  # repeated judge samples gave different verdicts
FLAG_SAMPLES_FAILED = "samples-failed"  # some of the judge samples failed; the vote is over the rest


class Evidence(BaseModel):
    """The sentence of the answer that supports a point, and the keyword terms found in it."""

    model_config = ConfigDict(frozen=True)

    quote: str
    line: int | None = None
    terms: list[str] = Field(default_factory=list)


class PointResult(BaseModel):
    """The grade of one key point."""

    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    weight: float
    critical: bool
    verdict: Verdict
    evidence: Evidence | None = None
    semantic: float | None = Field(
        default=None,
        description="The offline evidence score of the best sentence, 0..1: similarity to the "
        "point, word overlap and keyword groups combined, less a clash of polarity (not a "
        "similarity alone)",
    )
    keywords_found: int = Field(description="Keyword groups matched in the evidence sentence")
    keywords_total: int
    judge_verdict: Verdict | None = None
    feedback: str | None = None
    expected: str | None = Field(
        default=None, description="What an interviewer expected to hear (from the reference)"
    )
    correction: str | None = Field(
        default=None,
        description="For a contradicted point: what is true instead (the correction of the "
        "misconception the answer repeats, or the point itself)",
    )
    flags: list[str] = Field(default_factory=list)
    votes: dict[str, int] | None = Field(
        default=None,
        description="With repeated judge samples (--samples): how many gave each verdict; the "
        "judge's verdict is their majority",
    )


class GradeReport(BaseModel):
    """The result of grading one answer to one question."""

    model_config = ConfigDict(frozen=True)

    question_id: str
    question_number: int
    question: str
    backend: Literal["offline", "llm"]
    grader: str = Field(description="Human-readable name of what graded, e.g. the model")
    model: str
    score: float = Field(
        ge=0, le=100, description="Weighted credit, capped if a critical point is missed"
    )
    uncapped_score: float = Field(ge=0, le=100)
    confidence: Literal["low", "medium", "high"]
    points: list[PointResult]
    flags: list[str] = Field(default_factory=list)
    feedback: str | None = None
    caveats: list[str] = Field(default_factory=list)
    answer_words: int

    @property
    def missed(self) -> list[PointResult]:
        """Every point not fully covered: partial, missed or contradicted."""
        return [p for p in self.points if p.verdict != "covered"]

    @property
    def contradicted(self) -> list[PointResult]:
        return [p for p in self.points if p.verdict == "contradicted"]


class SheetRowReport(BaseModel):
    """One entry of a graded answer sheet."""

    source: str
    number: int = Field(description="The question's number as written in the sheet")
    question_id: str | None
    question: str
    status: Literal["graded", "unanswered", "unknown", "error"]
    score: float | None
    missed: list[str] = Field(default_factory=list, description="Ids of points not fully covered")
    contradicted: list[str] = Field(
        default_factory=list, description="Ids of points stated wrongly (also in `missed`)"
    )
    error: str | None = None
    cached: bool = False
    report: GradeReport | None = None


class SheetTotals(BaseModel):
    entries: int
    graded: int
    unanswered: int
    unknown: int
    errors: int
    mean_score: float | None = Field(description="Mean score of the graded answers")
    cached: int


class SheetReport(BaseModel):
    """The result of `grader score`: every entry of every sheet, and totals."""

    backend: Literal["offline", "llm"]
    grader: str
    files: list[str]
    rows: list[SheetRowReport]
    totals: SheetTotals
    fail_under: float | None = None
