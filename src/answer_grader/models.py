"""Pydantic models: the contract with rubric files. They mirror schemas/rubric.schema.json."""

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


class Misconception(_Strict):
    """A wrong claim candidates make, and its correction."""

    claim: str = Field(min_length=5)
    correction: str = Field(min_length=5)


class Rubric(_Strict):
    """A question of the bank and its key points, as stored in rubrics/<id>.yaml."""

    id: Slug
    number: int = Field(ge=1)
    question: str = Field(min_length=10)
    topics: list[Slug] = Field(min_length=1)
    difficulty: Literal["foundational", "intermediate", "advanced"]
    key_points: list[KeyPoint] = Field(min_length=5, max_length=9)
    misconceptions: list[Misconception] = Field(default_factory=list)


class Question(BaseModel):
    """A rubric with its reference answer, as the rest of the library uses it."""

    model_config = ConfigDict(frozen=True)

    rubric: Rubric
    reference_answer: str
    rubric_path: str
    reference_path: str

    @property
    def id(self) -> str:
        return self.rubric.id

    @property
    def number(self) -> int:
        return self.rubric.number

    @property
    def text(self) -> str:
        return self.rubric.question

    @property
    def key_points(self) -> list[KeyPoint]:
        return self.rubric.key_points
