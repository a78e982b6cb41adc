"""The job log: one line per step on stderr (text or JSON), a transient progress line on a
terminal, and :func:`scrub`, which keeps secrets out of every line."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from ..config import SECRET_VARS
from ..sources._http import redact

# ------------------------------------------------------------------------------------------------
# secrets and logging


_URL_RE = re.compile(r"https?://[^\s'\"<>]+")
_WARNING_RE = re.compile(r"\bwarning\s*:", re.I)


def _secret_values() -> list[str]:
    vals = []
    for names in SECRET_VARS.values():
        for n in names:
            v = os.environ.get(n, "").strip()
            if len(v) >= 4:
                vals.append(v)
    key, sec = os.environ.get("EPO_OPS_KEY", "").strip(), os.environ.get("EPO_OPS_SECRET", "").strip()
    if key and sec:
        import base64
        vals.append(base64.b64encode(f"{key}:{sec}".encode()).decode("ascii"))
    return sorted(set(vals), key=len, reverse=True)


def scrub(text: str) -> str:
    """A message safe for logs and the warehouse: URLs redacted (credential-like query
    parameters and userinfo), and the values of the secret environment variables removed."""
    out = _URL_RE.sub(lambda m: redact(m.group(0)), text)
    for v in _secret_values():
        out = out.replace(v, "REDACTED")
    from ..redact import scrub as _scrub  # tokens, bearer headers and echoed keys too

    return _scrub(out)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class JobLog:
    """One line per step on ``stream``: plain text, or one JSON object per line.

    Levels: debug (the ingestors' own messages; shown with ``[jobs] log_level = "debug"``),
    info, warning, error. ``quiet`` keeps only errors. On a terminal (and not JSON, not
    quiet) the ingestors' messages update one transient progress line instead.
    """

    def __init__(self, stream: TextIO, *, json_lines: bool = False, quiet: bool = False, level: str = "info"):
        self.stream = stream
        self.json = json_lines
        self.quiet = quiet
        self.debug_on = level == "debug"
        try:
            self.tty = bool(stream.isatty()) and not json_lines and not quiet
        except (AttributeError, ValueError):
            self.tty = False
        self._progress_shown = False
        self.lines: list[dict[str, Any]] = []   # what was emitted (tests, the job record)

    def _clear_progress(self) -> None:
        if self._progress_shown:
            self.stream.write("\r\x1b[2K")
            self._progress_shown = False

    def progress(self, source: str, message: str) -> None:
        if not self.tty:
            return
        width = shutil.get_terminal_size((100, 20)).columns - 1
        text = scrub(f"{source}: {message}").replace("\n", " ")
        try:
            self.stream.write("\r\x1b[2K" + text[:width])
            self.stream.flush()
        except (OSError, ValueError):
            return
        self._progress_shown = True

    def emit(self, level: str, step: str, *, source: str | None = None, status: str | None = None,
             message: str = "", counts: Mapping[str, Any] | None = None, duration: float | None = None,
             error: str | None = None, **extra: Any) -> None:
        record: dict[str, Any] = {
            "ts": _utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level, "source": source, "step": step, "status": status,
            "counts": dict(counts) if counts else {}, "duration": round(duration, 3) if duration is not None else None,
            "error": scrub(error) if error else None, "message": scrub(message),
        }
        for k, v in extra.items():
            record[k] = scrub(v) if isinstance(v, str) else v
        self.lines.append(record)
        if level == "debug" and not self.debug_on:
            return
        if self.quiet and level != "error":
            return
        if self.json:
            text = json.dumps(record, default=str, ensure_ascii=False)
        else:
            who = f"{source} " if source else ""
            text = f"{record['ts']} {level:<7} {who}{step}: {record['message']}"
            if error and error not in message:
                text += f" ({record['error']})"
        try:
            self._clear_progress()
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # stderr closed or full (cron): the job goes on, the warehouse keeps the record
            pass

    def ingestor(self, source: str) -> Callable[[str], None]:
        """The ``log`` callback handed to an ingestor: progress on a terminal, debug lines,
        and warning lines for messages that say 'warning'."""
        def log(msg: str) -> None:
            self.progress(source, msg)
            level = "warning" if _WARNING_RE.search(msg) else "debug"
            self.emit(level, "detail", source=source, message=msg)
        return log


