"""Split a markdown answer into plain-text sentences, the unit that evidence is found in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .params import PARAMS


@dataclass(frozen=True)
class Sentence:
    """One sentence of an answer, markup removed, with the source line its block starts on."""

    index: int
    text: str
    line: int


_SPACE = re.compile(r"\s+")
# The package's one definition of a word: letters and digits, joined by an apostrophe or a hyphen
# inside it ("don't", "self-attention", "GPT-3" are one word each, as a reader counts them). The
# keyword check splits a word at its hyphens again (keywords.parts), so that the term
# "self-attention" also matches "self attention".
WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")


def normalise(text: str) -> str:
    """Lower case, curly apostrophes straightened: the form words are read from."""
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def words(text: str) -> list[str]:
    """The words of a text, lower-cased (see WORD)."""
    return WORD.findall(normalise(text))


def is_negation(word: str) -> bool:
    """Whether a lower-case word denies what follows it: one of PARAMS.negations, or a "n't" form."""
    return word in PARAMS.negations or word.endswith("n't")


@lru_cache(maxsize=1)
def _parser():  # type: ignore[no-untyped-def]
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


def _inline_text(token) -> str:  # type: ignore[no-untyped-def]
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)


def blocks(markdown: str) -> list[tuple[str, int]]:
    """The text blocks of a markdown document (paragraphs, list items, headings, table cells, code),
    each as (plain text, 1-based start line). Blocks are never joined, so a list item stays apart
    from the next one."""
    out: list[tuple[str, int]] = []
    for token in _parser().parse(markdown):
        line = token.map[0] + 1 if token.map else 0
        if token.type == "inline":
            text = _SPACE.sub(" ", _inline_text(token)).strip()
        elif token.type in ("fence", "code_block"):
            text = _SPACE.sub(" ", token.content).strip()
        else:
            continue
        if text:
            out.append((text, line))
    return out


def split_sentences(markdown: str) -> list[Sentence]:
    """Sentences of a markdown text, in order. Abbreviations and decimals ("e.g.", "1.5") do not
    end a sentence (pysbd's rules)."""
    return list(_split_cached(markdown))


@lru_cache(maxsize=512)
def _split_cached(markdown: str) -> tuple[Sentence, ...]:
    # Reference answers are split again for every answer graded against them: remember them.
    if _SHIPPED_FILES or _SHIPPED:
        found = _shipped_split(markdown)
        if found is not None:
            return found
    return _split(markdown)


# A short block with no sentence end but at its close, and no list marker such as "1)" or "(a)"
# (pysbd splits "1) ... 2) ..." into items), is one sentence: pysbd returns it whole (it did for
# every such block of SemEval-2013, the labelled answers, the bank and the benchmark's cohort), so
# it is not run on them; it costs several milliseconds a block.
_INNER_END = re.compile(r"[.!?\u3002\uff01\uff1f\u2026)]")
_CLOSING = " .!?\"')]\u201d\u2019"


def _one_sentence(text: str) -> bool:
    return len(text) <= PARAMS.chunk_chars and _INNER_END.search(text.rstrip(_CLOSING)) is None


def _split(markdown: str) -> tuple[Sentence, ...]:
    segmenter = None
    sentences: list[Sentence] = []
    for text, line in blocks(markdown):
        if _one_sentence(text):
            pieces = [text.strip()] if text.strip() else []
        else:
            if segmenter is None:
                import pysbd

                segmenter = pysbd.Segmenter(language="en", clean=False)
            pieces = [p.strip() for c in _chunks(text) for p in segmenter.segment(c) if p.strip()]
        for piece in _join_fragments(pieces):
            sentences.append(Sentence(index=len(sentences), text=piece, line=line))
    return tuple(sentences)


# Splits shipped with a bank (`prebuilt`): its reference answers split once, so a process need not
# run pysbd over them (about 0.6 s for the 23 of the bank). Keyed by the splitter's version too, so
# a change to this module, its parameters or pysbd makes them miss and the text is split here.
_SHIPPED_FILES: list[object] = []  # paths registered, read on the first split
_SHIPPED: dict[str, tuple[tuple[str, int], ...]] = {}


def use_shipped_sentences(path: object) -> None:
    if path not in _SHIPPED_FILES and path not in _READ:
        _SHIPPED_FILES.append(path)


_READ: list[object] = []


@lru_cache(maxsize=1)
def splitter_version() -> str:
    """What a split depends on: this module, the parameters, pysbd and markdown-it."""
    import hashlib
    from importlib import metadata, resources

    h = hashlib.sha256()
    package = resources.files("answer_grader")
    for name in ("text.py", "data/offline_params.json"):
        h.update(package.joinpath(name).read_bytes())
    for dist in ("pysbd", "markdown-it-py"):
        h.update(metadata.version(dist).encode())
    return h.hexdigest()


def split_key(markdown: str) -> str:
    import hashlib

    return hashlib.sha256(f"{splitter_version()}\0{markdown}".encode()).hexdigest()


def _shipped_split(markdown: str) -> tuple[Sentence, ...] | None:
    import json

    while _SHIPPED_FILES:
        path = _SHIPPED_FILES.pop()
        _READ.append(path)
        try:
            with open(path, encoding="utf-8") as f:  # type: ignore[call-overload]
                data = json.load(f)
        except (OSError, ValueError):
            continue
        try:  # a damaged file is passed over: the texts are split here instead
            entries = {k: tuple((str(t), int(n)) for t, n in v) for k, v in data.items()}
        except (AttributeError, TypeError, ValueError):
            continue
        _SHIPPED.update(entries)
    found = _SHIPPED.get(split_key(markdown))
    if found is None:
        return None
    return tuple(Sentence(index=i, text=t, line=n) for i, (t, n) in enumerate(found))


# pysbd's time grows with the square of a block's length (9 s for one 100 KB paragraph), so a long
# block is cut first, at sentence ends, into chunks it segments one by one: linear in all. Blocks
# shorter than PARAMS.chunk_chars, which is every block of a real answer, are segmented whole.
_BOUNDARY = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def _chunks(text: str) -> list[str]:
    chunk = PARAMS.chunk_chars
    if len(text) <= chunk:
        return [text]
    out = []
    start = 0
    while len(text) - start > chunk:
        window = text[start : start + chunk]
        ends = [m.end() for m in _BOUNDARY.finditer(window, chunk // 2)]
        cut = ends[0] if ends else (window.rfind(" ", chunk // 2) + 1 or chunk)
        out.append(text[start : start + cut])
        start += cut
    out.append(text[start:])
    return out


def _join_fragments(pieces: list[str]) -> list[str]:
    """Join a fragment of fewer than PARAMS.fragment_words words (a bold lead-in such as "Dynamic
    masking.") to the sentence after it in the same block: alone it states nothing."""
    out: list[str] = []
    carry = ""
    for piece in pieces:
        piece = f"{carry} {piece}" if carry else piece
        carry = ""
        if len(WORD.findall(piece)) < PARAMS.fragment_words:
            carry = piece
        else:
            out.append(piece)
    if carry:
        if out:
            out[-1] = f"{out[-1]} {carry}"
        else:
            out.append(carry)
    return out


def word_count(text: str) -> int:
    """How many words (see WORD) a text has."""
    return len(WORD.findall(text))
