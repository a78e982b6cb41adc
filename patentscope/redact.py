"""Secret redaction: one scrubber every log line, run record, error message, status output and
export passes through.

What is scrubbed (replaced by ``[REDACTED]``):

* the *values* of the configured secret environment variables (``USPTO_ODP_API_KEY``,
  ``PATENTSVIEW_API_KEY``, ``EPO_OPS_KEY``, ``EPO_OPS_SECRET`` -- see ``config.SECRET_VARS``),
  read from the environment at the moment of scrubbing, so a key exported after start-up is
  covered too; also their base64 forms (an OAuth client's ``key:secret`` Basic credential);
* tokens obtained at run time (an OAuth access token), registered with :func:`register`;
* anything shaped like a credential even when nobody registered it: ``Bearer <token>`` /
  ``Basic <b64>`` headers, ``access_token``/``api_key``/``client_secret``... ``=``/``:``
  assignments (JSON, form and header styles), and the password part of a URL
  (``https://user:pass@host``).

Values shorter than :data:`MIN_SECRET_LEN` characters are not scrubbed as literals (a
one-letter "key" would shred every message); they are still refused in config files.
"""

from __future__ import annotations

import base64
import os
import re
import threading
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"
MIN_SECRET_LEN = 6

# The environment variables that hold secrets (config.SECRET_VARS names the same ones; kept here
# so this module has no dependency on the settings loader).
SECRET_ENV_VARS: tuple[str, ...] = ("USPTO_ODP_API_KEY", "PATENTSVIEW_API_KEY", "EPO_OPS_KEY", "EPO_OPS_SECRET")

_lock = threading.Lock()
_runtime: set[str] = set()

# Words that, as a whole token of a key name, mark the key as holding a credential.
SECRET_WORDS = frozenset({"key", "apikey", "secret", "token", "password", "passwd", "pwd", "credential",
                          "credentials", "auth", "authorization", "bearer", "cookie", "session"})

_ASSIGN_NAMES = (r"(?:access[_-]?token|refresh[_-]?token|id[_-]?token|token|api[_-]?key|apikey|x-api-key|"
                 r"client[_-]?secret|consumer[_-]?secret|secret|password|passwd|authorization)")
_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Authorization: Bearer xyz / Basic abc==
    # (the credential must hold a digit or a symbol, so "bearer of the licence" is left alone)
    re.compile(r"(?i)\b(bearer|basic)(\s+)(?=[A-Za-z0-9._~+/=-]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{6,}"),
    # "access_token": "xyz"  access_token=xyz  api_key: xyz  X-API-Key: xyz
    re.compile(rf"(?i)(\"?\b{_ASSIGN_NAMES}\"?\s*[:=]\s*\"?)((?=[^\s\"'&,;}}<>]*\d)[^\s\"'&,;}}<>]{{4,}}|[^\s\"'&,;}}<>]{{16,}})"),
    # scheme://user:password@host
    re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)([^\s@/]+)(@)"),
)


def register(*secrets: str | None) -> None:
    """Scrub these values from now on (tokens obtained at run time)."""
    with _lock:
        for s in secrets:
            if s and len(s) >= MIN_SECRET_LEN:
                _runtime.add(s)


def forget_runtime() -> None:
    """Drop registered run-time tokens (tests; a new process starts empty anyway)."""
    with _lock:
        _runtime.clear()


def secret_literals() -> list[str]:
    """Every literal value scrubbed now (env secrets, their base64 forms, run-time tokens), longest first."""
    vals: set[str] = set()
    env = [os.environ.get(v, "").strip() for v in SECRET_ENV_VARS]
    for v in env:
        if len(v) >= MIN_SECRET_LEN:
            vals.add(v)
    key, secret = os.environ.get("EPO_OPS_KEY", "").strip(), os.environ.get("EPO_OPS_SECRET", "").strip()
    if key and secret:  # the OAuth client-credentials Basic header
        vals.add(base64.b64encode(f"{key}:{secret}".encode()).decode())
    with _lock:
        vals |= _runtime
    for v in list(vals):  # a server may echo a key URL-encoded or base64-encoded
        vals.add(base64.b64encode(v.encode()).decode().rstrip("="))
    return sorted(vals, key=len, reverse=True)


def scrub(text: str) -> str:
    """``text`` with every known secret and every credential-shaped substring replaced."""
    if not text:
        return text
    for lit in secret_literals():
        if lit in text:
            text = text.replace(lit, REDACTED)
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _PATTERNS[1].sub(lambda m: m.group(1) + (m.group(2) if m.group(2) == REDACTED else REDACTED), text)
    text = _PATTERNS[2].sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(3)}", text)
    return text


def scrub_value(value: Any) -> Any:
    """Scrub every string inside a JSON-like value (dicts, lists, tuples), iteratively."""
    if isinstance(value, str):
        return scrub(value)
    if not isinstance(value, (dict, list, tuple)):
        return value
    out: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any]] = [(value, out)]
    while stack:
        src, dst = stack.pop()
        items: Iterable[tuple[Any, Any]] = src.items() if isinstance(src, dict) else enumerate(src)
        for k, v in items:
            if isinstance(v, (dict, list, tuple)):
                child: Any = {} if isinstance(v, dict) else []
                stack.append((v, child))
                v2 = child
            else:
                v2 = scrub(v) if isinstance(v, str) else v
            if isinstance(dst, dict):
                dst[k] = v2
            else:
                dst.append(v2)
    return out


def key_words(name: str) -> list[str]:
    """A key name split into lower-case words: ``apiKey`` -> [api, key], ``client-secret`` -> ..."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def secret_key_name(name: str) -> bool:
    """True when a config key's name says it holds a credential (``api_key``, ``token``...).

    ``*_env`` keys are allowed: they name the environment variable to read, not the secret.
    ``keywords`` is not a secret (whole words are compared, not substrings)."""
    words = key_words(name)
    if words and words[-1] == "env":
        return False
    return any(w in SECRET_WORDS for w in words)


def secret_shaped(value: str) -> str | None:
    """Why a string value looks like a credential (or None): it holds a configured secret, a URL
    password, a bearer header or a ``token=...`` assignment."""
    if any(lit in value for lit in secret_literals()):
        return "it contains the value of a secret environment variable"
    if _PATTERNS[2].search(value):
        return "it is a URL with a password in it"
    if _PATTERNS[0].search(value):
        return "it holds a Bearer/Basic credential"
    if _PATTERNS[1].search(value):
        return "it holds a token/key assignment"
    return None
