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
    └── QueryError                   exit 1   an ad hoc query or named query failed

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
