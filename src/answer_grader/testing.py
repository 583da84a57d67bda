"""A scripted OpenAI-compatible server on 127.0.0.1, for tests and benchmarks (like click.testing).

    with FakeOpenAI() as server:
        server.push(Reply.completion('{"reasoning": ...}'))      # next response, in order
        server.push(Reply(status=429, body={"error": {"message": "slow down"}}))
        client = openai.OpenAI(base_url=server.url, api_key="test")

Responses are served in the order pushed; when the script is empty, `default` (a function of the
request's JSON) answers, if set, else a 500. Every request's JSON is kept in `server.requests`.
`rubric_responder` is a default that grades like a (very simple) judge, from the request alone.

It also serves the Files and Batches API, as OpenAI does (and as vLLM's `run_batch` reads and
writes the same files): POST /v1/files (multipart upload), GET /v1/files/ID and its /content,
POST /v1/batches (the input file is validated line by line: a JSON object with a unique string
custom_id, method POST, the batch's endpoint as url, a body with model and messages, one model for
all; any bad line fails the batch with the line's number), GET /v1/batches/ID, POST
/v1/batches/ID/cancel. A batch is "validating" when created, "in_progress" at the next look, and
done at the one after: each line's body is answered as a chat request would be (the script, then
`default`), 2xx replies to the output file and the rest to the error file. While
`server.hold_batches` is set, batches stay in progress.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted HTTP response."""

    status: int = 200
    body: dict[str, Any] | str = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    content_type: str = "application/json"
    # "before": close the connection without answering; "midway": send the headers and half the
    # body, then close (a crashed server, a proxy cutting the reply).
    drop: str | None = None

    @classmethod
    def completion(
        cls,
        content: str | None,
        *,
        finish_reason: str = "stop",
        refusal: str | None = None,
        model: str = "fake-judge",
        delay: float = 0.0,
        usage: tuple[int, int] = (10, 10),
    ) -> Reply:
        """A chat.completion with one choice; `usage` is its (prompt, completion) tokens."""
        return cls(
            body={
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 1764374400,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": refusal},
                        "finish_reason": finish_reason,
                    }
                ],
                "usage": {
                    "prompt_tokens": usage[0],
                    "completion_tokens": usage[1],
                    "total_tokens": sum(usage),
                },
            },
            delay=delay,
        )

    @classmethod
    def error(cls, status: int, message: str, **headers: str) -> Reply:
        """An error reply. "{authorization}" in `message` becomes the request's Authorization
        header, as a careless gateway echoes it."""
        return cls(status=status, body={"error": {"message": message, "type": "fake"}}, headers=headers)

    @classmethod
    def html(cls, status: int = 200) -> Reply:
        """A web page where the API should be: a proxy's login page, a wrong base URL."""
        page = (
            "<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Sign in to the "
            "network</h1><form>...</form></body></html>"
        )
        return cls(status=status, body=page, content_type="text/html; charset=utf-8")


Responder = Callable[[dict[str, Any]], Reply]


