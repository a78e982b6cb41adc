"""The command modules beyond the core ones in patentscope/cli/__init__.py, registered explicitly.

Each module exposes ``register(main: click.Group) -> None``. A new command module is added by
adding its name to :data:`MODULES` — the one list of command modules (the
order is the order of registration; ``ingest_*`` modules need the core ``ingest`` group, which
patentscope/cli/__init__.py defines first).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping

import click


def echo_summary(summary: Mapping[str, object], *, quiet: bool = False) -> None:
    """Print an ingest command's summary (:meth:`patentscope.ingest.IngestResult.summary`) on
    stdout as JSON — the one shape every ``patentscope ingest ...`` prints; ``-q`` prints
    nothing (the exit status still tells rejected rows: 1)."""
    if quiet:
        return
    click.echo(json.dumps(summary, indent=1, default=str))


# THE list of command modules, in registration order: a new command module is one line here.
MODULES: tuple[str, ...] = (
    "centrality",
    "concentration",
    "expiry",
    "findings",
    "holders",
    "ingest_bigquery",
    "ingest_us",
    "ingest_world",
    "royalty",
    "segments",
    "show",
    "status",
)


def register_all(main: click.Group) -> None:
    for name in MODULES:
        register: Callable[[click.Group], None] = importlib.import_module(f"{__name__}.{name}").register
        register(main)
