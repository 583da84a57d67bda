"""Settings for grading, resolved in one place and one documented order:

    command-line flag  >  GRADER_* environment  >  OPENAI_* environment  >  default

Nothing is read at import time; `resolve_settings` is called by the command that needs it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .errors import ConfigError

Backend = Literal["offline", "llm"]
BACKEND_CHOICES = ("auto", "offline", "llm")

# The judge model when none is configured. One constant, documented in the README; override with
# --model or GRADER_MODEL. Any OpenAI-compatible chat model with JSON output works.
DEFAULT_MODEL = "gpt-6.1-terra"
DEFAULT_TIMEOUT = 60.0  # seconds per request; an answer's retries share twice that (judge.Judge)
DEFAULT_MAX_RETRIES = 3  # for 429, 5xx, timeouts, refusals and truncated output
DEFAULT_SEED = 1234
# Local servers (Ollama, vLLM, llama.cpp) accept any key; the openai client insists on one.
PLACEHOLDER_KEY = "not-needed"


@dataclass(frozen=True)
class Settings:
    """Resolved grading settings. `sources` says where each value came from, for `grader config`."""

    backend: Backend
    model: str
    base_url: str | None
    api_key: str | None
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    seed: int = DEFAULT_SEED
    samples: int = 1  # judge requests per answer, voted on (--samples)
    requested_backend: str = "auto"
    sources: tuple[tuple[str, str], ...] = ()

    @property
    def masked_key(self) -> str:
        key = self.api_key
        if not key:
            return "(not set)"
        if key == PLACEHOLDER_KEY:
            return f"({PLACEHOLDER_KEY}: a local server needs none)"
        return f"{key[:3]}...{key[-4:]}" if len(key) > 12 else "****"

    @property
    def secrets(self) -> list[str]:
        """What must never be shown or stored: the key and the base URL's credentials."""
        from .scrub import url_secrets

        key = [self.api_key] if self.api_key and self.api_key != PLACEHOLDER_KEY else []
        return key + url_secrets(self.base_url)

    @property
    def shown_base_url(self) -> str | None:
        """The base URL as reports and `grader config` show it: credentials masked."""
        from .scrub import display_url

        return display_url(self.base_url) if self.base_url else None

    def source(self, name: str) -> str:
        return dict(self.sources).get(name, "default")


def _pick(
    name: str, flag: str | None, env: Mapping[str, str], *env_names: str
) -> tuple[str | None, str]:
    if flag:
        return flag, f"--{name.replace('_', '-')}"
    for var in env_names:
        if env.get(var):
            return env[var], var
    return None, "default"


def _check_url(url: str, source: str) -> str:
    from urllib.parse import urlsplit

    from .scrub import display_url, printable

    try:
        parts = urlsplit(url.strip())
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        if ok:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(
            f"{printable(display_url(url))!r} (from {source}) is not an http:// or https:// URL; "
            "e.g. http://localhost:11434/v1"
        )
    return url.strip()


def _timeout(value: float | str | None, source: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not (0 < seconds <= 3600):  # also refuses NaN
        raise ConfigError(f"timeout {value!r} (from {source}) must be a number of seconds, 0 to 3600")
    return seconds


def resolve_settings(
    backend: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve grading settings from flags and the environment.

    `auto` (the default backend) uses the LLM judge when an API key or a base URL is configured,
    otherwise the offline grader.
    """
    env = os.environ if env is None else env
    chosen_backend, backend_src = _pick("backend", backend, env, "GRADER_BACKEND")
    chosen_backend = (chosen_backend or "auto").strip().lower()
    if chosen_backend not in BACKEND_CHOICES:
        raise ConfigError(
            f"unknown backend {chosen_backend!r} (from {backend_src}); "
            f"choose one of {', '.join(BACKEND_CHOICES)}"
        )
    chosen_model, model_src = _pick("model", model, env, "GRADER_MODEL")
    url, url_src = _pick("base_url", base_url, env, "OPENAI_BASE_URL")
    if url:
        url = _check_url(url, url_src)
    key, key_src = _pick("api_key", None, env, "OPENAI_API_KEY")
    if timeout is not None:
        seconds, timeout_src = _timeout(timeout, "--timeout"), "--timeout"
    else:
        seconds = _timeout(env.get("GRADER_TIMEOUT"), "GRADER_TIMEOUT")
        timeout_src = "GRADER_TIMEOUT" if seconds is not None else "default"
    if chosen_backend == "auto":
        resolved: Backend = "llm" if (key or url) else "offline"
    else:
        resolved = chosen_backend  # type: ignore[assignment]
    if resolved == "llm" and not key:
        if not url:
            raise ConfigError(
                "the LLM judge needs OPENAI_API_KEY (for OpenAI) or OPENAI_BASE_URL / --base-url "
                "(for a local OpenAI-compatible server); or use --backend offline"
            )
        key, key_src = PLACEHOLDER_KEY, "placeholder for a local server"
    return Settings(
        backend=resolved,
        model=chosen_model or DEFAULT_MODEL,
        base_url=url,
        api_key=key,
        timeout=seconds or DEFAULT_TIMEOUT,
        requested_backend=chosen_backend,
        sources=(
            ("backend", backend_src),
            ("model", model_src),
            ("base_url", url_src),
            ("api_key", key_src),
            ("timeout", timeout_src),
        ),
    )