class FakeOpenAI:
    """Serves POST /v1/chat/completions (and GET /v1/models) from a script, on a free local port,
    and the Files and Batches API (see the module's notes)."""

    def __init__(self, default: Responder | None = None, port: int = 0) -> None:
        self.script: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []  # each request's headers, names lower-cased
        self.calls: list[tuple[str, str]] = []  # (method, path) of every HTTP request
        self.default = default
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests the server was answering at once
        self.files: dict[str, dict[str, Any]] = {}  # id -> the file object, with its "content"
        self.batches: dict[str, dict[str, Any]] = {}  # id -> the batch object
        self.hold_batches = threading.Event()  # set: batches stay in progress
        self.batch_lookup_reply: Reply | None = None  # set: every look at a batch gets this reply
        self._batch_lines: dict[str, list[dict[str, Any]]] = {}  # a batch's requests, until done
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                server.calls.append(("GET", self.path))
                reply = server._api("GET", self.path, b"", "")
                if reply is None:
                    reply = Reply(
                        body={"object": "list", "data": [{"id": "fake-judge", "object": "model"}]}
                    )
                self._send(reply)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                server.calls.append(("POST", self.path))
                api = server._api("POST", self.path, raw, self.headers.get("content-type", ""))
                if api is not None:
                    self._send(api)
                    return
                try:
                    request = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    request = {"_raw": raw.decode("utf-8", "replace")}
                with server._lock:
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    reply = server._next(request)
                    if reply.delay:
                        time.sleep(reply.delay)
                    auth = self.headers.get("authorization", "")
                    self._send(reply, auth)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _send(self, reply: Reply, authorization: str = "") -> None:
                body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                body = body.replace("{authorization}", authorization)
                data = body.encode("utf-8")
                try:
                    if reply.drop == "before":
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    self.send_response(reply.status)
                    self.send_header("content-type", reply.content_type)
                    self.send_header("content-length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    if reply.drop == "midway":
                        self.wfile.write(data[: len(data) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError, OSError):  # the client left
                    pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        # A short poll: shutdown() waits up to one interval, and tests start hundreds of servers.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- the Files and Batches API ------------------------------------------------------------

    def _api(self, method: str, path: str, raw: bytes, content_type: str) -> Reply | None:
        """The reply to a Files or Batches request; None for any other path."""
        parts = path.split("?", 1)[0].rstrip("/").split("/")
        try:
            at = parts.index("files") if "files" in parts else parts.index("batches")
        except ValueError:
            return None
        kind, rest = parts[at], parts[at + 1 :]
        with self._lock:
            if kind == "files" and method == "POST" and not rest:
                return self._upload(raw, content_type)
            if kind == "files" and method == "GET" and rest:
                f = self.files.get(rest[0])
                if f is None:
                    return Reply.error(404, f"no file {rest[0]}")
                if rest[1:] == ["content"]:
                    return Reply(body=f["content"].decode("utf-8"), content_type="application/jsonl")
                return Reply(body={k: v for k, v in f.items() if k != "content"})
            if kind == "batches" and method == "POST" and not rest:
                return self._create_batch(json.loads(raw or b"{}"))
            if kind == "batches" and rest:
                batch = self.batches.get(rest[0])
                if batch is None:
                    return Reply.error(404, f"no batch {rest[0]}")
                if method == "POST" and rest[1:] == ["cancel"]:
                    if batch["status"] in ("validating", "in_progress"):
                        batch["status"] = "cancelled"
                    return Reply(body=batch)
                if method == "GET":
                    if self.batch_lookup_reply is not None:  # a server gone bad mid-wait
                        return self.batch_lookup_reply
                    self._advance(batch)
                    return Reply(body=batch)
            if kind == "batches" and method == "GET":
                return Reply(body={"object": "list", "data": list(self.batches.values())})
        return Reply.error(404, f"no route for {method} {path}")

    def _new_file(self, content: bytes, filename: str, purpose: str) -> dict[str, Any]:
        fid = f"file-{len(self.files) + 1}"
        self.files[fid] = {
            "id": fid,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "content": content,
        }
        return self.files[fid]

    def _upload(self, raw: bytes, content_type: str) -> Reply:
        from email.parser import BytesParser
        from email.policy import default as policy

        message = BytesParser(policy=policy).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
        )
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields[str(name)] = (part.get_filename(), part.get_payload(decode=True) or b"")
        if "file" not in fields:
            return Reply.error(400, "no file in the upload")
        purpose = fields.get("purpose", (None, b""))[1].decode()
        filename, content = fields["file"]
        f = self._new_file(content, filename or "upload", purpose)
        return Reply(body={k: v for k, v in f.items() if k != "content"})

    def _create_batch(self, request: dict[str, Any]) -> Reply:
        f = self.files.get(str(request.get("input_file_id")))
        if f is None:
            return Reply.error(400, f"no file {request.get('input_file_id')}")
        endpoint = request.get("endpoint")
        lines, errors = batch_lines(f["content"], endpoint)
        bid = f"batch_{len(self.batches) + 1}"
        batch = {
            "id": bid,
            "object": "batch",
            "endpoint": endpoint,
            "input_file_id": f["id"],
            "completion_window": request.get("completion_window"),
            "status": "failed" if errors else "validating",
            "errors": {"object": "list", "data": errors} if errors else None,
            "output_file_id": None,
            "error_file_id": None,
            "created_at": int(time.time()),
            "metadata": request.get("metadata"),
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
        }
        self.batches[bid] = batch
        self._batch_lines[bid] = lines
        return Reply(body=batch)

    def _advance(self, batch: dict[str, Any]) -> None:
        """One look at a batch moves it on: validating -> in_progress -> completed."""
        if batch["status"] == "validating":
            batch["status"] = "in_progress"
        elif batch["status"] == "in_progress" and not self.hold_batches.is_set():
            out, err = [], []
            for n, line in enumerate(self._batch_lines.pop(batch["id"]), 1):
                self.requests.append(line["body"])
                if self.script:
                    reply = self.script.popleft()
                elif self.default is not None:
                    self._lock.release()  # the responder may take its time
                    try:
                        reply = self.default(line["body"])
                    finally:
                        self._lock.acquire()
                else:
                    reply = Reply.error(500, "the fake server's script is empty")
                body = reply.body if isinstance(reply.body, dict) else {"text": reply.body}
                result = {
                    "id": f"batch_req_{n}",
                    "custom_id": line["custom_id"],
                    "response": {"status_code": reply.status, "request_id": f"req_{n}", "body": body},
                    "error": None,
                }
                (out if 200 <= reply.status < 300 else err).append(result)
            batch["output_file_id"] = self._new_file(_jsonl(out), "output.jsonl", "batch_output")["id"]
            if err:
                errors = self._new_file(_jsonl(err), "errors.jsonl", "batch_output")
                batch["error_file_id"] = errors["id"]
            batch["request_counts"] = {
                "total": len(out) + len(err),
                "completed": len(out),
                "failed": len(err),
            }
            batch["status"] = "completed"

    def _next(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self.script:
                return self.script.popleft()
        if self.default is not None:
            return self.default(request)
        return Reply.error(500, "the fake server's script is empty")

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")


def batch_lines(content: bytes, endpoint: object) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The requests of a batch input file, and its problems as OpenAI reports them (code, message,
    line): what OpenAI checks before it runs a batch."""
    lines: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    models: set[str] = set()

    def bad(n: int, code: str, message: str) -> None:
        errors.append({"code": code, "message": message, "param": None, "line": n})

    for n, text in enumerate(content.decode("utf-8", "replace").splitlines(), 1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            bad(n, "invalid_json_line", "This line is not parseable as valid JSON.")
            continue
        if not isinstance(line, dict):
            bad(n, "invalid_json_line", "Each line must be a JSON object.")
            continue
        cid = line.get("custom_id")
        if not isinstance(cid, str) or not cid:
            bad(n, "missing_required_parameter", "custom_id must be a non-empty string.")
        elif cid in seen:
            bad(n, "duplicate_custom_id", f"The custom_id {cid!r} is not unique.")
        else:
            seen.add(cid)
        if line.get("method") != "POST":
            bad(n, "invalid_request", "method must be POST.")
        if line.get("url") != endpoint:
            bad(n, "mismatched_endpoint", f"url {line.get('url')!r} is not the batch's {endpoint!r}.")
        body = line.get("body")
        if not isinstance(body, dict) or "model" not in body or "messages" not in body:
            bad(n, "invalid_request", "body must be an object with model and messages.")
        else:
            models.add(str(body["model"]))
            lines.append(line)
    if len(models) > 1:
        bad(0, "model_mismatch", f"One model per batch; this file names {sorted(models)}.")
    if not lines and not errors:
        bad(0, "empty_file", "The input file has no requests.")
    return lines, errors


_POINT = re.compile(r"^- ([a-z0-9-]+): ", re.MULTILINE)
_ANSWER = re.compile(r"<(answer-[0-9a-f]+)>\n(.*)\n</\1>", re.DOTALL)


def parse_request(request: dict[str, Any]) -> tuple[list[str], str]:
    """The rubric point ids and the candidate's answer, read from a judge request."""
    user = next(m["content"] for m in request["messages"] if m["role"] == "user")
    rubric = user.split("Rubric key points", 1)[1].split("Candidate's answer", 1)[0]
    answer = _ANSWER.search(user)
    return _POINT.findall(rubric), answer.group(2) if answer else ""


def judgement_json(
    point_ids: list[str],
    verdicts: dict[str, tuple[str, str | None]] | None = None,
    reasoning: str = "Checked each point against the answer.",
) -> str:
    """A judge reply: `verdicts` maps point id -> (verdict, evidence); the rest are missed."""
    verdicts = verdicts or {}
    points = {}
    for pid in point_ids:
        verdict, evidence = verdicts.get(pid, ("missed", None))
        points[pid] = {"verdict": verdict, "evidence": evidence, "feedback": f"About {pid}."}
    return json.dumps(
        {
            "reasoning": reasoning,
            "points": points,
            "overall_feedback": "Cover the missed points with specifics.",
        }
    )


def rubric_responder(delay: float = 0.0) -> Responder:
    """A default that answers any judge request validly: each point is `partial`, quoting the
    answer's first sentence. Enough for benchmarks and plumbing tests, not for grading quality."""

    def respond(request: dict[str, Any]) -> Reply:
        ids, answer = parse_request(request)
        first = re.split(r"(?<=[.!?])\s", answer.strip(), maxsplit=1)[0] if answer.strip() else None
        verdicts = {pid: ("partial", first) for pid in ids} if first else {}
        return Reply.completion(judgement_json(ids, verdicts), delay=delay)

    return respond


class FakeEmbedder:
    """A deterministic stand-in for the embedding model (like llm's `EmbedDemo`): each word's
    stem is hashed to a fixed random unit vector, a text is the normalised sum of its words'. Texts
    that share words are similar, as with the real model; texts that share none are near 0. It
    loads nothing and takes microseconds, so tests of plumbing (menus, history, cache, reports,
    terminals, faults) need no model. It grades nothing well: tests of grading quality use the
    real model.

        Environment(embedder=FakeEmbedder())   # in-process, for the CLI or the library
    """

    name = "fake-embedder (hashed words)"
    dimensions = 384

    def __init__(self) -> None:
        self.calls = 0  # how many texts were embedded, for tests of batching and caching
        self._words: dict[str, Any] = {}
        self._texts: dict[str, Any] = {}  # as the real model keeps its vectors

    def _word(self, word: str):  # type: ignore[no-untyped-def]
        vec = self._words.get(word)
        if vec is None:
            import hashlib

            import numpy as np

            seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            vec = np.random.default_rng(seed).standard_normal(self.dimensions).astype(np.float32)
            vec = self._words[word] = vec / np.linalg.norm(vec)
        return vec

    def embed(self, texts):  # type: ignore[no-untyped-def]
        import numpy as np

        from .keywords import stem
        from .text import words

        self.calls += len(texts)
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for i, text in enumerate(texts):
            vec = self._texts.get(text)
            if vec is None:
                vec = np.zeros(self.dimensions, dtype=np.float32)
                for w in words(text):
                    vec += self._word(stem(w))
                norm = np.linalg.norm(vec)
                vec = self._texts[text] = vec / norm if norm else vec
            out[i] = vec
        return out
