"""Text from outside (an answer, a sheet, a file name, a server's reply) made safe to show.

Two rules, each applied in one place:

- `printable`: nothing that a terminal would act on reaches it. Escape sequences (CSI colours and
  clear-screen, OSC window titles and hyperlinks, any other ESC sequence) are removed whole; the
  remaining C0 and C1 control characters (BEL, backspace, carriage return, NUL...), DEL and the
  Unicode bidirectional overrides are dropped. Newlines and tabs stay. Text and markdown renderers
  call it on every string that did not come from grader itself; JSON keeps the text and escapes
  control characters as JSON does.
- `redact`: no secret reaches a message, report, cache entry or history row. The configured API
  key, anything key-like (`sk-...`, `Bearer ...`) and the credentials of a URL are replaced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

# ESC [ ... final byte (CSI); ESC ] ... BEL or ESC \ (OSC); ESC P/X/^/_ ... ESC \ (DCS, SOS, PM,
# APC); any other two-character ESC sequence. An unterminated OSC runs to the end of the line.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[ -/]*[0-~]?"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x9d[^\x07\x9c\n]*[\x07\x9c]?"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every terminal control sequence and control character removed."""
    if text.isprintable():  # the common case: nothing to do
        return text
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


REDACTED = "[redacted]"
MIN_SECRET = 4  # shorter "secrets" (a placeholder key, a one-letter password) would mangle text

_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}")
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/\-]+=*", re.IGNORECASE)
_URL_CREDENTIALS = re.compile(r"\b([a-z][a-z0-9+.\-]*://)[^/\s@]+@", re.IGNORECASE)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with `secrets` (e.g. the API key), key-like strings and URL credentials replaced."""
    for secret in sorted((s for s in secrets if s and len(s) >= MIN_SECRET), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _KEY_LIKE.sub(f"sk-{REDACTED}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)


def url_secrets(url: str | None) -> list[str]:
    """The user name and password written into a URL, if any."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    return [s for s in (parts.username, parts.password) if s]


def display_url(url: str) -> str:
    """A URL as it may be shown and stored: its credentials masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{REDACTED}@{host}"))


def clean(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Both rules: what every error line on a terminal goes through."""
    return printable(redact(text, secrets))


def printable_data(value: object) -> object:
    """`printable` applied to every string in a structure of dicts, lists and strings."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {k: printable_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable_data(v) for v in value]
    return value


def printable_model(model):  # type: ignore[no-untyped-def]
    """A copy of a pydantic model (a report) with every string made `printable`, for the text,
    markdown and JUnit renderings; the JSON rendering keeps the original."""
    return type(model).model_validate(printable_data(model.model_dump(mode="python")))
