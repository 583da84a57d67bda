"""What is computed from a bank once and shipped with it, in its `prebuilt/` folder, so that a
first run on a new machine does only the work its answers need:

  all-MiniLM-L6-v2.npz  the vectors of every text the offline grader embeds for the bank's
                        questions (each point, the reference sentence that carries it, its keyword
                        list, the misconceptions and corrections, the question, the distractors);
  rubrics.json          the bank's rubrics, validated (YAML, JSON Schema, models, the bank's
                        rules), keyed as `bank_cache` keys them: by file and by validation code;
  sentences.json        the reference answers and questions split into sentences, keyed by the
                        splitter's version (`text.split_key`).

Each is keyed by what it was computed from, so an edited rubric, another model or a change to the
code that validates or splits simply misses, and the work is done at run time as before: a stale
file can cost time, never a wrong grade. `grader check --prebuild` writes them; `grader check`
fails when they are stale, naming that command, so CI keeps them current. A bank without the
folder (one made with `grader new`) is graded all the same, its vectors kept in the data folder.

The vectors file (numpy's uncompressed zip): `keys`, the sha256 of model and text (as the
embedding store keys them; N x 32 bytes), `vectors`, float32 rows (the model's own output, so
grades are the same with or without it), and `manifest`, JSON naming the model file, its package
and version, and the model file's sha256.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .models import Question

FOLDER = "prebuilt"
VECTORS = "all-MiniLM-L6-v2.npz"
RUBRICS = "rubrics.json"
SENTENCES = "sentences.json"
REBUILD = "grader check --prebuild"


def folder(root: Path) -> Path:
    return Path(root) / FOLDER


def register(root: Path) -> None:
    """Let this process use the bank's prebuilt files (each read when first needed)."""
    where = folder(root)
    if not where.is_dir():
        return
    from .semantic import use_shipped_vectors
    from .text import use_shipped_sentences

    if (where / VECTORS).is_file():
        use_shipped_vectors(where / VECTORS)
    if (where / SENTENCES).is_file():
        use_shipped_sentences(where / SENTENCES)


def shipped_rubrics(root: Path) -> Path | None:
    path = folder(root) / RUBRICS
    return path if path.is_file() else None


# -- what the bank needs ---------------------------------------------------------------------


def bank_texts(questions: Sequence[Question]) -> list[str]:
    """Every text the offline grader embeds for these questions, whatever the answer."""
    from .signals import _texts_to_embed

    return sorted({t for q in questions for t in _texts_to_embed(q)})


def split_texts(questions: Sequence[Question]) -> list[str]:
    """The bank's texts the grader splits into sentences: reference answers and questions."""
    return sorted({t for q in questions for t in (q.reference_answer, q.text)})


def rubric_entries(questions: Sequence[Question]) -> dict[str, Any]:
    """Each question's rubric, keyed as a validated rubric is (by its file's bytes)."""
    from .bank_cache import key

    out = {}
    for q in questions:
        path = Path(q.rubric_path)
        out[key(f"rubrics/{path.name}", path.stem, path.read_bytes())] = q.rubric.model_dump(mode="json")
    return out


def text_key(text: str) -> bytes:
    """The key of a text's vector: as `semantic.EmbeddingStore` keys it, as raw bytes."""
    from .semantic import MODEL_FILE

    return hashlib.sha256(f"{MODEL_FILE}\0{text}".encode()).digest()


def model_manifest(*, with_digest: bool) -> dict[str, Any]:
    """What identifies the model: its file, package and version, and (costing a read of the
    file, so only for building and checking) the file's sha256."""
    from importlib import metadata

    from .semantic import MODEL_DIST, MODEL_FILE, _locate

    out: dict[str, Any] = {
        "model_file": MODEL_FILE,
        "package": MODEL_DIST,
        "version": metadata.version(MODEL_DIST),
    }
    if with_digest:
        out["sha256"] = hashlib.sha256(Path(_locate(MODEL_DIST, MODEL_FILE)).read_bytes()).hexdigest()
    return out


# -- building ---------------------------------------------------------------------------------


def _write(path: Path, data: bytes) -> None:
    """Atomically, and readable by all: it ships in the wheel."""
    from .files import make_dirs, write_atomic

    make_dirs(path.parent)
    write_atomic(path, data, mode=0o644)


