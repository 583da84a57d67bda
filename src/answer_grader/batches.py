"""Batch grading for cohorts: every judge request of a run in one batch file, graded later.

Three routes, one format (OpenAI's Batch API input: one JSON line per request, with `custom_id`,
`method`, `url` /v1/chat/completions and the request `body`; vLLM's `run_batch` reads the same
file and writes the same output):

  submit   upload the file (Files API), create the batch (Batches API), save its id in the data
           folder, poll until it ends, then grade from its output file;
  write    only write the file (`--batch-file`), to run anywhere;
  read     grade from an output file produced elsewhere (`--batch-results`).

Each request is the judge's first request of a direct run (json_schema, strict, temperature 0,
seed), and its `custom_id` is derived from the question's id and the request body's hash: the
same answers, model, seed and prompt give the same ids, so an output file is matched back to its
answers without any other state, and a changed answer has no result (it is not graded, never
mis-graded). Replies go through the same validation as a direct request and then through the
usual `llm.LLMGrader` (cross-check, votes, report): `ReplayJudge` answers the grader's requests from
the output file. A batch cannot re-ask, so an invalid reply leaves its answer not graded; grading
the sheet again without --batch asks for those alone (the others are in the grade cache).

Saved state (`BatchStore`, in the data folder's `batches/`): per batch its id, the digest of its
input file, the model, the server, and the sheets' text, so `grader batch collect ID` needs
nothing else; running the same `grader score --batch` again resumes the saved batch rather than
paying for a second one.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import BatchError, JudgeError
from .models import Question
from .usage import Usage

ENDPOINT = "/v1/chat/completions"
DONE = ("completed", "failed", "expired", "cancelled")
MAX_RESULTS_BYTES = 2_000_000_000


def custom_id(question: Question, body: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()[:24]
    return f"{question.id}-{digest}"


@dataclass(frozen=True)
class Request:
    custom_id: str
    question: Question
    body: dict[str, Any]

    def line(self) -> str:
        return json.dumps(
            {"custom_id": self.custom_id, "method": "POST", "url": ENDPOINT, "body": self.body},
            ensure_ascii=False,
        )


def requests_for(
    items: Sequence[tuple[Question, str]], model: str, seeds: Sequence[int]
) -> list[Request]:
    """The batch requests for answers (question, raw answer text): one per answer and seed, the
    answer validated and normalised as a direct request sends it. Repeated answers to the same
    question are asked once."""
    from .grading import clean_answer
    from .judge import batch_body

    out: dict[str, Request] = {}
    for question, answer in items:
        text = clean_answer(answer)
        for seed in seeds:
            body = batch_body(question, text, model, seed)
            cid = custom_id(question, body)
            out.setdefault(cid, Request(cid, question, body))
    return list(out.values())


def batch_text(requests: Sequence[Request]) -> str:
    return "".join(r.line() + "\n" for r in requests)


def read_results(text: str, source: str) -> dict[str, dict[str, Any]]:
    """The lines of a batch output (or error) file, by custom_id. Raises BatchError for a line
    that is not one."""
    out: dict[str, dict[str, Any]] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise BatchError(f"{source}:{n}: not JSON ({exc.msg})") from exc
        if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
            raise BatchError(f"{source}:{n}: not a batch result (no custom_id)")
        out[line["custom_id"]] = line
    return out


class ReplayJudge:
    """A judge that answers from a batch's results: the grader asks as usual (question, answer,
    seed), and gets the validated judgement of the request the batch file held for them, or a
    JudgeError (no result, a failed request, an invalid reply)."""

    def __init__(
        self,
        results: dict[str, dict[str, Any]],
        model: str,
        seed: int,
        *,
        secrets: Sequence[str] = (),
    ) -> None:
        self.results = results
        self.model = model
        self.seed = seed
        self.secrets = list(secrets)
        self.usage = Usage()  # what the batch's replies used, as their bodies report it

    def judge(self, question: Question, answer: str, *, seed: int | None = None) -> Any:
        from .judge import batch_body, result_from_completion

        body = batch_body(question, answer, self.model, self.seed if seed is None else seed)
        line = self.results.get(custom_id(question, body))
        if line is None:
            raise JudgeError(
                "no result for this answer in the batch (its answer, the model or the prompt "
                "changed since the batch file was written)"
            )
        self.usage.add(requests=1)
        response = line.get("response") or {}
        if not isinstance(response, dict):
            raise JudgeError("a malformed batch result: its response is not an object")
        reply = response.get("body")
        if line.get("error") or response.get("status_code") not in (200, None) or not reply:
            raise JudgeError(f"the batch request failed: {_failure(line)}")
        if not isinstance(reply, dict):
            raise JudgeError("a malformed batch result: its body is not a chat completion")
        self.usage.add_completion(reply)
        return result_from_completion(question, reply, self.model, self.secrets)


def _failure(line: dict[str, Any]) -> str:
    from .scrub import printable

    error = line.get("error")
    response = line.get("response") if isinstance(line.get("response"), dict) else {}
    body = response.get("body")
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
    message = error.get("message") if isinstance(error, dict) else error
    status = response.get("status_code")
    text = f"{status}: {message}" if status and message else str(message or status or "no reply")
    return printable(" ".join(text.split()))[:200]


# -- the Files and Batches API ---------------------------------------------------------------


def _api(what: str, call: Callable[[], Any]) -> Any:
    """An API call, its failure one BatchError line."""
    import openai

    try:
        return call()
    except openai.APIStatusError as exc:
        from .judge import _error_text

        error = BatchError(f"{what}: the server answered {exc.status_code}: {_error_text(exc)}")
        error.transient = exc.status_code >= 500 or exc.status_code == 429
        error.status = exc.status_code
        raise error from exc
    except openai.APIError as exc:  # no reply at all: a timeout, a refused or dropped connection
        error = BatchError(f"{what}: {exc.__class__.__name__}: {exc}")
        error.transient = True
        raise error from exc


def submit(client: Any, text: str, *, description: str) -> Any:
    """Upload the input file and create its batch; the batch object."""
    data = text.encode("utf-8")
    f = _api(
        "uploading the batch file",
        lambda: client.files.create(file=("judge-requests.jsonl", data), purpose="batch"),
    )
    return _api(
        "creating the batch",
        lambda: client.batches.create(
            input_file_id=f.id,
            endpoint=ENDPOINT,
            completion_window="24h",
            metadata={"description": description[:500]},
        ),
    )


def retrieve(client: Any, batch_id: str) -> Any:
    return _api(f"looking up batch {batch_id}", lambda: client.batches.retrieve(batch_id))


def wait(
    client: Any,
    batch_id: str,
    *,
    interval: float,
    on_progress: Callable[[Any], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Poll until the batch ends (completed, failed, expired or cancelled); the batch object.
    `on_progress` hears of each look. Ctrl-C stops the waiting, not the batch."""
    while True:
        batch = retrieve(client, batch_id)
        if on_progress is not None:
            on_progress(batch)
        if batch.status in DONE:
            return batch
        sleep(interval)


