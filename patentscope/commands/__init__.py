"""Command modules beyond the core ones in cli.py.

Every module in this package that defines ``register(main: click.Group) -> None`` is imported
and registered by ``cli.py`` at start-up, in name order, so a capability adds its commands
by adding one file here (and never touches another capability's file).
"""

from __future__ import annotations

import importlib
import pkgutil

import click


def register_all(main: click.Group) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(main)