def _dumps(data: Any) -> bytes:
    return (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def build(root: Path, questions: Sequence[Question]) -> dict[str, int]:
    """Compute the three files afresh (nothing read from a shipped file or a store) and write
    them; how many entries each holds."""
    import numpy as np

    from .semantic import MiniLM
    from .text import _split, split_key

    texts = bank_texts(questions)
    vectors = MiniLM(shipped=False).embed(texts) if texts else np.zeros((0, 384), np.float32)
    # Raw bytes in a uint8 array: numpy's bytes dtype would drop a digest's trailing zero bytes.
    keys = np.frombuffer(b"".join(text_key(t) for t in texts), dtype=np.uint8).reshape(-1, 32)
    manifest = json.dumps({**model_manifest(with_digest=True), "texts": len(texts)}, sort_keys=True)
    where = folder(root)
    buffer = io.BytesIO()
    np.savez(buffer, keys=keys, vectors=vectors.astype(np.float32), manifest=np.array(manifest))
    _write(where / VECTORS, buffer.getvalue())
    sentences = {split_key(t): [[s.text, s.line] for s in _split(t)] for t in split_texts(questions)}
    _write(where / SENTENCES, _dumps(sentences))
    rubrics = rubric_entries(questions)
    _write(where / RUBRICS, _dumps(rubrics))
    return {"vectors": len(texts), "sentences": len(sentences), "rubrics": len(rubrics)}


# -- checking ---------------------------------------------------------------------------------


def read_vectors(path: Path) -> tuple[dict[str, Any], Any, Any]:
    """(manifest, keys, vectors) of a vectors file. Raises ValueError for one that is not."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            manifest = json.loads(str(data["manifest"]))
            keys, vectors = data["keys"], data["vectors"]
    except Exception as exc:  # a truncated zip is zipfile.BadZipFile, neither OSError nor ValueError
        raise ValueError(f"{path}: not a vectors file ({type(exc).__name__}: {exc})") from exc
    if keys.ndim != 2 or keys.shape[1:] != (32,) or vectors.ndim != 2 or len(keys) != len(vectors):
        raise ValueError(f"{path}: {len(keys)} keys for {len(vectors)} vectors, or not their shape")
    return manifest, keys, vectors


def _stale(name: str, wanted: dict[bytes | str, str], have: set[Any], what: str) -> list[str]:
    missing = [t for k, t in wanted.items() if k not in have]
    extra = len(have - set(wanted))
    shown = f"{FOLDER}/{name}"
    out = []
    if missing:
        out.append(
            f"{shown} is stale: {len(missing)} of the bank's {len(wanted)} {what} are not in it "
            f"(first: {missing[0][:60]!r}); rebuild it: {REBUILD}"
        )
    if extra:
        out.append(f"{shown} is stale: {extra} entries the bank no longer needs; rebuild it: {REBUILD}")
    return out


def problems(root: Path, questions: Sequence[Question]) -> list[str]:
    """Why the bank's prebuilt files do not match the bank, the model and the code (empty when
    they do, or when the bank has no prebuilt folder)."""
    where = folder(root)
    if not where.is_dir():
        return []
    out: list[str] = []
    missing = [n for n in (VECTORS, RUBRICS, SENTENCES) if not (where / n).is_file()]
    if missing:
        return [f"{FOLDER}/ lacks {', '.join(missing)}; rebuild it: {REBUILD}"]
    try:
        manifest, keys, _ = read_vectors(where / VECTORS)
    except ValueError as exc:
        return [f"{exc}; rebuild it: {REBUILD}"]
    model = model_manifest(with_digest=True)
    if any(manifest.get(k) != v for k, v in model.items()):
        out.append(
            f"{FOLDER}/{VECTORS} was built with {manifest.get('package')} {manifest.get('version')} "
            f"(sha256 {str(manifest.get('sha256'))[:12]}), not the installed {model['package']} "
            f"{model['version']} (sha256 {model['sha256'][:12]}); rebuild it: {REBUILD}"
        )
    else:
        wanted_vectors: dict[bytes | str, str] = {text_key(t): t for t in bank_texts(questions)}
        out += _stale(VECTORS, wanted_vectors, {k.tobytes() for k in keys}, "texts")
    from .text import _split, split_key

    try:
        sentences = json.loads((where / SENTENCES).read_text("utf-8"))
        rubrics = json.loads((where / RUBRICS).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        return [*out, f"{FOLDER}/: unreadable ({exc}); rebuild it: {REBUILD}"]
    wanted_splits: dict[bytes | str, str] = {split_key(t): t for t in split_texts(questions)}
    out += _stale(SENTENCES, wanted_splits, set(sentences), "texts to split")
    for k, t in wanted_splits.items():  # the same key must mean the same split
        if k in sentences and [[s.text, s.line] for s in _split(t)] != sentences[k]:
            out.append(f"{FOLDER}/{SENTENCES} splits {t[:40]!r} otherwise; rebuild it: {REBUILD}")
            break
    entries = rubric_entries(questions)
    wanted_rubrics: dict[bytes | str, str] = {k: v["id"] for k, v in entries.items()}
    out += _stale(RUBRICS, wanted_rubrics, set(rubrics), "rubrics")
    return out
