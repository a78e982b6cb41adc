"""Settings: command-line flag > PATENTSCOPE_* environment > patentscope.toml > defaults.

patentscope.toml is looked up, first found wins:
  1. the path given by ``--config`` (or PATENTSCOPE_CONFIG);
  2. ``./patentscope.toml`` in the current directory;
  3. ``$XDG_CONFIG_HOME/patentscope/patentscope.toml`` (default ``~/.config/...``).

Secrets (API keys) are never read from files and never stored on a Settings object that
is logged or written anywhere; sources read them from the environment when they need them
(see :func:`secret`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .inputs import InputModel, parse_toml, read_text, validate

DEFAULT_WAREHOUSE = Path("warehouse") / "patentscope.duckdb"

# Environment variables that hold secrets; named here so errors can point at them.
SECRET_VARS = {
    "uspto_odp": ("USPTO_ODP_API_KEY",),
    "patentsview": ("PATENTSVIEW_API_KEY",),
    "epo_ops": ("EPO_OPS_KEY", "EPO_OPS_SECRET"),
}


class ConfigFile(InputModel):
    """The top level of patentscope.toml: only these keys and tables are known, so a typo
    (``warehous``, ``[sourcse.ops]``) is refused with did-you-mean instead of being ignored.
    The values are checked where they are used (:func:`load_settings` for the paths,
    ``jobs.plan.load_plan`` for ``[jobs]`` and ``[sources.*]``), with their own messages."""

    warehouse: Any = None
    landscape: Any = None
    jobs: Any = None
    sources: Any = None


@dataclass(frozen=True)
class Settings:
    warehouse: Path
    landscape: Path | None  # None = the built-in default landscape
    config_file: Path | None
    raw: dict[str, Any]  # the parsed config file (no secrets are allowed in it)
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)  # key path -> line in the file

    def where(self, *key: str) -> str:
        """``file:line`` of a key of the config file (``file`` when the line is not known)."""
        at = str(self.config_file) if self.config_file else "patentscope.toml"
        line = self.lines.get(tuple(key))
        return f"{at}:{line}" if line else at

    def source(self, name: str) -> dict[str, Any]:
        """The ``[sources.NAME]`` table of the config file ({} when absent)."""
        src = self.raw.get("sources", {})
        val = src.get(name, {}) if isinstance(src, dict) else {}
        return val if isinstance(val, dict) else {}


def _find_config(explicit: str | os.PathLike[str] | None) -> Path | None:
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            raise ConfigError(f"config file {p} not found; fix --config / PATENTSCOPE_CONFIG or create it")
        return p
    env = os.environ.get("PATENTSCOPE_CONFIG")
    if env:
        return _find_config(env)
    here = Path.cwd() / "patentscope.toml"
    if here.is_file():
        return here
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    user = xdg / "patentscope" / "patentscope.toml"
    return user if user.is_file() else None


def load_settings(
    *,
    warehouse: str | os.PathLike[str] | None = None,
    landscape: str | os.PathLike[str] | None = None,
    config: str | os.PathLike[str] | None = None,
) -> Settings:
    path = _find_config(config)
    raw: dict[str, Any] = {}
    lines: dict[tuple[Any, ...], int] = {}
    if path is not None:  # the typed reader's text checks: UTF-8, syntax (with its line), depth, no secrets
        raw, lines = parse_toml(read_text(path, what="config file"), str(path))
        validate(raw, ConfigFile, str(path), lines)  # unknown top-level keys and tables
    base = path.parent if path is not None else Path.cwd()

    def pick(flag: Any, env: str, key: str) -> Path | None:
        if flag:
            return Path(flag)
        if os.environ.get(env):
            return Path(os.environ[env])
        if key in raw:
            val = raw[key]
            if not isinstance(val, str):
                raise ConfigError(f"{path}: '{key}' must be a path string")
            p = Path(val).expanduser()
            return p if p.is_absolute() else base / p
        return None

    wh = pick(warehouse, "PATENTSCOPE_WAREHOUSE", "warehouse") or DEFAULT_WAREHOUSE
    land = pick(landscape, "PATENTSCOPE_LANDSCAPE", "landscape")
    return Settings(warehouse=wh, landscape=land, config_file=path, raw=raw, lines=lines)


def secret(var: str) -> str:
    """Read one secret from the environment or say exactly which variable to set."""
    val = os.environ.get(var, "").strip()
    if not val:
        raise ConfigError(f"{var} is not set; export {var}=... (secrets are read only from the environment)")
    return val
