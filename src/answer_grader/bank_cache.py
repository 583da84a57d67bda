"""Rubrics already validated, remembered across processes in the data folder.

Validating a rubric (YAML parsing, the JSON Schema walk, the models, the bank's own rules) is
most of what loading a bank costs: 0.7 s for the 23 questions, in every command. A rubric that
passed is stored under a key made of its file's label, name and bytes and of the validation
itself (the schema and the code that applies it), so any change to the file, the schema or that
code means validating again, and a rubric with problems is never stored: it is checked, and its
problems reported, every time. `grader check` does not use it: it validates everything afresh.
"""

from __future__ import annotations

import hashlib
import json
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .models import Rubric

FILE = "validated-rubrics.json"
MAX_ENTRIES = 2000  # a few banks' worth of edits; beyond it the store starts over


@lru_cache(maxsize=1)
def _validation_digest() -> bytes:
    """What validation depends on: the schema, and the modules that read and check rubrics."""
    h = hashlib.sha256()
    package = resources.files("answer_grader")
    for name in ("schemas/rubric.schema.json", "bank.py", "models.py", "keywords.py"):
        h.update(package.joinpath(name).read_bytes())
    return h.digest()


def key(label: str, stem: str, content: bytes) -> str:
    h = hashlib.sha256(_validation_digest())
    for part in (label.encode(), stem.encode(), content):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def _read(path: Path | None) -> dict[str, dict]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):  # none yet, or damaged: it is only a cache
        return {}
    return data if isinstance(data, dict) else {}


class ValidatedRubrics:
    """The store: a JSON file of key -> rubric in `folder` (None: kept in memory only), read
    once, written atomically when it grows; and, read-only, those `shipped` with the bank."""

    def __init__(self, folder: Path | None, shipped: Path | None = None) -> None:
        self.path = folder / FILE if folder is not None else None
        self._shipped_path = shipped
        self._shipped: dict[str, dict] | None = None
        self._lock = threading.Lock()
        self._entries: dict[str, dict] | None = None
        self._dirty = False

    def _load(self) -> dict[str, dict]:
        if self._entries is None:
            self._entries = _read(self.path)
        return self._entries

    def get(self, k: str) -> Rubric | None:
        with self._lock:
            if self._shipped is None:
                self._shipped = _read(self._shipped_path)
            data = self._shipped.get(k)
            if data is None:
                data = self._load().get(k)
        if data is None:
            return None
        try:
            return Rubric.model_validate(data)
        except ValueError:  # written by another version of the models
            return None

    def put(self, k: str, rubric: Rubric) -> None:
        with self._lock:
            entries = self._load()
            if len(entries) >= MAX_ENTRIES:
                entries.clear()
            entries[k] = rubric.model_dump(mode="json")
            self._dirty = True

    def save(self) -> None:
        """Write the new entries; a data folder that cannot be written only costs time."""
        from .errors import GraderError
        from .files import write_atomic

        with self._lock:
            if not self._dirty or self._entries is None or self.path is None:
                return
            try:
                write_atomic(self.path, json.dumps(self._entries))
                self._dirty = False
            except GraderError:
                pass
