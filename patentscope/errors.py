"""One error hierarchy for patentscope.

Every failure a user can cause or meet is one of these; the CLI turns them into a one-line
message (ending with what to do next) and an exit code, never a traceback::

    PatentscopeError                 exit 1   anything expected that went wrong
    ├── ConfigError                  exit 2   bad flag, env var, config or landscape file
    ├── InputError                   exit 1   an input file that cannot be read at all
    │   └── RowError                          one bad row (file, line, column, reason)
    ├── WarehouseError               exit 3   the DuckDB file: missing, unreadable, wrong version
    │   ├── WarehouseLockedError     exit 4   another process holds the write lock
    │   ├── MigrationError                    a migration failed (it was rolled back)
    │   └── ReadOnlyViolation        exit 5   a write attempted through the read-only SQL runner
    ├── QueryError                   exit 1   an ad hoc query or named query failed
    └── SourceError                  exit 1   a remote source (ODP, OPS, bulk downloads) failed
        ├── TransientSourceError              may succeed later: network down, HTTP 408/429/5xx
        │   │                                 after the retries, a service throttled us
        │   └── QuotaError                    a quota is used up; resume after it resets
        └── PermanentSourceError              retrying the same request cannot help: the source
            │                                 refused it (4xx) or answered something unreadable
            └── AuthError            exit 2   the key/secret was refused (also a ConfigError)

Each source's own classes (``OdpError``, ``OpsError``, ...) sit under ``SourceError`` and mix in
the transient or permanent class of the failure, so callers (``ingest --all``, the jobs) decide
by ``isinstance(e, TransientSourceError)`` — never by reading the message. ``transient`` says
the same as a class attribute. :func:`http_error` picks the class for an HTTP status.

Exit codes are stable (cron jobs act on them); see ``exit_code``.
"""

from __future__ import annotations


class PatentscopeError(Exception):
    """Base class. ``str(err)`` is the user-facing message."""

    exit_code = 1


class ConfigError(PatentscopeError):
    exit_code = 2


class InputError(PatentscopeError):
    exit_code = 1


class RowError(InputError):
    """One malformed input row. Carries where it is so the report can name it."""

    def __init__(self, file: str, line: int, reason: str, column: str | None = None):
        self.file = file
        self.line = line
        self.column = column
        self.reason = reason
        where = f"{file}:{line}" + (f" column {column!r}" if column else "")
        super().__init__(f"{where}: {reason}")


class WarehouseError(PatentscopeError):
    exit_code = 3


class WarehouseLockedError(WarehouseError):
    exit_code = 4


class MigrationError(WarehouseError):
    pass


class ReadOnlyViolation(WarehouseError):
    exit_code = 5


class QueryError(PatentscopeError):
    exit_code = 1


class SourceError(PatentscopeError):
    """A remote source failed. ``transient``: whether the same request may succeed later."""

    exit_code = 1
    transient = False


class TransientSourceError(SourceError):
    """Worth retrying later (the run's position is saved): the network, a busy or down
    service (HTTP 408/429/5xx after the transport's retries), throttling."""

    transient = True


class QuotaError(TransientSourceError):
    """A quota (per key, per week, ...) is used up; resume after it resets."""


class PermanentSourceError(SourceError):
    """Repeating the request cannot help: the source refused it or sent something unreadable."""


class AuthError(PermanentSourceError, ConfigError):
    """The source refused the credentials: fix the configuration (exit 2)."""

    exit_code = 2


def is_transient_status(status: int) -> bool:
    """HTTP statuses that may succeed when asked again later (RFC 9110 section 15)."""
    return status in (408, 425, 429) or status >= 500


def http_error(status: int) -> type[SourceError]:
    """The class for a non-2xx answer that outlasted the retries."""
    return TransientSourceError if is_transient_status(status) else PermanentSourceError
