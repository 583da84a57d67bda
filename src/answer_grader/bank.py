"""Find, load and validate the question bank: rubrics/<id>.yaml beside reference_answers/<id>.md."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import Problem, QuestionNotFound, RubricError
from .models import Question, Rubric

if TYPE_CHECKING:
    from .bank_cache import ValidatedRubrics
    from .environment import Environment

RUBRIC_SUFFIXES = (".yaml", ".yml", ".json")


def default_bank_dir() -> tuple[Path, str]:
    """The bank shipped with the package, or, in a source checkout, the repository's own."""
    packaged = Path(str(resources.files("answer_grader"))) / "bank"
    if (packaged / "rubrics").is_dir():
        return packaged, "the installed package"
    # An editable install runs from src/; the bank then lives at the top of the checkout.
    checkout = Path(__file__).resolve().parents[2]
    return checkout, "the source checkout"


@lru_cache(maxsize=1)
def rubric_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every rubric file must satisfy."""
    text = resources.files("answer_grader").joinpath("schemas/rubric.schema.json").read_text("utf-8")
    return json.loads(text)


# -- parsing -------------------------------------------------------------------------------------


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int):
        self.key, self.line = key, line


def _yaml_loader():  # type: ignore[no-untyped-def]
    import yaml

    # libyaml's loader when PyYAML was built with it: several times faster than the pure-Python one.
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class UniqueKeyLoader(base):  # type: ignore[misc, valid-type]
        """Safe loader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

        def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise _DuplicateKey(str(key), key_node.start_mark.line + 1)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def format_path(parts: list[str | int] | tuple[str | int, ...]) -> str:
    """["key_points", 2, "weight"] -> "key_points[2].weight"."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _parse(path: Path, label: str) -> tuple[Any, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(label, "", f"not valid UTF-8 (byte {exc.start})")]
    except OSError as exc:
        return None, [Problem(label, "", f"cannot read: {exc.strerror}")]
    if path.suffix == ".json":
        try:
            return json.loads(text), []
        except json.JSONDecodeError as exc:
            return None, [Problem(label, f"line {exc.lineno}", f"JSON syntax error: {exc.msg}")]
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader()), []
    except _DuplicateKey as exc:
        return None, [Problem(label, f"line {exc.line}", f"duplicate key {exc.key!r}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [Problem(label, where, f"YAML syntax error: {problem}")]


def _schema_problems(data: Any, label: str) -> list[Problem]:
    from jsonschema import Draft202012Validator

    problems = []
    validator = Draft202012Validator(rubric_schema())
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = list(err.absolute_path)
        message = err.message
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = set(err.schema.get("properties", {}))
            for name in sorted(set(err.instance) - allowed):
                problems.append(Problem(label, format_path([*path, name]), "unknown field"))
            continue
        if err.validator == "required":
            missing = re.match(r"'([^']+)' is a required property", err.message)
            if missing:
                path.append(missing.group(1))
                message = "required field is missing"
        elif err.validator == "oneOf":
            message = f"{err.instance!r} must be a term (a string) or a mapping {{regex: ...}}"
        elif err.validator == "type":
            message = f"{err.instance!r} is not of type {err.validator_value!r}"
        if isinstance(err.instance, bool) and err.validator in ("oneOf", "type"):
            message += " (quote it: YAML reads yes/no/on/off/true/false as booleans)"
        problems.append(Problem(label, format_path(path) or "(top level)", message))
    return problems


def _semantic_problems(rubric: Rubric, label: str, stem: str) -> list[Problem]:
    """What the schema cannot say: file name = id, unique point ids, regexes that compile and
    do not backtrack catastrophically."""
    import regex

    from .keywords import CHECK_TIMEOUT, slow_pattern

    problems = []
    if rubric.id != stem:
        problems.append(Problem(label, "id", f"{rubric.id!r} differs from the file name {stem!r}"))
    counts = Counter(p.id for p in rubric.key_points)
    for i, m in enumerate(rubric.misconceptions):
        if m.point is not None and m.point not in counts:
            problems.append(
                Problem(
                    label,
                    f"misconceptions[{i}].point",
                    f"{m.point!r} is not a key point of this rubric; key points: {', '.join(counts)}",
                )
            )
    for i, point in enumerate(rubric.key_points):
        if counts[point.id] > 1:
            problems.append(Problem(label, f"key_points[{i}].id", f"duplicate id {point.id!r}"))
        terms = [
            (f"key_points[{i}].keywords[{g}][{t}]", term)
            for g, group in enumerate(point.keywords)
            for t, term in enumerate(group)
        ]
        terms += [(f"key_points[{i}].contradicts[{t}]", x) for t, x in enumerate(point.contradicts)]
        for where, term in terms:
            if isinstance(term, str):
                if not re.search(r"[A-Za-z0-9]", term):
                    problems.append(Problem(label, where, "term has no letter or digit"))
                continue
            where = f"{where}.regex"
            try:
                slow = slow_pattern(term.regex)
            except regex.error as exc:
                problems.append(Problem(label, where, f"invalid regular expression: {exc}"))
                continue
            if slow:
                problems.append(
                    Problem(
                        label,
                        where,
                        f"/{term.regex}/ backtracks catastrophically (it ran over "
                        f"{CHECK_TIMEOUT:g} s on {48} repeated letters); rewrite it without "
                        "nested or overlapping repetition, e.g. (a|aa)+ as a+",
                    )
                )
    return problems


# Valid rubrics by (label, file name, content): a program or a test that loads the same bank many
# times validates each file once (the JSON Schema walk is most of the cost of loading a bank). A
# changed file has another digest; a file with problems is checked again every time.
_VALID: dict[tuple[str, str, bytes], Rubric] = {}


def load_rubric(
    path: Path, label: str | None = None, store: ValidatedRubrics | None = None
) -> tuple[Rubric | None, list[Problem]]:
    """Parse and validate one rubric file; the rubric is None when it has problems. `store`
    remembers rubrics that passed, across processes (`bank_cache`)."""

    label = label or str(path)
    try:
        content = path.read_bytes()
        key: tuple[str, str, bytes] | None = (label, path.stem, hashlib.sha256(content).digest())
    except OSError:
        key = None  # _parse reports it
    if key is not None and key in _VALID:
        return _VALID[key], []
    stored_key = None
    if key is not None and store is not None:
        from .bank_cache import key as store_key

        stored_key = store_key(label, path.stem, content)
        if (rubric := store.get(stored_key)) is not None:
            _VALID[key] = rubric
            return rubric, []
    data, problems = _parse(path, label)
    if problems:
        return None, problems
    rubric, problems = validate_rubric(data, label, path.stem)
    if rubric is not None and key is not None:
        if len(_VALID) > 4096:
            _VALID.clear()
        _VALID[key] = rubric
        if store is not None and stored_key is not None:
            store.put(stored_key, rubric)
    return rubric, problems


def validate_rubric(data: Any, label: str, stem: str) -> tuple[Rubric | None, list[Problem]]:
    """A rubric's data checked by the bank's rules (the JSON Schema, the models, then what the
    schema cannot say); the rubric is None when it has problems."""
    from pydantic import ValidationError

    problems = _schema_problems(data, label)
    if problems:
        return None, problems
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as exc:  # the schema and the models should agree; report if they don't
        return None, [Problem(label, format_path(e["loc"]), e["msg"]) for e in exc.errors()]
    problems = _semantic_problems(rubric, label, stem)
    return (None if problems else rubric), problems


# -- the bank ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bank:
    """The questions of a bank, in question-list order."""

    root: Path
    source: str
    questions: tuple[Question, ...]

    def get(self, query: str | int) -> Question:
        """A question by number, id, or unambiguous id prefix."""
        text = str(query).strip()
        for q in self.questions:
            if text == q.id or (text.isdigit() and int(text) == q.number):
                return q
        prefixed = [q for q in self.questions if q.id.startswith(text.lower())] if text else []
        if len(prefixed) == 1:
            return prefixed[0]
        ids = [q.id for q in self.questions]
        close = difflib.get_close_matches(text.lower(), ids, n=3, cutoff=0.5)
        near = close or [i for i in ids if text.lower() in i][:3] or [q.id for q in prefixed][:3]
        raise QuestionNotFound(text, near)

    def select(self, queries: list[str]) -> list[Question]:
        return [self.get(q) for q in queries]

    @property
    def topics(self) -> list[str]:
        return sorted({t for q in self.questions for t in q.rubric.topics})


def scan_bank(
    root: Path, source: str = "", store: ValidatedRubrics | None = None
) -> tuple[list[Question], list[Problem]]:
    """Load every question of the bank at `root`, collecting all problems, not just the first;
    rubrics found in `store` were validated by an earlier process."""
    rubric_dir = root / "rubrics"
    answer_dir = root / "reference_answers"
    problems: list[Problem] = []
    rubrics: list[tuple[Rubric, Path]] = []
    files = sorted(p for p in rubric_dir.iterdir() if p.suffix in RUBRIC_SUFFIXES and p.is_file())
    if not files:
        problems.append(Problem("rubrics/", "", "no rubric files (*.yaml, *.yml, *.json)"))
    for path in files:
        rubric, found = load_rubric(path, f"rubrics/{path.name}", store)
        problems += found
        if rubric is not None:
            rubrics.append((rubric, path))

    by_id = Counter(r.id for r, _ in rubrics)
    for rubric, path in rubrics:
        if by_id[rubric.id] > 1:
            problems.append(Problem(f"rubrics/{path.name}", "id", f"duplicate id {rubric.id!r}"))
    by_number = Counter(r.number for r, _ in rubrics)
    for rubric, path in rubrics:
        if by_number[rubric.number] > 1:
            msg = f"number {rubric.number} is used by {by_number[rubric.number]} rubrics"
            problems.append(Problem(f"rubrics/{path.name}", "number", msg))
    if rubrics and len(rubrics) == len(files):
        expected = set(range(1, len(rubrics) + 1))
        gaps = sorted(expected - set(by_number))
        if gaps:
            msg = f"numbers must run 1..{len(rubrics)} without gaps; missing {gaps}"
            problems.append(Problem("rubrics/", "number", msg))

    questions: list[Question] = []
    stems = {path.stem for path in files}
    for rubric, path in rubrics:
        ref = answer_dir / f"{path.stem}.md"
        ref_label = f"reference_answers/{ref.name}"
        if not ref.is_file():
            problems.append(Problem(f"rubrics/{path.name}", "", f"missing reference answer {ref_label}"))
            continue
        try:
            answer = ref.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            problems.append(Problem(ref_label, "", f"not valid UTF-8 (byte {exc.start})"))
            continue
        if not answer.strip():
            problems.append(Problem(ref_label, "", "the reference answer is empty"))
            continue
        questions.append(
            Question(
                rubric=rubric,
                reference_answer=answer,
                rubric_path=str(path),
                reference_path=str(ref),
            )
        )
    if answer_dir.is_dir():
        for md in sorted(answer_dir.glob("*.md")):
            if md.stem not in stems:
                msg = f"orphaned: no rubrics/{md.stem}.yaml"
                problems.append(Problem(f"reference_answers/{md.name}", "", msg))
    questions.sort(key=lambda q: q.number)
    return questions, problems


def _validated_store(env: Environment, root: Path) -> ValidatedRubrics:
    """The store of validated rubrics: those shipped with the bank (`prebuilt`), and those of the
    data folder (none when there is no usable folder)."""
    from .bank_cache import ValidatedRubrics
    from .errors import GraderError
    from .prebuilt import shipped_rubrics

    try:
        data: Path | None = env.data_dir
    except GraderError:
        data = None
    return ValidatedRubrics(data, shipped=shipped_rubrics(root))


def load_bank(explicit: str | os.PathLike[str] | None = None, env: Environment | None = None) -> Bank:
    """Load the bank in `explicit`, else the one `env` names ($GRADER_BANK, else the packaged
    bank); RubricError lists problems."""
    from .environment import Environment

    env = env or Environment()
    root, source = env.bank_dir(explicit)
    store = _validated_store(env, root)
    questions, problems = scan_bank(root, source, store)
    store.save()
    if problems:
        raise RubricError(problems)
    from .prebuilt import register

    register(root)  # what was computed from the bank once and shipped with it
    return Bank(root=root, source=source, questions=tuple(questions))
