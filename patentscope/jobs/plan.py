"""The job plan: the `[jobs]` and `[sources.*]` tables of patentscope.toml, validated against the
options each source declares (patentscope/ingest/registry.py)."""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ConfigError
from ..ingest import registry
from ..ingest.registry import Option

# The sources, their order and options: patentscope/ingest/registry.py (one line per source).
ORDER = registry.ORDER
INGEST_SOURCE = registry.INGEST_SOURCE

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_WAREHOUSE, EXIT_LOCKED, EXIT_PARTIAL = 0, 1, 2, 3, 4, 6

RETIRED = {
    "patentsview": "the PatentsView PatentSearch API was retired on 2026-03-20; load the PatentsView tables "
                   "with [sources.uspto_bulk] (directory = ... or download = true) instead",
}


# ------------------------------------------------------------------------------------------------
# configuration


_Key = Option


JOB_KEYS: dict[str, _Key] = {
    "analyze": _Key("bool", True),
    "lock_wait": _Key("float", None),
    "log_level": _Key("choice", "info", choices=("info", "debug")),
}


@dataclass(frozen=True)
class SourcePlan:
    name: str
    options: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    sources: list[SourcePlan]
    analyze: bool
    lock_wait: float | None
    log_level: str
    base: Path                     # relative paths in the file are relative to this folder
    config_file: Path | None


def _check(value: Any, key: _Key, where: str) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{where} must be {expected}, not {value!r}")

    if key.kind == "any":  # a value of several kinds: the source's check() validates it
        return value
    if key.kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if key.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("a whole number")
        if (key.lo is not None and value < key.lo) or (key.hi is not None and value > key.hi):
            raise bad(f"between {key.lo} and {key.hi}")
        return value
    if key.kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise bad("a number of seconds >= 0")
        return float(value)
    if key.kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise bad("a non-empty string")
        return value
    if key.kind == "choice":
        if value not in key.choices:
            raise bad("one of " + ", ".join(repr(c) for c in key.choices))
        return value
    if key.kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise bad("a date YYYY-MM-DD") from None
    if key.kind == "strs":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise bad("a list of strings")
        return list(value)
    raise AssertionError(key.kind)  # pragma: no cover


def load_plan(settings: Settings, only: tuple[str, ...] | list[str] = ()) -> Plan:
    """The sources to run (validated, in :data:`ORDER`) and the job settings, or ConfigError."""
    raw = settings.raw
    where_file = str(settings.config_file) if settings.config_file else "patentscope.toml"
    base = settings.config_file.parent if settings.config_file else Path.cwd()
    if settings.config_file is None:
        raise ConfigError("no patentscope.toml found (looked at --config / PATENTSCOPE_CONFIG, ./patentscope.toml and "
                          "~/.config/patentscope/patentscope.toml); create one with [sources.*] tables (see docs/jobs.md)")
    jobs_raw = raw.get("jobs", {})
    if not isinstance(jobs_raw, dict):
        raise ConfigError(f"{where_file}: [jobs] must be a table")
    job_opts: dict[str, Any] = {}
    for k, v in jobs_raw.items():
        if k not in JOB_KEYS:
            raise ConfigError(f"{where_file}: unknown key '{k}' in [jobs]; known: {', '.join(JOB_KEYS)}")
        job_opts[k] = _check(v, JOB_KEYS[k], f"{settings.where('jobs', k)}: [jobs].{k}")
    sources_raw = raw.get("sources", {})
    if not isinstance(sources_raw, dict):
        raise ConfigError(f"{where_file}: [sources] must hold tables like [sources.ops]")
    configured: dict[str, dict[str, Any]] = {}
    for name, table in sources_raw.items():
        if name in RETIRED:
            raise ConfigError(f"{where_file}: [sources.{name}]: {RETIRED[name]}")
        if name not in registry.BY_NAME:
            raise ConfigError(f"{where_file}: unknown source [sources.{name}]; known: {', '.join(ORDER)}")
        keys = registry.BY_NAME[name].options()
        if not isinstance(table, dict):
            raise ConfigError(f"{where_file}: [sources.{name}] must be a table")
        opts: dict[str, Any] = {}
        for k, spec in keys.items():
            opts[k] = spec.default
        for k, v in table.items():
            if k not in keys:
                close = difflib.get_close_matches(k, list(keys), n=1)
                raise ConfigError(f"{settings.where('sources', name, k)}: unknown key '{k}' in [sources.{name}]"
                                  + (f"; did you mean '{close[0]}'?" if close else "") + f"; known: {', '.join(keys)}")
            opts[k] = _check(v, keys[k], f"{settings.where('sources', name, k)}: [sources.{name}].{k}")
        check = getattr(registry.BY_NAME[name].load(), "check", None)
        if check is not None:
            check(opts, f"{where_file}: [sources.{name}]")
        configured[name] = opts
    for name in only:
        if name not in configured:
            raise ConfigError(f"--source {name}: no [sources.{name}] in {where_file}"
                              + (f" (configured: {', '.join(n for n in ORDER if n in configured)})" if configured else ""))
        if not configured[name]["enabled"]:
            raise ConfigError(f"--source {name}: [sources.{name}] has enabled = false in {where_file}")
    chosen = [SourcePlan(n, configured[n]) for n in ORDER
              if n in configured and configured[n]["enabled"] and (not only or n in only)]
    if not chosen:
        raise ConfigError(f"{where_file}: no source is enabled; add [sources.NAME] tables ({', '.join(ORDER)}); "
                          "see docs/jobs.md")
    return Plan(sources=chosen, analyze=job_opts.get("analyze", True), lock_wait=job_opts.get("lock_wait"),
                log_level=job_opts.get("log_level", "info"), base=base, config_file=settings.config_file)


