"""Derive key points from a reference answer: what `grader new` writes as the first rubric of a
user's own question, and what `grader eval` grades against when a data set gives no rubric.

Each sentence of the reference becomes a point (a long sentence is split at clause boundaries such
as "; " or ", while "); its keyword groups are its most specific content words, one per group,
leaving out words the question already uses: an answer that repeats the question proves nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from .keywords import analyse_all, check_point, stem
from .models import KeyPoint
from .params import PARAMS
from .text import split_sentences, word_count
from .text import words as words_of

_CLAUSE = re.compile(r";\s+|,\s+(?=(?:and|but|while|whereas|because|so|which)\b)|\s+-\s+")
# The numbers and word lists are PARAMS.derive_* and PARAMS.generic_words (words too general to
# say anything about a point, beyond the function words); two or three keyword groups make a
# good point (docs/writing-rubrics.md).


def clauses(sentence: str) -> list[str]:
    """A sentence split at clause boundaries, keeping only pieces long enough to state something."""
    pieces = [p.strip(" ,;") for p in _CLAUSE.split(sentence) if p and p.strip(" ,;")]
    long_enough = [p for p in pieces if word_count(p) >= PARAMS.derive_clause_words]
    return long_enough if len(long_enough) > 1 else [sentence]


def content_words(text: str) -> list[str]:
    """Distinct content words, most specific (longest) first, ties in order of appearance."""
    seen: dict[str, int] = {}
    p = PARAMS
    for i, low in enumerate(words_of(text)):
        if low in p.function_words or low in p.generic_words or low in seen:
            continue
        if len(low) < p.derive_min_keyword_chars or low.isdigit():  # a bare number says nothing
            continue
        seen[low] = i
    return sorted(seen, key=lambda w: (-len(w), seen[w]))


def point_from_text(text: str, point_id: str, *, question: str = "") -> KeyPoint | None:
    """A key point stating `text`, with keyword groups its own text satisfies (none negated),
    preferring words that `question` does not use."""
    words = content_words(text)
    if not words:
        return None
    asked = {stem(w) for w in words_of(question)}
    words = ([w for w in words if stem(w) not in asked] or words)[: PARAMS.derive_keywords]
    point = KeyPoint(
        id=point_id,
        text=text if len(text) >= 10 else f"{text} (key point)",
        keywords=[[w] for w in words],
    )
    ev = check_point(point, analyse_all(split_sentences(text)))
    kept = [[w] for w in words if (w,) not in ev.missing]
    if not kept:
        # Every word is negated in the text ("are not connected"): the negation is the point, so
        # the keyword is the negated phrase, which the keyword check matches as written.
        first = words[0]
        phrase = f"not {first}"
        kept = [[phrase]] if phrase in text.lower() else [[first]]
    return point.model_copy(update={"keywords": kept})


def derive_key_points(reference: str, *, question: str = "", max_points: int = 9) -> list[KeyPoint]:
    """Key points from a reference answer, each carried by its own sentence or clause."""
    texts: list[str] = []
    for sentence in split_sentences(reference):
        long = word_count(sentence.text) > PARAMS.derive_long_sentence_words
        texts += clauses(sentence.text) if long else [sentence.text]
    points: list[KeyPoint] = []
    for text in texts:
        if len(points) == max_points:
            break
        point = point_from_text(text, f"p{len(points) + 1}", question=question)
        if point is not None:
            points.append(point)
    return points


def slug(text: str) -> str:
    """`text` as a bank id or topic: lower-case words joined by hyphens ("Deep Learning" ->
    "deep-learning")."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64].strip("-")


def new_question(
    bank_dir: Path,
    question_id: str,
    question: str,
    reference: str,
    *,
    topics: Sequence[str] = (),
    difficulty: str = "intermediate",
    reference_name: str = "the reference",
) -> tuple[Path, int]:
    """Add a question to the bank at `bank_dir`: its reference answer and a first rubric whose key
    points are derived from it, checked against the bank's file rules before anything is
    written. Returns the rubric's path and its number of key points. Raises RubricError or
    OutputError."""
    import yaml

    from .bank import validate_rubric
    from .errors import Problem, RubricError
    from .files import make_dirs, write_atomic

    if slug(question_id) != question_id:
        raise RubricError(
            [Problem(question_id, "id", "use lower-case words joined by hyphens, e.g. my-question")]
        )
    points = derive_key_points(reference, question=question)
    if len(points) < 5:
        raise RubricError(
            [
                Problem(
                    reference_name,
                    "",
                    f"gives {len(points)} key point(s); a rubric needs 5 to 9: write the "
                    "reference in at least five sentences, one idea each",
                )
            ]
        )
    rubrics = bank_dir / "rubrics"
    rubric_path = rubrics / f"{question_id}.yaml"
    if rubric_path.exists():
        raise RubricError([Problem(str(rubric_path), "", "exists already")])
    numbers = [0]
    for other in sorted(rubrics.glob("*")) if rubrics.is_dir() else []:
        if other.suffix in (".yaml", ".yml", ".json"):
            found = re.search(r'^\s*"?number"?:\s*(\d+)', other.read_text("utf-8", "replace"), re.M)
            numbers.append(int(found.group(1)) if found else 0)
    data = {
        "id": question_id,
        "number": max(numbers) + 1,
        "question": question,
        "topics": [s for t in topics if (s := slug(t))] or ["general"],
        "difficulty": difficulty,
        "key_points": [p.model_dump(mode="json", exclude_defaults=True) for p in points],
    }
    # Checked as `grader check` will check it, before anything is written: a rubric the bank
    # refuses is never left behind.
    _, problems = validate_rubric(data, f"rubrics/{question_id}.yaml", question_id)
    if problems:
        raise RubricError(problems)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    make_dirs(rubrics)
    make_dirs(bank_dir / "reference_answers")
    # The reference first: a rubric without its reference would make the bank fail to load.
    write_atomic(bank_dir / "reference_answers" / f"{question_id}.md", reference.strip() + "\n")
    write_atomic(rubric_path, text)
    return rubric_path, len(points)
