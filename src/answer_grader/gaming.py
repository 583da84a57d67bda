"""Answers that try to game a grader, built from a question's rubric: what the offline grader's
calibration must keep low (benchmarks/calibrate_offline.py) and the tests check for every question.
"""

from __future__ import annotations

from .models import Question


def _first_terms(question: Question, per_group: int = 1) -> list[str]:
    return [
        t if isinstance(t, str) else t.regex
        for p in question.key_points
        for g in p.keywords
        for t in g[:per_group]
    ]


def keyword_list(question: Question) -> str:
    """Every keyword of the rubric, comma-separated, as a stuffer would paste them."""
    return ", ".join(_first_terms(question, per_group=2))


def keyword_lines(question: Question) -> str:
    """One line of keywords per point: the stuffer's other format."""
    return "\n".join(
        "- " + " ".join(g[0] if isinstance(g[0], str) else g[0].regex for g in p.keywords)
        for p in question.key_points
    )


def keyword_prose(question: Question) -> str:
    """The rubric's keywords strung into two sentences of filler prose, so that no list detector
    sees a list: it names everything and explains nothing."""
    terms = [t for t in _first_terms(question) if t.isascii()][:14]
    first, rest = terms[:8], terms[8:] or terms[-2:]
    return (
        f"In my experience the answer involves {', '.join(first[:-1])} and also {first[-1]}, "
        f"which is why it matters for the model. It also relates to {', '.join(rest)} in the end."
    )


def keyword_fragments(question: Question) -> str:
    """One terse line per point, its keywords and their plurals: notes, not statements."""
    lines = []
    for p in question.key_points:
        words = [g[0] for g in p.keywords if isinstance(g[0], str)]
        if words:
            lines.append(" ".join(f"{w} {w}s" for w in words).capitalize() + ".")
    return "\n".join(lines)


def off_topic_with_keywords(question: Question) -> str:
    """Sentences about something else that drop in each point's first two keywords."""
    sentences = []
    for p in question.key_points:
        words = [g[0] for g in p.keywords if isinstance(g[0], str)][:2]
        if words:
            sentences.append(
                f"My cat sleeps near the {' and the '.join(words)} in the garden every afternoon."
            )
    return " ".join(sentences)


def keyword_sentence(question: Question) -> str:
    """Every keyword group's first term strung into one sentence of prose ("The query, the key,
    ... are all part of it."): it names one keyword per point and states nothing."""
    terms = [t for t in _first_terms(question) if t.isascii()]
    subject = question.id.replace("-", " ")
    return f"The {', the '.join(terms[:-1])} and the {terms[-1]} are all part of {subject}."


# Auxiliaries after which a negation goes ("is" -> "is not"), and the verb forms that take "does".
_AUXILIARIES = frozenset(
    "is are was were can could will would should must may might has have had does do did".split()  # noqa: SIM905
)
# Words that open a subordinate clause: a main verb comes before them.
_SUBORDINATE = frozenset("which that who where because so while whereas since although".split())  # noqa: SIM905
_ADVERBS = ("also", "just", "merely", "only", "simply")


def _sentences(question: Question) -> list[str]:
    """The reference's statements: its sentences, with a bold lead-in ("**Origin.** Bahdanau
    ...") and each clause after a semicolon or a colon before a capital apart, each ending in a
    full stop, so that each is negated on its own."""
    import re

    from .text import split_sentences

    out = []
    for s in split_sentences(question.reference_answer):
        for part in re.split(r"(?<=[.!?])\s+(?=[A-Z])|(?<=;)\s+|(?<=:)\s+(?=[A-Z])", s.text):
            part = part.strip()
            if part:
                out.append(part if part[-1] in ".!?;:" else part + ".")
    return out


def _lower_first(s: str) -> str:
    s = s.lstrip("*-# ").strip()
    return s[:1].lower() + s[1:] if not s[1:2].isupper() else s


def negated_prefix(question: Question) -> str:
    """The reference answer with every sentence prefixed "It is not true that"."""
    return " ".join(f"It is not true that {_lower_first(s)}" for s in _sentences(question))


def _bare(word: str) -> str:
    import re

    return re.sub(r"[^\w']", "", word).lower()


def _main_clause(words: list[str]) -> int:
    """How many words the main clause has: up to the first comma or subordinating word."""
    for i, w in enumerate(words):
        if i and _bare(w) in _SUBORDINATE:
            return i
        if w.endswith(","):
            return i + 1
    return len(words)


def _negate(sentence: str, cue: str, article: bool = False) -> str:
    """The sentence negated in its main clause: its first negation taken out; or `cue` ("not",
    "never") after the main clause's first auxiliary; or (`article`) its first "a"/"the" made
    "no"; or "does not"/"never" before its first verb-looking word; failing all, the sentence
    prefixed "It is false that"."""
    from .params import PARAMS
    from .text import is_negation

    words = sentence.split(" ")
    for i, w in enumerate(words):
        if is_negation(_bare(w)):
            return " ".join([*words[:i], *words[i + 1 :]])  # "has no X" -> "has X"
    main = _main_clause(words)
    for i, w in enumerate(words[:main]):
        if _bare(w) in _AUXILIARIES:
            rest = words[i + 1 :]
            if rest and _bare(rest[0]) in _ADVERBS:
                rest = rest[1:]  # "is not simply X" would still say X
            return " ".join([*words[: i + 1], cue, *rest])
    if article:
        for i, w in enumerate(words[:main]):
            if i and _bare(w) in ("a", "an", "the"):
                return " ".join([*words[:i], "no", *words[i + 1 :]])
    for i, w in enumerate(words[1:main], 1):
        bare = _bare(w)
        if bare in PARAMS.function_words or not w.islower():
            continue
        if len(bare) > 3 and bare.endswith("s") and not bare.endswith("ss"):
            if cue == "not":
                base = bare[:-2] if bare.endswith(("ches", "shes", "sses", "xes")) else bare[:-1]
                return " ".join([*words[:i], "does not", w.replace(bare, base), *words[i + 1 :]])
            return " ".join([*words[:i], "never", *words[i:]])
    return f"It is false that {_lower_first(sentence)}"


def negated_verbs(question: Question) -> str:
    """The reference answer with the main verb of each sentence negated ("is not", "does not")."""
    return " ".join(_negate(s, "not") for s in _sentences(question))


def negated_never(question: Question) -> str:
    """The reference answer with "never" put to each sentence's main verb, or its first "a" or
    "the" made "no" ("uses a mask" -> "uses no mask")."""
    return " ".join(_negate(s, "never", article=True) for s in _sentences(question))


NEGATED_STYLES = {
    "prefix": negated_prefix,
    "verbs": negated_verbs,
    "never-no": negated_never,
}