def results_of(client: Any, batch: Any) -> dict[str, dict[str, Any]]:
    """The output and error files of an ended batch, by custom_id. An expired or cancelled batch
    keeps the requests it finished (they are paid for): they are read, and the rest have no
    result. Raises BatchError when there is nothing to read (a batch that failed validation)."""
    out: dict[str, dict[str, Any]] = {}
    for file_id in (getattr(batch, "output_file_id", None), getattr(batch, "error_file_id", None)):
        if file_id:
            text = _api(
                "downloading the batch's results", lambda f=file_id: client.files.content(f).text
            )
            out.update(read_results(text, f"batch {batch.id} file {file_id}"))
    if batch.status != "completed" and not out:
        errors = getattr(batch, "errors", None)
        data = getattr(errors, "data", None) or []
        why = "; ".join(
            (f"line {e.line}: " if getattr(e, "line", None) else "") + str(e.message) for e in data[:3]
        )
        raise BatchError(f"batch {batch.id} {batch.status}" + (f": {why}" if why else ""))
    return out


def progress_text(batch: Any) -> str:
    counts = getattr(batch, "request_counts", None)
    done = f", {counts.completed + counts.failed} of {counts.total} requests done" if counts else ""
    failed = f" ({counts.failed} failed)" if counts and counts.failed else ""
    return f"Batch {batch.id}: {batch.status}{done}{failed}"


