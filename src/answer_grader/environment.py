"""What a run of grader is given from outside, in one object (httpie's `Environment`): environment
variables, the three standard streams and whether each is a terminal, the terminal's width, and
the embedding model. Every setting and path that depends on them (data folder, bank folder,
grading settings, history, cache, colour) is resolved here and nowhere else.

The CLI builds one per process from the real ones; a program or a test builds its own
(`Environment(vars={"GRADER_HOME": ...}, stdout_isatty=True, columns=80, embedder=fake)`) instead
of patching os.environ or module globals.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # the heavy modules stay out of `grader --help`
    from .cache import GradeCache
    from .config import Settings
    from .grading import Grader
    from .history import History
    from .semantic import Embedder

HOME_ENV = "GRADER_HOME"
BANK_ENV = "GRADER_BANK"
# "module:Class", an embedder to use instead of the shipped model: the test suite's deterministic
# fake (answer_grader.testing:FakeEmbedder) in the processes it starts, or a model being tried
# out. Grades made with it are cached under its own name, never mixed with the shipped model's.
EMBEDDER_ENV = "GRADER_EMBEDDER"
DEFAULT_WIDTH = 100  # when there is no terminal to measure (a pipe, a file, CI)
MAX_WIDTH = 120  # longer lines are hard to read, whatever the terminal


def _isatty(stream: IO[str] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):  # a closed stream
        return False


@dataclass
class Environment:
    """Everything grader reads from its surroundings. Unset fields are taken from the process."""

    vars: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    stdin: IO[str] | None = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin_isatty: bool | None = None
    stdout_isatty: bool | None = None
    stderr_isatty: bool | None = None
    columns: int | None = None  # the terminal's width; None: $COLUMNS, else measured
    embedder: Embedder | None = None  # None: the shipped model, its vectors in the data folder
    _lazy: _Lazy | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.stdin_isatty is None:
            self.stdin_isatty = _isatty(self.stdin)
        if self.stdout_isatty is None:
            self.stdout_isatty = _isatty(self.stdout)
        if self.stderr_isatty is None:
            self.stderr_isatty = _isatty(self.stderr)

    # -- the terminal --

    @property
    def width(self) -> int:
        """The width to render for: the terminal's, between 40 and MAX_WIDTH; DEFAULT_WIDTH when
        stdout is not a terminal ($COLUMNS, as in shutil, comes first: a user may set it)."""
        columns = self.columns
        if columns is None:
            columns = _int(self.vars.get("COLUMNS"))
        if columns is None and self.stdout_isatty:
            try:
                columns = os.get_terminal_size(self.stdout.fileno()).columns
            except (OSError, ValueError, AttributeError):
                columns = None
        if columns is None or columns <= 0:
            columns = DEFAULT_WIDTH
        return max(40, min(MAX_WIDTH, columns))

    @property
    def color(self) -> bool:
        """Colour on stdout: a terminal, NO_COLOR unset (https://no-color.org), TERM not dumb."""
        plain = self.vars.get("NO_COLOR") or self.vars.get("TERM") == "dumb"
        return bool(self.stdout_isatty) and not plain

    @property
    def debug(self) -> bool:
        """GRADER_DEBUG: show a traceback for an internal error instead of one line."""
        return bool(self.vars.get("GRADER_DEBUG"))

    @property
    def secrets(self) -> list[str]:
        """The configured secrets, redacted from every line grader prints."""
        from .scrub import url_secrets

        key = self.vars.get("OPENAI_API_KEY")
        return ([key] if key else []) + url_secrets(self.vars.get("OPENAI_BASE_URL"))

    # -- paths --

    @property
    def data_dir(self) -> Path:
        """Where grader keeps its data (grade cache, practice history, embedding vectors):
        $GRADER_HOME, else the platform's user data directory. Created on first use."""
        home = self.vars.get(HOME_ENV)
        if home:
            path = Path(home)
        else:
            import platformdirs

            path = Path(platformdirs.user_data_dir("answer-grader", appauthor=False))
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            from .errors import StoreError

            raise StoreError(f"cannot use {path} as grader's data directory: {exc.strerror}") from exc
        return path

    def bank_dir(self, explicit: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
        """Where the bank is, and what said so: --bank, then $GRADER_BANK, then the packaged bank."""
        from .bank import default_bank_dir
        from .errors import BankNotFound

        if explicit:
            path, source = Path(explicit), "--bank"
        elif self.vars.get(BANK_ENV):
            path, source = Path(self.vars[BANK_ENV]), BANK_ENV
        else:
            path, source = default_bank_dir()
        if not (path / "rubrics").is_dir():
            raise BankNotFound(str(path), source)
        return path, source

    # -- what is built from them --

    def settings(self, **flags: Any) -> Settings:
        """Grading settings: flags (backend, model, base_url, timeout), then these variables."""
        from .config import resolve_settings

        return resolve_settings(**flags, env=self.vars)

    def history(self) -> History:
        from .history import History

        return History(self.data_dir / "history.db")

    def cache(self) -> GradeCache:
        from .cache import GradeCache

        return GradeCache(self.data_dir / "grades.db")

    def get_embedder(self) -> Embedder:
        """The injected embedder, else the shipped model with its vectors kept in the data folder
        (or in memory only, when that folder cannot be used)."""
        if self.embedder is None and self.vars.get(EMBEDDER_ENV):
            self.embedder = _load_embedder(self.vars[EMBEDDER_ENV])
        if self.embedder is None:
            from .errors import GraderError
            from .semantic import default_embedder

            try:
                store_dir: Path | None = self.data_dir
            except GraderError:
                store_dir = None
            self.embedder = default_embedder(store_dir)
        return self.embedder

    def grader(self, settings: Settings, on_status: Callable[[str], None] | None = None) -> Grader:
        """The grader `settings` ask for, with this environment's embedder (loaded on first use)."""
        from .grading import grader_for

        if self._lazy is None:
            self._lazy = _Lazy(self)
        return grader_for(settings, embedder=self._lazy, on_status=on_status)


class _Lazy:
    """The environment's embedder, loaded when something is first embedded: building a grader that
    never grades (a cached sheet, an answer refused as too long) does not load the model."""

    def __init__(self, env: Environment) -> None:
        self._env = env

    @property
    def name(self) -> str:
        if self._env.embedder is None and not self._env.vars.get(EMBEDDER_ENV):
            from .semantic import MODEL_NAME

            return MODEL_NAME  # known without loading the model
        return self._env.get_embedder().name

    def embed(self, texts: Any) -> Any:
        return self._env.get_embedder().embed(texts)

    def preload(self) -> None:
        """Load the embedder and its model ahead of the first text (the shipped model can)."""
        inner = self._env.get_embedder()
        if hasattr(inner, "preload"):
            inner.preload()

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._env.get_embedder(), attr)


def _load_embedder(spec: str) -> Embedder:
    """An instance of the class `spec` ("module:Class") names; ConfigError if it cannot be had."""
    import importlib

    from .errors import ConfigError

    module, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"{EMBEDDER_ENV}={spec!r}: cannot load it ({exc})") from exc
    return factory()  # what goes wrong inside it (Ctrl-C during an import) is its own


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
