"""Answer sheets in the question list's markdown format, read and written.

    ## Question 4

    **Can you explain the concept of attention mechanisms in transformer models?**

    **Answer:** the answer, over as many paragraphs, lists and code blocks as it needs

    ---

Reading tolerates `###` headings, a missing `---`, CRLF line ends, a byte-order mark and extra blank
lines. An answer runs to a `---` line outside code blocks, or to the next question heading.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from .errors import SheetError
from .models import Question

SHEET_TITLE = "# Answer sheet"
MAX_ANSWER_BYTES = 1_000_000
MAX_SHEET_BYTES = 5_000_000  # 23 long answers are ~50 KB; anything near this is not a sheet
PLACEHOLDERS = ("_[to be filled]_", "[to be filled]", "_to be filled_", "tbd", "todo")

# "## Question 4", and the odd ones people write: "# Question 4", "### Question #4", "## Question: 4",
# "## Question No. 4a", "## Question -1" (a number that is in no bank), a bare "## Question". A heading
# like "## Question answering" is prose inside an answer, not a new entry.
_HEADING = re.compile(
    r"^\s{0,3}#{1,6}\s*question\b\s*(?:no\.?|number|#)?\s*[:.]?\s*"
    r"(?:(?P<num>[-+\u2212]?\s?\d{1,9})(?!\d)[^\n]*|[\s:.\-#]*)$",
    re.IGNORECASE,
)
_BOLD_LINE = re.compile(r"^\s*\*\*(.+?)\*\*\s*$")
_ANSWER = re.compile(r"^\s*\*\*\s*answer\s*:?\s*\*\*\s*:?\s?(.*)$", re.IGNORECASE)
_RULE = re.compile(r"^\s{0,3}(-{3,}|\*{3,}|_{3,})\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


@dataclass(frozen=True)
class SheetEntry:
    """One question of an answer sheet, as written in the file."""

    number: int
    question: str  # the bold question text, as written (may be empty)
    answer: str  # the answer, markdown intact; "" when unanswered
    line: int  # 1-based line of the heading

    @property
    def answered(self) -> bool:
        return bool(self.answer.strip()) and self.answer.strip().lower() not in PLACEHOLDERS


def parse_sheet(text: str, source: str = "the sheet") -> list[SheetEntry]:
    """The entries of an answer sheet. Raises SheetError if no `## Question N` heading is found."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    starts = []
    in_fence = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and (m := _HEADING.match(line)):  # a heading quoted in code is code
            starts.append((i, _number(m.group("num"))))
    if not starts:
        raise SheetError(f"{source}: no question found (expected headings like '## Question 4')")
    entries = []
    for k, (start, number) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        entries.append(_entry(lines[start + 1 : end], number, start + 1))
    return entries


def _number(text: str | None) -> int:
    """The heading's number; 0 (in no bank) when it has none."""
    if not text:
        return 0
    return int(re.sub(r"\s", "", text).replace("\u2212", "-"))


def _entry(body: list[str], number: int, line: int) -> SheetEntry:
    question = ""
    answer_lines: list[str] = []
    i = 0
    # The question: the first bold line(s) before "**Answer:**".
    while i < len(body) and not _ANSWER.match(body[i]):
        m = _BOLD_LINE.match(body[i])
        if m and not question:
            question = m.group(1).strip()
        elif body[i].strip() and not _RULE.match(body[i]):
            break  # text without an "Answer:" marker (after the question, if any) is the answer
        i += 1
    if i < len(body) and (m := _ANSWER.match(body[i])):
        answer_lines.append(m.group(1))
        i += 1
    in_fence = False
    for text in body[i:]:
        if _FENCE.match(text):
            in_fence = not in_fence
        elif not in_fence and _RULE.match(text):
            break
        answer_lines.append(text)
    answer = "\n".join(answer_lines).strip("\n")
    return SheetEntry(number=number, question=question, answer=_collapse_blank_lines(answer), line=line)


def _collapse_blank_lines(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def similarity(a: str, b: str) -> float:
    """How alike two question texts are, ignoring case, spacing and punctuation (0..1). The list's
    glued words ("What areLarge Language Models") match their repaired form exactly."""
    return SequenceMatcher(None, _norm(a), _norm(b)).ratio()


MATCH_THRESHOLD = 0.8


@dataclass(frozen=True)
class Match:
    entry: SheetEntry
    question: Question | None  # None: not in the bank
    how: str  # "number", "text", "number (text not given)", or why it is unknown


def match_entries(entries: Sequence[SheetEntry], questions: Sequence[Question]) -> list[Match]:
    """Match each entry to a bank question: by number when the text agrees (or is absent), else by
    the most similar text, else unknown."""
    by_number = {q.number: q for q in questions}
    out = []
    for e in entries:
        q = by_number.get(e.number)
        if q is not None and (not e.question or similarity(e.question, q.text) >= MATCH_THRESHOLD):
            out.append(Match(e, q, "number" if e.question else "number (no question text)"))
            continue
        best = max(questions, key=lambda c: similarity(e.question, c.text), default=None)
        if e.question and best is not None and similarity(e.question, best.text) >= MATCH_THRESHOLD:
            out.append(Match(e, best, f"text (numbered {e.number} in the sheet)"))
            continue
        out.append(Match(e, None, "no question in the bank matches its number and text"))
    return out


def write_template(questions: Iterable[Question], title: str = SHEET_TITLE) -> str:
    """A blank answer sheet for `questions`, ready to fill in and grade with `grader score`."""
    parts = [f"{title}\n\nWrite each answer below its 'Answer:' line, then grade the sheet.\n"]
    for q in questions:
        parts.append(f"## Question {q.number}\n\n**{q.text}**\n\n**Answer:**\n\n\n---\n")
    return "\n".join(parts)


def read_sheets(files: Sequence[str], questions: Sequence[Question]) -> list[tuple[str, Match]]:
    """Every entry of every sheet file (`-` for stdin), matched to the bank's questions, each with
    the name of the file it came from. Raises SheetError for a file that is not a sheet."""
    return match_sheets(read_sheet_texts(files), questions)


def read_sheet_texts(files: Sequence[str]) -> list[tuple[str, str]]:
    """(label, text) of each sheet file: its name, or "stdin" for `-`."""
    from .files import read_input

    return [
        ("stdin" if name == "-" else name, read_input(name, max_bytes=MAX_SHEET_BYTES, error=SheetError))
        for name in files
    ]


def match_sheets(
    sheets: Sequence[tuple[str, str]], questions: Sequence[Question]
) -> list[tuple[str, Match]]:
    """The entries of sheets given as (label, text), matched to the bank's questions."""
    from .scrub import printable

    matches = []
    for label, text in sheets:
        matches += [(label, m) for m in match_entries(parse_sheet(text, printable(label)), questions)]
    return matches
