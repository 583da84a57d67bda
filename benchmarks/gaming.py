"""What answers built to game the offline grader score, over every question of the bank.

    python benchmarks/gaming.py

Each strategy (answer_grader.gaming, plus the question pasted back and an off-topic recipe) is
graded against all questions; the mean and the worst score are printed, with the reference answers
for contrast. These are the figures the README quotes; the tests in tests/test_grading_offline.py
hold each of them under a bound.
"""

from __future__ import annotations

import time

from answer_grader import gaming
from answer_grader.bank import load_bank
from answer_grader.config import resolve_settings
from answer_grader.grading import grader_for

RECIPE = (
    "Preheat the oven to 180 degrees. Cream the butter and sugar, then beat in two eggs. "
    "Fold in the flour and a pinch of salt, pour the batter into a tin and bake for 35 minutes "
    "until a skewer comes out clean. Let it cool before slicing."
)
STRATEGIES = {
    "reference answer": lambda q: q.reference_answer,
    "keywords as a list": gaming.keyword_list,
    "one line of keywords per point": gaming.keyword_lines,
    "keywords strung into filler prose": gaming.keyword_prose,
    "terse notes": gaming.keyword_fragments,
    "off-topic sentences with the keywords": gaming.off_topic_with_keywords,
    "one sentence naming a keyword per point": gaming.keyword_sentence,
    'reference, "It is not true that ..."': gaming.negated_prefix,
    "reference, main verbs negated": gaming.negated_verbs,
    'reference, "never" / "no"': gaming.negated_never,
    "the question pasted back": lambda q: q.text,
    "a cooking recipe": lambda q: RECIPE,
}


def main() -> None:
    start = time.perf_counter()
    questions = load_bank().questions
    grader = grader_for(resolve_settings(backend="offline", env={}))
    print(f"{'strategy':40} {'mean':>6} {'worst':>6}   (over {len(questions)} questions)")
    for name, build in STRATEGIES.items():
        scores = [grader.grade(q, build(q)).score for q in questions]
        worst = min(scores) if name == "reference answer" else max(scores)
        print(f"{name:40} {sum(scores) / len(scores):6.1f} {worst:6.1f}")
    print(f"({time.perf_counter() - start:.1f} s; worst is the lowest for the references)")


if __name__ == "__main__":
    main()
