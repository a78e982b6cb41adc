"""The command modules beyond the core ones in cli.py, registered explicitly.

Each module exposes ``register(main: click.Group) -> None``. A new command module is added by
importing it here and appending it to :data:`MODULES` — the one list of command modules (the
order is the order of registration; ``ingest_*`` modules need the core ``ingest`` group, which
cli.py defines first).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from types import ModuleType

import click


def echo_summary(summary: Mapping[str, object], *, quiet: bool = False) -> None:
    """Print an ingest command's summary (:meth:`patentscope.ingest.IngestResult.summary`) on
    stdout as JSON — the one shape every ``patentscope ingest ...`` prints; ``-q`` prints
    nothing (the exit status still tells rejected rows: 1)."""
    if quiet:
        return
    click.echo(json.dumps(summary, indent=1, default=str))


def _modules() -> tuple[ModuleType, ...]:
    from . import (
        centrality,
        concentration,
        expiry,
        holders,
        ingest_us,
        ingest_world,
        royalty,
        segments,
        status,
    )

    # THE list of command modules: add a new one here (and to the import above).
    return (
        centrality,
        concentration,
        expiry,
        holders,
        ingest_us,
        ingest_world,
        royalty,
        segments,
        status,
    )


def register_all(main: click.Group) -> None:
    for module in _modules():
        register: Callable[[click.Group], None] = module.register
        register(main)