# -- saved batches ---------------------------------------------------------------------------


class BatchStore:
    """Submitted batches, one JSON file each in `folder`, written atomically."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, batch_id: str) -> Path:
        safe = "".join(c for c in batch_id if c.isalnum() or c in "-_")
        return self.folder / f"{safe}.json"

    def save(self, state: dict[str, Any]) -> None:
        from .files import write_atomic

        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self._path(state["id"]), json.dumps(state, indent=2, ensure_ascii=False))

    def get(self, batch_id: str) -> dict[str, Any]:
        path = self._path(batch_id)
        try:
            return json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            from .errors import GraderError

            known = ", ".join(s["id"] for s in self.all()) or "none"
            raise GraderError(f"no saved batch {batch_id!r} (saved batches: {known})") from None
        except (OSError, ValueError) as exc:
            raise BatchError(f"{path}: cannot read the saved batch ({exc})") from exc

    def all(self) -> list[dict[str, Any]]:
        if not self.folder.is_dir():
            return []
        out = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                out.append(json.loads(path.read_text("utf-8")))
            except (OSError, ValueError):
                continue
        return sorted(out, key=lambda s: s.get("submitted", ""))

    def pending(self, digest: str, server: str) -> dict[str, Any] | None:
        """The saved, uncollected batch of this very input file at this server, if any."""
        for state in reversed(self.all()):
            if (
                state.get("digest") == digest
                and state.get("server") == server
                and not state.get("collected")
                and not state.get("ended")
            ):
                return state
        return None

    def collected(self, batch_id: str) -> None:
        state = self.get(batch_id)
        state["collected"] = _now()
        self.save(state)

    def ended(self, batch_id: str, how: str) -> None:
        """The batch ended without completing (failed, expired, cancelled, or unknown to the
        server): the same requests are submitted anew next time, not resumed."""
        state = self.get(batch_id)
        state["ended"] = f"{how} ({_now()})"
        self.save(state)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_state(
    batch: Any,
    *,
    text: str,
    model: str,
    server: str,
    samples: int,
    seed: int,
    sheets: Sequence[tuple[str, str]],
    bank: str | None,
) -> dict[str, Any]:
    """What `grader batch collect` needs to grade a batch later: no file of the user's is read
    again, so a sheet edited meanwhile cannot be graded against results that are not its own."""
    return {
        "id": batch.id,
        "digest": digest(text),
        "submitted": _now(),
        "model": model,
        "server": server,
        "samples": samples,
        "seed": seed,
        "requests": len(text.splitlines()),
        "bank": bank,
        "sheets": [{"source": s, "text": t} for s, t in sheets],
        "collected": None,
    }


def pending(matches: Sequence[tuple[str, Any]], version: str, cache: Any) -> list[tuple[Question, str]]:
    """The answers of a run that need the judge: known, answered, not in the grade cache under
    `version`, and long enough to be sent (`score_matches` grades the rest without a request)."""
    from .cache import cache_key
    from .grading import needs_judge

    out = []
    for _, m in matches:
        if m.question is None or not m.entry.answered:
            continue
        if cache is not None and cache.get(cache_key(m.question, m.entry.answer, version)) is not None:
            continue
        if needs_judge(m.question, m.entry.answer):
            out.append((m.question, m.entry.answer))
    return out


def seeds(samples: int, seed: int) -> list[int]:
    """The seed of each sample, as `llm.LLMGrader` asks for them."""
    return [seed] if samples == 1 else [seed + k for k in range(samples)]
