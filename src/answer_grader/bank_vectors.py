"""The bank's vectors, shipped with it: every text the offline grader embeds for a bank's
questions (each point, the reference sentence that carries it, its keyword list, the
misconceptions and their corrections, the question, the distractors) computed once and kept in
the bank's `vectors/` folder, so a first run on a new machine embeds only the answers.

`grader check --write-vectors` builds the file; `grader check` fails when it is stale (a text of
the bank without its vector, a vector no text needs, or another model), naming that command. A
bank without the file (one made with `grader new`) embeds its texts on first use and keeps them in
the data folder's store, as before.

The file (`vectors/all-MiniLM-L6-v2.npz`, numpy's uncompressed zip): `keys`, the sha256 of model
and text (as the embedding store keys them; N x 32 bytes), `vectors`, float32 rows (the model's
own output, so grades are the same with or without it), and `manifest`, JSON naming the model
file, its package and version, and the model file's sha256.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .models import Question

FOLDER = "vectors"
FILE = "all-MiniLM-L6-v2.npz"
REBUILD = "grader check --write-vectors"


def path_for(root: Path) -> Path:
    return Path(root) / FOLDER / FILE


def bank_texts(questions: Sequence[Question]) -> list[str]:
    """Every text the offline grader embeds for these questions, whatever the answer."""
    from .signals import _texts_to_embed

    return sorted({t for q in questions for t in _texts_to_embed(q)})


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


def build(root: Path, questions: Sequence[Question]) -> tuple[Path, int]:
    """Embed the bank's texts with the shipped model and write the file (atomically); its path
    and the number of texts. The texts are embedded without any stored or shipped vector."""
    import os
    import tempfile

    import numpy as np

    from .semantic import MiniLM

    texts = bank_texts(questions)
    vectors = MiniLM(shipped=False).embed(texts) if texts else np.zeros((0, 384), np.float32)
    # Raw bytes in a uint8 array: numpy's bytes dtype would drop a digest's trailing zero bytes.
    keys = np.frombuffer(b"".join(text_key(t) for t in texts), dtype=np.uint8).reshape(-1, 32)
    manifest = json.dumps({**model_manifest(with_digest=True), "texts": len(texts)}, sort_keys=True)
    path = path_for(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".vectors.", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, keys=keys, vectors=vectors.astype(np.float32), manifest=np.array(manifest))
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would ship in the wheel
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path, len(texts)


def read(path: Path) -> tuple[dict[str, Any], Any, Any]:
    """(manifest, keys, vectors) of a vectors file. Raises ValueError for one that is not."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            manifest = json.loads(str(data["manifest"]))
            keys, vectors = data["keys"], data["vectors"]
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"{path}: not a vectors file ({exc})") from exc
    if len(keys) != len(vectors):
        raise ValueError(f"{path}: {len(keys)} keys for {len(vectors)} vectors")
    return manifest, keys, vectors


def problems(root: Path, questions: Sequence[Question]) -> list[str]:
    """Why the bank's vectors file does not match the bank and the model (empty when it does, or
    when the bank has no such file)."""
    path = path_for(root)
    if not path.exists():
        return []
    shown = f"{FOLDER}/{FILE}"
    try:
        manifest, keys, _ = read(path)
    except ValueError as exc:
        return [f"{exc}; rebuild it: {REBUILD}"]
    model = model_manifest(with_digest=True)
    if any(manifest.get(k) != v for k, v in model.items()):
        return [
            f"{shown} was built with {manifest.get('package')} {manifest.get('version')} "
            f"(sha256 {str(manifest.get('sha256'))[:12]}), not the installed {model['package']} "
            f"{model['version']} (sha256 {model['sha256'][:12]}); rebuild it: {REBUILD}"
        ]
    texts = bank_texts(questions)
    wanted = {text_key(t): t for t in texts}
    have = {k.tobytes() for k in keys}
    missing = [t for k, t in wanted.items() if k not in have]
    extra = len(have - set(wanted))
    out = []
    if missing:
        out.append(
            f"{shown} is stale: {len(missing)} of the bank's {len(texts)} texts have no vector "
            f"(first: {missing[0][:60]!r}); rebuild it: {REBUILD}"
        )
    if extra:
        out.append(
            f"{shown} is stale: {extra} vectors for texts the bank no longer has; rebuild it: {REBUILD}"
        )
    return out
